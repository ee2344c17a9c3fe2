"""Which Python a bare ``python``/``python3``/``pip``/``pip3`` on PATH really is, and the classic
"pip installed torch into another Python" diagnosis, with the fix.

Each command is asked, never guessed from its name: ``python`` reports its own version, prefix
and ``sys.path``; ``pip --version`` names the site-packages it lives in and its Python.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .context import Context, Unknown
from .probes import ActiveEnv

# Runs under any Python from 2.7 on, so an old `python` is still identified, not skipped.
_WHO = (
    "import sys, json, platform; print(json.dumps({'executable': sys.executable, "
    "'version': platform.python_version(), 'prefix': sys.prefix, 'path': sys.path}))"
)
_PIP = re.compile(r"^pip (\S+) from (.+?) \(python (\d+\.\d+)\)\s*$")


@dataclass(frozen=True)
class PathPython:
    command: str  # python | python3
    path: str  # what PATH finds (a shim, a symlink, a venv's python)
    executable: str  # what it says sys.executable is
    version: str  # "3.10.13"
    prefix: str
    sys_path: tuple[str, ...]

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True)
class PathPip:
    command: str  # pip | pip3
    path: str
    pip_version: str
    site: str  # the site-packages directory pip lives in (and installs into)
    python: str  # the Python minor it runs under, "3.12"

    @property
    def prefix(self) -> str:
        """/x/lib/python3.12/site-packages -> /x; Windows X\\Lib\\site-packages -> X."""
        parts = Path(self.site).parts
        for index in range(len(parts) - 1, 0, -1):
            if parts[index].lower() in ("lib", "lib64"):
                return str(Path(*parts[:index]))
        return str(Path(self.site).parent)


Owner = PathPython | PathPip


@dataclass(frozen=True)
class Finding:
    """A problem in plain words, and the command that avoids it."""

    problem: str
    fix: str


def path_owners(ctx: Context) -> dict[str, Owner | Unknown | None]:
    """python, python3, pip, pip3 as PATH finds them (None: not on PATH), asked concurrently."""
    names = ("python", "python3", "pip", "pip3")
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return dict(zip(names, pool.map(lambda n: _owner(ctx, n), names), strict=True))


def _owner(ctx: Context, name: str) -> Owner | Unknown | None:
    exe = ctx.which(name)
    if exe is None:
        return None
    if name.startswith("python"):
        out = ctx.run([name, "-c", _WHO])
        if isinstance(out, Unknown):
            return out
        try:
            info = json.loads(out.strip().splitlines()[-1])
            return PathPython(
                name,
                exe,
                str(info["executable"]),
                str(info["version"]),
                str(info["prefix"]),
                tuple(str(p) for p in info["path"]),
            )
        except (ValueError, IndexError, KeyError, TypeError, RecursionError):
            return Unknown(f"{name} did not identify itself: {out.strip()[:120]!r}")
    out = ctx.run([name, "--version"])
    if isinstance(out, Unknown):
        return out
    match = _PIP.match(out.strip().splitlines()[0] if out.strip() else "")
    if match is None:
        return Unknown(f"unexpected `{name} --version` output: {out.strip()[:120]!r}")
    return PathPip(name, exe, match.group(1), str(Path(match.group(2)).parent), match.group(3))


def _same_dir(a: str, b: str) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def diagnose(
    owners: Mapping[str, Owner | Unknown | None], active: Sequence[ActiveEnv] = ()
) -> list[Finding]:
    """Plain-language findings when pip installs where python cannot import from, or when the
    activated environment is not the one PATH's python runs."""
    findings = []
    for pip_name, py_names in (("pip", ("python", "python3")), ("pip3", ("python3", "python"))):
        pip = owners.get(pip_name)
        py = next((p for n in py_names if isinstance(p := owners.get(n), PathPython)), None)
        if not isinstance(pip, PathPip) or py is None:
            continue
        importable = any(_same_dir(pip.site, entry) for entry in py.sys_path if entry)
        if pip.python == py.minor and importable:
            continue
        findings.append(
            Finding(
                f"`{pip_name}` ({pip.path}) installs into Python {pip.python} at {pip.prefix}, "
                f"but `{py.command}` ({py.path}) runs Python {py.version} at {py.prefix}: "
                f"what you `{pip_name} install` (torch included) cannot be imported by "
                f"`{py.command}`.",
                f"install with `{py.command} -m pip install …`, which always targets the Python "
                f"you run; or let envgen build and use the environment: `envgen create auto`, "
                "then `envgen run auto -- python …`",
            )
        )
    py = next(
        (p for n in ("python", "python3") if isinstance(p := owners.get(n), PathPython)), None
    )
    for env in active:
        if env.variable == "VIRTUAL_ENV" and py is not None and not _same_dir(py.prefix, env.path):
            findings.append(
                Finding(
                    f"VIRTUAL_ENV is {env.path}, but `{py.command}` on PATH runs {py.prefix}: "
                    "the environment is only half activated.",
                    "activate it again (or deactivate it), or run commands with "
                    "`envgen run PROFILE -- …`",
                )
            )
    return findings
