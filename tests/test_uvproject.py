"""``[tool.envgen] uv-profile``: render keeps pyproject's [tool.uv] torch keys, check verifies
them, and uv itself (``uv lock`` against loopback indexes) takes torch from the PyTorch index
only. The user's file stays theirs: comments, order and every other key survive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from envgen.project import Project
from envgen.uvproject import problems, update, wanted
from tests.conftest import isolate_installers, isolated_pip_env
from tests.fixtures.pypi_index import PYPI_INDEX, LocalIndexes
from tests.helpers import run_cli, write_profile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

USER_PART = """\
# the team's project
[project]
name = "demo"   # keep this comment
version = "0"
requires-python = ">=3.11,<3.12"
dependencies = ["torch==2.4.1", "tqdm"]

[tool.uv]
package = false        # the team's own uv setting

[[tool.uv.index]]
name = "corp"          # the team's own index stays first and untouched
url = "{pypi}"
default = true
"""


def _user_text(pypi: str = "https://corp.example/simple") -> str:
    return USER_PART.format(pypi=pypi)


def _lines_kept_in_order(old: str, new: str) -> bool:
    remaining = iter(new.splitlines())
    return all(any(line == candidate for candidate in remaining) for line in old.splitlines())


def test_update_edits_only_envgens_keys_and_is_stable(project_dir: Path) -> None:
    env = Project.open().resolve("gpu-cu128").env
    want = wanted(env)
    path = project_dir / "pyproject.toml"
    new = update(_user_text(), want, path)
    assert _lines_kept_in_order(_user_text(), new)  # every user line, comments included
    data = tomllib.loads(new)
    uv = data["tool"]["uv"]
    assert uv["index"][0]["name"] == "corp"
    assert uv["index"][1] == {
        "name": "pytorch-cu128",
        "url": "https://download.pytorch.org/whl/cu128",
        "explicit": True,
    }
    marker = "sys_platform == 'linux' or sys_platform == 'win32'"
    assert uv["sources"]["torch"] == [{"index": "pytorch-cu128", "marker": marker}]
    assert set(uv["sources"]) == set(env.packages)
    assert env.platforms == ("linux-64", "win-64")
    platforms = [
        "sys_platform == 'linux' and platform_machine == 'x86_64'",
        "sys_platform == 'win32' and platform_machine == 'AMD64'",
    ]
    assert uv["environments"] == uv["required-environments"] == platforms
    assert uv["package"] is False
    assert problems(data, want) == []
    assert update(new, want, path) == new  # unchanged inputs: identical bytes
    # a new variant replaces envgen's entry in place; a dropped package's source goes
    cpu = Project.open().resolve("cpu").env
    moved = tomllib.loads(update(new, wanted(cpu), path))
    names = [i["name"] for i in moved["tool"]["uv"]["index"]]
    assert names == ["corp", "pytorch-cpu"]
    assert moved["tool"]["uv"]["sources"] == {p: {"index": "pytorch-cpu"} for p in cpu.packages}
    assert len(moved["tool"]["uv"]["environments"]) == len(cpu.platforms) == 3
    # the environments are envgen's: a hand-written list is replaced, and check says so
    hand = new.replace("sys_platform == 'win32' and platform_machine == 'AMD64'", "os_name == 'nt'")
    assert problems(tomllib.loads(hand), want) == [
        "[tool.uv] environments differs",
        "[tool.uv] required-environments differs",
    ]
    assert update(hand, want, path) == new


def test_profiles_without_a_pytorch_index_are_refused(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.envgen]\nuv-profile = "mps"\n')
    result = run_cli(capsys, "render", "mps")
    assert result.code == 2 and "no PyTorch index for uv to pin" in result.err
    assert "tool.envgen.uv-profile" in result.err
    assert not (project_dir / "envs").exists()


@pytest.fixture
def uv_project(
    project_dir: Path, torch_indexes: LocalIndexes, monkeypatch: pytest.MonkeyPatch
) -> Path:
    isolate_installers(monkeypatch, project_dir.parent)
    text = (
        _user_text(torch_indexes.pypi_url)
        + '\n[tool.envgen]\nuv-profile = "box"\n'
        + torch_indexes.mirror_toml()
    )
    (project_dir / "pyproject.toml").write_text(text)
    write_profile(
        project_dir,
        "box",
        'python: "3.11"\naccelerator: cpu\npytorch: {version: "2.4.1", packages: [torch]}\n'
        "platforms: [linux-64, win-64]\n",
    )
    return project_dir


def test_uv_lock_takes_torch_from_the_pytorch_index_only(
    uv_project: Path,
    torch_indexes: LocalIndexes,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # dependency confusion: PyPI (the default index here) offers a higher and a same-version torch
    torch_indexes.add(PYPI_INDEX, "torch", "9.9.9", marker="EVIL")
    torch_indexes.add(PYPI_INDEX, "torch", "2.4.1", marker="EVIL")
    torch_indexes.publish()
    before = (uv_project / "pyproject.toml").read_text()
    result = run_cli(capsys, "render", "box")
    assert result.code == 0, result.err
    assert "pyproject.toml ([tool.uv] torch index, sources and environments)" in result.out
    after = (uv_project / "pyproject.toml").read_text()
    assert _lines_kept_in_order(before, after)
    assert run_cli(capsys, "check", "box").code == 0
    done = subprocess.run(
        [sys.executable, "-m", "uv", "lock"],
        cwd=uv_project,
        # uv must read this project's [tool.uv]; only user/system uv.toml files stay out
        env={k: v for k, v in isolated_pip_env(tmp_path).items() if k != "UV_NO_CONFIG"}
        | {"XDG_CONFIG_HOME": str(tmp_path / "config")},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    lock = tomllib.loads((uv_project / "uv.lock").read_text())
    torch = [p for p in lock["package"] if p["name"] == "torch"]
    cpu = torch_indexes.pytorch_url("cpu")
    assert torch and all(p["source"] == {"registry": cpu} for p in torch)
    assert {p["version"] for p in torch} == {"2.4.1+cpu"}
    tqdm = next(p for p in lock["package"] if p["name"] == "tqdm")
    assert tqdm["source"] == {"registry": torch_indexes.pypi_url}


def test_check_fails_when_envgens_keys_are_edited(
    uv_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "render", "box").code == 0
    path = uv_project / "pyproject.toml"
    path.write_text(path.read_text().replace("explicit = true", "explicit = false"))
    failed = run_cli(capsys, "check", "box")
    assert failed.code == 1
    assert "FAIL     pyproject.toml: [[tool.uv.index]] 'pytorch-cpu' differs" in failed.out
    # render repairs it, and touches nothing else
    assert run_cli(capsys, "render", "box").code == 0
    assert "explicit = true" in path.read_text()
    assert run_cli(capsys, "check", "box").code == 0


def _uv_lock(project: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``uv lock`` as a user runs it in the project (only user/system uv.toml files kept out)."""
    return subprocess.run(
        [sys.executable, "-m", "uv", "lock"],
        cwd=project,
        env={k: v for k, v in isolated_pip_env(tmp_path).items() if k != "UV_NO_CONFIG"}
        | {"XDG_CONFIG_HOME": str(tmp_path / "config")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_linux_only_profile_locks_with_torch_only_from_the_pytorch_index(
    project_dir: Path,
    torch_indexes: LocalIndexes,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The issue's case: sources for Linux only. Without ``environments`` uv also solves the
    other platforms, from the default index; with envgen's, every torch is the PyTorch one."""
    isolate_installers(monkeypatch, project_dir.parent)
    # the default index offers torch for every platform, higher and same-version, and the
    # name of torch's PyTorch-only Linux dependency
    for tag in ("py3-none-any", "py3-none-macosx_11_0_arm64", "py3-none-win_amd64"):
        torch_indexes.add(PYPI_INDEX, "torch", "2.4.1", tag=tag, marker="EVIL")
    torch_indexes.add(PYPI_INDEX, "torch", "9.9.9", marker="EVIL")
    torch_indexes.add(PYPI_INDEX, "pytorch-triton", "9.9.9", marker="EVIL")
    torch_indexes.publish()
    user = _user_text(torch_indexes.pypi_url).replace('"torch==2.4.1", ', '"torch>=2.4", ')
    (project_dir / "pyproject.toml").write_text(
        user + '\n[tool.envgen]\nuv-profile = "linux"\n' + torch_indexes.mirror_toml()
    )
    write_profile(
        project_dir,
        "linux",
        'python: "3.11"\naccelerator: cuda\ncuda: "11.8"\n'
        'pytorch: {version: "2.4.1", packages: [torch]}\nplatforms: [linux-64]\n',
    )
    assert run_cli(capsys, "render", "linux").code == 0
    path = project_dir / "pyproject.toml"
    rendered = path.read_text()
    linux = "sys_platform == 'linux' and platform_machine == 'x86_64'"
    uv = tomllib.loads(rendered)["tool"]["uv"]
    assert uv["environments"] == uv["required-environments"] == [linux]
    assert uv["sources"]["torch"] == [
        {"index": "pytorch-cu118", "marker": "sys_platform == 'linux'"}
    ]

    # What envgen wrote before: no environments. uv takes the other platforms' torch from the
    # default index, and check names both the missing keys and the lock's wrong torch.
    legacy = rendered.replace(f'required-environments = ["{linux}"]\n', "")
    legacy = legacy.replace(f'environments = ["{linux}"]\n', "")
    path.write_text(legacy)
    done = _uv_lock(project_dir, tmp_path)
    assert done.returncode == 0, done.stderr
    lock = tomllib.loads((project_dir / "uv.lock").read_text())
    assert {p["source"]["registry"] for p in lock["package"] if p["name"] == "torch"} == {
        torch_indexes.pytorch_url("cu118"),
        torch_indexes.pypi_url,
    }
    failed = run_cli(capsys, "check", "linux")
    assert failed.code == 1
    assert "FAIL     pyproject.toml: [tool.uv] environments is missing" in failed.out
    # torch>=2.4 in [project]: the default index's planted 9.9.9 for macOS and Windows
    assert f"FAIL     uv.lock: torch 9.9.9 is locked from {torch_indexes.pypi_url}" in failed.out
    assert "'uv lock'" in failed.err

    # envgen's keys: one platform, torch only from the PyTorch index, and uv.lock says so
    assert run_cli(capsys, "render", "linux").code == 0
    assert path.read_text() == rendered
    done = _uv_lock(project_dir, tmp_path)
    assert done.returncode == 0, done.stderr
    lock = tomllib.loads((project_dir / "uv.lock").read_text())
    assert (
        lock["supported-markers"]
        == lock["required-markers"]
        == ["platform_machine == 'x86_64' and sys_platform == 'linux'"]
    )
    torch = [p for p in lock["package"] if p["name"] == "torch"]
    assert [(p["version"], p["source"]) for p in torch] == [
        ("2.4.1+cu118", {"registry": torch_indexes.pytorch_url("cu118")})
    ]
    # uv applies sources to direct dependencies only: torch's own pytorch-triton came from
    # the default index (the torchtriton attack), and check says so and how to pin it
    triton = next(p for p in lock["package"] if p["name"] == "pytorch-triton")
    assert triton["source"] == {"registry": torch_indexes.pypi_url}
    failed = run_cli(capsys, "check", "linux")
    assert failed.code == 1
    assert "FAIL     uv.lock: pytorch-triton 9.9.9 is locked from" in failed.out
    assert "FAIL     pyproject.toml" not in failed.out
    # the fix the message gives; envgen leaves that source alone, and uv pins it
    fixed = path.read_text().replace('"tqdm"]', '"tqdm", "pytorch-triton"]')
    fixed = fixed.replace(
        "[tool.uv.sources]\n",
        '[tool.uv.sources]\npytorch-triton = { index = "pytorch-cu118" }\n',
    )
    path.write_text(fixed)
    assert run_cli(capsys, "render", "linux").code == 0
    assert path.read_text() == fixed
    assert _uv_lock(project_dir, tmp_path).returncode == 0
    checked = run_cli(capsys, "check", "linux")
    assert checked.code == 0, checked.out + checked.err
