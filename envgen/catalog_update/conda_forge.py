"""Which pytorch builds conda-forge carries, from a channel's repodata.json, per subdir.

``source: conda`` profiles resolve against this: for each pytorch version, the CUDA versions of
its ``cuda*`` builds (build string ``cuda126_…``, else the ``cuda-version`` constraint), whether a
``cpu*`` build exists, the subdirs it is built for, and the torchvision/torchaudio releases whose
builds depend on it (a companion is only usable on conda-forge if a build of it pins that
pytorch, so the catalog records which one does rather than assuming the PyPI pairing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from ..targets import PLATFORMS
from .errors import NotFound, UpdateError
from .fetch import REPODATA_LIMIT, Client, shown
from .parallel import run_all
from .versions import valid

# every platform the catalog records: a conda profile may target any of them
SUBDIRS = tuple(PLATFORMS)
COMPANIONS = ("torchvision", "torchaudio")
_BUILD_CUDA = re.compile(r"^cuda(\d{2,3})(?:_|py|$)")
_DEPENDS_CUDA = re.compile(r"^cuda-version\s*>=?\s*(\d+)\.(\d+)")
# "pytorch 2.7.1 cuda*", "pytorch ==2.7.1", "pytorch 2.7.1.*", "pytorch >=2.7.1,<2.8.0a0",
# and the same for libtorch, which conda-forge's companions depend on in newer builds
_DEPENDS_TORCH = re.compile(r"^(?:pytorch|libtorch)\s+(?:==|>=)?\s*(\d+\.\d+(?:\.\d+)?)(?:\.\*)?")


_DEPENDS_PYTHON = re.compile(r"^(?:python_abi\s+|python\s+>=)(\d+\.\d+)")


@dataclass
class Builds:
    """The builds of one version of one package (or of the companions pinning one pytorch)."""

    cuda: set[str] = field(default_factory=set)
    cpu: bool = False
    subdirs: set[str] = field(default_factory=set)
    cuda_platforms: dict[str, set[str]] = field(default_factory=dict)  # CUDA -> subdirs
    cpu_platforms: set[str] = field(default_factory=set)
    python: set[str] = field(default_factory=set)

    def add(self, other: Builds) -> None:
        self.cuda |= other.cuda
        self.cpu = self.cpu or other.cpu
        self.subdirs |= other.subdirs
        for version, subdirs in other.cuda_platforms.items():
            self.cuda_platforms.setdefault(version, set()).update(subdirs)
        self.cpu_platforms |= other.cpu_platforms
        self.python |= other.python


@dataclass
class CondaBuilds(Builds):
    # companion -> its version pinning this pytorch -> that companion's builds
    companions: dict[str, dict[str, Builds]] = field(default_factory=dict)

    def add(self, other: Builds) -> None:
        super().add(other)
        if isinstance(other, CondaBuilds):
            for package, versions in other.companions.items():
                mine = self.companions.setdefault(package, {})
                for version, builds in versions.items():
                    mine.setdefault(version, Builds()).add(builds)

    def companion(self, package: str, preferred: str | None = None) -> str | None:
        """``preferred`` (PyTorch's pair) when conda-forge built it against this pytorch, else
        the newest release of ``package`` built against it."""
        versions = self.companions.get(package) or {}
        if preferred is not None and preferred in versions:
            return preferred
        return max(versions, key=Version) if versions else None


def _cuda_of(build: str, depends: Iterable[str]) -> str | None:
    match = _BUILD_CUDA.match(build)
    if match:
        digits = match.group(1)
        return f"{int(digits[:-1])}.{digits[-1]}"
    for dep in depends:
        found = _DEPENDS_CUDA.match(dep) if isinstance(dep, str) else None
        if found:
            return f"{int(found.group(1))}.{int(found.group(2))}"
    return None


def torch_pin(depends: Iterable[object]) -> str | None:
    """The pytorch release a companion build depends on (the lower bound of a range)."""
    for dep in depends:
        found = _DEPENDS_TORCH.match(dep) if isinstance(dep, str) else None
        if found:
            try:
                return str(Version(found.group(1)))
            except (InvalidVersion, ValueError):
                return None
    return None


def _record_builds(build: str, depends: Iterable[str], subdir: str) -> Builds:
    depends = list(depends)
    builds = Builds(subdirs={subdir} if subdir else set())
    cuda = _cuda_of(build, depends)
    if cuda:
        builds.cuda.add(cuda)
        builds.cuda_platforms[cuda] = set(builds.subdirs)
    elif build.startswith("cpu"):
        builds.cpu = True
        builds.cpu_platforms = set(builds.subdirs)
    for dep in depends:
        found = _DEPENDS_PYTHON.match(dep)
        if found:
            builds.python.add(found.group(1))
    return builds


def collect(repodata: object, since: Version | None, subdir: str = "") -> dict[str, CondaBuilds]:
    """pytorch version -> its builds and companions, from one subdir's parsed repodata."""
    if not isinstance(repodata, dict):
        raise ValueError("repodata is not a JSON object")
    found: dict[str, CondaBuilds] = {}
    pinned: list[tuple[str, str, str, Builds]] = []  # companion, its version, pytorch, builds
    for key in ("packages", "packages.conda"):
        for record in (repodata.get(key) or {}).values():
            name = record.get("name") if isinstance(record, dict) else None
            if name != "pytorch" and name not in COMPANIONS:
                continue
            parsed = valid(str(record["version"])) if "version" in record else None
            if parsed is None:
                continue
            version = parsed
            depends = [d for d in record.get("depends") or () if isinstance(d, str)]
            builds = _record_builds(str(record.get("build", "")), depends, subdir)
            if name == "pytorch":
                if since is None or version >= since:
                    found.setdefault(str(version), CondaBuilds()).add(builds)
                continue
            torch = torch_pin(depends)
            if torch is not None:
                pinned.append((str(name), str(version), torch, builds))
    for package, release, torch, builds in pinned:
        if torch in found:
            versions = found[torch].companions.setdefault(package, {})
            versions.setdefault(release, Builds()).add(builds)
    return found


def read_channel(
    client: Client, subdir_url: Callable[[str], str], *, since: Version | None
) -> dict[str, CondaBuilds]:
    """Merge every subdir's pytorch builds (a 404 subdir has none)."""

    def one(subdir: str) -> dict[str, CondaBuilds]:
        url = subdir_url(subdir)
        try:
            answer = client.get(url, accept="application/json", limit=REPODATA_LIMIT)
        except NotFound:
            return {}
        try:
            return collect(json.loads(answer.body), since, subdir)
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            raise UpdateError(
                f"{shown(url)} is not a conda repodata.json ({exc!s:.100})",
                fix="check that the channel URL (or its mirror) serves repodata.json; "
                "the catalog was not changed",
            ) from None

    merged: dict[str, CondaBuilds] = {}
    for part in run_all(client, one, SUBDIRS):
        for version, builds in part.items():
            merged.setdefault(version, CondaBuilds()).add(builds)
    return merged
