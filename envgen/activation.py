"""Activation without a shell: the environment variables an environment's own activation sets.

``verify`` probes, and ``run`` runs commands, with these variables, so both see what a person
sees after ``source .venv/bin/activate`` or ``conda activate``. A venv gets VIRTUAL_ENV and its
bin/Scripts first on PATH; a conda prefix gets CONDA_PREFIX, CONDA_DEFAULT_ENV, its PATH
entries, the variables ``conda env config vars`` stored in conda-meta/state, and its
``etc/conda/activate.d/*.sh`` scripts sourced through bash (or sh).

Limits: ``.bat``/``.ps1``/``.fish`` activation scripts are not run (Windows conda packages that
need them are activated only partly); shell functions and aliases that scripts define do not
survive, only exported variables do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .envmeta import default_prefix, env_python, read_marker
from .errors import EnvgenError
from .leftovers import temporary_directory

SCRIPT_TIMEOUT = 60.0
_WINDOWS = sys.platform == "win32"
# Variables an activation must drop: PYTHONHOME points every interpreter at one stdlib.
_UNSET = ("PYTHONHOME",)


@dataclass(frozen=True)
class Activation:
    """What activating ``prefix`` means: its kind, its interpreter and the resulting environ."""

    prefix: Path
    kind: Layout
    python: Path
    environ: Mapping[str, str]
    scripts: tuple[Path, ...] = ()  # activate.d scripts that were sourced
    skipped: tuple[Path, ...] = ()  # activate.d scripts this platform cannot run

    def describe(self) -> str:
        """One line for reports: which variables and scripts made this activation."""
        set_by = {
            "venv": "VIRTUAL_ENV and PATH",
            "conda": "CONDA_PREFIX, CONDA_DEFAULT_ENV and PATH",
            "plain": "PATH",
        }[self.kind]
        text = f"{self.kind}: {set_by}"
        if self.scripts:
            text += f", {len(self.scripts)} activate.d script(s) sourced"
        if self.skipped:
            text += f"; not run here: {', '.join(p.name for p in self.skipped)}"
        return text


def find_env(root: Path, name: str, prefix: Path | None) -> Path:
    """The prefix of profile ``name``'s environment (``prefix`` or the default), or a refusal."""
    where = (prefix if prefix is not None else default_prefix(root, name)).absolute()
    if not env_python(where).exists():
        raise EnvgenError(
            f"no environment at {where} (no {env_python(where).relative_to(where)})",
            fix=f"create it with 'envgen create {name}', or point at one with --prefix",
        )
    return where


def require_finished(prefix: Path, name: str) -> None:
    """Refuse a half-built environment, or one built for another profile (``run`` needs both)."""
    marker = read_marker(prefix)
    if marker is None:
        raise EnvgenError(
            f"{prefix} is not a finished envgen environment (no envgen-env.json marker)",
            fix=f"(re-)create it with 'envgen create {name} --force'",
        )
    if marker.profile != name:
        raise EnvgenError(
            f"{prefix} was built for profile '{marker.profile}', not '{name}'",
            fix=f"run 'envgen run {marker.profile} ...', or pass the right --prefix",
        )


# a venv, a conda prefix, or a plain interpreter (its directory goes first on PATH)
Layout = Literal["venv", "conda", "plain"]


def layout(prefix: Path) -> Layout:
    """venv (pyvenv.cfg), conda (conda-meta/) or plain (any other Python installation)."""
    if (prefix / "pyvenv.cfg").is_file():
        return "venv"
    if (prefix / "conda-meta").is_dir():
        return "conda"
    return "plain"


def path_entries(prefix: Path, kind: str) -> list[Path]:
    """Directories activation puts first on PATH, in conda's and venv's own order."""
    if kind == "venv":
        return [prefix / ("Scripts" if _WINDOWS else "bin")]
    if kind == "conda" and _WINDOWS:
        library = prefix / "Library"
        return [
            prefix,
            library / "mingw-w64" / "bin",
            library / "usr" / "bin",
            library / "bin",
            prefix / "Scripts",
            prefix / "bin",
        ]
    if kind == "conda":
        return [prefix / "bin"]
    return []


def activate(
    prefix: Path,
    *,
    python: Path | None = None,
    base: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
) -> Activation:
    """The environ after activating ``prefix``, starting from ``base`` (default: os.environ).

    ``variables`` are the profile's activation variables; a venv has nowhere to store them, so
    they are applied here, while a conda prefix applies its own (conda-meta/state).
    """
    prefix = prefix.absolute()
    kind = layout(prefix)
    interpreter = python or env_python(prefix)
    environ = _deactivate_outer_venv(dict(os.environ if base is None else base), prefix)
    for key in _UNSET:
        environ.pop(key, None)
    entries = path_entries(prefix, kind) or [interpreter.parent]
    old_path = [p for p in environ.get("PATH", "").split(os.pathsep) if p]
    fresh = [str(p) for p in entries]
    environ["PATH"] = os.pathsep.join(fresh + [p for p in old_path if p not in fresh])
    if kind == "venv":
        environ["VIRTUAL_ENV"] = str(prefix)
        environ.update(variables or {})
        return Activation(prefix, kind, interpreter, environ)
    if kind == "plain":
        return Activation(prefix, kind, interpreter, environ)
    environ.update(
        CONDA_PREFIX=str(prefix),
        CONDA_DEFAULT_ENV=str(prefix),
        CONDA_SHLVL=str(int(environ.get("CONDA_SHLVL", "0") or 0) + 1),
        CONDA_PROMPT_MODIFIER=f"({prefix.name}) ",
    )
    environ.update(_conda_state_vars(prefix))
    scripts = sorted((prefix / "etc" / "conda" / "activate.d").glob("*"))
    runnable = tuple(p for p in scripts if p.suffix == ".sh")
    skipped = tuple(p for p in scripts if p.suffix in (".bat", ".ps1", ".fish", ".csh", ".xsh"))
    if runnable:
        environ = _source(runnable, environ)
    return Activation(prefix, kind, interpreter, environ, runnable, skipped)


def _deactivate_outer_venv(environ: dict[str, str], prefix: Path) -> dict[str, str]:
    """Drop an outer venv (envgen's own, say) so tools that honour VIRTUAL_ENV don't use it."""
    outer = environ.get("VIRTUAL_ENV")
    if outer and Path(outer) != prefix:
        gone = {str(Path(outer) / d) for d in ("bin", "Scripts")}
        parts = environ.get("PATH", "").split(os.pathsep)
        environ["PATH"] = os.pathsep.join(p for p in parts if p not in gone)
        del environ["VIRTUAL_ENV"]
        environ.pop("VIRTUAL_ENV_PROMPT", None)
    return environ


def _conda_state_vars(prefix: Path) -> dict[str, str]:
    """Variables from ``conda env config vars set`` (how environment.yml's variables land)."""
    from .errors import EnvgenError
    from .readfile import read_text

    try:
        text = read_text(prefix / "conda-meta" / "state", what="conda state", missing_ok=True)
        state = json.loads(text or "{}")
    except (EnvgenError, ValueError, RecursionError):  # a FIFO there must not hang run
        return {}
    env_vars = state.get("env_vars", {}) if isinstance(state, dict) else {}
    return {str(k): str(v) for k, v in env_vars.items()} if isinstance(env_vars, dict) else {}


def _source(scripts: tuple[Path, ...], environ: dict[str, str]) -> dict[str, str]:
    """Source the scripts in one shell and read back the exported variables it ends with."""
    shell = shutil.which("bash", path=environ.get("PATH")) or shutil.which("sh")
    if shell is None:
        raise EnvgenError(
            f"{scripts[0].parent} holds activation scripts, but no bash or sh is on PATH",
            fix="install bash (Git Bash on Windows), or activate the environment with conda",
        )
    code = "import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], 'w'))"
    # The dump goes to a file: activation scripts are free to print to stdout. The script paths
    # are arguments, never part of the code: a prefix named 'x$(touch PWNED)' stays a name.
    program = (
        'for envgen_script do . "$envgen_script" || exit $?; done\n'
        'exec "$ENVGEN_DUMP_PYTHON" -c "$ENVGEN_DUMP_CODE" "$ENVGEN_DUMP_FILE"'
    )
    with temporary_directory("envgen-activate-") as tmp:
        dump = tmp / "environ.json"
        extra = {"ENVGEN_DUMP_PYTHON": sys.executable, "ENVGEN_DUMP_CODE": code}
        extra["ENVGEN_DUMP_FILE"] = str(dump)
        problem = ""
        try:
            proc = subprocess.run(
                [shell, "-c", program, "envgen-activate", *map(str, scripts)],
                env={**environ, **extra},
                capture_output=True,
                text=True,
                timeout=SCRIPT_TIMEOUT,
                check=False,
            )
            problem = proc.stderr.strip()[-500:] or f"exit status {proc.returncode}"
            result: dict[str, str] = json.loads(dump.read_text(encoding="utf-8"))
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            raise EnvgenError(
                f"sourcing the activation scripts in {scripts[0].parent} failed: "
                + (problem or str(exc)),
                fix="run them by hand ('. SCRIPT' in bash) to see why; a broken package's "
                "activation script usually needs that package reinstalled",
            ) from None
    for key in extra:
        result.pop(key, None)
    # What the shell itself changed is not part of the activation.
    for key in ("SHLVL", "_", "PWD", "OLDPWD"):
        if key in environ:
            result[key] = environ[key]
        else:
            result.pop(key, None)
    return result
