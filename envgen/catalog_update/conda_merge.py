"""Fold conda-forge's repodata into the catalog's ``conda_forge`` section, and say what changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from packaging.version import Version

from ..targets import PLATFORMS
from .conda_forge import COMPANIONS, CondaBuilds
from .summary import Summary


def _minor_key(minor: str) -> tuple[int, ...]:
    return tuple(int(p) for p in minor.split("."))


def _platforms(platforms: set[str]) -> list[str]:
    order = list(PLATFORMS)
    return sorted(platforms, key=order.index)


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "none" if value is None else str(value)


def merge_conda(
    data: dict[str, Any],
    conda: Mapping[str, CondaBuilds],
    source_key: str,
    since: Version | None,
    summary: Summary,
    used: set[str],
) -> None:
    recorded: dict[str, Any] = data.get("conda_forge") or {}
    paired = {str(e["torch"]): e for e in data.get("releases") or ()}
    summary.read_as.add("repodata")
    for version in sorted(conda, key=Version):
        builds = conda[version]
        cuda = sorted(builds.cuda, key=_minor_key)
        new: dict[str, Any] = {"cuda": cuda, "cpu": builds.cpu}
        new["platforms"] = _platforms(builds.subdirs)
        new["cuda_platforms"] = {c: _platforms(builds.cuda_platforms.get(c, set())) for c in cuda}
        new["cpu_platforms"] = _platforms(builds.cpu_platforms)
        if builds.python:
            new["python"] = sorted(builds.python, key=_minor_key)
        for package in COMPANIONS:
            pair = (paired.get(version) or {}).get(package)
            companion = builds.companion(package, str(pair) if pair else None)
            new[package] = companion
            if companion is not None:
                _companion_gaps(version, package, companion, builds, summary)
        old = recorded.get(version)
        old_facts = None
        if old:
            # an entry written before platforms and companions were read lacks those keys
            old_facts = {"cuda": list(old.get("cuda", [])), "cpu": bool(old.get("cpu", False))}
            old_facts.update({k: old[k] for k in new if k in old and k not in old_facts})
        if old_facts == new:
            summary.confirmed.append(f"conda-forge pytorch {version}: its builds [repodata]")
            continue
        kinds = [f"CUDA {c}" for c in cuda] + (["CPU"] if builds.cpu else [])
        what = [", ".join(kinds)] if kinds else []
        what += [", ".join(new["platforms"])] if new["platforms"] else []
        what += [f"{p} {new[p]}" for p in COMPANIONS if new.get(p)]
        was = " (new)" if old_facts is None else f" (was {_show(old_facts)})"
        summary.conda.append(f"pytorch {version}: {'; '.join(what)}{was}")
        previous = list(old.get("sources", [])) if old else []
        if source_key not in previous:
            previous.append(source_key)
        recorded[version] = {**new, "sources": previous}
        used.add(source_key)
    for version in recorded:
        if version not in conda and (since is None or Version(version) >= since):
            summary.kept.append(f"conda-forge pytorch {version}: not found in the repodata")
    if recorded:
        data["conda_forge"] = {v: recorded[v] for v in sorted(recorded, key=Version)}


def _companion_gaps(
    version: str, package: str, companion: str, builds: CondaBuilds, summary: Summary
) -> None:
    """Say where conda-forge's pytorch has a build its companion lacks: that pairing fails."""
    theirs = builds.companions[package][companion]
    gaps = []
    if theirs.cuda or theirs.cpu:  # builds marked neither cuda nor cpu serve every pytorch build
        gaps += [f"CUDA {c}" for c in sorted(builds.cuda - theirs.cuda, key=_minor_key)]
        gaps += ["CPU"] if builds.cpu and not theirs.cpu else []
    gaps += sorted(builds.subdirs - theirs.subdirs)
    if gaps:
        summary.notes.append(
            f"conda-forge {package} {companion} (for pytorch {version}) has no build for "
            + ", ".join(gaps)
        )
