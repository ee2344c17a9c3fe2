"""Machine probes for doctor: OS, GPUs and their drivers, package tools, the active environment.

Each returns a value, ``None`` (not present here) or ``Unknown(reason)`` (present, but it would
not say): a hung nvidia-smi, a missing /proc file or a crashing tool never stops doctor. All
outside input comes through a ``Context`` (PATH, a root directory, a timeout).
"""

from __future__ import annotations

import os
import platform
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..envmeta import read_marker
from ..errors import EnvgenError
from ..targets import SYSTEMS, platform_of
from .context import Context, Unknown


@dataclass(frozen=True)
class SystemInfo:
    os: str  # linux | macos | windows | the raw sys.platform otherwise
    arch: str  # x86_64 | aarch64 | arm64 ...
    libc: str | Unknown | None  # "glibc 2.36" on Linux; None elsewhere
    macos: str | None  # "14.5"
    apple_silicon: bool
    rosetta: bool  # an x86_64 Python translated on Apple Silicon

    @property
    def platform(self) -> str:
        """The machine as a conda subdir (what profiles list), not the running Python's build:
        under Rosetta the machine is osx-arm64 even though this Python is x86_64."""
        if self.os == "windows":
            return "win-64"  # Windows on Arm runs x64 Pythons, and their wheels, emulated
        system = SYSTEMS[self.os].sys_platform if self.os in SYSTEMS else self.os
        found = platform_of(system, "arm64" if self.apple_silicon else self.arch)
        return found.name if found is not None else f"{self.os}-{self.arch}"


def system(ctx: Context) -> SystemInfo:
    os_name: str = next(
        (s.name for s in SYSTEMS.values() if s.sys_platform == sys.platform), sys.platform
    )
    arch = {"amd64": "x86_64", "x64": "x86_64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    macos = (platform.mac_ver()[0] or None) if os_name == "macos" else None
    rosetta = False
    if os_name == "macos" and arch == "x86_64":
        # sysctl.proc_translated is 1 for a process that Rosetta translates.
        out = ctx.run(["sysctl", "-n", "sysctl.proc_translated"])
        rosetta = isinstance(out, str) and out.strip() == "1"
    return SystemInfo(
        os=os_name,
        arch=arch,
        libc=_libc() if os_name == "linux" else None,
        macos=macos,
        apple_silicon=os_name == "macos" and (arch == "arm64" or rosetta),
        rosetta=rosetta,
    )


def _libc() -> str | Unknown:
    """glibc's own answer first (os.confstr); platform.libc_ver reads the binary as a fallback."""
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        value = None
    if value:
        return value
    libc, version = platform.libc_ver()
    if libc:
        return f"{libc} {version}".strip()
    return Unknown("not glibc (musl?); PyTorch's Linux wheels need glibc")


# ---- NVIDIA -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gpu:
    name: str
    compute_capability: str | None  # "8.0"; None when the driver does not say
    memory_mib: int | None


@dataclass(frozen=True)
class Nvidia:
    driver: str  # "550.54.15"
    cuda: str | None  # the driver's own CUDA version (nvidia-smi's "CUDA Version"), e.g. "12.4"
    gpus: tuple[Gpu, ...]
    source: str  # nvidia-smi | /proc/driver/nvidia/version
    problem: str | None = None  # why nvidia-smi could not be used, when /proc answered instead


_FIELDS = "name,driver_version,compute_cap,memory.total"
_OLD_FIELDS = "name,driver_version,memory.total"  # drivers before compute_cap existed (R510)
_PROC_VERSION = "/proc/driver/nvidia/version"
_PROC_DRIVER = re.compile(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)")
_SMI_CUDA = re.compile(r"CUDA Version:\s*(\d+\.\d+)")


def _smi_query(ctx: Context, fields: str) -> str | Unknown:
    return ctx.run(["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader,nounits"])


def nvidia(ctx: Context) -> Nvidia | Unknown | None:
    """None: no NVIDIA driver here at all; Unknown: there is one, but it would not say."""
    out = _smi_query(ctx, _FIELDS)
    with_cc = True
    if isinstance(out, Unknown) and "not a valid field" in out.reason:
        out, with_cc = _smi_query(ctx, _OLD_FIELDS), False
    if isinstance(out, str):
        found = _parse_smi(out, with_cc)
        if found is not None:
            header = ctx.run(["nvidia-smi"])
            cuda = _SMI_CUDA.search(header) if isinstance(header, str) else None
            return Nvidia(found[0], cuda.group(1) if cuda else None, found[1], "nvidia-smi")
        out = Unknown("nvidia-smi listed no GPU")
    smi_problem = out.reason if ctx.which("nvidia-smi") else None
    proc = ctx.read(_PROC_VERSION)
    match = _PROC_DRIVER.search(proc) if isinstance(proc, str) else None
    if match:
        return Nvidia(
            driver=match.group(1),
            cuda=None,
            gpus=_proc_gpus(ctx),
            source=_PROC_VERSION,
            problem=smi_problem or "nvidia-smi not on PATH",
        )
    if smi_problem is None:
        return None
    return Unknown(smi_problem)


def _parse_smi(out: str, with_cc: bool) -> tuple[str, tuple[Gpu, ...]] | None:
    driver, gpus = None, []
    for line in out.strip().splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != (4 if with_cc else 3):
            continue
        name, driver = cells[0], cells[1]
        cap = cells[2] if with_cc else ""
        memory = cells[-1]  # "[N/A]" on GPUs that share system memory
        gpus.append(
            Gpu(
                name=name,
                compute_capability=cap if re.fullmatch(r"\d+\.\d+", cap) else None,
                memory_mib=int(memory) if memory.isdigit() else None,
            )
        )
    return (driver, tuple(gpus)) if driver else None


def _proc_gpus(ctx: Context) -> tuple[Gpu, ...]:
    """GPU names from /proc/driver/nvidia/gpus/*/information (no compute capability there)."""
    gpus = []
    for path in ctx.glob("/proc/driver/nvidia/gpus/*/information"):
        text = ctx.read(path)
        match = re.search(r"^Model:\s*(.+?)\s*$", text, re.M) if isinstance(text, str) else None
        if match:
            gpus.append(Gpu(match.group(1), None, None))
    return tuple(gpus)


# ---- AMD, Intel ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AmdGpu:
    name: str  # marketing name when the tool gives one, else the gfx target
    gfx: str  # "gfx90a"


@dataclass(frozen=True)
class Rocm:
    version: str | None  # ROCm installed under /opt/rocm, "6.2.4"
    gpus: tuple[AmdGpu, ...]
    source: str  # rocminfo | amd-smi | /opt/rocm/.info/version
    problem: str | None = None


_ROCM_VERSION = "/opt/rocm/.info/version"


def rocm(ctx: Context) -> Rocm | Unknown | None:
    text = ctx.read(_ROCM_VERSION)
    version = (text.strip().split("-")[0] or None) if isinstance(text, str) else None
    problems = []
    for tool, args, parse in (
        ("rocminfo", ["rocminfo"], _parse_rocminfo),
        ("amd-smi", ["amd-smi", "static", "--asic"], _parse_amd_smi),
    ):
        if ctx.which(tool) is None:
            continue
        out = ctx.run(args)
        if isinstance(out, str):
            return Rocm(version, parse(out), tool)
        problems.append(out.reason)
    if version is not None:
        return Rocm(version, (), _ROCM_VERSION, "; ".join(problems) or "no rocminfo or amd-smi")
    return Unknown("; ".join(problems)) if problems else None


def _parse_rocminfo(out: str) -> tuple[AmdGpu, ...]:
    """GPU agents of `rocminfo`: the first 'Name:' of an agent is its gfx target for GPUs."""
    gpus = []
    for block in re.split(r"^\s*Agent \d+\s*$", out, flags=re.M)[1:]:
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields.setdefault(key.strip(), value.strip())
        if fields.get("Device Type") == "GPU" and fields.get("Name", "").startswith("gfx"):
            gfx = fields["Name"]
            gpus.append(AmdGpu(fields.get("Marketing Name") or gfx, gfx))
    return tuple(gpus)


def _parse_amd_smi(out: str) -> tuple[AmdGpu, ...]:
    gpus = []
    for block in re.split(r"^GPU:\s*\d+\s*$", out, flags=re.M)[1:]:
        gfx = re.search(r"TARGET_GRAPHICS_VERSION:\s*(gfx[0-9a-f]+)", block)
        name = re.search(r"MARKET_NAME:\s*(.+?)\s*$", block, re.M)
        if gfx:
            gpus.append(AmdGpu(name.group(1) if name else gfx.group(1), gfx.group(1)))
    return tuple(gpus)


@dataclass(frozen=True)
class Xpu:
    devices: tuple[str, ...]
    source: str  # xpu-smi | sycl-ls


def xpu(ctx: Context) -> Xpu | Unknown | None:
    """Intel GPUs as oneAPI sees them; without its tools this is honestly 'not found'."""
    problems = []
    if ctx.which("xpu-smi"):
        out = ctx.run(["xpu-smi", "discovery"])
        if isinstance(out, str):
            return Xpu(tuple(re.findall(r"Device Name:\s*(.+?)\s*\|", out)), "xpu-smi")
        problems.append(out.reason)
    if ctx.which("sycl-ls"):
        out = ctx.run(["sycl-ls"])
        if isinstance(out, str):
            names = [
                line.rsplit("]", 1)[0].split("] ", 1)[-1].split(", ")[-1].rsplit(" [", 1)[0]
                for line in out.splitlines()
                if "level_zero:gpu" in line
            ]
            return Xpu(tuple(names), "sycl-ls")
        problems.append(out.reason)
    return Unknown("; ".join(problems)) if problems else None


# ---- tools and the active environment -----------------------------------------------------------

TOOLS = ("uv", "pip", "conda", "mamba", "micromamba")


@dataclass(frozen=True)
class Tool:
    path: str
    version: str  # the tool's first line of --version, e.g. "uv 0.5.4 (c8b4d2d 2024-11-20)"
    note: str | None = None


def tools(ctx: Context) -> dict[str, Tool | Unknown | None]:
    """Which package tools are here, with versions; run concurrently (conda alone takes ~1 s)."""

    def one(name: str) -> Tool | Unknown | None:
        exe = ctx.which(name)
        if exe is None:
            return _bundled_uv(ctx) if name == "uv" else None
        out = ctx.run([name, "--version"])
        if isinstance(out, Unknown):
            return out
        first = out.strip().splitlines()[0] if out.strip() else "(no version printed)"
        return Tool(exe, first)

    with ThreadPoolExecutor(max_workers=len(TOOLS)) as pool:
        return dict(zip(TOOLS, pool.map(one, TOOLS), strict=True))


def _bundled_uv(ctx: Context) -> Tool | None:
    """envgen depends on the uv wheel, so uv works for envgen even when it is not on PATH."""
    try:
        import uv

        exe = uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None
    out = ctx.run([exe, "--version"])
    if isinstance(out, Unknown):
        return None
    return Tool(exe, out.strip(), "bundled with envgen, not on PATH")


@dataclass(frozen=True)
class ActiveEnv:
    variable: str  # VIRTUAL_ENV | CONDA_PREFIX
    path: str
    profile: str | Unknown | None  # the envgen profile it was built for; None: not envgen's


def active_env(ctx: Context) -> tuple[ActiveEnv, ...]:
    found = []
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        value = ctx.environ.get(var)
        if not value:
            continue
        try:
            marker = read_marker(Path(value))
        except EnvgenError as exc:
            profile: str | Unknown | None = Unknown(exc.message)
        else:
            profile = marker.profile if marker else None
        found.append(ActiveEnv(var, value, profile))
    return tuple(found)
