"""Mirrors that serve files apart from their index pages never leak into a committed lock.

Artifactory, Nexus and devpi serve index pages under one prefix (``/api/pypi/<repo>/simple/``)
and the files elsewhere, often on another host. The loopback mirror here does the same: pages
on one port, every file on another, under a path unrelated to the pages'. ``pylock.toml`` and
``conda-lock.yml`` must name files by URL, so envgen maps each back to a public URL by a mirror
rule or refuses the lock; the requirements locks name no files and need no rule. ``check``
reports a lock that carries a mirror's URL, and ``lock`` replaces it.
"""

from __future__ import annotations

import hashlib
import html
import http.server
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from envgen.digest import CONTENT_PLACEHOLDER, read_seal, seal
from tests.conftest import isolate_installers
from tests.fixtures.conda_channel import CondaChannel
from tests.fixtures.pypi_index import PYPI_PUBLIC, PYTORCH_PUBLIC, LocalIndexes
from tests.helpers import run_cli, snapshot, write_profile
from tests.test_lock_pip import GPU

# Where files sit on the file server: opaque (by digest, as devpi and Nexus do), or under the
# public host's own path (as Artifactory keeps PyPI's /packages/… paths).
Layout = Callable[[str, Path], str]  # (index path, file) -> path on the file server


def opaque(index: str, wheel: Path) -> str:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return f"/blobs/{digest[:2]}/{digest}/{quote(wheel.name)}"


def upstream(index: str, wheel: Path) -> str:
    host = "download.pytorch.org" if index.startswith("whl/") else "pypi.org"
    return f"/{host}/{index}/{quote(wheel.name)}"


def _serve(answer: Callable[[str], tuple[str, bytes] | None]) -> tuple[str, Callable[[], None]]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self, head: bool = False) -> None:
            found = answer(unquote(self.path.split("?")[0]))
            if found is None:
                self.send_error(404)
                return
            kind, body = found
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def do_HEAD(self) -> None:  # uv asks before a range request
            self.do_GET(head=True)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_address[1]}", stop


@dataclass
class SplitMirror:
    pages: str  # the index pages' server
    files: str  # the file server (another port)

    def rules(self, *, file_rules: bool) -> dict[str, str]:
        rules = {
            PYTORCH_PUBLIC: f"{self.pages}/api/pypi/pytorch/simple",
            PYPI_PUBLIC: f"{self.pages}/api/pypi/pypi/simple",
        }
        if file_rules:  # where this mirror keeps each public host's files
            rules["https://download.pytorch.org"] = f"{self.files}/download.pytorch.org"
            rules["https://pypi.org"] = f"{self.files}/pypi.org"
        return rules


@contextmanager
def split_mirror(indexes: LocalIndexes, layout: Layout) -> Iterator[SplitMirror]:
    """A mirror of ``indexes``: pages under /api/pypi/<repo>/simple/ on one port, files by
    ``layout`` on another."""
    files: dict[str, Path] = {}
    pages: dict[str, list[tuple[str, Path]]] = {}  # page path -> (file path, file)
    for index, projects in indexes._files.items():
        repo = (
            f"pytorch/simple/{index[len('whl/') :]}" if index.startswith("whl/") else "pypi/simple"
        )
        for project, wheels in projects.items():
            rows = pages.setdefault(f"/api/pypi/{repo}/{project}/", [])
            for wheel in wheels:
                path = layout(index, wheel)
                files[unquote(path)] = wheel  # requests are looked up unquoted
                rows.append((path, wheel))
    with ExitStack() as stack:
        files_url, stop = _serve(
            lambda p: ("application/octet-stream", files[p].read_bytes()) if p in files else None
        )
        stack.callback(stop)

        def page(path: str) -> tuple[str, bytes] | None:
            if path not in pages:
                return None
            links = []
            for file_path, wheel in pages[path]:
                digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
                href = f"{files_url}{file_path}#sha256={digest}"
                links.append(f'<a href="{html.escape(href)}">{html.escape(wheel.name)}</a><br/>')
            body = "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n"
            return "text/html", body.encode()

        pages_url, stop = _serve(page)
        stack.callback(stop)
        yield SplitMirror(pages_url, files_url)


@pytest.fixture
def project(
    project_dir: Path, torch_indexes: LocalIndexes, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The GPU profile (cu118, tqdm) with no mirror settings of its own."""
    isolate_installers(monkeypatch, project_dir.parent)
    write_profile(project_dir, "gpu", GPU)
    return project_dir


def _args(rules: dict[str, str]) -> list[str]:
    return [f"--mirror={public}={mirror}" for public, mirror in rules.items()]


def test_a_lock_that_would_name_a_mirrors_file_url_is_refused(
    project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = project / "envs" / "gpu"
    with split_mirror(torch_indexes, opaque) as mirror:
        before = snapshot(project)
        refused = run_cli(
            capsys, "lock", "gpu", "--no-conda", "--pylock", *_args(mirror.rules(file_rules=False))
        )
        assert refused.code == 2, refused.err
        assert "refusing to write envs/gpu/pylock.toml" in refused.err
        assert f"{mirror.files}/blobs/" in refused.err and "Nothing was written" in refused.err
        assert "files.pythonhosted.org" in refused.err  # the fix names the rule to add
        assert snapshot(project) == before
        # The requirements locks name no files: their consumers find each one through the
        # index (by name, version and hash), so this mirror needs no rule for them.
        done = run_cli(capsys, "lock", "gpu", "--no-conda", *_args(mirror.rules(file_rules=False)))
        assert done.code == 0, done.err
    through_mirror = {p.name: p.read_bytes() for p in sorted(directory.iterdir())}
    plain = run_cli(capsys, "lock", "gpu", "--no-conda", "--upgrade", *_args(torch_indexes.mirrors))
    assert plain.code == 0, plain.err
    assert {p.name: p.read_bytes() for p in sorted(directory.iterdir())} == through_mirror


def test_file_rules_make_the_lock_public_and_the_same_through_any_mirror(
    project: Path,
    torch_indexes: LocalIndexes,
    conda_channel: CondaChannel,
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = project / "envs" / "gpu"
    conda = {"conda-forge": conda_channel.url}
    locks = []
    for flags in ([], ["--upgrade"]):  # --upgrade through a second mirror: nothing changes
        with split_mirror(torch_indexes, upstream) as mirror:
            rules = {**mirror.rules(file_rules=True), **conda}
            done = run_cli(
                capsys, "lock", "gpu", "--pylock", "--engine", "rattler", *flags, *_args(rules)
            )
            assert done.code == 0, done.err
            locks.append({p.name: p.read_bytes() for p in sorted(directory.iterdir())})
    assert locks[0] == locks[1]
    assert set(locks[0]) >= {"pylock.toml", "conda-lock.yml", "requirements-linux-64.lock.txt"}
    for text in locks[0].values():
        assert b"127.0.0.1" not in text and b"file://" not in text
    pylock = locks[0]["pylock.toml"].decode()
    assert f'url = "{PYTORCH_PUBLIC}/cu118/torch-2.4.1%2Bcu118-' in pylock
    assert (
        f"url: {PYTORCH_PUBLIC}/cu118/torch-2.4.1%2Bcu118-" in locks[0]["conda-lock.yml"].decode()
    )
    assert run_cli(capsys, "render", "gpu").code == 0
    checked = run_cli(capsys, "check", "gpu")
    assert checked.code == 0, checked.out
    assert "ok       envs/gpu/pylock.toml" in checked.out
    assert "ok       envs/gpu/conda-lock.yml" in checked.out


def test_check_reports_a_lock_that_carries_a_mirror_url_and_lock_replaces_it(
    project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "render", "gpu").code == 0
    assert (
        run_cli(capsys, "lock", "gpu", "--no-conda", "--pylock", *_args(torch_indexes.mirrors)).code
        == 0
    )
    path = project / "envs" / "gpu" / "pylock.toml"
    good = path.read_text()
    assert run_cli(capsys, "check", "gpu").code == 0
    # What an older envgen wrote through a mirror that keeps files apart: sealed, "current".
    leaked = good.replace(f"{PYTORCH_PUBLIC}/cu118/", "http://127.0.0.1:9/blobs/ab/")
    sealed = good.split("envgen-content-sha256: ")[1][:64]
    assert leaked != good
    path.write_text(seal(leaked.replace(sealed, CONTENT_PLACEHOLDER)))
    assert read_seal(path.read_text())[1]
    failed = run_cli(capsys, "check", "gpu")
    assert failed.code == 1
    assert (
        "FAIL     envs/gpu/pylock.toml: carries a URL that is not a public one "
        "(http://127.0.0.1:9/blobs/ab/" in failed.out
    )
    relocked = run_cli(capsys, "lock", "gpu", "--no-conda", *_args(torch_indexes.mirrors))
    assert relocked.code == 0 and "up to date" not in relocked.out, relocked.out
    assert path.read_text() == good
    assert run_cli(capsys, "check", "gpu").code == 0
