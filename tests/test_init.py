"""init: a repository gets profiles fitted to the machine, and nothing is ever overwritten."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from envgen.init import choose_python, init_project
from envgen.interpreters import Interpreter
from envgen.project import Project
from tests.fixtures.gpu_tools import A100, FakeTools
from tests.helpers import run_cli, snapshot

RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def interp(version: str) -> Interpreter:
    return Interpreter(Path(f"/py/{version}"), f"/py/{version}", version, "pyenv", "/p", "/p")


def test_init_writes_profiles_section_and_gitignore(
    capsys: pytest.CaptureFixture[str], project_dir: Path, fake_machine: FakeTools
) -> None:
    fake_machine.nvidia_smi("550.54.15", A100)
    result = run_cli(capsys, "init")
    assert result.code == 0, result.err
    profiles = project_dir / "profiles"
    assert sorted(p.name for p in profiles.iterdir()) == ["base.yaml", "cpu.yaml", "gpu-cu128.yaml"]
    base = yaml.safe_load((profiles / "base.yaml").read_text())
    assert base["python"] == RUNNING  # the interpreter running envgen, which the catalog has
    gpu = yaml.safe_load((profiles / "gpu-cu128.yaml").read_text())
    assert gpu == {
        "description": "NVIDIA GPU, PyTorch's CUDA 12.8 build (the newest torch published for it)",
        "extends": "base",
        "accelerator": "cuda",
        "cuda": "12.8",
    }
    assert yaml.safe_load((profiles / "cpu.yaml").read_text())["extends"] == "base"
    pyproject = (project_dir / "pyproject.toml").read_text()
    assert pyproject.startswith('[project]\nname = "demo"\n') and "\n[tool.envgen]\n" in pyproject
    assert (project_dir / ".gitignore").read_text() == (
        "# envgen's environments (built by `envgen create`)\n.envgen/\n"
    )
    assert "wrote     profiles/gpu-cu128.yaml" in result.out
    assert "updated   pyproject.toml" in result.out
    assert f"Recommended for this machine: gpu-cu128 (Python {RUNNING};" in result.out
    assert "  envgen create gpu-cu128" in result.out
    # the project's profiles now resolve, render, and hide the built-ins of the same name
    assert run_cli(capsys, "render", "gpu-cu128", "cpu").code == 0
    listing = run_cli(capsys, "list").out
    assert "gpu-cu128  project (overrides built-in)" in listing
    shown = run_cli(capsys, "show", "gpu-cu128").out
    assert "gpu-cu128 (profiles/gpu-cu128.yaml) <- base (profiles/base.yaml)" in shown
    assert f"python       {RUNNING}   (from base)" in shown


def test_init_never_overwrites(
    capsys: pytest.CaptureFixture[str], project_dir: Path, fake_machine: FakeTools
) -> None:
    (project_dir / "profiles").mkdir()
    (project_dir / "profiles" / "base.yaml").write_text('python: "3.12"\n')
    (project_dir / "profiles" / "cpu.yml").write_text("extends: base\naccelerator: cpu\n")
    (project_dir / ".gitignore").write_text("build/\n/.envgen")
    (project_dir / "pyproject.toml").write_text('[tool.envgen]\noutput = "out/{profile}"\n')
    before = snapshot(project_dir)
    first = run_cli(capsys, "init")
    assert first.code == 0, first.err
    assert snapshot(project_dir) == before
    assert first.out.splitlines()[:4] == [
        "kept      profiles/base.yaml (exists; not touched)",
        "kept      profiles/cpu.yml (exists; not touched)",
        "kept      pyproject.toml (exists; not touched)",
        "kept      .gitignore (exists; not touched)",
    ]
    assert "(`envgen doctor` says why)" in first.out and "Python" not in first.out.splitlines()[5]


def test_init_adds_only_what_is_missing_and_is_idempotent(
    capsys: pytest.CaptureFixture[str], project_dir: Path, fake_machine: FakeTools
) -> None:
    (project_dir / ".gitignore").write_text("build/")  # no trailing newline
    first = run_cli(capsys, "init")
    assert first.code == 0, first.err
    assert (project_dir / ".gitignore").read_text() == (
        "build/\n# envgen's environments (built by `envgen create`)\n.envgen/\n"
    )
    assert sorted(p.name for p in (project_dir / "profiles").iterdir()) == ["base.yaml", "cpu.yaml"]
    before = snapshot(project_dir)
    again = run_cli(capsys, "init")
    assert again.code == 0
    assert snapshot(project_dir) == before
    assert "wrote" not in again.out and "updated" not in again.out


def test_init_never_replaces_a_file_that_appears_meanwhile(
    project_dir: Path, fake_machine: FakeTools
) -> None:
    project = Project.open(project_dir)  # registry read while profiles/ is still empty
    (project_dir / "profiles").mkdir()
    (project_dir / "profiles" / "cpu.yaml").write_text("mine\n")
    result = init_project(project, "cpu")
    assert (project_dir / "profiles" / "cpu.yaml").read_text() == "mine\n"
    assert project_dir / "profiles" / "cpu.yaml" in result.skipped


def test_python_choice(project_dir: Path) -> None:
    project = Project.open(project_dir)
    asked: list[bool] = []

    def found() -> list[Interpreter]:
        asked.append(True)
        return [interp("3.9.18"), interp("3.13.0"), interp("3.16.0"), interp("3.12.1")]

    assert choose_python(project, ["cpu"], found, running="3.12") == "3.12"
    assert not asked  # discovery (slow) only when the running Python will not do
    assert choose_python(project, ["cpu"], found, running="3.16") == "3.13"
    # cu118's newest torch stops at Python 3.13; nothing newer is offered for it
    assert choose_python(project, ["cpu", "cu118"], lambda: [], running="3.16") == "3.13"
    assert choose_python(project, ["cpu"], lambda: [], running="3.16") == "3.14"
