"""The driver and GPU facts envgen ships (``envgen/data/drivers.yaml``), loaded and checked.

Data, not code: each block of the file cites its source. doctor's rules (``doctor.compat``)
and resolution's notes (``choices``: the driver a default CUDA build needs) read them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from .paths import DATA_DIR
from .targets import Variant

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
