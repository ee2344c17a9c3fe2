"""Small helpers shared by tests: run the CLI in-process, write profiles, snapshot a tree."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

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
