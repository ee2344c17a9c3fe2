"""``run``: a command inside a profile's activated environment, as if it had been exec'd there.

The same activation as ``verify`` (``activation.py``). On POSIX the command replaces envgen
(exec), so stdin/stdout/stderr, signals and the exit status are the command's own; on Windows,
which has no exec, a child process stands in, with termination signals forwarded to it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from .activation import Activation, activate, find_env, require_finished
from .errors import EnvgenError
from .project import Project


def prepare(project: Project, name: str, prefix: Path | None = None) -> Activation:
    """Activate profile ``name``'s finished environment (the profile's variables applied)."""
    env = project.resolve(name).env
    where = find_env(project.config.root, name, prefix)
    require_finished(where, name)
    return activate(where, variables={k: str(v) for k, v in env.variables.items()})


def resolve_command(argv: Sequence[str], activation: Activation) -> list[str]:
    """``argv`` with its program looked up on the activated PATH, or a refusal (exit 127)."""
    if not argv:
        raise EnvgenError("no command given", fix="put it after '--': envgen run NAME -- CMD")
    found = shutil.which(argv[0], path=activation.environ.get("PATH"))
    if found is None:
        raise EnvgenError(
            f"'{argv[0]}' is not on the environment's PATH, nor an executable file",
            fix="install it into the environment, or give its full path",
            exit_code=127,
        )
    return [found, *argv[1:]]


def exec_in(activation: Activation, argv: Sequence[str]) -> NoReturn:
    """Replace this process with ``argv`` in the environment (POSIX); a child on Windows."""
    command = resolve_command(argv, activation)
    if sys.platform == "win32":
        sys.exit(run_in(activation, argv))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, dict(activation.environ))  # noqa: S606 - exec is the job


def run_in(activation: Activation, argv: Sequence[str]) -> int:
    """Run ``argv`` in the environment as a child and return its exit status (shell-style).

    A terminal's Ctrl-C reaches the child directly (same process group), so SIGINT is ignored
    here rather than sent twice; SIGTERM and SIGHUP are forwarded. A child killed by signal N
    returns 128 + N, as a shell reports it.
    """
    command = resolve_command(argv, activation)
    proc = subprocess.Popen(command, env=dict(activation.environ))

    def forward(signum: int, frame: FrameType | None) -> None:
        proc.send_signal(signum)

    names = ("SIGTERM", "SIGHUP", "SIGBREAK")
    forwarded = [getattr(signal, n) for n in names if hasattr(signal, n)]
    previous = {s: signal.signal(s, forward) for s in forwarded}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code
