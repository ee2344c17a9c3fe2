"""Running the tools a backend drives: output streamed as progress, kept for the error message.

A create can take minutes (torch alone is hundreds of MB), so every installer line reaches the
user as it happens; when the tool fails, its last lines go into the ``ToolError`` itself, so a
CI log shows why without a re-run. An interrupt stops the child before it is re-raised.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..errors import ToolError
from .base import Progress

TAIL_LINES = 25


def run_tool(
    argv: Sequence[str],
    *,
    environ: Mapping[str, str],
    progress: Progress,
    what: str,
    fix: str,
) -> None:
    """Run ``argv``; each output line goes to ``progress``; failure raises ToolError."""
    progress(f"{what}: {_shown(argv)}")
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    try:
        proc = subprocess.Popen(
            list(argv),
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    except OSError as exc:
        raise ToolError(f"cannot run {argv[0]}: {exc}", fix=fix) from None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            if line:
                tail.append(line)
                progress("    " + line)
        code = proc.wait()
    except BaseException:
        # Ctrl-C or a timeout in the caller: never leave an installer writing into the prefix.
        proc.kill()
        proc.wait()
        raise
    if code != 0:
        detail = "\n".join(tail)
        full = disk_full(tail)
        if full is not None:  # the tool's own advice (python3-venv, the index) would mislead
            message = f"{what} failed: {full} (exit status {code}). Its last lines:\n{detail}"
            raise ToolError(message, fix="free some disk space, then run again")
        raise ToolError(f"{what} failed (exit status {code}). Its last lines:\n{detail}", fix=fix)
    progress(f"{what}: done in {time.monotonic() - started:.1f}s")


# How pip, uv, venv, conda and the OS say that a write found no room (ENOSPC, EDQUOT).
_DISK_FULL = {
    "No space left on device": "the disk is full",
    "os error 28": "the disk is full",
    "[Errno 28]": "the disk is full",
    "Disk quota exceeded": "the disk quota is full",
    "os error 122": "the disk quota is full",
    "[Errno 122]": "the disk quota is full",
}


def disk_full(lines: Iterable[str]) -> str | None:
    """'the disk is full' (or its quota) when a tool's output says so, else None."""
    for line in lines:
        for words, meaning in _DISK_FULL.items():
            if words in line:
                return meaning
    return None


def no_room(directory: Path, probe: int = 1 << 18) -> str | None:
    """'the disk is full' when ``probe`` bytes cannot be written in ``directory``, else None.

    Some tools lose the reason on the way (``python -m venv`` reports only that ensurepip
    failed), so a failed build asks the disk itself, before its remains are removed.
    """
    import errno
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=directory) as fh:
            fh.write(b"\0" * probe)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            return "the disk is full"
        if exc.errno == errno.EDQUOT:
            return "the disk quota is full"
    return None


def _die_with_parent() -> None:
    """Linux: the installer is killed when envgen is (even by SIGKILL), so an interrupted create
    never has an orphan still writing into a prefix the next create is cleaning up."""
    import ctypes

    pr_set_pdeathsig, sigkill = 1, 9
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, sigkill)


def _shown(argv: Sequence[str]) -> str:
    return " ".join(a if a and " " not in a else repr(a) for a in argv)
