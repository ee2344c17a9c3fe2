"""A project's catalog overlay ([tool.envgen] catalog): it extends or corrects the built-in
catalog, ``show`` names the catalog a release came from, and ``catalog update`` keeps it small."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from envgen.catalog import load_catalog
from envgen.catalog_update.writer import dump_catalog
from envgen.paths import CATALOG_FILE
from envgen.project import Project
from tests.fixtures.catalog_indexes import CatalogServer, publish_catalog, publish_release
from tests.helpers import run_cli, write_profile

NEW = {
    "torch": "2.16.0",
    "torchvision": "0.31.0",
    "torchaudio": None,
    "python": ["3.11", "3.12", "3.13"],
    "variants": {"cpu": ["linux-64", "win-64"], "cu134": ["linux-64", "win-64"]},
    "pypi_linux": "cu134",
    "osx_64": False,
    "index_option": "index-url",
    "local_tags": False,
    "torchaudio_local_tag": False,
    "conda_pytorch_channel": False,
}

# The date an update stamps is passed in, so the test means the same on any day.
STAMP = "2026-01-31"


def _configure(root: Path, extra: str = "") -> Path:
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\n\n[tool.envgen]\n'
        f'catalog = "catalog/pytorch.yaml"\n{extra}'
    )
    return root / "catalog" / "pytorch.yaml"


def _overlay(path: Path, releases: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "sources": {"team-notes": {"title": "our release notes", "url": "https://example.org/n"}},
        "releases": [{**r, "sources": ["team-notes"]} for r in releases],
    }
    path.write_text(dump_catalog(data), encoding="utf-8")


def test_overlay_adds_a_release_and_show_names_its_catalog(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = _configure(project_dir)
    _overlay(overlay, [NEW])
    write_profile(project_dir, "new", 'python: "3.12"\naccelerator: cuda\ncuda: "13.4"\n')
    write_profile(project_dir, "old", 'python: "3.12"\naccelerator: cpu\npytorch: "2.7.1"\n')

    result = run_cli(capsys, "show", "new", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["torch"] == "2.16.0"
    assert data["catalog"] == "catalog/pytorch.yaml (project overlay)"
    assert data["catalog_sources"] == {
        "team-notes": {"title": "our release notes", "url": "https://example.org/n"}
    }
    result = run_cli(capsys, "show", "old")
    assert result.code == 0, result.err
    assert "catalog      built-in" in result.out

    project = Project.open()
    assert project.catalog.digest != load_catalog().digest  # renders depend on the overlay


def test_overlay_corrects_a_built_in_release(project_dir: Path) -> None:
    overlay = _configure(project_dir)
    shipped = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    fixed = next(e for e in shipped["releases"] if e["torch"] == "2.7.1")
    fixed = {k: v for k, v in fixed.items() if k != "sources"}
    fixed["python"] = ["3.12"]
    _overlay(overlay, [fixed])
    write_profile(project_dir, "p", 'python: "3.11"\naccelerator: cpu\npytorch: "2.7.1"\n')
    with pytest.raises(Exception, match=r"3\.12") as info:
        Project.open().resolve("p")
    assert "2.7.1" in str(info.value)
    assert Project.open().catalog.origin("2.7.1") == "catalog/pytorch.yaml"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("releases: [\n", "not valid YAML"),
        ("colour: blue\n", "1 other key(s) found"),
        ("releases:\n  - torch: '9.9'\n", "not valid"),
    ],
)
def test_a_broken_overlay_is_a_clear_error(
    project_dir: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    overlay = _configure(project_dir)
    overlay.parent.mkdir()
    overlay.write_text(text)
    result = run_cli(capsys, "show", "cpu")
    assert result.code == 2, result.err
    assert "catalog/pytorch.yaml" in result.err and expected in result.err
    assert "key 'tool.envgen.catalog'" in result.err and "Traceback" not in result.err


def test_a_missing_overlay_names_the_setting(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(project_dir)
    result = run_cli(capsys, "show", "cpu")
    assert result.code == 2
    assert "cannot read the catalog overlay" in result.err and "tool.envgen.catalog" in result.err


def test_update_writes_only_the_difference_into_the_overlay(
    project_dir: Path, catalog_server: CatalogServer, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    publish_catalog(catalog_server, shipped)
    publish_release(catalog_server, NEW)
    mirrors = "".join(f'"{k}" = "{v}"\n' for k, v in catalog_server.mirrors().items())
    overlay = _configure(project_dir, "\n[tool.envgen.mirrors]\n" + mirrors)
    built_in = CATALOG_FILE.read_bytes()

    result = run_cli(
        capsys, "catalog", "update", "--variant", "cu134", "--no-conda", "--date", STAMP
    )

    assert result.code == 0, result.err
    assert CATALOG_FILE.read_bytes() == built_in
    data = yaml.safe_load(overlay.read_text(encoding="utf-8"))
    assert [e["torch"] for e in data["releases"]] == ["2.16.0"]
    assert set(data["sources"]) == {f"pytorch-index-{STAMP}", f"pypi-json-{STAMP}"}
    write_profile(project_dir, "p", 'python: "3.12"\naccelerator: cpu\nplatforms: [linux-64]\n')
    assert Project.open().resolve("p").env.torch == "2.16.0"
    # run again: nothing new, the overlay keeps its bytes
    before = overlay.read_bytes()
    again = run_cli(capsys, "catalog", "update", "--variant", "cu134", "--no-conda")
    assert again.code == 0 and "no changes" in again.out
    assert overlay.read_bytes() == before


def test_update_puts_a_corrected_built_in_release_into_the_overlay(
    project_dir: Path, catalog_server: CatalogServer, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    served = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    entry = next(e for e in served["releases"] if e["torch"] == "2.12.0")
    entry["variants"] = {k: v for k, v in entry["variants"].items() if k != "rocm7.2"}
    publish_catalog(catalog_server, served)
    mirrors = "".join(f'"{k}" = "{v}"\n' for k, v in catalog_server.mirrors().items())
    overlay = _configure(project_dir, "\n[tool.envgen.mirrors]\n" + mirrors)

    result = run_cli(capsys, "catalog", "update", "--since", "2.12", "--no-conda")

    assert result.code == 0, result.err
    assert "torch 2.12.0: variants dropped rocm7.2" in result.out
    data = yaml.safe_load(overlay.read_text(encoding="utf-8"))
    assert [e["torch"] for e in data["releases"]] == ["2.12.0"]
    assert "rocm7.2" not in data["releases"][0]["variants"]
    assert yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8")) == shipped
    catalog = Project.open().catalog
    assert "rocm7.2" not in catalog.find("2.12.0").variants  # type: ignore[union-attr]
    assert (
        catalog.origin("2.12.0") == "catalog/pytorch.yaml"
        and catalog.origin("2.11.0") == "built-in"
    )


def test_show_names_the_catalog_of_conda_forge_facts(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = _configure(project_dir)
    overlay.parent.mkdir()
    overlay.write_text('conda_forge:\n  "2.7.1": {cuda: ["12.6"], cpu: true}\n')
    result = run_cli(capsys, "show", "gpu-conda")
    assert result.code == 0, result.err
    assert "catalog      built-in; conda-forge builds: catalog/pytorch.yaml" in result.out
    overlay.write_text('conda_forge:\n  "2.7.1": {cuda: ["12.8"], cpu: true}\n')
    result = run_cli(capsys, "show", "gpu-conda")
    assert result.code == 2, result.err
    assert "conda-forge's pytorch 2.7.1 has no build that runs with CUDA 12.6 on" in result.err
    assert "(its builds: CUDA 12.8 (" in result.err


def test_check_notices_an_overlay_change_to_a_profiles_release(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = _configure(project_dir)
    _overlay(overlay, [NEW])
    write_profile(project_dir, "p", 'python: "3.12"\naccelerator: cpu\npytorch: "2.7.1"\n')
    assert run_cli(capsys, "render", "p").code == 0
    assert run_cli(capsys, "check", "p").code == 0
    # another release: not a fact this profile was resolved from
    _overlay(overlay, [NEW, {**NEW, "torch": "2.16.1", "torchvision": "0.31.1"}])
    assert run_cli(capsys, "check", "p").code == 0
    shipped = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    fixed = next(e for e in shipped["releases"] if e["torch"] == "2.7.1")
    fixed = {k: v for k, v in fixed.items() if k != "sources"}
    _overlay(overlay, [NEW, {**fixed, "python": ["3.12", "3.13"]}])
    result = run_cli(capsys, "check", "p")
    assert result.code == 1, result.err
