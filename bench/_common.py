"""What every benchmark shares: timing a command, its peak memory, a loopback HTTP server.

Benchmarks compare envgen with a baseline timed in the same run on the same machine, so a ratio
means something anywhere; absolute seconds only describe this machine at that moment.
"""

from __future__ import annotations

import http.server
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_mb: float  # peak RSS as wait4 reports it (inflated by a big parent: see peak_rss_mb)
    cpu_seconds: float  # user + system time: steadier than wall time on a shared machine


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """Serves like PyPI does: files cacheable for a year, index pages for ten minutes.

    Without these headers pip's HTTP cache keeps nothing, and a "warm" pip install would
    download everything again: a baseline slower than any real index gives it.
    """

    def end_headers(self) -> None:
        age = 31536000 if self.path.endswith((".whl", ".tar.gz", ".metadata")) else 600
        self.send_header("Cache-Control", f"max-age={age}, public")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(root: Path) -> tuple[str, http.server.ThreadingHTTPServer]:
    """Serve ``root`` on 127.0.0.1 from a daemon thread; (base URL, server)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def run(cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> Run:
    """Run ``cmd`` to completion (exit on failure, with its output); wall time and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd[:8]))} failed:\n{out.decode(errors='replace')[-3000:]}")
    return Run(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def peak_rss_mb(cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> float:
    """Peak RSS of ``cmd`` alone, through a small Python parent: a child forked from this big
    process would report this process's size as its own peak."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *cmd],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.split()[-1]) / 1024


def envgen_command() -> list[str]:
    """``envgen`` as users run it: the console script next to our interpreter, else -m."""
    script = Path(sys.executable).parent / "envgen"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "envgen"]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def isolated(cache: Path) -> dict[str, str]:
    """Our environment without pip/uv settings (the machine's pip.conf adds indexes), caches in
    ``cache``: what every installer in a benchmark runs under, baseline and envgen alike.

    PYTHONDONTWRITEBYTECODE is dropped too: with it an editable envgen recompiles every module
    on every start (the installed dependencies were compiled by pip), which is not what a user
    of an installed envgen pays; Python writes bytecode by default."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_NO_CONFIG="1",
        UV_CACHE_DIR=str(cache / "uv"),
        PIP_CACHE_DIR=str(cache / "pip"),
        XDG_CACHE_HOME=str(cache / "xdg"),
    )
    return env


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 3) if baseline else float("nan")


def python_for(minor: str) -> Path:
    """A Python ``minor`` found the way envgen finds one (PATH, pyenv, uv, …); the bench's own
    interpreter when none is (the ratios then compare like with like all the same)."""
    from envgen.interpreters import discover

    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    if own == minor:  # the base interpreter: a venv's python would nest venvs
        return Path(getattr(sys, "_base_executable", sys.executable))
    found = [i for i in discover() if i.minor == minor and not i.is_venv]
    return found[0].path if found else Path(sys.executable)


def ratio_rows(seconds: Mapping[str, Sequence[float]], baseline: str) -> list[dict[str, Any]]:
    """One row per case: median seconds, every run, and the ratio to the baseline's median."""
    base = median(seconds[baseline])
    return [
        {
            "case": label,
            "seconds": round(median(values), 3),
            "runs": [round(v, 3) for v in values],
            "ratio": ratio(median(values), base),
        }
        for label, values in seconds.items()
    ]
