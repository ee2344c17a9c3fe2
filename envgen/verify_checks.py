"""The judgements ``verify`` makes: probe facts plus the profile become pass/fail/skip checks.

Pure functions over plain values (the probe's JSON, the ``ResolvedEnv``, the expected
requirements), so every verdict can be tested without building an environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from .resolve import ResolvedEnv
from .targets import ACCELERATORS

if TYPE_CHECKING:
    # packaging is imported where it is used: verify imports it while its probe runs (see
    # verify.warm_packaging), not before starting it.
    from packaging.requirements import Requirement

Status = Literal["pass", "fail", "skip"]
PASS: Final = "pass"  # noqa: S105 - a verdict, not a password
FAIL: Final = "fail"
SKIP: Final = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class GpuPresence:
    """Whether this machine has hardware for an accelerator: True, False, or None (can't tell)."""

    present: bool | None
    evidence: str


# -- paths -------------------------------------------------------------------------------


def _forms(path: str) -> set[str]:
    return {os.path.normcase(os.path.normpath(path)), os.path.normcase(os.path.realpath(path))}


def same_path(a: str, b: str) -> bool:
    return bool(_forms(a) & _forms(b))


def inside(child: str, parent: str) -> bool:
    """``child`` is ``parent`` or below it, comparing both as written and with links resolved."""
    return any(
        c == p or c.startswith(p.rstrip(os.sep) + os.sep)
        for c in _forms(child)
        for p in _forms(parent)
    )


# -- interpreter -------------------------------------------------------------------------


def check_interpreter(facts: Mapping[str, Any], prefix: Path) -> Check:
    exe, sys_prefix = str(facts["executable"]), str(facts["prefix"])
    if not same_path(sys_prefix, str(prefix)):
        return Check(
            "interpreter", FAIL, f"sys.prefix is {sys_prefix}, not the environment {prefix}"
        )
    if not inside(exe, sys_prefix):
        return Check("interpreter", FAIL, f"sys.executable {exe} lies outside {sys_prefix}")
    return Check("interpreter", PASS, f"{exe} (sys.prefix {sys_prefix})")


def check_activation(facts: Mapping[str, Any], kind: str, described: str) -> Check:
    """Inside the activated environment, a bare ``python`` must be this environment's."""
    on_path = facts.get("python_on_path")
    environ = facts.get("environ", {})
    expected_var = {"venv": "VIRTUAL_ENV", "conda": "CONDA_PREFIX"}.get(kind)
    if environ.get("PYTHONHOME"):
        return Check("activation", FAIL, f"PYTHONHOME is set ({environ['PYTHONHOME']})")
    if expected_var and not (
        environ.get(expected_var) and same_path(environ[expected_var], facts["prefix"])
    ):
        return Check("activation", FAIL, f"{expected_var} is {environ.get(expected_var)!r}")
    if kind != "plain" and not (on_path and inside(on_path, facts["prefix"])):
        return Check("activation", FAIL, f"a bare 'python' runs {on_path}, not this environment's")
    return Check("activation", PASS, f"'python' on PATH is {on_path} ({described})")


def check_pip(facts: Mapping[str, Any], needs_pip: bool) -> Check:
    """``python -m pip`` (and a bare ``pip``) must install into this interpreter, nowhere else."""
    prefix = str(facts["prefix"])
    pip = facts.get("pip") or {}
    location, on_path = pip.get("location"), pip.get("on_path")
    if pip.get("error") or facts.get("pip_error"):
        return Check("pip", FAIL, f"pip is broken: {pip.get('error') or facts.get('pip_error')}")
    if location is None:
        bare = f"; a bare 'pip' runs {on_path}" if on_path else ""
        if needs_pip or (on_path and not inside(on_path, prefix)):
            return Check("pip", FAIL, f"pip is not installed here ('python -m pip' fails){bare}")
        return Check("pip", SKIP, "pip is not installed here, and the profile needs no pip part")
    if not inside(location, prefix):
        return Check(
            "pip", FAIL, f"'python -m pip' loads pip from {location}, outside the environment"
        )
    if on_path and not inside(on_path, prefix):
        return Check("pip", FAIL, f"a bare 'pip' runs {on_path}, another Python's pip")
    version = (facts.get("distributions") or {}).get("pip", "?")
    return Check("pip", PASS, f"pip {version} from {location}")


def check_python_version(version: str, wanted: str) -> Check:
    """'3.11' accepts any 3.11.x; '3.11.7' only itself (as interpreters.Interpreter.matches)."""
    minor = ".".join(version.split(".")[:2])
    ok = version == wanted if wanted.count(".") >= 2 else minor == wanted
    if ok:
        return Check("python version", PASS, f"{version} (profile: {wanted})")
    return Check("python version", FAIL, f"Python {version}, but the profile asks for {wanted}")


# -- packages ----------------------------------------------------------------------------


def parse_lock(text: str) -> list[Requirement]:
    """Requirements of a hashed pip lock (``name==version ; marker \\`` + ``--hash`` lines)."""
    from packaging.requirements import Requirement

    joined: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    joined.append(current)
    found = []
    for line in joined:
        line = line.strip()
        if not line or line.startswith("-"):  # options: --index-url, --hash on its own, -e
            continue
        requirement = " ".join(part for part in line.split() if not part.startswith("--"))
        found.append(Requirement(requirement))
    return found


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def _satisfied(requirement: Requirement, installed: str) -> bool:
    """An exact pin must match exactly, local tag included: 2.4.1+cpu is not 2.4.1+cu118."""
    from packaging.version import InvalidVersion, Version

    specs = list(requirement.specifier)
    if len(specs) == 1 and specs[0].operator == "==" and not specs[0].version.endswith("*"):
        try:
            return Version(installed) == Version(specs[0].version)
        except InvalidVersion:
            return installed == specs[0].version
    try:
        return requirement.specifier.contains(installed, prereleases=True)
    except InvalidVersion:
        return False


def applicable(
    requirements: Iterable[Requirement], markers: Mapping[str, str]
) -> list[Requirement]:
    """Requirements whose PEP 508 marker holds for the environment's own interpreter."""
    return [r for r in requirements if r.marker is None or r.marker.evaluate(dict(markers))]


def check_packages(
    requirements: Sequence[Requirement], installed: Mapping[str, str], source: str
) -> Check:
    problems = []
    for requirement in requirements:
        have = installed.get(_canonical(requirement.name))
        wanted = str(requirement.specifier) or "any version"
        if have is None:
            problems.append(f"{requirement.name} missing (wants {wanted})")
        elif not _satisfied(requirement, have):
            problems.append(f"{requirement.name} is {have} ({source}: {wanted})")
    if problems:
        return Check("packages", FAIL, "; ".join(problems))
    if not requirements:  # nothing compared is nothing proven: never "0 of 0" as a pass
        return Check("packages", SKIP, f"no pip packages to compare ({source} lists none here)")
    return Check("packages", PASS, f"{len(requirements)} of {len(requirements)} as in {source}")


# -- torch -------------------------------------------------------------------------------


def check_torch_import(torch: Mapping[str, Any] | None, prefix: str, crash: str) -> Check:
    if torch is None:
        return Check("torch import", FAIL, f"the probe died importing torch: {crash}")
    if "import_error" in torch:
        return Check("torch import", FAIL, str(torch["import_error"]))
    where = str(torch.get("file") or "")
    if where and not inside(where, prefix):
        return Check("torch import", FAIL, f"torch comes from {where}, outside the environment")
    return Check("torch import", PASS, f"{where} in {torch.get('import_seconds', 0):.2f}s")


def check_torch_version(installed: str, env: ResolvedEnv) -> Check:
    from packaging.version import InvalidVersion, Version

    try:
        public = Version(installed).public
    except InvalidVersion:
        public = installed
    if public == Version(env.torch).public:
        return Check("torch version", PASS, f"{installed} (profile: {env.torch})")
    return Check("torch version", FAIL, f"torch {installed}, but the profile pins {env.torch}")


def build_label(torch: Mapping[str, Any]) -> str:
    """What the installed torch was built for, the way people say it."""
    if torch.get("hip"):
        return f"ROCm build (HIP {torch['hip']})"
    if torch.get("cuda"):
        return f"CUDA {torch['cuda']} build"
    if torch.get("xpu") or _local(str(torch.get("version", ""))) == "xpu":
        return "XPU build"
    return "CPU build"


def _local(version: str) -> str | None:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version).local
    except InvalidVersion:
        return None


def _same_release(actual: str, wanted: str) -> bool:
    """Major.minor equality: CUDA '11.8' vs '11.8', HIP '6.2.41133-dd7f' vs ROCm '6.2.4'."""
    return actual.split(".")[:2] == wanted.split(".")[:2]


def check_torch_build(torch: Mapping[str, Any], env: ResolvedEnv, sys_platform: str) -> Check:
    actual = build_label(torch)
    variant = env.variant
    detail = f"{actual} of {torch.get('version')}"
    if env.accelerator == "mps":
        mps = (torch.get("devices") or {}).get("mps") or {}
        ok = actual == "CPU build" and sys_platform == "darwin" and bool(mps.get("built"))
        wanted = "PyPI's macOS build with MPS support"
    elif variant.kind == "cpu":
        ok, wanted = actual == "CPU build", "a CPU build"
    elif variant.kind == "cuda":
        cuda = str(torch.get("cuda") or "")
        ok = bool(cuda) and not torch.get("hip") and _same_release(cuda, variant.version or "")
        wanted = f"a {variant.label} build"
    elif variant.kind == "rocm":
        hip = str(torch.get("hip") or "")
        ok, wanted = bool(hip) and _same_release(hip, variant.version or ""), variant.label
        wanted = f"a {wanted} build"
    else:
        ok, wanted = actual == "XPU build", "an XPU build"
    if ok:
        return Check("torch build", PASS, detail)
    return Check("torch build", FAIL, f"{detail}, but the profile wants {wanted}")


def gpu_presence(accelerator: str) -> GpuPresence:
    """Evidence that this machine has the accelerator's hardware, without importing anything."""
    import shutil
    import sys

    if accelerator == "cuda":
        driver = Path("/proc/driver/nvidia/version")
        if driver.exists():
            return GpuPresence(True, f"an NVIDIA driver is loaded ({driver})")
        smi = shutil.which("nvidia-smi")
        if smi:
            return GpuPresence(True, f"nvidia-smi is installed ({smi})")
        return GpuPresence(False, "no NVIDIA GPU on this machine (no driver, no nvidia-smi)")
    if accelerator == "rocm":
        if Path("/dev/kfd").exists():
            return GpuPresence(True, "the AMD GPU driver is loaded (/dev/kfd)")
        return GpuPresence(False, "no AMD GPU on this machine (no /dev/kfd)")
    if accelerator == "mps":
        import platform

        if sys.platform == "darwin" and platform.machine() == "arm64":
            return GpuPresence(True, "this is an Apple Silicon Mac")
        return GpuPresence(False, "MPS needs an Apple Silicon Mac; this is not one")
    return GpuPresence(None, "no Intel GPU usable by torch.xpu was found")


def check_device(
    torch: Mapping[str, Any], accelerator: str, gpu: GpuPresence, expect_gpu: bool
) -> Check:
    device = ACCELERATORS[accelerator].torch_device
    if device == "cpu":
        return Check("device", PASS, "CPU profile: no accelerator expected")
    facts = (torch.get("devices") or {}).get(device) or {}
    if facts.get("available"):
        parts = [str(facts.get("name"))]
        if facts.get("capability"):
            parts.append(f"compute capability {facts['capability']}")
        if facts.get("arch"):
            parts.append(str(facts["arch"]))
        if facts.get("memory_bytes"):
            parts.append(f"{facts['memory_bytes'] / 2**30:.1f} GiB")
        if facts.get("count", 1) > 1:
            parts.append(f"{facts['count']} devices")
        return Check("device", PASS, ", ".join(parts))
    api = "torch.backends.mps" if device == "mps" else f"torch.{device}"
    why = f"{api}.is_available() is False" + (f" ({facts['error']})" if "error" in facts else "")
    if gpu.present:
        return Check("device", FAIL, f"{why}, although {gpu.evidence}")
    if expect_gpu:
        return Check("device", FAIL, f"{why}: {gpu.evidence}, and --expect-gpu was given")
    return Check("device", SKIP, f"{gpu.evidence}; {why}")


def check_matmul(torch: Mapping[str, Any], device_check: Check) -> Check:
    if device_check.status != PASS:
        return Check("matmul", device_check.status, "needs a usable device (see 'device')")
    result = torch.get("matmul") or {}
    if "error" in result or not result:
        return Check("matmul", FAIL, str(result.get("error", "the probe did not run it")))
    shape = "×".join(str(n) for n in result["shape"])
    if not result["cpu_matches_reference"]:
        return Check("matmul", FAIL, "the CPU product differs from a plain-Python product")
    if not result["matches_cpu"]:
        return Check(
            "matmul",
            FAIL,
            f"{shape} on {result['device']} differs from the CPU result "
            f"(max |diff| {result['max_abs_diff']:.3g})",
        )
    on_cpu = result["device"] == "cpu"
    against = "a plain-Python product" if on_cpu else "the CPU result"
    diff = result["reference_diff"] if on_cpu else result["max_abs_diff"]
    return Check(
        "matmul",
        PASS,
        f"{shape} float32 on {result['device']} matches {against} "
        f"(max |diff| {diff:.2g}, {result['seconds'] * 1000:.1f} ms)",
    )


def check_variables(environ: Mapping[str, str | None], variables: Mapping[str, str]) -> Check:
    wrong = [
        f"{k}={environ.get(k)!r} (wants {v!r})" for k, v in variables.items() if environ.get(k) != v
    ]
    if wrong:
        return Check("variables", FAIL, "; ".join(wrong))
    return Check("variables", PASS, ", ".join(f"{k}={v}" for k, v in variables.items()))
