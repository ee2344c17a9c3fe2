"""CRLF checkouts (git's core.autocrlf on Windows) and init's .gitattributes (issue 11)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.gpu_tools import FakeTools
from tests.helpers import run_cli

GIT = shutil.which("git")  # found before a fixture narrows PATH to fake tools
needs_git = pytest.mark.skipif(GIT is None, reason="needs the git executable")


def _to_crlf(directory: Path) -> None:
    for path in directory.iterdir():
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


def test_crlf_copy_of_a_current_file_is_current(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    assert run_cli(capsys, "render", "cpu").code == 0
    out = project_dir / "envs" / "cpu"
    _to_crlf(out)
    crlf = {p.name: p.read_bytes() for p in out.iterdir()}
    check = run_cli(capsys, "check", "cpu")
    assert check.code == 0, check.out + check.err
    again = run_cli(capsys, "render", "cpu")
    assert again.code == 0 and "wrote" not in again.out
    assert {p.name: p.read_bytes() for p in out.iterdir()} == crlf, "nothing rewritten"


def test_crlf_file_edited_by_hand_is_still_an_edit(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    assert run_cli(capsys, "render", "cpu").code == 0
    path = project_dir / "envs" / "cpu" / "requirements.txt"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n") + b"numpy\r\n")
    check = run_cli(capsys, "check", "cpu")
    assert check.code == 1 and "edited by hand" in check.out + check.err


def _git(root: Path, *args: str) -> str:
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(root)}
    return subprocess.run(
        [str(GIT), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        env={**env, "PATH": str(Path(str(GIT)).parent)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@needs_git
def test_autocrlf_checkout_passes_check(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    """A real Windows-style checkout: committed with LF, checked out with CRLF by git."""
    _git(project_dir, "init", "-q")
    assert run_cli(capsys, "render", "cpu").code == 0
    _git(project_dir, "add", "-A")
    _git(project_dir, "commit", "-qm", "envs")
    _git(project_dir, "config", "core.autocrlf", "true")
    shutil.rmtree(project_dir / "envs")
    _git(project_dir, "checkout", "--", "envs")
    assert b"\r\n" in (project_dir / "envs" / "cpu" / "environment.yml").read_bytes()
    check = run_cli(capsys, "check", "cpu")
    assert check.code == 0, check.out + check.err


@needs_git
def test_init_asks_git_for_lf_in_generated_files(
    capsys: pytest.CaptureFixture[str], project_dir: Path, fake_machine: FakeTools
) -> None:
    _git(project_dir, "init", "-q")
    (project_dir / ".gitattributes").write_text("*.png binary")
    assert run_cli(capsys, "init").code == 0
    attributes = (project_dir / ".gitattributes").read_text()
    assert attributes.startswith("*.png binary\n")
    assert "envs/*/** text eol=lf" in attributes.splitlines()
    assert run_cli(capsys, "render", "cpu").code == 0
    _git(project_dir, "add", "-A")
    _git(project_dir, "commit", "-qm", "init")
    _git(project_dir, "config", "core.autocrlf", "true")
    shutil.rmtree(project_dir / "envs")
    _git(project_dir, "checkout", "--", "envs")
    assert b"\r\n" not in (project_dir / "envs" / "cpu" / "environment.yml").read_bytes()
    assert "eol: lf" in _git(project_dir, "check-attr", "eol", "envs/cpu/environment.yml")
    # a second init leaves the file alone
    before = (project_dir / ".gitattributes").read_bytes()
    second = run_cli(capsys, "init")
    assert second.code == 0
    assert (project_dir / ".gitattributes").read_bytes() == before


def test_init_edits_a_symlinked_pyproject_through_the_link(
    capsys: pytest.CaptureFixture[str], project_dir: Path, fake_machine: FakeTools
) -> None:
    shared = project_dir.parent / "shared-pyproject.toml"
    (project_dir / "pyproject.toml").rename(shared)
    (project_dir / "pyproject.toml").symlink_to(shared)
    (project_dir / ".gitignore").symlink_to(project_dir.parent / "shared-gitignore")
    (project_dir.parent / "shared-gitignore").write_text("*.pyc\n")
    result = run_cli(capsys, "init")
    assert result.code == 0, result.err
    assert (project_dir / "pyproject.toml").is_symlink()
    assert "[tool.envgen]" in shared.read_text()
    assert (project_dir / ".gitignore").is_symlink()
    assert ".envgen/" in (project_dir.parent / "shared-gitignore").read_text()
