"""The conda-lock engine: render a lock spec, run conda-lock with a real conda/mamba/micromamba.

The lock spec is not the rendered ``environment.yml``: conda-lock's parser rejects the
``--index-url`` line that ``conda env create`` needs in ``pip:``, so the spec names the PyTorch
index under ``pip-repositories:`` and lists ``platforms:``; the target machine (``__cuda`` …)
goes into a virtual-package spec file. It is the committed ``conda-lock-spec.yml`` as the solve
needs it: channels through their mirrors, and no pip part when envgen locked that itself. The
result is re-written through ``conda_lockfile`` (canonical URLs, conda-lock's hash of the
committed spec) so both engines produce the same file for the same solution.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import ToolError
from ..leftovers import temporary_directory
from . import conda_lockfile
from .base import CondaLockRequest

NAME = "conda-lock"
# Fastest first; conda-lock treats each by its name. CONDA_EXE/MAMBA_EXE point at the one an
# activated shell uses even when it is not on PATH.
_EXECUTABLES = ("micromamba", "mamba", "conda")
_ENV_VARS = ("MAMBA_EXE", "CONDA_EXE")
_TIMEOUT_S = 1800


def find_executable() -> str | None:
    """A conda-compatible executable, or None.

    Checked here because conda-lock 4.0.3, finding none, tries to download one and retries for
    about a minute before failing.
    """
    for var in _ENV_VARS:
        value = os.environ.get(var)
        if value and Path(value).is_file() and os.access(value, os.X_OK):
            return value
    for name in _EXECUTABLES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _pip_repositories(request: CondaLockRequest) -> tuple[list[str], bool]:
    """(pip-repositories, allow-pypi-requests) mirroring pip's --index-url semantics.

    With a PyTorch index, PyPI is reachable only through the URLs the profile lists (possibly a
    mirror), never implicitly: a torch-family name must not resolve from PyPI instead.
    """
    env = request.env
    if env.index_url:
        return [env.index_url, *env.extra_index_urls], False
    return list(env.extra_index_urls), True


def lock_spec_data(request: CondaLockRequest, pip: bool = True) -> dict[str, Any]:
    """The lock spec as data; ``pip=False`` leaves the pip part to envgen's own pip lock."""
    dependencies: list[Any] = list(request.env.conda)
    data: dict[str, Any] = {
        "name": request.env.env_name,
        "channels": list(request.channels),
        "platforms": list(request.platforms),
        "dependencies": dependencies,
    }
    if pip and request.env.pip_requirements:
        dependencies.append({"pip": list(request.env.pip_requirements)})
        repositories, allow_pypi = _pip_repositories(request)
        if repositories:
            data["pip-repositories"] = repositories
        if not allow_pypi:
            data["allow-pypi-requests"] = False
    return data


def render_lock_spec(request: CondaLockRequest, pip: bool = True) -> str:
    """conda-lock's input for this request, as YAML text (``conda-lock -f`` reads it)."""
    import yaml

    header = (
        f"# conda-lock spec rendered by envgen for profile '{request.env.name}'.\n"
        "# Input for `conda-lock lock -f`, not for `conda env create` (use environment.yml).\n"
    )
    body = yaml.safe_dump(
        lock_spec_data(request, pip), sort_keys=False, default_flow_style=False, width=1000
    )
    return header + body


def render_virtual_packages(request: CondaLockRequest) -> str:
    """A ``--virtual-package-spec`` file: the target machine of every platform."""
    import yaml

    subdirs = {
        platform: {
            "packages": conda_lockfile.virtual_packages(
                platform, request.virtual_packages.get(platform)
            )
        }
        for platform in request.platforms
    }
    return yaml.safe_dump({"subdirs": subdirs}, sort_keys=False)


def _command(request: CondaLockRequest, exe: str, work: Path, pip: bool) -> list[str]:
    spec = work / "envgen-lock-spec.yml"
    virtual = work / "virtual-packages.yml"
    spec.write_text(render_lock_spec(request, pip), encoding="utf-8")
    virtual.write_text(render_virtual_packages(request), encoding="utf-8")
    command = [sys.executable, "-m", "conda_lock", "lock", "--conda", exe]
    command += ["-f", str(spec), "--lockfile", str(work / "conda-lock.yml")]
    command += ["--virtual-package-spec", str(virtual)]
    for platform in request.platforms:
        command += ["-p", platform]
    return command


def _summary(output: str, keep: int = 25) -> str:
    """conda-lock's own messages (which carry the solver's), without its Python traceback."""
    lines = output.strip().splitlines()
    if "Traceback (most recent call last):" in lines:
        start = lines.index("Traceback (most recent call last):")
        final = [line for line in lines[start + 1 :] if line and not line.startswith(" ")]
        lines = lines[:start] + final[-1:]
    return "\n".join(line for line in lines[-keep:] if line.strip())


class CondaLockRunner:
    name = NAME

    def unavailable(self) -> str | None:
        if find_executable() is None:
            return (
                "no conda, mamba or micromamba executable on PATH (conda-lock needs one to "
                "solve); the rattler engine needs none"
            )
        return None

    def lock(self, request: CondaLockRequest) -> None:
        exe = find_executable()
        if exe is None:
            raise ToolError(self.unavailable() or "no conda executable", fix="use --engine rattler")
        # When envgen already locked the pip part (uv, index-pinned, hashed), conda-lock solves
        # only the conda part: its own pip resolver would consult every repository for every
        # name, the dependency-confusion hole envgen's pip lock closes.
        pip = not request.pip_locks
        with temporary_directory("envgen-conda-lock-") as work:
            command = _command(request, exe, work, pip)
            try:
                done = subprocess.run(
                    command,
                    cwd=work,
                    capture_output=True,
                    text=True,
                    timeout=_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise ToolError(
                    f"conda-lock did not finish within {_TIMEOUT_S} s",
                    fix="check the network or mirrors, or use --engine rattler",
                ) from None
            if done.returncode != 0:
                tail = _summary(done.stderr or done.stdout)
                raise ToolError(
                    f"conda-lock could not lock {', '.join(request.platforms)} "
                    f"(exit {done.returncode}):\n{tail}",
                    fix="read conda-lock's message above; --engine rattler explains "
                    "unsatisfiable requests package by package",
                )
            from conda_lock.lockfile import parse_conda_lock_file

            solved = parse_conda_lock_file(work / "conda-lock.yml")
        keep = [p for p in solved.package if p.manager == "conda" or pip]
        conda_lockfile.write(request, keep, NAME)


ENGINE = CondaLockRunner()
