"""The probe ``verify`` runs inside an environment's own interpreter: what is this Python, really?

It is sent as source (``python -c``), so it must stay standalone: stdlib only, Python 3.8+, no
envgen imports. Every part is guarded, and each finished stage is printed at once as one
``ENVGEN-PROBE {json}`` line, so that a torch import which crashes the process still leaves the
interpreter facts behind, and output that activation scripts or libraries print is ignored.
"""

# Blind excepts are the point here (one broken part is reported, never fatal), and zip(strict=)
# does not exist before Python 3.10.
# ruff: noqa: BLE001, B905

from __future__ import annotations

import importlib
import json
import os
import platform
import re
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

TAG = "ENVGEN-PROBE "
MATRIX = 24  # small enough for a pure-Python reference product, big enough to exercise BLAS


def emit(stage: str, data: dict[str, Any]) -> None:
    data["stage"] = stage
    sys.stdout.write(TAG + json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def failure(exc: BaseException) -> str:
    """The last line of the traceback: the message a person needs, without the noise."""
    lines = traceback.format_exception_only(type(exc), exc)
    return lines[-1].strip() if lines else repr(exc)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def marker_environment() -> dict[str, str]:
    """PEP 508 marker values of this interpreter (packaging's default_environment, stdlib only)."""
    impl = sys.implementation
    info = impl.version
    version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return {
        "implementation_name": impl.name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def pip_facts() -> dict[str, Any]:
    """Where ``python -m pip`` would load pip from (the same import lookup, minus a subprocess)."""
    import importlib.util

    facts: dict[str, Any] = {"on_path": shutil.which("pip")}
    try:
        spec = importlib.util.find_spec("pip")
    except Exception as exc:  # a broken pip install is a finding, not a crash
        facts["error"] = failure(exc)
        return facts
    facts["location"] = str(Path(spec.origin).parent) if spec and spec.origin else None
    return facts


def distributions() -> dict[str, str]:
    """Installed distributions, name -> version; the first on sys.path wins, as imports do."""
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and canonical(name) not in found:
            found[canonical(name)] = dist.version
    return found


def interpreter_stage(environ_keys: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "version": platform.python_version(),
        "markers": marker_environment(),
        "python_on_path": shutil.which("python"),
        "environ": {key: os.environ.get(key) for key in environ_keys},
    }
    for key, part in (("pip", pip_facts), ("distributions", distributions)):
        try:
            data[key] = part()
        except Exception as exc:
            data[key + "_error"] = failure(exc)
    return data


def device_facts(torch: Any, kind: str) -> dict[str, Any]:
    """Availability, name, capability and memory of the first device of one backend."""
    facts: dict[str, Any] = {}
    if kind == "mps":
        mps = torch.backends.mps
        facts["built"] = bool(mps.is_built())
        facts["available"] = bool(mps.is_available())
        if facts["available"]:
            facts["name"] = "Apple " + platform.machine() + " GPU (Metal)"
        return facts
    module = getattr(torch, kind, None)
    if module is None:
        facts["available"] = False
        facts["error"] = "this torch has no torch." + kind + " module"
        return facts
    facts["available"] = bool(module.is_available())
    if not facts["available"]:
        return facts
    facts["count"] = int(module.device_count())
    facts["name"] = str(module.get_device_name(0))
    props = module.get_device_properties(0)
    memory = getattr(props, "total_memory", None)
    facts["memory_bytes"] = int(memory) if memory is not None else None
    if kind == "cuda":
        facts["capability"] = ".".join(str(n) for n in module.get_device_capability(0))
        facts["arch"] = getattr(props, "gcnArchName", None)  # ROCm only
    return facts


def reference_product(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    """A matrix product in plain Python: independent of every BLAS, so it can judge the CPU's."""
    cols = list(zip(*b))
    return [[sum(x * y for x, y in zip(row, col)) for col in cols] for row in a]


def matmul(torch: Any, device: str) -> dict[str, Any]:
    """A small product on ``device``, compared with plain Python and (for a GPU) the CPU result."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(MATRIX, MATRIX, generator=generator, dtype=torch.float32)
    b = torch.randn(MATRIX, MATRIX, generator=generator, dtype=torch.float32)
    reference = torch.tensor(reference_product(a.tolist(), b.tolist()), dtype=torch.float32)
    cpu = a @ b
    start = time.perf_counter()
    result = (a.to(device) @ b.to(device)).to("cpu")
    seconds = time.perf_counter() - start
    # TF32 and reordered sums change the low bits only; a broken kernel is far outside this.
    tolerance = {"rtol": 1e-2, "atol": 1e-2}
    return {
        "device": device,
        "shape": [MATRIX, MATRIX],
        "cpu_matches_reference": bool(torch.allclose(cpu, reference, **tolerance)),
        "matches_cpu": bool(torch.allclose(result, cpu, **tolerance)),
        "max_abs_diff": float((result - cpu).abs().max()),
        "reference_diff": float((cpu - reference).abs().max()),
        "seconds": round(seconds, 6),
    }


def torch_stage(device: str, kinds: list[str]) -> dict[str, Any]:
    """torch's version, build and file; the facts of each device backend in ``kinds`` (verify
    names every accelerator's torch API); a small product on ``device``."""
    data: dict[str, Any] = {}
    start = time.perf_counter()
    try:
        torch: Any = importlib.import_module("torch")
    except BaseException as exc:  # ImportError, OSError from a missing CUDA library, SystemExit
        data["import_error"] = failure(exc)
        return data
    data["import_seconds"] = round(time.perf_counter() - start, 6)
    data["version"] = str(torch.__version__)
    data["file"] = getattr(torch, "__file__", None)
    version = getattr(torch, "version", None)
    data["cuda"] = getattr(version, "cuda", None)
    data["hip"] = getattr(version, "hip", None)
    data["xpu"] = getattr(version, "xpu", None)
    devices: dict[str, Any] = {}
    for kind in kinds:
        try:
            devices[kind] = device_facts(torch, kind)
        except Exception as exc:
            devices[kind] = {"available": False, "error": failure(exc)}
    data["devices"] = devices
    if device == "cpu" or devices.get(device, {}).get("available"):
        try:
            data["matmul"] = matmul(torch, device)
        except Exception as exc:
            data["matmul"] = {"device": device, "error": failure(exc)}
    return data


def main(argv: list[str]) -> None:
    # python -c puts the working directory first on sys.path: a torch/ or pip/ folder there
    # (a PyTorch checkout, say) must not stand in for the installed one.
    if sys.path and sys.path[0] in ("", str(Path.cwd())):
        del sys.path[0]
    options = json.loads(argv[0]) if argv else {}
    keys = ["VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "PYTHONHOME"]
    emit("interpreter", interpreter_stage(keys + list(options.get("environ", []))))
    if options.get("torch", True):
        device = str(options.get("device") or "")
        kinds = [str(k) for k in options.get("devices") or [device] if k != "cpu"]
        emit("torch", torch_stage(device, kinds))


if __name__ == "__main__":
    main(sys.argv[1:])
