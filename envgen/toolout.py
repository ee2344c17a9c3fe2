"""Reading what a probed tool prints, with a bound on time and on size.

doctor and interpreter discovery run tools found on PATH (nvidia-smi, rocminfo, every
python3): a broken or hostile one may print without end. ``communicate`` would keep all of it;
this keeps at most ``READ_LIMIT`` bytes of each stream and gives up as soon as one passes it.
"""

from __future__ import annotations

import subprocess
import threading
import time
from typing import IO, Literal, NamedTuple

# The facts a probe wants fit in a few KB; a megabyte is far beyond any honest answer.
READ_LIMIT = 1 << 20


class Streams(NamedTuple):
    """What a tool printed, up to the bound, and how the reading ended: ``exit`` (both streams
    closed), ``timeout``, ``flood`` (one passed the limit) or ``no thread`` (no reader could
    be started). Output is kept up to the bound however it ended: a probe that hangs or floods
    after its first answers still gave those."""

    stdout: bytes
    stderr: bytes
    ended: Literal["exit", "timeout", "flood", "no thread"]


def read_bounded(proc: subprocess.Popen[bytes], timeout: float, limit: int) -> Streams:
    """``proc``'s two streams, read until both close, ``timeout`` seconds pass or either passes
    ``limit`` bytes (``communicate`` would keep all of it: a tool printing without end fills
    the memory). The caller kills ``proc`` unless the reading ended with ``exit``."""
    flooded = threading.Event()
    kept: list[list[bytes]] = [[], []]

    def drain(pipe: IO[bytes], into: list[bytes]) -> None:
        total = 0
        while not flooded.is_set():
            data = pipe.read1(1 << 16)  # type: ignore[attr-defined]
            if not data:
                return
            total += len(data)
            if total > limit:
                flooded.set()
                return
            into.append(data)

    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        threading.Thread(target=drain, args=(pipe, into), daemon=True)
        for pipe, into in zip((proc.stdout, proc.stderr), kept, strict=True)
    ]

    def streams(ended: Literal["exit", "timeout", "flood", "no thread"]) -> Streams:
        return Streams(b"".join(kept[0]), b"".join(kept[1]), ended)

    try:
        for reader in readers:
            reader.start()
    except RuntimeError:  # no thread to be had (a tight address-space limit): no answer
        flooded.set()  # lets a reader that did start stop at its next chunk
        return streams("no thread")
    deadline = time.monotonic() + timeout
    while any(reader.is_alive() for reader in readers):
        left = deadline - time.monotonic()
        if flooded.is_set() or left <= 0:
            break
        for reader in readers:
            reader.join(min(left, 0.05))
    if flooded.is_set():
        return streams("flood")
    if any(reader.is_alive() for reader in readers):
        return streams("timeout")
    return streams("exit")


def bounded_output(
    proc: subprocess.Popen[bytes], timeout: float, limit: int
) -> tuple[bytes, bytes] | str:
    """(stdout, stderr) of ``proc`` once both are closed; else how the reading ended
    ("timeout", "flood", "no thread"), for probes that want a whole answer or none. The caller
    kills ``proc`` unless it got the output."""
    got = read_bounded(proc, timeout, limit)
    return (got.stdout, got.stderr) if got.ended == "exit" else got.ended
