"""Temporary files and folders that name the process that made them, so a later run can sweep
what a killed one (SIGKILL, power loss) left behind, and nothing else.

Names carry ``-<pid>-``; a sweep removes only entries with envgen's own prefix whose process is
gone, so a concurrent run's work and anything envgen did not make are never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_PID = re.compile(r"(\d+)-")
# A temporary of an older envgen (no pid in its name) is swept once it is this old.
_UNNAMED_AGE = 3600.0


def tag(prefix: str) -> str:
    """``prefix`` with this process's id: what a sweep reads back."""
    return f"{prefix}{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # no cheap, safe probe: keep it (a later sweep may take it)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user's process
        return True
    return True


def sweep(directory: Path, prefix: str, suffix: str = "") -> list[Path]:
    """Remove ``prefix<pid>-…suffix`` entries of ``directory`` whose process is gone."""
    removed: list[Path] = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not name.startswith(prefix) or not name.endswith(suffix):
            continue
        match = _PID.match(name, len(prefix))
        try:
            if match is not None:
                if pid_alive(int(match.group(1))):
                    continue
            elif now - entry.lstat().st_mtime < _UNNAMED_AGE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue  # another sweeper got there first, or it is not ours to remove
        removed.append(entry)
    return removed


@contextmanager
def temporary_directory(prefix: str) -> Iterator[Path]:
    """A ``tempfile.TemporaryDirectory`` named with our pid; sweeps dead runs' first."""
    sweep(Path(tempfile.gettempdir()), prefix)
    with tempfile.TemporaryDirectory(prefix=tag(prefix)) as tmp:
        yield Path(tmp)
