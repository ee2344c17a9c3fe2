"""conda-lock itself accepts envgen's ``conda-lock.yml`` as current for the committed spec.

Judged by conda-lock's own ``lock --check-input-hash`` run as a user runs it (the command in the
spec's header), with a stand-in conda that answers only ``--version``: a matching
``content_hash`` makes conda-lock skip the solve; any other makes it call the stand-in to solve,
which fails. CPU (``--without-cuda``) and CUDA (``--with-cuda X.Y``) profiles, each with a pip
part, locked through loopback mirrors by the rattler engine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import isolate_installers
from tests.fixtures.conda_channel import CondaChannel
from tests.fixtures.pypi_index import LocalIndexes
from tests.helpers import run_cli, write_profile

PROFILES = {
    "cpu": """
        python: "3.11"
        accelerator: cpu
        pytorch: {version: "2.4.1", packages: [torch, torchvision]}
        pip: [tqdm]
        """,
    "gpu": """
        python: "3.11"
        accelerator: cuda
        cuda: "11.8"
        pytorch: {version: "2.4.1", packages: [torch, torchvision]}
        pip: [tqdm]
        """,
}


def stub_conda(directory: Path) -> Path:
    """A conda that can say its version and nothing else: solving with it fails loudly."""
    directory.mkdir(parents=True, exist_ok=True)
    conda = directory / "conda"
    conda.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo "conda 24.7.1"; exit 0; fi\n'
        'echo "stub conda asked to solve: $*" >&2\n'
        "exit 97\n"
    )
    conda.chmod(0o755)
    return conda


def conda_lock_check(
    directory: Path, cuda_flag: list[str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """``conda-lock lock --check-input-hash -f conda-lock-spec.yml`` in ``directory``."""
    lookup = tmp_path / "pypi-to-conda.json"  # conda-lock's name table, without a download
    lookup.write_text(
        json.dumps({"pip": {"conda_name": "pip", "conda_forge": "pip", "pypi_name": "pip"}})
    )
    command = [sys.executable, "-m", "conda_lock", "lock", "--check-input-hash"]
    command += ["-f", "conda-lock-spec.yml", "--lockfile", "conda-lock.yml", *cuda_flag]
    command += ["--conda", str(stub_conda(tmp_path / "bin"))]
    command += ["--pypi_to_conda_lookup_file", str(lookup)]
    return subprocess.run(
        command, cwd=directory, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("name", "flag"), [("cpu", ["--without-cuda"]), ("gpu", ["--with-cuda", "11.8"])]
)
def test_conda_lock_check_input_hash_skips_the_solve_of_envgens_lock(
    name: str,
    flag: list[str],
    project_dir: Path,
    torch_indexes: LocalIndexes,
    conda_channel: CondaChannel,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    isolate_installers(monkeypatch, tmp_path)
    write_profile(project_dir, name, PROFILES[name])
    mirrors = {**torch_indexes.mirrors, "conda-forge": conda_channel.url}
    args = [f"--mirror={public}={local}" for public, local in mirrors.items()]
    assert run_cli(capsys, "render", name).code == 0
    locked = run_cli(capsys, "lock", name, "--engine", "rattler", *args)
    assert locked.code == 0, locked.err
    directory = project_dir / "envs" / name
    spec = (directory / "conda-lock-spec.yml").read_text()
    assert f"conda-lock lock -f conda-lock-spec.yml {' '.join(flag)}" in spec  # the header's
    before = (directory / "conda-lock.yml").read_bytes()

    checked = conda_lock_check(directory, flag, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    said = checked.stderr
    assert "Skipping solve" in said and "Locking dependencies" not in said, said
    assert (directory / "conda-lock.yml").read_bytes() == before

    if name == "gpu":
        # The control (once: it costs a conda-lock run): another CUDA is another hash, and
        # conda-lock solves, with the stand-in, which fails. The check above is a real one.
        solved = conda_lock_check(directory, ["--with-cuda", "12.4"], tmp_path)
        assert solved.returncode != 0
        assert "Locking dependencies" in solved.stderr
        assert "stub conda asked to solve" in solved.stderr
