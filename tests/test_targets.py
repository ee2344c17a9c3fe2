"""The targets table: one record per accelerator and platform, and everything that reads them.

Markers are judged by packaging's own evaluator in each platform's marker environment (the one
uv solves for), and the built-in templates' container flags are held against the records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
from packaging.markers import Marker

from envgen import targets
from envgen.lockers.wheeltags import marker_environment
from envgen.project import Project
from tests.helpers import run_cli, write_profile
from tests.reqparse import parse_requirements_text

# What CPython reports on Windows on Arm (native ARM64 build): a platform envgen does not target.
WINDOWS_ON_ARM = {
    **marker_environment("win-64", "3.11"),
    "platform_machine": "ARM64",
}


def test_the_literal_names_are_the_table_keys() -> None:
    assert get_args(targets.AcceleratorName) == tuple(targets.ACCELERATORS)
    assert get_args(targets.PlatformName) == tuple(targets.PLATFORMS)
    assert get_args(targets.OsName) == tuple(targets.SYSTEMS)
    kinds = dict.fromkeys(a.variant_kind for a in targets.ACCELERATORS.values())
    assert get_args(targets.VariantKind) == tuple(kinds)
    for name, record in targets.ACCELERATORS.items():
        assert record.name == name
        assert set(record.default_platforms) <= set(targets.PLATFORMS)
        assert {targets.os_of(p) for p in record.default_platforms} <= set(record.systems)


@pytest.mark.parametrize("platform", list(targets.PLATFORMS))
def test_a_platform_marker_holds_there_and_nowhere_else(platform: str) -> None:
    marker = Marker(targets.PLATFORMS[platform].marker)
    for other in targets.PLATFORMS:
        assert marker.evaluate(marker_environment(other, "3.11")) == (other == platform), other
    assert not marker.evaluate(WINDOWS_ON_ARM)
    # the single-quoted form that TOML files carry says the same
    assert Marker(targets.PLATFORMS[platform].marker_quoted("'")) == marker


def test_win_64_has_one_marker_in_requirements_pylock_and_pyproject(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """requirements.txt's pins once said ``sys_platform == "win32"`` for win-64 where pylock.toml
    and pyproject.toml said ``... and platform_machine == "AMD64"``: a Windows-on-Arm Python
    (platform_machine ARM64, no win-64 wheel) then took win-64's tagged torch pin. One record now
    gives every file the same marker: on Windows on Arm no torch pin applies, as on any other
    platform the profile does not target (``create`` refuses such a machine by name)."""
    platforms = ["linux-64", "linux-aarch64", "win-64"]  # aarch64 CPU wheels are untagged
    write_profile(
        project_dir,
        "p",
        f'python: "3.11"\npytorch: "2.4.1"\nplatforms: [{", ".join(platforms)}]\n',
    )
    assert run_cli(capsys, "render", "p", "-f", "requirements.txt").code == 0
    text = (project_dir / "envs" / "p" / "requirements.txt").read_text()
    torch = [r for r in parse_requirements_text(text).requirements if r.name == "torch"]
    assert any('platform_machine == "AMD64"' in str(r.marker) for r in torch), torch
    for platform in platforms:
        environment = marker_environment(platform, "3.11")
        applies = [r for r in torch if r.marker is None or r.marker.evaluate(environment)]
        assert len(applies) == 1, (platform, applies)
    assert not [r for r in torch if r.marker is None or r.marker.evaluate(WINDOWS_ON_ARM)]
    env = Project.open().resolve("p").env
    from envgen.uvproject import wanted

    win = targets.PLATFORMS["win-64"].marker_quoted("'")
    assert win in wanted(env).environments
    assert win == "sys_platform == 'win32' and platform_machine == 'AMD64'"


@pytest.mark.parametrize(
    ("sys_platform", "machine", "expected"),
    [
        ("linux", "x86_64", "linux-64"),
        ("linux", "AMD64", "linux-64"),
        ("linux", "aarch64", "linux-aarch64"),
        ("linux", "arm64", "linux-aarch64"),
        ("darwin", "arm64", "osx-arm64"),
        ("darwin", "x86_64", "osx-64"),
        ("win32", "AMD64", "win-64"),
        ("win32", "ARM64", None),
        ("linux", "ppc64le", None),
        ("freebsd14", "amd64", None),
    ],
)
def test_a_python_report_names_its_platform(
    sys_platform: str, machine: str, expected: str | None
) -> None:
    found = targets.platform_of(sys_platform, machine)
    assert (found.name if found else None) == expected


LINUX = [name for name, a in targets.ACCELERATORS.items() if "linux" in a.systems]


@pytest.mark.parametrize("accelerator", LINUX)
def test_the_container_templates_agree_with_the_records(
    project_dir: Path, capsys: pytest.CaptureFixture[str], accelerator: str
) -> None:
    """The built-in Dockerfile and devcontainer.json still spell each accelerator's container
    flags out (rewording them would change every committed container file's inputs digest);
    they must say what the records say, which templates also receive as ``accelerator``."""
    record = targets.ACCELERATORS[accelerator]
    write_profile(
        project_dir,
        "p",
        f'python: "3.11"\naccelerator: {accelerator}\nplatforms: [linux-64]\n'
        "outputs: [Dockerfile, devcontainer.json]\n",
    )
    result = run_cli(capsys, "render", "p")
    assert result.code == 0, result.err
    directory = project_dir / "envs" / "p"
    text = (directory / "devcontainer.json").read_text()
    data = json.loads("\n".join(line for line in text.splitlines() if not line.startswith("//")))
    assert data.get("runArgs", []) == list(record.run_args)
    assert data.get("hostRequirements", {}).get("gpu", False) == record.host_gpu
    dockerfile = (directory / "Dockerfile").read_text().splitlines()
    notes = [f"# {line}" for line in record.container_notes]
    start = dockerfile.index("#   --build-arg PYPI_INDEX=https://mirror.example/pypi/simple") + 3
    assert dockerfile[start : start + len(notes)] == notes
    assert dockerfile[start + len(notes)].startswith("ARG ENVGEN_DIR=")
