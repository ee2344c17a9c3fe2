"""From machine facts to advice: which CUDA builds the driver runs, which builds cover the GPUs,
and which profile of this project (or built-in) fits best, with the reason and next command.

The facts (minimum drivers, architectures per build) live in ``envgen/data/drivers.yaml``.
"""

from __future__ import annotations

import platform as _platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..catalog import Variant
from ..errors import EnvgenError
from ..paths import DATA_DIR
from ..project import Project
from .probes import Gpu, Nvidia, Rocm, Unknown


@cache
def driver_facts() -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load((DATA_DIR / "drivers.yaml").read_text())
    return data


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def this_platform() -> str:
    machine = _platform.machine().lower()
    if sys.platform == "darwin":
        return "osx-arm64" if machine == "arm64" else "osx-64"
    if sys.platform == "win32":
        return "win-64"
    return "linux-aarch64" if machine in ("aarch64", "arm64") else "linux-64"


def runnable_cuda(driver: str, os_name: str = "linux") -> list[Variant]:
    """CUDA variants this driver can run (minor-version compatibility included), oldest first."""
    table = driver_facts()["min_driver"]["windows" if os_name == "windows" else "linux"]
    ok = [name for name, minimum in table.items() if _version(driver) >= _version(minimum)]
    return sorted((Variant.parse(name) for name in ok), key=lambda v: v.sort_key)


def arch_problem(variant: str, gpu: Gpu) -> str | None:
    """Why ``variant``'s wheels cannot run on ``gpu``, or None (also when nobody knows)."""
    builds = driver_facts()["gpu_archs"]["builds"]
    if variant not in builds or gpu.compute_capability is None:
        return None
    build = builds[variant]
    cc = _version(gpu.compute_capability)
    archs = [_version(a) for a in build["archs"]]
    # SASS for M.n runs on M.m when m >= n (same major); PTX of the newest arch JITs forward.
    if any(a[0] == cc[0] and a[1:] <= cc[1:] for a in archs) or (
        build.get("ptx") and cc > max(archs)
    ):
        return None
    if cc < max(archs):
        newer = [
            n
            for n, b in builds.items()
            if any(a[0] == cc[0] and a[1:] <= cc[1:] for a in map(_version, b["archs"]))
        ]
        return (
            f"{gpu.name} (compute capability {gpu.compute_capability}) is too old for "
            f"{variant} builds (since torch {build['since']}, they start at sm_"
            f"{build['archs'][0].replace('.', '')})"
            + (f"; {', '.join(newer)} still cover it" if newer else "")
        )
    return (
        f"{gpu.name} (compute capability {gpu.compute_capability}) is too new for {variant} "
        f"builds; it needs cu128 or newer"
    )


@dataclass(frozen=True)
class Recommendation:
    profile: str | None
    reason: str
    command: str | None
    notes: tuple[str, ...] = field(default=())


def _machine_kind(facts: Mapping[str, Any]) -> str:
    if isinstance(facts.get("nvidia"), Nvidia):
        return "cuda"
    rocm = facts.get("rocm")
    if isinstance(rocm, Rocm) and rocm.gfx:
        return "rocm"
    if isinstance(facts.get("xpu"), str):
        return "xpu"
    if facts.get("mps"):
        return "mps"
    return "cpu"


def recommend(
    project: Project, facts: Mapping[str, Any], platform: str | None = None
) -> Recommendation:
    """The best profile for this machine, preferring the project's own over built-ins."""
    platform = platform or this_platform()
    kind = _machine_kind(facts)
    os_name = facts.get("system", {}).get("os", "linux")
    notes: list[str] = []
    allowed: set[str] | None = None
    nv = facts.get("nvidia")
    if isinstance(nv, Nvidia):
        runnable = runnable_cuda(nv.driver, os_name)
        allowed = {v.name for v in runnable}
        if runnable:
            newest = runnable[-1]
            notes.append(
                f"driver {nv.driver} runs CUDA builds up to {newest.version} ({newest.name})"
                + (
                    f"; {newest.version.split('.')[0]}.x builds newer than the driver's own CUDA "
                    "run through minor-version compatibility"
                    if newest.version and not newest.version.endswith(".0")
                    else ""
                )
            )
        else:
            notes.append(f"driver {nv.driver} is older than any CUDA build PyTorch publishes")
    elif isinstance(nv, Unknown):
        notes.append(f"NVIDIA driver present but unreadable: {nv.reason}")

    candidates: list[tuple[tuple[Any, ...], str, str]] = []
    for source in project.registry.all():
        if source.name == "base":
            continue
        try:
            env = project.resolve(source.name).env
        except EnvgenError:
            continue
        if env.accelerator != kind or platform not in env.platforms:
            continue
        if kind == "cuda":
            assert allowed is not None and isinstance(nv, Nvidia)
            if env.variant.name not in allowed:
                continue
            problems = [p for gpu in nv.gpus if (p := arch_problem(env.variant.name, gpu))]
            if problems:
                notes.extend(problems)
                continue
        rank = (source.origin == "project", env.variant.sort_key, _version(env.torch))
        why = f"{env.variant.label} build of torch {env.torch} for Python {env.python}"
        candidates.append((rank, source.name, why))
    if not candidates:
        if kind != "cpu":
            notes.append(f"no {kind} profile fits this machine; falling back to CPU")
            return _fallback(project, platform, notes)
        return Recommendation(None, "no profile fits this machine", None, tuple(notes))
    rank, name, why = max(candidates)
    reason = {
        "cuda": "the newest CUDA build your driver and GPUs can run",
        "rocm": "an AMD GPU is present",
        "xpu": "an Intel GPU is present",
        "mps": "Apple Silicon: PyTorch's macOS wheels use Metal (MPS)",
        "cpu": "no supported GPU found",
    }[kind]
    origin = "project" if rank[0] else "built-in"
    return Recommendation(
        name,
        f"{reason}: {why} ({origin} profile)",
        f"envgen create {name}",
        tuple(dict.fromkeys(notes)),
    )


def _fallback(project: Project, platform: str, notes: list[str]) -> Recommendation:
    facts: dict[str, Any] = {}
    rec = recommend(project, facts, platform)
    return Recommendation(rec.profile, rec.reason, rec.command, tuple(dict.fromkeys(notes)))
