"""A credential goes only to the origin it was given for, in every HTTP client envgen runs
besides its own ``catalog update`` (tested with that command): uv (lock, create), pip
(create --installer pip) and py-rattler (lock --engine rattler).

A mirror written ``http://ci:${TOKEN}@A/...`` where A answers every request with a 302 to B
(another port: another origin): A must receive the expanded credential, B never any.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import isolate_installers
from tests.fixtures.conda_channel import CondaChannel
from tests.fixtures.http_servers import RecordingServer
from tests.fixtures.pypi_index import PYPI_PUBLIC, PYTORCH_PUBLIC, LocalIndexes
from tests.helpers import run_cli, write_profile

TOKEN = "s3cr3t-token"
BASIC = "Basic " + base64.b64encode(f"ci:{TOKEN}".encode()).decode()
PIP_ONLY = 'python: "3.11"\npytorch: {version: "2.4.1", packages: [torch]}\nplatforms: [linux-64]\n'


def _mirror_through_redirect(
    project_dir: Path,
    http_servers: Callable[..., RecordingServer],
    served: Path,
    rules: dict[str, str],
) -> tuple[RecordingServer, RecordingServer]:
    """(A, B): B serves ``served``; A redirects to B; ``rules`` map public URLs to A's paths."""
    b = http_servers(served)
    a = http_servers(served, redirect_to=b.url)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("[tool.envgen.mirrors]\n")
        for public, path in rules.items():
            fh.write(f'"{public}" = "{a.with_user("ci:${MIRROR_TOKEN}")}/{path}"\n')
    return a, b


def _held(a: RecordingServer, b: RecordingServer, project_dir: Path) -> None:
    assert a.requests and b.requests, "both servers must have been asked"
    assert set(a.authorizations) == {BASIC}  # the origin it was given for: the credential
    assert b.authorizations == []  # the other origin: never
    for path in project_dir.rglob("*"):
        if path.is_file() and ".envgen" not in path.parts:
            assert TOKEN not in path.read_text(errors="replace"), path


@pytest.fixture
def private(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_installers(monkeypatch, project_dir.parent)
    monkeypatch.setenv("MIRROR_TOKEN", TOKEN)
    return project_dir


def test_uv_lock_keeps_the_credential_on_its_origin(
    private: Path,
    torch_indexes: LocalIndexes,
    http_servers: Callable[..., RecordingServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    rules = {PYTORCH_PUBLIC: "whl", PYPI_PUBLIC: "pypi/simple"}
    a, b = _mirror_through_redirect(private, http_servers, torch_indexes.root, rules)
    write_profile(private, "p", PIP_ONLY + "pip: [tqdm]\n")
    result = run_cli(capsys, "lock", "p", "--no-conda")
    assert result.code == 0, result.err
    assert TOKEN not in result.out + result.err
    _held(a, b, private)


def test_rattler_lock_and_create_keep_the_credential_on_its_origin(
    private: Path,
    conda_channel: CondaChannel,
    http_servers: Callable[..., RecordingServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    rules = {"conda-forge": conda_channel.path.name}
    a, b = _mirror_through_redirect(private, http_servers, conda_channel.path.parent, rules)
    write_profile(
        private,
        "p",
        'python: "3.11"\naccelerator: cpu\nsource: conda\n'
        'pytorch: {version: "2.4.1", packages: [torch]}\n'
        "platforms: [linux-64]\nconda: [numpy]\n",
    )
    for args in (("lock", "p", "--engine", "rattler"), ("create", "p", "--backend", "rattler")):
        result = run_cli(capsys, *args)
        assert result.code == 0, result.err
        assert TOKEN not in result.out + result.err
    assert any(r.path.endswith(".tar.bz2") for r in b.requests)  # packages came through A too
    _held(a, b, private)


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_create_keeps_the_credential_on_its_origin(
    private: Path,
    torch_indexes: LocalIndexes,
    http_servers: Callable[..., RecordingServer],
    capsys: pytest.CaptureFixture[str],
    installer: str,
) -> None:
    rules = {PYTORCH_PUBLIC: "whl", PYPI_PUBLIC: "pypi/simple"}
    a, b = _mirror_through_redirect(private, http_servers, torch_indexes.root, rules)
    write_profile(private, "p", PIP_ONLY)
    result = run_cli(capsys, "create", "p", "--installer", installer, "--python", sys.executable)
    assert result.code == 0, result.err
    _held(a, b, private)
