"""``envgen lock``, pip side: hashed per-platform locks solved by uv against local indexes.

The indexes (tests/fixtures/pypi_index.py) serve real wheels from 127.0.0.1, so index routing,
local version tags, hashes, the dependency-confusion guard and pip/uv installs all run for real,
offline. Every pip/uv process is isolated from this machine's pip and uv configuration.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from envgen.digest import read_seal
from envgen.output import CURRENT, EDITED, MISSING, STALE
from envgen.project import Project
from tests.conftest import isolate_installers, isolated_pip_env
from tests.fixtures.conda_channel import CondaChannel
from tests.fixtures.pypi_index import (
    PYPI_INDEX,
    PYPI_PUBLIC,
    PYTORCH_PUBLIC,
    LocalIndexes,
    populate_torch,
)
from tests.helpers import Result, lock_states_named, run_cli, snapshot, write_profile

GPU = """
python: "3.11"
accelerator: cuda
cuda: "11.8"
pytorch: {version: "2.4.1", packages: [torch, torchvision]}
pip: [tqdm]
"""


@dataclass
class Locked:
    version: str
    hashes: list[str] = field(default_factory=list)
    index: str = ""


@dataclass
class LockFile:
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    packages: dict[str, Locked] = field(default_factory=dict)


def parse_lock(path: Path) -> LockFile:
    """name -> version, hashes and ``# from`` index; every requirement line must be a pin."""
    lock = LockFile()
    current: Locked | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip().rstrip("\\").strip()
        if line.startswith("--index-url "):
            lock.index_url = line.split()[1]
        elif line.startswith("--extra-index-url "):
            lock.extra_index_urls.append(line.split()[1])
        elif line.startswith("--hash=sha256:"):
            assert current is not None
            current.hashes.append(line.split(":", 1)[1])
        elif line.startswith("# from ") and raw.startswith("    "):
            assert current is not None
            current.index = line[len("# from ") :]
        elif line and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep, f"not a pin: {line!r}"
            current = lock.packages[name] = Locked(version)
    return lock


def through_mirrors(lock_file: Path, mirrors: dict[str, str], target: Path) -> Path:
    """docs/committed-files.md's recipe for installing a lock by hand behind a mirror: rewrite
    its URLs."""
    text = lock_file.read_text()
    for public, mirror in mirrors.items():
        text = text.replace(public, mirror)
    target.write_text(text)
    return target


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wheel(indexes: LocalIndexes, index: str, name: str) -> Path:
    (found,) = (indexes.root / index).glob(name)
    return found


@pytest.fixture
def bare_project(
    project_dir: Path, local_indexes: LocalIndexes, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A project whose mirrors point PyTorch's index and PyPI at the (empty) local indexes."""
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + local_indexes.mirror_toml())
    # envgen's own uv runs: a private cache, and no UV_* settings from this machine.
    isolate_installers(monkeypatch, project_dir.parent)
    write_profile(project_dir, "gpu", GPU)
    return project_dir


@pytest.fixture
def project(bare_project: Path, torch_indexes: LocalIndexes) -> Path:
    """The same, with torch 2.4.1 (cu118, cpu) published."""
    return bare_project


def lock(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    return run_cli(capsys, "lock", *args)


def test_lock_writes_a_hashed_lock_per_platform(
    project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str]
) -> None:
    result = lock(capsys, "gpu", "--no-conda")
    assert result.code == 0, result.err
    assert "solving pip requirements for linux-64" in result.err
    directory = project / "envs" / "gpu"
    assert sorted(p.name for p in directory.iterdir()) == [
        "requirements-linux-64.lock.txt",
        "requirements-win-64.lock.txt",
    ]
    # Solved through the local mirrors, but the lock names the public indexes only.
    cu118 = f"{PYTORCH_PUBLIC}/cu118"
    for platform, tag in (("linux-64", "manylinux_2_28_x86_64"), ("win-64", "win_amd64")):
        path = directory / f"requirements-{platform}.lock.txt"
        parsed = parse_lock(path)
        expected = {"torch", "torchvision", "filelock", "tqdm"}
        if platform == "linux-64":
            expected.add("pytorch-triton")  # Linux CUDA torch only
        assert set(parsed.packages) == expected
        torch = parsed.packages["torch"]
        assert torch.version == "2.4.1+cu118"
        assert parsed.packages["torchvision"].version == "0.19.1+cu118"
        # Exactly the artifact for this platform, nothing else.
        assert torch.hashes == [sha256(wheel(torch_indexes, "whl/cu118", f"torch-*-{tag}.whl"))]
        assert all(p.hashes for p in parsed.packages.values())
        assert torch.index == cu118
        assert parsed.packages["torchvision"].index == cu118
        assert parsed.packages["tqdm"].index == PYPI_PUBLIC
        # uv reads extra indexes first, so the PyTorch index is an extra: see pip_lockfile.
        assert parsed.index_url == PYPI_PUBLIC
        assert parsed.extra_index_urls == [cu118]
        text = path.read_text()
        assert "127.0.0.1" not in text
        digest, intact = read_seal(text)
        assert intact and digest and len(digest) == 64
        assert "envgen lock gpu" in text
        assert list(parsed.packages) == sorted(parsed.packages)


def test_lock_installs_with_pip_require_hashes_and_with_uv(
    project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert lock(capsys, "gpu", "--no-conda").code == 0
    locked = project / "envs" / "gpu" / "requirements-linux-64.lock.txt"
    path = through_mirrors(locked, torch_indexes.mirrors, tmp_path / "mirrored.lock.txt")
    env = isolated_pip_env(tmp_path)
    for installer in ("pip", "uv"):
        venv = tmp_path / f"venv-{installer}"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        if installer == "pip":
            # No --no-deps: pip itself checks that the lock holds every dependency, hashed.
            command = [sys.executable, "-m", "pip", "--isolated", "--python", python]
            command += ["install", "--require-hashes", "-r", str(path)]
        else:
            command = [sys.executable, "-m", "uv", "pip", "install", "--no-config"]
            command += ["--python", python, "-r", str(path)]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        probe = "import torch, pytorch_triton, tqdm; print(torch.__version__, pytorch_triton.BUILD)"
        shown = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
        assert shown.stdout.split() == ["2.4.1+cu118", "whl/cu118"]


def test_dependency_confusion_planted_on_pypi_is_never_locked(
    project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str]
) -> None:
    """A higher torch, a same-version torch, and the PyTorch-only pytorch-triton on 'PyPI'."""
    linux = "py3-none-manylinux_2_28_x86_64"
    evil = [
        torch_indexes.add(PYPI_INDEX, "torch", "9.9.9", marker="EVIL"),
        torch_indexes.add(PYPI_INDEX, "torch", "2.4.1+cu118", tag=linux, marker="EVIL"),
        torch_indexes.add(PYPI_INDEX, "torchvision", "9.9.9", marker="EVIL"),
        torch_indexes.add(PYPI_INDEX, "pytorch-triton", "3.0.0", tag=linux, marker="EVIL"),
        torch_indexes.add(PYPI_INDEX, "pytorch-triton", "9.9.9", marker="EVIL"),
    ]
    torch_indexes.publish()
    result = lock(capsys, "gpu", "--no-conda")
    assert result.code == 0, result.err
    path = project / "envs" / "gpu" / "requirements-linux-64.lock.txt"
    parsed = parse_lock(path)
    good = {
        name: sha256(wheel(torch_indexes, "whl/cu118", f"{name}-*manylinux*.whl"))
        for name in ("torch", "torchvision", "pytorch_triton")
    }
    assert parsed.packages["torch"].hashes == [good["torch"]]
    assert parsed.packages["torchvision"].hashes == [good["torchvision"]]
    assert parsed.packages["pytorch-triton"].version == "3.0.0"
    assert parsed.packages["pytorch-triton"].hashes == [good["pytorch_triton"]]
    assert parsed.packages["pytorch-triton"].index == f"{PYTORCH_PUBLIC}/cu118"
    text = path.read_text()
    assert "9.9.9" not in text
    for planted in evil:
        assert sha256(planted) not in text


def test_a_pytorch_only_name_missing_from_the_pytorch_index_is_refused(
    bare_project: Path, local_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str]
) -> None:
    """If the PyTorch index lacks pytorch-triton, uv would fall through to PyPI: envgen refuses."""
    linux = "py3-none-manylinux_2_28_x86_64"
    needs = ["pytorch-triton==3.0.0"]
    local_indexes.add("whl/cu118", "torch", "2.4.1+cu118", tag=linux, requires=needs)
    local_indexes.add("whl/cu118", "torchvision", "0.19.1+cu118", tag=linux)
    local_indexes.add(PYPI_INDEX, "pytorch-triton", "3.0.0", marker="EVIL")
    local_indexes.add(PYPI_INDEX, "tqdm", "4.66.5")
    local_indexes.publish()
    write_profile(bare_project, "linux", GPU + "platforms: [linux-64]\n")
    result = lock(capsys, "linux", "--no-conda")
    assert result.code == 2
    assert "refusing to lock pytorch-triton==3.0.0 for linux-64" in result.err
    assert "dependency-confusion" in result.err
    assert not (bare_project / "envs").exists()


def test_a_torch_build_missing_from_its_index_fails_even_if_pypi_has_it(
    project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str]
) -> None:
    """The direct torch pins never fall through to another index; old locks stay as they were."""
    assert lock(capsys, "gpu", "--no-conda").code == 0
    before = snapshot(project / "envs")
    linux = "py3-none-manylinux_2_28_x86_64"
    torch_indexes.add(PYPI_INDEX, "torch", "2.4.1+cu121", tag=linux, marker="EVIL")
    torch_indexes.add("whl/cu121", "filelock", "3.13.1")  # the index exists, without torch
    torch_indexes.publish()
    write_profile(project, "gpu", GPU.replace('"11.8"', '"12.1"'))
    result = lock(capsys, "gpu", "--no-conda")
    assert result.code == 2
    assert "cannot lock torch==2.4.1+cu121 for linux-64" in result.err
    assert "for win-64" in result.err  # every failing platform at once
    assert torch_indexes.pytorch_url("cu121") in result.err
    assert "catalog records torch 2.4.1+cu121 as published for linux-64" in result.err
    assert "uv says:" in result.err
    assert snapshot(project / "envs") == before


def test_an_unsatisfiable_pip_requirement_names_package_and_platforms(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project, "gpu", GPU.replace("[tqdm]", '["tqdm>=99"]'))
    result = lock(capsys, "gpu", "--no-conda")
    assert result.code == 2
    assert "cannot lock tqdm>=99 for linux-64 (Python 3.11)" in result.err
    assert "cannot lock tqdm>=99 for win-64" in result.err
    assert not (project / "envs").exists()


def test_unchanged_inputs_do_nothing_and_upgrade_re_resolves(
    project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lock(capsys, "gpu", "--no-conda").code == 0
    path = project / "envs" / "gpu" / "requirements-linux-64.lock.txt"
    stamp = path.stat().st_mtime_ns
    torch_indexes.add(PYPI_INDEX, "tqdm", "4.67.0")
    torch_indexes.publish()

    again = lock(capsys, "gpu", "--no-conda")
    assert again.code == 0
    assert "up to date (inputs unchanged); nothing to do" in again.out
    assert "solving" not in again.err
    assert path.stat().st_mtime_ns == stamp
    assert parse_lock(path).packages["tqdm"].version == "4.66.5"

    upgraded = lock(capsys, "gpu", "--no-conda", "--upgrade")
    assert upgraded.code == 0, upgraded.err
    assert "updated   envs/gpu/requirements-linux-64.lock.txt" in upgraded.out
    assert parse_lock(path).packages["tqdm"].version == "4.67.0"


def test_unchanged_fast_path_imports_no_solver(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lock(capsys, "gpu", "--no-conda").code == 0
    script = (
        "import sys\nfrom envgen.cli import main\n"
        "try:\n    main(['lock', 'gpu', '--no-conda'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('uv', 'rattler', 'conda_lock', 'envgen.lockers.uv', 'jinja2')\n"
        "print('loaded:', [m for m in heavy if m in sys.modules])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=project, env=env, capture_output=True, text=True
    )
    assert "up to date" in done.stdout, done.stderr
    assert "loaded: []" in done.stdout


def test_lock_states_report_missing_current_stale_and_edited(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def states() -> dict[str, str]:
        found = lock_states_named("gpu", conda=False)
        return {s.path.name: s.state for s in found}

    names = ["requirements-linux-64.lock.txt", "requirements-win-64.lock.txt"]
    assert states() == dict.fromkeys(names, MISSING)
    assert lock(capsys, "gpu", "--no-conda").code == 0
    assert states() == dict.fromkeys(names, CURRENT)

    write_profile(project, "gpu", GPU.replace("[tqdm]", "[tqdm, filelock]"))
    assert states() == dict.fromkeys(names, STALE)

    path = project / "envs" / "gpu" / names[0]
    path.write_text(path.read_text().replace("tqdm==4.66.5", "tqdm==4.66.4"))
    assert states()[names[0]] == EDITED
    refused = lock(capsys, "gpu", "--no-conda")
    assert refused.code == 2
    assert "refusing to overwrite" in refused.err and "edited by hand" in refused.err
    assert lock(capsys, "gpu", "--no-conda", "--force").code == 0
    assert states() == dict.fromkeys(names, CURRENT)
    assert "filelock" in parse_lock(path).packages


def test_json_summary_and_mirror_option(
    project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str]
) -> None:
    # Mirrors from the command line instead of pyproject.toml.
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    args = [f"--mirror={public}={local}" for public, local in torch_indexes.mirrors.items()]
    result = lock(capsys, "gpu", "--no-conda", "--json", *args)
    assert result.code == 0, result.err
    (summary,) = json.loads(result.out)["profiles"]
    assert summary["profile"] == "gpu"
    assert summary["unchanged"] is False
    assert summary["platforms"] == ["linux-64", "win-64"]
    assert [(f["platform"], f["action"]) for f in summary["files"]] == [
        ("linux-64", "wrote"),
        ("win-64", "wrote"),
    ]
    assert {"pip", "pip:linux-64", "pip:win-64", "total"} <= set(summary["timings"])
    again = json.loads(lock(capsys, "gpu", "--no-conda", "--json", *args).out)
    assert again["profiles"][0]["unchanged"] is True
    assert lock(capsys, "gpu", "--mirror", "nonsense").code == 2


def test_bad_mirror_and_engine_values_are_usage_errors(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = lock(capsys, "gpu", "--mirror", "no-equals-sign")
    assert bad.code == 2 and "is not FROM=TO" in bad.err
    assert lock(capsys, "gpu", "--engine", "pip-tools").code == 2


# -- the whole command: pip and conda sides ---------------------------------------------------


@pytest.fixture
def full_project(bare_project: Path, conda_channel: CondaChannel) -> Path:
    """Mirrors for the conda side too: conda-forge is the local channel."""
    with (bare_project / "pyproject.toml").open("a") as fh:
        fh.write(f'"conda-forge" = "{conda_channel.url}"\n')
    return bare_project


def test_builtin_profile_locks_both_sides_and_installs(
    full_project: Path,
    local_indexes: LocalIndexes,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """`envgen lock gpu-cu118` (built-in): pip locks and conda-lock.yml agree; pip installs it."""
    from conda_lock.lockfile import parse_conda_lock_file

    env = Project.open().resolve("gpu-cu118").env
    populate_torch(local_indexes, {env.variant.name: env.platforms}, env.companions)
    result = lock(capsys, "gpu-cu118", "--engine", "rattler", "--json")
    assert result.code == 0, result.err
    assert "solving conda packages for linux-64, win-64 (rattler)" in result.err
    (summary,) = json.loads(result.out)["profiles"]
    assert summary["engine"] == "rattler"
    assert {"pip", "conda", "total"} <= set(summary["timings"])
    directory = full_project / "envs" / "gpu-cu118"
    names = ["conda-lock.yml", "requirements-linux-64.lock.txt", "requirements-win-64.lock.txt"]
    assert sorted(p.name for p in directory.iterdir()) == names
    seals = {read_seal((directory / n).read_text()) for n in names}
    assert seals == {(summary["inputs_digest"], True)}

    conda = parse_conda_lock_file(directory / "conda-lock.yml")
    for platform in env.platforms:
        pip_part = {
            p.name: p for p in conda.package if p.platform == platform and p.manager == "pip"
        }
        locked = parse_lock(directory / f"requirements-{platform}.lock.txt").packages
        assert set(pip_part) == set(locked)
        torch = pip_part["torch"]
        assert torch.version == f"{env.torch}+{env.variant.name}"
        assert torch.url.startswith(f"{PYTORCH_PUBLIC}/{env.variant.name}/")
        assert [torch.hash.sha256] == locked["torch"].hashes
        python = [p for p in conda.package if p.platform == platform and p.name == "python"]
        assert python and python[0].version.startswith("3.11")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    install = [sys.executable, "-m", "pip", "--isolated", "--python", str(venv / "bin" / "python")]
    mirrored = through_mirrors(directory / names[1], local_indexes.mirrors, tmp_path / "l.txt")
    install += ["install", "--require-hashes", "-r", str(mirrored)]
    done = subprocess.run(install, env=isolated_pip_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

    again = lock(capsys, "gpu-cu118", "--engine", "rattler")
    assert "up to date" in again.out and "solving" not in again.err
    # "auto" accepts a lock from either engine (it picks differently on machines with conda).
    assert "up to date" in lock(capsys, "gpu-cu118", "--engine", "auto").out


def test_a_conda_failure_writes_no_pip_lock_either(
    full_project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(full_project, "gpu", GPU + "conda: [no-such-package]\n")
    result = lock(capsys, "gpu", "--engine", "rattler")
    assert result.code == 2
    assert "no-such-package" in result.err
    assert "solved linux-64" in result.err  # the pip side did succeed first
    assert not (full_project / "envs").exists()


def test_existing_wheel_files_can_be_served(local_indexes: LocalIndexes, tmp_path: Path) -> None:
    """add_file: how the create/verify tests serve a real wheel (e.g. pip's find-links torch)."""
    import urllib.request

    from tests.fixtures.pypi_index import build_wheel

    built = build_wheel(
        tmp_path / "elsewhere", "torch", "2.13.0+cpu", tag="cp311-cp311-linux_x86_64"
    )
    local_indexes.add_file("whl/cpu", built)
    local_indexes.publish()
    with urllib.request.urlopen(local_indexes.pytorch_url("cpu") + "/torch/") as page:
        html = page.read().decode()
    assert f"torch-2.13.0%2Bcpu-cp311-cp311-linux_x86_64.whl#sha256={sha256(built)}" in html
    href = html.split('href="')[1].split("#")[0]
    with urllib.request.urlopen(local_indexes.pytorch_url("cpu") + "/torch/" + href) as served:
        assert served.read() == built.read_bytes()


def test_check_reports_stale_locks(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`envgen check` covers the locks of a locked profile, next to its rendered files."""
    assert run_cli(capsys, "render", "gpu").code == 0
    assert lock(capsys, "gpu", "--no-conda").code == 0
    passed = run_cli(capsys, "check", "gpu")
    assert passed.code == 0, passed.out
    assert "ok       envs/gpu/requirements-linux-64.lock.txt" in passed.out

    write_profile(project, "gpu", GPU.replace("[tqdm]", "[tqdm, filelock]"))
    assert run_cli(capsys, "render", "gpu").code == 0  # rendered files current again
    failed = run_cli(capsys, "check", "gpu")
    assert failed.code == 1
    assert "FAIL     envs/gpu/requirements-win-64.lock.txt" in failed.out
    assert "run 'envgen lock gpu'" in failed.out


def test_a_lock_stays_current_through_another_mirror(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hashes pin the bytes, so where they are fetched from (a mirror) does not make a lock stale:
    a lock committed on one side of an air gap is current on the other side."""
    assert lock(capsys, "gpu", "--no-conda").code == 0
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("127.0.0.1", "localhost"))
    states = lock_states_named("gpu", conda=False)
    assert {s.state for s in states} == {CURRENT}
    assert "up to date" in lock(capsys, "gpu", "--no-conda").out
    # the profile itself still decides: a change there makes the lock stale
    write_profile(project, "gpu", GPU.replace("[tqdm]", "[tqdm, filelock]"))
    assert {s.state for s in lock_states_named("gpu", conda=False)} == {STALE}
