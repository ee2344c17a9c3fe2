"""Where doctor's probes get the outside world from, bounded in time and never raising.

Tools are looked up on ``PATH`` in ``environ`` and files under ``root`` (standing in for ``/``), so
tests put fake ``nvidia-smi``/``rocminfo`` first on PATH and fake ``/proc`` files under a temporary
root; no GPU is needed to test any of doctor.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from ..toolout import READ_LIMIT, bounded_output

DEFAULT_TIMEOUT = 5.0
ROOT = Path("/")  # the real machine; tests point it at a directory of fake /proc files
# After a kill, how long to wait for the process to go away. A tool stuck in the kernel (a hung
# GPU driver puts nvidia-smi in uninterruptible sleep) cannot be reaped at all: we leave it behind.
_REAP_SECONDS = 1.0


@dataclass(frozen=True)
class Unknown:
    """A fact that could not be learned, and why (shown to the user as 'unknown (why)')."""

    reason: str


@dataclass
class Context:
    """The injectable outside world of one doctor run; commands it runs are run once and shared."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    root: Path = field(default_factory=lambda: ROOT)
    timeout: float = DEFAULT_TIMEOUT
    _runs: dict[tuple[str, ...], Future[str | Unknown]] = field(
        default_factory=dict, init=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.environ.get("PATH", ""))

    def read(self, path: str) -> str | Unknown:
        """A text file under ``root``, or why it cannot be read."""
        from ..errors import EnvgenError
        from ..readfile import read_text

        target = self.root / path.lstrip("/")
        try:
            return read_text(target, shown=path, limit=READ_LIMIT, replace=True) or ""
        except EnvgenError as exc:
            return Unknown(exc.message)

    def glob(self, pattern: str) -> list[str]:
        """Absolute-looking paths (as under ``/``) matching ``pattern`` under ``root``."""
        try:
            found = sorted(self.root.glob(pattern.lstrip("/")))
        except OSError:
            return []
        return ["/" + p.relative_to(self.root).as_posix() for p in found]

    def run(self, args: list[str]) -> str | Unknown:
        """stdout of a tool, or why there is none (missing, failed, hung).

        Two probes asking the same thing (``pip --version`` for the tool list and for the PATH
        check) share one run: the second waits for the first instead of starting another.
        """
        key = tuple(args)
        with self._lock:
            pending = self._runs.get(key)
            owner = pending is None
            if pending is None:
                pending = self._runs[key] = Future()
        if owner:
            try:
                found = self._spawn(args)
            except Exception as exc:  # noqa: BLE001 - a waiter must never wait forever
                found = Unknown(f"{args[0]} could not be run ({type(exc).__name__})")
            pending.set_result(found)
        return pending.result()

    def _spawn(self, args: list[str]) -> str | Unknown:
        exe = self.which(args[0])
        if exe is None:
            return Unknown(f"{args[0]} not found on PATH")
        try:
            proc = subprocess.Popen(
                [exe, *args[1:]],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(self.environ),
                # Its own process group, so a timeout kills the tool's children too (a wrapper
                # script's `sleep`, a shim's real binary) instead of leaving them holding the pipe.
                start_new_session=os.name == "posix",
            )
        except OSError as exc:
            return Unknown(f"{args[0]} could not run ({exc.strerror or exc})")
        output = bounded_output(proc, self.timeout, READ_LIMIT)
        if isinstance(output, str):
            _kill(proc)
            if output == "flood":
                return Unknown(f"{args[0]} wrote more than {READ_LIMIT >> 20} MiB of output")
            if output == "no thread":
                return Unknown(f"{args[0]} could not be read (no thread to read it with)")
            return Unknown(f"{args[0]} did not answer within {self.timeout:g} s")
        try:
            proc.wait(timeout=_REAP_SECONDS)  # its pipes are closed: it is ending
        except subprocess.TimeoutExpired:
            _kill(proc)
            return Unknown(f"{args[0]} did not exit after closing its output")
        out, err = (data.decode("utf-8", errors="replace") for data in output)
        if proc.returncode != 0:
            message = [line.strip() for line in (out + "\n" + err).splitlines() if line.strip()]
            return Unknown(
                f"{args[0]} failed (exit {proc.returncode})"
                + (f": {message[0][:200]}" if message else "")
            )
        return out


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except OSError:
        pass  # already gone
    # Unkillable (uninterruptible sleep in a driver): abandon it rather than hang doctor.
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=_REAP_SECONDS)
