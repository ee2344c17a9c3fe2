"""A universal resolution split per platform gives what uv gives for that platform alone.

envgen locks every platform of a profile from one ``uv pip compile --universal`` and cuts each
platform's lock from it by markers and wheel tags (envgen/lockers/wheeltags.py, from the
platform records of envgen/targets.py). These tests hold that cut to uv's own per-platform
answer (``--python-platform``), against loopback indexes: wheel by wheel over a matrix of tags,
and lock by lock for a torch profile.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from envgen import targets
from envgen.lockers import uv, uv_answers, uv_process, wheeltags
from envgen.project import Project
from envgen.resolve import ResolvedEnv
from tests.conftest import isolate_installers, isolated_pip_env
from tests.fixtures.pypi_index import PYPI_INDEX, LocalIndexes
from tests.helpers import write_profile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

OURS = f"{sys.version_info[0]}.{sys.version_info[1]}"
CP = "cp" + OURS.replace(".", "")
OLDER = f"cp{sys.version_info[0]}{sys.version_info[1] - 1}"
NEWER = f"cp{sys.version_info[0]}{sys.version_info[1] + 1}"
PYTHON_TAGS = (
    f"{CP}-{CP}",
    f"{CP}-abi3",
    "cp38-abi3",
    f"{OLDER}-{OLDER}",
    f"{NEWER}-{NEWER}",
    f"{CP}-{CP}d",
    f"{CP}-none",
    "py3-none",
    f"py{OURS.replace('.', '')}-none",
    "py2.py3-none",
)
PLATFORM_TAGS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_31_x86_64",
    "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
    "linux_x86_64",
    "musllinux_1_2_x86_64",
    "manylinux_2_28_aarch64",
    "manylinux_2_34_aarch64",
    "manylinux2014_aarch64",
    "linux_aarch64",
    "macosx_10_9_x86_64",
    "macosx_10_13_intel",
    "macosx_13_0_x86_64",
    "macosx_14_0_x86_64",
    "macosx_11_0_arm64",
    "macosx_13_0_arm64",
    "macosx_14_0_arm64",
    "macosx_10_9_universal2",
    "macosx_11_0_universal2",
    "win_amd64",
    "win32",
    "win_arm64",
    "any",
)


@pytest.fixture
def uv_env(tmp_path: Path) -> dict[str, str]:
    """uv as envgen runs it (its environment, our macOS target), isolated from this machine."""
    env = {**uv_process.uv_environ(), **isolated_pip_env(tmp_path)}
    return {**env, "MACOSX_DEPLOYMENT_TARGET": targets.MACOS}


def _wheels_uv_picks(
    project: Path, url: str, platform: str | None, env: dict[str, str]
) -> set[str]:
    command = [uv_process.uv_binary(), "pip", "compile", "pyproject.toml", "--no-config", "--quiet"]
    command += ["--python", sys.executable, "--python-version", OURS, "--default-index", url]
    command += ["--format", "pylock.toml", "-o", "pylock.toml"]
    command += (
        ["--universal"]
        if platform is None
        else ["--python-platform", targets.PLATFORMS[platform].uv_target]
    )
    subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
    pylock = tomllib.loads((project / "pylock.toml").read_text())
    files = [*(w for p in pylock["packages"] for w in p.get("wheels", []))]
    files += [p["sdist"] for p in pylock["packages"] if "sdist" in p]
    return {uv_answers.file_name(f["url"]) for f in files}


def _sdist(directory: Path, name: str, version: str) -> Path:
    """A minimal source distribution (never built here: uv reads the wheels' metadata)."""
    import io
    import tarfile

    directory.mkdir(parents=True)
    target = directory / f"{name}-{version}.tar.gz"
    info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    with tarfile.open(target, "w:gz") as archive:
        entry = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        entry.size = len(info)
        archive.addfile(entry, io.BytesIO(info))
    return target


def test_each_platforms_wheels_are_the_ones_uv_installs_there(
    local_indexes: LocalIndexes, tmp_path: Path, uv_env: dict[str, str]
) -> None:
    for python in PYTHON_TAGS:
        for platform in PLATFORM_TAGS:
            local_indexes.add(PYPI_INDEX, "probe", "1.0", tag=f"{python}-{platform}")
    local_indexes.add_file(PYPI_INDEX, _sdist(tmp_path / "sdist", "probe", "1.0"))
    local_indexes.publish()
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "x"\nversion = "0"\nrequires-python = "=={OURS}.*"\n'
        'dependencies = ["probe"]\n'
    )
    offered = _wheels_uv_picks(project, local_indexes.pypi_url, None, uv_env)
    assert len(offered) >= len(PLATFORM_TAGS) * 6  # the universal lock lists nearly every wheel
    for platform in targets.PLATFORMS:
        wanted = _wheels_uv_picks(project, local_indexes.pypi_url, platform, uv_env)
        ours = {name for name in offered if wheeltags.fits(name, platform, OURS)}
        assert ours == wanted, (platform, sorted(ours ^ wanted))
        assert "probe-1.0.tar.gz" in wanted  # the sdist is every platform's fallback


def test_an_sdist_fits_everywhere_and_a_bad_wheel_name_nowhere() -> None:
    assert wheeltags.fits("probe-1.0.tar.gz", "win-64", "3.11")
    assert not wheeltags.fits("probe.whl", "linux-64", "3.11")
    url = "https://download.pytorch.org/whl/cpu/torch-2.4.1%2Bcpu-py3-none-win_amd64.whl"
    name = uv_answers.file_name(url)
    assert name == "torch-2.4.1+cpu-py3-none-win_amd64.whl"  # the URL's %2B undone
    assert wheeltags.fits(name, "win-64", "3.11")
    assert not wheeltags.fits(name, "linux-64", "3.11")


def test_marker_environments_match_what_python_reports_there() -> None:
    from packaging.markers import Marker

    linux = wheeltags.marker_environment("linux-64", "3.11")
    mac = wheeltags.marker_environment("osx-arm64", "3.11")
    windows = wheeltags.marker_environment("win-64", "3.12")
    assert Marker("sys_platform == 'linux' and platform_machine == 'x86_64'").evaluate(linux)
    assert Marker("platform_system == 'Darwin' and platform_machine == 'arm64'").evaluate(mac)
    assert Marker("os_name == 'nt' and python_version >= '3.12'").evaluate(windows)
    assert not Marker("sys_platform == 'darwin'").evaluate(linux)


PROFILE = """
python: "3.11"
accelerator: cpu
pytorch: {version: "2.4.1", packages: [torch, torchvision]}
platforms: [linux-64, osx-arm64, win-64]
pip: [tqdm]
"""


@pytest.fixture
def three(
    project_dir: Path,
    torch_indexes: LocalIndexes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[ResolvedEnv, uv.PipIndexes]:
    """A 3-platform CPU profile resolved through the loopback indexes, uv isolated."""
    isolate_installers(monkeypatch, tmp_path)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + torch_indexes.mirror_toml())
    write_profile(project_dir, "three", PROFILE)
    env = Project.open().resolve("three", torch_indexes.mirrors).env
    return env, uv.PipIndexes.for_env(env, torch_indexes.pypi_url)


def test_the_split_equals_each_platform_solved_alone(
    three: tuple[ResolvedEnv, uv.PipIndexes],
) -> None:
    """Same packages, versions, artifact, hashes, index and ``# via`` as uv's own per-platform
    solve, for a profile whose torch differs by platform (``+cpu`` on Linux and Windows)."""
    env, indexes = three
    said: list[str] = []
    split = uv.lock_pip(env, indexes, progress=said.append)
    assert "one universal resolution" in said[0]
    assert not any("on its own" in line for line in said)  # nothing fell back
    solver = uv._Solver(env, indexes, (), lambda _n, _p: None)
    for platform in env.platforms:
        alone = solver.own(platform)
        assert split[platform].lock == alone.lock, platform
        assert split[platform].hashes == alone.hashes, platform
        assert split[platform].via == alone.via, platform
    versions = {p: {x.name: x.version for x in split[p].lock.packages} for p in env.platforms}
    assert versions["linux-64"]["torch"] == "2.4.1+cpu"
    assert versions["osx-arm64"]["torch"] == "2.4.1"


def test_a_platform_the_universal_result_cannot_serve_is_solved_alone(
    three: tuple[ResolvedEnv, uv.PipIndexes], torch_indexes: LocalIndexes
) -> None:
    """tqdm's newest release ships a Linux-only wheel: uv's universal answer takes it, so Windows
    and macOS fall back to their own solve, which picks the release that has a wheel for them."""
    torch_indexes.add(PYPI_INDEX, "tqdm", "4.67.0", tag="py3-none-manylinux_2_28_x86_64")
    torch_indexes.publish()
    env, indexes = three
    said: list[str] = []
    locks = uv.lock_pip(env, indexes, progress=said.append)
    tqdm = {p: {x.name: x.version for x in locks[p].lock.packages}["tqdm"] for p in env.platforms}
    assert tqdm == {"linux-64": "4.67.0", "osx-arm64": "4.66.5", "win-64": "4.66.5"}
    assert sum("on its own" in line for line in said) == 2


def test_one_platform_is_solved_for_itself_with_no_universal_detour(
    three: tuple[ResolvedEnv, uv.PipIndexes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each platform of the profile, locked as a profile of its own: one solve for it (no
    universal resolution, no marker parser), the same lock as that platform's share of the
    three-platform lock."""
    env, indexes = three
    together = uv.lock_pip(env, indexes)
    solved: list[str | None] = []
    real_solve = uv._Solver.solve

    def counting(self: uv._Solver, platform: str | None) -> uv._Result:
        solved.append(platform)
        return real_solve(self, platform)

    monkeypatch.setattr(uv._Solver, "solve", counting)
    for platform in env.platforms:
        said: list[str] = []
        alone = uv.lock_pip(env._replace(platforms=(platform,)), indexes, progress=said.append)
        assert said[0] == f"solving pip requirements for {platform} (uv)"
        assert alone[platform].lock == together[platform].lock
        assert alone[platform].hashes == together[platform].hashes
    assert solved == list(env.platforms)
    script = (
        "import sys\nfrom envgen.cli import main\n"
        "try:\n    main(['lock', 'one', '--no-conda'])\nexcept SystemExit as e:\n    print(e)\n"
        "print('markers:', 'packaging.markers' in sys.modules)\n"
    )
    write_profile(Path.cwd(), "one", PROFILE.replace("linux-64, osx-arm64, win-64", "linux-64"))
    pythonpath = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
    )
    assert "markers: False" in done.stdout, done.stdout + done.stderr
    assert (Path.cwd() / "envs" / "one" / "requirements-linux-64.lock.txt").is_file()
