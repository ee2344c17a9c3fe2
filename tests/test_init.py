"""init: a repository gets profiles fitted to the machine, and nothing is ever overwritten."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from tests.fixtures.gpu_tools import A100, FakeTools
from tests.helpers import run_cli, snapshot


def test_init_writes_profiles_section_and_gitignore(
    capsys, project_dir: Path, fake_tools: FakeTools, monkeypatch
) -> None:
    fake_tools.nvidia_smi("550.54.15", A100)
    monkeypatch.setenv("PATH", f"{fake_tools.bin}{os.pathsep}{os.environ['PATH']}")
    result = run_cli(capsys, "init")
    assert result.code == 0, result.err
    profiles = project_dir / "profiles"
    assert sorted(p.name for p in profiles.iterdir()) == ["base.yaml", "cpu.yaml", "gpu-cu128.yaml"]
    gpu = yaml.safe_load((profiles / "gpu-cu128.yaml").read_text())
    assert gpu["extends"] == "base" and gpu["accelerator"] == "cuda" and gpu["cuda"] == "12.8"
    assert "[tool.envgen]" in (project_dir / "pyproject.toml").read_text()
    assert ".envgen/" in (project_dir / ".gitignore").read_text().split()
    assert "envgen create gpu-cu128" in result.out
    # the project's profiles now resolve and render
    assert run_cli(capsys, "render", "gpu-cu128", "cpu").code == 0
    listing = run_cli(capsys, "list").out
    assert "gpu-cu128  project (overrides built-in)" in listing


def test_init_never_overwrites(capsys, project_dir: Path) -> None:
    (project_dir / "profiles").mkdir()
    (project_dir / "profiles" / "base.yaml").write_text('python: "3.12"\n')
    (project_dir / ".gitignore").write_text("build/\n")
    first = run_cli(capsys, "init")
    assert first.code == 0, first.err
    assert "kept      profiles/base.yaml" in first.out
    assert (project_dir / "profiles" / "base.yaml").read_text() == 'python: "3.12"\n'
    assert (project_dir / ".gitignore").read_text() == (
        "build/\n# envgen's environments (built by `envgen create`)\n.envgen/\n"
    )
    before = snapshot(project_dir)
    again = run_cli(capsys, "init")
    assert again.code == 0
    assert snapshot(project_dir) == before
    assert "wrote" not in again.out and "updated" not in again.out
