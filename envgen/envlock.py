"""An exclusive lock per environment prefix, so two creates of one environment never interleave.

An OS lock (``fcntl.flock`` / ``msvcrt.locking``) on a file next to the prefix: the kernel drops
it when its holder dies, however it dies, so a killed create never leaves a stale lock behind and
no pid-file guessing is needed. The holder's pid is written into the file only to name it.
The holder removes the file when it is done (a refused or finished create leaves nothing beside
the prefix); a waiter that then wins the lock on the removed file notices and takes a fresh one.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

from .errors import EnvgenError

POLL_SECONDS = 0.2


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(handle: IO[str]) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class PrefixLock:
    """``with PrefixLock(path, what, wait, progress):`` waits ``wait`` seconds, then refuses."""

    def __init__(self, path: Path, what: str, wait: float, progress: Callable[[str], None]) -> None:
        self.path = path
        self.what = what
        self.wait = wait
        self.progress = progress
        self._handle: IO[str] | None = None

    def __enter__(self) -> PrefixLock:
        deadline = time.monotonic() + self.wait
        told = False
        while True:
            handle = self._open()
            if _try_lock(handle):
                if self._still_ours(handle):
                    break
                _unlock(handle)  # its holder removed it on the way out: lock the new one
                handle.close()
                continue
            handle.close()
            holder = self._holder()
            if time.monotonic() >= deadline:
                raise EnvgenError(
                    f"another envgen create of {self.what} is running ({holder}) and still "
                    f"holds {self.path}" + (f" after {self.wait:.0f}s" if self.wait else ""),
                    fix="wait for it to finish, or give it longer with --wait SECONDS",
                    exit_code=3,
                )
            if not told:
                self.progress(f"waiting for another create of {self.what} ({holder})")
                told = True
            time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def _open(self) -> IO[str]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise EnvgenError(
                f"cannot create the lock file {self.path}: {exc.strerror or exc}",
                fix="make that directory writable (and check the disk is not full), or choose "
                "another --prefix",
            ) from None

    def _still_ours(self, handle: IO[str]) -> bool:
        """The locked file is still the one at ``path`` (not removed by the last holder)."""
        try:
            on_disk = self.path.stat()
        except FileNotFoundError:
            return False
        mine = os.fstat(handle.fileno())
        return (on_disk.st_ino, on_disk.st_dev) == (mine.st_ino, mine.st_dev)

    def _holder(self) -> str:
        from .readfile import read_text

        try:
            pid = (read_text(self.path, what="lock file", limit=64, replace=True) or "").strip()
        except EnvgenError:
            pid = ""
        return f"pid {pid}" if pid else "pid unknown"

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            if sys.platform != "win32":  # Windows cannot remove an open file
                self.path.unlink(missing_ok=True)
            _unlock(self._handle)
            self._handle.close()
            self._handle = None
