"""Run every probe (concurrently, each bounded by its timeout) and present the findings."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, is_dataclass
from typing import Any

from .probes import (
    Context,
    Nvidia,
    Rocm,
    Unknown,
    active_env,
    interpreters,
    mismatches,
    mps,
    nvidia,
    path_owners,
    rocm,
    system,
    tools,
    xpu,
)
from .recommend import Recommendation, arch_problem, runnable_cuda


def gather(ctx: Context | None = None) -> dict[str, Any]:
    ctx = ctx or Context()
    info = system(ctx)
    jobs = {
        "nvidia": nvidia,
        "rocm": rocm,
        "xpu": xpu,
        "tools": tools,
        "path": path_owners,
        "interpreters": interpreters,
        "active": active_env,
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(job, ctx) for name, job in jobs.items()}
        facts: dict[str, Any] = {}
        for name, future in futures.items():
            try:
                facts[name] = future.result()
            except Exception as exc:  # noqa: BLE001 - a probe bug must not take doctor down
                facts[name] = Unknown(f"probe failed: {type(exc).__name__}: {exc}")
    facts["system"] = info
    facts["mps"] = mps(info)
    facts["findings"] = mismatches(facts["path"]) if isinstance(facts["path"], dict) else []
    return facts


def _plain(value: Any) -> Any:
    if isinstance(value, Unknown):
        return {"unknown": value.reason}
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "to_json"):
        return value.to_json()
    return value


def to_json(facts: Mapping[str, Any], rec: Recommendation) -> dict[str, Any]:
    data = {k: _plain(v) for k, v in facts.items() if k != "interpreters"}
    found = facts.get("interpreters")
    data["interpreters"] = (
        [i.to_json() for i in found] if isinstance(found, list) else _plain(found)
    )
    data["recommendation"] = _plain(rec)
    return data


def _show(value: Any) -> str:
    if value is None:
        return "not found"
    if isinstance(value, Unknown):
        return f"unknown ({value.reason})"
    return str(value)


def to_text(facts: Mapping[str, Any], rec: Recommendation) -> str:
    rows: list[tuple[str, str]] = []
    info = facts["system"]
    machine = f"{info['os']} {info['arch']}"
    if info.get("glibc"):
        machine += f", glibc {info['glibc']}"
    if info.get("macos"):
        machine += f", macOS {info['macos']}" + (
            " (Apple Silicon)" if info.get("apple_silicon") else ""
        )
    rows.append(("machine", machine))
    nv = facts["nvidia"]
    if isinstance(nv, Nvidia):
        rows.append(("nvidia driver", f"{nv.driver} (from {nv.source})"))
        for gpu in nv.gpus:
            rows.append(
                (
                    "gpu",
                    f"{gpu.name}, compute capability {gpu.compute_capability or '?'}, "
                    f"{gpu.memory_mib or '?'} MiB",
                )
            )
        runnable = runnable_cuda(nv.driver, info["os"])
        rows.append(
            ("cuda builds", ", ".join(v.name for v in runnable) or "none this driver can run")
        )
        for gpu in nv.gpus:
            for variant in ("cu126", "cu128", "cu130"):
                problem = arch_problem(variant, gpu)
                if problem:
                    rows.append(("note", problem))
    else:
        rows.append(("nvidia", _show(nv)))
    amd = facts["rocm"]
    rows.append(
        (
            "amd rocm",
            f"{amd.version or '?'}; GPUs: {', '.join(amd.gfx) or 'none listed'}"
            if isinstance(amd, Rocm)
            else _show(amd),
        )
    )
    rows.append(("intel xpu", _show(facts["xpu"])))
    rows.append(("apple mps", "yes" if facts["mps"] else "no"))
    for name, value in facts["tools"].items():
        rows.append((name, _show(value)))
    for name, owner in facts["path"].items():
        rows.append(
            (
                f"`{name}` on PATH",
                f"{owner.path} -> Python {owner.python_version} at {owner.prefix}"
                if owner
                else "not found",
            )
        )
    found = facts["interpreters"]
    if isinstance(found, list):
        for interp in found:
            rows.append(("python", f"{interp.version}  {interp.path}  ({interp.origin})"))
    active = facts["active"]
    for var, entry in active.items():
        what = (
            f"envgen environment for profile '{entry['envgen']}'"
            if entry.get("envgen")
            else ("not an envgen environment")
        )
        rows.append(("active env", f"{var}={entry['path']} ({what})"))
    if not active:
        rows.append(("active env", "none (no VIRTUAL_ENV or CONDA_PREFIX)"))
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    for finding in facts.get("findings", []):
        lines.append(f"PROBLEM: {finding}")
    lines.append("")
    for note in rec.notes:
        lines.append(f"note: {note}")
    if rec.profile:
        lines.append(f"recommended profile: {rec.profile} — {rec.reason}")
        lines.append(f"next: {rec.command}   (then: envgen verify {rec.profile})")
    else:
        lines.append(f"recommended profile: none — {rec.reason}")
    return "\n".join(lines)
