"""What a Python said about itself is kept while its file stays the same, and only for a real
interpreter: a changed file is asked again, a script (a pyenv shim, a wrapper) every time."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import envgen.interpreters as interpreters
from envgen.interpreters import discover, probe_explicit, select
from tests.fixtures.envs import base_python


def _count_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every interpreter the probe starts."""
    started: list[str] = []
    real = interpreters.probe

    def counting(path: Path, origin: str, *args: object) -> interpreters.Interpreter | None:
        started.append(str(path))
        return real(path, origin, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(interpreters, "probe", counting)
    return started


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ENVGEN_NO_CACHE", raising=False)
    return tmp_path / "cache"


def _link(target: Path, where: Path) -> Path:
    where.parent.mkdir(parents=True, exist_ok=True)
    where.symlink_to(target)
    return where


def test_an_unchanged_interpreter_is_started_once(
    own_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = _link(base_python(), tmp_path / "bin" / "python3")
    started = _count_runs(monkeypatch)
    first = probe_explicit(python)
    again = select(first.minor, explicit=python)
    assert started == [str(python)]
    assert again == first
    assert first.version == ".".join(map(str, sys.version_info[:3]))


def test_a_replaced_or_repointed_interpreter_is_asked_again(
    own_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = _link(base_python(), tmp_path / "bin" / "python3")
    probe_explicit(python)
    started = _count_runs(monkeypatch)
    python.unlink()
    other = _link(base_python(), tmp_path / "somewhere-else" / "python3")
    assert len(str(other)) != len(str(base_python()))  # so the link itself differs for sure
    _link(other, python)
    probe_explicit(python)
    assert started == [str(python)]
    probe_explicit(python)
    assert started == [str(python)]  # the new answer is kept in turn


def test_a_script_is_asked_every_time(
    own_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shim may pick another Python by directory or environment: never kept."""
    shim = tmp_path / "shims" / "python3"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{base_python()}" "$@"\n')
    shim.chmod(0o755)
    started = _count_runs(monkeypatch)
    for _ in range(2):
        probe_explicit(shim)
    assert started == [str(shim), str(shim)]


def test_discovery_keeps_what_it_learned_and_no_cache_means_none(
    own_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = _link(base_python(), tmp_path / "bin" / "python3")
    environ = {"PATH": str(python.parent), "PYENV_ROOT": str(tmp_path / "none")}
    environ["UV_PYTHON_INSTALL_DIR"] = str(tmp_path / "none")
    monkeypatch.setattr(interpreters, "candidates", lambda env=None: [(python, "PATH")])
    started = _count_runs(monkeypatch)
    first = discover(environ)
    assert discover(environ) == first
    assert started == [str(python)]
    monkeypatch.setenv("ENVGEN_NO_CACHE", "1")
    discover(environ)
    assert started == [str(python)] * 2


def test_a_damaged_cache_is_asked_past(
    own_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = _link(base_python(), tmp_path / "bin" / "python3")
    probe_explicit(python)
    (known,) = own_cache.glob("envgen/*/interpreters.json")
    known.write_text(json.dumps({str(python): {"identity": "x", "info": 3}}))
    started = _count_runs(monkeypatch)
    assert probe_explicit(python).version == ".".join(map(str, sys.version_info[:3]))
    known.write_text("not json")
    probe_explicit(python)
    assert started == [str(python)] * 2
    assert os.path.getsize(known) > 20
