"""verify and run against a real PyTorch CPU build, matrix product included.

The torch wheel comes from the directory this machine's pip config names as find-links, its
dependencies from the configured local index; both are passed to uv explicitly (all config
ignored). Skipped, with the reason, where the wheel or its dependencies are not available.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envgen import verify_checks as vc
from envgen.project import Project
from envgen.verify import verify_env
from tests.conftest import isolated_pip_env
from tests.fixtures.envs import make_venv, mark_created, pyenv_python, write_lock
from tests.helpers import run_cli, write_profile

pytestmark = pytest.mark.e2e
TORCH = "2.13.0"
CPU = f'python: "3.11"\npytorch: {{version: "{TORCH}", packages: [torch]}}\nplatforms: [linux-64]\n'


def _pip_config(key: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", key],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return out.split()


@pytest.fixture(scope="module")
def torch_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    links = _pip_config("global.find-links")
    wheels = [w for d in links for w in Path(d).glob(f"torch-{TORCH}+cpu-cp311-*.whl")]
    if not wheels:
        pytest.skip(f"no torch-{TORCH}+cpu cp311 wheel in pip's find-links ({links or 'unset'})")
    indexes = _pip_config("global.extra-index-url") + _pip_config("global.index-url")
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    tmp = tmp_path_factory.mktemp("torch-env")
    prefix = make_venv(tmp / "env", pyenv_python("3.11"), pip=True)
    args = [uv, "pip", "install", "--python", str(prefix / "bin" / "python"), "--offline"]
    args += [a for url in indexes[:1] for a in ("--index-url", url)]
    args += [a for url in indexes[1:] for a in ("--extra-index-url", url)]
    args += ["--find-links", str(wheels[0].parent), f"torch=={TORCH}+cpu"]
    proc = subprocess.run(args, env=isolated_pip_env(tmp), capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"torch's dependencies are not available locally: {proc.stderr[-300:]}")
    return prefix


@pytest.fixture
def cpu_env(torch_env: Path, project_dir: Path) -> Path:
    write_profile(project_dir, "cpu", CPU)
    mark_created(torch_env, "cpu")
    return torch_env


def test_a_cpu_profile_passes_including_the_matrix_product(cpu_env: Path) -> None:
    report = verify_env(Project.open(), "cpu", prefix=cpu_env)
    failed = [c for c in report.checks if c.status != vc.PASS]
    assert not failed, failed
    (matmul,) = [c for c in report.checks if c.name == "matmul"]
    assert "float32 on cpu matches a plain-Python product" in matmul.detail
    assert report.facts["torch"]["version"] == f"{TORCH}+cpu"


def test_cli_json_for_ci(cpu_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "verify", "cpu", "--prefix", str(cpu_env), "--json")
    assert result.code == 0, result.out
    data = json.loads(result.out)
    assert data["ok"] and data["counts"] == {"pass": 11, "fail": 0, "skip": 0}


def test_the_lock_is_checked_package_by_package(cpu_env: Path, project_dir: Path) -> None:
    # Lock exactly what the environment holds (pip and setuptools come with the venv).
    report = verify_env(Project.open(), "cpu", prefix=cpu_env)
    dists = dict(report.facts["interpreter"]["distributions"])
    lock = project_dir / "envs" / "cpu" / "requirements-linux-64.lock.txt"
    write_lock(lock, {k: v for k, v in dists.items() if k not in ("pip", "setuptools")})
    report = verify_env(Project.open(), "cpu", prefix=cpu_env)
    (packages,) = [c for c in report.checks if c.name == "packages"]
    assert packages.status == "pass" and packages.detail.startswith(f"{len(dists) - 2} of ")

    write_lock(lock, {**dists, "sympy": "1.13.1"})
    report = verify_env(Project.open(), "cpu", prefix=cpu_env)
    (packages,) = [c for c in report.checks if c.name == "packages"]
    assert packages.status == "fail"
    assert (
        packages.detail
        == f"sympy is {dists['sympy']} (envs/cpu/requirements-linux-64.lock.txt: ==1.13.1)"
    )


def test_a_cuda_profile_fails_on_the_cpu_build(torch_env: Path, project_dir: Path) -> None:
    write_profile(project_dir, "gpu", 'python: "3.11"\naccelerator: cuda\ncuda: "11.8"\n')
    report = verify_env(Project.open(), "gpu", python=torch_env / "bin" / "python")
    (build,) = [c for c in report.checks if c.name == "torch build"]
    assert build.status == "fail"
    assert build.detail.endswith("but the profile wants a CUDA 11.8 build")


def test_run_imports_torch_in_the_environment(cpu_env: Path) -> None:
    code = "import torch, sys; print(torch.__version__, sys.prefix)"
    command = ["run", "cpu", "--prefix", str(cpu_env), "--", "python", "-c", code]
    result = subprocess.run(
        [sys.executable, "-m", "envgen", *command],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"{TORCH}+cpu", str(cpu_env)]
