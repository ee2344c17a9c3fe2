"""create --force and --prefix tried as a clumsy user would: nothing that is not an env is lost.

No installs: every refusal here must happen before a backend runs, so the tests build only the
directories they attack and assert that every byte of them survives.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envgen.envmeta import MARKER, read_marker
from envgen.errors import EnvgenError
from envgen.prefix_build import aside
from envgen.project import Project
from tests.fixtures.envs import make_venv
from tests.helpers import create_named, run_cli, snapshot, write_profile

PIP_ONLY = 'python: "3.11"\npytorch: {version: "2.4.1", packages: [torch]}\nplatforms: [linux-64]\n'
PY = Path(sys.executable)


def _refused(prefix: Path, force: bool = True) -> EnvgenError:
    with pytest.raises(EnvgenError) as info:
        create_named(Project.open(), "p", python=PY, prefix=prefix, force=force)
    assert info.value.exit_code == 2
    return info.value


def _nothing_beside(prefix: Path) -> None:
    """A refused create leaves no lock file, no building note, no backup next to the prefix."""
    leftovers = [p.name for p in prefix.parent.glob(f".{prefix.name}.envgen-*")]
    assert leftovers == []


def test_a_venv_at_the_root_of_a_checkout_is_not_replaced(project_dir: Path) -> None:
    write_profile(project_dir, "p", PIP_ONLY)
    checkout = project_dir.parent / "checkout"
    make_venv(checkout)
    (checkout / ".git").mkdir()
    (checkout / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (checkout / "src").mkdir()
    (checkout / "src" / "work.py").write_text("precious = True\n")
    before = snapshot(checkout)
    error = _refused(checkout)
    assert ".git, src" in error.message and "no venv or conda environment" in error.message
    assert snapshot(checkout) == before
    _nothing_beside(checkout)


def test_a_conda_base_install_is_not_replaced(project_dir: Path) -> None:
    write_profile(project_dir, "p", PIP_ONLY)
    base = project_dir.parent / "miniforge3"
    for sub in ("conda-meta", "bin", "envs/work/conda-meta", "pkgs", "condabin"):
        (base / sub).mkdir(parents=True)
    (base / "envs" / "work" / "notes.txt").write_text("keep")
    before = snapshot(base)
    error = _refused(base)
    assert "condabin, envs, pkgs" in error.message
    assert snapshot(base) == before


@pytest.mark.parametrize("where", ["root", "home", "project", "parent"])
def test_dangerous_prefixes_are_refused_before_anything_is_touched(
    project_dir: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile(project_dir, "p", PIP_ONLY)
    home = project_dir.parent / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    prefix = {
        "root": Path("/"),
        "home": home,
        "project": project_dir,
        "parent": project_dir.parent,
    }[where]
    before = snapshot(project_dir)
    error = _refused(prefix)
    assert "refusing to build an environment at" in error.message
    assert snapshot(project_dir) == before
    assert not (project_dir / ".envgen").exists()


def test_prefix_through_a_symlink_or_under_a_file_is_exit_2(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "p", PIP_ONLY)
    real = project_dir.parent / "real"
    real.mkdir()
    (real / "keep.txt").write_text("keep")
    link = project_dir.parent / "link"
    link.symlink_to(real)
    blocker = project_dir.parent / "a-file"
    blocker.write_text("x")
    for prefix, expect in (
        (link, "symbolic link"),
        (blocker / "env", "is a file"),
    ):
        result = run_cli(capsys, "create", "p", "--prefix", str(prefix), "--force")
        assert result.code == 2, result.err
        assert expect in result.err and "Traceback" not in result.err
    assert (real / "keep.txt").read_text() == "keep" and sorted(real.iterdir()) == [
        real / "keep.txt"
    ]


@pytest.mark.parametrize(
    "content", ["[]", "null", '"a string"', "{}", "\x00\xff", '{"profile": 1}']
)
def test_a_broken_marker_is_exit_2_and_force_recovers(
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_profile(project_dir, "p", PIP_ONLY)
    prefix = project_dir / ".envgen" / "envs" / "p"
    make_venv(prefix)
    (prefix / MARKER).write_text(content, encoding="latin-1")
    for args in (("verify", "p"), ("run", "p", "--", "true"), ("create", "p", "--python", str(PY))):
        result = run_cli(capsys, *args)
        assert result.code == 2, (args, result.err)
        assert "marker is broken" in result.err and "create --force" in result.err

    # --force accepts it as envgen's and rebuilds through the real build (a stand-in backend).
    class Backend:
        def create(self, plan: object) -> None:
            make_venv(plan.prefix)  # type: ignore[attr-defined]

    monkeypatch.setattr("envgen.prefix_build.backend", lambda name: Backend())
    result = create_named(Project.open(), "p", python=PY, force=True)
    assert result.status == "rebuilt" and result.prefix == prefix
    marker = read_marker(prefix)
    assert marker is not None and marker.profile == "p"


def test_a_plain_venv_without_a_marker_is_replaced_only_with_force(project_dir: Path) -> None:
    write_profile(project_dir, "p", PIP_ONLY)
    prefix = project_dir.parent / "venv"
    make_venv(prefix)
    error = _refused(prefix, force=False)
    assert "--force replaces it" in error.fix
    _nothing_beside(prefix)


def test_the_building_note_is_not_left_by_a_refusal(project_dir: Path) -> None:
    write_profile(project_dir, "p", PIP_ONLY)
    target = project_dir.parent / "work"
    target.mkdir()
    (target / "thesis.tex").write_text("years")
    _refused(target)
    assert not aside(target, "building").exists() and not aside(target, "lock").exists()
    assert json.dumps(sorted(p.name for p in target.iterdir())) == '["thesis.tex"]'
