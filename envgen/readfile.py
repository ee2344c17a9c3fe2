"""Reading the files envgen is handed: only regular files, only up to a size bound.

Profiles, pyproject.toml, templates, catalog overlays, generated files, locks and markers may
all arrive in a pull request, and any of them can be swapped for a FIFO (a read that never
returns), ``/dev/zero`` (one that never ends), a directory, or a link leading out of the
project. Every such read goes through here, so each is refused the same way (an
``EnvgenError`` naming the file, exit 2) before a byte of it is parsed.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import EnvgenError

if TYPE_CHECKING:
    from collections.abc import Callable

SMALL = 1 << 20  # profiles, pyproject.toml, templates, overlays, markers: kilobytes in practice
LARGE = 64 << 20  # generated files and locks: a big conda-lock.yml is a few megabytes
# A FIFO must not block the open itself (it would wait for a writer); a terminal must not
# become the controlling one. Both flags are harmless on regular files.
_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"


def read_bytes(
    path: Path,
    *,
    shown: str | None = None,
    what: str = "file",
    limit: int = SMALL,
    missing_ok: bool = False,
    inside: Path | None = None,
    error: type[EnvgenError] = EnvgenError,
    fix: str | None = None,
    key: str | None = None,
) -> bytes | None:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes; else ``error``.

    ``missing_ok`` returns None for a file that does not exist (nor a parent of it).
    ``inside``: the file, with every symbolic link followed, must lie under that directory
    (the project), so that a committed link cannot make envgen read, and perhaps quote,
    a file elsewhere on the machine.
    """
    label = shown or str(path)

    def refuse(why: str, default_fix: str) -> EnvgenError:
        return error(f"cannot read the {what}: {why}", file=label, key=key, fix=fix or default_fix)

    try:
        before = path.stat()  # refused unopened: opening some devices has effects of its own
    except (FileNotFoundError, NotADirectoryError):
        if missing_ok:
            return None
        raise refuse("it does not exist", "create it, or correct the path") from None
    except OSError as exc:
        raise _os_error(exc, refuse) from None
    kind = _kind(before.st_mode)
    if kind is not None:
        raise refuse(f"it is {kind}, not a regular file", "replace it with a regular file")
    if inside is not None and not _within(path, inside):
        raise refuse(
            "it leads outside the project (through a symbolic link)",
            "replace the link with the file itself, inside the project",
        )
    try:
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        raise _os_error(exc, refuse) from None
    try:
        now = os.fstat(fd)
        kind = _kind(now.st_mode)  # swapped between the stat and the open
        if kind is not None:
            raise refuse(f"it is {kind}, not a regular file", "replace it with a regular file")
        too_big = refuse(
            f"it is larger than {_size(limit)}, far more than such a file ever holds",
            "replace it with the file envgen expects there",
        )
        if now.st_size > limit:
            raise too_big
        chunks = []
        left = limit + 1  # one byte more than allowed tells a file that grew while read
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise too_big
        return b"".join(chunks)
    except OSError as exc:
        raise _os_error(exc, refuse) from None
    finally:
        os.close(fd)


def read_text(
    path: Path,
    *,
    shown: str | None = None,
    what: str = "file",
    limit: int = SMALL,
    missing_ok: bool = False,
    inside: Path | None = None,
    error: type[EnvgenError] = EnvgenError,
    fix: str | None = None,
    key: str | None = None,
    replace: bool = False,
) -> str | None:
    """``read_bytes`` decoded as UTF-8; ``replace`` keeps undecodable bytes as U+FFFD instead
    of refusing the file."""
    raw = read_bytes(
        path,
        shown=shown,
        what=what,
        limit=limit,
        missing_ok=missing_ok,
        inside=inside,
        error=error,
        fix=fix,
        key=key,
    )
    if raw is None:
        return None
    try:
        return raw.decode("utf-8", errors="replace" if replace else "strict")
    except UnicodeDecodeError:
        raise error(
            f"cannot read the {what}: it is not UTF-8 text",
            file=shown or str(path),
            key=key,
            fix=fix or "save it as UTF-8",
        ) from None


def _within(path: Path, directory: Path) -> bool:
    real = Path(os.path.realpath(path))
    return real.is_relative_to(os.path.realpath(directory))


def _os_error(exc: OSError, refuse: Callable[[str, str], EnvgenError]) -> EnvgenError:
    if exc.errno == errno.ELOOP:
        return refuse("its path holds a loop of symbolic links", "replace the looping link")
    if exc.errno == errno.EISDIR:
        return refuse("it is a directory, not a regular file", "replace it with a regular file")
    return refuse(exc.strerror or str(exc), "make it a readable file (check its permissions)")
