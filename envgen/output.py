"""Writing generated files safely: classify what is on disk, refuse to lose edits, write atomically.

``render`` and ``check`` share ``classify`` so that "would render change this file?" has one
answer. Writes go through a temporary file and a rename, so a reader never sees half a file.
"""

# No `from __future__ import annotations`: NamedTuple makes each string annotation a
# ForwardRef, compiling it, at start-up; real annotations cost ~2 ms less (issue 12).
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from .digest import is_generated, read_seal
from .errors import OutputError
from .render import RenderedFile

# What is on disk, compared with what envgen would write now.
CURRENT = "current"  # identical
MISSING = "missing"  # no file yet
STALE = "stale"  # written by envgen from other inputs (or another envgen version)
EDITED = "edited"  # written by envgen, then changed by hand
FOREIGN = "foreign"  # not written by envgen at all


# NamedTuples, not dataclasses: building a dataclass costs start-up time (issue 12).


class FileState(NamedTuple):
    path: Path
    rendered: RenderedFile
    state: str
    existing: str | None

    def diff(self, label: str | None = None) -> str:
        """Unified diff from what is on disk to what envgen would write."""
        name = label or str(self.path)
        old = (self.existing or "").splitlines(keepends=True)
        new = self.rendered.content.splitlines(keepends=True)
        import difflib  # only on the diff path: keeps start-up fast

        return "".join(
            difflib.unified_diff(
                old, new, fromfile=f"{name} (on disk)", tofile=f"{name} (expected)"
            )
        )

    @property
    def describe(self) -> str:
        return {
            CURRENT: "up to date",
            MISSING: "missing",
            STALE: "stale: its inputs changed since it was rendered",
            EDITED: "edited by hand since envgen wrote it",
            FOREIGN: "not written by envgen",
        }[self.state]


def classify(path: Path, rendered: RenderedFile) -> FileState:
    from .readfile import LARGE, read_text

    existing = read_text(
        path,
        what="generated file",
        limit=LARGE,
        missing_ok=True,  # also under a file: writing it says so
        inside=path.parent,  # a link to a file elsewhere is never read (nor shown in a diff)
        error=OutputError,
        fix="make it a regular file (or move what is there), then run again",
        replace=True,
    )
    if existing is None:
        return FileState(path, rendered, MISSING, None)
    # git's autocrlf checks files out with CRLF on Windows: the same content, not a hand edit.
    existing = existing.replace("\r\n", "\n")
    if existing == rendered.content:
        state = CURRENT
    elif not is_generated(existing):
        state = FOREIGN
    else:
        _, intact = read_seal(existing)
        state = STALE if intact else EDITED
    return FileState(path, rendered, state, existing)


def plan(files: Iterable[tuple[Path, RenderedFile]]) -> list[FileState]:
    return [classify(path, rendered) for path, rendered in files]


def refuse_lost_work(states: Sequence[FileState], shown: dict[Path, str]) -> None:
    """Raise before anything is written if any target holds work envgen did not produce."""
    blocked = [s for s in states if s.state in (EDITED, FOREIGN)]
    if not blocked:
        return
    listing = "; ".join(f"{shown.get(s.path, s.path)} is {s.describe}" for s in blocked)
    raise OutputError(
        f"refusing to overwrite: {listing}. Nothing was written",
        fix="move your changes into the profile (or a project template), then run again with "
        "--force to overwrite",
    )


class _Staged(NamedTuple):
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


def _stage(path: Path, content: str) -> _Staged:
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
    return _Staged(path, tmp)


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
    _stage(path, content).commit()


def apply(states: Sequence[FileState]) -> list[FileState]:
    """Write every file that differs, all or nothing; return those written.

    Every new file is written in full beside its target first; only when all of them are on
    disk are they renamed into place. A directory that cannot be written, a full disk or an
    interrupt while staging leaves every target as it was.
    """
    changing = [state for state in states if state.state != CURRENT]
    staged: list[_Staged] = []
    try:
        for state in changing:
            staged.append(_stage(state.path, state.rendered.content))
    except BaseException:
        for item in staged:
            item.discard()
        raise
    for index, item in enumerate(staged):
        try:
            item.commit()
        except BaseException:
            for rest in staged[index + 1 :]:
                rest.discard()
            raise
    return changing
