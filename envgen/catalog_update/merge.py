"""Fold what the sources say into the catalog's data, and say what changed, for review.

Works on the catalog's plain data (what YAML gave), so every key a maintainer wrote survives.
Observed facts replace recorded ones. A fact no source confirms keeps its recorded value and is
listed with the reason: shown otherwise (a companion whose metadata says ``torch>=``, not ``==``:
such a release pairs with no torch release by itself, see the catalog's notes), not observed (its
file could not be read), or not read (its source was left out with ``--only``). A changed entry
gains the sources it was read from, with the date; an unchanged one is left alone, so a repeated
update writes identical bytes. Linear in the releases: a page listing thousands is fine.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from ..targets import ACCELERATORS, PLATFORMS, Variant
from .conda_forge import CondaBuilds
from .conda_merge import merge_conda
from .observed import Observed
from .pypi_json import PypiReading
from .pytorch_index import COMPANIONS, CompanionPins, IndexReading
from .summary import Summary, tag
from .triton import describe

# Variant kinds in the order of the accelerator table: cpu, cuda, rocm, xpu
_KIND_RANK = {
    kind: rank
    for rank, kind in enumerate(dict.fromkeys(a.variant_kind for a in ACCELERATORS.values()))
}
# Facts of a release that say how to install it rather than what exists: a new release takes
# them from the release before it.
_POLICY_KEYS = ("index_option", "local_tags", "torchaudio_local_tag", "conda_pytorch_channel")
_LABELS = {
    "python": "Python",
    "variants": "variants",
    "osx_64": "osx-64 wheels",
    "pypi_linux": "PyPI Linux build",
    "torchvision": "torchvision",
    "torchaudio": "torchaudio",
}
_SHOWN_VALUE = ("pypi_linux", "torchvision", "torchaudio", "osx_64")


@dataclass(frozen=True)
class ReadSource:
    """One index, as a ``sources`` entry: where and when it was read."""

    key: str
    title: str
    url: str
    read: str

    def entry(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url, "read": self.read}


@dataclass(frozen=True)
class Readings:
    """What each source gave; None for a source not read (``not_read`` says why)."""

    index: IndexReading | None = None
    pypi: PypiReading | None = None
    conda: Mapping[str, CondaBuilds] | None = None
    not_read: tuple[str, ...] = ()


def variant_key(name: str) -> tuple[int, tuple[int, ...], str]:
    variant = Variant.parse(name)
    return (_KIND_RANK.get(variant.kind, 9), variant.sort_key, name)


def _python_key(minor: str) -> tuple[int, ...]:
    return tuple(int(p) for p in minor.split("."))


def _platforms(platforms: set[str]) -> list[str]:
    order = list(PLATFORMS)
    return sorted(platforms, key=order.index)


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "none" if value is None else str(value)


def _by_version(item: tuple[str, str]) -> Version:
    return Version(item[0])


def _grouped(facts: list[tuple[str, str]]) -> str:
    """``Python, variants [page]; torchvision 0.22.1 [range]``: facts grouped by how read."""
    order: dict[str, list[str]] = {}
    for text, how in facts:
        order.setdefault(how, []).append(text)
    return "; ".join(f"{', '.join(texts)} {tag(how)}" for how, texts in order.items())


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


def _index_facts(reading: IndexReading, version: str) -> dict[str, Observed]:
    builds = reading.torch[version]
    return {
        "python": Observed(sorted(builds.python, key=_python_key), "page"),
        "variants": Observed(
            {
                name: _platforms(builds.variants[name])
                for name in sorted(builds.variants, key=variant_key)
            },
            "page",
        ),
        "osx_64": Observed(any("osx-64" in p for p in builds.variants.values()), "page"),
    }


class _Merger:
    def __init__(
        self,
        data: dict[str, Any],
        readings: Readings,
        sources: Mapping[str, ReadSource],
        since: Version | None,
    ) -> None:
        self.data = data
        self.readings = readings
        self.sources = sources
        self.since = since
        self.summary = Summary(not_read=list(readings.not_read))
        self.used: set[str] = set()
        self.pins: tuple[str, CompanionPins] | None = None
        if readings.index is not None:
            self.pins = ("index", readings.index.companions)
        elif readings.pypi is not None and readings.pypi.companions is not None:
            self.pins = ("pypi", readings.pypi.companions)
        self.recorded_companions: dict[str, dict[str, list[str]]] = {p: {} for p in COMPANIONS}

    def in_scope(self, version: str) -> bool:
        return self.since is None or Version(version) >= self.since

    def run(self) -> Summary:
        releases: list[dict[str, Any]] = self.data.get("releases") or []
        self.data["releases"] = releases
        for entry in releases:
            for package in COMPANIONS:
                if entry.get(package) is not None:
                    self.recorded_companions[package].setdefault(str(entry[package]), []).append(
                        str(entry["torch"])
                    )
        for entry in sorted(releases, key=lambda e: Version(str(e["torch"]))):
            if self.in_scope(str(entry["torch"])):
                self.existing(entry)
        if self.readings.index is not None:
            self.add_new(releases)
        releases.sort(key=lambda e: Version(str(e["torch"])))
        self.unpaired()
        if self.readings.pypi is not None and releases:
            known = {str(e["torch"]) for e in releases}
            oldest = Version(str(releases[0]["torch"]))  # the catalog starts there on purpose
            for version in sorted(self.readings.pypi.torch_releases - known, key=Version):
                if self.in_scope(version) and Version(version) > oldest:
                    self.summary.notes.append(
                        f"PyPI has torch {version}, which the catalog lacks: an update that "
                        "reads PyTorch's index adds it with its variants"
                    )
        if self.readings.conda is not None:
            key = self.sources["conda"].key
            merge_conda(self.data, self.readings.conda, key, self.since, self.summary, self.used)
        if self.readings.index is not None:
            for page in self.readings.index.missing_pages:
                self.summary.notes.append(f"the index has no page for {page} (404)")
        for name in sorted(self.used):
            source = next(s for s in self.sources.values() if s.key == name)
            self.data.setdefault("sources", {})[name] = source.entry()
        return self.summary

    # -- releases the catalog has -------------------------------------------------------------
    def existing(self, entry: dict[str, Any]) -> None:
        version = str(entry["torch"])
        observed, confirmed = self.observe(entry, version)
        changes, read_from = self.apply_observed(entry, observed, confirmed)
        if entry.get("verified") is False and "torchvision" in observed:
            del entry["verified"]
            read_from.add(observed["torchvision"][1])
            changes.append("verified: torchvision's metadata pins this torch")
        if changes:
            for which in ("index", "pypi"):
                key = self.sources[which].key
                if which in read_from and key not in entry["sources"]:
                    entry["sources"].append(key)
                    self.used.add(key)
            self.summary.changed.append(f"torch {version}: " + "; ".join(changes))
        if confirmed:
            self.summary.confirmed.append(f"torch {version}: {_grouped(confirmed)}")

    def observe(
        self, entry: dict[str, Any], version: str
    ) -> tuple[dict[str, tuple[Observed, str]], list[tuple[str, str]]]:
        """What the sources say of a release the catalog has: (key -> (fact, source), the
        facts only compared (fact, how read))."""
        observed: dict[str, tuple[Observed, str]] = {}
        index, pypi = self.readings.index, self.readings.pypi
        if index is not None:
            if version in index.torch:
                for key, fact in _index_facts(index, version).items():
                    observed[key] = (fact, "index")
            else:
                self.summary.kept.append(f"torch {version}: not found on the index")
        confirmed: list[tuple[str, str]] = []
        if pypi is not None:
            if version in pypi.default_build:
                observed["pypi_linux"] = (pypi.default_build[version], "pypi")
            why = pypi.not_observed.get(version, {}).get("pypi_linux")
            if why:
                self.summary.not_observed.append(
                    f"torch {version}: PyPI Linux build {_show(entry.get('pypi_linux'))} ({why})"
                )
            if index is None and version in pypi.python:
                confirmed += self.compare_only(entry, version, pypi)
        if self.pins is not None:
            self.companions(entry, version, observed)
        return observed, confirmed

    def apply_observed(
        self,
        entry: dict[str, Any],
        observed: Mapping[str, tuple[Observed, str]],
        confirmed: list[tuple[str, str]],
    ) -> tuple[list[str], set[str]]:
        """Write each observed fact that differs into ``entry``; (the changes in words, the
        sources they came from). Facts that agree go to ``confirmed``."""
        changes: list[str] = []
        read_from: set[str] = set()
        for key in ("python", "variants", "osx_64", "torchvision", "torchaudio", "pypi_linux"):
            if key not in observed:
                continue
            fact, source = observed[key]
            self.summary.read_as.add(fact.how)
            if entry.get(key) == fact.value:
                shown = f" {_show(fact.value)}" if key in _SHOWN_VALUE else ""
                confirmed.append((f"{_LABELS[key]}{shown}", fact.how))
                continue
            read_from.add(source)
            if key == "variants":
                changes.append(_variant_change(entry.get(key) or {}, fact.value))
            else:
                changes.append(
                    f"{key} {_show(entry.get(key))} -> {_show(fact.value)} {tag(fact.how)}"
                )
            entry[key] = fact.value
        return changes, read_from

    def compare_only(
        self, entry: Mapping[str, Any], version: str, pypi: PypiReading
    ) -> list[tuple[str, str]]:
        """PyPI's own wheels' Pythons and osx-64: they confirm the index's facts or are listed,
        never written (the catalog's Pythons are those of PyTorch's index)."""
        said = []
        self.summary.read_as.add("page")
        for key, value in (("python", pypi.python[version]), ("osx_64", pypi.osx_64[version])):
            if entry.get(key) == value:
                said.append(
                    (
                        f"{_LABELS[key]} {_show(value)} on PyPI"
                        if key == "osx_64"
                        else "Python on PyPI",
                        "page",
                    )
                )
            else:
                self.summary.kept.append(
                    f"torch {version}: {_LABELS[key]} {_show(entry.get(key))} "
                    f"(PyPI's wheels: {_show(value)}; the catalog records PyTorch's index)"
                )
        return said

    def companions(
        self, entry: Mapping[str, Any], version: str, observed: dict[str, tuple[Observed, str]]
    ) -> None:
        assert self.pins is not None
        source, pins = self.pins
        where = "the index" if source == "index" else "PyPI"
        for package in COMPANIONS:
            hit = pins.exact.get(package, {}).get(version)
            if hit is not None:
                observed[package] = (hit, source)
                continue
            recorded = entry.get(package)
            if recorded is None:
                continue
            recorded = str(recorded)
            why = pins.unread.get(package, {}).get(recorded)
            bound = pins.bounds.get(package, {}).get(recorded)
            if why:
                self.summary.not_observed.append(f"torch {version}: {package} {recorded} ({why})")
            elif bound:
                said = f"says torch{bound}" if bound[:1] in "=<>~!" else f"has {bound}"
                self.summary.kept.append(
                    f"torch {version}: {package} {recorded} (its METADATA {said}, not =={version})"
                )
            else:
                self.summary.kept.append(
                    f"torch {version}: {package} {recorded} (no release on {where} pins this "
                    "torch exactly)"
                )

    def unpaired(self) -> None:
        """Companion releases no catalog entry names: a bound-only pin, or unreadable."""
        if self.pins is None:
            return
        _, pins = self.pins
        for package in COMPANIONS:
            named = self.recorded_companions[package]
            for release, bound in sorted(pins.bounds.get(package, {}).items(), key=_by_version):
                if release not in named:
                    said = f"requires torch{bound}" if bound[:1] in "=<>~!" else f"has {bound}"
                    self.summary.notes.append(
                        f"{package} {release} {said} and pins no torch exactly: the update pairs "
                        "it with no release (the catalog pairs such a release by hand, where a "
                        "second source does)"
                    )
            for release, why in sorted(pins.unread.get(package, {}).items(), key=_by_version):
                if release not in named:
                    self.summary.not_observed.append(f"{package} {release}: its torch pin ({why})")

    # -- releases the index has and the catalog does not --------------------------------------
    def add_new(self, releases: list[dict[str, Any]]) -> None:
        index = self.readings.index
        assert index is not None
        known = {str(e["torch"]): e for e in releases}
        new = sorted((v for v in index.torch if v not in known), key=Version)
        if not new:
            return
        # Each new release takes the install policy of the newest release before it: found by
        # bisection over the releases in order, so thousands of new ones cost no more each.
        ordered = sorted(releases, key=lambda e: Version(str(e["torch"])))
        keys = [Version(str(e["torch"])) for e in ordered]
        newest = ordered[-1] if ordered else {}
        for version in new:
            at = bisect.bisect_left(keys, Version(version))
            template = ordered[at - 1] if at else newest
            observed = {k: f.value for k, f in _index_facts(index, version).items()}
            if self.readings.pypi is not None and version in self.readings.pypi.default_build:
                observed["pypi_linux"] = self.readings.pypi.default_build[version].value
            for package in COMPANIONS:
                hit = index.companions.exact.get(package, {}).get(version)
                if hit is not None:
                    observed[package] = hit.value
            entry = _new_entry(version, observed, template)
            entry["sources"] = [self.sources["index"].key]
            if "pypi_linux" in observed:
                entry["sources"].append(self.sources["pypi"].key)
            self.used.update(entry["sources"])
            releases.append(entry)
            self.summary.read_as.add("page")
            self.summary.added.append(self.describe_new(version, entry))
        if index.triton_skipped:
            self.summary.notes.append(
                f"triton pins were read for the newest new releases only; "
                f"{index.triton_skipped} older new ones were not checked"
            )

    def describe_new(self, version: str, entry: Mapping[str, Any]) -> str:
        index = self.readings.index
        assert index is not None
        builds = index.torch[version]
        companions = ", ".join(f"{p} {entry[p]}" for p in COMPANIONS if entry.get(p) is not None)
        line = (
            f"torch {version}: {companions or 'no companions'}; Python "
            f"{', '.join(entry['python'])}; variants {', '.join(entry['variants'])}; "
            f"PyPI Linux build {_show(entry['pypi_linux'])}"
        )
        if builds.free_threaded:
            line += "; free-threaded " + ", ".join(
                f"{p}t" for p in sorted(builds.free_threaded, key=_python_key)
            )
        if not entry.get("verified", True):
            line += " (unverified: no torchvision pins it)"
        if pins := index.triton.get(version):
            line += f"; triton: {describe(pins)}"
            for variant, pin in pins.items():
                if pin is not None and not pin.served:
                    self.summary.notes.append(
                        f"torch {version}+{variant} pins {pin.package}=={pin.version}, which the "
                        f"{variant} index does not serve: installing that build will fail"
                    )
        for variant, why in sorted((index.triton_unread.get(version) or {}).items()):
            self.summary.not_observed.append(f"torch {version}+{variant}: triton pin ({why})")
        return line


def merge(
    data: dict[str, Any],
    readings: Readings,
    sources: Mapping[str, ReadSource],
    since: Version | None,
) -> Summary:
    """Update ``data`` in place from the readings; ``sources`` holds 'index', 'pypi', 'conda'."""
    return _Merger(data, readings, sources, since).run()


def _new_entry(
    version: str, observed: Mapping[str, Any], template: Mapping[str, Any]
) -> dict[str, Any]:
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
