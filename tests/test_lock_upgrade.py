"""``envgen lock --upgrade`` finds what was published since, without fetching torch again.

The index here caches like PyPI: index pages ``max-age=600``, files for a year. uv keeps such a
page for its ten minutes, so a plain re-solve does not see a release published meanwhile;
``--upgrade`` has uv look up afresh every package of the old locks except the ones no upgrade
can move (the torch packages, pinned to the catalog's release, and what torch pins exactly),
whose wheels a mirror without PEP 658 metadata would otherwise serve again in full.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from envgen.lockers.uv_upgrade import upgrade_refresh
from envgen.project import Project
from tests.conftest import isolate_installers
from tests.fixtures.pypi_index import PYPI_INDEX, LocalIndexes, populate_torch
from tests.helpers import run_cli, write_profile

PROFILE = """
python: "3.11"
accelerator: cuda
cuda: "11.8"
platforms: [linux-64]
pytorch: {version: "2.4.1", packages: [torch, torchvision]}
pip: [tqdm]
"""


class _LikePyPI(http.server.SimpleHTTPRequestHandler):
    seen: list[str]

    def end_headers(self) -> None:
        immutable = self.path.endswith((".whl", ".tar.gz", ".metadata"))
        self.send_header("Cache-Control", f"max-age={31536000 if immutable else 600}, public")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        self.seen.append(self.path)


@pytest.fixture
def indexes(tmp_path: Path) -> Iterator[tuple[LocalIndexes, list[str]]]:
    """torch 2.4.1 (cu118, Linux) and tqdm 4.66.5, served with PyPI's caching headers; the list
    records every path requested."""
    root = tmp_path / "indexes"
    root.mkdir()
    seen: list[str] = []
    handler = type("Handler", (_LikePyPI,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    served = LocalIndexes(root, f"http://127.0.0.1:{server.server_address[1]}")
    populate_torch(served, {"cu118": ("linux-64",)})
    try:
        yield served, seen
    finally:
        server.shutdown()
        server.server_close()


def test_upgrade_finds_new_releases_that_a_cached_index_page_hides(
    project_dir: Path,
    indexes: tuple[LocalIndexes, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served, seen = indexes
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + served.mirror_toml())
    isolate_installers(monkeypatch, project_dir.parent)  # a private uv cache, no machine config
    write_profile(project_dir, "gpu", PROFILE)
    lock = project_dir / "envs" / "gpu" / "requirements-linux-64.lock.txt"
    assert run_cli(capsys, "lock", "gpu", "--no-conda").code == 0
    assert "tqdm==4.66.5" in lock.read_text() and "filelock==3.13.1" in lock.read_text()

    # Published since: on PyPI, and on the PyTorch index (which serves torch's filelock).
    served.add(PYPI_INDEX, "tqdm", "4.67.0")
    served.add("whl/cu118", "filelock", "3.13.2")
    served.publish()

    # A plain solve (the inputs changed) reads uv's cached pages: nothing new yet.
    write_profile(project_dir, "gpu", PROFILE + "description: changed\n")
    assert run_cli(capsys, "lock", "gpu", "--no-conda").code == 0
    assert "tqdm==4.66.5" in lock.read_text()

    seen.clear()
    upgraded = run_cli(capsys, "lock", "gpu", "--no-conda", "--upgrade")
    assert upgraded.code == 0, upgraded.err
    text = lock.read_text()
    assert "tqdm==4.67.0" in text and "filelock==3.13.2" in text
    assert "torch==2.4.1+cu118" in text and "torchvision==0.19.1+cu118" in text
    # torch's and torchvision's pages and wheels came from uv's cache, not the index again.
    assert any("/tqdm/" in path for path in seen), seen
    assert not [path for path in seen if "torch" in path], seen


def test_upgrade_looks_up_the_locked_packages_but_never_what_torch_pins(
    project_dir: Path,
) -> None:
    write_profile(project_dir, "p", PROFILE.replace("[tqdm]", '["tqdm>=4", "Requests[socks]"]'))
    env = Project.open().resolve("p").env
    previous = (
        "# header\n--index-url https://x\nfilelock==3.13.1 \\\n    --hash=sha256:00\n"
        "torch==2.4.1+cu118 \\\n    --hash=sha256:00\n    # via profile 'p'\n"
        "nvidia-cudnn-cu12==9.1.0.70 \\\n    --hash=sha256:00\npytorch-triton==3.0.0\n"
        "torchvision==0.19.1+cu118\nTyping_Extensions==4.12.2\n"
    )
    assert upgrade_refresh(env, [previous, "sympy==1.13.1\n"]) == (
        "filelock",
        "requests",
        "sympy",
        "tqdm",
        "typing-extensions",
    )
    assert upgrade_refresh(env, []) == ("requests", "tqdm")
