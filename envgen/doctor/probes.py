"""Machine probes for doctor. Every probe has a timeout and never raises: a hung nvidia-smi, a
missing /proc file or a crashing tool becomes ``Unknown(reason)``, so doctor always finishes.

Everything external is injectable for tests: tools come from ``PATH`` in ``environ`` and files
from ``root`` (a directory standing in for ``/``).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..envmeta import read_marker
from ..errors import EnvgenError
from ..interpreters import Interpreter, discover, probe

DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Unknown:
    reason: str


@dataclass(frozen=True)
class Gpu:
    name: str
    compute_capability: str | None  # "8.0"; None when the driver does not say
    memory_mib: int | None


@dataclass(frozen=True)
class Nvidia:
    driver: str
    gpus: tuple[Gpu, ...]
    source: str  # nvidia-smi | /proc/driver/nvidia/version


@dataclass(frozen=True)
class Rocm:
    version: str | None
    gfx: tuple[str, ...]


@dataclass(frozen=True)
class ToolOwner:
    """What a bare ``python``/``pip`` on PATH really is."""

    command: str
    path: str
    python_version: str | None  # the interpreter it belongs to
    prefix: str | None


@dataclass
class Context:
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    root: Path = Path("/")
    timeout: float = DEFAULT_TIMEOUT

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.environ.get("PATH", ""))

    def run(self, args: list[str]) -> str | Unknown:
        """stdout of a tool, or why there is none (missing, failed, hung)."""
        exe = self.which(args[0])
        if exe is None:
            return Unknown(f"{args[0]} not found on PATH")
        try:
            proc = subprocess.run(
                [exe, *args[1:]],
                capture_output=True,
                text=True,
                timeout=self.timeout,
                env=dict(self.environ),
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Unknown(f"{args[0]} did not answer within {self.timeout:g} s")
        except OSError as exc:
            return Unknown(f"{args[0]} could not run ({exc.strerror})")
        if proc.returncode != 0:
            message = (proc.stdout + proc.stderr).strip().splitlines()
            return Unknown(
                f"{args[0]} failed (exit {proc.returncode})"
                + (f": {message[0]}" if message else "")
            )
        return proc.stdout

    def read(self, path: str) -> str | Unknown:
        target = self.root / path.lstrip("/")
        try:
            return target.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return Unknown(f"{path}: {exc.strerror}")


def system(ctx: Context) -> dict[str, Any]:
    info: dict[str, Any] = {
        "os": {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(
            sys.platform, sys.platform
        ),
        "arch": platform.machine(),
    }
    if sys.platform.startswith("linux"):
        libc, version = platform.libc_ver()
        info["glibc"] = version if libc == "glibc" and version else None
    if sys.platform == "darwin":
        info["macos"] = platform.mac_ver()[0] or None
        info["apple_silicon"] = platform.machine() == "arm64"
    return info


_SMI_QUERY = [
    "nvidia-smi",
    "--query-gpu=name,driver_version,compute_cap,memory.total",
    "--format=csv,noheader,nounits",
]
_PROC_VERSION = re.compile(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)")


def nvidia(ctx: Context) -> Nvidia | Unknown | None:
    """None: no NVIDIA driver here at all; Unknown: there is one, but it would not say."""
    out = ctx.run(_SMI_QUERY)
    if isinstance(out, str):
        gpus, driver = [], None
        for line in out.strip().splitlines():
            cells = [c.strip() for c in line.split(",")]
            if len(cells) < 4:
                continue
            name, driver, cap, memory = cells[:4]
            gpus.append(
                Gpu(
                    name=name,
                    compute_capability=cap if re.fullmatch(r"\d+\.\d+", cap) else None,
                    memory_mib=int(memory) if memory.isdigit() else None,
                )
            )
        if driver:
            return Nvidia(driver=driver, gpus=tuple(gpus), source="nvidia-smi")
        smi_problem: Unknown | None = Unknown("nvidia-smi printed no GPU")
    else:
        smi_problem = out if ctx.which("nvidia-smi") else None
    proc = ctx.read("/proc/driver/nvidia/version")
    if isinstance(proc, str):
        match = _PROC_VERSION.search(proc)
        if match:
            return Nvidia(driver=match.group(1), gpus=(), source="/proc/driver/nvidia/version")
    return smi_problem


def rocm(ctx: Context) -> Rocm | Unknown | None:
    version_text = ctx.read("/opt/rocm/.info/version")
    version = version_text.strip().split("-")[0] if isinstance(version_text, str) else None
    info = ctx.run(["rocminfo"])
    if isinstance(info, str):
        gfx = tuple(sorted(set(re.findall(r"\bName:\s+(gfx[0-9a-f]+)\b", info))))
        return Rocm(version=version, gfx=gfx)
    if version is not None:
        return Rocm(version=version, gfx=())
    return info if ctx.which("rocminfo") else None


def xpu(ctx: Context) -> str | Unknown | None:
    out = ctx.run(["xpu-smi", "discovery"])
    if isinstance(out, str):
        names = re.findall(r"Device Name:\s*(.+?)\s*\|", out)
        return ", ".join(names) or "Intel GPU (xpu-smi)"
    return out if ctx.which("xpu-smi") else None


def mps(info: Mapping[str, Any]) -> bool:
    return bool(info.get("apple_silicon"))


def tools(ctx: Context) -> dict[str, str | Unknown | None]:
    found: dict[str, str | Unknown | None] = {}
    for name in ("uv", "pip", "conda", "mamba", "micromamba"):
        if ctx.which(name) is None:
            found[name] = _bundled_uv(ctx) if name == "uv" else None
            continue
        out = ctx.run([name, "--version"])
        found[name] = out.strip().splitlines()[0] if isinstance(out, str) and out.strip() else out
    return found


def _bundled_uv(ctx: Context) -> str | None:
    """envgen depends on the uv wheel, so uv works for envgen even when it is not on PATH."""
    try:
        import uv

        exe = uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None
    out = ctx.run([exe, "--version"])
    return f"{out.strip()} (bundled with envgen, not on PATH)" if isinstance(out, str) else None


_PIP_VERSION = re.compile(r"^pip \S+ from (.+?) \(python (\d+\.\d+)\)")


def path_owners(ctx: Context) -> dict[str, ToolOwner | None]:
    """Which interpreter `python`, `python3`, `pip`, `pip3` on PATH really belong to."""
    owners: dict[str, ToolOwner | None] = {}
    for name in ("python", "python3"):
        exe = ctx.which(name)
        interp = probe(Path(exe), "PATH", timeout=ctx.timeout) if exe else None
        owners[name] = (
            ToolOwner(name, exe, interp.version, interp.prefix) if exe and interp else None
        )
    for name in ("pip", "pip3"):
        exe = ctx.which(name)
        out = ctx.run([name, "--version"]) if exe else None
        match = _PIP_VERSION.match(out.strip()) if isinstance(out, str) else None
        if exe and match:
            site = Path(match.group(1))
            prefix = _prefix_of_site(site)
            owners[name] = ToolOwner(name, exe, match.group(2), prefix)
        else:
            owners[name] = None
    return owners


def _prefix_of_site(site: Path) -> str:
    """/x/lib/python3.12/site-packages/pip -> /x (Windows: X\\Lib\\site-packages\\pip -> X)."""
    parts = site.parts
    for index in range(len(parts) - 1, 0, -1):
        if parts[index].lower() in ("lib", "lib64"):
            return str(Path(*parts[:index]))
    return str(site.parent)


def mismatches(owners: Mapping[str, ToolOwner | None]) -> list[str]:
    """Plain-language findings when pip installs into another Python than python runs."""
    findings = []
    for pip_name, py_name in (("pip", "python"), ("pip3", "python3")):
        pip, py = owners.get(pip_name), owners.get(py_name)
        if pip is None or py is None or pip.prefix is None or py.prefix is None:
            continue
        same_prefix = os.path.realpath(pip.prefix) == os.path.realpath(py.prefix)
        if not same_prefix or pip.python_version != ".".join(
            (py.python_version or "").split(".")[:2]
        ):
            findings.append(
                f"`{pip_name}` ({pip.path}) installs into Python {pip.python_version} at "
                f"{pip.prefix}, but `{py_name}` ({py.path}) runs Python {py.python_version} at "
                f"{py.prefix}: packages you `{pip_name} install` will not be importable from "
                f"`{py_name}`. Use `{py_name} -m pip install …` (or `envgen create` / "
                "`envgen run`), which always targets the interpreter you run."
            )
    return findings


def active_env(ctx: Context) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        value = ctx.environ.get(var)
        if not value:
            continue
        entry: dict[str, Any] = {"path": value}
        try:
            marker = read_marker(Path(value))
        except EnvgenError as exc:
            entry["envgen"] = f"unreadable marker: {exc.message}"
        else:
            entry["envgen"] = marker.profile if marker else None
        found[var] = entry
    return found


def interpreters(ctx: Context) -> list[Interpreter]:
    return discover(ctx.environ)
