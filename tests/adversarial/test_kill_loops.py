"""SIGKILL at random moments: render, lock and create never leave a corrupt file, and never an
environment that ``verify`` passes before create finished; the next run cleans up after them.

``ENVGEN_KILLS`` (render) and ``ENVGEN_SLOW_KILLS`` (lock, create) set the kills per flow: a
few in CI, 100+ in the dedicated run (see docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envgen.digest import is_generated, read_seal
from envgen.envmeta import MARKER
from tests.adversarial.conftest import count
from tests.conftest import isolated_pip_env
from tests.fixtures.pypi_index import LocalIndexes
from tests.helpers import write_profile

PROFILE = (
    'python: "3.11"\naccelerator: cpu\npytorch: {{version: "2.4.1", packages: [torch]}}\n'
    'platforms: [linux-64]\ndescription: "round {n}"\n'
)
KILLS = count("ENVGEN_KILLS", 6)  # render
SLOW_KILLS = count("ENVGEN_SLOW_KILLS", 1)  # lock and create: each run solves or installs
SEED = int(os.environ.get("ENVGEN_SEED", "0")) or random.randrange(1 << 30)


def _environ(root: Path) -> dict[str, str]:
    env = isolated_pip_env(root)
    env.update(
        HOME=str(root / "home"),
        XDG_CACHE_HOME=str(root / "home" / ".cache"),
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    return env


def _kill_after(args: list[str], cwd: Path, delay: float, env: dict[str, str]) -> int | None:
    """Run envgen; SIGKILL it after ``delay`` seconds. None: it finished before the kill."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "envgen", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the kill reaches uv/pip children too, as a real kill -9 would
    )
    try:
        proc.wait(timeout=delay)
        return None
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return proc.pid


def _kill_during(
    args: list[str], cwd: Path, upper: float, rng: random.Random, env: dict[str, str]
) -> float:
    """Kill a run at a random moment before ``upper`` seconds; the moment at which it was killed.

    A busy machine can finish a run before its drawn moment: then the same run is started again
    with the moment halved, so every round really kills a run (whether a kill lands does not
    hang on the machine's speed). envgen's start alone takes longer than the last tries' delays.
    """
    delay = rng.uniform(0.05, upper)
    for _ in range(8):
        if _kill_after(args, cwd, delay, env) is not None:
            return delay
        delay /= 2
    raise AssertionError(f"{args} finished each time before {delay * 2:.3f} s: nothing was killed")


def _timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "envgen", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


def _assert_whole(directory: Path) -> None:
    """Every generated file on disk is complete: its seal matches its content."""
    for path in directory.rglob("*"):
        if path.is_file() and not path.name.endswith(".tmp"):
            text = path.read_text(encoding="utf-8")
            assert is_generated(text) and read_seal(text)[1], f"corrupt: {path}"


def test_render_killed_at_random_moments(project_dir: Path) -> None:
    rng = random.Random(SEED)
    env = _environ(project_dir.parent)
    names = ["a", "b", "c"]
    for name in names:
        write_profile(project_dir, name, PROFILE.format(n=0))
    full = _timed(["render", *names], project_dir, env)
    moments = []
    for n in range(1, KILLS + 1):
        for name in names:
            write_profile(project_dir, name, PROFILE.format(n=n))
        moments.append(_kill_during(["render", *names], project_dir, full * 0.8, rng, env))
        _assert_whole(project_dir / "envs")
    shown = ", ".join(f"{m:.2f}" for m in moments)
    print(f"render: {KILLS} runs killed at {shown} s (seed {SEED})")  # the figure, with -s
    _timed(["render", *names], project_dir, env)  # the next run finishes and sweeps
    assert list((project_dir / "envs").rglob("*.tmp")) == []
    _assert_whole(project_dir / "envs")


@pytest.mark.e2e
def test_lock_and_create_killed_at_random_moments(
    project_dir: Path, torch_indexes: LocalIndexes
) -> None:
    rng = random.Random(SEED)
    env = _environ(project_dir.parent)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + torch_indexes.mirror_toml())
    write_profile(project_dir, "p", PROFILE.format(n=0))
    lock_time = _timed(["lock", "p", "--no-conda"], project_dir, env)
    for n in range(1, SLOW_KILLS + 1):
        write_profile(project_dir, "p", PROFILE.format(n=n))
        _kill_during(["lock", "p", "--no-conda", "--upgrade"], project_dir, lock_time, rng, env)
        _assert_whole(project_dir / "envs")
    _timed(["lock", "p", "--no-conda"], project_dir, env)
    create = ["create", "p", "--python", sys.executable, "--force"]
    create_time = _timed(create, project_dir, env)
    prefix = project_dir / ".envgen" / "envs" / "p"
    for _ in range(SLOW_KILLS):
        _kill_during(create, project_dir, create_time, rng, env)
        passed = _verified(project_dir, env)
        if not (prefix / MARKER).is_file():
            assert not passed, f"seed {SEED}: verify passed a half-built environment"
    print(f"lock and create: {2 * SLOW_KILLS} runs killed (seed {SEED})")
    _timed(["create", "p", "--python", sys.executable], project_dir, env)  # recovers
    assert _verified(project_dir, env)
    leftovers = [p.name for p in prefix.parent.iterdir() if p.name.startswith(".p.envgen-")]
    assert leftovers == []


def _verified(project_dir: Path, env: dict[str, str]) -> bool:
    """verify's verdict on what create built, for the parts a stand-in torch can prove: the
    finished marker, the interpreter and every locked package (the stand-in cannot matmul)."""
    done = subprocess.run(
        [sys.executable, "-m", "envgen", "verify", "p", "--json"],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode == 2:  # no environment at all
        return False
    checks = {c["name"]: c["status"] for c in json.loads(done.stdout)["checks"]}
    return all(checks.get(n) == "pass" for n in ("environment", "interpreter", "packages"))
