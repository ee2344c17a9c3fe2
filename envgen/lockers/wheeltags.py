"""What a lock's target platform accepts: its environment markers and its wheel tags.

One universal resolution serves every platform of a profile; these facts split it back into
per-platform locks. They are pinned (``envgen.targets``), not read from the machine that locks, so
that a lock made on a Mac and one made on a Linux CI runner are the same file. The macOS
deployment target is fixed: uv reads ``MACOSX_DEPLOYMENT_TARGET`` from the environment when it
solves for a Mac, so without a pinned value a developer's shell setting would change the lock.

The tag lists reproduce what uv 0.13 accepts for ``--python-platform`` (checked against uv itself
by tests/test_lock_targets.py on 240 wheel tags): manylinux from glibc 2.28 down, plus the
legacy ``manylinux1/2010/2014`` aliases and plain ``linux_<arch>``; macOS 13.0 down to 11.0,
plus ``universal2`` (and for Intel the older 10.x builds); ``win_amd64``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING

from ..targets import GLIBC, MACOS, PLATFORMS, SYSTEMS

if TYPE_CHECKING:
    from packaging.tags import Tag

# manylinux_2_x aliases from before PEP 600.
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def marker_environment(platform: str, python_minor: str) -> dict[str, str]:
    """PEP 508 marker values of CPython ``python_minor`` on ``platform`` (at its .0 release,
    as uv assumes for ``--python-version X.Y``)."""
    record = PLATFORMS[platform]
    system = SYSTEMS[record.os]
    return {
        "os_name": system.os_name,
        "sys_platform": system.sys_platform,
        "platform_system": system.system,
        "platform_machine": record.machine,
        "platform_release": "",
        "platform_version": "",
        "implementation_name": "cpython",
        "implementation_version": f"{python_minor}.0",
        "platform_python_implementation": "CPython",
        "python_version": python_minor,
        "python_full_version": f"{python_minor}.0",
        "extra": "",
    }


def _platform_tags(platform: str) -> Iterator[str]:
    from packaging.tags import mac_platforms

    record = PLATFORMS[platform]
    arch = record.wheel_arch
    if record.os == "linux":
        newest = int(GLIBC.split(".")[1])
        oldest = record.manylinux_from or newest
        for minor in range(newest, oldest - 1, -1):
            yield f"manylinux_2_{minor}_{arch}"
            if minor in _LEGACY_MANYLINUX:
                yield f"{_LEGACY_MANYLINUX[minor]}_{arch}"
        yield f"linux_{arch}"
    elif record.os == "macos":
        major, minor = (int(part) for part in MACOS.split("."))
        yield from mac_platforms((major, minor), arch)
    else:
        yield f"win_{arch}"


@cache
def supported_tags(platform: str, python_minor: str) -> frozenset[Tag]:
    """Every wheel tag CPython ``python_minor`` installs on ``platform``."""
    from packaging.tags import compatible_tags, cpython_tags

    version = tuple(int(part) for part in python_minor.split("."))
    interpreter = "cp" + python_minor.replace(".", "")
    platforms = list(_platform_tags(platform))
    tags = set(cpython_tags(version, [interpreter], platforms))
    tags.update(compatible_tags(version, interpreter, platforms))
    return frozenset(tags)


def fits(filename: str, platform: str, python_minor: str) -> bool:
    """Whether an artifact can be installed there: a wheel by its tags, an sdist always (it is
    built on the target)."""
    if not filename.endswith(".whl"):
        return True
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return False
    return not tags.isdisjoint(supported_tags(platform, python_minor))
