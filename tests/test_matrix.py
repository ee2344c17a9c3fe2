"""``envgen matrix`` and the CI examples in docs/ci/: accepted by the workflow schemas.

The schemas are the ones check-jsonschema (PyPI) vendors: SchemaStore's GitHub workflow schema
and GitLab's own CI schema, so a structural mistake in the examples or the generated child
pipeline fails here instead of in somebody's CI.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from envgen.commands._common import concrete_profiles
from envgen.project import Project
from tests.helpers import run_cli, write_profile

DOCS = Path(__file__).resolve().parent.parent / "docs" / "ci"


def schema_check(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
    )


def _rows(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[list[dict[str, Any]], str]:
    result = run_cli(capsys, "matrix", *args)
    assert result.code == 0, result.err
    assert "\n" not in result.out.strip()  # one line: it goes into $GITHUB_OUTPUT
    return json.loads(result.out)["include"], result.err


def test_github_matrix_is_every_profile_times_its_platforms(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows, err = _rows(capsys, "--all")
    project = Project.open()
    expected = [
        (name, platform)
        for name in concrete_profiles(project)
        for platform in project.resolve(name).env.platforms
    ]
    assert [(r["profile"], r["platform"]) for r in rows] == expected
    assert "base" not in {r["profile"] for r in rows}  # abstract: nothing to create
    by = {(r["profile"], r["platform"]): r for r in rows}
    assert by["cpu", "linux-64"]["runner"] == "ubuntu-latest"
    assert by["cpu", "win-64"]["runner"] == "windows-latest"
    assert by["mps", "osx-arm64"]["runner"] == "macos-latest"
    assert by["cpu", "linux-64"]["verify_args"] == ""
    gpu = by["gpu-cu128", "linux-64"]
    assert gpu["runner"] == "cuda-gpu" and gpu["verify_args"] == "--expect-gpu"
    assert gpu["python"] == project.resolve("gpu-cu128").env.python_minor
    assert gpu["artifact"] == "verify-gpu-cu128-linux-64"
    assert "placeholder label 'cuda-gpu'" in err and "[tool.envgen.runners]" in err
    assert "placeholder label 'rocm-gpu'" in err


def test_runner_labels_come_from_the_project_settings(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write(
            "\n[tool.envgen.runners]\n"
            'cuda = ["self-hosted", "linux", "a100"]\n'
            '"cuda/win-64" = "windows-gpu"\n'
            'cpu = "big-cpu"\n'
        )
    rows, err = _rows(capsys, "gpu-cu128", "cpu")
    by = {(r["profile"], r["platform"]): r["runner"] for r in rows}
    assert by["gpu-cu128", "linux-64"] == ["self-hosted", "linux", "a100"]
    assert by["gpu-cu128", "win-64"] == "windows-gpu"  # the more specific key wins
    assert by["cpu", "osx-arm64"] == "big-cpu"
    assert err == ""  # nothing left as a placeholder


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ('cuda = ""', "expected a runner label or a list of labels"),
        ("cuda = []", "expected a runner label or a list of labels"),
        ('cuda = "gpu\\nrm -rf /"', "expected a runner label or a list of labels"),
        ('gpu = "x"', "unknown runner key"),
        ('"cuda/linux-65" = "x"', "unknown runner key"),
    ],
)
def test_bad_runner_settings_are_input_errors(
    project_dir: Path, capsys: pytest.CaptureFixture[str], setting: str, expected: str
) -> None:
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write(f"\n[tool.envgen.runners]\n{setting}\n")
    result = run_cli(capsys, "matrix", "cpu")
    assert result.code == 2 and result.out == ""
    assert expected in result.err and "pyproject.toml" in result.err
    assert "key 'tool.envgen.runners." in result.err and "Fix:" in result.err


def test_runners_must_be_a_table(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.envgen]\nrunners = "gpu"\n')
    result = run_cli(capsys, "matrix", "cpu")
    assert result.code == 2 and "tool.envgen.runners" in result.err


def test_gitlab_child_pipeline_passes_gitlabs_schema(
    project_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = run_cli(capsys, "matrix", "--all", "--format", "gitlab")
    assert result.code == 0, result.err
    path = tmp_path / "child.yml"
    path.write_text(result.out)
    checked = schema_check("vendor.gitlab-ci", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    job = yaml.safe_load(result.out)["envgen-verify"]
    entries = job["parallel"]["matrix"]
    project = Project.open()
    count = sum(len(project.resolve(n).env.platforms) for n in concrete_profiles(project))
    assert len(entries) == count
    by = {(e["ENVGEN_PROFILE"], e["ENVGEN_PLATFORM"]): e for e in entries}
    assert by["cpu", "linux-64"]["ENVGEN_RUNNER"] == "saas-linux-small-amd64"
    assert by["cpu", "win-64"]["ENVGEN_RUNNER"] == "win-64-runner"  # hosted ones run PowerShell
    assert by["gpu-cu128", "linux-64"]["ENVGEN_VERIFY_ARGS"] == "--expect-gpu"
    assert job["tags"] == ["$ENVGEN_RUNNER"]
    assert any("envgen verify" in line and "--json" in line for line in job["script"])
    assert job["artifacts"]["when"] == "always"


def test_gitlab_refuses_a_runner_given_as_several_labels(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.envgen.runners]\ncpu = ["a", "b"]\n')
    result = run_cli(capsys, "matrix", "cpu", "--format", "gitlab")
    assert result.code == 2 and "one tag" in result.err and result.out == ""
    assert run_cli(capsys, "matrix", "cpu", "--format", "github").code == 0


def test_json_format_says_which_runners_are_placeholders(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "matrix", "gpu-cu128", "cpu", "--format", "json")
    rows = json.loads(result.out)["matrix"]
    assert {(r["profile"], r["placeholder"]) for r in rows} == {
        ("gpu-cu128", True),
        ("cpu", False),
    }


def test_the_github_example_passes_the_workflow_schema_and_uses_the_matrix(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = DOCS / "github-actions.yml"
    checked = schema_check("vendor.github-workflows", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = path.read_text()
    rows, _ = _rows(capsys, "cpu")
    used = set(re.findall(r"\$\{\{ matrix\.(\w+)", text))
    assert used and used <= set(rows[0])  # every matrix.X the workflow reads is in each row
    jobs = yaml.safe_load(text)["jobs"]
    steps = " ".join(str(s.get("run", "")) for s in jobs["verify"]["steps"])
    assert "envgen create" in steps and "envgen verify" in steps and "--json" in steps
    assert "'run': 'envgen check'" in str(jobs["check"]["steps"])
    assert "envgen matrix --all --format github" in str(jobs["matrix"]["steps"])


def test_the_gitlab_example_passes_gitlabs_schema() -> None:
    path = DOCS / "gitlab-ci.yml"
    checked = schema_check("vendor.gitlab-ci", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    doc = yaml.safe_load(path.read_text())
    (include,) = doc["envgen-verify"]["trigger"]["include"]
    assert include["job"] == "envgen-matrix"
    assert include["artifact"] in doc["envgen-matrix"]["artifacts"]["paths"]
    assert "envgen check" in doc["envgen-check"]["script"]


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    doc = yaml.safe_load((DOCS / "github-actions.yml").read_text())
    del doc["jobs"]["verify"]["runs-on"]
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(doc))
    assert schema_check("vendor.github-workflows", broken).returncode == 1
    gitlab = yaml.safe_load((DOCS / "gitlab-ci.yml").read_text())
    gitlab["envgen-check"]["script"] = {"not": "a list"}
    broken.write_text(yaml.safe_dump(gitlab))
    assert schema_check("vendor.gitlab-ci", broken).returncode == 1


def test_matrix_without_a_profile_is_the_projects_profiles(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "mine", "extends: cpu\nplatforms: [linux-64]\n")
    rows, _ = _rows(capsys, "mine")
    assert [(r["profile"], r["platform"]) for r in rows] == [("mine", "linux-64")]
    assert _rows(capsys)[0] == rows == _rows(capsys, "--all")[0]  # no built-in rides along
