"""What a killed run leaves is swept by the next one, and only that: a temporary is removed
when the process named in it is gone; anything else (a live run's, a person's) stays."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from envgen.leftovers import pid_alive, sweep, tag, temporary_directory
from tests.helpers import run_cli, write_profile

CPU = 'python: "3.11"\naccelerator: cpu\npytorch: "2.4.1"\nplatforms: [linux-64]\n'


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
    return proc.pid


def test_render_sweeps_a_killed_renders_temporaries_only(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "p", CPU)
    out = project_dir / "envs" / "p"
    out.mkdir(parents=True)
    dead = out / f".requirements.txt.envgen-{_dead_pid()}-abc.tmp"
    live = out / f".requirements.txt.envgen-{os.getppid()}-def.tmp"  # a running process
    mine = out / ".requirements.txt.notes.tmp"  # a person's file
    legacy = out / ".requirements.txt.k2x_9q1a.tmp"  # an older envgen's, without a pid
    young = out / ".requirements.txt.zzzzzzzz.tmp"
    for path in (dead, live, mine, legacy, young):
        path.write_text("partial")
    hours_ago = time.time() - 7200
    for path in (mine, legacy):
        os.utime(path, (hours_ago, hours_ago))
    assert run_cli(capsys, "render", "p").code == 0
    assert not dead.exists() and not legacy.exists()
    assert live.exists() and mine.exists() and young.exists()


def test_temporary_folders_of_dead_runs_are_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / f"envgen-create-{_dead_pid()}-xyz"
    (dead / "sub").mkdir(parents=True)
    other = tmp_path / "envgen-create-notapid"
    other.mkdir()
    with temporary_directory("envgen-create-") as work:
        assert work.name.startswith(tag("envgen-create-"))
        assert not dead.exists() and other.exists()
    assert not work.exists()


def test_a_symlink_named_like_a_leftover_is_unlinked_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep").write_text("keep")
    link = tmp_path / f"envgen-create-{_dead_pid()}-x"
    link.symlink_to(target)
    assert sweep(tmp_path, "envgen-create-") == [link]
    assert (target / "keep").read_text() == "keep"
