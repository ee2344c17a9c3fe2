"""The smaller ones: pip direct references (refused at validation, since envgen cannot lock
them), create on a full disk (says so), and tools that flood their output (doctor and
interpreter discovery read at most 1 MiB of each).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Result, run_cli, snapshot, write_profile

CPU = 'python: "3.11"\naccelerator: cpu\npytorch: "2.4.1"\nplatforms: [linux-64]\n'
PIP_ONLY = 'python: "3.11"\npytorch: {version: "2.4.1", packages: [torch]}\nplatforms: [linux-64]\n'
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "requirement",
    [
        "demo @ https://files.example/demo-1.0-py3-none-any.whl",
        "demo[extra] @ https://files.example/demo-1.0.tar.gz ; python_version >= '3.8'",
        "demo @ file:///srv/wheels/demo-1.0-py3-none-any.whl",
        "demo @ git+https://github.example/org/demo@v1.0",
    ],
)
@pytest.mark.parametrize("command", ["render", "lock", "show"])
def test_a_direct_reference_is_refused_at_validation(
    project_dir: Path, capsys: pytest.CaptureFixture[str], requirement: str, command: str
) -> None:
    write_profile(project_dir, "p", CPU + f'pip: ["{requirement}"]\n')
    before = snapshot(project_dir)
    result = run_cli(capsys, command, "p")
    assert result.code == 2, result.err
    assert "direct reference" in result.err and "cannot lock it" in result.err
    assert "profiles/p.yaml" in result.err and "key 'pip[0]'" in result.err
    assert "Traceback" not in result.err and snapshot(project_dir) == before


def _can_mount_tmpfs() -> bool:
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d && rmdir $d"
    done = subprocess.run(["unshare", "-rm", "sh", "-c", probe], capture_output=True, check=False)
    return done.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs user namespaces to mount a tmpfs")
@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_create_on_a_full_disk_says_the_disk_is_full(project_dir: Path, installer: str) -> None:
    """A real full disk: a 256 KiB tmpfs mounted at .envgen in a private mount namespace."""
    write_profile(project_dir, "p", PIP_ONLY)
    (project_dir / ".envgen").mkdir()
    script = (
        "mount -t tmpfs -o size=256k tmpfs .envgen || exit 99\n"
        f'"$0" -m envgen create p --installer {installer} --python "$0"\n'
        "rc=$?\nprintf 'LEFT:[%s]\\n' \"$(ls -A .envgen/envs)\"\nexit $rc\n"
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, sys.executable],
        cwd=project_dir,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 2, done.stderr[-2000:]
    error = done.stderr[done.stderr.index("error: ") :]
    assert "the disk is full" in error and "free some disk space" in error
    assert "python3-venv" not in error and "Traceback" not in done.stderr
    assert "LEFT:[]" in done.stdout  # the partial environment, note and lock are gone


def _run_capped(root: Path, path: str, *args: str) -> Result:
    """The CLI in a subprocess with 1 GiB of address space: reading a flood whole would fail."""

    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run(
        [sys.executable, "-m", "envgen", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=cap,
        # glibc reserves 64 MiB of address space per thread's arena: keep the cap about reads
        env={**os.environ, "PYTHONPATH": str(REPO), "PATH": path, "MALLOC_ARENA_MAX": "2"},
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.mark.skipif(shutil.which("yes") is None, reason="needs yes(1) to flood")
@pytest.mark.parametrize("tool", ["nvidia-smi", "rocminfo", "python3"])
def test_a_tool_that_floods_its_output_is_cut_off(
    project_dir: Path, tmp_path: Path, tool: str
) -> None:
    fake = tmp_path / "flood-bin"
    fake.mkdir()
    script = fake / tool
    script.write_text(f"#!/bin/sh\nexec {shutil.which('yes')} 'flooding output without end'\n")
    script.chmod(0o755)
    result = _run_capped(project_dir, f"{fake}{os.pathsep}{os.environ['PATH']}", "doctor")
    assert result.code in (0, 1), result.err[-2000:]
    assert "Traceback" not in result.err and "bug in envgen" not in result.err
    if tool in ("nvidia-smi", "rocminfo"):
        assert f"{tool} wrote more than 1 MiB of output" in result.out + result.err
