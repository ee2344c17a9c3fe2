"""Whether conda-forge's builds of one pytorch version serve a profile (``source: conda``).

The catalog's ``conda_forge`` section says, per pytorch version, which CUDA versions each subdir
was built with, which subdirs have CPU builds and which Pythons. A CUDA build compiled with X.Y
requires ``cuda-version >=X.Y,<X+1``, so it serves a profile's CUDA X.Z for any Z >= Y.
"""

from __future__ import annotations

from typing import Literal

from .catalog import CondaForgeBuilds

Misfit = tuple[Literal["build", "python", "platforms"], str]  # what does not fit, and why


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def described(builds: CondaForgeBuilds) -> str:
    """``CUDA 12.6 (linux-64, win-64), 12.9 (linux-64); CPU (linux-64, osx-arm64)``."""
    parts = []
    if builds.cuda_platforms:
        parts.append(
            "CUDA " + ", ".join(f"{v} ({', '.join(builds.cuda_platforms[v])})" for v in builds.cuda)
        )
    if builds.cpu_platforms:
        parts.append(f"CPU ({', '.join(builds.cpu_platforms)})")
    return "; ".join(parts) or "no builds"


def fit(
    builds: CondaForgeBuilds,
    kind: str,
    cuda: str | None,
    minor: str,
    platforms: tuple[str, ...],
) -> tuple[Misfit | None, str | None]:
    """(why these builds do not serve the profile, or None; the CUDA version to pin).

    ``kind`` is cuda or cpu; ``cuda`` the profile's CUDA version, or None for the newest one
    every platform has a build for.
    """
    torch = builds.torch
    if builds.python and minor not in builds.python:
        text = (
            f"conda-forge's pytorch {torch} is built for Python {builds.python[0]} to "
            f"{builds.python[-1]}, not {minor}"
        )
        return ("python", text), None
    if kind == "cpu":
        missing = [p for p in platforms if p not in builds.cpu_platforms]
        if missing:
            have = _join(list(builds.cpu_platforms)) or "no platform"
            text = f"conda-forge's pytorch {torch} has CPU builds for {have}, not {_join(missing)}"
            return ("platforms", text), None
        return None, None
    wanted = [cuda] if cuda is not None else list(reversed(builds.cuda))
    for version in wanted:
        missing = [p for p in platforms if builds.cuda_build(p, version) is None]
        if not missing:
            return None, version
    if cuda is None:
        text = (
            f"conda-forge's pytorch {torch} has no CUDA version built for all of "
            f"{_join(list(platforms))} (its builds: {described(builds)})"
        )
        return ("build", text), None
    missing = [p for p in platforms if builds.cuda_build(p, cuda) is None]
    text = (
        f"conda-forge's pytorch {torch} has no build that runs with CUDA {cuda} on "
        f"{_join(missing)} (its builds: {described(builds)})"
    )
    return ("build", text), None
