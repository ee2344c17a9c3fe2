"""What PyTorch's wheel index publishes: per variant, the torch releases, their Pythons and
platforms, and each torchvision/torchaudio release's torch pin (from PEP 658 metadata).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.parser import HeaderParser

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from .fetch import NotFound, get
from .simple_index import IndexFile, read_project
from .triton import TritonPin, served_versions, triton_pin

COMPANIONS = ("torchvision", "torchaudio")
WORKERS = 16


@dataclass
class TorchBuilds:
    """One torch release as the index shows it."""

    variants: dict[str, set[str]] = field(default_factory=dict)  # variant -> conda subdirs
    python: set[str] = field(default_factory=set)  # "3.12" (cp312 wheels)
    free_threaded: set[str] = field(default_factory=set)  # "3.13" (cp313t wheels)


@dataclass(frozen=True)
class IndexReading:
    torch: Mapping[str, TorchBuilds]  # public torch version -> builds
    # package -> torch version -> the companion release whose metadata pins exactly that torch
    companions: Mapping[str, Mapping[str, str]]
    missing_pages: tuple[str, ...]  # variant pages that answered 404
    metadata_read: int
    # new torch version -> variant -> the triton build its Linux x86_64 wheel pins (None: none)
    triton: Mapping[str, Mapping[str, TritonPin | None]] = field(default_factory=dict)
    triton_requests: int = 0


def platforms_of(platform_tag: str) -> set[str]:
    """The conda subdirs a wheel platform tag serves."""
    if platform_tag.startswith(("manylinux", "linux", "musllinux")):
        if platform_tag.endswith("x86_64"):
            return {"linux-64"}
        if platform_tag.endswith("aarch64"):
            return {"linux-aarch64"}
        return set()
    if platform_tag == "win_amd64":
        return {"win-64"}
    if platform_tag.startswith("macosx_"):
        for arch, subdirs in (
            ("_arm64", {"osx-arm64"}),
            ("_x86_64", {"osx-64"}),
            ("_universal2", {"osx-64", "osx-arm64"}),
        ):
            if platform_tag.endswith(arch):
                return subdirs
    return set()


def _python_of(interpreter: str) -> str | None:
    if not interpreter.startswith("cp") or len(interpreter) < 4 or not interpreter[2:].isdigit():
        return None
    digits = interpreter[2:]
    return f"{digits[0]}.{digits[1:]}"


def _wheels(
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
        for _, version, platforms, tags in _wheels(files):
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
                python = _python_of(tag.interpreter)
                if python is None:
                    continue
                if tag.abi.endswith("t"):
                    builds.free_threaded.add(python)
                else:
                    builds.python.add(python)
    return found


def torch_pin(metadata: str) -> str | None:
    """The torch release a companion's METADATA pins with ``==``, if it pins exactly one."""
    headers = HeaderParser().parsestr(metadata)
    for line in headers.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.name != "torch" or requirement.marker is not None:
            continue
        specs = list(requirement.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "==="):
            version = specs[0].version
            if "*" in version:
                return None
            return Version(version).public
    return None


def _metadata_choice(files: Iterable[IndexFile]) -> dict[str, IndexFile]:
    """One file with metadata per release; a Linux x86_64 wheel when there is one."""
    chosen: dict[str, tuple[IndexFile, bool]] = {}
    for item, version, platforms, _ in _wheels(files):
        if item.metadata_url is None:
            continue
        linux = "linux-64" in platforms
        if version.public not in chosen or (linux and not chosen[version.public][1]):
            chosen[version.public] = (item, linux)
    return {version: item for version, (item, _) in chosen.items()}


def read_index(
    page_url: Callable[[str, str], str],
    variants: Collection[str],
    *,
    since: Version | None,
    known_companions: Mapping[str, Collection[str]],
    known_torch: Collection[str] = (),
    timeout: float,
    retries: int,
) -> IndexReading:
    """Read torch, torchvision and torchaudio for every variant, all pages concurrently.

    ``page_url(variant, package)`` gives the (mirrored) page URL. Companion releases named in
    ``known_companions`` (those of releases before ``since``) are not read again. For torch
    releases not in ``known_torch`` (new ones), each variant's torch metadata is read for its
    triton pin, and the pinned triton page checked for that build.
    """
    jobs = [(variant, package) for package in ("torch", *COMPANIONS) for variant in variants]
    missing: list[str] = []

    def page(job: tuple[str, str]) -> list[IndexFile]:
        variant, package = job
        try:
            return read_project(page_url(variant, package), timeout=timeout, retries=retries)
        except NotFound:
            missing.append(f"{variant}/{package}")
            return []

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        pages = dict(zip(jobs, pool.map(page, jobs), strict=True))
        torch = collect_torch({v: pages[(v, "torch")] for v in variants}, since)
        wanted: list[tuple[str, IndexFile]] = []
        for package in COMPANIONS:
            files = [f for v in sorted(variants) for f in pages[(v, package)]]
            for version, item in sorted(_metadata_choice(files).items()):
                if version not in known_companions.get(package, ()):
                    wanted.append((package, item))

        def pin(job: tuple[str, IndexFile]) -> str | None:
            assert job[1].metadata_url is not None
            body = get(job[1].metadata_url, timeout=timeout, retries=retries).body
            return torch_pin(body.decode("utf-8", "replace"))

        pins = list(pool.map(pin, wanted))
        triton, triton_requests = _read_triton(
            pool,
            page_url,
            {v: pages[(v, "torch")] for v in variants},
            [v for v in torch if v not in known_torch],
            timeout=timeout,
            retries=retries,
        )
    companions: dict[str, dict[str, str]] = {p: {} for p in COMPANIONS}
    for (package, item), torch_version in zip(wanted, pins, strict=True):
        if torch_version is None or torch_version not in torch:
            continue
        version = str(parse_wheel_filename(item.filename)[1].public)
        current = companions[package].get(torch_version)
        if current is None or Version(version) > Version(current):
            companions[package][torch_version] = version
    return IndexReading(
        torch, companions, tuple(sorted(missing)), len(wanted), triton, triton_requests
    )


def _read_triton(
    pool: ThreadPoolExecutor,
    page_url: Callable[[str, str], str],
    torch_pages: Mapping[str, list[IndexFile]],
    versions: Collection[str],
    *,
    timeout: float,
    retries: int,
) -> tuple[dict[str, dict[str, TritonPin | None]], int]:
    """The triton pin of each (new release, variant), from one Linux x86_64 wheel's metadata."""
    chosen: dict[tuple[str, str], IndexFile] = {}
    for variant, files in sorted(torch_pages.items()):
        for item, version, platforms, _ in _wheels(files):
            local = version.local
            if local not in (None, variant) or version.public not in versions:
                continue
            if item.metadata_url is not None and "linux-64" in platforms:
                chosen.setdefault((version.public, variant), item)
    jobs = sorted(chosen)

    def pin(job: tuple[str, str]) -> tuple[str, str] | None:
        url = chosen[job].metadata_url
        assert url is not None
        return triton_pin(
            get(url, timeout=timeout, retries=retries).body.decode("utf-8", "replace")
        )

    pins = dict(zip(jobs, pool.map(pin, jobs), strict=True))
    pages = sorted({(variant, p[0]) for (_, variant), p in pins.items() if p is not None})

    def served(job: tuple[str, str]) -> set[str]:
        try:
            files = read_project(page_url(*job), timeout=timeout, retries=retries)
        except NotFound:
            return set()
        return served_versions(f.filename for f in files)

    available = dict(zip(pages, pool.map(served, pages), strict=True))
    found: dict[str, dict[str, TritonPin | None]] = {}
    for (release, variant), named in pins.items():
        if named is None:
            found.setdefault(release, {})[variant] = None
            continue
        package, pinned = named
        served_here = _normal(pinned) in {_normal(v) for v in available[(variant, package)]}
        found.setdefault(release, {})[variant] = TritonPin(package, pinned, served_here)
    return found, len(jobs) + len(pages)


def _normal(version: str) -> str:
    """A triton version as written (local part kept: pytorch-triton pins ``3.6.0+git…``)."""
    try:
        return str(Version(version))
    except ValueError:
        return version
