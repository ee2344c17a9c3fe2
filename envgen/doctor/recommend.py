"""From machine facts to one profile: the best of this project's profiles (else a built-in) that
this machine's driver and GPUs can run, with the reason, notes and the exact next commands.

``recommend_profile`` is what the profile name ``auto`` means in render/create/verify/run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..drivers import driver_facts, version_tuple
from ..errors import EnvgenError
from ..project import Project
from ..resolve import ResolvedEnv
from ..targets import Variant
from .compat import arch_problem, minor_version_note, mps_problem, rocm_problem, runnable_cuda
from .context import Context, Unknown
from .facts import Facts, gather
from .probes import Nvidia, Rocm, Xpu

_REASONS = {
    "cuda": "the newest CUDA build your driver and GPUs can run",
    "rocm": "an AMD GPU is present and this ROCm build covers it",
    "xpu": "an Intel GPU is present",
    "mps": "Apple Silicon: PyTorch's macOS wheels use Metal (MPS)",
    "cpu": "no supported GPU found",
}


@dataclass(frozen=True)
class Recommendation:
    profile: str | None
    reason: str
    commands: tuple[str, ...] = ()  # the exact next commands, in order
    notes: tuple[str, ...] = field(default=())
    origin: str | None = None  # project | builtin

    @property
    def command(self) -> str | None:
        return self.commands[0] if self.commands else None


def machine_kind(facts: Facts) -> str:
    """The accelerator PyTorch could use here: cuda, rocm, xpu, mps or cpu."""
    if isinstance(facts.nvidia, Nvidia):
        return "cuda"
    if isinstance(facts.rocm, Rocm) and facts.rocm.gpus:
        return "rocm"
    if isinstance(facts.xpu, Xpu) and facts.xpu.devices:
        return "xpu"
    if mps_problem(facts.system) is None:
        return "mps"
    return "cpu"


def recommend(project: Project, facts: Facts, platform: str | None = None) -> Recommendation:
    """The best profile for this machine, preferring the project's own over built-ins; falls
    back to CPU (saying why) when no accelerator profile fits."""
    platform = platform or facts.system.platform
    kind = machine_kind(facts)
    notes = _machine_notes(facts)
    broken: dict[str, str] = {}
    rec = _choose(project, facts, kind, platform, notes, broken)
    if rec is None and kind != "cpu":
        notes.append(f"no {kind} profile fits this machine; falling back to CPU")
        rec = _choose(project, facts, "cpu", platform, notes, broken)
    if rec is None:
        reason = f"no profile fits this machine ({platform})"
        if broken:
            # The likeliest cause is then the project's own profile, not the machine: say so.
            name, error = next(iter(broken.items()))
            reason = (
                f"no usable profile fits this machine ({platform}); the project's profile "
                f"'{name}' has an error: {error}"
            )
        return Recommendation(None, reason, (), tuple(notes))
    return rec


def recommend_profile(project: Project, facts: Facts | None = None) -> str:
    """The profile name ``auto`` stands for on this machine, or a clear refusal."""
    rec = recommend(project, facts or gather(Context(), full=False))
    if rec.profile is None:
        raise EnvgenError(
            f"'auto' found no profile that fits this machine ({rec.reason})",
            fix="run 'envgen doctor' to see why, then name a profile",
        )
    return rec.profile


def _machine_notes(facts: Facts) -> list[str]:
    notes: list[str] = []
    nv = facts.nvidia
    if isinstance(nv, Unknown):
        notes.append(f"an NVIDIA driver seems present but could not be read: {nv.reason}")
    if isinstance(nv, Nvidia):
        if nv.problem:
            notes.append(f"nvidia-smi unusable ({nv.problem}); driver read from {nv.source}")
        runnable = runnable_cuda(nv.driver, facts.system.os)
        if runnable:
            notes.append(
                f"driver {nv.driver} runs CUDA builds up to {runnable[-1].name} "
                f"(CUDA {runnable[-1].version}; minimum drivers with minor-version compatibility)"
            )
        else:
            notes.append(f"driver {nv.driver} is older than any CUDA build PyTorch publishes")
        unknown = [g.name for g in nv.gpus if g.compute_capability is None]
        if unknown or not nv.gpus:
            notes.append(
                "compute capability unknown (the driver does not report it): whether a build "
                "has code for the GPU is not checked"
            )
    if facts.system.rosetta:
        notes.append(
            "this Python is x86_64 under Rosetta; PyTorch's current macOS wheels are arm64: "
            "use an arm64 Python"
        )
    problem = mps_problem(facts.system)
    if problem and facts.system.os == "macos":
        notes.append(f"MPS unavailable: {problem}")
    return notes


def _choose(
    project: Project,
    facts: Facts,
    kind: str,
    platform: str,
    notes: list[str],
    broken: dict[str, str],
) -> Recommendation | None:
    candidates: list[tuple[tuple[object, ...], str, str, ResolvedEnv]] = []
    need_driver: dict[str, list[str]] = {}
    for source in project.registry.all():
        if source.name == "base":  # the shared parent, not an environment of its own
            continue
        try:
            env = project.resolve(source.name).env
        except EnvgenError as exc:
            if source.origin == "project":
                notes.append(f"project profile '{source.name}' skipped: {exc.message}")
                broken.setdefault(source.name, exc.render())
            continue
        if env.accelerator != kind or platform not in env.platforms:
            continue
        driver = _driver_problem(env.variant, facts)
        if driver is not None:
            need_driver.setdefault(driver, []).append(source.name)
            continue
        problems = _gpu_problems(env, facts, platform)
        if problems:
            notes.extend(problems)
            continue
        rank = (source.origin == "project", env.variant.sort_key, version_tuple(env.torch))
        candidates.append((rank, source.name, source.origin, env))
    for minimum, names in need_driver.items():
        notes.append(f"a driver {minimum} or newer would also run {', '.join(names)}")
    if not candidates:
        return None
    _, name, origin, env = max(candidates, key=lambda c: (c[0], c[1]))
    notes.extend(_env_notes(env, facts))
    label = "project" if origin == "project" else "built-in"
    return Recommendation(
        profile=name,
        reason=(
            f"{_REASONS[kind]}: {env.variant.label} build of torch {env.torch} "
            f"for Python {env.python} ({label} profile)"
        ),
        commands=(f"envgen create {name}", f"envgen verify {name}"),
        notes=tuple(dict.fromkeys(notes)),
        origin=origin,
    )


def _driver_problem(variant: Variant, facts: Facts) -> str | None:
    """'>= 580' when the driver is too old for ``variant``; None when it can run it."""
    nv = facts.nvidia
    if variant.kind != "cuda" or not isinstance(nv, Nvidia):
        return None
    if variant.name in {v.name for v in runnable_cuda(nv.driver, facts.system.os)}:
        return None
    table = driver_facts().min_driver["windows" if facts.system.os == "windows" else "linux"]
    return table.get(variant.name, "newer")


def _gpu_problems(env: ResolvedEnv, facts: Facts, platform: str) -> list[str]:
    if isinstance(facts.nvidia, Nvidia) and env.variant.kind == "cuda":
        found = (arch_problem(env.variant, env.torch, g, platform) for g in facts.nvidia.gpus)
    elif isinstance(facts.rocm, Rocm) and env.variant.kind == "rocm":
        found = (rocm_problem(env.variant, g) for g in facts.rocm.gpus)
    else:
        return []
    return [f"{env.name}: {problem}" for problem in found if problem]


def _env_notes(env: ResolvedEnv, facts: Facts) -> list[str]:
    notes = []
    if isinstance(facts.nvidia, Nvidia):
        note = minor_version_note(facts.nvidia, env.variant)
        if note:
            notes.append(note)
    found = facts.interpreters
    if not isinstance(found, Unknown) and found and not any(i.matches(env.python) for i in found):
        minor = ".".join(env.python.split(".")[:2])
        notes.append(
            f"{env.name} wants Python {env.python}, which is not on this machine: install it "
            f"first (`uv python install {minor}` or `pyenv install {minor}`), or pass "
            "`--python PATH` to envgen create"
        )
    return notes
