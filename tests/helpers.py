"""Small helpers shared by tests: run the CLI in-process, write profiles, snapshot a tree."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from envgen.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """Run ``envgen ARGS`` through the real entry point (error handling included)."""
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def write_profile(root: Path, name: str, text: str) -> Path:
    path = root / "profiles" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes, to prove that nothing was written."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# A shell's foreground job has SIGINT at its default action, whatever the shell that started the
# test run had: a run started in the background (`pytest … &` in a script) ignores SIGINT, and a
# child inherits an ignored signal across exec, so a test of Ctrl-C would send a signal nobody
# hears. The child resets it before exec'ing the real command, as a terminal's job starts.
_FOREGROUND = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def as_foreground_job(argv: list[str]) -> list[str]:
    """``argv`` started with SIGINT at its default action, as from a terminal."""
    import sys

    return [sys.executable, "-c", _FOREGROUND, *argv]


def create_named(project: Any, name: str, mirrors: Any = None, **options: Any) -> Any:
    """``envgen create NAME``'s core call: the profile resolved once (through ``mirrors``),
    then created with ``options`` (``CreateOptions``' fields)."""
    from envgen.create import CreateOptions, create_env

    return create_env(project, project.resolve(name, mirrors), CreateOptions(**options))


def lock_named(project: Any, name: str, mirrors: Any = None, **options: Any) -> Any:
    """``envgen lock NAME``'s core call: the profile resolved once (through ``mirrors``),
    then locked with ``options`` (``LockOptions``' fields)."""
    from envgen.lock import LockOptions, lock_profile

    return lock_profile(project, project.resolve(name, mirrors), LockOptions(**options))


def lock_states_named(name: str, **options: Any) -> Any:
    """The lock states of profile ``name`` in the project of the working directory."""
    from envgen.lockstate import lock_states
    from envgen.project import Project

    project = Project.open()
    return lock_states(project, project.resolve(name), **options)
