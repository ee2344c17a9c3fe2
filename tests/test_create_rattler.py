"""The rattler backend end to end on the local conda channel: from conda-lock.yml and by solving.

The channel's packages are tiny stand-ins (no runnable python), so the installed prefix is judged
by its ``conda-meta/`` records, which is what conda itself reads to know what a prefix holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envgen.envmeta import read_marker
from envgen.errors import EnvgenError
from envgen.project import Project
from tests.fixtures.conda_channel import CondaChannel, channel_facts
from tests.helpers import create_named, lock_named, write_profile


def _profile(project_dir: Path, channel: CondaChannel) -> None:
    channel_facts(project_dir)
    write_profile(
        project_dir,
        "r",
        f"""
        python: "3.11"
        source: conda
        pytorch: {{version: "2.4.1", packages: [torch]}}
        platforms: [linux-64]
        channels: ["{channel.url}"]
        conda: [numpy]
        """,
    )


def _records(prefix: Path) -> dict[str, str]:
    found = {}
    for path in (prefix / "conda-meta").glob("*.json"):
        if path.name == "history":
            continue
        data = json.loads(path.read_text())
        found[data["name"]] = f"{data['version']}={data['build']}"
    return found


def test_rattler_installs_the_conda_lock(project_dir: Path, conda_channel: CondaChannel) -> None:
    _profile(project_dir, conda_channel)
    project = Project.open()
    lock_named(project, "r", engine="rattler")
    said: list[str] = []
    result = create_named(project, "r", backend="rattler", progress=said.append)

    assert result.status == "created" and result.python == "3.11.9"
    assert result.sources == ("envs/r/conda-lock.yml",)
    assert _records(result.prefix) == {
        "python": "3.11.9=h_0_cpython",
        "numpy": "1.26.4=py311h_0",
        "pytorch": "2.4.1=cpu_py311h_0",
    }  # and no pip: the profile has no pip part
    payload = result.prefix / "share" / "envgen-fake" / "pytorch.txt"
    assert payload.read_text() == "pytorch 2.4.1 cpu_py311h_0\n"
    marker = read_marker(result.prefix)
    assert marker is not None and marker.backend == "rattler"
    assert any("reading 3 locked conda packages" in s for s in said)
    assert create_named(project, "r", backend="rattler").status == "up-to-date"


def test_rattler_without_a_lock_solves_for_this_machine(
    project_dir: Path, conda_channel: CondaChannel
) -> None:
    _profile(project_dir, conda_channel)
    result = create_named(Project.open(), "r", backend="rattler")
    assert result.sources == ("conda specs",)
    assert _records(result.prefix)["pytorch"] == "2.4.1=cpu_py311h_0"


def test_a_hand_edited_lock_is_refused(project_dir: Path, conda_channel: CondaChannel) -> None:
    _profile(project_dir, conda_channel)
    project = Project.open()
    lock_named(project, "r", engine="rattler")
    lock = project_dir / "envs" / "r" / "conda-lock.yml"
    lock.write_text(lock.read_text().replace("numpy", "numpy ", 1))
    with pytest.raises(EnvgenError, match=r"conda-lock\.yml is edited by hand"):
        create_named(project, "r", backend="rattler")
    assert not (project_dir / ".envgen" / "envs" / "r").exists()
