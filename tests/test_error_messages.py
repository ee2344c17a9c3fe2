"""The messages a newcomer meets first (issue 20): an index that cannot be reached, defaults
said where they are chosen, a mistyped profile name or pin, and Ctrl-C.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import isolate_installers
from tests.fixtures.pypi_index import PYPI_PUBLIC, PYTORCH_PUBLIC, LocalIndexes
from tests.helpers import Result, as_foreground_job, run_cli, snapshot, write_profile

TORCH = 'python: "3.11"\naccelerator: cpu\npytorch: {version: "2.4.1", packages: [torch]}\n'


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it), not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _mirrors(root: Path, pytorch: str, pypi: str | None = None) -> None:
    rows = f'"{PYTORCH_PUBLIC}" = "{pytorch}"\n' + (f'"{PYPI_PUBLIC}" = "{pypi}"\n' if pypi else "")
    with (root / "pyproject.toml").open("a") as fh:
        fh.write("\n[tool.envgen.mirrors]\n" + rows)


def _one_error_line(result: Result) -> str:
    errors = [line for line in result.err.splitlines() if not line.startswith(("lo:", "two:"))]
    assert len(errors) == 1, result.err
    return errors[0]


# -- an index that cannot be reached ---------------------------------------------------------


@pytest.mark.parametrize("platforms", ["[linux-64]", "[linux-64, win-64]"])
def test_a_refused_mirror_is_one_line_with_the_url_and_the_mirror_syntax(
    project_dir: Path,
    refused_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    platforms: str,
) -> None:
    isolate_installers(monkeypatch, project_dir.parent)
    mirror = f"http://127.0.0.1:{refused_port}/whl"
    _mirrors(project_dir, mirror)
    name = "lo" if platforms == "[linux-64]" else "two"
    write_profile(project_dir, name, TORCH + f"platforms: {platforms}\n")
    before = snapshot(project_dir)
    started = time.monotonic()
    result = run_cli(capsys, "lock", name, "--no-conda")
    seconds = time.monotonic() - started
    assert result.code == 2 and result.out == ""
    where = "linux-64" if name == "lo" else "linux-64, win-64"
    assert _one_error_line(result) == (
        f"error: cannot reach {mirror}/cpu/torch/ (connection refused), the mirror given for the "
        f"PyTorch index ({PYTORCH_PUBLIC}/cpu/torch/), so nothing was locked for {where}. Fix: "
        "check that the mirror is up and its URL is right; mirrors are given as --mirror "
        f"FROM=TO, e.g. --mirror {PYTORCH_PUBLIC}=https://mirror.example.com/whl (or "
        "[tool.envgen.mirrors] in pyproject.toml)."
    )
    # uv tried once: no retries of its own, no second round per platform
    assert "retries" not in result.err and "on its own" not in result.err
    said = [line for line in result.err.splitlines() if line.startswith(f"{name}:")]
    if name == "lo":  # one platform: no talk of a universal resolution
        assert said == ["lo: solving pip requirements for linux-64 (uv)"]
    else:
        assert said == [
            "two: solving pip requirements for linux-64, win-64 (uv, one universal resolution)"
        ]
    assert snapshot(project_dir) == before
    print(f"refused mirror, {platforms}: {seconds:.2f} s")  # for the report; not asserted


def test_an_unresolvable_pytorch_index_is_named_and_the_mirror_syntax_given(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    isolate_installers(monkeypatch, project_dir.parent)
    # the project's catalog overlay moves the PyTorch index itself (no mirror involved)
    (project_dir / "catalog.yaml").write_text("index_base: http://nonexistent.invalid/whl\n")
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.envgen]\ncatalog = "catalog.yaml"\n')
    write_profile(project_dir, "lo", TORCH + "platforms: [linux-64]\n")
    result = run_cli(capsys, "lock", "lo", "--no-conda")
    assert result.code == 2
    line = _one_error_line(result)
    assert line.startswith(
        "error: cannot reach the PyTorch index at http://nonexistent.invalid/whl/cpu/"
    )
    assert "(its host name does not resolve), so nothing was locked for linux-64." in line
    assert line.endswith(
        "Fix: if this network reaches it through a mirror, pass --mirror FROM=TO, e.g. --mirror "
        "http://nonexistent.invalid/whl=https://mirror.example.com/whl (or [tool.envgen.mirrors] "
        "in pyproject.toml); otherwise check the network."
    )
    assert "retries" not in result.err


class _FlakyHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the local indexes, but answers the first request for each page with a 503."""

    seen: set[str]

    def do_GET(self) -> None:
        if self.path not in self.seen:
            self.seen.add(self.path)
            self.send_error(503, "busy")
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("columns", [None, "40"], ids=["unset", "narrow-terminal"])
def test_a_failure_that_may_heal_is_retried(
    project_dir: Path,
    torch_indexes: LocalIndexes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    columns: str | None,
) -> None:
    isolate_installers(monkeypatch, project_dir.parent)
    # uv wraps its messages at $COLUMNS (which a shell, or readline in an xdist worker, may
    # export): the URL it failed to fetch then starts on the line after "Failed to fetch:".
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    handler = partial(
        type("Flaky", (_FlakyHandler,), {"seen": set()}), directory=str(torch_indexes.root)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        _mirrors(project_dir, f"http://127.0.0.1:{server.server_address[1]}/whl")
        write_profile(project_dir, "lo", TORCH + "platforms: [linux-64]\n")
        result = run_cli(capsys, "lock", "lo", "--no-conda")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert result.code == 0, result.err
    assert (project_dir / "envs" / "lo" / "requirements-linux-64.lock.txt").is_file()


# -- defaults said where they are chosen ---------------------------------------------------------


def test_cuda_without_a_version_says_which_build_and_the_driver_it_needs(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from envgen.drivers import driver_facts
    from envgen.project import Project

    write_profile(project_dir, "gpu", 'python: "3.11"\naccelerator: cuda\n')
    result = run_cli(capsys, "render", "gpu")
    assert result.code == 0
    env = Project.open().resolve("gpu").env
    drivers = driver_facts().min_driver
    newest = env.variant
    assert f"note: profile 'gpu': no 'cuda' is set, so torch {env.torch} comes in its newest " in (
        result.err
    )
    assert (
        f"CUDA build, {newest.name} (CUDA {newest.version}), which needs an NVIDIA driver >= "
        in (result.err)
    )
    assert drivers["linux"][newest.name] in result.err
    assert "'envgen doctor' shows this machine's driver." in result.err
    # naming the CUDA version silences it
    write_profile(
        project_dir, "gpu", f'python: "3.11"\naccelerator: cuda\ncuda: "{newest.version}"\n'
    )
    assert run_cli(capsys, "render", "gpu").err == ""


def test_an_old_python_says_it_gets_an_old_torch(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from envgen.catalog import load_catalog

    newest = [r for r in load_catalog().releases if r.verified][-1]

    def minor(text: str) -> tuple[int, ...]:
        return tuple(map(int, text.split(".")))

    every = {p for r in load_catalog().releases if r.verified for p in r.python}
    # the newest Python that the newest torch has no wheels for
    old_python = max((p for p in every if minor(p) < minor(newest.python[0])), key=minor)
    write_profile(project_dir, "old", f'python: "{old_python}"\naccelerator: cpu\n')
    result = run_cli(capsys, "show", "old")
    assert result.code == 0
    picked = next(line.split()[1] for line in result.out.splitlines() if line.startswith("torch "))
    assert result.err == (
        f"note: profile 'old': Python {old_python} gets torch {picked}, not the newest torch "
        f"{newest.torch}, which has wheels for Python {newest.python[0]} to "
        f'{newest.python[-1]}; set python: "{newest.python[0]}" or newer for it, or set '
        f'pytorch: "{picked}" to keep this one.\n'
    )
    write_profile(
        project_dir, "old", f'python: "{old_python}"\naccelerator: cpu\npytorch: "{picked}"\n'
    )
    assert run_cli(capsys, "show", "old").err == ""


def test_a_python_and_cuda_no_release_has_together_names_both(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "p", 'python: "3.14"\naccelerator: cuda\ncuda: "11.8"\n')
    result = run_cli(capsys, "render", "p")
    assert result.code == 2
    assert result.err.startswith(
        "error: profiles/p.yaml, line 3: key 'cuda': no torch release has CUDA 11.8 builds for "
        "Python 3.14: CUDA 11.8 builds exist for torch "
    )
    assert "with wheels for Python 3.8 to 3.13; Python 3.14 wheels start with torch" in result.err
    assert 'Fix: set python: "3.13" for CUDA 11.8, or cuda: "' in result.err
    assert '" for Python 3.14.' in result.err


# -- a mistyped name or pin ---------------------------------------------------------------------


def test_a_profile_name_in_the_wrong_case_gets_the_right_one(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "render", "GPU-CU118")
    assert result.code == 2
    assert "unknown profile 'GPU-CU118' (did you mean 'gpu-cu118'?)" in result.err
    assert "Fix: write 'gpu-cu118' (profile names are case-sensitive)." in result.err


def test_a_conda_style_pin_in_pip_gets_the_pip_spelling(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "p", 'extends: cpu\npip: ["numpy=1.26"]\n')
    result = run_cli(capsys, "render", "p")
    assert result.code == 2
    assert result.err == (
        "error: profiles/p.yaml, line 2: key 'pip[0]': 'numpy=1.26' is not a valid pip "
        "requirement: pip pins a version with '==' — did you mean 'numpy==1.26'? Fix: write "
        "'numpy==1.26'.\n"
    )


# -- Ctrl-C ---------------------------------------------------------------------------------------


class _Stall(http.server.BaseHTTPRequestHandler):
    """Holds every request until the test lets go: envgen is mid-lock when it is interrupted."""

    arrived: threading.Event
    release: threading.Event

    def do_GET(self) -> None:
        self.arrived.set()
        self.release.wait(30)
        self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_during_a_lock_exits_130_without_a_traceback(
    project_dir: Path, tmp_path: Path, presses: int
) -> None:
    arrived, release = threading.Event(), threading.Event()
    handler = type("Stall", (_Stall,), {"arrived": arrived, "release": release})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    _mirrors(project_dir, f"http://127.0.0.1:{server.server_address[1]}/whl")
    write_profile(project_dir, "lo", TORCH + "platforms: [linux-64]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env.update(UV_NO_CONFIG="1", UV_CACHE_DIR=str(tmp_path / "uv"), PYTHONUNBUFFERED="1")
    env.pop("ENVGEN_DEBUG", None)
    # its own session, like a terminal's foreground job: Ctrl-C reaches envgen and uv alike
    process = subprocess.Popen(
        as_foreground_job([sys.executable, "-m", "envgen", "lock", "lo", "--no-conda"]),
        cwd=project_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert arrived.wait(60), "uv never asked the index"
        for _ in range(presses):
            os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        release.set()
        if process.poll() is None:
            process.kill()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    # a second press may end the process by the signal itself, as a shell's Ctrl-C does
    assert process.returncode in ((130,) if presses == 1 else (130, -signal.SIGINT)), err
    if process.returncode == 130:
        assert err.rstrip().endswith("Interrupted."), err
