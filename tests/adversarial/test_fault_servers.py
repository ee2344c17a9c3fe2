"""Indexes that misbehave, on 127.0.0.1: one that hangs, one that resets every connection, one
that serves HTML junk, and one whose wheel no longer matches the locked hash. Each ends in a
clear error naming the index, in bounded time, with nothing half-installed."""

from __future__ import annotations

import http.server
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import isolate_installers
from tests.fixtures.pypi_index import PYPI_PUBLIC, PYTORCH_PUBLIC, LocalIndexes
from tests.helpers import run_cli, write_profile

pytestmark = pytest.mark.e2e
PROFILE = (
    'python: "3.11"\naccelerator: cpu\npytorch: {version: "2.4.1", packages: [torch]}\n'
    "platforms: [linux-64]\n"
)
BOUND_S = 60.0  # uv's own timeout is set to 1 s below; its retries make up the rest


class _Faulty(http.server.BaseHTTPRequestHandler):
    mode = "junk"
    stop: threading.Event

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.mode == "hang":
            self.stop.wait(BOUND_S)
            return
        if self.mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        body = b"<html><body><h1>Welcome to the proxy</h1><a href='x'>\x00\xff junk</a>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(params=["hang", "reset", "junk"])
def faulty_index(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    stop = threading.Event()
    handler = type("Handler", (_Faulty,), {"mode": request.param, "stop": stop})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield request.param, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def _isolate(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_installers(monkeypatch, project_dir.parent)
    monkeypatch.setenv("UV_HTTP_TIMEOUT", "1")


def test_a_faulty_index_fails_the_lock_clearly_and_quickly(
    project_dir: Path,
    faulty_index: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mode, url = faulty_index
    _isolate(project_dir, monkeypatch)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write(f'[tool.envgen.mirrors]\n"{PYTORCH_PUBLIC}" = "{url}/whl"\n')
        fh.write(f'"{PYPI_PUBLIC}" = "{url}/simple"\n')
    write_profile(project_dir, "p", PROFILE)
    started = time.monotonic()
    result = run_cli(capsys, "lock", "p", "--no-conda")
    took = time.monotonic() - started
    assert result.code == 2, (mode, result.err)
    assert "Traceback" not in result.err and "bug in envgen" not in result.err
    assert "127.0.0.1" in result.err, (mode, result.err)  # names the index
    assert took < BOUND_S, f"{mode}: {took:.0f}s"
    assert not (project_dir / "envs" / "p" / "requirements-linux-64.lock.txt").exists()


def test_a_wheel_that_no_longer_matches_its_lock_installs_nothing(
    project_dir: Path,
    torch_indexes: LocalIndexes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _isolate(project_dir, monkeypatch)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + torch_indexes.mirror_toml())
    write_profile(project_dir, "p", PROFILE)
    assert run_cli(capsys, "lock", "p", "--no-conda").code == 0
    (wheel,) = (torch_indexes.root / "whl" / "cpu").glob("torch-*linux*.whl")
    wheel.write_bytes(wheel.read_bytes() + b"tampered")  # same name, other bytes
    result = run_cli(capsys, "create", "p", "--python", sys.executable)
    assert result.code == 2, result.err
    assert "hash" in result.err.lower() and "Traceback" not in result.err
    prefix = project_dir / ".envgen" / "envs" / "p"
    assert not prefix.exists(), "nothing half-installed"
    assert [p.name for p in prefix.parent.iterdir()] == []
