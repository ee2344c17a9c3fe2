"""``source: conda`` profiles resolve against the catalog's conda_forge facts (issue 21): the
builds conda-forge made per subdir and CUDA version, its Pythons and the companions it built
against each pytorch, recorded from the feedstocks' history; ``show`` names them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envgen.catalog import load_catalog
from envgen.project import Project
from tests.helpers import run_cli, write_profile

CONDA = 'source: conda\npython: "{python}"\naccelerator: {accelerator}\n'


def _resolve(project_dir: Path, text: str) -> object:
    write_profile(project_dir, "p", text)
    return Project.open().resolve("p").env


def test_every_conda_forge_entry_cites_recorded_sources_and_names_real_builds() -> None:
    catalog = load_catalog()
    assert len(catalog.conda_forge) >= 20
    for version, builds in catalog.conda_forge.items():
        assert catalog.find(version) is not None, version  # only releases the catalog has
        assert builds.sources and all("read" not in catalog.sources[s] for s in builds.sources)
        assert builds.cpu_platforms and builds.python
        assert all(p in builds.platforms for ps in builds.cuda_platforms.values() for p in ps)
    # spot checks against the feedstock history (pytorch-cpu-feedstock 55fb9b87, d21fc6db)
    built = catalog.conda_forge["2.7.1"]
    assert built.cuda_platforms["12.6"] == ("linux-64", "linux-aarch64", "win-64")
    assert built.cuda_platforms["12.9"] == ("linux-64", "linux-aarch64")
    assert (built.torchvision, built.torchaudio) == ("0.22.1", "2.7.1")
    assert catalog.conda_forge["2.11.0"].torchaudio is None  # torchaudio 2.11.0 pins pytorch 2.10
    assert "2.2.0" not in catalog.conda_forge and "2.9.0" not in catalog.conda_forge


def test_gpu_conda_resolves_against_the_facts_and_show_names_them(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "show", "gpu-conda")
    assert result.code == 0, result.err
    assert (
        "conda-forge  pytorch 2.7.1; CUDA 12.6 (linux-64, linux-aarch64, win-64), 12.8 (win-64), "
        "12.9 (linux-64, linux-aarch64); CPU (" in result.out
    )
    assert "Python 3.9 to 3.13; torchvision 0.22.1, torchaudio 2.7.1\n" in result.out
    assert "from conda-forge-pytorch-feedstock (recorded), conda-forge-torchvision-" in result.out
    assert "https://github.com/conda-forge/pytorch-cpu-feedstock/tree/74dd3d46" in result.out
    data = json.loads(run_cli(capsys, "show", "gpu-conda", "--json").out)
    assert data["conda_forge"]["cuda_platforms"]["12.6"] == ["linux-64", "linux-aarch64", "win-64"]
    assert "conda-forge-pytorch-feedstock" in data["catalog_sources"]
    # the profile's comment: 2.7.1 is the newest pytorch with CUDA 12.6 builds for both of its
    # platforms, so the facts pick it without the pin
    unpinned = _resolve(project_dir, 'extends: "builtin:gpu-conda"\npytorch: {version: ">=2.0"}\n')
    assert unpinned.torch == "2.7.1"  # type: ignore[attr-defined]


def test_the_newest_fitting_build_is_picked_and_cuda_version_pinned(project_dir: Path) -> None:
    env = _resolve(
        project_dir,
        CONDA.format(python="3.12", accelerator="cuda") + 'cuda: "12.9"\n',
    )
    # Linux has 12.9 builds, win-64 12.8 ones: each runs under cuda-version 12.9
    assert env.torch == "2.13.0"  # type: ignore[attr-defined]
    assert "cuda-version=12.9" in env.conda and "pytorch=2.13.0=cuda*" in env.conda  # type: ignore[attr-defined]
    assert env.companions == {"torch": "2.13.0", "torchvision": "0.28.0"}  # type: ignore[attr-defined]
    assert env.omitted == {  # type: ignore[attr-defined]
        "torchaudio": "conda-forge built no torchaudio against pytorch 2.13"
    }
    cpu = _resolve(
        project_dir,
        CONDA.format(python="3.11", accelerator="cpu") + "platforms: [osx-64]\n",
    )
    assert cpu.torch == "2.13.0" and cpu.variant.name == "cpu"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "python", "says"),
    [
        ('pytorch: "2.7.1"\ncuda: "11.8"\n', "3.11", "no build that runs with CUDA 11.8 on"),
        ('pytorch: "2.7.1"\ncuda: "12.6"\n', "3.14", "built for Python 3.9 to 3.13, not 3.14"),
        ('pytorch: "2.2.0"\ncuda: "12.1"\n', "3.11", "conda-forge has no pytorch 2.2.0 recorded"),
        ('cuda: "12.6"\nplatforms: [linux-64]\n', "3.6", "is built for Python 3.10 to 3.14"),
    ],
)
def test_what_conda_forge_did_not_build_is_refused_naming_it(
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
    extra: str,
    python: str,
    says: str,
) -> None:
    write_profile(project_dir, "p", CONDA.format(python=python, accelerator="cuda") + extra)
    result = run_cli(capsys, "render", "p")
    assert result.code == 2 and says in result.err, result.err
    assert "Fix:" in result.err and "Traceback" not in result.err
    assert not (project_dir / "envs").exists()
