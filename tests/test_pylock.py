"""``envgen lock --pylock``: pylock.toml (PEP 751) from the same solves as the hashed locks.

Judged by its consumers against the loopback PyTorch index and PyPI stand-in of
tests/fixtures/pypi_index.py: uv and pip >= 26 (``pip install -r pylock.toml``, experimental in
pip) install it, and ``packaging.pylock`` validates it and selects each platform's artifacts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from envgen.output import CURRENT, EDITED
from tests.conftest import isolate_installers, isolated_pip_env
from tests.fixtures.pypi_index import PYPI_INDEX, PYPI_PUBLIC, PYTORCH_PUBLIC, LocalIndexes
from tests.helpers import lock_states_named, run_cli, write_profile
from tests.test_lock_pip import GPU, parse_lock, sha256, through_mirrors, wheel

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TORCH_FAMILY = {"torch", "torchvision", "pytorch-triton"}


@pytest.fixture
def project(
    project_dir: Path, torch_indexes: LocalIndexes, monkeypatch: pytest.MonkeyPatch
) -> Path:
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + torch_indexes.mirror_toml())
    isolate_installers(monkeypatch, project_dir.parent)
    write_profile(project_dir, "gpu", GPU)
    return project_dir


def _packages(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in doc["packages"]}


def test_pylock_holds_the_same_artifacts_and_hashes_as_the_requirements_locks(
    project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str]
) -> None:
    planted = torch_indexes.add(PYPI_INDEX, "torch", "9.9.9", marker="EVIL")
    torch_indexes.publish()
    result = run_cli(capsys, "lock", "gpu", "--no-conda", "--pylock")
    assert result.code == 0, result.err
    directory = project / "envs" / "gpu"
    text = (directory / "pylock.toml").read_text()
    doc = tomllib.loads(text)
    assert doc["lock-version"] == "1.0"
    assert doc["created-by"] == "envgen"
    assert doc["requires-python"] == "==3.11.*"
    assert len(doc["environments"]) == 2
    packages = _packages(doc)
    assert set(packages) == {"torch", "torchvision", "pytorch-triton", "filelock", "tqdm"}
    # canonical URLs only, as in the requirements locks (a mirror applies at install time)
    cu118 = f"{PYTORCH_PUBLIC}/cu118"
    assert "127.0.0.1" not in text
    for name in TORCH_FAMILY:
        assert packages[name]["index"] == cu118
        assert all(w["url"].startswith(cu118 + "/") for w in packages[name]["wheels"])
    assert packages["tqdm"]["index"] == PYPI_PUBLIC
    assert packages["torch"]["version"] == "2.4.1+cu118"
    assert "9.9.9" not in text and sha256(planted) not in text
    # pytorch-triton is a Linux-only dependency; everything else is locked for both platforms
    assert packages["pytorch-triton"]["marker"] == (
        "sys_platform == 'linux' and platform_machine == 'x86_64'"
    )
    assert all("marker" not in p for n, p in packages.items() if n != "pytorch-triton")
    # every hash is the one the platform's requirements lock carries
    for platform in ("linux-64", "win-64"):
        locked = parse_lock(directory / f"requirements-{platform}.lock.txt")
        for name, entry in locked.packages.items():
            hashes = {w["hashes"]["sha256"] for w in packages[name]["wheels"]}
            assert set(entry.hashes) <= hashes, (platform, name)
    names = {unquote(w["url"].rsplit("/", 1)[-1]) for w in packages["torch"]["wheels"]}
    assert names == {w["name"] for w in packages["torch"]["wheels"]}
    assert {p.name for p in (torch_indexes.root / "whl/cu118").glob("torch-*.whl")} == names
    torch_sha = sha256(wheel(torch_indexes, "whl/cu118", "torch-*-win_amd64.whl"))
    assert torch_sha in {w["hashes"]["sha256"] for w in packages["torch"]["wheels"]}


def test_uv_installs_the_pylock_for_this_platform(
    project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run_cli(capsys, "lock", "gpu", "--no-conda", "--pylock").code == 0
    locked = project / "envs" / "gpu" / "pylock.toml"
    # behind a mirror, by docs/committed-files.md's recipe: the URLs rewritten, hashes unchanged
    path = through_mirrors(locked, torch_indexes.mirrors, tmp_path / "pylock.toml")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    command = [sys.executable, "-m", "uv", "pip", "install", "--no-config"]
    command += ["--python", python, "-r", str(path)]
    done = subprocess.run(command, env=isolated_pip_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    probe = "import torch, pytorch_triton, tqdm; print(torch.__version__, pytorch_triton.BUILD)"
    shown = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["2.4.1+cu118", "whl/cu118"]


def test_pip_installs_the_pylock_for_this_platform(
    project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``python -m pip install -r pylock.toml`` (pip >= 26, a test dependency), isolated from
    this machine's pip configuration."""
    import pip

    assert int(pip.__version__.split(".")[0]) >= 26, pip.__version__
    assert run_cli(capsys, "lock", "gpu", "--no-conda", "--pylock").code == 0
    locked = project / "envs" / "gpu" / "pylock.toml"
    path = through_mirrors(locked, torch_indexes.mirrors, tmp_path / "pylock.toml")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    command = [sys.executable, "-m", "pip", "--python", python, "install", "--no-cache-dir"]
    command += ["-r", str(path)]
    done = subprocess.run(command, env=isolated_pip_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    probe = "import torch, pytorch_triton, tqdm; print(torch.__version__, pytorch_triton.BUILD)"
    shown = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["2.4.1+cu118", "whl/cu118"]
    # pip checks the hashes the file carries: a tampered one is refused
    tampered = tmp_path / "tampered" / "pylock.toml"
    tampered.parent.mkdir()
    sha = sha256(wheel(torch_indexes, "whl/cu118", "torch-*-manylinux_2_28_x86_64.whl"))
    tampered.write_text(path.read_text().replace(sha, "0" * 64))
    command[-1] = str(tampered)
    refused = subprocess.run(
        [*command, "--force-reinstall"],
        env=isolated_pip_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "hash" in refused.stderr.lower(), refused.stderr


def test_packaging_pylock_validates_it_and_selects_each_platforms_lock(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``packaging.pylock`` (PEP 751's reference reader) picks, per platform, exactly the
    artifacts that platform's hashed requirements lock holds."""
    from packaging.pylock import Pylock
    from packaging.tags import Tag, compatible_tags, cpython_tags

    from envgen.lockers.wheeltags import _platform_tags, marker_environment

    def tags(platform: str) -> list[Tag]:
        """The platform's wheel tags in priority order, as an installer there ranks them."""
        where = list(_platform_tags(platform))
        return [*cpython_tags((3, 11), ["cp311"], where), *compatible_tags((3, 11), "cp311", where)]

    assert run_cli(capsys, "lock", "gpu", "--no-conda", "--pylock").code == 0
    directory = project / "envs" / "gpu"
    lock = Pylock.from_dict(tomllib.loads((directory / "pylock.toml").read_text()))
    for platform in ("linux-64", "win-64"):
        chosen = lock.select(
            environment=marker_environment(platform, "3.11"),  # type: ignore[arg-type]
            tags=tags(platform),
        )
        picked = {str(p.name): (str(p.version), a) for p, a in chosen}
        locked = parse_lock(directory / f"requirements-{platform}.lock.txt")
        assert {n: v for n, (v, _) in picked.items()} == {
            n: e.version for n, e in locked.packages.items()
        }
        for name, (_, artifact) in picked.items():
            assert artifact.hashes["sha256"] in locked.packages[name].hashes, (platform, name)
    assert "pytorch-triton" not in {
        str(p.name)
        for p, _ in lock.select(
            environment=marker_environment("win-64", "3.11"),  # type: ignore[arg-type]
            tags=tags("win-64"),
        )
    }


def test_a_written_pylock_is_kept_current_and_checked(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "lock", "gpu", "--no-conda").code == 0
    directory = project / "envs" / "gpu"
    assert not (directory / "pylock.toml").exists()  # opt-in
    assert run_cli(capsys, "lock", "gpu", "--no-conda", "--pylock").code == 0
    states = {s.path.name: s.state for s in lock_states_named("gpu")}
    assert states["pylock.toml"] == CURRENT
    # once written, a later lock without the flag keeps it current
    write_profile(project, "gpu", GPU.replace("[tqdm]", "[tqdm, filelock]"))
    before = (directory / "pylock.toml").read_text()
    assert run_cli(capsys, "lock", "gpu", "--no-conda").code == 0
    assert (directory / "pylock.toml").read_text() != before
    states = {s.path.name: s.state for s in lock_states_named("gpu")}
    assert states["pylock.toml"] == CURRENT
    # a hand edit is caught by check and protected from lock
    path = directory / "pylock.toml"
    path.write_text(path.read_text().replace('"tqdm"', '"tqdm2"'))
    states = {s.path.name: s.state for s in lock_states_named("gpu")}
    assert states["pylock.toml"] == EDITED
    assert run_cli(capsys, "render", "gpu").code == 0
    failed = run_cli(capsys, "check", "gpu")
    assert failed.code == 1 and "envs/gpu/pylock.toml" in failed.out
    refused = run_cli(capsys, "lock", "gpu", "--no-conda", "--upgrade")
    assert refused.code == 2 and "pylock.toml" in refused.err
