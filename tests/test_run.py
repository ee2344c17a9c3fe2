"""``envgen run``: the command sees the activated environment; its exit status is envgen's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from envgen.errors import EnvgenError
from envgen.project import Project
from envgen.run import prepare, run_in
from tests.fixtures.envs import make_venv, mark_created
from tests.helpers import run_cli, write_profile

SHOW = (
    "import json, os, shutil, sys; print(json.dumps({'prefix': sys.prefix, "
    "'venv': os.environ.get('VIRTUAL_ENV'), 'which': shutil.which('python'), "
    "'foo': os.environ.get('FOO')}))"
)


@pytest.fixture
def env(project_dir: Path) -> Path:
    """A finished (marked) venv at the profile's default location."""
    write_profile(project_dir, "cpu", 'python: "3.11"\nvariables: {FOO: bar}\n')
    prefix = make_venv(project_dir / ".envgen" / "envs" / "cpu")
    mark_created(prefix, "cpu")
    return prefix


def envgen(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process: run execs, which must not replace pytest."""
    return subprocess.run(
        [sys.executable, "-m", "envgen", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_command_sees_the_activated_environment(env: Path) -> None:
    result = envgen("run", "cpu", "--", "python", "-c", SHOW)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen == {
        "prefix": str(env),
        "venv": str(env),
        "which": str(env / "bin" / "python"),
        "foo": "bar",
    }


def test_exit_status_and_stdin_pass_through(env: Path) -> None:
    code = "import sys; data = sys.stdin.read(); print(data.upper()); sys.exit(7)"
    result = envgen("run", "cpu", "--", "python", "-c", code, stdin="hello")
    assert (result.returncode, result.stdout) == (7, "HELLO\n")


def test_options_after_the_separator_belong_to_the_command(env: Path, tmp_path: Path) -> None:
    result = envgen("run", "cpu", "--prefix", str(env), "--", "python", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Python 3.")


def test_a_signal_death_is_the_commands_own(env: Path) -> None:
    """exec: the process that dies of SIGTERM is the one envgen's caller started."""
    code = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    result = envgen("run", "cpu", "--", "python", "-c", code)
    assert result.returncode == -signal.SIGTERM


def test_unknown_command_and_unfinished_environment(env: Path) -> None:
    result = envgen("run", "cpu", "--", "no-such-command-xyz")
    assert result.returncode == 127
    assert "'no-such-command-xyz' is not on the environment's PATH" in result.stderr
    (env / "envgen-env.json").unlink()
    result = envgen("run", "cpu", "--", "python", "-V")
    assert result.returncode == 2
    assert "not a finished envgen environment" in result.stderr


def test_an_environment_built_for_another_profile_is_refused(
    env: Path, project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "other", 'python: "3.11"\n')
    result = run_cli(capsys, "run", "other", "--prefix", str(env), "--", "python", "-V")
    assert result.code == 2
    assert "was built for profile 'cpu', not 'other'" in result.err


def test_run_in_returns_the_status_like_a_shell(env: Path) -> None:
    """The child-process path (Windows has no exec), exercised here on POSIX."""
    activation = prepare(Project.open(), "cpu")
    assert run_in(activation, ["python", "-c", "import sys; sys.exit(3)"]) == 3
    kill = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert run_in(activation, ["python", "-c", kill]) == 128 + signal.SIGKILL
    with pytest.raises(EnvgenError) as info:
        run_in(activation, ["no-such-command-xyz"])
    assert info.value.exit_code == 127


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_run_in_forwards_sigterm_to_the_command(env: Path, tmp_path: Path) -> None:
    """A supervisor's SIGTERM to envgen reaches the command, which may clean up and exit."""
    child = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    driver = (
        "import sys\n"
        "from envgen.project import Project\n"
        "from envgen.run import prepare, run_in\n"
        f"sys.exit(run_in(prepare(Project.open(), 'cpu'), ['python', '-c', {child!r}]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", driver], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 42
