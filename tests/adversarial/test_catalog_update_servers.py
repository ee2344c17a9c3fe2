"""``envgen catalog update`` against hostile and broken servers on 127.0.0.1 (issue 19, classes 1
and 7; issue 20, Ctrl-C): credentials stay with their origin across redirects; every request has
one deadline; pages and metadata are capped before and after decompression; absurd versions and
huge pages end in exit 2 naming the URL, in bounded time and memory, with the catalog untouched;
Ctrl-C stops with exit 130 and no traceback.

Cases that measure memory or send signals run the real command in a child process (timed, its
peak memory measured); the others run it in this process.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from envgen.catalog_update.errors import UpdateError
from envgen.catalog_update.update import UpdateOptions, update_catalog
from envgen.paths import CATALOG_FILE
from tests.adversarial.conftest import count
from tests.helpers import as_foreground_job, run_cli

BOUND_S = 60.0  # no child may run longer (it is killed); most take a second or two
MEMORY_MIB = 400  # sixteen 16 MiB answers in memory at once, with the interpreter around them
INDEX = "https://download.pytorch.org/whl"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
Handle = Callable[["Handler"], None]


class Handler(http.server.BaseHTTPRequestHandler):
    owner: Hostile

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.owner.paths.append(self.path)
        if self.headers.get("Authorization"):
            self.owner.authorization.append(self.headers["Authorization"])
        with contextlib.suppress(OSError):
            self.owner.handle(self)

    def send(self, body: bytes, content_type: str = "text/html", **headers: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)


@dataclass
class Hostile:
    """A loopback server whose every GET is answered by ``handle``; it records what it got."""

    handle: Handle
    url: str = ""
    paths: list[str] = field(default_factory=list)
    authorization: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


@contextlib.contextmanager
def hostile(handle: Handle) -> Iterator[Hostile]:
    owner = Hostile(handle)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), type("H", (Handler,), {"owner": owner})
    )
    server.daemon_threads = True
    server.block_on_close = False
    owner.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield owner
    finally:
        owner.stop.set()
        server.shutdown()
        server.server_close()


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float
    peak_mib: float


def envgen(args: list[str], cwd: Path, signal_after: Callable[[], bool] | None = None) -> Run:
    """Run ``envgen ARGS`` as a child process, killed at BOUND_S; its peak memory measured.

    ``signal_after``: send SIGINT once it returns True (polled), as a Ctrl-C would.
    """
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.monotonic()
        proc = subprocess.Popen(
            as_foreground_job([sys.executable, "-m", "envgen", *args]),
            cwd=cwd,
            stdout=stdout,
            stderr=stderr,
        )
        killer = threading.Timer(BOUND_S, proc.kill)
        killer.start()
        if signal_after is not None:
            while proc.poll() is None and not signal_after():
                time.sleep(0.02)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        proc.returncode,
        out.read_text(errors="replace"),
        err.read_text(errors="replace"),
        seconds,
        usage.ru_maxrss / 1024,
    )


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    target = tmp_path / "pytorch.yaml"
    target.write_bytes(CATALOG_FILE.read_bytes())
    return target


def _update(catalog: Path, url: str, *extra: str) -> list[str]:
    """An update of ``catalog`` reading every source from the server at ``url``."""
    return [
        *["catalog", "update", "--catalog", str(catalog), "--date", "2026-11-25"],
        *["--mirror", f"{INDEX}={url}/whl", "--mirror", f"https://pypi.org={url}/pypi"],
        *["--mirror", f"conda-forge={url}/conda-forge", *extra],
    ]


def _held(run: Run, catalog: Path, *, code: int = 2) -> None:
    """The case ended as it must: the exit code, no traceback, in time and memory, and the
    catalog as it was."""
    assert run.code == code, (run.code, run.err[-2000:])
    assert "Traceback" not in run.err and "internal error" not in run.err, run.err[-2000:]
    assert "Exception ignored" not in run.err, run.err[-2000:]
    assert run.seconds < BOUND_S and run.peak_mib < MEMORY_MIB, (run.seconds, run.peak_mib)
    assert catalog.read_bytes() == CATALOG_FILE.read_bytes()
    assert not list(catalog.parent.glob(".pytorch.yaml*")), "nothing half-written"


def _empty_page(handler: Handler) -> None:
    handler.send(json.dumps({"meta": {"api-version": "1.1"}, "files": []}).encode(), JSON_TYPE)


# -- class 1: credentials ----------------------------------------------------------------------
def test_credentials_go_only_to_their_origin_across_redirects(
    catalog: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mirror ``user:${TOKEN}@host-a`` whose pages redirect: to host-b (another origin) no
    credential goes, whether the Location names a user or not; a redirect within host-a keeps
    it; a redirect to a file URL is refused."""
    monkeypatch.setenv("MIRROR_TOKEN", "s3cret-token")
    with hostile(_empty_page) as other:

        def redirect(handler: Handler) -> None:
            if handler.path.startswith("/moved/"):
                return _empty_page(handler)
            if "/torch/" in handler.path:
                target = other.url.replace("://", "://evil:pw@") + handler.path
            elif "/torchvision/" in handler.path:
                target = other.url + handler.path
            else:
                target = "/moved" + handler.path  # same origin
            handler.send_response(302)
            handler.send_header("Location", target)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with hostile(redirect) as origin:
            host = origin.url.removeprefix("http://")
            mirror = f"{INDEX}=http://ci:${{MIRROR_TOKEN}}@{host}/whl"
            result = run_cli(
                capsys,
                *["catalog", "update", "--catalog", str(catalog), "--only", "pytorch-index"],
                *["--dry-run", "--since", "2.15", "--mirror", mirror],
            )
            assert result.code == 0, result.err
            assert other.paths and not other.authorization  # host-b: pages, never the token
            assert any(p.startswith("/moved/") for p in origin.paths)
            assert len(origin.authorization) == len(origin.paths)  # host-a: every request
            assert set(origin.authorization) == {"Basic Y2k6czNjcmV0LXRva2Vu"}
            assert "s3cret" not in result.out + result.err

    def to_file(handler: Handler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "file:///etc/passwd")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with hostile(to_file) as server:
        result = run_cli(capsys, *_update(catalog, server.url, "--since", "2.15"))
    assert result.code == 2 and "Traceback" not in result.err
    assert "redirects to a file URL" in result.err and server.url in result.err
    assert catalog.read_bytes() == CATALOG_FILE.read_bytes()


# -- class 7: deadlines, sizes, bombs, absurd versions, huge pages --------------------------------
def _drip_body(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", JSON_TYPE)
    handler.send_header("Content-Length", "1000000")
    handler.end_headers()
    while not handler.owner.stop.wait(0.2):
        handler.wfile.write(b" ")
        handler.wfile.flush()


def _drip_headers(handler: Handler) -> None:
    handler.wfile.write(b"HTTP/1.0 200 OK\r\n")
    while not handler.owner.stop.wait(0.2):
        handler.wfile.write(b"X-Slow: 1\r\n")
        handler.wfile.flush()


def _declared_huge(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", JSON_TYPE)
    handler.send_header("Content-Length", str(200 << 20))
    handler.end_headers()
    handler.wfile.write(b"{" * 65536)


def _endless(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", JSON_TYPE)
    handler.end_headers()  # no length: the body ends when the connection does
    chunk = b" " * (1 << 20)
    for _ in range(200):
        handler.wfile.write(chunk)


_BOMB: list[bytes] = []


def _bomb() -> bytes:
    """100 KiB on the wire, 100 MiB inflated: six times the cap."""
    if not _BOMB:
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)
        zeros = b"\0" * (1 << 20)
        _BOMB.append(b"".join(packer.compress(zeros) for _ in range(100)) + packer.flush())
    return _BOMB[0]


def _gzip_bomb(handler: Handler) -> None:
    handler.send(_bomb(), JSON_TYPE, Content_Encoding="gzip")


def _deep_json(handler: Handler) -> None:
    handler.send(b"[" * 200_000 + b"]" * 200_000, JSON_TYPE)


@pytest.mark.parametrize("handle", [_drip_body, _drip_headers], ids=["body", "headers"])
def test_a_drip_is_cut_at_the_request_deadline(catalog: Path, handle: Handle) -> None:
    """A byte every 0.2 s kept a read alive for ever: the deadline covers the whole request."""
    with hostile(handle) as server:
        options = UpdateOptions(
            today="2026-11-25",
            mirrors={INDEX: f"{server.url}/whl"},
            timeout=1,
            retries=0,
            sources=frozenset({"pytorch-index"}),
        )
        started = time.monotonic()
        with pytest.raises(UpdateError, match=r"no whole answer within 1 s") as info:
            update_catalog(options, catalog)
        took = time.monotonic() - started
    assert f"{server.url}/whl/" in str(info.value) and took < 10, took
    assert catalog.read_bytes() == CATALOG_FILE.read_bytes()


@pytest.mark.parametrize(
    ("handle", "says"),
    [
        (_declared_huge, "is 200.0 MiB, over the 16.0 MiB an update reads from one answer"),
        (_endless, "is over the 16.0 MiB an update reads from one answer"),
        (_gzip_bomb, "inflates to more than the 16.0 MiB an update reads from one answer"),
    ],
    ids=["declared-200MiB", "endless-body", "gzip-bomb"],
)
def test_a_page_over_the_cap_is_refused_in_bounded_memory(
    catalog: Path, tmp_path: Path, handle: Handle, says: str
) -> None:
    _bomb()  # built before the clock starts
    with hostile(handle) as server:
        run = envgen(_update(catalog, server.url, "--since", "2.15"), tmp_path)
    _held(run, catalog)
    assert says in run.err and f"{server.url}/whl/" in run.err, run.err


def test_a_page_nested_too_deep_is_malformed(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with hostile(_deep_json) as server:
        result = run_cli(capsys, *_update(catalog, server.url, "--since", "2.15"))
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert "is not a valid simple-index page (its JSON does not parse" in result.err
    assert catalog.read_bytes() == CATALOG_FILE.read_bytes()


def _wheel(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _lying(data: bytes) -> bytes:
    """The wheel with METADATA's sizes in both headers rewritten to 100 bytes: it still
    inflates to its real size."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = out.find(signature)
        out[at + offset : at + offset + 4] = (100).to_bytes(4, "little")
    return bytes(out)


def _with_wheel(wheel: bytes) -> Handle:
    """An index whose torchvision page lists one wheel (no PEP 658), served with ranges."""

    def handle(handler: Handler) -> None:
        name = "torchvision-0.30.0-cp312-cp312-manylinux_2_28_x86_64.whl"
        if handler.path.endswith("/torchvision/"):
            files = [{"filename": name, "url": f"../{name}", "hashes": {}}]
            body = json.dumps({"meta": {"api-version": "1.1"}, "files": files}).encode()
            return handler.send(body, JSON_TYPE)
        if handler.path.endswith(".whl"):
            wanted = handler.headers.get("Range", "")
            first = len(wheel) - int(wanted.removeprefix("bytes=-")) if "=-" in wanted else 0
            if "=-" not in wanted and wanted:
                first, last = (int(x) for x in wanted.removeprefix("bytes=").split("-"))
            else:
                first, last = max(first, 0), len(wheel) - 1
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {first}-{last}/{len(wheel)}")
            handler.send_header("Content-Length", str(last - first + 1))
            handler.end_headers()
            handler.wfile.write(wheel[first : last + 1])
            return None
        return _empty_page(handler)

    return handle


@pytest.mark.parametrize("lie", [False, True], ids=["honest-sizes", "lying-sizes"])
def test_a_metadata_bomb_inside_a_wheel_is_refused(
    catalog: Path, tmp_path: Path, lie: bool
) -> None:
    metadata = b"Metadata-Version: 2.1\nName: torchvision\nSummary: " + b"x" * (8 << 20)
    wheel = _wheel({"torchvision-0.30.0.dist-info/METADATA": metadata})
    with hostile(_with_wheel(_lying(wheel) if lie else wheel)) as server:
        run = envgen(
            _update(catalog, server.url, "--since", "2.15", "--only", "pytorch-index"), tmp_path
        )
    _held(run, catalog)
    assert "the METADATA in" in run.err and "torchvision-0.30.0-cp312" in run.err
    assert ("inflates to more than" if lie else "is 8.0 MiB, over the 4.0 MiB") in run.err


HUGE = "1" + "0" * 5000


def _absurd_filename(handler: Handler) -> None:
    name = f"torch-{HUGE}-cp312-cp312-manylinux_2_28_x86_64.whl"
    files = [{"filename": name, "url": name, "hashes": {}}]
    handler.send(json.dumps({"meta": {"api-version": "1.1"}, "files": files}).encode(), JSON_TYPE)


def _absurd_release_key(handler: Handler) -> None:
    body = {"info": {}, "releases": {HUGE: [], "2.15.0": []}, "urls": []}
    if handler.path.endswith("/json"):
        if handler.path.count("/") > 4:  # a release's own endpoint: missing, as on the proxy
            handler.send_error(404)
            return
        return handler.send(json.dumps(body).encode(), "application/json")
    handler.send_error(404)


def _absurd_pin(handler: Handler) -> None:
    metadata = f"Metadata-Version: 2.1\nName: torchvision\nRequires-Dist: torch=={HUGE}\n\n"
    _with_wheel(_wheel({"torchvision-0.30.0.dist-info/METADATA": metadata.encode()}))(handler)


def _absurd_repodata(handler: Handler) -> None:
    record = {"name": "pytorch", "version": HUGE, "build": "cpu_h0", "depends": []}
    body = {"info": {}, "packages": {}, "packages.conda": {"p.conda": record}}
    handler.send(json.dumps(body).encode(), "application/json")


@pytest.mark.parametrize(
    ("handle", "source", "where", "says"),
    [
        (_absurd_filename, "pytorch-index", "/whl/", "a file name of 5045 characters"),
        (_absurd_release_key, "pypi", "/pypi/pypi/torch/json", "a version of 5001 characters"),
        (_absurd_pin, "pytorch-index", ".whl", "a version of 5001 characters"),
        (_absurd_repodata, "conda-forge", "/repodata.json", "a version of 5001 characters"),
    ],
    ids=["index-file-name", "pypi-release", "metadata-pin", "repodata"],
)
def test_a_5000_digit_version_is_exit_2_naming_the_url(
    catalog: Path,
    capsys: pytest.CaptureFixture[str],
    handle: Handle,
    source: str,
    where: str,
    says: str,
) -> None:
    with hostile(handle) as server:
        args = _update(catalog, server.url, "--since", "2.15", "--only", source)
        result = run_cli(capsys, *args)
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert says in result.err and server.url in result.err and where in result.err, result.err
    assert catalog.read_bytes() == CATALOG_FILE.read_bytes()


def test_a_page_with_many_releases_merges_in_linear_time(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Quadratic merging took 29 s for 2,000 files and never ended for 10,000."""
    releases = 10_000
    names = [f"torch-3.{i}.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl" for i in range(releases)]
    page = {"meta": {"api-version": "1.1"}, "files": [{"filename": n, "url": n} for n in names]}
    body = json.dumps(page).encode()

    def handle(handler: Handler) -> None:
        if handler.path == "/whl/cpu/torch/":
            return handler.send(body, JSON_TYPE)
        if handler.path.startswith("/whl/") and handler.path.endswith("/"):
            return _empty_page(handler)
        handler.send_error(404)

    with hostile(handle) as server:
        args = _update(catalog, server.url, "--dry-run", "--only", "pytorch-index")
        started = time.monotonic()
        result = run_cli(capsys, *args, "--only", "pypi", "--since", "2.15")
        took = time.monotonic() - started
    assert result.code == 0, result.err
    added = result.out.split("\n\n")[0]
    assert added.count("\n- torch 3.") == releases
    assert f"torch 3.{releases - 1}.0: no companions" in added
    assert took < BOUND_S, took  # quadratic work never ended
    assert catalog.read_bytes() == CATALOG_FILE.read_bytes()


def _one_broken_page(handler: Handler) -> None:
    if handler.path.endswith("/cpu/torch/"):
        return handler.send(b'{"files": [{"filen', JSON_TYPE)
    handler.owner.stop.wait(BOUND_S)  # every other read hangs


ROUNDS = count("ENVGEN_FAILURE_ROUNDS", 3)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_failure_stops_the_other_reads_before_the_process_ends(
    catalog: Path, tmp_path: Path, round_: int
) -> None:
    """One page is malformed while fifteen reads hang: exit 2 at once. A worker left inside a
    C call (a read, a DNS lookup) while the interpreter shut down crashed the process (exit
    139, one run in three here with PyTorch's index unreachable)."""
    with hostile(_one_broken_page) as server:
        args = _update(catalog, server.url, "--since", "2.15", "--timeout", "25")
        run = envgen([*args, "--variant", "cu126", "--variant", "cu128"], tmp_path)
    _held(run, catalog)
    assert "is not a valid simple-index page" in run.err and run.seconds < 10, run


# -- issue 20: Ctrl-C -------------------------------------------------------------------------
INTERRUPTS = count("ENVGEN_INTERRUPTS", 3)


def _hang(handler: Handler) -> None:
    if handler.path.endswith("/cpu/torch/"):
        return _drip_body(handler)  # one read in progress when the signal comes
    handler.owner.stop.wait(BOUND_S)


@pytest.mark.parametrize("round_", range(INTERRUPTS))
def test_ctrl_c_stops_at_once_without_a_traceback(
    catalog: Path, tmp_path: Path, round_: int
) -> None:
    """SIGINT while sixteen reads hang or drip: exit 130 at once, 'Interrupted.', nothing else."""
    with hostile(_hang) as server:
        wanted = 1 + round_ * 3  # after 1, 4, 7 … requests started: different moments

        def ready() -> bool:
            return len(server.paths) >= min(wanted, 9)

        started = time.monotonic()
        run = envgen(
            _update(catalog, server.url, "--since", "2.15", "--timeout", "25"), tmp_path, ready
        )
    _held(run, catalog, code=130)
    assert run.err.strip() == "Interrupted.", run.err  # the CLI edge's word for a Ctrl-C
    assert time.monotonic() - started < 10, "stopped at once, not at the reads' deadline"
