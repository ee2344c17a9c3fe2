"""The embedded conda lock engine: py-rattler solves every platform, conda-lock's models write.

It needs no conda installation, so it is the default wherever none is found. Platforms are
solved concurrently (rattler's solve is async and shares one repodata gateway); the target
machine is described by virtual packages, so a CPU laptop can lock for a CUDA box.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ToolError
from ..mirrors import channel_url, expand_credentials
from . import conda_lockfile
from .base import CondaLockRequest

NAME = "rattler"
_TOP_LINE = re.compile(r"^(?:[├└]─ )?(?P<name>[A-Za-z0-9_.-]+) ")
_MISSING = re.compile(r"No candidates were found for (?P<name>[A-Za-z0-9_.-]+)")
_NEEDS_CUDA = re.compile(r"__cuda (>=? ?[0-9][0-9.]*)")


@dataclass(frozen=True)
class _Channel:
    shown: str  # as written into the lock: name or URL, ${VAR} placeholders intact
    url: str  # what rattler fetches: full URL, placeholders expanded


def _channels(request: CondaLockRequest) -> list[_Channel]:
    # Mirror URLs may carry ${TOKEN} placeholders as their credentials (envgen refuses literal
    # secrets, and a '$' anywhere else): expand those for the solve only, so the committed lock
    # keeps the placeholder.
    return [_Channel(shown=c, url=expand_credentials(channel_url(c))) for c in request.channels]


def _virtual(platform: str, request: CondaLockRequest) -> list[Any]:
    from rattler import BuildString, GenericVirtualPackage, PackageName, Version

    packages = []
    wanted = conda_lockfile.virtual_packages(platform, request.virtual_packages.get(platform))
    for name, value in wanted.items():
        version, _, build = value.partition(" ")
        packages.append(
            GenericVirtualPackage(PackageName(name), Version(version), BuildString(build or "0"))
        )
    return packages


def _shown_url(url: str, channels: Sequence[_Channel]) -> str:
    for channel in channels:
        if url.startswith(channel.url + "/"):
            return channel_url(channel.shown) + url[len(channel.url) :]
    return url


def _locked(platform: str, records: Sequence[Any], channels: Sequence[_Channel]) -> list[Any]:
    from conda_lock.lockfile.v2prelim.models import HashModel, LockedDependency

    return [
        LockedDependency(
            name=record.name.normalized,
            version=str(record.version),
            manager="conda",
            platform=platform,
            dependencies=conda_lockfile.conda_dependencies(record.depends),
            url=_shown_url(record.url, channels),
            hash=HashModel(
                md5=record.md5.hex() if record.md5 else "",
                sha256=record.sha256.hex() if record.sha256 else None,
            ),
            categories={"main"},
        )
        for record in records
    ]


def _explain(platforms: Sequence[str], request: CondaLockRequest, detail: str) -> ToolError:
    """Name the platforms, the requested packages the solver blames, and the CUDA assumption."""
    requested = {re.split(r"[\s=<>!~]", spec, maxsplit=1)[0] for spec in request.env.conda}
    blamed = []
    for line in detail.splitlines():
        for match in (_TOP_LINE.match(line), _MISSING.search(line)):
            name = match.group("name") if match else None
            if name in requested and name not in blamed:
                blamed.append(name)
    what = ", ".join(blamed) if blamed else "the requested packages"
    where = ", ".join(platforms)
    message = f"cannot lock {where}: no solution for {what}"
    fix = f"check that {what} exist for {where} in {', '.join(request.channels)}, or relax pins"
    if "__cuda" in detail:
        cudas = {(request.virtual_packages.get(p) or {}).get("__cuda") for p in platforms}
        cuda = " / ".join(sorted(c for c in cudas if c))
        needed = _NEEDS_CUDA.search(detail)
        if not cuda:
            message += "; it needs a CUDA driver (virtual package __cuda) but this is a CPU target"
            fix = "set accelerator: cuda and 'cuda' in the profile, or use a CPU build"
        else:
            message += (
                f"; it needs __cuda {needed.group(1).replace(' ', '')}" if needed else ""
            ) + f", and the target's CUDA driver (virtual package __cuda) is {cuda}"
            fix = (
                "choose a 'cuda' version in the profile that this driver supports, or lock "
                "for a newer driver (the __cuda virtual package)"
            )
    return ToolError(f"{message}. The solver says:\n{detail}", fix=fix)


async def _solve_all(request: CondaLockRequest, specs: Sequence[Any]) -> dict[str, list[Any]]:
    import rattler
    from rattler.exceptions import (
        FetchRepoDataError,
        GatewayError,
        InvalidChannelError,
        SolverError,
    )

    channels = _channels(request)
    sources = [rattler.Channel(c.url) for c in channels]
    gateway = rattler.Gateway()

    async def one(platform: str) -> list[Any] | str:
        """The platform's records, or the solver's explanation of why there are none."""
        try:
            records = await rattler.solve(
                sources,
                specs,
                gateway=gateway,
                platforms=[rattler.Subdir(platform), rattler.Subdir("noarch")],
                virtual_packages=_virtual(platform, request),
            )
        except SolverError as error:
            return str(error).split("because of:", 1)[-1].strip()
        except (FetchRepoDataError, GatewayError, InvalidChannelError) as error:
            shown = ", ".join(c.shown for c in channels)
            raise ToolError(
                f"cannot read the conda channels ({shown}) for {platform}: {error}",
                fix="check the channel names or mirror URLs, and the network or proxy",
            ) from None
        return _locked(platform, records, channels)

    solved = await asyncio.gather(*map(one, request.platforms))
    results = dict(zip(request.platforms, solved, strict=True))
    failures: dict[str, list[str]] = {}
    for platform, result in results.items():
        if isinstance(result, str):
            failures.setdefault(result, []).append(platform)
    if failures:
        # Every failing platform at once, each distinct reason once: one fix-and-retry round.
        errors = [_explain(platforms, request, detail) for detail, platforms in failures.items()]
        if len(errors) == 1:
            raise errors[0]
        raise ToolError("\n".join(e.message.rstrip() for e in errors), fix=errors[0].fix)
    return {p: r for p, r in results.items() if not isinstance(r, str)}


def _match_specs(specs: Sequence[str]) -> list[Any]:
    """Parse every spec before solving starts, so a bad one is named, not a solver failure.

    Lenient parsing: profiles carry conda's own "name=version=build" form (pytorch=2.4.1=cuda*),
    which rattler's strict mode rejects.
    """
    import rattler
    from rattler.exceptions import InvalidMatchSpecError

    parsed = []
    for spec in specs:
        try:
            parsed.append(rattler.MatchSpec(spec, strict=False))
        except InvalidMatchSpecError as error:
            raise ToolError(
                f"'{spec}' is not a conda package spec: {error}",
                key="conda",
                fix="write it as NAME, NAME=VERSION or NAME=VERSION=BUILD",
            ) from None
    return parsed


class RattlerEngine:
    name = NAME

    def unavailable(self) -> str | None:
        try:
            import rattler  # noqa: F401
        except ImportError:
            return "py-rattler is not installed (pip install py-rattler)"
        return None

    def lock(self, request: CondaLockRequest) -> None:
        specs = _match_specs(request.env.conda)
        solved: Mapping[str, list[Any]] = asyncio.run(_solve_all(request, specs))
        packages = [pkg for platform in request.platforms for pkg in solved[platform]]
        conda_lockfile.write(request, packages, NAME)


ENGINE = RattlerEngine()
