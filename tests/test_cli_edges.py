"""The edges a newcomer hits first: profile paths and names, typos, --debug, list and show."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import run_cli, snapshot, write_profile


def test_torch_113_has_python_311_for_linux(capsys, project_dir: Path) -> None:
    """PyPI has cp311 wheels of 1.13.x for Linux x86_64; the catalog must not refuse them."""
    write_profile(project_dir, "old", 'python: "3.11"\npytorch: "1.13"\nplatforms: [linux-64]\n')
    result = run_cli(capsys, "render", "old", "--stdout", "-f", "environment.yml")
    assert result.code == 0, result.err
    data = yaml.safe_load(result.out)
    assert "python=3.11" in data["dependencies"]
    pip = data["dependencies"][-1]["pip"]
    assert "torch==1.13.1+cpu" in pip


def refused(capsys, root: Path, *args: str) -> str:
    """Exit 2, one paragraph, no traceback, nothing written."""
    before = snapshot(root)
    result = run_cli(capsys, *args)
    assert result.code == 2, result
    message = result.err.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    assert "Traceback" not in result.err
    assert snapshot(root) == before
    return message


# --- a path given where a profile name is expected ----------------------------------------


@pytest.mark.parametrize("given", ["profiles/train.yaml", "./profiles/train.yaml", "ABS"])
def test_path_to_a_profile_file_means_that_profile(capsys, project_dir: Path, given: str) -> None:
    write_profile(project_dir, "train", 'python: "3.11"\n')
    if given == "ABS":
        given = str(project_dir / "profiles" / "train.yaml")
    result = run_cli(capsys, "render", given)
    assert result.code == 0, result.err
    written = project_dir / "envs" / "train" / "environment.yml"
    assert yaml.safe_load(written.read_text())["name"] == "train"
    assert not (project_dir / "envs" / "profiles").exists()
    shown = run_cli(capsys, "show", given, "--json")
    assert shown.code == 0 and '"name": "train"' in shown.out


def test_path_to_a_builtin_profile_file_means_that_profile(capsys, project_dir: Path) -> None:
    from envgen.paths import builtin_profiles

    result = run_cli(capsys, "show", str(builtin_profiles() / "cpu.yaml"), "--json")
    assert result.code == 0, result.err
    assert '"name": "cpu"' in result.out


def test_missing_file_name_points_at_the_name(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "train", 'python: "3.11"\n')
    message = refused(capsys, project_dir, "render", "train.yaml")
    assert "use the name 'train'" in message
    assert "profiles/profiles" not in message and ".yaml.yaml" not in message


def test_mistyped_path_suggests_the_profile(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "train", 'python: "3.11"\n')
    message = refused(capsys, project_dir, "render", "profiles/trian.yaml")
    assert "did you mean 'train'?" in message
    assert "profiles/profiles" not in message and ".yaml.yaml" not in message


def test_directory_is_not_a_profile(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "train", 'python: "3.11"\n')
    message = refused(capsys, project_dir, "render", "profiles/")
    assert "is a directory" in message and "train" in message


def test_profile_file_outside_the_profiles_directory(capsys, project_dir: Path) -> None:
    outside = project_dir.parent / "x.yaml"
    outside.write_text('python: "3.11"\n')
    message = refused(capsys, project_dir, "render", "../x.yaml")
    assert "not one of this project's profiles" in message and "profiles/x.yaml" in message


def test_relative_path_that_does_not_exist(capsys, project_dir: Path) -> None:
    message = refused(capsys, project_dir, "render", "../x")
    assert "unknown profile '../x'" in message
    assert "add profiles/../x" not in message


# --- profile file names become environment names and shell words --------------------------


@pytest.mark.parametrize("stem", ["My Profile", "a;b", "-x", "$(id)"])
def test_file_names_that_cannot_be_environment_names_are_refused(
    capsys, project_dir: Path, stem: str
) -> None:
    (project_dir / "profiles").mkdir()
    (project_dir / "profiles" / f"{stem}.yaml").write_text('python: "3.11"\n')
    message = refused(capsys, project_dir, "render", "--all")
    assert f"'{stem}' (the file name) cannot be a profile name" in message
    assert "rename the file to" in message


# --- typos and flags ----------------------------------------------------------------------


def test_mistyped_subcommand_gets_a_suggestion(capsys, project_dir: Path) -> None:
    result = run_cli(capsys, "rendr", "cpu")
    assert result.code == 2
    assert "No such command 'rendr'. Did you mean 'render'?" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_is_accepted_before_or_after_the_subcommand(
    capsys, project_dir: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """--debug shows the traceback of an internal error wherever it is written."""
    import envgen.commands.schema as schema

    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(schema, "json_schema", broken, raising=False)
    monkeypatch.setattr("envgen.profile.json_schema", broken)
    plain = run_cli(capsys, "schema")
    assert plain.code == 123 and "internal error: RuntimeError: boom" in plain.err
    args = ["--debug", "schema"] if where == "before" else ["schema", "--debug"]
    with pytest.raises(RuntimeError, match="boom"):
        run_cli(capsys, *args)


def test_debug_after_double_dash_belongs_to_the_command() -> None:
    from envgen.cli import _take_debug

    assert _take_debug(["run", "cpu", "--", "python", "--debug"]) == (
        ["run", "cpu", "--", "python", "--debug"],
        False,
    )
    assert _take_debug(["render", "cpu", "--debug"]) == (["--debug", "render", "cpu"], True)


# --- list and show ------------------------------------------------------------------------


def test_list_marks_a_broken_profile_and_lists_the_rest(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "good", 'description: fine\npython: "3.11"\n')
    write_profile(project_dir, "bad", "python: [\n")
    result = run_cli(capsys, "list")
    assert result.code == 1, result
    lines = {line.split()[0]: line for line in result.out.splitlines() if line.strip()}
    assert "BROKEN" in lines["bad"] and "profiles/bad.yaml" in lines["bad"]
    assert "fine" in lines["good"] and "cpu" in lines
    rows = {r["name"]: r for r in __import__("json").loads(run_cli(capsys, "list", "--json").out)}
    assert rows["bad"]["error"] and rows["good"]["error"] is None


def test_list_and_show_agree_on_inherited_descriptions(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "child", "extends: gpu-cu118\n")
    import json

    rows = {r["name"]: r for r in json.loads(run_cli(capsys, "list", "--json").out)}
    shown = json.loads(run_cli(capsys, "show", "child", "--json").out)
    assert rows["child"]["description"] == shown["description"] != ""


def test_show_cites_each_fact_page_once_and_no_search_page(capsys, project_dir: Path) -> None:
    import json

    repeated = 0
    for name in ("cpu", "gpu-cu118", "gpu-conda", "mps", "rocm", "xpu"):
        data = json.loads(run_cli(capsys, "show", name, "--json").out)
        raw = [s["url"].rstrip("/") for s in data["catalog_sources"].values()]
        repeated += len(raw) - len(set(raw))
        text = run_cli(capsys, "show", name).out
        section = text[text.index("facts from") :].split("\ncatalog ")[0]
        block = section.replace("facts from", "").split()
        assert block, text
        assert len({u.rstrip("/") for u in block}) == len(block), block
        assert not any("/search" in u for u in block), block
        assert {u.rstrip("/") for u in block} <= set(raw)
    assert repeated, "the catalog cites one page under two keys somewhere; show lists it once"


def test_show_of_a_conda_only_profile_names_no_pip_index(capsys, project_dir: Path) -> None:
    text = run_cli(capsys, "show", "gpu-conda").out
    index = next(line for line in text.splitlines() if line.startswith("index"))
    assert "PyPI" not in index and "conda" in index


def _newest_release_without(package: str):
    from envgen.catalog import load_catalog

    return [r for r in load_catalog().releases if r.verified and not r.companion(package)][-1]


def test_show_and_header_say_why_torchaudio_is_missing(capsys, project_dir: Path) -> None:
    release = _newest_release_without("torchaudio")
    write_profile(project_dir, "p", f'python: "3.12"\npytorch: "{release.torch}"\n')
    text = run_cli(capsys, "show", "p").out
    assert (
        f"not included torchaudio: no torchaudio release accompanies torch {release.torch}" in text
    )
    result = run_cli(capsys, "render", "p", "--stdout")
    assert result.code == 0, result.err
    assert result.out.count("# torchaudio is not included: no torchaudio release") == 2
    env = yaml.safe_load(result.out.split("# ---- envs/p/requirements.txt ----")[0])
    assert not any("torchaudio" in str(dep) for dep in env["dependencies"])


def test_chosen_packages_are_not_explained(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "p", 'python: "3.12"\npytorch: {packages: [torch]}\n')
    result = run_cli(capsys, "render", "p", "--stdout")
    assert result.code == 0 and "is not included" not in result.out


def test_mps_header_names_pypi_not_the_pytorch_index(capsys, project_dir: Path) -> None:
    result = run_cli(capsys, "render", "mps", "--stdout")
    assert result.code == 0, result.err
    assert "PyTorch's wheel index" not in result.out and "CPU build" not in result.out
    assert "# macOS (MPS) build of torch" in result.out and "from PyPI" in result.out
    env = yaml.safe_load(result.out.split("# ---- envs/mps/requirements.txt ----")[0])
    pip = env["dependencies"][-1]["pip"]
    assert not any(line.startswith("--index-url") for line in pip)


# --- outputs with nothing in them ---------------------------------------------------------


def test_output_with_nothing_to_say_is_refused(capsys, project_dir: Path) -> None:
    message = refused(capsys, project_dir, "render", "gpu-conda", "-f", "requirements.txt")
    assert "nothing to put in requirements.txt" in message
    assert "source: conda" in message


def test_output_listed_in_the_profile_is_refused_with_its_key(capsys, project_dir: Path) -> None:
    write_profile(
        project_dir,
        "gc",
        'extends: "builtin:gpu-conda"\noutputs: [environment.yml, requirements.txt]\n',
    )
    message = refused(capsys, project_dir, "render", "gc")
    assert "profiles/gc.yaml: key 'outputs'" in message


def test_conda_profile_with_pip_packages_still_renders_requirements(
    capsys, project_dir: Path
) -> None:
    write_profile(
        project_dir,
        "gc",
        'extends: "builtin:gpu-conda"\npip: [requests]\n'
        "outputs: [environment.yml, requirements.txt]\n",
    )
    result = run_cli(capsys, "render", "gc", "--stdout", "-f", "requirements.txt")
    assert result.code == 0, result.err
    assert [ln for ln in result.out.splitlines() if not ln.startswith("#")] == ["requests"]


def test_show_names_builtin_parents_as_built_in(capsys, project_dir: Path) -> None:
    """A built-in's path inside some site-packages says nothing useful to a user."""
    write_profile(project_dir, "mine", "extends: gpu-cu118\n")
    text = run_cli(capsys, "show", "mine").out
    chain = next(line for line in text.splitlines() if line.startswith("chain"))
    assert chain.split(None, 1)[1] == (
        "mine (profiles/mine.yaml) <- gpu-cu118 (built-in) <- base (built-in)"
    )
