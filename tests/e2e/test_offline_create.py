"""docs/mirrors-offline.md, followed: create behind a mirror, then offline from uv's cache, then
on a machine with nothing but a wheelhouse made by the page's own shell loop.

The mirror is a loopback index (stand-in torch, filelock, tqdm) that the test shuts down for the
offline parts: any request would then fail, so a create that passes used none.
"""

from __future__ import annotations

import http.server
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, isolate_installers, isolated_pip_env
from tests.fixtures.envs import OWN_MINOR, find_python
from tests.fixtures.pypi_index import (
    PYPI_INDEX,
    PYPI_PUBLIC,
    PYTORCH_PUBLIC,
    LocalIndexes,
    _QuietHandler,
    build_wheel,
)
from tests.fixtures.stand_in_torch import serve_stand_in_torch
from tests.helpers import run_cli, write_profile

pytestmark = pytest.mark.e2e
PAGE = REPO_ROOT / "docs" / "mirrors-offline.md"
PROFILE = """
python: "{python}"
accelerator: cpu
pytorch: {{version: "2.13", packages: [torch]}}
pip: [tqdm]
platforms: [linux-64]
outputs: [requirements.txt]
"""
LOCK = Path("envs/train/requirements-linux-64.lock.txt")


class Mirror:
    """The loopback indexes of tests/fixtures/pypi_index.py, on a server this test can stop."""

    def __init__(self, root: Path) -> None:
        root.mkdir()
        handler = partial(_QuietHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.indexes = LocalIndexes(root, f"http://127.0.0.1:{self.server.server_address[1]}")

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=5)


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    served = Mirror(tmp_path / "mirror")
    try:
        yield served
    finally:
        served.stop()


def page_block(containing: str) -> str:
    """The body of the page's bash block that contains ``containing``."""
    blocks = re.findall(r"^```bash\n(.*?)^```$", PAGE.read_text(encoding="utf-8"), re.M | re.S)
    (block,) = [b for b in blocks if containing in b]
    return block


def point_mirrors(project: Path, torch: str, pypi: str) -> None:
    text = (
        (project / "pyproject.toml").read_text(encoding="utf-8").split("[tool.envgen.mirrors]")[0]
    )
    mirrors = f'"{PYTORCH_PUBLIC}" = "{torch}"\n"{PYPI_PUBLIC}" = "{pypi}"\n'
    (project / "pyproject.toml").write_text(text + "[tool.envgen.mirrors]\n" + mirrors)


def test_behind_a_mirror_then_offline_from_the_cache_then_from_a_wheelhouse(
    project_dir: Path,
    mirror: Mirror,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    local_indexes = mirror.indexes
    serve_stand_in_torch(local_indexes)
    local_indexes.add(PYPI_INDEX, "tqdm", "4.66.5")
    local_indexes.publish()
    isolate_installers(monkeypatch, tmp_path)
    python = str(find_python(OWN_MINOR))
    write_profile(project_dir, "train", PROFILE.format(python=OWN_MINOR))

    # Behind a mirror: the project's table, the usual commands.
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + local_indexes.mirror_toml())
    assert run_cli(capsys, "render", "train").code == 0
    assert run_cli(capsys, "lock", "train", "--no-conda").code == 0
    lock = LOCK.read_text(encoding="utf-8")
    assert "127.0.0.1" not in lock and f"{PYTORCH_PUBLIC}/cpu" in lock
    created = run_cli(capsys, "create", "train", "--python", python)
    assert created.code == 0, created.err
    assert "train: created .envgen/envs/train with venv, pip part by uv" in created.out

    # The wheelhouse, downloaded while the mirror is there (from a copy of the lock with the
    # URLs rewritten, as docs/committed-files.md shows).
    mirrored = tmp_path / "lock.txt"
    mirrored.write_text(
        lock.replace(PYTORCH_PUBLIC, local_indexes.url("whl")).replace(
            PYPI_PUBLIC, local_indexes.pypi_url
        )
    )
    download = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes"]
    download += ["--only-binary=:all:", "--platform", "manylinux_2_28_x86_64"]
    download += ["--python-version", OWN_MINOR, "-r", str(mirrored), "-d", "wheelhouse"]
    env = isolated_pip_env(tmp_path)
    subprocess.run(download, cwd=project_dir, env=env, check=True, capture_output=True)

    # Offline with a warm cache: without UV_OFFLINE uv still asks the index, and fails.
    mirror.stop()
    online = run_cli(capsys, "create", "train", "--python", python, "--force")
    assert online.code == 2
    assert "127.0.0.1" in online.err
    monkeypatch.setenv("UV_OFFLINE", "1")
    offline = run_cli(capsys, "create", "train", "--python", python, "--force")
    assert offline.code == 0, offline.err
    assert "train: rebuilt .envgen/envs/train" in offline.out
    monkeypatch.delenv("UV_OFFLINE")

    # From the wheelhouse, with an empty cache: the page's loop writes the PEP 503 pages.
    subprocess.run(["bash", "-c", page_block("for whl in")], cwd=project_dir, check=True)
    assert (project_dir / "wheelhouse" / "simple" / "torch" / "index.html").is_file()
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
    simple = (project_dir / "wheelhouse" / "simple").as_uri()
    from_disk = [
        "--mirror",
        f"{PYTORCH_PUBLIC}/cpu={simple}",
        "--mirror",
        f"{PYPI_PUBLIC}={simple}",
    ]
    fresh = run_cli(capsys, "create", "train", "--python", python, "--force", *from_disk)
    assert fresh.code == 0, fresh.err
    verified = run_cli(capsys, "verify", "train")
    assert verified.code == 0, verified.out
    assert "0 failed" in verified.out

    # The lock's hashes still decide: another file under the same name is refused (from a cold
    # cache: a warm one still holds, and installs, the locked file).
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "another-empty-uv-cache"))
    other = build_wheel(tmp_path / "other", "tqdm", "4.66.5", marker="not the locked one")
    (project_dir / "wheelhouse" / other.name).write_bytes(other.read_bytes())
    tampered = run_cli(capsys, "create", "train", "--python", python, "--force", *from_disk)
    assert tampered.code == 2
    assert "Hash mismatch" in tampered.err
