"""``envgen create`` for real with small wheels: interpreters, uv and pip, locks, interruptions.

Every install goes to the loopback index of ``tests/fixtures/pypi_index.py`` through the
project's mirrors. The tool environment deliberately keeps this machine's pip settings (its
pip.conf adds local indexes and find-links, ``PIP_FIND_LINKS`` is set): envgen must ignore them
by itself, which the filelock version proves (the machine's index has a newer one).
"""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from envgen.activation import require_finished
from envgen.envmeta import read_marker
from envgen.errors import EnvgenError, ToolError
from envgen.prefix_build import aside
from envgen.project import Project
from tests.fixtures.envs import OWN_MINOR, find_python, second_minor
from tests.fixtures.pypi_index import LocalIndexes, build_wheel
from tests.helpers import create_named, lock_named, write_profile

pytestmark = pytest.mark.e2e
PROFILE = """
python: "{python}"
pytorch: {{version: "2.4.1", packages: [torch]}}
platforms: [linux-64]
pip: [tqdm]
"""
IMPORT = "import sys, torch, filelock, tqdm; print(sys.version.split()[0], torch.__version__, "
IMPORT += "torch.BUILD, filelock.__version__, tqdm.__version__, sys.prefix)"


def tool_environ(tmp: Path) -> dict[str, str]:
    """Our own environment (pip config included, on purpose) with private caches."""
    return {**os.environ, "UV_CACHE_DIR": str(tmp / "uv-cache"), "PIP_CACHE_DIR": str(tmp / "pip")}


def project_with(project_dir: Path, indexes_url: str, python: str, name: str = "p") -> Project:
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + LocalIndexes(Path("."), indexes_url).mirror_toml())
    write_profile(project_dir, name, PROFILE.format(python=python))
    return Project.open()


def inside(prefix: Path) -> list[str]:
    out = subprocess.run(
        [str(prefix / "bin" / "python"), "-c", IMPORT], capture_output=True, text=True, check=True
    )
    return out.stdout.split()


@pytest.mark.parametrize(
    "which", ["own", pytest.param("second", marks=pytest.mark.variant("second Python"))]
)
def test_the_profile_python_is_found_and_used(
    which: str,
    project_dir: Path,
    torch_indexes: LocalIndexes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """envgen finds the profile's Python by itself: the tests' own minor everywhere, another
    minor where the machine has one (or uv can provide it)."""
    minor = OWN_MINOR if which == "own" else second_minor(("3.12", "3.10", "3.9"))
    # On PATH, as a user's Python would be, among whatever else this machine has there.
    monkeypatch.setenv("PATH", f"{find_python(minor).parent}{os.pathsep}{os.environ['PATH']}")
    project = project_with(project_dir, torch_indexes.base_url, minor)
    result = create_named(project, "p", installer="uv", environ=tool_environ(tmp_path))
    version, torch, build, filelock, tqdm, prefix = inside(result.prefix)
    assert version.startswith(minor + ".") and result.python == version
    assert (torch, build) == ("2.4.1+cpu", "whl/cpu")
    assert tqdm == "4.66.5" and prefix == str(result.prefix)
    assert filelock == "3.13.1"  # uv's first-index rule: the PyTorch index's copy
    assert result.installer == "uv" and result.backend == "venv"


def test_venv_with_pip_ignores_the_machine_pip_config(
    project_dir: Path, torch_indexes: LocalIndexes, tmp_path: Path
) -> None:
    project = project_with(project_dir, torch_indexes.base_url, OWN_MINOR)
    result = create_named(
        project, "p", installer="pip", python=find_python(OWN_MINOR), environ=tool_environ(tmp_path)
    )
    _version, torch, build, filelock, *_ = inside(result.prefix)
    assert (torch, build) == ("2.4.1+cpu", "whl/cpu")
    # pip takes the best version over all indexes: the fixture's best is 3.16.1 (its PyPI);
    # this machine's pip.conf index would have brought a 4.x one.
    assert filelock == "3.16.1"
    assert result.installer == "pip"
    pip = subprocess.run(
        [str(result.prefix / "bin" / "python"), "-m", "pip", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(result.prefix) in pip.stdout  # python -m pip is the environment's own


def test_lock_then_create_with_hashes_rebuilds_only_when_inputs_change(
    project_dir: Path, torch_indexes: LocalIndexes, tmp_path: Path
) -> None:
    project = project_with(project_dir, torch_indexes.base_url, OWN_MINOR)
    lock_named(project, "p", conda=False)
    environ = tool_environ(tmp_path)
    python = find_python(OWN_MINOR)
    first = create_named(project, "p", python=python, environ=environ)
    assert first.status == "created"
    assert first.sources == ("envs/p/requirements-linux-64.lock.txt",)
    assert inside(first.prefix)[1:3] == ["2.4.1+cpu", "whl/cpu"]

    again = create_named(project, "p", python=python, environ=environ)
    assert again.status == "up-to-date" and again.seconds < 5

    # The served filelock changes under the lock: hashes refuse it, the old env comes back.
    for wheel in (torch_indexes.root / "whl" / "cpu").glob("filelock-*.whl"):
        build_wheel(wheel.parent, "filelock", "3.13.1", marker="tampered")
    torch_indexes.publish()
    (tmp_path / "uv-cache").rename(tmp_path / "uv-cache-old")
    with pytest.raises(ToolError, match="installing the pip part with uv failed"):
        create_named(project, "p", python=python, environ=environ, force=True)
    assert read_marker(first.prefix) is not None and inside(first.prefix)[1] == "2.4.1+cpu"
    assert not aside(first.prefix, "building").exists()


class _StallingHandler(http.server.SimpleHTTPRequestHandler):
    requested: threading.Event
    release: threading.Event

    def do_GET(self) -> None:
        if self.path.endswith(".whl"):
            self.requested.set()
            self.release.wait(120)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stalling(torch_indexes: LocalIndexes) -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """The same indexes, but every wheel download hangs until released: an install mid-way."""
    requested, release = threading.Event(), threading.Event()
    handler = type("H", (_StallingHandler,), {"requested": requested, "release": release})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(torch_indexes.root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested, release
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_an_interrupted_create_never_looks_finished_and_the_next_one_works(
    sig: signal.Signals,
    project_dir: Path,
    stalling: tuple[str, threading.Event, threading.Event],
    tmp_path: Path,
) -> None:
    url, requested, release = stalling
    project = project_with(project_dir, url, OWN_MINOR)
    python = find_python(OWN_MINOR)
    environ = tool_environ(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "envgen", "create", "p", "--python", str(python)],
        cwd=project_dir,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert requested.wait(60), "the installer never asked for a wheel"
        prefix = project_dir / ".envgen" / "envs" / "p"
        assert (prefix / "bin" / "python").exists()  # the venv is there, half-populated
        proc.send_signal(sig)
        proc.wait(30)
    finally:
        proc.kill()
    assert read_marker(prefix) is None
    with pytest.raises(EnvgenError, match="not a finished envgen environment"):
        require_finished(prefix, "p")
    if sig == signal.SIGTERM:  # unwound: the partial prefix is already gone
        assert proc.returncode == 130
        assert not prefix.exists() and not aside(prefix, "building").exists()
    else:  # killed outright: the building note tells the next create what to clean
        assert aside(prefix, "building").exists()
    release.set()
    said: list[str] = []
    result = create_named(project, "p", python=python, environ=environ, progress=said.append)
    assert result.status == "created" and read_marker(prefix) is not None
    assert inside(prefix)[1] == "2.4.1+cpu"
    cleaned = any(s.startswith("removing the remains of an interrupted create") for s in said)
    assert cleaned == (sig == signal.SIGKILL)
