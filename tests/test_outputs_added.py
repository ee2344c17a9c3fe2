"""``outputs: [+pixi.toml]`` adds to the default outputs; a list that drops one the locks are
made from says so (issue 20).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.helpers import run_cli, snapshot, write_profile

DEFAULTS = ["environment.yml", "requirements.txt", "conda-lock-spec.yml"]
CPU = "extends: cpu\nplatforms: [linux-64]\n"


def files(root: Path, name: str) -> list[str]:
    return sorted(p.name for p in (root / "envs" / name).iterdir())


def test_plus_items_add_to_the_defaults(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "box", CPU + "outputs: [+pixi.toml, +Dockerfile]\n")
    result = run_cli(capsys, "render", "box")
    assert result.code == 0, result.err
    assert "'outputs' leaves out" not in result.err  # (the Dockerfile asks for a lock first)
    assert files(project_dir, "box") == sorted([*DEFAULTS, "pixi.toml", "Dockerfile"])
    shown = run_cli(capsys, "show", "box").out
    assert (
        "outputs      environment.yml, requirements.txt, conda-lock-spec.yml, pixi.toml, " in shown
    )
    checked = run_cli(capsys, "check").out  # (it also asks for the lock the Dockerfile copies)
    assert all(f"ok       envs/box/{name}" in checked for name in files(project_dir, "box"))


def test_plus_items_add_to_a_parents_outputs(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "shared", CPU + "abstract: true\noutputs: [+pixi.toml]\n")
    write_profile(project_dir, "more", "extends: shared\noutputs: [+Dockerfile]\n")
    write_profile(project_dir, "fewer", "extends: shared\noutputs: [requirements.txt]\n")
    write_profile(project_dir, "narrow", CPU + "outputs: [requirements.txt]\n")
    write_profile(project_dir, "wider", "extends: narrow\noutputs: [+pixi.toml]\n")
    write_profile(project_dir, "conda", "extends: gpu-conda\noutputs: [+pixi.toml]\n")
    data = {r["name"]: r for r in json.loads(run_cli(capsys, "list", "--json").out) if r["all"]}
    assert sorted(data) == ["conda", "fewer", "more", "narrow", "wider"]
    outputs = {
        name: json.loads(run_cli(capsys, "show", name, "--json").out)["outputs"] for name in data
    }
    assert outputs == {
        "more": [*DEFAULTS, "pixi.toml", "Dockerfile"],
        "fewer": ["requirements.txt"],  # a plain list replaces whatever came before
        "narrow": ["requirements.txt"],
        "wider": ["requirements.txt", "pixi.toml"],  # adds to the parent's choice
        "conda": ["environment.yml", "conda-lock-spec.yml", "pixi.toml"],  # source: conda
    }


def test_a_list_mixing_additions_and_names_is_refused(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "box", CPU + "outputs: [+pixi.toml, Dockerfile]\n")
    before = snapshot(project_dir)
    result = run_cli(capsys, "render", "box")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("error: profiles/box.yaml, line 3: key 'outputs': the list mixes")
    assert "write every item with '+' to add to the defaults" in result.err
    assert snapshot(project_dir) == before


def test_the_schema_and_key_doc_know_the_plus_form(capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.loads(run_cli(capsys, "schema").out)
    jsonschema.validate({"outputs": ["+pixi.toml", "+Dockerfile"]}, schema)
    jsonschema.validate({"outputs": ["environment.yml"]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"outputs": ["+../x"]}, schema)
    doc = schema["properties"]["outputs"]["description"]
    assert "conda-lock-spec.yml" in doc and "'+NAME' adds to the defaults" in doc


def test_dropping_the_spec_the_locks_are_made_from_warns(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # what the issue did: listed outputs to add two, and lost conda-lock-spec.yml unseen
    write_profile(
        project_dir,
        "box",
        CPU + "outputs: [environment.yml, requirements.txt, pixi.toml, Dockerfile]\n",
    )
    result = run_cli(capsys, "render", "box")
    assert result.code == 0
    assert result.err.splitlines(keepends=True)[0] == (
        "warning: profiles/box.yaml: 'outputs' leaves out conda-lock-spec.yml, a default "
        "output that the conda lock of profile 'box' is made from (conda-lock.yml records "
        "conda-lock's hash of it; 'conda-lock --check-input-hash' reads it). To add outputs to "
        "the defaults instead of replacing them, write outputs: [+pixi.toml, +Dockerfile]; if "
        "the profile needs no conda lock, lock it with --no-conda.\n"
    )
    assert "conda-lock-spec.yml" in run_cli(capsys, "check").err  # said by check too
    # a child that only adds inherits the drop, and the warning names the file that made it
    write_profile(project_dir, "child", "extends: box\noutputs: [+devcontainer.json]\n")
    assert "warning: profiles/box.yaml: 'outputs'" in run_cli(capsys, "render", "child").err


def test_a_profile_locked_without_conda_relies_on_no_spec(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "box", CPU + "outputs: [requirements.txt]\n")
    directory = project_dir / "envs" / "box"
    directory.mkdir(parents=True)
    # pip locks and no conda-lock.yml: what 'envgen lock --no-conda' leaves
    (directory / "requirements-linux-64.lock.txt").write_text("# locked elsewhere\n")
    result = run_cli(capsys, "render", "box")
    assert result.code == 0 and result.err == ""
    (directory / "conda-lock.yml").write_text(yaml.safe_dump({"version": 1}))
    assert "leaves out conda-lock-spec.yml" in run_cli(capsys, "render", "box").err
