"""Atomic writes: a file is replaced by one rename, so a reader sees the old or the new one.

A leaf of the package (it imports only errors and leftovers): the cache, the renderer's
output, locks, markers and catalog updates all write through it, and none of them drags the
others in. ``stage`` writes a complete temporary beside the target; ``Staged.commit`` renames
it into place. ``output.apply`` stages every file of a render before it commits any.
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
import os
import tempfile
from pathlib import Path
from typing import NamedTuple

from .errors import OutputError


class Staged(NamedTuple):
    """A complete temporary copy of one file next to its target, waiting for its rename."""

    path: Path
    tmp: Path

    def commit(self) -> None:
        try:
            self.tmp.replace(self.path)
        except OSError as exc:
            self.discard()
            raise _write_error(self.path, exc) from None

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


_TMP_SUFFIX = ".tmp"


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}.envgen-"


def _write_error(path: Path, exc: OSError) -> OutputError:
    """One paragraph naming the path, for the ways a disk refuses a write."""
    import errno

    why = exc.strerror or str(exc)
    fixes = {
        errno.ENOSPC: "free some disk space and run again",
        errno.EDQUOT: "free some space (a disk quota is full) and run again",
        errno.EROFS: "the file system is read-only: choose another --output directory",
        errno.EACCES: "make the directory writable, or choose another --output directory",
        errno.EPERM: "make the directory writable, or choose another --output directory",
        errno.ENOTDIR: "a file is in the way of a directory: move it, or choose another --output",
        errno.EEXIST: "a file is in the way of a directory: move it, or choose another --output",
    }
    where = exc.filename if isinstance(exc.filename, str) else str(path)
    return OutputError(
        f"cannot write {path}: {why} ({where}). Nothing was changed",
        fix=fixes.get(exc.errno or 0, "check the path and the disk, then run again"),
    )


def stage(path: Path, content: str) -> Staged:
    """Write ``content`` to a temporary beside ``path``; an OSError becomes an OutputError."""
    from .leftovers import sweep, tag

    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep(path.parent, _tmp_prefix(path), _TMP_SUFFIX)  # what killed runs left
        _sweep_unnamed(path)
        fd, name = tempfile.mkstemp(
            prefix=tag(_tmp_prefix(path)), suffix=_TMP_SUFFIX, dir=path.parent
        )
        tmp = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(content)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        tmp.chmod(mode)
    except BaseException as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise
    return Staged(path, tmp)


def _sweep_unnamed(path: Path) -> None:
    """Temporaries of envgen before names carried a pid: ``.NAME.<8 mkstemp chars>.tmp``, once
    they are an hour old (no write takes that long); nothing else matches that exact shape."""
    import glob
    import re
    import time

    shape = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}" + re.escape(_TMP_SUFFIX))
    for entry in path.parent.glob(f".{glob.escape(path.name)}.*{_TMP_SUFFIX}"):
        try:
            if shape.fullmatch(entry.name) and time.time() - entry.lstat().st_mtime > 3600:
                entry.unlink()
        except OSError:
            continue


def write_atomic(path: Path, content: str) -> None:
    """Replace ``path`` with ``content`` in one rename: a reader sees the old or the new file."""
    stage(path, content).commit()
