"""create without real installs: backend choice, refusals, the lock, recovery, the conda family.

Fast: no pip or uv run here (see tests/e2e/test_create*.py for those). The conda-family flow
runs a stand-in ``micromamba`` script on PATH that records its arguments and lays out a prefix,
so envgen's own code (planning, marker, cleanup) runs for real around it.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from envgen.backends import pip_part
from envgen.create import choose_backend, current_platform, is_pip_only
from envgen.envlock import PrefixLock
from envgen.envmeta import read_marker
from envgen.errors import EnvgenError, ToolError
from envgen.prefix_build import aside, recover
from envgen.project import Project
from tests.fixtures.conda_channel import channel_facts
from tests.helpers import create_named, run_cli, write_profile

PIP_ONLY = 'python: "3.11"\npytorch: {version: "2.4.1", packages: [torch]}\nplatforms: [linux-64]\n'
CONDA = (
    'python: "3.11"\nsource: conda\npytorch: {version: "2.4.1", packages: [torch]}\n'
    "platforms: [linux-64]\nconda: [numpy]\n"
)
PY311 = Path(sys.executable)  # the test venv's Python is 3.11 (envgen's own CI pins it)

FAKE_MICROMAMBA = """#!{python}
import json, os, sys
from pathlib import Path
log = Path(os.environ["FAKE_CONDA_LOG"])
log.write_text(json.dumps({{"argv": sys.argv[1:], "yes": os.environ.get("MAMBA_ALWAYS_YES"),
    "pip_config": os.environ.get("PIP_CONFIG_FILE")}}))
prefix = Path(sys.argv[sys.argv.index("--prefix") + 1])
(prefix / "conda-meta").mkdir(parents=True)
(prefix / "conda-meta" / "python-3.11.9-h_0.json").write_text(json.dumps({{"version": "3.11.9"}}))
sys.exit(int(os.environ.get("FAKE_CONDA_EXIT", "0")))
"""


@pytest.fixture
def fake_micromamba(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    exe = bin_dir / "micromamba"
    exe.write_text(FAKE_MICROMAMBA.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    monkeypatch.delenv("MAMBA_EXE", raising=False)
    monkeypatch.delenv("CONDA_EXE", raising=False)
    log = tmp_path / "fake-conda.json"
    monkeypatch.setenv("FAKE_CONDA_LOG", str(log))
    return log


def _env(project_dir: Path, text: str, name: str = "p"):  # type: ignore[no-untyped-def]
    if "source: conda" in text and not (project_dir / "catalog").exists():
        channel_facts(project_dir)
    write_profile(project_dir, name, text)
    return Project.open().resolve(name).env


def test_this_machine_is_a_conda_platform() -> None:
    assert current_platform() in ("linux-64", "linux-aarch64", "osx-arm64", "osx-64", "win-64")


def test_auto_picks_venv_for_a_pip_only_profile(project_dir: Path) -> None:
    env = _env(project_dir, PIP_ONLY)
    assert is_pip_only(env)
    name, why = choose_backend(env, "auto")
    assert name == "venv" and "pip-only" in why


def test_auto_picks_rattler_for_conda_packages_when_no_conda_is_installed(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    for var in ("CONDA_EXE", "MAMBA_EXE"):
        monkeypatch.delenv(var, raising=False)
    env = _env(project_dir, CONDA)
    assert not is_pip_only(env)
    name, why = choose_backend(env, "auto")
    assert name == "rattler"
    assert "source: conda, conda packages pytorch, numpy" in why
    assert "no conda, mamba or micromamba here" in why
    with pytest.raises(ToolError, match="the conda backend cannot run here: no conda executable"):
        choose_backend(env, "conda")


def test_auto_prefers_an_installed_conda_tool(project_dir: Path, fake_micromamba: Path) -> None:
    name, why = choose_backend(_env(project_dir, CONDA), "auto")
    assert (name, why.endswith("micromamba is installed")) == ("micromamba", True)


def test_python_option_is_for_venv_only(project_dir: Path, fake_micromamba: Path) -> None:
    channel_facts(project_dir)
    write_profile(project_dir, "c", CONDA)
    with pytest.raises(EnvgenError, match="--python applies to the venv backend"):
        create_named(Project.open(), "c", python=PY311)


def test_a_profile_for_other_platforms_is_refused(project_dir: Path) -> None:
    write_profile(project_dir, "mac", PIP_ONLY.replace("linux-64", "osx-arm64"))
    with pytest.raises(EnvgenError, match=r"targets osx-arm64, not this machine \(linux-64\)"):
        create_named(Project.open(), "mac", python=PY311)


def test_the_wrong_python_is_refused_before_anything_is_built(project_dir: Path) -> None:
    write_profile(project_dir, "old", PIP_ONLY.replace('"3.11"', '"3.10"'))
    with pytest.raises(EnvgenError, match=r"is Python 3\.11.*profile asks for 3\.10"):
        create_named(Project.open(), "old", python=PY311)
    assert not (project_dir / ".envgen").exists()


def test_a_second_create_of_the_same_env_waits_then_refuses_naming_the_holder(
    project_dir: Path,
) -> None:
    write_profile(project_dir, "p", PIP_ONLY)
    prefix = project_dir / ".envgen" / "envs" / "p"
    messages: list[str] = []
    with PrefixLock(aside(prefix, "lock"), "p", 0, print):
        with pytest.raises(EnvgenError) as info:
            create_named(Project.open(), "p", python=PY311, wait=0.5, progress=messages.append)
    assert info.value.exit_code == 3
    assert f"another envgen create of 'p' at {prefix} is running (pid {os.getpid()})" in str(
        info.value
    )
    assert any(m.startswith("waiting for another create") for m in messages)
    assert not prefix.exists()


def test_a_directory_that_is_not_an_env_is_never_replaced(project_dir: Path) -> None:
    write_profile(project_dir, "p", PIP_ONLY)
    target = project_dir / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    for force in (False, True):
        with pytest.raises(EnvgenError, match="exists and is not an envgen environment"):
            create_named(Project.open(), "p", python=PY311, prefix=target, force=force)
    assert (target / "notes.txt").read_text() == "keep me"


def test_recover_removes_a_killed_build_and_restores_what_it_replaced(tmp_path: Path) -> None:
    final = tmp_path / "env"
    backup = aside(final, "old")
    backup.mkdir()
    (backup / "envgen-env.json").write_text("{}")
    final.mkdir()
    (final / "half-installed").write_text("")
    aside(final, "building").write_text(json.dumps({"pid": 1, "backup": str(backup)}))
    said: list[str] = []
    recover(final, said.append)
    assert sorted(p.name for p in final.iterdir()) == ["envgen-env.json"]
    assert not backup.exists() and not aside(final, "building").exists()
    assert said == [f"removing the remains of an interrupted create at {final}"]


def test_requirements_lose_their_index_options() -> None:
    text = (
        "# header\n--index-url https://x/simple\n--extra-index-url https://y\n-i https://z\n"
        "--find-links /srv/wheelhouse\ntorch==2.4.1+cpu \\\n    --hash=sha256:abc\n"
    )
    assert pip_part.requirements_body(text) == (
        "# header\ntorch==2.4.1+cpu \\\n    --hash=sha256:abc\n"
    )


def test_installer_environment_ignores_machine_pip_and_uv_settings() -> None:
    base = {
        "PATH": "/bin",
        "PIP_FIND_LINKS": "/srv/wheelhouse",
        "PIP_CONSTRAINT": "/etc/c.txt",
        "UV_INDEX_URL": "http://evil",
        "UV_CONSTRAINT": "c.txt",
        "UV_CACHE_DIR": "/cache",
        "PYTHONPATH": "/elsewhere",
    }
    env = pip_part.installer_environ(base)
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert "PIP_FIND_LINKS" not in env and "PIP_CONSTRAINT" not in env
    assert "UV_INDEX_URL" not in env and "UV_CONSTRAINT" not in env and "PYTHONPATH" not in env
    assert env["UV_CACHE_DIR"] == "/cache" and env["PATH"] == "/bin"


def test_micromamba_creates_from_the_rendered_environment_yml(
    project_dir: Path, fake_micromamba: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    channel_facts(project_dir)
    write_profile(project_dir, "c", CONDA)
    result = run_cli(capsys, "create", "c", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["backend"] == "micromamba" and data["status"] == "created"
    assert data["python"] == "3.11.9"  # read from the prefix, not copied from the profile
    assert "the profile needs conda (source: conda" in data["reason"]
    call = json.loads(fake_micromamba.read_text())
    prefix = project_dir / ".envgen" / "envs" / "c"
    assert call["argv"][:4] == ["create", "--yes", "--prefix", str(prefix)]
    assert call["argv"][4] == "--file" and call["argv"][5].endswith("environment.yml")
    assert call["yes"] == "true" and call["pip_config"] == os.devnull
    marker = read_marker(prefix)
    assert marker is not None and marker.backend == "micromamba" and marker.profile == "c"
    assert marker.source_files == ("profile c (environment.yml)",)
    assert "backend: micromamba" in result.err  # progress says what auto picked

    again = run_cli(capsys, "create", "c")
    assert again.code == 0 and "is up to date (same inputs)" in again.out


def test_a_failing_tool_leaves_no_environment(
    project_dir: Path, fake_micromamba: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel_facts(project_dir)
    write_profile(project_dir, "c", CONDA)
    monkeypatch.setenv("FAKE_CONDA_EXIT", "1")
    with pytest.raises(ToolError, match=r"creating from environment\.yml with micromamba failed"):
        create_named(Project.open(), "c")
    envs = project_dir / ".envgen" / "envs"
    assert sorted(p.name for p in envs.iterdir()) == []  # not even the lock file
