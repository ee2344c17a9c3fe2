"""Writing generated files: classify what is on disk, refuse to lose edits, write all or none.

``render`` and ``check`` share ``classify`` so that "would render change this file?" has one
answer. Writes go through ``atomic``: every file is staged before any is renamed into place.
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, Literal, NamedTuple

from .digest import is_generated, read_seal
from .errors import OutputError
from .render import RenderedFile

# What is on disk, compared with what envgen would write now.
FileStatus = Literal["current", "missing", "stale", "edited", "foreign"]
CURRENT: Final = "current"  # identical
MISSING: Final = "missing"  # no file yet
STALE: Final = "stale"  # written by envgen from other inputs (or another envgen version)
EDITED: Final = "edited"  # written by envgen, then changed by hand
FOREIGN: Final = "foreign"  # not written by envgen at all


class FileState(NamedTuple):
    path: Path
    rendered: RenderedFile
    state: FileStatus
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
    state: FileStatus
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


def apply(states: Sequence[FileState]) -> list[FileState]:
    """Write every file that differs, all or nothing; return those written.

    Every new file is written in full beside its target first; only when all of them are on
    disk are they renamed into place. A directory that cannot be written, a full disk or an
    interrupt while staging leaves every target as it was.
    """
    changing = [state for state in states if state.state != CURRENT]
    if not changing:
        return changing
    from .atomic import Staged, stage  # only when a file is written (start-up time)

    staged: list[Staged] = []
    try:
        for state in changing:
            staged.append(stage(state.path, state.rendered.content))
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
