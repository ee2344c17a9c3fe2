"""Deep or looping input: nesting thousands deep, endless extends chains, symlink loops.

Each used to end in RecursionError (exit 123, "a bug in envgen"), and ``list`` took half a
minute before crashing on one such profile. Now: exit 2 naming the file, ``list`` marks the
profile BROKEN and goes on, and ``create --force`` still replaces an environment whose marker
is nested too deeply.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from envgen.backends.lockfile import read_lock
from envgen.envmeta import MARKER, read_marker
from envgen.errors import EnvgenError
from envgen.mirrors import Mirrors
from envgen.project import Project
from tests.fixtures.envs import make_venv
from tests.helpers import create_named, run_cli, snapshot, write_profile

CPU = 'python: "3.11"\naccelerator: cpu\npytorch: "2.4.1"\nplatforms: [linux-64]\n'
PIP_ONLY = 'python: "3.11"\npytorch: {version: "2.4.1", packages: [torch]}\nplatforms: [linux-64]\n'


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """A loop or a runaway recursion fails the test instead of stalling the suite."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refused(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    before = snapshot(root)
    with deadline(120):
        result = run_cli(capsys, *args)
    assert result.code == 2, (args, result.code, result.err[-500:])
    assert "Traceback" not in result.err and "bug in envgen" not in result.err
    assert snapshot(root) == before
    return result.err


DEEP_PROFILES = {
    "lists": CPU + "pip: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "mappings": CPU + "variables: " + "{a: " * 3_000 + "b" + "}" * 3_000 + "\n",
    "block": CPU + "variables:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(900)),
    "sequences": CPU + "conda:\n" + "- " * 5_000 + "x\n",
    "merges": "a0: &a0 {x: 1}\n"
    + "".join(f"a{i}: &a{i} {{<<: *a{i - 1}}}\n" for i in range(1, 99))
    + CPU,
}


@pytest.mark.parametrize("shape", sorted(DEEP_PROFILES))
def test_a_deeply_nested_profile_is_exit_2_and_list_marks_it(
    project_dir: Path, capsys: pytest.CaptureFixture[str], shape: str
) -> None:
    write_profile(project_dir, "deep", DEEP_PROFILES[shape])
    write_profile(project_dir, "fine", CPU)
    message = refused(capsys, project_dir, "render", "deep")
    assert "profiles/deep.yaml" in message
    with deadline(120):
        listed = run_cli(capsys, "list")
    assert listed.code == 1
    rows = {line.split()[0]: line for line in listed.out.splitlines() if line.strip()}
    assert "BROKEN: profiles/deep.yaml" in rows["deep"] and "BROKEN" not in rows["fine"]


@pytest.mark.slow
@pytest.mark.parametrize("length", [5_000, 1_100])
def test_a_long_extends_chain(
    project_dir: Path, capsys: pytest.CaptureFixture[str], length: int
) -> None:
    profiles = project_dir / "profiles"
    profiles.mkdir()
    for i in range(length):
        text = f"extends: p{i + 1}\n" if i < length - 1 else "extends: base\naccelerator: cpu\n"
        (profiles / f"p{i}.yaml").write_text(text)
    message = refused(capsys, project_dir, "render", "p0")
    assert "extends a chain of more than" in message and "profiles/p1000.yaml" in message
    if length > 2_000:
        return  # list over 5,000 profiles is bench material; 1,100 show the same
    with deadline(120):
        listed = run_cli(capsys, "list")
    assert listed.code == 1 and "Traceback" not in listed.err
    rows = {line.split()[0]: line for line in listed.out.splitlines() if line.strip()}
    assert "BROKEN" in rows["p0"] and "BROKEN" not in rows[f"p{length - 10}"]


@pytest.mark.parametrize(
    "toml",
    [
        "x = " + "[" * 5_000 + "]" * 5_000,
        "x = " + "{a = " * 3_000 + "1" + "}" * 3_000,
        "[tool.envgen]\nrunners = " + "{a = " * 3_000 + "1" + "}" * 3_000,
    ],
    ids=["arrays", "inline-tables", "in-tool-envgen"],
)
def test_deeply_nested_toml_in_pyproject(
    project_dir: Path, capsys: pytest.CaptureFixture[str], toml: str
) -> None:
    write_profile(project_dir, "p", CPU)
    pyproject = project_dir / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + toml + "\n# envgen\n[tool.envgen]\n" * ("tool" not in toml)
    )
    for args in (("list",), ("render", "p")):
        message = refused(capsys, project_dir, *args)
        assert "pyproject.toml" in message and "nested too deeply" in message


@pytest.mark.parametrize("where", ["profiles", "templates", "envs"])
def test_a_symlink_loop_is_named(
    project_dir: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    if where != "profiles":
        write_profile(project_dir, "p", CPU)
    (project_dir / where).symlink_to(where)
    message = refused(capsys, project_dir, "render", "p")
    assert "loop of symbolic links" in message and where in message
    if where == "profiles":
        assert "loop of symbolic links" in refused(capsys, project_dir, "list")


def test_a_deeply_nested_marker_is_exit_2_and_create_force_recovers(
    project_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile(project_dir, "p", PIP_ONLY)
    prefix = project_dir / ".envgen" / "envs" / "p"
    make_venv(prefix)
    (prefix / MARKER).write_text("[" * 100_000 + "]" * 100_000)
    for args in (("verify", "p"), ("create", "p", "--python", sys.executable)):
        message = refused(capsys, project_dir, *args)
        assert "marker is broken" in message and "nested too deeply" in message

    class Backend:  # the real _build around a stand-in backend: no install needed
        def create(self, plan: object) -> None:
            make_venv(plan.prefix)  # type: ignore[attr-defined]

    monkeypatch.setattr("envgen.prefix_build.backend", lambda name: Backend())
    result = create_named(Project.open(), "p", python=Path(sys.executable), force=True)
    assert result.status == "rebuilt"
    marker = read_marker(prefix)
    assert marker is not None and marker.profile == "p"
    json.loads((prefix / MARKER).read_text())


def test_a_deeply_nested_conda_lock_is_exit_2(tmp_path: Path) -> None:
    lock = tmp_path / "conda-lock.yml"
    lock.write_text("package: " + "[" * 5_000 + "]" * 5_000 + "\n")
    with pytest.raises(EnvgenError) as info:
        read_lock(lock, "linux-64", Mirrors())
    assert info.value.exit_code == 2 and "nested more than" in info.value.message
