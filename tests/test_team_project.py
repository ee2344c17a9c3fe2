"""A team's own project (issue 20): ``--all`` and a bare command mean the project's profiles,
``check`` notices what is missing or left over, and the CI examples' commands hold.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, isolate_installers
from tests.fixtures.pypi_index import LocalIndexes
from tests.helpers import Result, run_cli, snapshot, write_profile

DEV = "description: laptops\nextends: cpu\nplatforms: [linux-64]\n"
TRAIN = "description: the training box\nextends: gpu-cu128\n"
OUTPUTS = ["environment.yml", "requirements.txt", "conda-lock-spec.yml"]


@pytest.fixture
def team(project_dir: Path) -> Path:
    """A project with two profiles of its own."""
    write_profile(project_dir, "dev", DEV)
    write_profile(project_dir, "train", TRAIN)
    return project_dir


def rendered(root: Path) -> set[str]:
    envs = root / "envs"
    return {p.name for p in envs.iterdir()} if envs.is_dir() else set()


def failures(result: Result) -> list[str]:
    return [line for line in result.out.splitlines() if line.startswith("FAIL")]


# -- 1. --all means the project's profiles -----------------------------------------------------


def test_all_means_the_projects_own_profiles(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "render", "--all")
    assert result.code == 0, result.err
    assert rendered(team) == {"dev", "train"}
    assert sorted(result.out.split()[1::2]) == sorted(
        f"envs/{p}/{o}" for p in ("dev", "train") for o in OUTPUTS
    )
    checked = run_cli(capsys, "check", "--all")
    assert checked.code == 0, checked.out + checked.err
    assert "6 file(s) checked, all current." in checked.out
    matrix = run_cli(capsys, "matrix", "--all")
    rows = json.loads(matrix.out)["include"]
    assert {(r["profile"], r["platform"]) for r in rows} == {
        ("dev", "linux-64"),
        ("train", "linux-64"),
        ("train", "win-64"),
    }
    # built-ins stay usable by name, and --all still leaves them out
    assert run_cli(capsys, "render", "cpu").code == 0
    assert "envs/cpu" not in run_cli(capsys, "check", "--all").out


def test_a_bare_command_means_the_projects_profiles(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "render").code == 0
    assert rendered(team) == {"dev", "train"}
    assert run_cli(capsys, "matrix").out == run_cli(capsys, "matrix", "--all").out
    # create builds one environment: with two profiles it asks which
    created = run_cli(capsys, "create")
    assert created.code == 2 and created.out == ""
    assert "no profile given, and create builds one environment" in created.err
    assert "this project has 2 profiles (dev, train)" in created.err
    assert "'envgen create dev'" in created.err


def test_create_without_a_profile_takes_the_projects_only_one(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an impossible torch version stops create at resolution, before it builds anything,
    # with the profile it picked named in the message
    write_profile(project_dir, "solo", 'extends: cpu\npytorch: "0.1"\n')
    result = run_cli(capsys, "create")
    assert result.code == 2
    assert "profiles/solo.yaml" in result.err and "no torch release matches '0.1'" in result.err


def test_list_shows_which_profiles_all_means(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = run_cli(capsys, "list").out.splitlines()
    first, second = (
        text.index(next(t for t in text if t.startswith("This project's"))),
        text.index(next(t for t in text if t.startswith("Built-in profiles"))),
    )
    assert "what --all, or no profile named, means" in text[first]
    assert [line.split()[0] for line in text[first + 1 : second] if line.strip()] == [
        "dev",
        "train",
    ]
    assert "used by name, e.g. 'envgen render cpu'" in text[second]
    rows = {r["name"]: r for r in json.loads(run_cli(capsys, "list", "--json").out)}
    assert {name for name, row in rows.items() if row["all"]} == {"dev", "train"}
    assert rows["cpu"]["origin"] == "builtin" and not rows["cpu"]["all"]


def test_in_a_project_with_no_profiles_all_means_the_builtins(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = run_cli(capsys, "list").out
    assert text.startswith("Built-in profiles: this project has none of its own in profiles/")
    rows = json.loads(run_cli(capsys, "list", "--json").out)
    assert {r["name"] for r in rows if r["all"]} == {r["name"] for r in rows} - {"base"}


def test_all_with_only_abstract_profiles_says_so(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "shared", "abstract: true\nextends: cpu\n")
    result = run_cli(capsys, "render", "--all")
    assert result.code == 2 and not (project_dir / "envs").exists()
    assert "every profile in profiles/ is abstract" in result.err


@pytest.mark.parametrize("command", ["render", "check", "lock", "matrix", "create"])
def test_no_profile_given_in_a_project_with_none_is_one_message(
    project_dir: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    before = snapshot(project_dir)
    result = run_cli(capsys, command)
    assert result.code == 2 and result.out == "" and "Traceback" not in result.err
    assert result.err.startswith(
        f"error: no profile given, and the project in {project_dir} has no profiles of its own "
        "(no *.yaml in profiles/"
    )
    assert f"name one, e.g. 'envgen {command} cpu' (built-in profiles: cpu, gpu-conda" in result.err
    assert ("or use --all for every built-in profile" in result.err) == (command != "create")
    assert "add profiles/NAME.yaml ('envgen init' writes one for this machine)" in result.err
    assert snapshot(project_dir) == before


# -- 2. check misses nothing ---------------------------------------------------------------------


def test_check_without_a_profile_reports_a_deleted_output_directory(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "render").code == 0
    assert run_cli(capsys, "check").code == 0
    shutil.rmtree(team / "envs" / "train")  # git rm -r envs/train
    result = run_cli(capsys, "check")
    assert result.code == 1
    assert failures(result) == [f"FAIL     envs/train/{name}: missing" for name in OUTPUTS]
    assert "out of date in profile(s) train. Run 'envgen render train'" in result.err
    assert run_cli(capsys, "render").code == 0
    assert run_cli(capsys, "check").code == 0


def test_check_also_checks_builtins_rendered_by_name(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "render", "dev", "train", "cpu").code == 0
    (team / "envs" / "cpu" / "requirements.txt").unlink()
    result = run_cli(capsys, "check")
    assert result.code == 1
    assert failures(result) == ["FAIL     envs/cpu/requirements.txt: missing"]


def test_check_in_an_empty_directory_does_not_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli(capsys, "check")
    assert result.code == 2 and result.out == ""
    assert "(no *.yaml in profiles/, and no generated files in envs/*)" in result.err
    assert "run envgen in your project's directory" in result.err
    assert list(tmp_path.iterdir()) == []


def test_check_with_profiles_but_nothing_rendered_fails(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "check")
    assert result.code == 1
    assert len(failures(result)) == 6 and all(f.endswith(": missing") for f in failures(result))


def test_orphans_are_reported_and_pruned_and_nothing_else_is_touched(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(team, "old", DEV)
    assert run_cli(capsys, "render").code == 0
    (team / "profiles" / "old.yaml").unlink()  # a profile the team dropped
    # dev replaces the default outputs: conda-lock-spec.yml is no longer rendered
    write_profile(team, "dev", DEV + "outputs: [environment.yml, requirements.txt]\n")
    assert run_cli(capsys, "render").code == 0
    notes = team / "envs" / "dev" / "NOTES.md"
    notes.write_text("# our notes, not envgen's\n")
    edited = team / "envs" / "dev" / "conda-lock-spec.yml"
    edited.write_text(edited.read_text() + "# ours now\n")

    result = run_cli(capsys, "check", "-q")
    assert result.code == 1
    gone = "orphaned: there is no profile 'old' any more (no profiles/old.yaml)."
    assert failures(result) == [
        "FAIL     envs/dev/conda-lock-spec.yml: orphaned: profile 'dev' does not render "
        "conda-lock-spec.yml (its 'outputs' leave it out; to keep the file, add "
        "conda-lock-spec.yml to them). It was edited by hand, so --prune keeps it.",
        f"FAIL     envs/old/conda-lock-spec.yml: {gone}",
        f"FAIL     envs/old/environment.yml: {gone}",
        f"FAIL     envs/old/requirements.txt: {gone}",
    ]
    assert "4 orphaned generated file(s) that no profile writes any more" in result.err
    assert "Run 'envgen check --prune' (it removes only the orphans envgen wrote" in result.err
    assert "Remove the 1 hand-edited orphan(s) yourself" in result.err
    # a check of one profile looks in that profile's directory only
    assert len(failures(run_cli(capsys, "check", "dev"))) == 1

    pruned = run_cli(capsys, "check", "--prune")
    assert pruned.code == 1  # the edited orphan is still there
    assert [line for line in pruned.out.splitlines() if line.startswith("removed")] == [
        "removed  envs/old/conda-lock-spec.yml (orphaned)",
        "removed  envs/old/environment.yml (orphaned)",
        "removed  envs/old/requirements.txt (orphaned)",
    ]
    assert rendered(team) == {"dev", "train"}  # envs/old went once it was empty
    assert notes.read_text() == "# our notes, not envgen's\n"
    assert edited.read_text().endswith("# ours now\n")
    edited.unlink()
    final = run_cli(capsys, "check", "--prune")
    assert final.code == 0, final.out + final.err
    assert "removed" not in final.out


def test_a_file_without_envgens_seal_is_never_an_orphan(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "render").code == 0
    stray = team / "envs" / "gone" / "environment.yml"
    stray.parent.mkdir()
    # envgen's first header line, but no content seal: not provably envgen's
    stray.write_text("# Generated by envgen from profile 'gone'.\nname: gone\n")
    before = snapshot(team)
    assert run_cli(capsys, "check", "--prune").code == 0
    assert snapshot(team) == before


# -- 1 and 2 with locks ---------------------------------------------------------------------------


@pytest.fixture
def locking_team(
    project_dir: Path, torch_indexes: LocalIndexes, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Two CPU profiles of torch 2.4.1, locked against the suite's local indexes."""
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + torch_indexes.mirror_toml())
    isolate_installers(monkeypatch, project_dir.parent)
    body = 'python: "3.11"\naccelerator: cpu\npytorch: {version: "2.4.1", packages: [torch]}\n'
    write_profile(project_dir, "a", body + "platforms: [linux-64, win-64]\n")
    write_profile(project_dir, "b", body + "platforms: [linux-64]\n")
    return project_dir


def test_lock_all_locks_the_projects_profiles_and_check_finds_a_dropped_platform(
    locking_team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "lock", "--all", "--no-conda")
    assert result.code == 0, result.err
    assert rendered(locking_team) == {"a", "b"}
    assert sorted(p.name for p in (locking_team / "envs" / "a").iterdir()) == [
        "requirements-linux-64.lock.txt",
        "requirements-win-64.lock.txt",
    ]
    again = run_cli(capsys, "lock", "--no-conda")  # no profile: the same two
    assert again.code == 0
    assert [line.split(":")[0] for line in again.out.splitlines()] == ["a", "b"]
    assert "locks are up to date" in again.out

    write_profile(
        locking_team, "a", (locking_team / "profiles" / "b.yaml").read_text()
    )  # a drops win-64
    assert run_cli(capsys, "render").code == 0
    checked = run_cli(capsys, "check", "-q")
    assert checked.code == 1
    assert (
        "FAIL     envs/a/requirements-win-64.lock.txt: orphaned: profile 'a' no longer targets "
        "win-64 (its 'platforms')." in checked.out
    )
    assert "Run 'envgen lock a' and 'envgen check --prune'" in checked.err


# -- the CI examples ------------------------------------------------------------------------------


def _ci_commands() -> list[list[str]]:
    """Every envgen command the check and matrix jobs of docs/ci run (verify needs runners)."""
    docs = REPO_ROOT / "docs" / "ci"
    github = yaml.safe_load((docs / "github-actions.yml").read_text())["jobs"]
    gitlab = yaml.safe_load((docs / "gitlab-ci.yml").read_text())
    lines = [str(s.get("run", "")) for job in ("check", "matrix") for s in github[job]["steps"]]
    lines += gitlab["envgen-check"]["script"] + gitlab["envgen-matrix"]["script"]
    found = [m for line in lines for m in re.findall(r"envgen ([^)>\"]+)", line)]
    return [shlex.split(command) for command in found]


def _matrix_profiles(args: list[str], out: str) -> set[str]:
    if "gitlab" in args:
        entries = yaml.safe_load(out)["envgen-verify"]["parallel"]["matrix"]
        return {e["ENVGEN_PROFILE"] for e in entries}
    return {row["profile"] for row in json.loads(out)["include"]}


def test_the_ci_examples_commands_pass_in_a_team_project_and_catch_a_deleted_file(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = _ci_commands()
    assert ["check"] in commands  # plain check: every project profile, and orphans
    assert run_cli(capsys, "render").code == 0
    for args in commands:
        result = run_cli(capsys, *args)
        assert result.code == 0, (args, result.err)
        if args[0] == "matrix":  # no built-in rides along
            assert _matrix_profiles(args, result.out) == {"dev", "train"}
    (team / "envs" / "dev" / "requirements.txt").unlink()
    assert run_cli(capsys, "check").code == 1


def test_an_orphan_left_by_an_additions_list_says_to_add_it_with_plus(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(team, "dev", DEV + "outputs: [+pixi.toml]\n")
    assert run_cli(capsys, "render").code == 0
    write_profile(team, "dev", DEV)  # pixi.toml is no longer asked for
    result = run_cli(capsys, "check", "-q")
    assert [f for f in failures(result) if "orphaned" in f] == [
        "FAIL     envs/dev/pixi.toml: orphaned: profile 'dev' does not render pixi.toml (its "
        "'outputs' leave it out; to keep the file, add +pixi.toml to them)."
    ]
