"""What runs where: the CUDA builds a driver can run, the GPUs a build has code for, the AMD GPUs
a ROCm build covers, and whether macOS offers MPS. Rules only; the numbers are data, loaded and
checked here from ``envgen/data/drivers.yaml`` (each block of it cites its source).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..paths import DATA_DIR
from ..targets import Variant
from .probes import AmdGpu, Gpu, Nvidia, SystemInfo

DRIVERS_FILE = DATA_DIR / "drivers.yaml"


def version_tuple(text: str) -> tuple[int, ...]:
    """'525.60.13' -> (525, 60, 13); '450.80.2' == '450.80.02', as drivers compare."""
    return tuple(int(part) for part in text.split(".") if part.isdigit())


@dataclass(frozen=True)
class CudaBuild:
    """The compute capabilities compiled into one CUDA variant's wheels, for some torch releases."""

    variant: str
    torch_min: str
    platforms: tuple[str, ...]
    archs: tuple[str, ...]
    ptx: tuple[str, ...]  # platforms where the newest arch also ships as PTX

    def applies(self, variant: str, torch: str, platform: str) -> bool:
        return (
            self.variant == variant
            and platform in self.platforms
            and version_tuple(torch) >= version_tuple(self.torch_min)
        )

    def covers(self, cc: tuple[int, ...], platform: str) -> bool:
        # SASS for M.n runs on M.m (m >= n); PTX of the newest arch JIT-compiles for newer GPUs.
        archs = [version_tuple(a) for a in self.archs]
        if any(a[0] == cc[0] and a <= cc for a in archs):
            return True
        return platform in self.ptx and cc > max(archs)


@dataclass(frozen=True)
class DriverFacts:
    min_driver: Mapping[str, Mapping[str, str]]  # os -> variant -> minimum driver
    min_arch: Mapping[str, str]  # CUDA major -> oldest compute capability it compiles for
    first_cuda: Mapping[str, str]  # compute capability -> first CUDA that compiles for it
    builds: tuple[CudaBuild, ...]
    rocm_archs: Mapping[str, tuple[str, ...]]  # rocm variant -> gfx targets
    mps_min_macos: str


@cache
def driver_facts() -> DriverFacts:
    import yaml

    data = yaml.safe_load(DRIVERS_FILE.read_text(encoding="utf-8"))
    try:
        return _parse(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # Package data, reviewed with the code: a malformed file is a bug, said precisely.
        raise ValueError(f"{DRIVERS_FILE}: malformed ({type(exc).__name__}: {exc})") from exc


def _parse(data: Mapping[str, Any]) -> DriverFacts:
    drivers = data["min_driver"]
    toolkits = data["cuda_toolkits"]
    for block in (drivers, toolkits["min_arch"], data["rocm_archs"], data["mps"]):
        if not isinstance(block, dict):
            raise TypeError("expected a mapping")
    builds = tuple(
        CudaBuild(
            variant=str(entry["variant"]),
            torch_min=str(entry["torch"]).removeprefix(">="),
            platforms=tuple(map(str, entry["platforms"])),
            archs=tuple(map(str, entry["archs"])),
            ptx=tuple(map(str, entry["ptx"])),
        )
        for entry in data["cuda_builds"]
    )
    for build in builds:
        Variant.parse(build.variant)  # a typo here would silently match nothing
        if not build.archs or not all(version_tuple(a) for a in build.archs):
            raise ValueError(f"cuda_builds {build.variant}: archs must be versions like '8.0'")
    return DriverFacts(
        min_driver={
            os_: {str(k): str(v) for k, v in drivers[os_].items()} for os_ in ("linux", "windows")
        },
        min_arch={str(k): str(v["arch"]) for k, v in toolkits["min_arch"].items()},
        first_cuda={str(k): str(v["cuda"]) for k, v in toolkits["first_cuda"].items()},
        builds=builds,
        rocm_archs={str(k): tuple(map(str, v)) for k, v in data["rocm_archs"]["builds"].items()},
        mps_min_macos=str(data["mps"]["min_macos"]),
    )


# ---- NVIDIA ------------------------------------------------------------------------------------


def runnable_cuda(driver: str, os_name: str = "linux") -> list[Variant]:
    """CUDA variants this driver can run (minor-version compatibility included), oldest first."""
    table = driver_facts().min_driver["windows" if os_name == "windows" else "linux"]
    ok = [name for name, low in table.items() if version_tuple(driver) >= version_tuple(low)]
    return sorted((Variant.parse(name) for name in ok), key=lambda v: v.sort_key)


def minor_version_note(nv: Nvidia, variant: Variant) -> str | None:
    """What running ``variant`` through minor-version compatibility means, when it does."""
    if nv.cuda is None or variant.version is None:
        return None
    own, wanted = version_tuple(nv.cuda), variant.sort_key
    if wanted <= own or wanted[0] != own[0]:
        return None
    return (
        f"driver {nv.driver} speaks CUDA {nv.cuda}; {variant.name} (CUDA {variant.version}) runs "
        f"on it through CUDA's minor-version compatibility: fine for PyTorch's wheels, but PTX "
        f"newer than CUDA {nv.cuda} cannot be JIT-compiled; a driver for CUDA {variant.version} "
        "or newer lifts that limit"
    )


def _cc(gpu: Gpu) -> tuple[int, ...] | None:
    cc = version_tuple(gpu.compute_capability or "")
    return cc if len(cc) == 2 else None


def arch_problem(variant: Variant, torch: str, gpu: Gpu, platform: str = "linux-64") -> str | None:
    """Why torch ``torch``'s ``variant`` wheels have no code for ``gpu``; None when they do, or
    when nobody knows (no compute capability, no rule that applies)."""
    cc = _cc(gpu)
    if cc is None or variant.kind != "cuda" or variant.version is None:
        return None
    facts = driver_facts()
    who = f"{gpu.name} (compute capability {gpu.compute_capability})"
    cuda = variant.sort_key
    # The toolkit bounds every build of its version: the oldest arch it still compiles for ...
    lowest = facts.min_arch.get(str(cuda[0]))
    if lowest and cc < version_tuple(lowest):
        return (
            f"{who} is too old for {variant.name}: CUDA {cuda[0]} compiles for {lowest} and newer"
            + _still(cc, torch, platform)
        )
    # ... and the first CUDA able to target this GPU's family at or below its minor.
    firsts = [
        version_tuple(first)
        for arch, first in facts.first_cuda.items()
        if version_tuple(arch)[0] == cc[0] and version_tuple(arch) <= cc
    ]
    if firsts and cuda < min(firsts):
        need = ".".join(map(str, min(firsts)))
        return (
            f"{who} is too new for {variant.name}: it needs a CUDA {need} or newer build"
            f" (cu{need.replace('.', '')}+)"
        )
    for build in facts.builds:
        if build.applies(variant.name, torch, platform) and not build.covers(cc, platform):
            older = cc < max(version_tuple(a) for a in build.archs)
            return (
                f"{who} is not in torch {torch}'s {variant.name} builds (compute capabilities "
                f"{', '.join(build.archs)}): the GPU is too {'old' if older else 'new'} for them"
                + (_still(cc, torch, platform) if older else "")
            )
    return None


def _still(cc: tuple[int, ...], torch: str, platform: str) -> str:
    still = covering(cc, torch, platform)
    return f"; {', '.join(still)} builds still cover it" if still else ""


def covering(cc: tuple[int, ...], torch: str | None, platform: str) -> list[str]:
    """CUDA variants whose listed builds (of ``torch``; None: of any release the lists speak
    for) have code for compute capability ``cc``."""
    found = {
        b.variant
        for b in driver_facts().builds
        if (b.applies(b.variant, torch, platform) if torch else platform in b.platforms)
        and b.covers(cc, platform)
    }
    return sorted(found, key=lambda name: Variant.parse(name).sort_key)


def listed_torch() -> str:
    """The oldest torch release the per-build arch lists speak for (for 'builds of torch ≥ X')."""
    return min((b.torch_min for b in driver_facts().builds), key=version_tuple)


# ---- AMD, Apple --------------------------------------------------------------------------------


def rocm_problem(variant: Variant, gpu: AmdGpu) -> str | None:
    """Why ``variant``'s wheels have no code for ``gpu``; None when they do or nobody knows."""
    archs = driver_facts().rocm_archs.get(variant.name)
    if archs is None or gpu.gfx in archs:
        return None
    return f"{gpu.name} ({gpu.gfx}) is not among {variant.name}'s GPU targets ({', '.join(archs)})"


def mps_problem(info: SystemInfo) -> str | None:
    """Why PyTorch's Metal backend is unavailable here; None when it is available."""
    if info.os != "macos" or not info.apple_silicon:
        return "not macOS on Apple Silicon"
    minimum = driver_facts().mps_min_macos
    if info.macos and version_tuple(info.macos) < version_tuple(minimum):
        return f"macOS {info.macos} is older than {minimum}, which PyTorch's MPS backend needs"
    return None
