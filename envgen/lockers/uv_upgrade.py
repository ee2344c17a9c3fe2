"""What ``envgen lock --upgrade`` has uv look up afresh, instead of every cached file."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..resolve import ResolvedEnv
from ..specs import canonical_name as canonical
from ..targets import triton_packages

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
_LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", re.MULTILINE)


def _name(requirement: str) -> str:
    found = _NAME.match(requirement.strip())
    return canonical(found.group(1)) if found else ""


def upgrade_refresh(env: ResolvedEnv, previous: Iterable[str]) -> tuple[str, ...]:
    """The packages ``lock --upgrade`` has uv look up afresh: the profile's own requirements and
    everything the ``previous`` locks (their texts) hold, except what no upgrade can move.

    uv keeps index pages for ten minutes (PyPI's max-age, and uv's guess for an index that
    sends none), so without a refresh a release published since could be missed. uv's own
    ``--upgrade`` (like ``--refresh``) revalidates every cached file, which on a mirror without
    PEP 658 metadata downloads the torch wheels again, gigabytes for a CUDA profile. Those never
    need it: the profile's torch packages are pinned to the catalog's release, and torch pins
    its triton and CUDA libraries (nvidia-*) to exact versions, so their pages cannot offer an
    upgrade; a package new to the solve has no stale page to refresh.
    """
    names = {_name(r) for r in env.pip_requirements}
    for text in previous:
        names.update(canonical(found) for found in _LOCKED.findall(text))
    fixed = {canonical(p) for p in (*env.packages, *triton_packages())}
    return tuple(sorted(n for n in names if n and n not in fixed and not n.startswith("nvidia-")))
