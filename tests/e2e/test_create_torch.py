"""render → lock → create (venv with uv, venv with pip) → verify with the real CPU torch wheel.

torch-2.13.0+cpu comes from pip's find-links directory on this machine and its dependencies from
the local simple index pip's config names, all served by the loopback index fixture as PyTorch's
CPU index (and PyPI), reached through the project's mirrors: no network. Skipped, with the
reason, where the wheel or a dependency is missing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from envgen.create import create_env
from envgen.lock import lock_profile
from envgen.project import Project
from envgen.verify import verify_env
from tests.fixtures.envs import pyenv_python
from tests.fixtures.pypi_index import PYPI_INDEX, LocalIndexes
from tests.helpers import run_cli, write_profile
from tests.torch_local import TORCH, dependency_closure, torch_wheel

pytestmark = pytest.mark.e2e
PROFILE = f"""
python: "3.11"
accelerator: cpu
pytorch: {{version: "{TORCH}", packages: [torch]}}
platforms: [linux-64]
"""


def serve_torch(indexes: LocalIndexes) -> None:
    wheel = torch_wheel()
    if wheel is None:
        pytest.skip(f"no torch-{TORCH}+cpu cp311 wheel in pip's find-links directory")
    deps = dependency_closure(wheel)
    if isinstance(deps, str):
        pytest.skip(deps)
    for index in ("whl/cpu", PYPI_INDEX):  # add_file expects the index directory to exist
        (indexes.root / index).mkdir(parents=True, exist_ok=True)
    indexes.add_file("whl/cpu", wheel)
    for dep in deps:  # PyTorch's index serves torch's dependencies too
        indexes.add_file("whl/cpu", dep)
        indexes.add_file(PYPI_INDEX, dep)
    indexes.publish()


def test_cpu_torch_render_lock_create_verify(
    project_dir: Path,
    local_indexes: LocalIndexes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serve_torch(local_indexes)
    python = pyenv_python("3.11")
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + local_indexes.mirror_toml())
    write_profile(project_dir, "cpu-torch", PROFILE)
    assert run_cli(capsys, "render", "cpu-torch").code == 0
    project = Project.open()
    lock_profile(project, "cpu-torch", conda=False)
    environ = {
        **os.environ,
        "UV_CACHE_DIR": str(tmp_path / "uv"),
        "PIP_CACHE_DIR": str(tmp_path / "pip"),
    }

    for installer, prefix in (("uv", None), ("pip", project_dir / "env-pip")):
        result = create_env(
            project, "cpu-torch", python=python, prefix=prefix, installer=installer, environ=environ
        )
        assert (result.status, result.installer) == ("created", installer)
        assert result.sources == ("envs/cpu-torch/requirements-linux-64.lock.txt",)
        version = subprocess.run(
            [str(result.prefix / "bin" / "python"), "-c", "import torch; print(torch.__version__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert version == f"{TORCH}+cpu"
        report = verify_env(project, "cpu-torch", prefix=prefix)
        failed = [c for c in report.checks if c.status == "fail"]
        assert report.ok, failed
