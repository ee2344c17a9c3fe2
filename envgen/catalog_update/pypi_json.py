"""What PyPI's JSON API shows: the CUDA build plain ``pip install torch`` gets on Linux, and — when
PyTorch's index is not read — the torch each torchvision/torchaudio release pins.

The build is read from the Linux x86_64 wheel's own ``Requires-Dist``: the CUDA runtime it pins
(``nvidia-cuda-runtime-cu12==12.8.90``, ``cuda-toolkit[…]==13.0.2``) names the variant. A release
is looked up at ``/pypi/<name>/<version>/json``; where that answers 404 for a release the project
page ``/pypi/<name>/json`` lists (the proxy these machines use, some mirrors), the project page
serves every release. File URLs may be relative to the answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from .errors import NotFound, UpdateError
from .fetch import Client, shown
from .observed import Observed
from .parallel import run_all
from .pytorch_index import CompanionPins, platforms_of, python_of, read_pins
from .simple_index import IndexFile, odd_name
from .versions import OddVersion, valid
from .wheel_metadata import Unreadable, read_metadata

_RUNTIMES = (
    "nvidia-cuda-runtime",
    "nvidia-cuda-runtime-cu11",
    "nvidia-cuda-runtime-cu12",
    "cuda-toolkit",
)
_FIX = "check that the URL (or its mirror) serves PyPI's JSON API; the catalog was not changed"


def cuda_variant(requires_dist: Iterable[str]) -> str | None:
    """'cu128' from the pinned CUDA runtime among ``requires_dist``; None for a CPU-only wheel."""
    for line in requires_dist:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.name not in _RUNTIMES:
            continue
        for spec in requirement.specifier:
            if spec.operator in ("==", "===", "~=", ">="):
                parts = spec.version.split(".")
                if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                    return f"cu{int(parts[0])}{int(parts[1])}"
    return None


@dataclass(frozen=True)
class _Release:
    files: list[IndexFile]
    sizes: dict[str, int]  # file name -> size, where the answer says
    requires_dist: list[str] | None  # the version endpoint's info.requires_dist


@dataclass
class PypiReading:
    """torch version -> what PyPI shows of it; ``not_observed``: torch version -> fact -> why."""

    default_build: dict[str, Observed] = field(default_factory=dict)
    python: dict[str, list[str]] = field(default_factory=dict)
    osx_64: dict[str, bool] = field(default_factory=dict)
    companions: CompanionPins | None = None
    not_observed: dict[str, dict[str, str]] = field(default_factory=dict)
    torch_releases: frozenset[str] = frozenset()  # every torch release PyPI lists, when known


class _Project:
    """One project on PyPI's JSON API, shared by the threads reading it."""

    def __init__(self, client: Client, name: str, url: Callable[[str], str]) -> None:
        self.client = client
        self.name = name
        self.url = url  # path under https://pypi.org -> the URL to read (mirrors applied)
        self.version_endpoint: bool | None = None  # None until a release shows which works
        self.absent: str | None = None  # why PyPI has no such project, once known
        self._lock = threading.Lock()
        self._whole: dict[str, _Release] | None = None

    def releases(self) -> dict[str, _Release]:
        """Every release the project page lists (read once)."""
        with self._lock:
            if self._whole is None:
                self._whole = self._read_whole()
            return self._whole

    def _read_whole(self) -> dict[str, _Release]:
        url = self.url(f"/pypi/{self.name}/json")
        try:
            answer = self.client.get(url, accept="application/json")
        except NotFound:
            self.version_endpoint = False  # no project at all: no release to ask about
            self.absent = f"PyPI has no {self.name} project ({shown(url)} answered 404)"
            return {}
        data = _json(answer.body, url)
        releases = data.get("releases")
        if not isinstance(releases, dict):
            raise UpdateError(
                f"{shown(url)} lists no releases (PyPI's JSON API without 'releases')", fix=_FIX
            )
        found = {}
        for version, files in releases.items():
            try:
                parsed = valid(str(version))
            except OddVersion as exc:
                raise UpdateError(f"{shown(url)} lists {exc}", fix=_FIX) from None
            if parsed is not None and isinstance(files, list):
                found[str(parsed)] = _files(files, answer.url, url, None)
        return found

    def release(self, version: str) -> _Release | None:
        """One release, from its own endpoint or, where that is missing, the project page."""
        if self.version_endpoint is not False:
            url = self.url(f"/pypi/{self.name}/{version}/json")
            try:
                answer = self.client.get(url, accept="application/json")
            except NotFound:
                if self.version_endpoint:
                    return None  # the endpoint works: PyPI has no such release
            else:
                self.version_endpoint = True
                data = _json(answer.body, url)
                info = data.get("info") if isinstance(data.get("info"), dict) else {}
                requires = info.get("requires_dist") if isinstance(info, dict) else None
                files = data.get("urls")
                files = files if isinstance(files, list) else []
                return _files(files, answer.url, url, requires or [])
        found = self.releases().get(str(Version(version)))
        if found is not None and self.version_endpoint is None:
            self.version_endpoint = False  # a 404 for a release PyPI has: use the project page
        return found


def _json(body: bytes, url: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UpdateError(
            f"{shown(url)} is not a PyPI JSON API answer ({exc!s:.80})", fix=_FIX
        ) from None
    if not isinstance(data, dict):
        raise UpdateError(f"{shown(url)} is not a PyPI JSON API answer (not an object)", fix=_FIX)
    return data


def _files(items: list[Any], base: str, url: str, requires: list[str] | None) -> _Release:
    files = []
    sizes = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        name, href = item.get("filename"), item.get("url")
        if not isinstance(name, str) or not isinstance(href, str):
            continue
        why = odd_name(name)
        if why is not None:
            raise UpdateError(f"{shown(url)} lists {why}", fix=_FIX)
        files.append(IndexFile(name, urljoin(base, href).split("#", 1)[0], None))
        if isinstance(item.get("size"), int):
            sizes[name] = item["size"]
    return _Release(files, sizes, [str(r) for r in requires] if requires is not None else None)


def _wheels(release: _Release) -> list[tuple[IndexFile, frozenset[str], frozenset[Any]]]:
    found = []
    for item in release.files:
        if not item.filename.endswith(".whl"):
            continue
        try:
            _, _, _, tags = parse_wheel_filename(item.filename)
        except InvalidWheelFilename:
            continue
        platforms: set[str] = set()
        for tag in tags:
            platforms |= platforms_of(tag.platform)
        found.append((item, frozenset(platforms), tags))
    return found


def read_pypi(
    client: Client,
    url: Callable[[str], str],
    file_url: Callable[[str], str],
    torch_versions: Iterable[str],
    *,
    companions: Mapping[str, Version | None] | None = None,
    list_torch: bool = False,
) -> PypiReading:
    """Read the default build (and Pythons, osx-64) of each torch release; with ``companions``
    (package -> the oldest release worth reading), their pins too.

    ``url`` maps a path of PyPI's JSON API to the URL to read; ``file_url`` maps a file's URL
    (files.pythonhosted.org) the same way, so mirrors configured for either apply.
    ``list_torch`` reads the torch project page to learn every release PyPI has.
    """
    reading = PypiReading()
    versions = sorted(set(torch_versions), key=Version)
    torch = _Project(client, "torch", url)
    if list_torch:
        reading.torch_releases = frozenset(torch.releases())
    if versions:
        # One release first, alone: it shows whether the version endpoint works here, so the
        # others go to the right endpoint instead of each trying the wrong one.
        first = _torch_facts(client, torch, file_url, versions[-1])
        rest = run_all(client, lambda v: _torch_facts(client, torch, file_url, v), versions[:-1])
        for version, (build, python, osx, why) in zip(versions, [*rest, first], strict=True):
            if why:
                reading.not_observed.setdefault(version, {})["pypi_linux"] = why
            if build is not None:
                reading.default_build[version] = build
            if python is not None:
                reading.python[version] = python
                reading.osx_64[version] = bool(osx)
    if companions is not None:
        reading.companions = _read_companions(client, url, file_url, companions)
    return reading


def _torch_facts(
    client: Client, project: _Project, file_url: Callable[[str], str], version: str
) -> tuple[Observed | None, list[str] | None, bool | None, str]:
    release = project.release(version)
    if release is None:
        return None, None, None, project.absent or "PyPI lists no such torch release"
    python: set[str] = set()
    osx = False
    linux: list[IndexFile] = []
    for item, platforms, tags in _wheels(release):
        python |= {p for t in tags if not t.abi.endswith("t") and (p := python_of(t.interpreter))}
        osx = osx or "osx-64" in platforms
        if "linux-64" in platforms:
            linux.append(item)
    pythons = sorted(python, key=lambda p: tuple(int(x) for x in p.split(".")))
    if not linux:
        if release.requires_dist is not None:
            return Observed(cuda_variant(release.requires_dist), "json"), pythons, osx, ""
        return None, pythons, osx, "PyPI has no Linux x86_64 wheel of this release"
    item = min(linux, key=lambda i: i.filename)
    try:
        metadata = read_metadata(client, file_url(item.url), name=item.filename)
    except Unreadable as exc:
        return None, pythons, osx, str(exc)
    build = cuda_variant(_requires(metadata.text))
    return Observed(build, metadata.how), pythons, osx, ""


def _requires(metadata: str) -> list[str]:
    from email.parser import HeaderParser

    return HeaderParser().parsestr(metadata).get_all("Requires-Dist") or []


def _read_companions(
    client: Client,
    url: Callable[[str], str],
    file_url: Callable[[str], str],
    oldest: Mapping[str, Version | None],
) -> CompanionPins:
    """The torch pin of every release of each companion from ``oldest[package]`` on, from one
    wheel's METADATA each."""
    wanted: list[tuple[str, IndexFile]] = []
    unread: dict[str, dict[str, str]] = {}
    for package, floor in oldest.items():
        project = _Project(client, package, url)
        for version, release in sorted(project.releases().items(), key=lambda r: Version(r[0])):
            if floor is not None and Version(version) < floor:
                continue
            found = _wheels(release)
            if not found:
                if release.files:
                    unread.setdefault(package, {})[version] = "PyPI has no wheel of it"
                continue
            # The Linux x86_64 wheel: the others' METADATA may name a bare ``torch`` (the
            # aarch64 wheels of torchvision 0.14-0.15 do); the smallest of those, in case the
            # server refuses ranges and the whole wheel has to be read.
            item = min(
                found,
                key=lambda f: (
                    "linux-64" not in f[1],
                    release.sizes.get(f[0].filename, 1 << 62),
                    f[0].filename,
                ),
            )[0]
            wanted.append((package, IndexFile(item.filename, file_url(item.url), None)))
    return read_pins(client, wanted, None, unread)
