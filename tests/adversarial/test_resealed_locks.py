"""A lock edited to take torch elsewhere and resealed (the seal is a plain sha256 anyone can
recompute) is caught wherever a lock is read: check fails it, create refuses it (exit 2),
verify fails its packages check, lock will not keep it without --force. The one edit no file
can reveal offline (PyPI's hash under a '# from' naming the PyTorch index) fails at install:
create installs the torch family from the PyTorch index alone.

Everything is served on 127.0.0.1: PyTorch-shaped indexes, a PyPI index that also holds a
``torch 2.4.1`` (the dependency-confusion twin), and a conda channel.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from envgen.digest import CONTENT_PLACEHOLDER, seal
from envgen.project import Project
from envgen.verify import verify_env
from tests.conftest import isolate_installers
from tests.fixtures.conda_channel import CondaChannel
from tests.fixtures.envs import make_venv, mark_created
from tests.fixtures.pypi_index import PYPI_INDEX, LocalIndexes
from tests.helpers import run_cli, write_profile

PYTORCH = "https://download.pytorch.org/whl/cpu"
PYPI = "https://pypi.org/simple"
PROFILE = (
    'python: "3.11"\naccelerator: cpu\npytorch: {version: "2.4.1", packages: [torch]}\n'
    "platforms: [linux-64]\npip: [tqdm]\n"
)


def reseal(text: str) -> str:
    """What an attacker does after editing: recompute the content seal."""
    found = re.search(r"(envgen-content-sha256: )([0-9a-f]{64})", text)
    assert found is not None
    return seal(text[: found.start(2)] + CONTENT_PLACEHOLDER + text[found.end(2) :])


@pytest.fixture
def locked(
    project_dir: Path,
    torch_indexes: LocalIndexes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[Path, str]:
    """A project locked through the local indexes; (lock path, PyPI's torch wheel sha256)."""
    isolate_installers(monkeypatch, project_dir.parent)
    twin = torch_indexes.add(PYPI_INDEX, "torch", "2.4.1")  # PyPI's torch, any platform
    torch_indexes.publish()
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write(torch_indexes.mirror_toml())
    write_profile(project_dir, "p", PROFILE)
    for args in (("render", "p"), ("lock", "p", "--no-conda")):
        result = run_cli(capsys, *args)
        assert result.code == 0, result.err
    lock = project_dir / "envs" / "p" / "requirements-linux-64.lock.txt"
    assert f"--extra-index-url {PYTORCH}" in lock.read_text()
    return lock, hashlib.sha256(twin.read_bytes()).hexdigest()


def _torch_block(text: str) -> str:
    found = re.search(r"^torch==.*?# from [^\n]*\n", text, re.M | re.S)
    assert found is not None
    return found.group(0)


def _edits(text: str, pypi_hash: str) -> dict[str, str]:
    block = _torch_block(text)
    from_pypi = re.sub(r"torch==\S+", "torch==2.4.1", block)
    from_pypi = re.sub(r"sha256:[0-9a-f]{64}", f"sha256:{pypi_hash}", from_pypi)
    return {
        "torch from PyPI": text.replace(
            block, from_pypi.replace(f"# from {PYTORCH}", f"# from {PYPI}")
        ),
        "PyTorch index line dropped": text.replace(f"--extra-index-url {PYTORCH}\n", ""),
        "an index added": text.replace(
            f"--index-url {PYPI}\n",
            f"--index-url {PYPI}\n--extra-index-url https://evil.example/simple\n",
        ),
        "find-links added": text.replace(
            f"--index-url {PYPI}\n", f"--index-url {PYPI}\n--find-links /tmp\n"
        ),
        "another torch version": text.replace(
            block, block.replace("torch==2.4.1+cpu", "torch==2.3.0+cpu")
        ),
        "torch's index unnamed": text.replace(block, block.replace(f"    # from {PYTORCH}\n", "")),
        "torch's hash removed": text.replace(block, re.sub(r" \\\n    --hash=\S+", "", block)),
    }


def test_check_create_and_lock_refuse_a_resealed_lock(
    locked: tuple[Path, str], project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock, pypi_hash = locked
    original = lock.read_text()
    assert run_cli(capsys, "check", "p").code == 0
    for what, edited in _edits(original, pypi_hash).items():
        assert edited != original, what
        lock.write_text(reseal(edited))
        result = run_cli(capsys, "check", "p")
        assert result.code == 1, (what, result.out)
        assert "not what envgen locks" in result.out, (what, result.out)
        result = run_cli(capsys, "create", "p", "--installer", "pip", "--python", sys.executable)
        assert result.code == 2 and "Traceback" not in result.err, (what, result.err)
        assert "not what envgen locks" in result.err, what
        assert not (project_dir / ".envgen" / "envs" / "p").exists(), what
        result = run_cli(capsys, "lock", "p", "--no-conda")
        assert result.code == 2 and "--force" in result.err, (what, result.err)
        assert lock.read_text() == reseal(edited), what  # nothing rewritten without --force
    lock.write_text(original)


def test_verify_fails_the_packages_of_a_resealed_lock(
    locked: tuple[Path, str], tmp_path: Path
) -> None:
    lock, pypi_hash = locked
    lock.write_text(reseal(_edits(lock.read_text(), pypi_hash)["torch from PyPI"]))
    prefix = make_venv(tmp_path / "env")
    mark_created(prefix, "p")
    report = verify_env(Project.open(), "p", prefix=prefix)
    packages = next(c for c in report.checks if c.name == "packages")
    assert packages.status == "fail" and "not what envgen locks" in packages.detail
    assert "comes from https://pypi.org/simple" in packages.detail


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_create_takes_torch_only_from_the_pytorch_index(
    locked: tuple[Path, str],
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
    installer: str,
) -> None:
    """PyPI's hash under a '# from' that names the PyTorch index: no file can tell offline;
    the install from the PyTorch index alone finds no torch with that hash."""
    lock, pypi_hash = locked
    text = lock.read_text()
    block = _torch_block(text)
    twin = re.sub(r"sha256:[0-9a-f]{64}", f"sha256:{pypi_hash}", block.replace("+cpu", ""))
    lock.write_text(reseal(text.replace(block, twin)))
    assert run_cli(capsys, "check", "p", "-q").code == 0  # the content keeps every rule
    result = run_cli(capsys, "create", "p", "--installer", installer, "--python", sys.executable)
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert "from the PyTorch index only" in result.err
    assert not (project_dir / ".envgen" / "envs" / "p").exists()


def test_a_resealed_conda_lock_and_pylock_are_caught(
    project_dir: Path,
    torch_indexes: LocalIndexes,
    conda_channel: CondaChannel,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    isolate_installers(monkeypatch, project_dir.parent)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write(torch_indexes.mirror_toml())
    write_profile(
        project_dir, "p", PROFILE + f"conda: [numpy]\nchannels: ['{conda_channel.url}']\n"
    )
    for args in (("render", "p"), ("lock", "p", "--engine", "rattler", "--pylock")):
        result = run_cli(capsys, *args)
        assert result.code == 0, result.err
    directory = project_dir / "envs" / "p"
    assert run_cli(capsys, "check", "p").code == 0
    conda_lock, pylock = directory / "conda-lock.yml", directory / "pylock.toml"
    originals = {conda_lock: conda_lock.read_text(), pylock: pylock.read_text()}
    wheel = re.search(rf"url: ({re.escape(PYTORCH)}/torch-[^\s]+)", originals[conda_lock])
    numpy = re.search(r"url: (\S+/numpy-[^\s]+)", originals[conda_lock])
    assert wheel is not None and numpy is not None
    edits: list[tuple[Path, Callable[[str], str]]] = [
        (
            conda_lock,
            lambda t: t.replace(
                wheel.group(1), "https://files.pythonhosted.org/t/torch-2.4.1-py3-none-any.whl"
            ),
        ),
        (
            conda_lock,
            lambda t: t.replace(
                numpy.group(1),
                "https://conda.anaconda.org/evil/linux-64/numpy-1.26.4-py311h_0.tar.bz2",
            ),
        ),
        (
            pylock,
            lambda t: re.sub(
                r'(name = "torch"\nversion = "[^"]+"\n(?:marker = "[^"]*"\n)?index = )"[^"]+"',
                rf'\1"{PYPI}"',
                t,
            ),
        ),
        (
            pylock,
            lambda t: t.replace(f"{PYTORCH}/torch-", "https://files.pythonhosted.org/t/torch-"),
        ),
    ]
    for path, edit in edits:
        edited = edit(originals[path])
        assert edited != originals[path], path.name
        path.write_text(reseal(edited))
        result = run_cli(capsys, "check", "p")
        # a URL no mirror rule or public index explains is caught first, as not a public one
        said = ("not what envgen locks", "carries a URL that is not a public one")
        assert result.code == 1 and any(s in result.out for s in said), (path.name, result.out)
        path.write_text(originals[path])
    assert run_cli(capsys, "check", "p").code == 0
