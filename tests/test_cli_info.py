"""list, show and schema: what a user reads before rendering."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from envgen.paths import builtin_profiles
from tests.helpers import run_cli, write_profile


def test_list_shows_origin_and_overrides(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "cpu", 'extends: "builtin:cpu"\npython: "3.12"\n')
    write_profile(project_dir, "team", 'description: our box\npython: "3.11"\n')
    result = run_cli(capsys, "list", "--json")
    assert result.code == 0, result.err
    rows = {row["name"]: row for row in json.loads(result.out)}
    assert rows["cpu"]["origin"] == "project (overrides built-in)"
    assert rows["cpu"]["path"] == "profiles/cpu.yaml"
    assert rows["team"]["origin"] == "project" and rows["team"]["description"] == "our box"
    assert rows["gpu-cu118"]["origin"] == "builtin"
    text = run_cli(capsys, "list").out
    assert "team" in text and "our box" in text


def test_project_profile_dir_from_pyproject(capsys, project_dir: Path) -> None:
    (project_dir / "pyproject.toml").write_text('[tool.envgen]\nprofiles = "env-profiles"\n')
    (project_dir / "env-profiles").mkdir()
    (project_dir / "env-profiles" / "x.yaml").write_text('python: "3.11"\n')
    rows = json.loads(run_cli(capsys, "list", "--json").out)
    assert {"name": "x", "origin": "project"}.items() <= next(
        r for r in rows if r["name"] == "x"
    ).items()


def test_show_json_is_fully_resolved(capsys, project_dir: Path) -> None:
    write_profile(
        project_dir,
        "p",
        'extends: gpu-cu118\npytorch: "2.4"\npip: [numpy]\nvariables: {A: "1"}\n',
    )
    result = run_cli(capsys, "show", "p", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["torch"] == "2.4.1"
    assert data["companions"] == {"torch": "2.4.1", "torchvision": "0.19.1", "torchaudio": "2.4.1"}
    assert data["index_url"] == "https://download.pytorch.org/whl/cu118"
    assert data["extra_index_urls"] == ["https://pypi.org/simple"]
    assert data["provenance"]["python"] == "base"
    assert data["provenance"]["cuda"] == "gpu-cu118"
    assert data["provenance"]["pytorch"] == "p"
    assert [c["name"] for c in data["chain"]] == ["base", "gpu-cu118", "p"]
    assert data["catalog_sources"], "each resolution cites the catalog's sources"
    human = run_cli(capsys, "show", "p").out
    assert "python       3.11   (from base)" in human
    assert "index        https://download.pytorch.org/whl/cu118" in human


def test_schema_accepts_every_builtin_profile(capsys, project_dir: Path) -> None:
    schema = json.loads(run_cli(capsys, "schema").out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in builtin_profiles().glob("*.yaml"):
        validator.validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize(
    "bad",
    [
        {"accelerator": "gpu"},
        {"python": "three"},
        {"platforms": ["linux64"]},
        {"pytorch": {"version": "2.4", "pakages": ["torch"]}},
        {"unknown": 1},
    ],
)
def test_schema_rejects_what_envgen_rejects(capsys, project_dir: Path, bad: dict) -> None:
    schema = json.loads(run_cli(capsys, "schema").out)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    write_profile(project_dir, "bad", yaml.safe_dump({"python": "3.11", **bad}))
    assert run_cli(capsys, "render", "bad").code == 2


def test_help_lists_commands_and_version(capsys) -> None:
    result = run_cli(capsys, "--help")
    assert result.code == 0 and "render" in result.out and "check" in result.out
    assert "envgen, version" in run_cli(capsys, "--version").out


def test_no_profile_named(capsys, project_dir: Path) -> None:
    result = run_cli(capsys, "render")
    assert result.code == 2 and "no profile given" in result.err
