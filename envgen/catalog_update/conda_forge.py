"""Which pytorch builds conda-forge carries, from a channel's repodata.json.

``source: conda`` profiles resolve against this: for each pytorch version, the CUDA versions of
its ``cuda*`` builds (build string ``cuda126_…``, else the ``cuda-version`` constraint) and
whether a ``cpu*`` build exists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from .fetch import NotFound, UpdateError, get, shown

SUBDIRS = ("linux-64",)
_BUILD_CUDA = re.compile(r"^cuda(\d{2,3})(?:_|py|$)")
_DEPENDS_CUDA = re.compile(r"^cuda-version\s*>=?\s*(\d+)\.(\d+)")


@dataclass
class CondaBuilds:
    cuda: set[str] = field(default_factory=set)
    cpu: bool = False


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


def collect(repodata: object, since: Version | None) -> dict[str, CondaBuilds]:
    """pytorch version -> its builds, from one subdir's parsed repodata."""
    if not isinstance(repodata, dict):
        raise ValueError("repodata is not a JSON object")
    found: dict[str, CondaBuilds] = {}
    for key in ("packages", "packages.conda"):
        for record in (repodata.get(key) or {}).values():
            if not isinstance(record, dict) or record.get("name") != "pytorch":
                continue
            try:
                version = Version(str(record["version"]))
            except (KeyError, InvalidVersion):
                continue
            if since is not None and version < since:
                continue
            build = str(record.get("build", ""))
            builds = found.setdefault(str(version), CondaBuilds())
            cuda = _cuda_of(build, record.get("depends") or ())
            if cuda:
                builds.cuda.add(cuda)
            elif build.startswith("cpu"):
                builds.cpu = True
    return found


def read_channel(
    subdir_url: Callable[[str], str],
    *,
    since: Version | None,
    timeout: float,
    retries: int,
) -> dict[str, CondaBuilds]:
    """Merge every subdir's pytorch builds (a 404 subdir has none)."""

    def one(subdir: str) -> dict[str, CondaBuilds]:
        url = subdir_url(subdir)
        try:
            answer = get(url, accept="application/json", timeout=timeout, retries=retries)
        except NotFound:
            return {}
        try:
            return collect(json.loads(answer.body), since)
        except (ValueError, TypeError, AttributeError) as exc:
            raise UpdateError(
                f"{shown(url)} is not a conda repodata.json ({exc})",
                fix="check that the channel URL (or its mirror) serves repodata.json; "
                "the catalog was not changed",
            ) from None

    merged: dict[str, CondaBuilds] = {}
    with ThreadPoolExecutor(max_workers=len(SUBDIRS)) as pool:
        for part in pool.map(one, SUBDIRS):
            for version, builds in part.items():
                into = merged.setdefault(version, CondaBuilds())
                into.cuda |= builds.cuda
                into.cpu = into.cpu or builds.cpu
    return merged
