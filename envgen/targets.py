"""Targets: every accelerator and platform envgen knows, each with all its facts in one record.

The one table the rest of envgen asks: profile validation, resolution (default platforms,
allowed systems, the torch build's variant), pins and markers, lock targets and wheel tags,
create and verify (this machine's platform, the torch device), the CI matrix (runners) and the
templates (container flags, through the render context). No other module keeps a table of
accelerators or platforms; adding one is adding its record here (docs/ARCHITECTURE.md).
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Literal, NamedTuple

AcceleratorName = Literal["cpu", "cuda", "rocm", "xpu", "mps"]
PlatformName = Literal["linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64"]
OsName = Literal["linux", "macos", "windows"]
# The compute variant of a torch build as PyTorch's index names its kinds (mps has none of its
# own: PyPI's macOS wheel is a cpu build).
VariantKind = Literal["cpu", "cuda", "rocm", "xpu"]

# glibc assumed for Linux targets: the pip side asks for manylinux_2_28 wheels, and the conda
# side is told the same through the __glibc virtual package.
GLIBC = "2.28"
# The macOS deployment target locks assume (uv's own default for its macOS targets).
MACOS = "13.0"


class OperatingSystem(NamedTuple):
    name: OsName
    label: str  # as people write it: Linux, macOS, Windows
    sys_platform: str  # Python's sys.platform there
    os_name: str  # Python's os.name there
    system: str  # Python's platform.system() there


class Platform(NamedTuple):
    """One target platform, named as conda names its subdir (what profiles list)."""

    name: PlatformName
    os: OsName
    machine: str  # platform_machine as CPython reports it there (PEP 508)
    machines: tuple[str, ...]  # platform.machine().lower() values that mean this platform
    uv_target: str  # uv's --python-platform
    wheel_arch: str  # the architecture in its wheel tags (manylinux_2_28_<arch>, win_<arch>)
    manylinux_from: int | None  # the oldest manylinux_2_<N> its wheels use (Linux only)
    docker: str | None  # the platform Docker builds for; None: no container image
    github_runner: str | None  # the hosted runner for a CPU job; None: none can run it
    gitlab_runner: str | None
    # PyTorch's index tags its builds with the variant (2.4.1+cu118), except for macOS and, for
    # some releases, Linux aarch64 CPU wheels: a plain pin there (it still sees only that index)
    local_tags: bool = True
    untagged_kinds: tuple[str, ...] = ()

    def tagged(self, kind: str) -> bool:
        """Whether PyTorch's index tags its builds of ``kind`` here with their variant."""
        return self.local_tags and kind not in self.untagged_kinds

    @property
    def marker(self) -> str:
        """The PEP 508 marker that holds on this platform and on no other."""
        return self.marker_quoted('"')

    def marker_quoted(self, quote: str) -> str:
        """``marker`` with its strings in ``quote``: TOML files (pylock.toml, pyproject.toml)
        carry it with single quotes, inside a double-quoted string."""
        system = SYSTEMS[self.os].sys_platform
        return (
            f"sys_platform == {quote}{system}{quote} "
            f"and platform_machine == {quote}{self.machine}{quote}"
        )


class Accelerator(NamedTuple):
    """One compute backend a profile may name (``accelerator:``)."""

    name: AcceleratorName
    label: str  # as people write it: CUDA, ROCm, XPU, MPS, CPU
    variant_kind: VariantKind  # the kind of torch build it installs (mps: PyPI's cpu wheel)
    default_platforms: tuple[PlatformName, ...]
    systems: tuple[OsName, ...]  # the operating systems PyTorch publishes its builds for
    torch_device: str  # the torch API that drives it (ROCm builds reuse torch.cuda)
    gpu: bool  # a device to find: verify --expect-gpu in CI, a GPU runner to set
    # triton builds PyTorch's index ships as torch's dependency for this kind (some only there)
    triton: tuple[str, ...] = ()
    # A kind with versioned builds: the profile key naming the version (cuda: "12.4"), how that
    # text becomes the variant name PyTorch's index uses (cu124), and the version a variant name
    # holds (cu118 -> 11.8; None: not one of this kind's names). None: one build per release,
    # named like the kind (cpu, xpu).
    version_key: str | None = None
    variant_name: Callable[[str], str] | None = None
    variant_version: Callable[[str], str | None] | None = None
    words: tuple[str, ...] = ()  # what people write meaning it (gpu, nvidia → cuda)
    from_pytorch_index: bool = True  # False: torch comes from PyPI (macOS wheels)
    # only these platforms, where the OS alone is not enough to say it (Apple Silicon)
    only_platforms: tuple[PlatformName, ...] = ()
    platform_reason: str | None = None  # why other platforms cannot have it, for messages
    build_label: str | None = None  # how a header names the build, where not the variant's
    conda_build: str | None = None  # conda-forge's build string of pytorch for it, if it pins one
    conda_forge: bool = True  # False: conda-forge publishes no pytorch builds for it
    conda_virtual: str | None = None  # the conda virtual package carrying its version (__cuda)
    conda_version_package: str | None = None  # the conda-forge package pinning that version
    # what a container needs to reach the device: `docker run` flags, and the notes the
    # Dockerfile carries about running it
    run_args: tuple[str, ...] = ()
    host_gpu: bool = False  # devcontainer.json asks the host for a GPU
    container_notes: tuple[str, ...] = ()


def _cuda_variant(text: str) -> str:
    return text if text.startswith("cu") else "cu" + text.replace(".", "")


def _cuda_version(name: str) -> str | None:
    found = re.fullmatch(r"cu(\d+)(\d)", name)
    return f"{int(found.group(1))}.{found.group(2)}" if found else None


def _rocm_variant(text: str) -> str:
    return text if text.startswith("rocm") else "rocm" + text


def _rocm_version(name: str) -> str | None:
    found = re.fullmatch(r"rocm(\d+\.\d+(?:\.\d+)?)", name)
    return found.group(1) if found else None


SYSTEMS: dict[str, OperatingSystem] = {
    "linux": OperatingSystem("linux", "Linux", "linux", "posix", "Linux"),
    "macos": OperatingSystem("macos", "macOS", "darwin", "posix", "Darwin"),
    "windows": OperatingSystem("windows", "Windows", "win32", "nt", "Windows"),
}

_MANYLINUX = f"manylinux_{GLIBC.replace('.', '_')}"
PLATFORMS: dict[str, Platform] = {
    "linux-64": Platform(
        name="linux-64",
        os="linux",
        machine="x86_64",
        machines=("x86_64", "amd64"),
        uv_target=f"x86_64-{_MANYLINUX}",
        wheel_arch="x86_64",
        manylinux_from=5,
        docker="linux/amd64",
        github_runner="ubuntu-latest",
        gitlab_runner="saas-linux-small-amd64",
    ),
    "linux-aarch64": Platform(
        name="linux-aarch64",
        os="linux",
        machine="aarch64",
        machines=("aarch64", "arm64"),
        uv_target=f"aarch64-{_MANYLINUX}",
        wheel_arch="aarch64",
        manylinux_from=17,  # aarch64 wheels start at manylinux2014
        docker="linux/arm64",
        github_runner="ubuntu-24.04-arm",
        gitlab_runner="saas-linux-small-arm64",
        untagged_kinds=("cpu",),  # for some releases
    ),
    "osx-64": Platform(
        name="osx-64",
        os="macos",
        machine="x86_64",
        machines=("x86_64", "amd64"),
        uv_target="x86_64-apple-darwin",
        wheel_arch="x86_64",
        manylinux_from=None,
        docker=None,
        github_runner="macos-15-intel",
        gitlab_runner=None,
        local_tags=False,
    ),
    "osx-arm64": Platform(
        name="osx-arm64",
        os="macos",
        machine="arm64",
        machines=("arm64", "aarch64"),
        uv_target="aarch64-apple-darwin",
        wheel_arch="arm64",
        manylinux_from=None,
        docker=None,
        github_runner="macos-latest",
        gitlab_runner="saas-macos-medium-m1",
        local_tags=False,
    ),
    "win-64": Platform(
        name="win-64",
        os="windows",
        machine="AMD64",
        machines=("amd64", "x86_64"),
        uv_target="x86_64-pc-windows-msvc",
        wheel_arch="amd64",
        manylinux_from=None,
        docker=None,
        github_runner="windows-latest",
        gitlab_runner=None,
    ),
}

ACCELERATORS: dict[str, Accelerator] = {
    "cpu": Accelerator(
        "cpu",
        "CPU",
        "cpu",
        ("linux-64", "osx-arm64", "win-64"),
        ("linux", "windows", "macos"),
        "cpu",
        gpu=False,
        words=("none",),
        conda_build="cpu*",
    ),
    "cuda": Accelerator(
        "cuda",
        "CUDA",
        "cuda",
        ("linux-64", "win-64"),
        ("linux", "windows"),
        "cuda",
        gpu=True,
        triton=("triton", "pytorch-triton"),
        version_key="cuda",
        variant_name=_cuda_variant,
        variant_version=_cuda_version,
        words=("gpu", "nvidia", "cu"),
        platform_reason="PyTorch publishes no CUDA builds for macOS",
        conda_build="cuda*",
        conda_virtual="__cuda",
        conda_version_package="cuda-version",
        run_args=("--gpus", "all"),
        host_gpu=True,
        container_notes=(
            "PyTorch's CUDA wheels carry CUDA's user-space libraries, so a slim Python image is "
            "enough;",
            "run with the NVIDIA container toolkit: docker run --gpus all ...",
        ),
    ),
    "rocm": Accelerator(
        "rocm",
        "ROCm",
        "rocm",
        ("linux-64",),
        ("linux",),
        "cuda",
        gpu=True,
        triton=("pytorch-triton-rocm", "triton-rocm"),
        version_key="rocm",
        variant_name=_rocm_variant,
        variant_version=_rocm_version,
        words=("amd", "hip"),
        conda_forge=False,
        run_args=(
            "--device=/dev/kfd",
            "--device=/dev/dri",
            "--group-add",
            "video",
            "--security-opt",
            "seccomp=unconfined",
        ),
        container_notes=(
            "PyTorch's ROCm wheels carry ROCm's user-space libraries; run with the GPU devices:",
            "docker run --device=/dev/kfd --device=/dev/dri --group-add video ...",
        ),
    ),
    "xpu": Accelerator(
        "xpu",
        "XPU",
        "xpu",
        ("linux-64", "win-64"),
        ("linux", "windows"),
        "xpu",
        gpu=True,
        triton=("pytorch-triton-xpu", "triton-xpu"),
        words=("intel",),
        conda_forge=False,
        run_args=("--device=/dev/dri",),
        container_notes=(
            "Run with the Intel GPU device and the host's GPU driver: docker run --device=/dev/dri "
            "...",
        ),
    ),
    "mps": Accelerator(
        "mps",
        "MPS",
        "cpu",
        ("osx-arm64",),
        ("macos",),
        "mps",
        gpu=False,
        words=("apple", "metal"),
        from_pytorch_index=False,
        only_platforms=("osx-arm64",),
        platform_reason="MPS exists only on Apple Silicon Macs (osx-arm64)",
        build_label="macOS (MPS)",
    ),
}


def accelerator(name: str) -> Accelerator:
    """The record of a known accelerator (names are validated with the profile)."""
    return ACCELERATORS[name]


def platform(name: str) -> Platform:
    """The record of a known platform (names are validated with the profile)."""
    return PLATFORMS[name]


def os_of(name: str) -> OsName:
    """The operating system of a known platform."""
    return PLATFORMS[name].os


def accelerator_words() -> Mapping[str, str]:
    """What people write for an accelerator, and what they mean: spelling alone would turn
    "gpu" into "xpu", while the GPU most people have is NVIDIA's."""
    return {word: acc.name for acc in ACCELERATORS.values() for word in acc.words}


def triton_packages() -> tuple[str, ...]:
    """Every triton build any accelerator takes from PyTorch's index: torch's dependency, shipped
    there (some builds exist only there), so it counts as torch's family."""
    return tuple(name for acc in ACCELERATORS.values() for name in acc.triton)


def version_keys() -> dict[str, str]:
    """Profile keys naming a build's version, and the accelerator each belongs to."""
    return {acc.version_key: acc.name for acc in ACCELERATORS.values() if acc.version_key}


def platform_of(sys_platform: str, machine: str) -> Platform | None:
    """The target platform a Python reports itself on (``sys.platform``,
    ``platform.machine()``), or None for one envgen does not target."""
    machine = machine.lower()
    for record in PLATFORMS.values():
        if SYSTEMS[record.os].sys_platform == sys_platform and machine in record.machines:
            return record
    return None


# -- compute variants ----------------------------------------------------------------------


class Variant(NamedTuple):
    """A compute variant as PyTorch's index names it: cpu, cu118, rocm6.2.4, xpu.

    ``kind`` and ``version`` follow from ``name`` (``parse`` is the one way to make one), so
    comparing and sorting whole tuples is comparing and sorting names.
    """

    name: str
    kind: VariantKind
    version: str | None = None

    @classmethod
    def parse(cls, name: str) -> "Variant":
        return _parse_variant(name)

    @property
    def label(self) -> str:
        """How people say it: 'CUDA 11.8', 'ROCm 6.2.4', 'CPU', 'XPU'."""
        kind = ACCELERATORS.get(self.kind)
        return (kind.label if kind else self.kind.upper()) + (
            f" {self.version}" if self.version else ""
        )

    @property
    def sort_key(self) -> tuple[int, ...]:
        return tuple(int(p) for p in (self.version or "0").split("."))


@cache
def _parse_variant(name: str) -> Variant:
    """Parsed once per name: loading the catalog checks some 200 variant names, of 20 kinds."""
    for kind in ACCELERATORS.values():
        if kind.variant_kind != kind.name:
            continue  # it installs another kind's builds (mps: cpu)
        if kind.variant_version is None:
            if name == kind.name:
                return Variant(name, kind.variant_kind)
            continue
        version = kind.variant_version(name)
        if version is not None:
            return Variant(name, kind.variant_kind, version)
    raise ValueError(f"unknown compute variant {name!r}")
