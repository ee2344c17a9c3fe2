"""Shell completion (click's) for commands, options and profile names (docs/commands.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import write_profile

BIN = Path(sys.executable).parent


def _complete(project: Path, *words: str) -> list[str]:
    env = {
        **os.environ,
        "_ENVGEN_COMPLETE": "bash_complete",
        "COMP_WORDS": " ".join(["envgen", *words]),
        "COMP_CWORD": str(len(words)),
    }
    done = subprocess.run(
        [sys.executable, "-m", "envgen"], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line]


def test_commands_options_and_profiles_complete(project_dir: Path) -> None:
    write_profile(project_dir, "gpu-train", "extends: gpu-cu128\n")
    assert "matrix" in _complete(project_dir, "ma")
    assert _complete(project_dir, "render", "gpu-t") == ["gpu-train"]
    assert "gpu-cu118" in _complete(project_dir, "lock", "gpu-cu1")
    assert _complete(project_dir, "matrix", "--format", "g") == ["github", "gitlab"]


def test_a_broken_project_completes_nothing_quietly(project_dir: Path) -> None:
    (project_dir / "pyproject.toml").write_text("[tool.envgen\n")
    assert _complete(project_dir, "render", "c") == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_documented_source_scripts_are_printed(project_dir: Path, shell: str) -> None:
    env = {**os.environ, "_ENVGEN_COMPLETE": f"{shell}_source"}
    done = subprocess.run(
        [sys.executable, "-m", "envgen"], env=env, capture_output=True, text=True, check=True
    )
    assert "_envgen_completion" in done.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_through_the_sourced_script(project_dir: Path) -> None:
    script = (
        'eval "$(_ENVGEN_COMPLETE=bash_source envgen)"; '
        "COMP_WORDS=(envgen ver); COMP_CWORD=1; _envgen_completion envgen; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", script], cwd=project_dir, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["verify"]
