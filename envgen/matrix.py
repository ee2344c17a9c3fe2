"""The CI fan-out: profiles × platforms, each with the runner that can create and verify it.

envgen schedules nothing; it prints the matrix in the shape the CI system's own fan-out reads
(GitHub's ``strategy.matrix`` via ``fromJSON``, GitLab's ``parallel: matrix:``), and each job runs
``envgen create NAME && envgen verify NAME --json`` on its runner. Runner labels come from
``[tool.envgen.runners]``: keys ``ACCELERATOR`` or ``ACCELERATOR/PLATFORM`` (the more specific
wins); CPU and MPS default to GitHub's hosted labels, GPUs to a placeholder the team must set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__, install_spec
from .errors import EnvgenError
from .project import Project
from .targets import ACCELERATORS, PLATFORMS, AcceleratorName, os_of

FORMATS = ("github", "gitlab", "json")
GITLAB_MAX_JOBS = 200  # GitLab's limit on the jobs one parallel: matrix: makes
# Hosted runner labels come from each platform's record in ``targets`` (GitHub: "GitHub-hosted
# runners"; GitLab: "Hosted runners on GitLab.com"). None: no hosted runner can run the job, so
# a placeholder stands in (the child pipeline's Windows job is PowerShell, but a hosted Windows
# runner is not assumed). A GPU accelerator always gets a placeholder until the team sets one.


def hosted_runner(ci: str, platform: str) -> str | None:
    record = PLATFORMS[platform]
    return record.github_runner if ci == "github" else record.gitlab_runner


Runner = str | tuple[str, ...]


@dataclass(frozen=True)
class MatrixRow:
    profile: str
    platform: str
    accelerator: AcceleratorName
    python: str  # the profile's Python minor: the runner needs it to create the environment
    runner: Runner
    placeholder: bool  # True: nobody set a runner for this GPU kind yet

    @property
    def verify_args(self) -> str:
        return "--expect-gpu" if ACCELERATORS[self.accelerator].gpu else ""

    @property
    def artifact(self) -> str:
        return f"verify-{self.profile}-{self.platform}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "platform": self.platform,
            "accelerator": self.accelerator,
            "python": self.python,
            "runner": list(self.runner) if isinstance(self.runner, tuple) else self.runner,
            "verify_args": self.verify_args,
            "artifact": self.artifact,
        }


def placeholder_label(accelerator: str, platform: str) -> str:
    return f"{accelerator}-gpu" if ACCELERATORS[accelerator].gpu else f"{platform}-runner"


def parse_runners(table: Mapping[str, Any], pyproject: Path | None) -> dict[str, Runner]:
    """``[tool.envgen.runners]`` checked: known keys, one label or a list of labels each."""
    where = str(pyproject) if pyproject else "pyproject.toml"
    runners: dict[str, Runner] = {}
    for key, value in table.items():
        accelerator, _, platform = key.partition("/")
        if accelerator not in ACCELERATORS or (platform and platform not in PLATFORMS):
            raise EnvgenError(
                "unknown runner key",
                file=where,
                key=f"tool.envgen.runners.{key}",
                fix="name an accelerator (" + ", ".join(ACCELERATORS) + ") or ACCELERATOR/"
                'PLATFORM, e.g. "cuda/linux-64" = "gpu-a100"',
            )
        labels = [value] if isinstance(value, str) else value
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(x, str) and x.strip() and x.isprintable() for x in labels)
        ):
            raise EnvgenError(
                "expected a runner label or a list of labels",
                file=where,
                key=f"tool.envgen.runners.{key}",
                fix='write it like cuda = "gpu-a100" or cuda = ["self-hosted", "linux", "a100"]',
            )
        runners[key] = labels[0] if isinstance(value, str) else tuple(labels)
    return runners


def runner_for(
    accelerator: str, platform: str, runners: Mapping[str, Runner], ci: str = "github"
) -> tuple[Runner, bool]:
    """(runner, whether it is a placeholder) for one row."""
    for key in (f"{accelerator}/{platform}", accelerator):
        if key in runners:
            return runners[key], False
    hosted = hosted_runner(ci, platform)
    if ACCELERATORS[accelerator].gpu or hosted is None:
        return placeholder_label(accelerator, platform), True
    return hosted, False


def build_matrix(project: Project, names: Sequence[str], ci: str = "github") -> list[MatrixRow]:
    """Every profile × platform row; ``ci`` picks whose hosted runners are the defaults."""
    runners = parse_runners(project.config.runners, project.config.pyproject)
    rows = []
    for name in names:
        env = project.resolve(name).env
        for platform in env.platforms:
            runner, placeholder = runner_for(env.accelerator, platform, runners, ci)
            rows.append(
                MatrixRow(name, platform, env.accelerator, env.python_minor, runner, placeholder)
            )
    return rows


def format_github(rows: Sequence[MatrixRow]) -> str:
    """One line of JSON for ``$GITHUB_OUTPUT`` and ``fromJSON``."""
    return json.dumps({"include": [r.as_dict() for r in rows]}, separators=(",", ":"))


def format_json(rows: Sequence[MatrixRow]) -> str:
    return json.dumps(
        {"matrix": [r.as_dict() | {"placeholder": r.placeholder} for r in rows]}, indent=2
    )


# The child pipeline's jobs, one per kind of runner: (job name, operating system).
GITLAB_JOBS = (
    ("envgen-verify", "linux"),  # Docker executors: the image brings the profile's Python
    ("envgen-verify-macos", "macos"),  # shell runners: no image
    ("envgen-verify-windows", "windows"),  # PowerShell, the shell of GitLab's Windows runners
)
# GitLab expands $VAR in artifacts:paths itself; the scripts name the file in their own shell.
_ARTIFACT = "verify-$ENVGEN_PROFILE-$ENVGEN_PLATFORM.json"
_ARTIFACT_POWERSHELL = "verify-$env:ENVGEN_PROFILE-$env:ENVGEN_PLATFORM.json"


def _posix_job(image: bool) -> dict[str, Any]:
    """create + verify in POSIX shell; envgen goes into a venv of its own (PEP 668 images
    refuse a global pip install), ``ENVGEN_INSTALL`` replacing the pinned install."""
    job: dict[str, Any] = {"stage": "test"}
    if image:  # the profile's Python, as setup-python gives it on GitHub
        job["image"] = "python:${ENVGEN_PYTHON}-slim"
    job["tags"] = ["$ENVGEN_RUNNER"]
    job["before_script"] = [
        'python3 -m venv "${TMPDIR:-/tmp}/envgen-tool"',
        'export PATH="${TMPDIR:-/tmp}/envgen-tool/bin:$PATH"',
        f'eval "${{ENVGEN_INSTALL:-python -m pip install {install_spec()}}}"',
    ]
    job["script"] = [
        'envgen create "$ENVGEN_PROFILE"',
        # one word when set (it is one flag), none when empty
        'envgen verify "$ENVGEN_PROFILE" --json ${ENVGEN_VERIFY_ARGS:+"$ENVGEN_VERIFY_ARGS"} '
        f'> "{_ARTIFACT}"',
    ]
    job["artifacts"] = {"when": "always", "paths": [_ARTIFACT]}
    return job


def _powershell_job() -> dict[str, Any]:
    """The same steps in PowerShell. The report is written by .NET (UTF-8, no BOM: Windows
    PowerShell's ``>`` writes UTF-16), and the exit code kept until it is written."""
    tool = "$env:TEMP\\envgen-tool"
    return {
        "stage": "test",
        "tags": ["$ENVGEN_RUNNER"],
        "before_script": [
            f'py -$env:ENVGEN_PYTHON -m venv "{tool}"',
            f'$env:PATH = "{tool}\\Scripts;$env:PATH"',
            "if ($env:ENVGEN_INSTALL) { Invoke-Expression $env:ENVGEN_INSTALL } "
            f"else {{ python -m pip install {install_spec()} }}",
        ],
        "script": [
            "envgen create $env:ENVGEN_PROFILE",
            "$verifyArgs = @($env:ENVGEN_VERIFY_ARGS -split ' ' | Where-Object { $_ }); "
            "$report = envgen verify $env:ENVGEN_PROFILE --json @verifyArgs; "
            "$code = $LASTEXITCODE; "
            f'[System.IO.File]::WriteAllLines("$PWD\\{_ARTIFACT_POWERSHELL}", '
            "[string[]]@($report)); exit $code",
        ],
        "artifacts": {"when": "always", "paths": [_ARTIFACT]},
    }


def format_gitlab(rows: Sequence[MatrixRow]) -> str:
    """A child pipeline: one job per kind of runner, whose ``parallel: matrix:`` holds its rows.

    Linux rows run in ``python:ENVGEN_PYTHON-slim`` on Docker executors, macOS rows on shell
    runners, Windows rows in PowerShell. GitLab expands a matrix variable into one tag, so a
    runner given as a list of labels cannot be expressed; such a setting is refused rather
    than half-applied.
    """
    import yaml

    groups: dict[str, list[dict[str, str]]] = {name: [] for name, _ in GITLAB_JOBS}
    for row in rows:
        if isinstance(row.runner, tuple):
            raise EnvgenError(
                f"GitLab cannot select runner {list(row.runner)} (profile '{row.profile}', "
                f"{row.platform}): a matrix variable expands into one tag",
                key="tool.envgen.runners",
                fix="give one runner tag per accelerator for GitLab",
            )
        kind = next(name for name, system in GITLAB_JOBS if os_of(row.platform) == system)
        groups[kind].append(
            {  # prefixed: PROFILE is a built-in variable of PowerShell, among others
                "ENVGEN_PROFILE": row.profile,
                "ENVGEN_PLATFORM": row.platform,
                "ENVGEN_PYTHON": row.python,
                "ENVGEN_RUNNER": row.runner,
                "ENVGEN_VERIFY_ARGS": row.verify_args,
            }
        )
    jobs: dict[str, dict[str, Any]] = {}
    for name, entries in groups.items():
        if not entries:
            continue
        if len(entries) > GITLAB_MAX_JOBS:
            raise EnvgenError(
                f"job {name} has {len(entries)} matrix entries; GitLab's parallel: matrix: "
                f"allows {GITLAB_MAX_JOBS}",
                fix="split the profiles over several 'envgen matrix' calls and child pipelines",
            )
        if name == "envgen-verify-windows":
            job = _powershell_job()
        else:
            job = _posix_job(image=name == "envgen-verify")
        jobs[name] = job | {"parallel": {"matrix": entries}}
    header = (
        f"# Generated by envgen {__version__}: envgen matrix --format gitlab\n"
        "# A child pipeline (trigger: include: artifact:): create + verify each profile on its "
        "runner.\n"
    )
    body = yaml.safe_dump(jobs, sort_keys=False, default_flow_style=False, width=1000)
    return header + body


FORMATTERS = {"github": format_github, "gitlab": format_gitlab, "json": format_json}
