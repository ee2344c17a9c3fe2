"""render → lock → create (venv with uv, venv with pip) → verify → run, with a CPU torch.

Always on the stand-in torch wheel the suite builds (``tests/fixtures/stand_in_torch.py``), and
in addition on the real torch-2.13.0+cpu where this machine has it (pip's find-links directory,
its dependencies from the local simple index pip's config names). Either is served by the
loopback index fixture as PyTorch's CPU index (and PyPI), reached through the project's mirrors:
no network.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from envgen.project import Project
from envgen.verify import verify_env
from tests.fixtures.envs import OWN_MINOR, find_python
from tests.fixtures.pypi_index import PYPI_INDEX, LocalIndexes
from tests.fixtures.stand_in_torch import serve_stand_in_torch
from tests.helpers import create_named, lock_named, run_cli, write_profile
from tests.torch_local import TORCH, dependency_closure, torch_wheel

pytestmark = pytest.mark.e2e
PROFILE = """
python: "{python}"
accelerator: cpu
pytorch: {{version: "{torch}", packages: [torch]}}
platforms: [linux-64]
"""


def serve_real_torch(indexes: LocalIndexes) -> None:
    wheel = torch_wheel()
    if wheel is None:
        pytest.skip(f"no real torch-{TORCH}+cpu cp311 wheel in pip's find-links directory")
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


@pytest.mark.parametrize(
    "torch", ["stand-in", pytest.param("real", marks=pytest.mark.variant("real torch"))]
)
def test_cpu_torch_render_lock_create_verify_run(
    torch: str,
    project_dir: Path,
    local_indexes: LocalIndexes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if torch == "real":
        serve_real_torch(local_indexes)
        minor = "3.11"  # the real wheel is cp311
    else:
        serve_stand_in_torch(local_indexes, version=TORCH)
        minor = OWN_MINOR
    python = find_python(minor)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + local_indexes.mirror_toml())
    write_profile(project_dir, "cpu-torch", PROFILE.format(python=minor, torch=TORCH))
    assert run_cli(capsys, "render", "cpu-torch").code == 0
    project = Project.open()
    lock_named(project, "cpu-torch", conda=False)

    for installer, prefix in (("uv", None), ("pip", project_dir / "env-pip")):
        result = create_named(
            project, "cpu-torch", python=python, prefix=prefix, installer=installer
        )
        assert (result.status, result.installer) == ("created", installer)
        assert result.sources == ("envs/cpu-torch/requirements-linux-64.lock.txt",)
        report = verify_env(project, "cpu-torch", prefix=prefix)
        failed = [c for c in report.checks if c.status != "pass"]
        assert report.ok and not failed, failed
        assert report.facts["torch"]["version"] == f"{TORCH}+cpu"
        assert report.facts["torch"]["file"].startswith(str(result.prefix))

        code = "import sys, torch; print(torch.__version__, torch.version.cuda, sys.prefix)"
        run = ["run", "cpu-torch", "--prefix", str(result.prefix), "--", "python", "-c", code]
        ran = subprocess.run(
            [sys.executable, "-m", "envgen", *run],
            cwd=project_dir,
            capture_output=True,
            text=True,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.split() == [f"{TORCH}+cpu", "None", str(result.prefix)]
