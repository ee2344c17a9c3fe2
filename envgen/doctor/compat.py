"""What runs where: the CUDA builds a driver can run, the GPUs a build has code for, the AMD GPUs
a ROCm build covers, and whether macOS offers MPS. Rules only; the numbers are data
(``envgen/data/drivers.yaml``, loaded and checked by ``envgen.drivers``).
"""

from __future__ import annotations

from ..drivers import driver_facts, version_tuple
from ..targets import Variant
from .probes import AmdGpu, Gpu, Nvidia, SystemInfo

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
