"""Paths and the terminal: create --force through a symlinked parent, a catalog overlay that
names any file on the machine, messages that quote a file that is not what it should be, and
profile file names that drive the terminal or fake rows in ``envgen list``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envgen.envmeta import MARKER
from envgen.errors import EnvgenError
from envgen.project import Project
from tests.fixtures.envs import make_venv, mark_created
from tests.helpers import create_named, run_cli, snapshot, write_profile

PIP_ONLY = 'python: "3.11"\npytorch: {version: "2.4.1", packages: [torch]}\nplatforms: [linux-64]\n'
CPU = 'python: "3.11"\naccelerator: cpu\npytorch: "2.4.1"\nplatforms: [linux-64]\n'
SECRET_LINE = "root:$6$s3cr3t-hash:19000:0:99999:7:::"


def _outside_env(project_dir: Path) -> tuple[Path, dict[str, bytes]]:
    """A finished envgen environment outside the project, with a file of someone's in it."""
    elsewhere = project_dir.parent / "elsewhere"
    prefix = make_venv(elsewhere / "envs" / "p")
    mark_created(prefix, "p")
    (prefix / "lib" / "keep.txt").write_text("someone's work")
    return elsewhere, snapshot(elsewhere)


@pytest.mark.parametrize(
    ("link", "to", "extra"),
    [
        (".envgen", "", ()),
        (".envgen/envs", "envs", ()),
        ("venvs", "envs", ("--prefix", "venvs/p")),  # a --prefix inside the project
    ],
)
def test_create_force_never_replaces_an_environment_behind_a_symlinked_parent(
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
    link: str,
    to: str,
    extra: tuple[str, ...],
) -> None:
    write_profile(project_dir, "p", PIP_ONLY)
    elsewhere, before = _outside_env(project_dir)
    (project_dir / link).parent.mkdir(parents=True, exist_ok=True)
    (project_dir / link).symlink_to(elsewhere / to)
    result = run_cli(capsys, "create", "p", "--force", "--python", sys.executable, *extra)
    assert result.code == 2, result.err
    assert "is a symbolic link" in result.err and "outside the project" in result.err
    assert snapshot(elsewhere) == before
    assert sorted(p.name for p in (elsewhere / "envs").iterdir()) == ["p"]


def test_a_link_above_the_project_or_outside_it_is_the_machines_own(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only links inside the project come from a pull request; /tmp on macOS is a link too."""
    write_profile(project_dir, "p", PIP_ONLY)
    real = project_dir.parent / "real-envs"
    real.mkdir()
    (project_dir.parent / "link-envs").symlink_to(real)

    class Backend:
        def create(self, plan: object) -> None:
            make_venv(plan.prefix)  # type: ignore[attr-defined]

    monkeypatch.setattr("envgen.prefix_build.backend", lambda name: Backend())
    prefix = project_dir.parent / "link-envs" / "p"
    result = create_named(Project.open(), "p", python=Path(sys.executable), prefix=prefix)
    assert result.status == "created" and (real / "p" / MARKER).is_file()


@pytest.mark.parametrize(
    "overlay",
    ["{outside}", "../outside.yaml", "catalog-link.yaml"],
)
def test_the_overlay_must_be_inside_the_project_and_is_never_quoted(
    project_dir: Path, capsys: pytest.CaptureFixture[str], overlay: str
) -> None:
    outside = project_dir.parent / "outside.yaml"
    outside.write_text(f"{SECRET_LINE}\nsecret_key: hunter2\n")
    (project_dir / "catalog-link.yaml").symlink_to(outside)
    write_profile(project_dir, "p", CPU)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write(f'[tool.envgen]\ncatalog = "{overlay.format(outside=outside)}"\n')
    result = run_cli(capsys, "show", "p")
    assert result.code == 2 and "leads outside the project" in result.err, result.err
    assert "s3cr3t" not in result.err + result.out and "hunter2" not in result.err + result.out


@pytest.mark.parametrize(
    "content",
    [
        f"{SECRET_LINE}\n",
        "secret_key: hunter2\naws_token: s3cr3t\n",
        "- s3cr3t\n- hunter2\n",
        "releases: [{torch: s3cr3t, hunter2: 1}]\n",
        "index_base: https://hunter2:s3cr3t@evil.example/whl\n",
    ],
)
def test_an_overlay_that_is_no_catalog_is_not_quoted(
    project_dir: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    (project_dir / "catalog.yaml").write_text(content)
    write_profile(project_dir, "p", CPU)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write('[tool.envgen]\ncatalog = "catalog.yaml"\n')
    result = run_cli(capsys, "show", "p")
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert "catalog.yaml" in result.err
    assert "s3cr3t" not in result.err + result.out and "hunter2" not in result.err + result.out


def test_a_lock_with_a_foreign_line_is_not_quoted_by_verify(
    project_dir: Path, venv_factory: object
) -> None:
    from envgen.digest import CONTENT_PLACEHOLDER, seal
    from envgen.verify import verify_env

    write_profile(project_dir, "cpu", CPU)
    lock = project_dir / "envs" / "cpu" / "requirements-linux-64.lock.txt"
    lock.parent.mkdir(parents=True)
    lock.write_text(seal(f"# envgen-content-sha256: {CONTENT_PLACEHOLDER}\n{SECRET_LINE}\n"))
    prefix = make_venv(project_dir.parent / "env")
    mark_created(prefix, "cpu")
    report = verify_env(Project.open(), "cpu", prefix=prefix)
    packages = next(c for c in report.checks if c.name == "packages")
    assert packages.status == "fail" and "s3cr3t" not in packages.detail


NAMES = {
    "escape": "evil\x1b]0;owned\x07\x1b[2J",
    "newline": "fake\nroot      project            a row that is not there",
    "carriage-return": "x\rOVERWRITTEN",
    "bell-and-tab": "a\tb\x07",
}


@pytest.mark.parametrize("kind", sorted(NAMES))
def test_list_escapes_profile_file_names(
    project_dir: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    name = NAMES[kind]
    try:
        (project_dir / "profiles").mkdir()
        (project_dir / "profiles" / f"{name}.yaml").write_text(CPU)
    except OSError:
        pytest.skip("the file system cannot hold this name")
    write_profile(project_dir, "fine", CPU)
    result = run_cli(capsys, "list")
    assert result.code == 1  # the odd name is no valid profile name: listed as broken
    printed = [c for c in result.out if c != "\n" and (ord(c) < 32 or ord(c) == 127)]
    assert printed == [], result.out
    titles = ("This project's profiles", "Built-in profiles")
    rows = [line for line in result.out.splitlines() if line and not line.startswith(titles)]
    assert len(rows) == len(json.loads(run_cli(capsys, "list", "--json").out))
    assert sum(line.startswith("root ") for line in rows) == 0


def test_create_refuses_before_touching_anything(project_dir: Path) -> None:
    """The symlinked-parent refusal comes before the lock file, the note or a temporary."""
    write_profile(project_dir, "p", PIP_ONLY)
    elsewhere, before = _outside_env(project_dir)
    (project_dir / ".envgen").symlink_to(elsewhere)
    with pytest.raises(EnvgenError) as info:
        create_named(Project.open(), "p", python=Path(sys.executable), force=True)
    assert info.value.exit_code == 2
    assert snapshot(elsewhere) == before
    assert sorted(p.name for p in (elsewhere / "envs").iterdir()) == ["p"]
