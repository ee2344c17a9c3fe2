"""verify and run against a CPU torch build, matrix product included.

Always on the stand-in torch wheel the suite builds; in addition on the real torch-2.13.0+cpu
where this machine has it (pip's find-links directory, its dependencies from the configured local
index, both passed to uv explicitly with all config ignored).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from envgen import verify_checks as vc
from envgen.project import Project
from envgen.verify import verify_env
from tests.conftest import isolated_pip_env
from tests.fixtures.envs import OWN_MINOR, find_python, make_venv, mark_created, write_lock
from tests.helpers import run_cli, write_profile
from tests.torch_local import TORCH, pip_config, torch_wheel

pytestmark = pytest.mark.e2e
CPU = """
python: "{python}"
pytorch: {{version: "{torch}", packages: [torch]}}
platforms: [linux-64]
"""


@dataclass(frozen=True)
class TorchEnv:
    prefix: Path
    python: str  # the minor the environment has, for the profile


def _install(prefix: Path, tmp: Path, sources: list[str]) -> subprocess.CompletedProcess[str]:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    args = [uv, "pip", "install", "--python", str(prefix / "bin" / "python"), "--offline"]
    args += [*sources, f"torch=={TORCH}+cpu"]
    return subprocess.run(args, env=isolated_pip_env(tmp), capture_output=True, text=True)


@pytest.fixture(
    scope="module",
    params=["stand-in", pytest.param("real", marks=pytest.mark.variant("real torch"))],
)
def torch_env(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    stand_in_torch_links: Path,
) -> TorchEnv:
    tmp = tmp_path_factory.mktemp("torch-env")
    if request.param == "stand-in":
        prefix = make_venv(tmp / "env", find_python(OWN_MINOR), pip=True)
        proc = _install(prefix, tmp, ["--no-index", "--find-links", str(stand_in_torch_links)])
        assert proc.returncode == 0, proc.stderr
        return TorchEnv(prefix, OWN_MINOR)
    wheel = torch_wheel()
    if wheel is None:
        pytest.skip(f"no real torch-{TORCH}+cpu cp311 wheel in pip's find-links directory")
    indexes = pip_config("global.extra-index-url") + pip_config("global.index-url")
    prefix = make_venv(tmp / "env", find_python("3.11"), pip=True)
    sources = [a for url in indexes[:1] for a in ("--index-url", url)]
    sources += [a for url in indexes[1:] for a in ("--extra-index-url", url)]
    proc = _install(prefix, tmp, [*sources, "--find-links", str(wheel.parent)])
    if proc.returncode != 0:
        pytest.skip(f"torch's dependencies are not available locally: {proc.stderr[-300:]}")
    return TorchEnv(prefix, "3.11")


@pytest.fixture
def cpu_env(torch_env: TorchEnv, project_dir: Path) -> Path:
    write_profile(project_dir, "cpu", CPU.format(python=torch_env.python, torch=TORCH))
    mark_created(torch_env.prefix, "cpu")
    return torch_env.prefix


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

    write_lock(lock, {**dists, "filelock": "0.0.1"})  # torch's dependency, in both builds
    report = verify_env(Project.open(), "cpu", prefix=cpu_env)
    (packages,) = [c for c in report.checks if c.name == "packages"]
    assert packages.status == "fail"
    assert (
        packages.detail
        == f"filelock is {dists['filelock']} (envs/cpu/requirements-linux-64.lock.txt: ==0.0.1)"
    )


def test_a_cuda_profile_fails_on_the_cpu_build(torch_env: TorchEnv, project_dir: Path) -> None:
    profile = f'python: "{torch_env.python}"\naccelerator: cuda\ncuda: "11.8"\n'
    write_profile(project_dir, "gpu", profile)
    report = verify_env(Project.open(), "gpu", python=torch_env.prefix / "bin" / "python")
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
