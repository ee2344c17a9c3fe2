"""Building an environment at its final path, under its lock: what a failed or killed create
leaves is recovered, never trusted.

Where the environment is built, and why there: **at its final path**, not in a staging directory
renamed afterwards. Every backend writes absolute paths into what it installs: a venv's
``pyvenv.cfg``, activation scripts and console-script shebangs; conda's prefix replacement in
text and binary files; pip/uv shebangs in a conda prefix. A renamed prefix would start but break
in those places. So "unfinished" is recorded instead of hidden:

* the finished marker (``envmeta``) is written last, so an environment without it is unfinished
  and ``verify``/``run`` refuse it;
* a ``.NAME.envgen-building`` file next to the prefix exists for the whole build; a create that
  finds one (while holding the lock, so its writer is dead) removes the remains and starts over;
* a failure or interrupt (Ctrl-C, SIGTERM) removes the partial prefix before re-raising, and
  ``--force`` moves the old environment aside first and puts it back if the rebuild fails;
* an OS lock next to the prefix (``envlock``) makes a second create of the same environment wait
  (``wait`` seconds) and then refuse, naming the holder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Literal

from .backends import backend
from .backends._run import no_room
from .backends.base import CreatePlan, Progress
from .envmeta import MARKER, EnvMarker, env_python, read_marker, write_marker
from .errors import EnvgenError, ToolError
from .interpreters import Interpreter, probe
from .leftovers import sweep, tag
from .prefix_rules import check_replaceable
from .readfile import LARGE, read_text


def aside(final: Path, suffix: str) -> Path:
    return final.with_name(f".{final.name}.envgen-{suffix}")


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def recover(final: Path, progress: Progress) -> None:
    """Undo what an interrupted create left (its building note says what it moved aside).

    The note is written before the old environment is moved aside and removed only after the
    old one is out of the way, so: a recorded backup that exists means ``final`` is partial (put
    the backup back); a recorded backup that is gone means ``final`` is whole (the move had not
    happened yet, or the new build had finished); no backup means ``final`` is partial.
    """
    sweep(final.parent, f".{final.name}.envgen-trash-")  # old environments being deleted
    note = aside(final, "building")
    if not note.exists():
        return
    try:
        text = read_text(note, what="building note", missing_ok=True)
        backup = json.loads(text or "{}").get("backup")
    except (EnvgenError, ValueError, AttributeError, RecursionError):
        backup = None
    if backup and not Path(backup).exists():
        note.unlink()
        return
    progress(f"removing the remains of an interrupted create at {final}")
    _remove(final)
    if backup:
        Path(backup).replace(final)  # the finished environment it was replacing, intact
    note.unlink()


def _discard(old: Path) -> None:
    """Delete a replaced environment: renamed first, so a kill mid-delete leaves only trash."""
    trash = old.with_name(tag(f".{old.name.split('.envgen-')[0].lstrip('.')}.envgen-trash-"))
    old.replace(trash)
    _remove(trash)


def _python_inside(prefix: Path, chosen: str, interpreter: Interpreter | None) -> str:
    """The Python version the new environment holds, asked of its interpreter.

    A venv runs the interpreter it was made from, already asked (and the installer has run
    the venv's python since): that answer stands, without starting Python once more. A conda
    prefix whose python cannot run here (another platform's build, a test channel's stand-in)
    still records the version of its conda-meta python record.
    """
    if chosen == "venv" and interpreter is not None and env_python(prefix).exists():
        return interpreter.version
    found = probe(env_python(prefix), "env") if env_python(prefix).exists() else None
    if found is not None:
        return found.version
    if chosen != "venv":
        for record in sorted((prefix / "conda-meta").glob("python-[0-9]*.json")):
            text = read_text(record, what="conda-meta record", limit=LARGE) or "{}"
            return str(json.loads(text)["version"])
    raise ToolError(
        f"the {chosen} backend finished but {env_python(prefix)} does not run",
        fix="check the profile's python and the channel; the environment was removed",
    )


def existing_marker(final: Path, force: bool, progress: Progress) -> tuple[EnvMarker | None, bool]:
    """(the marker at ``final``, whether there is a marker file at all).

    A broken marker still says envgen built the environment: ``--force`` may replace it, and
    without ``--force`` the error says so, so the user is never stuck with it.
    """
    if not os.path.lexists(final / MARKER):  # a FIFO or a directory there is a broken marker
        return None, False
    try:
        return read_marker(final), True
    except EnvgenError:
        if not force:
            raise
        progress(f"{final / MARKER} is unreadable: --force replaces the environment")
        return None, True


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI cancel, ``kill``) unwinds like Ctrl-C, so the cleanup below still runs."""
    if threading.current_thread() is not threading.main_thread() or sys.platform == "win32":
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def build(
    final: Path, plan: CreatePlan, force: bool, marker: EnvMarker
) -> tuple[Literal["created", "rebuilt"], str | None]:
    """Build at ``final``, marker last; (created | rebuilt, pip installer). Cleans up on failure."""
    progress = plan.progress
    _, marked = existing_marker(final, force, progress)
    backup: Path | None = None
    check_replaceable(final, force=force, has_marker=marked)
    if final.exists() and not (marked or any(final.iterdir())):
        final.rmdir()
    if final.exists():
        backup = aside(final, "old")
        if backup.exists():
            _discard(backup)
    note = aside(final, "building")
    try:
        note.write_text(
            json.dumps({"pid": os.getpid(), "backup": str(backup) if backup else None}) + "\n",
            encoding="utf-8",
        )
    except OSError as exc:
        raise EnvgenError(
            f"cannot write {note}: {exc.strerror or exc}",
            fix="make the prefix's directory writable and check the disk is not full",
        ) from None
    if backup is not None:
        final.replace(backup)  # after the note: a kill from here on is undone by _recover
    try:
        with _sigterm_as_interrupt():
            tool = backend(marker.backend).create(plan)
            marker = replace(marker, python=_python_inside(final, marker.backend, plan.interpreter))
            write_marker(final, marker)  # last: from here on the environment is finished
    except BaseException as exc:
        # Asked before the remains go (they are what filled it): a tool may have lost the reason.
        full = no_room(final.parent) if isinstance(exc, EnvgenError) else None
        progress(f"create failed: removing the partial environment at {final}")
        _remove(final)
        if backup is not None:
            backup.replace(final)
            progress(f"the previous environment is back at {final}")
        note.unlink(missing_ok=True)
        if full is not None and isinstance(exc, EnvgenError) and full not in exc.message:
            raise ToolError(
                f"{full} at {final.parent}: {exc.message}",
                fix="free some disk space, then run again (the partial environment was removed)",
            ) from None
        raise
    if backup is not None:
        _discard(backup)  # before the note goes: _recover then sees "backup gone, final whole"
    note.unlink()
    return ("rebuilt" if backup is not None else "created"), tool
