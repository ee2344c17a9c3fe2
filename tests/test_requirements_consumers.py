"""The rendered ``requirements.txt`` installed by real pip and real uv, as the README says.

A profile with its own ``pip:`` packages needs PyPI next to the PyTorch index. pip merges every
index; uv searches ``--extra-index-url`` before ``--index-url`` and takes a name only from the
first index that has it. The loopback "PyPI" offers a planted higher torch (and a planted
``pytorch-triton``, the name of the 2022 torchtriton attack): both installers must take the
torch family from the PyTorch index, each run isolated from this machine's pip and uv config.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import isolate_installers, isolated_pip_env
from tests.fixtures.pypi_index import PYPI_INDEX, LocalIndexes
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
PROBE = (
    "import importlib, json\n"
    "names = ['torch', 'torchvision', 'tqdm', 'pytorch_triton']\n"
    "found = {}\n"
    "for name in names:\n"
    "    try:\n"
    "        module = importlib.import_module(name)\n"
    "    except ImportError:\n"
    "        continue\n"
    "    found[name] = [module.__version__, module.BUILD]\n"
    "print(json.dumps(found))\n"
)


@pytest.fixture
def rendered(
    project_dir: Path,
    torch_indexes: LocalIndexes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Path:
    """Both profiles rendered through the project's mirrors (so the files name the loopback
    indexes, as a project's committed mirror settings do), with PyPI planted."""
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + torch_indexes.mirror_toml())
    isolate_installers(monkeypatch, project_dir.parent)
    torch_indexes.add(PYPI_INDEX, "torch", "9.9.9", marker="EVIL")
    torch_indexes.add(PYPI_INDEX, "torchvision", "9.9.9", marker="EVIL")
    torch_indexes.add(PYPI_INDEX, "pytorch-triton", "9.9.9", marker="EVIL")
    torch_indexes.publish()
    for name, text in PROFILES.items():
        write_profile(project_dir, name, text)
    assert run_cli(capsys, "render", *PROFILES).code == 0
    return project_dir / "envs"


def _venv(path: Path) -> str:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return str(path / "bin" / "python")


def _installed(python: str) -> dict[str, list[str]]:
    import json

    done = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, check=True)
    found: dict[str, list[str]] = json.loads(done.stdout)
    return found


INSTALLERS = {
    # pip runs from this interpreter into the target environment (pip's --python), as a user's
    # ``<env python> -m pip install -r requirements.txt`` would.
    "pip": lambda python, path: [
        *(sys.executable, "-m", "pip", "--python", python, "install"),
        *("--no-cache-dir", "-r", str(path)),
    ],
    "uv": lambda python, path: [
        *(sys.executable, "-m", "uv", "pip", "install", "--python", python),
        *("-r", str(path)),
    ],
}


@pytest.mark.parametrize("installer", sorted(INSTALLERS))
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_requirements_txt_installs_torch_from_the_pytorch_index_with_pip_and_uv(
    rendered: Path, tmp_path: Path, installer: str, profile: str
) -> None:
    path = rendered / profile / "requirements.txt"
    python = _venv(tmp_path / "venv")
    command = INSTALLERS[installer](python, path)
    done = subprocess.run(
        command, env=isolated_pip_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, path.read_text() + done.stdout + done.stderr
    found = _installed(python)
    variant = "cpu" if profile == "cpu" else "cu118"
    assert found["torch"] == [f"2.4.1+{variant}", f"whl/{variant}"]
    assert found["torchvision"] == [f"0.19.1+{variant}", f"whl/{variant}"]
    assert found["tqdm"][1] == PYPI_INDEX
    if profile == "gpu":
        # torch's Linux dependency, on both indexes: uv keeps to the PyTorch index, pip takes
        # the higher version wherever it is. The file's header says so and points to the
        # hashed locks; this keeps that sentence true.
        origin = "whl/cu118" if installer == "uv" else "EVIL"
        assert found["pytorch_triton"][1] == origin
