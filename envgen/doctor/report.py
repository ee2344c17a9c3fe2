"""Doctor's findings for people (a plain-text table, sections of label/value rows) and for tools
(``--json``: the same facts, every unknown as ``{"unknown": reason}``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any

from ..drivers import version_tuple
from .compat import covering, listed_torch, mps_problem, runnable_cuda
from .context import Unknown
from .facts import Facts, gather
from .probes import Nvidia, Rocm, SystemInfo, Tool, Xpu
from .pythons import PathPip, PathPython
from .recommend import Recommendation, machine_kind

__all__ = ["gather", "to_json", "to_text"]

Rows = list[tuple[str, str]]


def _plain(value: Any) -> Any:
    if isinstance(value, Unknown):
        return {"unknown": value.reason}
    if hasattr(value, "to_json"):
        return value.to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_json(facts: Facts, rec: Recommendation) -> dict[str, Any]:
    data: dict[str, Any] = _plain(facts)
    data["system"]["platform"] = facts.system.platform
    data["accelerator"] = machine_kind(facts)
    if isinstance(facts.nvidia, Nvidia):
        runnable = runnable_cuda(facts.nvidia.driver, facts.system.os)
        data["nvidia"]["runnable_cuda"] = [v.name for v in runnable]
    data["recommendation"] = {**_plain(rec), "command": rec.command}
    return data


def _show(value: object) -> str:
    if value is None:
        return "not found"
    if isinstance(value, Unknown):
        return f"unknown ({value.reason})"
    return str(value)


def _system_rows(info: SystemInfo) -> Rows:
    machine = f"{info.os} {info.arch}"
    if info.os == "linux":
        machine += f", {_show(info.libc)}"
    if info.macos:
        machine += f", macOS {info.macos}" + (" (Apple Silicon)" if info.apple_silicon else "")
    if info.rosetta:
        machine += ", this Python under Rosetta"
    return [("machine", machine), ("platform", info.platform)]


def _python_rows(facts: Facts) -> Rows:
    rows: Rows = []
    owners = facts.path
    if isinstance(owners, Unknown):
        rows.append(("on PATH", _show(owners)))
    else:
        for name, owner in owners.items():
            if isinstance(owner, PathPython):
                text = f"{owner.path} -> Python {owner.version} ({owner.prefix})"
            elif isinstance(owner, PathPip):
                text = (
                    f"{owner.path} -> pip {owner.pip_version}, "
                    f"Python {owner.python} ({owner.prefix})"
                )
            else:
                text = _show(owner)
            rows.append((name, text))
    found = facts.interpreters
    if isinstance(found, Unknown) or not found:
        rows.append(("interpreters", _show(found) if found else "none found"))
    for index, interp in enumerate(() if isinstance(found, Unknown) else found):
        rows.append(
            (
                "interpreters" if index == 0 else "",
                f"{interp.version:<8} {interp.path}  ({interp.origin})",
            )
        )
    for env in facts.active:
        what = (
            f"envgen environment for profile '{env.profile}'"
            if isinstance(env.profile, str)
            else "not built by envgen"
            if env.profile is None
            else f"envgen marker {_show(env.profile)}"
        )
        rows.append(("active env", f"{env.variable}={env.path} ({what})"))
    if not facts.active:
        rows.append(("active env", "none (no VIRTUAL_ENV or CONDA_PREFIX)"))
    return rows


def _gpu_rows(facts: Facts) -> Rows:
    rows: Rows = []
    nv = facts.nvidia
    if isinstance(nv, Nvidia):
        cuda = f", CUDA {nv.cuda}" if nv.cuda else ""
        rows.append(("nvidia driver", f"{nv.driver}{cuda} (from {nv.source})"))
        for gpu in nv.gpus:
            cc = version_tuple(gpu.compute_capability or "")
            has = covering(cc, None, facts.system.platform) if len(cc) == 2 else []
            memory = f", {gpu.memory_mib} MiB" if gpu.memory_mib else ""
            builds = (
                f"; code in torch ≥{listed_torch()} builds: {', '.join(has) or 'none listed'}"
                if len(cc) == 2
                else ""
            )
            rows.append(
                (
                    "gpu",
                    f"{gpu.name}, compute capability "
                    f"{gpu.compute_capability or '?'}{memory}{builds}",
                )
            )
        runnable = runnable_cuda(nv.driver, facts.system.os)
        rows.append(
            (
                "cuda builds",
                f"{runnable[0].name} … {runnable[-1].name} (newest: CUDA {runnable[-1].version})"
                if runnable
                else "none this driver can run",
            )
        )
    else:
        rows.append(("nvidia", _show(nv)))
    amd = facts.rocm
    if isinstance(amd, Rocm):
        gpus = ", ".join(f"{g.name} ({g.gfx})" for g in amd.gpus) or "no GPU listed"
        problem = f"; {amd.problem}" if amd.problem else ""
        rows.append(("amd rocm", f"ROCm {amd.version or '?'}; {gpus} (from {amd.source}){problem}"))
    else:
        rows.append(("amd rocm", _show(amd)))
    intel = facts.xpu
    rows.append(
        (
            "intel xpu",
            f"{', '.join(intel.devices) or 'no GPU listed'} (from {intel.source})"
            if isinstance(intel, Xpu)
            else _show(intel),
        )
    )
    mps = mps_problem(facts.system)
    rows.append(("apple mps", "available" if mps is None else f"no ({mps})"))
    return rows


def _tool_rows(facts: Facts) -> Rows:
    if isinstance(facts.tools, Unknown):
        return [("tools", _show(facts.tools))]
    rows: Rows = []
    for name, tool in facts.tools.items():
        if isinstance(tool, Tool):
            short = re.match(r"(?:\S+ )?v?\d+(?:\.\d+)+\S*", tool.version)
            rows.append(
                (
                    name,
                    f"{short.group(0) if short else tool.version}  {tool.path}"
                    + (f" ({tool.note})" if tool.note else ""),
                )
            )
        else:
            rows.append((name, _show(tool)))
    return rows


def to_text(facts: Facts, rec: Recommendation) -> str:
    sections = [
        ("System", _system_rows(facts.system)),
        ("Python", _python_rows(facts)),
        ("GPUs", _gpu_rows(facts)),
        ("Tools", _tool_rows(facts)),
    ]
    width = max(len(label) for _, rows in sections for label, _ in rows)
    lines: list[str] = []
    for title, rows in sections:
        lines.append(title)
        lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    if facts.findings:
        lines.append("Problems")
        for finding in facts.findings:
            lines += [f"  PROBLEM: {finding.problem}", f"  fix: {finding.fix}"]
    lines.append("Recommendation")
    if rec.profile:
        lines.append(f"  profile: {rec.profile} — {rec.reason}")
    else:
        lines.append(f"  profile: none — {rec.reason}")
    lines += [f"  note: {note}" for note in rec.notes]
    if rec.commands:
        lines.append("  next:  " + "\n         ".join(rec.commands))
    return "\n".join(lines)
