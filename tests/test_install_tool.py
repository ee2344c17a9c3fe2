"""envgen for users: installed as a tool (``uv tool install``) from a built wheel and from the
repository, offline, and ``python -m envgen`` behaving exactly like ``envgen`` (issue 11)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, isolated_pip_env

# The same answers, exit status included, from both spellings of the command.
SAME_ANSWERS = [
    ["--version"],
    ["list"],
    ["show", "cpu"],
    ["render", "cpu", "--stdout", "-f", "requirements.txt"],
    ["rendr", "cpu"],  # usage error: 2
    ["render", "no-such-profile"],  # bad input: 2
    ["check", "cpu"],  # nothing rendered: 1
]


def _user_env(tmp: Path) -> dict[str, str]:
    """A user's environment with every cache and tool directory in ``tmp``."""
    env = isolated_pip_env(tmp)
    env.update(
        XDG_CACHE_HOME=str(tmp / "cache"),
        UV_TOOL_DIR=str(tmp / "tools"),
        UV_TOOL_BIN_DIR=str(tmp / "bin"),
        UV_PYTHON_INSTALL_DIR=str(tmp / "pythons"),
        UV_PYTHON_DOWNLOADS="never",
        UV_OFFLINE="1",
    )
    env.pop("ENVGEN_DEBUG", None)
    return env


def _answers(command: list[str], cwd: Path, env: dict[str, str]) -> list[tuple[int, str]]:
    out = []
    for args in SAME_ANSWERS:
        done = subprocess.run(
            [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
        )
        assert "Traceback" not in done.stderr, done.stderr
        out.append((done.returncode, done.stdout + done.stderr))
    return out


def _a_user_directory(tmp: Path) -> Path:
    work = tmp / "my-project"
    work.mkdir()
    (work / "pyproject.toml").write_text('[project]\nname = "mine"\nversion = "0"\n')
    return work


def test_python_m_envgen_behaves_like_envgen(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "envgen"
    if not script.exists():
        pytest.skip(f"no envgen script next to {sys.executable} (envgen not installed there)")
    work = _a_user_directory(tmp_path)
    env = _user_env(tmp_path)
    by_script = _answers([str(script)], work, env)
    by_module = _answers([sys.executable, "-m", "envgen"], work, env)
    assert [code for code, _ in by_script] == [0, 0, 0, 0, 2, 2, 1]
    assert by_module == by_script


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        pytest.skip("needs uv (a dependency of envgen: pip install -e '.[dev]')")
    return found


def _tool_install(source: str, wheelhouse: Path, tmp: Path) -> Path:
    """``uv tool install SOURCE`` offline, from the local wheelhouse only; the tool's bin dir."""
    env = _user_env(tmp)
    subprocess.run(
        [
            _uv(),
            "tool",
            "install",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            "--python",
            sys.executable,
            source,
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return tmp / "bin"


def _check_installed_tool(bin_dir: Path, tmp: Path) -> None:
    envgen = bin_dir / ("envgen.exe" if os.name == "nt" else "envgen")
    assert envgen.is_file()
    env = _user_env(tmp)
    work = _a_user_directory(tmp)
    # the tool's own copy of envgen, not the one under test in this checkout
    tool_python = tmp / "tools" / "torch-envgen" / "bin" / "python"
    where = subprocess.run(
        [str(tool_python), "-c", "import envgen; print(envgen.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(tmp / "tools")), where
    done = subprocess.run(
        [str(envgen), "render", "gpu-cu118"], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    req = (work / "envs" / "gpu-cu118" / "requirements.txt").read_text()
    assert "--index-url https://download.pytorch.org/whl/cu118\n" in req
    doc = yaml.safe_load((work / "envs" / "gpu-cu118" / "environment.yml").read_text())
    assert doc["name"] == "gpu-cu118"
    shutil.rmtree(work / "envs")
    assert _answers([str(tool_python), "-m", "envgen"], work, env) == _answers(
        [str(envgen)], work, env
    )


@pytest.mark.e2e
def test_uv_tool_install_from_a_built_wheel(
    tmp_path: Path, wheelhouse: Path, envgen_wheel: Path
) -> None:
    bin_dir = _tool_install(str(envgen_wheel), wheelhouse, tmp_path / "user")
    _check_installed_tool(bin_dir, tmp_path / "user")


def _copy_of_the_repository(target: Path) -> Path:
    """What a clone holds: the source without this checkout's venv, caches and outputs."""
    ignored = shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache", ".pytest_cache",
        "envs", ".envgen", "dist", "build",
    )  # fmt: skip
    shutil.copytree(REPO_ROOT, target, ignore=ignored)
    return target


@pytest.mark.e2e
def test_uv_tool_install_from_the_repository(tmp_path: Path, wheelhouse: Path) -> None:
    """The build backend (hatchling) comes from the same local wheelhouse: no network."""
    clone = _copy_of_the_repository(tmp_path / "envgen")
    bin_dir = _tool_install(str(clone), wheelhouse, tmp_path / "user")
    _check_installed_tool(bin_dir, tmp_path / "user")
