"""What a lock's target platform accepts: its environment markers and its wheel tags.

One universal resolution serves every platform of a profile; these facts split it back into
per-platform locks. They are pinned here, not read from the machine that locks, so that a lock
made on a Mac and one made on a Linux CI runner are the same file. In particular the macOS
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

if TYPE_CHECKING:
    from packaging.tags import Tag

# glibc assumed for Linux targets: the pip side asks for manylinux_2_28 wheels, and the conda
# side is told the same through the __glibc virtual package.
GLIBC = "2.28"
# uv's own default for its macOS targets; exported to uv as MACOSX_DEPLOYMENT_TARGET as well.
MACOS = "13.0"
UV_PLATFORMS = {
    "linux-64": f"x86_64-manylinux_{GLIBC.replace('.', '_')}",
    "linux-aarch64": f"aarch64-manylinux_{GLIBC.replace('.', '_')}",
    "osx-64": "x86_64-apple-darwin",
    "osx-arm64": "aarch64-apple-darwin",
    "win-64": "x86_64-pc-windows-msvc",
}
# (os_name, sys_platform, platform_system, platform_machine) as Python reports them there.
_SYSTEMS = {
    "linux-64": ("posix", "linux", "Linux", "x86_64"),
    "linux-aarch64": ("posix", "linux", "Linux", "aarch64"),
    "osx-64": ("posix", "darwin", "Darwin", "x86_64"),
    "osx-arm64": ("posix", "darwin", "Darwin", "arm64"),
    "win-64": ("nt", "win32", "Windows", "AMD64"),
}
# manylinux_2_x aliases from before PEP 600.
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def marker_environment(platform: str, python_minor: str) -> dict[str, str]:
    """PEP 508 marker values of CPython ``python_minor`` on ``platform`` (at its .0 release,
    as uv assumes for ``--python-version X.Y``)."""
    os_name, sys_platform, system, machine = _SYSTEMS[platform]
    return {
        "os_name": os_name,
        "sys_platform": sys_platform,
        "platform_system": system,
        "platform_machine": machine,
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

    if platform.startswith("linux-"):
        arch = _SYSTEMS[platform][3]
        newest = int(GLIBC.split(".")[1])
        oldest = 5 if arch == "x86_64" else 17  # aarch64 wheels start at manylinux2014
        for minor in range(newest, oldest - 1, -1):
            yield f"manylinux_2_{minor}_{arch}"
            if minor in _LEGACY_MANYLINUX:
                yield f"{_LEGACY_MANYLINUX[minor]}_{arch}"
        yield f"linux_{arch}"
    elif platform.startswith("osx-"):
        major, minor = (int(part) for part in MACOS.split("."))
        arch = "arm64" if platform == "osx-arm64" else "x86_64"
        yield from mac_platforms((major, minor), arch)
    else:
        yield "win_amd64"


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
