"""Credentials: a mirror with a ``user:${TOKEN}@`` part locks and stays a placeholder in every
file; a literal credential anywhere (mirrors, channels, pip URLs, ``?token=``) is refused, and
no message ever repeats it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import isolate_installers
from tests.fixtures.pypi_index import PYPI_PUBLIC, PYTORCH_PUBLIC, LocalIndexes
from tests.helpers import run_cli, snapshot, write_profile

CPU = (
    'python: "3.11"\naccelerator: cpu\npytorch: {version: "2.4.1", packages: [torch]}\n'
    "platforms: [linux-64]\n"
)
SECRET = "s3cr3t-Value"


def _with_user(url: str, part: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{part}@{rest}"


def test_a_mirror_with_a_token_placeholder_locks(
    project_dir: Path,
    torch_indexes: LocalIndexes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    isolate_installers(monkeypatch, project_dir.parent)
    monkeypatch.setenv("MIRROR_TOKEN", SECRET)
    mirrors = {
        PYTORCH_PUBLIC: _with_user(torch_indexes.url("whl"), "ci:${MIRROR_TOKEN}"),
        PYPI_PUBLIC: _with_user(torch_indexes.pypi_url, "ci:${MIRROR_TOKEN}"),
    }
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("[tool.envgen.mirrors]\n")
        fh.writelines(f'"{k}" = "{v}"\n' for k, v in mirrors.items())
    write_profile(project_dir, "p", CPU)
    result = run_cli(capsys, "lock", "p", "--no-conda")
    assert result.code == 0, result.err
    for path in (project_dir / "envs").rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert SECRET not in text
    lock = (project_dir / "envs" / "p" / "requirements-linux-64.lock.txt").read_text()
    # locked through the credentialed mirror; the lock names the public index (no mirror)
    assert "torch==2.4.1+cpu" in lock and "# from https://download.pytorch.org/whl/cpu" in lock
    assert SECRET not in result.out + result.err


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("channels", f"https://user:{SECRET}@conda.example/ch"),
        ("channels", f"https://conda.example/ch?token={SECRET}"),
        ("channels", f"https://{SECRET}@conda.example/t/ch"),
        ("pip", f"demo @ https://user:{SECRET}@files.example/demo-1.0-py3-none-any.whl"),
        ("pip", f"demo @ https://files.example/demo-1.0-py3-none-any.whl?access_token={SECRET}"),
    ],
)
def test_literal_credentials_in_a_profile_are_refused_unsaid(
    project_dir: Path, capsys: pytest.CaptureFixture[str], key: str, value: str
) -> None:
    write_profile(project_dir, "p", CPU + f"{key}: [{value!r}]\n".replace("'", '"'))
    before = snapshot(project_dir)
    result = run_cli(capsys, "render", "p")
    assert result.code == 2, result.err
    assert "carries a credential" in result.err and SECRET not in result.err + result.out
    assert snapshot(project_dir) == before


@pytest.mark.parametrize(
    "mirror",
    [f"https://user:{SECRET}@m.example/whl", f"https://m.example/whl?token={SECRET}"],
)
def test_literal_credentials_in_mirrors_are_refused_unsaid(
    project_dir: Path, capsys: pytest.CaptureFixture[str], mirror: str
) -> None:
    write_profile(project_dir, "p", CPU)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write(f'[tool.envgen.mirrors]\n"{PYTORCH_PUBLIC}" = "{mirror}"\n')
    for args in (["render", "p"], ["lock", "p"], ["show", "p"]):
        result = run_cli(capsys, *args)
        assert result.code == 2, result.err
        assert "carries a credential" in result.err and SECRET not in result.err + result.out
    result = run_cli(capsys, "lock", "p", "--mirror", f"{PYPI_PUBLIC}={mirror}=x")
    assert result.code == 2 and SECRET not in result.err + result.out


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("pip", "demo @ http://[::1/x.whl"),
        ("pip", "demo @ https://u:p@[x/y"),
        ("channels", "http://[::1/ch"),
    ],
)
def test_unparseable_urls_are_exit_2(
    project_dir: Path, capsys: pytest.CaptureFixture[str], key: str, value: str
) -> None:
    write_profile(project_dir, "p", CPU + f'{key}: ["{value}"]\n')
    result = run_cli(capsys, "render", "p")
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert "u:p@" not in result.err
