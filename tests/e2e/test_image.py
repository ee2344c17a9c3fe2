"""The rendered Dockerfile, built into an image by podman, as a user behind a mirror builds it.

render → lock (through mirrors: the lock names the public indexes) → ``podman build`` of the
unchanged Dockerfile with the mirrors given as build arguments, so that the image installs the
hashed lock from loopback indexes and its build-time ``envgen verify`` (envgen installed by its
pinned name, torch-envgen==VERSION, from the PyPI mirror) passes; then the image runs torch.
The real torch-2.13.0+cpu wheel where this machine has it, the stand-in torch otherwise.
And devcontainer.json, written to another output directory, built by the Dev Containers CLI
(npm's @devcontainers/cli) with podman: its context and ENVGEN_DIR lead to the project and lock.

Needs podman (with runc) and a base image for ``FROM python:3.11-slim`` in podman's storage:
no registry is reachable, so ``.ci/image-setup`` makes one with debootstrap and ``podman
import``, tagged with the name podman resolves the Dockerfile's FROM to. Marked ``image``: it
takes minutes and runs in its own step (``pytest -m image``), gated like an e2e flow there.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import envgen
from tests.conftest import isolated_pip_env
from tests.fixtures.pypi_index import PYPI_INDEX, PYPI_PUBLIC, PYTORCH_PUBLIC, LocalIndexes
from tests.fixtures.stand_in_torch import serve_stand_in_torch
from tests.helpers import write_profile
from tests.torch_local import TORCH, dependency_closure, torch_wheel

pytestmark = pytest.mark.image
PYTHON = "3.11"  # the base image's Python (Debian bookworm's, as .ci/image-setup makes it)
BASE = f"docker.io/library/python:{PYTHON}-slim"  # what podman resolves the FROM line to
PROFILE = f"""
python: "{PYTHON}"
accelerator: cpu
pytorch: {{version: "{TORCH}", packages: [torch]}}
platforms: [linux-64]
outputs: [Dockerfile, devcontainer.json]
"""


def _podman() -> list[str]:
    podman = shutil.which("podman")
    if podman is None:
        pytest.skip("podman is not installed (.ci/image-setup installs it from Debian)")
    # crun, podman's default runtime, fails on hybrid cgroups; runc works on them
    runtime = ["--runtime", "runc"] if shutil.which("runc") else []
    found = subprocess.run([podman, "image", "exists", BASE], capture_output=True, check=False)
    if found.returncode != 0:
        pytest.skip(f"no base image {BASE} in podman's storage (.ci/image-setup makes one)")
    return [podman, *runtime]


def _serve_torch(indexes: LocalIndexes) -> str:
    """PyTorch's CPU index with real torch where this machine has it, else the stand-in."""
    wheel = torch_wheel()
    deps = dependency_closure(wheel) if wheel is not None else "no real torch wheel"
    if wheel is None or isinstance(deps, str):
        serve_stand_in_torch(indexes, version=TORCH)
        return "stand-in"
    for index in ("whl/cpu", PYPI_INDEX):
        (indexes.root / index).mkdir(parents=True, exist_ok=True)
    indexes.add_file("whl/cpu", wheel)
    for dep in deps:
        indexes.add_file("whl/cpu", dep)
    return "real"


def _serve_envgen(indexes: LocalIndexes, wheel: Path, wheelhouse: Path) -> None:
    """The PyPI mirror: envgen's own wheel (as torch-envgen) and its dependencies."""
    (indexes.root / PYPI_INDEX).mkdir(parents=True, exist_ok=True)
    indexes.add_file(PYPI_INDEX, wheel)
    for dep in sorted(wheelhouse.glob("*.whl")):
        indexes.add_file(PYPI_INDEX, dep)


def _envgen(project: Path, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = isolated_pip_env(tmp) | {"XDG_CACHE_HOME": str(tmp / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "envgen", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _verify_report(log: str) -> dict[str, Any]:
    """The JSON report ``envgen verify --json`` printed during the build (the Dev Containers
    CLI stamps a time before some lines of the build's output)."""
    log = re.sub(r"(?m)^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] ", "", log)
    decoder = json.JSONDecoder()
    for start in (i for i, char in enumerate(log) if char == "{" and log[i - 1 : i] == "\n"):
        try:
            report, _ = decoder.raw_decode(log[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(report, dict) and "checks" in report and "ok" in report:
            return report
    raise AssertionError("no verify report in the build log:\n" + log[-6000:])


@pytest.fixture
def image_name() -> Iterator[str]:
    name = f"localhost/envgen-test-{uuid.uuid4().hex[:12]}"
    yield name
    podman = shutil.which("podman")
    if podman:
        subprocess.run([podman, "rmi", "--force", name], capture_output=True, check=False)


def test_the_rendered_dockerfile_builds_and_its_build_check_passes(
    project_dir: Path,
    tmp_path: Path,
    local_indexes: LocalIndexes,
    wheelhouse: Path,
    envgen_wheel: Path,
    image_name: str,
) -> None:
    podman = _podman()
    if sys.version_info[:2] != (3, 11):
        pytest.skip(  # the PyPI mirror serves envgen's dependencies repacked from this venv
            f"envgen's dependencies here are built for Python {sys.version_info[0]}."
            f"{sys.version_info[1]}; the base image has {PYTHON}"
        )
    torch = _serve_torch(local_indexes)
    _serve_envgen(local_indexes, envgen_wheel, wheelhouse)
    local_indexes.publish()
    write_profile(project_dir, "box", PROFILE)
    mirrors = [
        f"--mirror={PYTORCH_PUBLIC}={local_indexes.url('whl')}",
        f"--mirror={PYPI_PUBLIC}={local_indexes.pypi_url}",
    ]
    rendered = _envgen(project_dir, "render", "box", tmp=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert "does not exist yet: run 'envgen lock box'" in rendered.stderr
    locked = _envgen(project_dir, "lock", "box", "--no-conda", *mirrors, tmp=tmp_path)
    assert locked.returncode == 0, locked.stderr
    lock = (project_dir / "envs" / "box" / "requirements-linux-64.lock.txt").read_text()
    assert local_indexes.base_url not in lock  # the lock names the public indexes only
    checked = _envgen(project_dir, "check", "box", tmp=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    build = [
        *podman,
        "build",
        "--pull=never",  # no registry: FROM resolves to the local base image
        "--no-cache",  # every step, the build check included, runs in this test
        "--network=host",  # RUN reaches the loopback indexes
        "--build-arg",
        f"PYTORCH_INDEX={local_indexes.pytorch_url('cpu')}",
        "--build-arg",
        f"PYPI_INDEX={local_indexes.pypi_url}",
        "-f",
        "envs/box/Dockerfile",
        "-t",
        image_name,
        ".",
    ]
    started = time.monotonic()
    built = subprocess.run(
        build, cwd=project_dir, capture_output=True, text=True, timeout=900, check=False
    )
    seconds = time.monotonic() - started
    log = built.stdout + built.stderr
    assert built.returncode == 0, log[-6000:]
    print(f"image build ({torch} torch {TORCH}+cpu): {seconds:.1f} s")

    report = _verify_report(log)
    assert report["ok"] is True, report
    facts = report["facts"]
    assert facts["torch"]["version"] == f"{TORCH}+cpu"
    assert facts["torch"]["file"].startswith("/opt/venv/")
    assert f"torch-envgen=={envgen.__version__}" in log  # envgen by its pinned name
    # the image itself: its venv, first on PATH, imports torch
    ran = subprocess.run(
        [
            *podman,
            "run",
            "--rm",
            "--network=none",
            "--ulimit=nofile=20000:20000",  # no CAP_SYS_RESOURCE here to raise the defaults
            "--ulimit=nproc=4096:4096",
            image_name,
            "python",
            "-c",
            "import sys, torch; print(torch.__version__, sys.prefix)",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [f"{TORCH}+cpu", "/opt/venv"]


CONTAINERS_CONF = """\
[containers]
netns = "host"
[engine]
runtime = "runc"
"""


def test_the_devcontainer_cli_builds_devcontainer_json_from_its_output_directory(
    project_dir: Path,
    tmp_path: Path,
    local_indexes: LocalIndexes,
    wheelhouse: Path,
    envgen_wheel: Path,
    image_name: str,
) -> None:
    """``devcontainer build`` reads devcontainer.json as a user's editor would: the build
    context and ENVGEN_DIR it names must lead, from ``build/containers/box/`` (three levels
    down, where the default two would be wrong), to the project root
    and the lock. The project's mirrors are the Dockerfile's index defaults here (the CLI passes
    only the file's own build arguments); host networking comes from podman's containers.conf."""
    _podman()
    cli = shutil.which("devcontainer")
    if cli is None:
        pytest.skip("the Dev Containers CLI is not installed (.ci/image-setup installs it)")
    if sys.version_info[:2] != (3, 11):
        pytest.skip(f"envgen's dependencies here are not built for the image's Python {PYTHON}")
    serve_stand_in_torch(local_indexes, version=TORCH)
    _serve_envgen(local_indexes, envgen_wheel, wheelhouse)
    local_indexes.publish()
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.envgen]\noutput = "build/containers/{profile}"\n')
        fh.write(local_indexes.mirror_toml())
    write_profile(project_dir, "box", PROFILE)
    for command in (["render", "box"], ["lock", "box", "--no-conda"]):
        done = _envgen(project_dir, *command, tmp=tmp_path)
        assert done.returncode == 0, done.stderr
    assert (
        project_dir / "build" / "containers" / "box" / "requirements-linux-64.lock.txt"
    ).is_file()
    conf = tmp_path / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    home = tmp_path / "home"
    home.mkdir()
    env = isolated_pip_env(tmp_path) | {
        "CONTAINERS_CONF": str(conf),
        "TMPDIR": str(tmp_path),
        "HOME": str(home),
    }
    command = [
        cli,
        "build",
        "--docker-path",
        shutil.which("podman") or "podman",
        "--workspace-folder",
        str(project_dir),
        "--config",
        "build/containers/box/devcontainer.json",
        "--image-name",
        image_name,
        "--no-cache",
    ]
    started = time.monotonic()
    built = subprocess.run(
        command, cwd=project_dir, env=env, capture_output=True, text=True, timeout=900
    )
    seconds = time.monotonic() - started
    log = built.stdout + built.stderr
    assert built.returncode == 0, log[-6000:]
    assert json.loads(built.stdout.strip().splitlines()[-1])["outcome"] == "success"
    assert "--build-arg ENVGEN_DIR=build/containers/box" in log
    print(f"devcontainer build (stand-in torch {TORCH}+cpu): {seconds:.1f} s")
    report = _verify_report(log)
    assert report["ok"] is True, report
    assert report["facts"]["torch"]["version"] == f"{TORCH}+cpu"
