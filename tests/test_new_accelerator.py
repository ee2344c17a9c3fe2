"""A made-up accelerator needs one record in the targets table and its builds in the catalog.

The test registers "npu" (an invented backend with its own builds on PyTorch's index, Linux
only, a GPU-like device needing /dev/npu in containers) through ``targets.ACCELERATORS`` and
publishes one release's npu builds through a project catalog overlay, the way the built-in
catalog (envgen/data/pytorch.yaml) would list them. Nothing else of envgen changes, and a
profile naming it validates, resolves, renders every output, and fans out in the CI matrix;
docs/ARCHITECTURE.md lists the files a real addition touches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from envgen import targets
from envgen.catalog_update.writer import dump_catalog
from envgen.project import Project
from tests.helpers import run_cli, write_profile

NPU = targets.Accelerator(
    "npu",  # type: ignore[arg-type]  # a name the Literal does not know: the table decides
    "NPU",
    "npu",  # type: ignore[arg-type]
    ("linux-64",),
    ("linux",),
    "npu",
    gpu=True,
    words=("ascend",),
    run_args=("--device=/dev/npu",),
    container_notes=("Run with the NPU device: docker run --device=/dev/npu ...",),
)
RELEASE = {
    "torch": "2.16.0",
    "torchvision": "0.31.0",
    "torchaudio": None,
    "python": ["3.12"],
    "variants": {"cpu": ["linux-64"], "npu": ["linux-64"]},
    "pypi_linux": "cpu",
    "osx_64": False,
    "index_option": "index-url",
    "local_tags": True,
    "torchaudio_local_tag": False,
    "conda_pytorch_channel": False,
    "sources": ["vendor"],
}


@pytest.fixture
def npu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(targets.ACCELERATORS, "npu", NPU)
    yield
    targets._parse_variant.cache_clear()  # "npu" parsed as a variant while it was known


@pytest.fixture
def project(project_dir: Path) -> Path:
    overlay = project_dir / "catalog" / "pytorch.yaml"
    overlay.parent.mkdir()
    data = {
        "sources": {
            "vendor": {"title": "the NPU vendor's wheel index", "url": "https://n.example"}
        },
        "releases": [RELEASE],
    }
    overlay.write_text(dump_catalog(data), encoding="utf-8")
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.envgen]\ncatalog = "catalog/pytorch.yaml"\n')
    write_profile(project_dir, "npu", 'python: "3.12"\naccelerator: npu\n')
    return project_dir


def test_a_new_accelerator_resolves_renders_and_fans_out(
    npu: None, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = Project.open().resolve("npu").env
    assert (env.accelerator, env.variant.name, env.variant.label) == ("npu", "npu", "NPU")
    assert env.platforms == ("linux-64",)  # its record's default
    assert env.index_url == "https://download.pytorch.org/whl/npu"
    assert env.pip_requirements[0] == "torch==2.16.0+npu"

    outputs = "environment.yml,requirements.txt,pixi.toml,Dockerfile,devcontainer.json"
    for output in outputs.split(","):
        result = run_cli(capsys, "render", "npu", "-f", output)
        assert result.code == 0, (output, result.err)
    directory = project / "envs" / "npu"
    assert "NPU build of torch 2.16.0" in (directory / "requirements.txt").read_text()
    assert yaml.safe_load((directory / "environment.yml").read_text())["name"] == "npu"

    matrix = json.loads(run_cli(capsys, "matrix", "npu", "--format", "json").out)["matrix"]
    assert [(r["platform"], r["runner"], r["verify_args"]) for r in matrix] == [
        ("linux-64", "npu-gpu", "--expect-gpu")
    ]


def test_what_people_write_for_it_and_where_it_cannot_go(
    npu: None, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project, "typo", 'python: "3.12"\naccelerator: ascend\n')
    result = run_cli(capsys, "show", "typo")
    assert result.code == 2 and "did you mean 'npu'?" in result.err
    write_profile(project, "mac", 'python: "3.12"\naccelerator: npu\nplatforms: [osx-arm64]\n')
    result = run_cli(capsys, "show", "mac")
    assert result.code == 2
    assert "NPU cannot target osx-arm64: PyTorch publishes NPU builds only for Linux" in result.err


def test_without_its_record_the_name_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "show", "npu")
    assert result.code == 2 and "'npu' is not one of cpu, cuda, rocm, xpu, mps" in result.err
