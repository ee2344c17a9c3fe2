"""What PyTorch's wheel index publishes: per variant, the torch releases, their Pythons and
platforms, and each torchvision/torchaudio release's torch pin (from its wheel's METADATA).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from ..targets import PLATFORMS
from .errors import NotFound, UpdateError
from .fetch import Client, shown
from .observed import Observed
from .parallel import run_all
from .simple_index import IndexFile, read_project
from .triton import TritonPin, served_versions, triton_pin
from .versions import OddVersion, torch_requirement
from .wheel_metadata import Unreadable, read_metadata

COMPANIONS = ("torchvision", "torchaudio")
# New releases whose triton pins the summary lists: a real update adds one or two.
TRITON_RELEASES = 8


@dataclass
class TorchBuilds:
    """One torch release as the index shows it."""

    variants: dict[str, set[str]] = field(default_factory=dict)  # variant -> conda subdirs
    python: set[str] = field(default_factory=set)  # "3.12" (cp312 wheels)
    free_threaded: set[str] = field(default_factory=set)  # "3.13" (cp313t wheels)


@dataclass(frozen=True)
class CompanionPins:
    """What the companions' METADATA says, from one source (the index, or PyPI)."""

    # package -> torch version -> the newest companion release pinning exactly that torch
    exact: Mapping[str, Mapping[str, Observed]] = field(default_factory=dict)
    # package -> companion release -> its torch requirement, where it is not an exact pin
    bounds: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # package -> companion release -> why its METADATA could not be read
    unread: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexReading:
    torch: Mapping[str, TorchBuilds]  # public torch version -> builds
    companions: CompanionPins
    missing_pages: tuple[str, ...]  # variant pages that answered 404
    # new torch version -> variant -> the triton build its Linux x86_64 wheel pins (None: none)
    triton: Mapping[str, Mapping[str, TritonPin | None]] = field(default_factory=dict)
    triton_unread: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    triton_skipped: int = 0  # new releases beyond TRITON_RELEASES, not read


def platforms_of(platform_tag: str) -> set[str]:
    """The conda subdirs a wheel platform tag serves."""
    if platform_tag.startswith(("manylinux", "linux", "musllinux")):
        system, tag = "linux", platform_tag
    elif platform_tag.startswith("win_"):
        system, tag = "windows", platform_tag
    elif platform_tag.startswith("macosx_"):
        if platform_tag.endswith("_universal2"):
            return {p.name for p in PLATFORMS.values() if p.os == "macos"}
        system, tag = "macos", platform_tag
    else:
        return set()
    return {
        p.name for p in PLATFORMS.values() if p.os == system and tag.endswith("_" + p.wheel_arch)
    }


def python_of(interpreter: str) -> str | None:
    if not interpreter.startswith("cp") or len(interpreter) < 4 or not interpreter[2:].isdigit():
        return None
    digits = interpreter[2:]
    return f"{digits[0]}.{digits[1:]}"


def wheels(
    files: Iterable[IndexFile],
) -> Iterable[tuple[IndexFile, Version, frozenset[str], frozenset[Tag]]]:
    for item in files:
        if not item.filename.endswith(".whl"):
            continue
        try:
            _, version, _, tags = parse_wheel_filename(item.filename)
        except InvalidWheelFilename:
            continue  # real indexes carry a few odd names; they are not releases
        platforms: set[str] = set()
        for tag in tags:
            platforms |= platforms_of(tag.platform)
        yield item, version, frozenset(platforms), tags


def collect_torch(
    pages: Mapping[str, list[IndexFile]], since: Version | None
) -> dict[str, TorchBuilds]:
    """Fold each variant's torch page into builds per release."""
    found: dict[str, TorchBuilds] = {}
    for variant, files in sorted(pages.items()):
        for _, version, platforms, tags in wheels(files):
            local = version.local
            # A variant's page lists its own builds; untagged ones (macOS, some aarch64 CPU
            # wheels) belong to it too, another variant's tag does not.
            if (local is not None and local != variant) or not platforms:
                continue
            # a local tag orders a build after its public version, so this compares releases
            if since is not None and version < since:
                continue
            builds = found.setdefault(version.public, TorchBuilds())
            builds.variants.setdefault(variant, set()).update(platforms)
            for tag in tags:
                python = python_of(tag.interpreter)
                if python is None:
                    continue
                if tag.abi.endswith("t"):
                    builds.free_threaded.add(python)
                else:
                    builds.python.add(python)
    return found


def torch_pin(metadata: str) -> str | None:
    """The torch release a companion's METADATA pins with ``==``, if it pins exactly one."""
    requirement = torch_requirement(metadata)
    return requirement.exact if requirement is not None else None


def _metadata_choice(files: Iterable[IndexFile]) -> dict[str, IndexFile]:
    """One wheel per release to read METADATA from: one with a PEP 658 file, and a Linux x86_64
    one, when there are."""
    chosen: dict[str, tuple[IndexFile, tuple[bool, bool]]] = {}
    for item, version, platforms, _ in wheels(files):
        rank = (item.metadata_url is not None, "linux-64" in platforms)
        if version.public not in chosen or rank > chosen[version.public][1]:
            chosen[version.public] = (item, rank)
    return {version: item for version, (item, _) in chosen.items()}


def read_pins(
    client: Client,
    wanted: list[tuple[str, IndexFile]],
    torch: Collection[str] | None,
    unread: Mapping[str, Mapping[str, str]] | None = None,
) -> CompanionPins:
    """Read each (package, wheel)'s METADATA; fold the pins into ``CompanionPins``.

    ``torch``: the torch releases a pin may name (an exact pin of another one is ignored), or
    None for any.
    """

    def pin(job: tuple[str, IndexFile]) -> tuple[str | None, str | None, str, str]:
        _, item = job
        try:
            metadata = read_metadata(client, item.url, item.metadata_url, name=item.filename)
        except Unreadable as exc:
            return None, None, "", str(exc)
        try:
            requirement = torch_requirement(metadata.text)
        except OddVersion as exc:
            raise UpdateError(f"the METADATA of {shown(item.url)} has {exc}") from None
        if requirement is None:
            return None, "no torch requirement", metadata.how, ""
        return requirement.exact, requirement.spec, metadata.how, ""

    client.plan(len(wanted), "the companions' METADATA")
    results = run_all(client, pin, wanted)
    exact: dict[str, dict[str, Observed]] = {}
    bounds: dict[str, dict[str, str]] = {}
    failed = {package: dict(releases) for package, releases in (unread or {}).items()}
    for (package, item), (pinned, spec, how, why) in zip(wanted, results, strict=True):
        release = str(parse_wheel_filename(item.filename)[1].public)
        if why:
            failed.setdefault(package, {})[release] = why
        elif pinned is None:
            bounds.setdefault(package, {})[release] = spec or "no torch requirement"
        elif torch is None or pinned in torch:
            current = exact.setdefault(package, {}).get(pinned)
            if current is None or Version(release) > Version(current.value):
                exact[package][pinned] = Observed(release, how)
    return CompanionPins(exact, bounds, failed)


def read_index(
    client: Client,
    page_url: Callable[[str, str], str],
    variants: Collection[str],
    *,
    since: Version | None,
    known_companions: Mapping[str, Collection[str]],
    known_torch: Collection[str] = (),
) -> IndexReading:
    """Read torch, torchvision and torchaudio for every variant, all pages concurrently.

    ``page_url(variant, package)`` gives the (mirrored) page URL. Companion releases named in
    ``known_companions`` (those of releases before ``since``) are not read again. For the newest
    torch releases not in ``known_torch`` (new ones), each variant's torch METADATA is read for
    its triton pin, and the pinned triton page checked for that build.
    """
    jobs = [(variant, package) for package in ("torch", *COMPANIONS) for variant in variants]
    missing: list[str] = []

    def page(job: tuple[str, str]) -> list[IndexFile]:
        variant, package = job
        try:
            return read_project(client, page_url(variant, package))
        except NotFound:
            missing.append(f"{variant}/{package}")
            return []

    pages = dict(zip(jobs, run_all(client, page, jobs), strict=True))
    torch = collect_torch({v: pages[(v, "torch")] for v in variants}, since)
    wanted: list[tuple[str, IndexFile]] = []
    for package in COMPANIONS:
        files = [f for v in sorted(variants) for f in pages[(v, package)]]
        for version, item in sorted(_metadata_choice(files).items()):
            if version not in known_companions.get(package, ()):
                wanted.append((package, item))
    companions = read_pins(client, wanted, torch)
    newest = max((Version(v) for v in known_torch), default=None)
    new = sorted(
        (v for v in torch if v not in known_torch and (newest is None or Version(v) > newest)),
        key=Version,
    )
    triton, unread = _read_triton(
        client,
        page_url,
        {v: pages[(v, "torch")] for v in variants},
        new[-TRITON_RELEASES:],
    )
    return IndexReading(
        torch,
        companions,
        tuple(sorted(missing)),
        triton,
        unread,
        max(0, len(new) - TRITON_RELEASES),
    )


def _read_triton(
    client: Client,
    page_url: Callable[[str, str], str],
    torch_pages: Mapping[str, list[IndexFile]],
    versions: Collection[str],
) -> tuple[dict[str, dict[str, TritonPin | None]], dict[str, dict[str, str]]]:
    """The triton pin of each (new release, variant), from one Linux x86_64 wheel's METADATA."""
    chosen: dict[tuple[str, str], IndexFile] = {}
    for variant, files in sorted(torch_pages.items()):
        for item, version, platforms, _ in wheels(files):
            local = version.local
            if local not in (None, variant) or version.public not in versions:
                continue
            if "linux-64" in platforms:
                key = (version.public, variant)
                if key not in chosen or (item.metadata_url and not chosen[key].metadata_url):
                    chosen[key] = item
    jobs = sorted(chosen)

    def pin(job: tuple[str, str]) -> tuple[str, str] | str | None:
        item = chosen[job]
        try:
            metadata = read_metadata(client, item.url, item.metadata_url, name=item.filename)
        except Unreadable as exc:
            return str(exc)
        return triton_pin(metadata.text)

    client.plan(len(jobs), "the new releases' torch METADATA")
    pins = dict(zip(jobs, run_all(client, pin, jobs), strict=True))
    pages = sorted({(variant, p[0]) for (_, variant), p in pins.items() if isinstance(p, tuple)})

    def served(job: tuple[str, str]) -> set[str]:
        try:
            files = read_project(client, page_url(*job))
        except NotFound:
            return set()
        return served_versions(f.filename for f in files)

    available = dict(zip(pages, run_all(client, served, pages), strict=True))
    found: dict[str, dict[str, TritonPin | None]] = {}
    unread: dict[str, dict[str, str]] = {}
    for (release, variant), named in pins.items():
        if isinstance(named, str):
            unread.setdefault(release, {})[variant] = named
            continue
        if named is None:
            found.setdefault(release, {})[variant] = None
            continue
        package, pinned = named
        served_here = _normal(pinned) in {_normal(v) for v in available[(variant, package)]}
        found.setdefault(release, {})[variant] = TritonPin(package, pinned, served_here)
    return found, unread


def _normal(version: str) -> str:
    """A triton version as written (local part kept: pytorch-triton pins ``3.6.0+git…``)."""
    try:
        return str(Version(version))
    except ValueError:
        return version
