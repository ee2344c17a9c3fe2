"""The wheel carries templates, profiles and the catalog: build it, install it, render from it."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import isolated_pip_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def wheel(envgen_wheel: Path) -> Path:
    return envgen_wheel


def test_wheel_contains_builtin_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for required in (
        "envgen/_builtin/templates/requirements.txt.j2",
        "envgen/_builtin/templates/environment.yml.j2",
        "envgen/_builtin/profiles/gpu-cu118.yaml",
        "envgen/_builtin/profiles/cpu.yaml",
        "envgen/data/pytorch.yaml",
    ):
        assert required in names
    assert not any(n.startswith(("tests/", "envgen/_builtin/tests")) for n in names)


def test_installed_wheel_renders_in_an_empty_directory(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = isolated_pip_env(tmp_path)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--isolated", "--no-index", "--no-deps", str(wheel)],
        env=env,
        check=True,
        capture_output=True,
    )
    # Dependencies come from the test environment (no network); envgen itself from the wheel.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "deps-from-tests.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "empty"
    work.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import envgen; print(envgen.__file__)"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(venv)), where
    result = subprocess.run(
        [str(venv / "bin" / "envgen"), "render", "gpu-cu118"],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = work / "envs" / "gpu-cu118"
    req = (out / "requirements.txt").read_text()
    assert "--index-url https://download.pytorch.org/whl/cu118\n" in req
    assert "\ntorch==2.7.1+cu118\n" in req
    doc = yaml.safe_load((out / "environment.yml").read_text())
    assert doc["dependencies"][0] == "python=3.11"
    version = subprocess.run(
        [str(python), "-m", "envgen", "--version"], cwd=work, capture_output=True, text=True
    )
    assert version.returncode == 0 and "envgen, version" in version.stdout
