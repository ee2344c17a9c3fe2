"""conda-lock.yml from both conda engines, against the local channel of the conda_channel fixture.

The rattler engine solves for real (no network, no conda); its output must re-parse with
conda-lock's own parser. The conda-lock engine's lock spec must pass conda-lock's parser here;
its real solve runs only where a conda/mamba/micromamba executable exists.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from envgen.digest import read_seal
from envgen.errors import ToolError
from envgen.lockers import conda_engine
from envgen.lockers.base import CondaLockRequest, LockedPipPackage, PipLock
from envgen.lockers.condalock import find_executable, render_lock_spec, render_virtual_packages
from envgen.project import Project
from envgen.resolve import ResolvedEnv
from tests.fixtures.conda_channel import CondaChannel, channel_facts
from tests.fixtures.http_servers import RecordingServer
from tests.helpers import write_profile

DIGEST = "d" * 64


def _resolve(project_dir: Path, name: str, text: str) -> ResolvedEnv:
    if not (project_dir / "catalog").exists():
        channel_facts(project_dir)
    write_profile(project_dir, name, text)
    return Project.open().resolve(name).env


@pytest.fixture
def cpu_env(project_dir: Path) -> ResolvedEnv:
    """conda-forge-style CPU pytorch for linux-64, osx-arm64 and win-64, plus a pip package."""
    return _resolve(
        project_dir,
        "cpu3",
        """
        extends: base
        accelerator: cpu
        source: conda
        pytorch: {version: "2.4.1", packages: [torch, torchvision]}
        pip: [requests]
        conda: [numpy]
        """,
    )


@pytest.fixture
def cuda_env(project_dir: Path) -> ResolvedEnv:
    return _resolve(
        project_dir,
        "gpu",
        """
        extends: base
        accelerator: cuda
        cuda: "11.8"
        source: conda
        pytorch: {version: "2.4.1", packages: [torch, torchvision]}
        """,
    )


def _pip_lock(platform: str) -> PipLock:
    wheel = "requests-2.32.3-py3-none-any.whl"
    return PipLock(
        platform,
        (
            LockedPipPackage(
                "requests",
                "2.32.3",
                f"http://127.0.0.1:1/simple/requests/{wheel}",
                "70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6",
                "http://127.0.0.1:1/simple",
            ),
        ),
    )


def _request(
    env: ResolvedEnv,
    channel: CondaChannel,
    output: Path,
    cuda: str | None = None,
    pip: bool = True,
) -> CondaLockRequest:
    return CondaLockRequest(
        env=env,
        platforms=env.platforms,
        channels=(channel.url,),
        virtual_packages={p: {"__cuda": cuda} for p in env.platforms} if cuda else {},
        pip_locks={p: _pip_lock(p) for p in env.platforms} if pip else {},
        output=output,
        inputs_digest=DIGEST,
    )


def _by_platform(path: Path) -> dict[str, dict[str, object]]:
    from conda_lock.lockfile import parse_conda_lock_file

    lock = parse_conda_lock_file(path)
    found: dict[str, dict[str, object]] = {}
    for pkg in lock.package:
        found.setdefault(pkg.platform, {})[f"{pkg.manager}:{pkg.name}"] = pkg
    return found


# -- rattler engine ----------------------------------------------------------------------------


def test_rattler_locks_three_platforms_with_pip_part(
    cpu_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    from conda_lock.lockfile import parse_conda_lock_file

    out = tmp_path / "conda-lock.yml"
    conda_engine("rattler").lock(_request(cpu_env, conda_channel, out))

    lock = parse_conda_lock_file(out)
    assert sorted(lock.metadata.platforms) == ["linux-64", "osx-arm64", "win-64"]
    assert [c.url for c in lock.metadata.channels] == [conda_channel.url]
    assert lock.metadata.custom_metadata["envgen_inputs_sha256"] == DIGEST
    packages = _by_platform(out)
    assert sorted(packages) == ["linux-64", "osx-arm64", "win-64"]
    for platform, pkgs in packages.items():
        torch = pkgs["conda:pytorch"]
        assert torch.version == "2.4.1"  # type: ignore[attr-defined]
        assert f"/{platform}/pytorch-2.4.1-cpu_" in torch.url  # type: ignore[attr-defined]
        assert pkgs["conda:python"].version == "3.11.9"  # type: ignore[attr-defined]
        assert pkgs["conda:pip"].url.endswith("/noarch/pip-24.2-pyh8b19718_1.tar.bz2")  # type: ignore[attr-defined]
        assert {"conda:numpy", "conda:torchvision"} <= set(pkgs)
        assert "conda:cuda-version" not in pkgs
        for pkg in pkgs.values():
            assert pkg.hash.sha256  # type: ignore[attr-defined]
        pip = pkgs["pip:requests"]
        assert pip.version == "2.32.3"  # type: ignore[attr-defined]
        assert pip.hash.sha256 == _pip_lock(platform).packages[0].sha256  # type: ignore[attr-defined]
    # Conda packages carry conda's MD5 too (conda-lock refuses them otherwise).
    assert all(p.hash.md5 for p in lock.package if p.manager == "conda")
    # The envgen header: inputs digest readable, content seal intact.
    assert read_seal(out.read_text()) == (DIGEST, True)


def test_a_killed_lock_s_scratch_folder_is_swept_by_the_next_lock(
    cpu_env: ResolvedEnv,
    conda_channel: CondaChannel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = scratch / f"envgen-lock-{gone.pid}-abc"  # what a SIGKILLed lock left
    (dead / "conda-lock.yml").parent.mkdir()
    (dead / "conda-lock.yml").write_text("partial")
    conda_engine("rattler").lock(_request(cpu_env, conda_channel, tmp_path / "conda-lock.yml"))
    assert not dead.exists()
    assert list(scratch.iterdir()) == []  # and this run's own scratch folders are gone too


def test_rattler_locks_for_cuda_from_a_cpu_machine(
    cuda_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    out = tmp_path / "conda-lock.yml"
    conda_engine("rattler").lock(_request(cuda_env, conda_channel, out, cuda="11.8", pip=False))

    packages = _by_platform(out)
    assert sorted(packages) == ["linux-64", "win-64"]
    for platform, pkgs in packages.items():
        assert f"/{platform}/pytorch-2.4.1-cuda118_" in pkgs["conda:pytorch"].url  # type: ignore[attr-defined]
        assert pkgs["conda:cuda-version"].version == "11.8"  # type: ignore[attr-defined]
        assert not any(name.startswith("pip:") for name in pkgs)


def test_rattler_explains_a_driver_too_old_for_the_cuda_build(
    cuda_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    out = tmp_path / "locks" / "conda-lock.yml"
    out.parent.mkdir()
    out.write_text("old lock\n")
    with pytest.raises(ToolError) as info:
        conda_engine("rattler").lock(_request(cuda_env, conda_channel, out, cuda="11.4"))
    text = str(info.value)
    assert "cannot lock linux-64, win-64: no solution for cuda-version" in text
    assert "needs __cuda >=11.8" in text
    assert "virtual package __cuda) is 11.4" in text
    assert "cuda-version 11.8 would constrain" in text  # rattler's own explanation follows
    assert "Fix: choose a 'cuda' version" in text
    assert out.read_text() == "old lock\n"  # the old lock is left untouched
    assert [p.name for p in out.parent.iterdir()] == ["conda-lock.yml"]  # no temp file left


def test_rattler_explains_a_cuda_build_for_a_cpu_target(
    cuda_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    out = tmp_path / "conda-lock.yml"
    with pytest.raises(ToolError) as info:
        conda_engine("rattler").lock(_request(cuda_env, conda_channel, out, cuda=None))
    text = str(info.value)
    assert "no solution for pytorch" in text
    assert "this is a CPU target" in text
    assert "__cuda *, for which no candidates were found" in text
    assert not out.exists()


def test_rattler_names_a_missing_package_and_platform(
    cpu_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    env = cpu_env._replace(conda=(*cpu_env.conda, "scipy>=1.13"))
    with pytest.raises(ToolError) as info:
        conda_engine("rattler").lock(_request(env, conda_channel, tmp_path / "conda-lock.yml"))
    text = str(info.value)
    assert "cannot lock linux-64, osx-arm64, win-64: no solution for scipy" in text
    assert "No candidates were found for scipy >=1.13" in text
    assert (
        f"Fix: check that scipy exist for linux-64, osx-arm64, win-64 in {conda_channel.url}"
        in text
    )


def test_rattler_refuses_an_unparsable_spec_before_solving(
    cpu_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    env = cpu_env._replace(conda=(*cpu_env.conda, "numpy >=>1"))
    with pytest.raises(ToolError, match="'numpy >=>1' is not a conda package spec"):
        conda_engine("rattler").lock(_request(env, conda_channel, tmp_path / "conda-lock.yml"))


def test_rattler_output_is_deterministic(
    cpu_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    first, second = tmp_path / "a" / "conda-lock.yml", tmp_path / "b" / "conda-lock.yml"
    conda_engine("rattler").lock(_request(cpu_env, conda_channel, first))
    time.sleep(1.1)  # a timestamp with one-second resolution would now differ
    conda_engine("rattler").lock(_request(cpu_env, conda_channel, second))
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text()
    assert "created_at" not in text and "time_metadata" not in text


def test_rattler_keeps_credential_placeholders_out_of_the_solve_only(
    cpu_env: ResolvedEnv,
    conda_channel: CondaChannel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    http_servers: Callable[..., RecordingServer],
) -> None:
    """A mirror's ${VAR} password is expanded to solve, and stays a placeholder in the file."""
    server = http_servers(conda_channel.path.parent)
    monkeypatch.setenv("ENVGEN_TEST_CHANNEL_TOKEN", "s3cr3t")
    placeholder = (
        server.with_user("ci:${ENVGEN_TEST_CHANNEL_TOKEN}") + "/" + conda_channel.path.name
    )
    request = _request(cpu_env, conda_channel, tmp_path / "conda-lock.yml")._replace(
        channels=(placeholder,)
    )
    conda_engine("rattler").lock(request)
    text = request.output.read_text()
    assert "s3cr3t" not in text
    assert f"url: {placeholder}/linux-64/pytorch-2.4.1-cpu_py311h_0.tar.bz2" in text
    assert server.authorizations  # the solve asked with the expanded credential
    assert all(
        a == "Basic " + base64.b64encode(b"ci:s3cr3t").decode() for a in server.authorizations
    )


def test_rattler_engine_is_available_without_conda() -> None:
    assert conda_engine("rattler").unavailable() is None


# -- conda-lock engine -------------------------------------------------------------------------


@pytest.fixture
def pip_source_env(project_dir: Path) -> ResolvedEnv:
    """PyTorch's own pip wheels (with local tags and markers) inside a conda environment."""
    return _resolve(
        project_dir,
        "mixed",
        """
        extends: base
        accelerator: cpu
        pytorch: {version: "2.4.1", packages: [torch, torchvision]}
        pip: [requests>=2.31]
        conda: [numpy]
        """,
    )


def _mapping_file(tmp_path: Path) -> Path:
    """A local PyPI->conda name map, so conda-lock's parser never downloads its default one."""
    path = tmp_path / "pypi-to-conda.json"
    entries = {"torch": "pytorch", "torchvision": "torchvision", "requests": "requests"}
    path.write_text(
        json.dumps(
            {k: {"conda_name": v, "conda_forge": v, "pypi_name": k} for k, v in entries.items()}
        )
    )
    return path


def test_lock_spec_is_accepted_by_conda_locks_parser(
    pip_source_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    from conda_lock.src_parser.environment_yaml import (
        parse_environment_file,
        parse_platforms_from_env_file,
    )

    request = _request(pip_source_env, conda_channel, tmp_path / "conda-lock.yml", pip=False)
    spec = tmp_path / "spec.yml"
    spec.write_text(render_lock_spec(request))
    platforms = parse_platforms_from_env_file(spec)
    assert platforms == ["linux-64", "osx-arm64", "win-64"]

    parsed = parse_environment_file(spec, platforms, mapping_url=str(_mapping_file(tmp_path)))
    assert parsed.channels[0].url == conda_channel.url
    assert parsed.pip_repositories[0].url == "https://download.pytorch.org/whl/cpu"
    assert not parsed.allow_pypi_requests  # PyPI only through the listed (mirrorable) URLs
    for platform in platforms:
        deps = {(d.manager, d.name): d for d in parsed.dependencies[platform]}
        assert ("conda", "python") in deps and ("conda", "numpy") in deps
        torch = deps[("pip", "torch")]
        # Markers are evaluated per platform: macOS gets the untagged build, others +cpu.
        expected = "==2.4.1" if platform == "osx-arm64" else "==2.4.1+cpu"
        assert torch.version == expected, (platform, torch)
        assert deps[("pip", "requests")].version == ">=2.31"


def test_lock_spec_renders_through_conda_lock_cli_offline(
    pip_source_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    request = _request(pip_source_env, conda_channel, tmp_path / "conda-lock.yml", pip=False)
    spec = tmp_path / "spec.yml"
    spec.write_text(render_lock_spec(request))
    done = subprocess.run(
        [
            *(sys.executable, "-m", "conda_lock", "render-lock-spec", "--kind", "raw", "--stdout"),
            *("-f", str(spec), "--pypi_to_conda_lookup_file", str(_mapping_file(tmp_path))),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rendered = yaml.safe_load(done.stdout)
    assert "https://download.pytorch.org/whl/cpu" in json.dumps(rendered)
    assert "torch" in json.dumps(rendered)


def test_lock_spec_without_pip_leaves_pip_to_envgen(
    pip_source_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    request = _request(pip_source_env, conda_channel, tmp_path / "conda-lock.yml")
    data = yaml.safe_load(render_lock_spec(request, pip=False))
    assert all(isinstance(d, str) for d in data["dependencies"])
    assert "pip-repositories" not in data


def test_virtual_package_spec_is_accepted_by_conda_lock(
    cuda_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    from conda_lock.virtual_package import VirtualPackageSpec

    request = _request(cuda_env, conda_channel, tmp_path / "conda-lock.yml", cuda="11.8")
    spec = VirtualPackageSpec.model_validate(yaml.safe_load(render_virtual_packages(request)))
    linux = spec.subdirs["linux-64"].packages
    assert linux["__cuda"] == "11.8"
    assert linux["__glibc"] and linux["__unix"] == "0"
    assert spec.subdirs["win-64"].packages["__win"] == "0"


def test_conda_lock_engine_says_why_it_is_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CONDA_EXE", raising=False)
    monkeypatch.delenv("MAMBA_EXE", raising=False)
    reason = conda_engine("conda-lock").unavailable()
    assert reason is not None and "no conda, mamba or micromamba" in reason


def test_conda_lock_engine_reports_the_solvers_failure(
    cuda_env: ResolvedEnv,
    conda_channel: CondaChannel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Drives the real conda-lock against a stand-in micromamba that refuses to solve."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "micromamba"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo 1.5.8; exit 0; fi\n'
        "echo 'error: nothing provides __cuda >=99 needed by pytorch' >&2\n"
        "exit 3\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("CONDA_EXE", raising=False)
    monkeypatch.delenv("MAMBA_EXE", raising=False)
    out = tmp_path / "locks" / "conda-lock.yml"
    with pytest.raises(ToolError) as info:
        conda_engine("conda-lock").lock(_request(cuda_env, conda_channel, out, cuda="11.8"))
    text = str(info.value)
    assert "conda-lock could not lock linux-64, win-64" in text
    assert "Could not lock the environment for platform" in text
    assert "nothing provides __cuda >=99 needed by pytorch" in text
    assert "Traceback" not in text
    assert not out.exists()


@pytest.mark.e2e
@pytest.mark.skipif(
    find_executable() is None,
    reason="no conda, mamba or micromamba executable here: conda-lock cannot solve",
)
def test_conda_lock_engine_solves_with_a_real_conda(
    cuda_env: ResolvedEnv, conda_channel: CondaChannel, tmp_path: Path
) -> None:
    out = tmp_path / "conda-lock.yml"
    conda_engine("conda-lock").lock(_request(cuda_env, conda_channel, out, cuda="11.8"))
    packages = _by_platform(out)
    for platform, pkgs in packages.items():
        assert f"/{platform}/pytorch-2.4.1-cuda118_" in pkgs["conda:pytorch"].url  # type: ignore[attr-defined]
        assert "pip:requests" in pkgs
    assert read_seal(out.read_text()) == (DIGEST, True)
