"""The ``rattler`` backend: conda packages installed by py-rattler, embedded, no conda needed.

From a ``conda-lock.yml``: every locked package is looked up in its channel (names only, no
solve), must be the very file the lock names with the same hash, and is installed as is. Without
a lock: a solve of the profile's conda specs for this machine (its detected virtual packages),
the same solve ``envgen lock --engine rattler`` runs. The pip part follows with ``pip_part``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ..envmeta import env_python
from ..errors import EnvgenError, ToolError
from ..mirrors import channel_url, expand_credentials
from . import pip_part
from ._run import disk_full
from .base import CreatePlan
from .lockfile import LockedPlatform, read_lock

NAME = "rattler"


async def _records_from_lock(locked: LockedPlatform) -> list[Any]:
    """The channel's records of exactly the locked files, hashes checked against the lock."""
    import rattler

    # A mirror's ${TOKEN} placeholder is expanded for the download only (messages keep it).
    channels = list(dict.fromkeys(expand_credentials(p.channel_url) for p in locked.conda))
    names = sorted({p.name for p in locked.conda})
    result = await rattler.Gateway().query(
        [rattler.Channel(c) for c in channels],
        [rattler.Subdir(locked.platform), rattler.Subdir("noarch")],
        names,
        recursive=False,
    )
    by_url = {str(r.url): r for group in result for r in group}
    records = []
    for pkg in locked.conda:
        record = by_url.get(expand_credentials(pkg.url))
        if record is None:
            raise ToolError(
                f"{pkg.file_name} (locked) is not in its channel {pkg.channel_url}",
                file=locked.path.name,
                fix="re-lock with 'envgen lock', or check the channel mirror",
            )
        found = (
            record.sha256.hex() if record.sha256 else None,
            record.md5.hex() if record.md5 else None,
        )
        if (pkg.sha256 and pkg.sha256 != found[0]) or (pkg.md5 and pkg.md5 != found[1]):
            raise ToolError(
                f"{pkg.file_name} in {pkg.channel_url} differs from the locked file "
                "(its hash changed)",
                file=locked.path.name,
                fix="re-lock with 'envgen lock' if the channel was rebuilt; otherwise distrust "
                "that mirror",
            )
        records.append(record)
    return records


async def _records_from_solve(plan: CreatePlan) -> list[Any]:
    import rattler
    from rattler.exceptions import SolverError

    specs = [rattler.MatchSpec(s, strict=False) for s in plan.env.conda]
    try:
        return list(
            await rattler.solve(
                [rattler.Channel(expand_credentials(channel_url(c))) for c in plan.env.channels],
                specs,
                platforms=[rattler.Subdir(plan.platform), rattler.Subdir("noarch")],
                virtual_packages=rattler.VirtualPackage.detect(),
            )
        )
    except SolverError as exc:
        raise ToolError(
            f"no solution for {', '.join(plan.env.conda)} on this machine: {exc}",
            fix="lock the profile ('envgen lock') on a machine that can, or relax the pins",
        ) from None


async def _install(plan: CreatePlan, records: Sequence[Any]) -> None:
    import rattler

    await rattler.install(
        list(records),
        target_prefix=str(plan.prefix),
        platform=rattler.Subdir(plan.platform),
        show_progress=False,
        execute_link_scripts=False,  # a lock must not run arbitrary package scripts
    )


class RattlerBackend:
    name = NAME

    def unavailable(self) -> str | None:
        try:
            import rattler  # noqa: F401
        except ImportError:
            return "py-rattler is not installed (pip install py-rattler)"
        return None

    def create(self, plan: CreatePlan) -> str | None:
        locked = None
        if plan.conda_lock is not None:
            locked = read_lock(plan.conda_lock, plan.platform, plan.mirrors)
            plan.progress(f"reading {len(locked.conda)} locked conda packages from their channels")
            records = asyncio.run(_records_from_lock(locked))
        else:
            plan.progress(f"solving {', '.join(plan.env.conda)} with rattler (no lock)")
            records = asyncio.run(_records_from_solve(plan))
        plan.progress(f"installing {len(records)} conda packages with rattler")
        try:
            asyncio.run(_install(plan, records))
        except Exception as exc:  # noqa: BLE001 - rattler raises its own untyped errors
            full = disk_full([str(exc)])
            raise ToolError(
                "rattler could not install the packages"
                + (f" ({full})" if full else "")
                + f": {exc}",
                fix="free some disk space, then run again"
                if full
                else "check the channel (or mirror) is reachable and the cache is writable",
            ) from None
        plan.progress("conda packages installed")
        if locked is not None and locked.pip:
            pip_file = plan.work_dir / "pip-locked.txt"
            pip_file.write_text(locked.pip_requirements(), encoding="utf-8")
            return pip_part.install(plan, env_python(plan.prefix), pip_file, hashed=True)
        if locked is None and plan.pip_file is not None:
            if not env_python(plan.prefix).exists():
                raise EnvgenError("the conda packages brought no python for the pip part")
            return pip_part.install(
                plan, env_python(plan.prefix), plan.pip_file, hashed=plan.pip_hashed
            )
        return None


BACKEND = RattlerBackend()
