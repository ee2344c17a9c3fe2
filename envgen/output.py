"""Writing generated files safely: classify what is on disk, refuse to lose edits, write atomically.

``render`` and ``check`` share ``classify`` so that "would render change this file?" has one
answer. Writes go through a temporary file and a rename, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .digest import is_generated, read_seal
from .errors import OutputError
from .render import RenderedFile

# What is on disk, compared with what envgen would write now.
CURRENT = "current"  # identical
MISSING = "missing"  # no file yet
STALE = "stale"  # written by envgen from other inputs (or another envgen version)
EDITED = "edited"  # written by envgen, then changed by hand
FOREIGN = "foreign"  # not written by envgen at all


@dataclass(frozen=True)
class FileState:
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
    try:
        existing = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
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


def write_atomic(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(content)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def apply(states: Sequence[FileState]) -> list[FileState]:
    """Write every file that differs; return those written."""
    written = []
    for state in states:
        if state.state != CURRENT:
            write_atomic(state.path, state.rendered.content)
            written.append(state)
    return written
