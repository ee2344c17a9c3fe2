"""doctor for a newcomer: Pythons in version order, and a broken project profile named as the
cause when nothing fits (issue 11)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from envgen.doctor.context import Unknown
from envgen.doctor.facts import Facts
from envgen.doctor.probes import SystemInfo
from envgen.doctor.recommend import recommend, recommend_profile
from envgen.doctor.report import to_text
from envgen.errors import EnvgenError
from envgen.interpreters import discover
from envgen.project import Project
from tests.helpers import run_cli, write_profile

LINUX = SystemInfo("linux", "x86_64", "glibc 2.36", None, False, False)


def _fake_python(path: Path, version: str) -> None:
    """An executable that answers envgen's probe the way that Python would."""
    prefix = path.parent.parent
    answer = json.dumps(
        {
            "executable": str(path),
            "version": version,
            "prefix": str(prefix),
            "base_prefix": str(prefix),
            "implementation": "cpython",
        }
    )
    path.parent.mkdir(parents=True)
    path.write_text(f"#!/bin/sh\necho '{answer}'\n")
    path.chmod(0o755)


def test_pythons_are_listed_in_version_order_not_string_order(tmp_path: Path) -> None:
    root = tmp_path / "pyenv"
    for version in ("3.10.13", "3.13.1", "3.6.15", "3.9.18"):
        _fake_python(root / "versions" / version / "bin" / "python3", version)
    found = discover({"PATH": "", "PYENV_ROOT": str(root), "UV_PYTHON_INSTALL_DIR": str(tmp_path)})
    assert [i.version for i in found] == ["3.6.15", "3.9.18", "3.10.13", "3.13.1"]
    facts = replace(_bare(), interpreters=tuple(found))
    text = to_text(facts, recommend(Project.open(tmp_path), facts))
    shown = [line.split()[-3] for line in text.splitlines() if "(pyenv)" in line]
    assert shown == ["3.6.15", "3.9.18", "3.10.13", "3.13.1"], text


def _bare() -> Facts:
    nothing = Unknown("not probed")
    return Facts(LINUX, None, None, None, nothing, nothing, nothing, ())


def test_broken_project_profile_is_named_when_nothing_fits(project_dir: Path) -> None:
    """A project cpu profile with an error hides the built-in cpu: the error is the cause."""
    write_profile(project_dir, "cpu", 'python: "3.11"\npytorch: "9.9"\n')
    project = Project.open(project_dir)
    rec = recommend(project, _bare())
    assert rec.profile is None
    assert "project's profile 'cpu' has an error" in rec.reason
    assert "profiles/cpu.yaml" in rec.reason and "no torch release matches '9.9'" in rec.reason
    with pytest.raises(EnvgenError, match="profile 'cpu' has an error"):
        recommend_profile(project, _bare())


def test_auto_shows_the_project_error(
    capsys: pytest.CaptureFixture[str], project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile(project_dir, "cpu", 'python: "3.11"\npytorch: "9.9"\n')
    monkeypatch.setattr("envgen.doctor.report.gather", lambda *a, **k: _bare())
    monkeypatch.setattr("envgen.doctor.facts.gather", lambda *a, **k: _bare())
    result = run_cli(capsys, "render", "auto")
    assert result.code == 2
    assert "profile 'cpu' has an error" in result.err and "9.9" in result.err


def test_a_healthy_project_still_gets_its_recommendation(project_dir: Path) -> None:
    write_profile(project_dir, "cpu", 'extends: "builtin:cpu"\n')
    rec = recommend(Project.open(project_dir), replace(_bare()))
    assert rec.profile == "cpu" and "error" not in rec.reason
