"""Special files where envgen reads: a FIFO once hung render and check, /dev/zero ran out of
memory. Every file envgen reads is refused unless regular and of sane size: exit 2 naming the
file, nothing written, in bounded time and memory.

FIFO cases run in-process under an alarm (a hang fails the test instead of stalling the suite);
/dev/zero cases run the CLI in a subprocess with its address space capped, so a regression is a
failed test, not an exhausted machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from envgen.envmeta import MARKER
from tests.fixtures.envs import make_venv
from tests.helpers import Result, run_cli, snapshot, write_profile

CPU = 'python: "3.11"\naccelerator: cpu\npytorch: "2.4.1"\nplatforms: [linux-64]\n'
SECRET = "ssh-ed25519 AAAA-the-secret-key"

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX special files")


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: a read blocked")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refused(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    before = snapshot(root)
    with deadline(60):
        result = run_cli(capsys, *args)
    assert result.code == 2, (args, result.code, result.err)
    assert result.err.startswith("error: ") and "Traceback" not in result.err
    assert snapshot(root) == before
    return result.err


def run_capped(root: Path, *args: str) -> Result:
    """The CLI in a subprocess with 2 GiB of address space and 120 s."""

    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    done = subprocess.run(
        [sys.executable, "-m", "envgen", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap,
        # glibc reserves 64 MiB of address space per thread's arena: keep the cap about reads
        env={
            **os.environ,
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "MALLOC_ARENA_MAX": "2",
        },
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def rendered(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    write_profile(project_dir, "p", CPU)
    assert run_cli(capsys, "render", "p").code == 0
    return project_dir / "envs" / "p"


def test_a_fifo_in_place_of_a_generated_file(
    rendered: Path, project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = rendered / "requirements.txt"
    target.unlink()
    os.mkfifo(target)
    for command in ("render", "check"):
        message = refused(capsys, project_dir, command, "p")
        assert "envs/p/requirements.txt" in message and "FIFO" in message


def test_a_fifo_in_place_of_a_profile_a_template_a_lock_and_pyproject(
    rendered: Path, project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(project_dir / "profiles" / "q.yaml")
    message = refused(capsys, project_dir, "render", "q")
    assert "profiles/q.yaml" in message and "FIFO" in message
    with deadline(60):
        listed = run_cli(capsys, "list")
    assert listed.code == 1 and "BROKEN: profiles/q.yaml" in listed.out
    (project_dir / "profiles" / "q.yaml").unlink()

    (project_dir / "templates").mkdir()
    os.mkfifo(project_dir / "templates" / "requirements.txt.j2")
    message = refused(capsys, project_dir, "check", "p")
    assert "requirements.txt.j2" in message and "FIFO" in message
    (project_dir / "templates" / "requirements.txt.j2").unlink()

    os.mkfifo(rendered / "requirements-linux-64.lock.txt")
    message = refused(capsys, project_dir, "check", "p")
    assert "requirements-linux-64.lock.txt" in message and "FIFO" in message
    (rendered / "requirements-linux-64.lock.txt").unlink()

    (project_dir / "pyproject.toml").unlink()
    os.mkfifo(project_dir / "pyproject.toml")
    message = refused(capsys, project_dir, "list")
    assert "pyproject.toml" in message and "FIFO" in message


def test_directories_and_oversized_files_are_named(
    rendered: Path, project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project_dir / "profiles" / "d.yaml").mkdir()
    assert "profiles/d.yaml" in refused(capsys, project_dir, "render", "d")
    (project_dir / "profiles" / "d.yaml").rmdir()
    big = project_dir / "profiles" / "big.yaml"
    big.write_text(CPU + "description: '" + "x" * (2 << 20) + "'\n")
    message = refused(capsys, project_dir, "show", "big")
    assert "profiles/big.yaml" in message and "larger than" in message
    big.unlink()
    (rendered / "environment.yml").unlink()
    (rendered / "environment.yml").mkdir()
    assert "envs/p/environment.yml" in refused(capsys, project_dir, "check", "p")


@pytest.mark.parametrize(
    ("where", "args", "named"),
    [
        ("pyproject.toml", ("list",), "pyproject.toml"),
        ("envs/p/requirements.txt", ("check", "p"), "requirements.txt"),
        ("catalog.yaml", ("show", "p"), "catalog.yaml"),
        ("profiles/z.yaml", ("render", "z"), "profiles/z.yaml"),
        (f".envgen/envs/p/{MARKER}", ("verify", "p"), MARKER),
    ],
)
def test_dev_zero_anywhere_is_refused_in_bounded_memory(
    rendered: Path, project_dir: Path, where: str, args: tuple[str, ...], named: str
) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    if where == "catalog.yaml":
        with (project_dir / "pyproject.toml").open("a") as fh:
            fh.write('[tool.envgen]\ncatalog = "catalog.yaml"\n')
    if where.startswith(".envgen"):
        make_venv(project_dir / ".envgen" / "envs" / "p")
    target = project_dir / where
    target.unlink(missing_ok=True)
    target.symlink_to("/dev/zero")
    before = snapshot(rendered)
    result = run_capped(project_dir, *args)
    assert result.code == 2, result.err
    assert named in result.err and "Traceback" not in result.err
    assert snapshot(rendered) == before


def test_a_generated_file_linked_out_of_the_project_is_never_read(
    rendered: Path, project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = project_dir.parent / "id_ed25519"
    secret.write_text(SECRET + "\n")
    for name in ("requirements.txt", "requirements-linux-64.lock.txt"):
        target = rendered / name
        target.unlink(missing_ok=True)
        target.symlink_to(secret)
        message = refused(capsys, project_dir, "check", "p")
        assert "outside the project" in message and SECRET not in message
        result = run_cli(capsys, "check", "p")
        assert SECRET not in result.out + result.err
        target.unlink()
    assert secret.read_text() == SECRET + "\n"


@pytest.mark.parametrize("kind", ["fifo", "deep", "secret"])  # a directory: click refuses it
def test_catalog_update_refuses_a_catalog_that_is_no_catalog_file(
    capsys: pytest.CaptureFixture[str], project_dir: Path, kind: str
) -> None:
    """``catalog update --catalog FILE`` reads the file it rewrites: refused before any request
    (no mirror is reachable here, so a request would be an exit 2 of another kind), never
    waited on, and a YAML error names the line without quoting the content."""
    target = project_dir / "catalog.yaml"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "deep":
        target.write_text("releases: " + "[" * 20_000 + "]" * 20_000 + "\n")
    else:
        target.write_text(f"releases: [{SECRET}\n")
    message = refused(
        capsys, project_dir, "catalog", "update", "--dry-run", "--catalog", str(target)
    )
    assert "catalog.yaml" in message and SECRET not in message and "request" not in message
