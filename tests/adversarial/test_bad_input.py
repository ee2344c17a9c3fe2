"""The clumsy user's inputs that used to end in exit 123 ("a bug in envgen"): all exit 2 now,
one paragraph naming the file or path, and nothing written."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from envgen.backends.lockfile import read_lock
from envgen.errors import EnvgenError
from envgen.mirrors import Mirrors
from tests.helpers import run_cli, snapshot, write_profile

CPU = 'python: "3.11"\naccelerator: cpu\npytorch: "2.4.1"\nplatforms: [linux-64]\n'


def refused(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    before = snapshot(root)
    result = run_cli(capsys, *args)
    assert result.code == 2, (result.code, result.err)
    message = result.err.strip()
    assert message.startswith("error: ") and "Traceback" not in message
    assert "\n" not in message and "bug in envgen" not in message
    assert snapshot(root) == before, "nothing may be written on error"
    return message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("!custom x", "tag !custom is not supported"),
        ('!!float "abc"', "'abc' is not a valid float"),
        ("!!timestamp nope", "'nope' is not a valid timestamp"),
        ("!!binary '@@@'", "!!binary is not supported"),
        ("!!python/object/apply:os.system ['touch PWNED']", "is not supported"),
        ("!!set {a, b}", "!!set is not supported"),
    ],
)
def test_tagged_scalars_are_exit_2(
    capsys: pytest.CaptureFixture[str], project_dir: Path, value: str, fragment: str
) -> None:
    write_profile(project_dir, "p", CPU + f"description: {value}\n")
    message = refused(capsys, project_dir, "render", "p")
    assert "profiles/p.yaml, line 5" in message and fragment in message
    assert not (project_dir / "PWNED").exists()


def test_the_merge_key_is_supported(capsys: pytest.CaptureFixture[str], project_dir: Path) -> None:
    write_profile(
        project_dir,
        "p",
        'variables: {<<: &common {A: "1", B: "2"}, B: "3"}\n' + CPU,
    )
    result = run_cli(capsys, "render", "p", "--stdout", "-f", "environment.yml")
    assert result.code == 0, result.err
    import yaml

    rendered = yaml.safe_load(result.out)
    assert rendered["variables"] == {"A": "1", "B": "3"}  # the mapping's own key wins


def test_a_merge_of_something_else_is_exit_2(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    write_profile(project_dir, "p", CPU + "variables: {<<: [1, 2]}\n")
    assert "merge key '<<' takes a mapping" in refused(capsys, project_dir, "render", "p")


@pytest.mark.parametrize("command", [["list"], ["render", "--all"], ["show", "bomb"]])
def test_an_alias_bomb_is_refused_quickly(
    capsys: pytest.CaptureFixture[str], project_dir: Path, command: list[str]
) -> None:
    write_profile(project_dir, "bomb", CPU + _bomb_key())
    started = time.monotonic()
    result = run_cli(capsys, *command)
    assert time.monotonic() - started < 20
    if command == ["list"]:
        # list shows the others and marks the broken one with its error (exit 1)
        bomb = next(line for line in result.out.splitlines() if line.startswith("bomb "))
        assert result.code == 1 and "BROKEN" in bomb and "alias" in bomb, result.out
    else:
        assert result.code == 2 and ("alias bomb" in result.err or "aliases" in result.err)


def _bomb_key() -> str:
    """9 levels of 9 aliases: 387 million values once expanded, a few hundred bytes on disk."""
    lines = ["x0: &x0 [a, a, a, a, a, a, a, a, a]"]
    for level in range(1, 9):
        lines.append(f"x{level}: &x{level} [" + ", ".join([f"*x{level - 1}"] * 9) + "]")
    return "variables_bomb:\n" + "".join(f"  {line}\n" for line in lines)


def test_a_profile_with_too_many_aliases_is_refused(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    body = "x: &x a\n" + "".join(f"y{i}: *x\n" for i in range(150))
    write_profile(project_dir, "p", body)
    assert "more than 100 aliases" in refused(capsys, project_dir, "render", "p")


def test_output_path_under_a_file_is_exit_2(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    write_profile(project_dir, "p", CPU)
    (project_dir / "blocker").write_text("not a directory")
    message = refused(capsys, project_dir, "render", "p", "-o", "blocker/out")
    assert "cannot write" in message and "blocker" in message


def test_template_names_with_paths_are_exit_2(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    write_profile(project_dir, "p", CPU)
    for name in ("../../etc/passwd", "/etc/passwd", "..", "a/b"):
        assert "is not a template name" in refused(capsys, project_dir, "render", "p", "-f", name)


def _fail_for(monkeypatch: pytest.MonkeyPatch, directory: str, code: int) -> None:
    """Make staging a file under ``directory`` fail as the OS would (root ignores chmod)."""
    import tempfile

    real = tempfile.mkstemp

    def mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
        if str(kwargs.get("dir", "")).endswith(directory):
            raise OSError(code, os.strerror(code), str(kwargs["dir"]))
        return real(*args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr("envgen.atomic.tempfile.mkstemp", mkstemp)


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (errno.ENOSPC, "free some disk space"),
        (errno.EROFS, "read-only"),
        (errno.EACCES, "writable"),
    ],
)
def test_render_of_two_profiles_is_all_or_nothing(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    fix: str,
) -> None:
    write_profile(project_dir, "a", CPU)
    write_profile(project_dir, "b", CPU + "description: second\n")
    assert run_cli(capsys, "render", "a", "b").code == 0
    write_profile(project_dir, "a", CPU + "description: changed\n")
    write_profile(project_dir, "b", CPU + "description: changed too\n")
    _fail_for(monkeypatch, "envs/b", code)
    message = refused(capsys, project_dir, "render", "a", "b")
    assert "envs/b" in message and fix in message and "Nothing was changed" in message
    leftovers = [p.name for p in (project_dir / "envs").rglob("*.tmp")]
    assert leftovers == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_really_read_only_directory(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:  # pragma: no cover - runs where CI is not root
    write_profile(project_dir, "a", CPU)
    write_profile(project_dir, "b", CPU)
    (project_dir / "envs" / "b").mkdir(parents=True)
    (project_dir / "envs" / "b").chmod(0o555)
    try:
        assert "envs/b" in refused(capsys, project_dir, "render", "a", "b")
    finally:
        (project_dir / "envs" / "b").chmod(0o755)


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff\xfe garbage \x89PNG",
        b"[]",
        b"null",
        b"just a string",
        b"package: 3\nmetadata: {}",
        b"package: [1]\nmetadata: {platforms: [linux-64]}",
        b"package: [{platform: linux-64}]\nmetadata: {platforms: [linux-64]}",
    ],
)
def test_a_broken_conda_lock_is_exit_2(tmp_path: Path, content: bytes) -> None:
    lock = tmp_path / "conda-lock.yml"
    lock.write_bytes(content)
    with pytest.raises(EnvgenError) as info:
        read_lock(lock, "linux-64", Mirrors())
    assert str(lock) in str(info.value) and info.value.exit_code == 2


def test_an_alias_bomb_in_a_conda_lock_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "conda-lock.yml"
    lock.write_text(
        "metadata: {platforms: [linux-64]}\n" + _bomb_key().replace("variables_bomb", "package")
    )
    started = time.monotonic()
    with pytest.raises(EnvgenError, match="alias bomb"):
        read_lock(lock, "linux-64", Mirrors())
    assert time.monotonic() - started < 10
