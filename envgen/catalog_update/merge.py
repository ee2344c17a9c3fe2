"""Fold what the indexes say into the catalog's data, and say what changed, for review.

Works on the catalog's plain data (what YAML gave), so every key a maintainer wrote survives.
Observed facts replace recorded ones; a fact the indexes do not show (a companion with no exact
torch pin, a release missing from the index) keeps its recorded value and is reported. A changed
entry gains the sources it was read from, with the date; an unchanged one is left alone, so a
repeated update writes identical bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.version import Version

from ..catalog import PLATFORM_OS, Variant
from .conda_forge import COMPANIONS as CONDA_COMPANIONS
from .conda_forge import CondaBuilds
from .pytorch_index import COMPANIONS, IndexReading
from .triton import describe

_KIND_RANK = {"cpu": 0, "cuda": 1, "rocm": 2, "xpu": 3}
# Facts of a release that say how to install it rather than what exists: a new release takes
# them from the release before it.
_POLICY_KEYS = ("index_option", "local_tags", "torchaudio_local_tag", "conda_pytorch_channel")


@dataclass(frozen=True)
class ReadSource:
    """One index, as a ``sources`` entry: where and when it was read."""

    key: str
    title: str
    url: str
    read: str

    def entry(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url, "read": self.read}


@dataclass
class Summary:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    conda: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.conda)

    def render(self) -> str:
        """Markdown a maintainer can paste into the pull request that carries the update."""
        parts = []
        for title, rows in (
            ("New releases", self.added),
            ("Changed releases", self.changed),
            ("conda-forge builds", self.conda),
            ("Kept as recorded (not confirmed by the indexes)", self.kept),
            ("Notes", self.notes),
        ):
            if rows:
                parts.append(f"## {title}\n" + "\n".join(f"- {row}" for row in rows))
        if not self.has_changes:
            parts.insert(0, "The catalog already says what the indexes say: no changes.")
        return "\n\n".join(parts) + "\n"


def variant_key(name: str) -> tuple[int, tuple[int, ...], str]:
    variant = Variant.parse(name)
    return (_KIND_RANK.get(variant.kind, 9), variant.sort_key, name)


def _python_key(minor: str) -> tuple[int, ...]:
    return tuple(int(p) for p in minor.split("."))


def _platforms(platforms: set[str]) -> list[str]:
    order = list(PLATFORM_OS)
    return sorted(platforms, key=order.index)


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "none" if value is None else str(value)


def _variant_change(old: Mapping[str, list[str]], new: Mapping[str, list[str]]) -> str:
    words = []
    added = [v for v in new if v not in old]
    dropped = [v for v in old if v not in new]
    if added:
        words.append("added " + ", ".join(added))
    if dropped:
        words.append("dropped " + ", ".join(dropped))
    for name in new:
        if name in old and list(old[name]) != list(new[name]):
            words.append(f"{name} platforms {_show(list(old[name]))} -> {_show(new[name])}")
    return "variants " + "; ".join(words)


def merge(
    data: dict[str, Any],
    reading: IndexReading,
    pypi: Mapping[str, str | None] | None,
    conda: Mapping[str, CondaBuilds] | None,
    sources: Mapping[str, ReadSource],
    since: Version | None,
) -> Summary:
    """Update ``data`` in place from the readings; ``sources`` holds 'index', 'pypi', 'conda'."""
    summary = Summary()
    releases: list[dict[str, Any]] = data.get("releases") or []
    data["releases"] = releases
    by_version = {str(entry["torch"]): entry for entry in releases}
    used: set[str] = set()

    for version in sorted(reading.torch, key=Version):
        builds = reading.torch[version]
        observed: dict[str, Any] = {
            "python": sorted(builds.python, key=_python_key),
            "variants": {
                name: _platforms(builds.variants[name])
                for name in sorted(builds.variants, key=variant_key)
            },
            "osx_64": any("osx-64" in p for p in builds.variants.values()),
        }
        if pypi is not None and version in pypi:
            observed["pypi_linux"] = pypi[version]
        for package in COMPANIONS:
            if version in reading.companions.get(package, {}):
                observed[package] = reading.companions[package][version]
        entry = by_version.get(version)
        if entry is None:
            entry = _new_entry(version, observed, releases)
            releases.append(entry)
            by_version[version] = entry
            entry["sources"] = _reference(observed, sources, used)
            companions = ", ".join(
                f"{p} {entry[p]}" for p in COMPANIONS if entry.get(p) is not None
            )
            summary.added.append(
                f"torch {version}: {companions or 'no companions'}; Python "
                f"{', '.join(entry['python'])}; variants {', '.join(entry['variants'])}; "
                f"PyPI Linux build {_show(entry['pypi_linux'])}"
                + (
                    "; free-threaded " + ", ".join(f"{p}t" for p in sorted(ft, key=_python_key))
                    if (ft := builds.free_threaded)
                    else ""
                )
                + ("" if entry.get("verified", True) else " (unverified: no torchvision pins it)")
                + (f"; triton: {describe(pins)}" if (pins := reading.triton.get(version)) else "")
            )
            for variant, pin in (reading.triton.get(version) or {}).items():
                if pin is not None and not pin.served:
                    summary.notes.append(
                        f"torch {version}+{variant} pins {pin.package}=={pin.version}, which the "
                        f"{variant} index does not serve: installing that build will fail"
                    )
            continue
        changes = []
        read_from: set[str] = set()
        for key in ("torchvision", "torchaudio", "python", "variants", "pypi_linux", "osx_64"):
            if key in observed and entry.get(key) != observed[key]:
                read_from.add("pypi" if key == "pypi_linux" else "index")
                if key == "variants":
                    changes.append(_variant_change(entry.get(key) or {}, observed[key]))
                else:
                    changes.append(f"{key} {_show(entry.get(key))} -> {_show(observed[key])}")
                entry[key] = observed[key]
        if entry.get("verified") is False and "torchvision" in observed:
            del entry["verified"]
            read_from.add("index")
            changes.append("verified: torchvision's metadata pins this torch")
        if changes:
            for which in ("index", "pypi"):
                key = sources[which].key
                if which in read_from and key not in entry["sources"]:
                    entry["sources"].append(key)
                    used.add(key)
            summary.changed.append(f"torch {version}: " + "; ".join(changes))
        missing = [p for p in COMPANIONS if p not in observed and entry.get(p) is not None]
        if missing:
            summary.kept.append(
                f"torch {version}: "
                + ", ".join(f"{p} {entry[p]}" for p in missing)
                + " (no release on the index pins this torch exactly)"
            )

    for entry in releases:
        version = str(entry["torch"])
        if version not in reading.torch and (since is None or Version(version) >= since):
            summary.kept.append(f"torch {version}: not found on the index")
    releases.sort(key=lambda e: Version(str(e["torch"])))
    if conda is not None:
        _merge_conda(data, conda, sources["conda"], since, summary, used)
    for page in reading.missing_pages:
        summary.notes.append(f"the index has no page for {page} (404)")
    for name in sorted(used):
        source = next(s for s in sources.values() if s.key == name)
        data.setdefault("sources", {})[name] = source.entry()
    return summary


def _new_entry(
    version: str, observed: Mapping[str, Any], releases: list[dict[str, Any]]
) -> dict[str, Any]:
    older = [e for e in releases if Version(str(e["torch"])) < Version(version)]
    template = max(older or releases, key=lambda e: Version(str(e["torch"])), default={})
    entry: dict[str, Any] = {"torch": version}
    if "torchvision" not in observed:
        entry["verified"] = False
    entry["torchvision"] = observed.get("torchvision")
    entry["torchaudio"] = observed.get("torchaudio")
    entry["python"] = observed["python"]
    entry["variants"] = observed["variants"]
    entry["pypi_linux"] = observed.get("pypi_linux")
    entry["osx_64"] = observed["osx_64"]
    for key in _POLICY_KEYS:
        if key in template:
            entry[key] = template[key]
    return entry


def _reference(
    observed: Mapping[str, Any],
    sources: Mapping[str, ReadSource],
    used: set[str],
) -> list[str]:
    keys = [sources["index"].key]
    if "pypi_linux" in observed:
        keys.append(sources["pypi"].key)
    used.update(keys)
    return keys


def _merge_conda(
    data: dict[str, Any],
    conda: Mapping[str, CondaBuilds],
    source: ReadSource,
    since: Version | None,
    summary: Summary,
    used: set[str],
) -> None:
    recorded: dict[str, Any] = data.get("conda_forge") or {}
    for version in sorted(conda, key=Version):
        builds = conda[version]
        cuda = sorted(builds.cuda, key=_python_key)
        new: dict[str, Any] = {"cuda": cuda, "cpu": builds.cpu}
        new["platforms"] = _platforms(builds.subdirs)
        for package in CONDA_COMPANIONS:
            companion = builds.companion(package)
            if companion is not None:
                new[package] = companion
                _companion_gaps(version, package, companion, builds, summary)
        old = recorded.get(version)
        old_facts = None
        if old:
            # an entry written before platforms and companions were read lacks those keys
            old_facts = {"cuda": list(old.get("cuda", [])), "cpu": bool(old.get("cpu", False))}
            old_facts.update({k: old[k] for k in new if k in old and k not in old_facts})
        if old_facts == new:
            continue
        kinds = [f"CUDA {c}" for c in cuda] + (["CPU"] if builds.cpu else [])
        what = [", ".join(kinds)] if kinds else []
        what += [", ".join(new["platforms"])] if new["platforms"] else []
        what += [f"{p} {new[p]}" for p in CONDA_COMPANIONS if p in new]
        was = " (new)" if old_facts is None else f" (was {_show(old_facts)})"
        summary.conda.append(f"pytorch {version}: {'; '.join(what)}{was}")
        previous = list(old.get("sources", [])) if old else []
        if source.key not in previous:
            previous.append(source.key)
        recorded[version] = {**new, "sources": previous}
        used.add(source.key)
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
        gaps += [f"CUDA {c}" for c in sorted(builds.cuda - theirs.cuda, key=_python_key)]
        gaps += ["CPU"] if builds.cpu and not theirs.cpu else []
    gaps += sorted(builds.subdirs - theirs.subdirs)
    if gaps:
        summary.notes.append(
            f"conda-forge {package} {companion} (for pytorch {version}) has no build for "
            + ", ".join(gaps)
        )
