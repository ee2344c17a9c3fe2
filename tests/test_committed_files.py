"""Committed generated files a team can live with (issue 9).

Upgrading envgen changes nothing; a changed input makes exactly the files derived from it stale,
and says which input; locks hold canonical URLs whichever mirror they were made through; the
rendered conda-lock spec is what conda-lock's own parser and hash function accept.
"""

from __future__ import annotations

import http.server
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
import yaml

import envgen
import envgen.project
from envgen.catalog import load_catalog
from envgen.paths import CATALOG_FILE, builtin_profiles
from envgen.project import Project
from tests.conftest import isolate_installers
from tests.fixtures.conda_channel import CondaChannel
from tests.fixtures.pypi_index import PYPI_PUBLIC, PYTORCH_PUBLIC, LocalIndexes, populate_torch
from tests.helpers import run_cli, write_profile

BUILTINS = sorted(p.stem for p in builtin_profiles().glob("*.yaml"))
GPU = """
python: "3.11"
accelerator: cuda
cuda: "11.8"
pytorch: {version: "2.4.1", packages: [torch, torchvision]}
pip: [tqdm]
"""


def bump_version(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    """A new envgen release, as far as any loaded envgen module can tell."""
    for name, module in list(sys.modules.items()):
        if (name == "envgen" or name.startswith("envgen.")) and hasattr(module, "__version__"):
            monkeypatch.setattr(module, "__version__", version)
    assert envgen.__version__ == version


# -- upgrades and staleness -------------------------------------------------------------------


def test_upgrading_envgen_leaves_rendered_files_current(
    capsys: pytest.CaptureFixture[str], project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(capsys, "render", "cpu", "gpu-cu118", "gpu-conda").code == 0
    before = {p: p.read_bytes() for p in (project_dir / "envs").rglob("*") if p.is_file()}
    assert all(envgen.__version__.encode() not in text for text in before.values())
    bump_version(monkeypatch, "99.0.0")
    checked = run_cli(capsys, "check", "cpu", "gpu-cu118", "gpu-conda")
    assert checked.code == 0, checked.out + checked.err
    assert "all current" in checked.out
    assert run_cli(capsys, "render", "cpu", "gpu-cu118", "gpu-conda").code == 0
    after = {p: p.read_bytes() for p in (project_dir / "envs").rglob("*") if p.is_file()}
    assert after == before


def _catalog_with(tmp_path: Path, torch: str, variant: str, platform: str) -> Path:
    """A copy of the built-in catalog where one release's variant gains one platform."""
    data = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    (release,) = [r for r in data["releases"] if str(r["torch"]) == torch]
    release["variants"][variant] = [*release["variants"][variant], platform]
    path = tmp_path / "pytorch.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_changed_catalog_fact_makes_only_the_profile_using_it_stale(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert run_cli(capsys, "render", "--all").code == 0
    env = Project.open().resolve("gpu-cu118").env
    resolved = {n: Project.open().resolve(n).env for n in BUILTINS}
    same_release = [n for n, e in resolved.items() if e.torch == env.torch]
    same_variant = [n for n in same_release if resolved[n].variant == env.variant]
    # Another profile uses the same release through another variant: it must stay current.
    assert len(same_release) > 1 and same_variant == ["gpu-cu118"], same_release
    changed = _catalog_with(tmp_path, env.torch, env.variant.name, "linux-aarch64")
    monkeypatch.setenv("ENVGEN_NO_CACHE", "1")
    monkeypatch.setattr(envgen.project, "load_catalog", lambda: load_catalog(changed))

    result = run_cli(capsys, "check", "--all")
    assert result.code == 1
    failing = [line for line in result.out.splitlines() if line.startswith("FAIL")]
    assert failing and all("envs/gpu-cu118/" in line for line in failing), result.out
    assert len(failing) == len(Project.open().resolve("gpu-cu118").env.outputs)
    reason = f"the catalog facts for torch {env.torch} ({env.variant.name}) changed"
    assert all(reason in line for line in failing), failing
    assert "profile" not in failing[0].split(":", 1)[1].split("changed")[0].replace(reason, "")
    assert "Run 'envgen render gpu-cu118'" in result.err
    assert "--all" not in result.err


def test_check_names_the_failing_profiles_and_quiet_prints_only_failures(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    write_profile(project_dir, "a", 'extends: cpu\npip: ["tqdm"]\n')
    write_profile(project_dir, "b", "extends: cpu\n")
    write_profile(project_dir, "c", "extends: gpu-cu118\n")
    assert run_cli(capsys, "render", "a", "b", "c").code == 0
    write_profile(project_dir, "a", 'extends: cpu\npip: ["tqdm>=4"]\n')
    (project_dir / "envs" / "c" / "environment.yml").unlink()

    loud = run_cli(capsys, "check", "a", "b", "c")
    assert loud.code == 1
    assert "ok       envs/b/environment.yml" in loud.out
    assert "+      - tqdm>=4" in loud.out  # the diff
    assert "FAIL     envs/a/requirements.txt: stale: profile 'a' or one it extends" in loud.out
    assert "Run 'envgen render a c'" in loud.err

    quiet = run_cli(capsys, "check", "-q", "a", "b", "c")
    assert quiet.code == 1
    assert all(line.startswith("FAIL") for line in quiet.out.splitlines()), quiet.out
    assert {line.split()[1].rstrip(":") for line in quiet.out.splitlines()} == {
        "envs/a/environment.yml",
        "envs/a/requirements.txt",
        "envs/a/conda-lock-spec.yml",
        "envs/c/environment.yml",
    }
    assert "out of date in profile(s) a, c" in quiet.err


def test_regenerate_line_reproduces_the_output_directory(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    assert run_cli(capsys, "render", "cpu", "-o", "gen/cpu-env").code == 0
    text = (project_dir / "gen" / "cpu-env" / "requirements.txt").read_text()
    assert "# Regenerate with: envgen render cpu -o gen/cpu-env\n" in text
    assert run_cli(capsys, "check", "cpu", "-o", "gen/cpu-env").code == 0

    (project_dir / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\n[tool.envgen]\noutput = "locks/{profile}"\n'
    )
    assert run_cli(capsys, "render", "cpu").code == 0
    text = (project_dir / "locks" / "cpu" / "environment.yml").read_text()
    line = next(x for x in text.splitlines() if "Regenerate with:" in x)
    setting = "(into locks/{profile}: [tool.envgen] output)"
    assert line == f"# Regenerate with: envgen render cpu  {setting}"
    assert yaml.safe_load(text)["name"] == "cpu"
    assert run_cli(capsys, "check", "cpu").code == 0


def test_an_unverified_release_says_so(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    unverified = [r.torch for r in load_catalog().releases if not r.verified]
    if not unverified:
        pytest.skip("the catalog marks no release unverified")
    write_profile(project_dir, "next", f'extends: cpu\npytorch: "{unverified[0]}"\n')
    result = run_cli(capsys, "render", "next")
    assert result.code == 0
    assert f"torch {unverified[0]} is marked unverified" in result.err
    text = (project_dir / "envs" / "next" / "requirements.txt").read_text()
    assert f"# WARNING: torch {unverified[0]} is marked unverified" in text
    shown = run_cli(capsys, "show", "next")
    assert "unverified" in shown.out + shown.err
    quiet = run_cli(capsys, "render", "cpu")
    assert "unverified" not in quiet.err


# -- the conda-lock spec ----------------------------------------------------------------------


def _mapping(tmp_path: Path) -> str:
    """A local PyPI->conda name table, so conda-lock's parser never downloads its own."""
    path = tmp_path / "pypi-to-conda.json"
    entry = {"conda_name": "pip", "conda_forge": "pip", "pypi_name": "pip"}
    path.write_text(json.dumps({"pip": entry}))
    return str(path)


@pytest.mark.parametrize("name", ["cpu", "gpu-cu118", "gpu-conda", "mps", "rocm"])
def test_conda_lock_spec_is_read_by_conda_locks_own_parser(
    capsys: pytest.CaptureFixture[str], project_dir: Path, tmp_path: Path, name: str
) -> None:
    from conda_lock.src_parser import make_lock_spec

    assert run_cli(capsys, "render", name).code == 0
    spec_file = project_dir / "envs" / name / "conda-lock-spec.yml"
    env = Project.open().resolve(name).env
    spec = make_lock_spec(src_files=[spec_file], mapping_url=_mapping(tmp_path))
    assert spec.platforms == list(env.platforms)
    assert [c.url for c in spec.channels] == list(env.channels)
    for platform in env.platforms:
        deps = {(d.manager, d.name) for d in spec.dependencies[platform]}
        assert ("conda", "python") in deps
        if env.source == "pip":
            assert ("pip", "torch") in deps
            assert ("conda", "pip") in deps
        else:
            assert ("conda", "pytorch") in deps
    repositories = [r.url for r in spec.pip_repositories]
    if env.index_url:
        assert repositories[0] == env.index_url
        assert spec.allow_pypi_requests is False
    else:
        assert repositories == list(env.extra_index_urls)


def test_environment_yml_is_not_for_conda_lock_but_the_spec_is(
    capsys: pytest.CaptureFixture[str], project_dir: Path, tmp_path: Path
) -> None:
    """The reason the spec exists: conda-lock cannot read the index line conda env needs."""
    from conda_lock.src_parser import make_lock_spec

    assert run_cli(capsys, "render", "gpu-cu118").code == 0
    directory = project_dir / "envs" / "gpu-cu118"
    with pytest.raises(Exception, match="index-url"):
        make_lock_spec(src_files=[directory / "environment.yml"], mapping_url=_mapping(tmp_path))
    make_lock_spec(src_files=[directory / "conda-lock-spec.yml"], mapping_url=_mapping(tmp_path))


# -- mirrors never reach a lock ---------------------------------------------------------------


@contextmanager
def second_server(root: Path) -> Iterator[str]:
    """The same index tree served again on another loopback port: a second mirror."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def plain_project(
    project_dir: Path, torch_indexes: LocalIndexes, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A project with no mirrors of its own (they come from --mirror), torch 2.4.1 published."""
    isolate_installers(monkeypatch, project_dir.parent)
    write_profile(project_dir, "gpu", GPU)
    return project_dir


def test_a_lock_is_the_same_bytes_through_any_mirror(
    plain_project: Path, torch_indexes: LocalIndexes, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = plain_project / "envs" / "gpu"

    def locked_through(base: str) -> dict[str, bytes]:
        mirrors = LocalIndexes(torch_indexes.root, base).mirrors
        args = [f"--mirror={public}={local}" for public, local in mirrors.items()]
        result = run_cli(capsys, "lock", "gpu", "--no-conda", "--upgrade", *args)
        assert result.code == 0, result.err
        return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}

    first = locked_through(torch_indexes.base_url)
    with second_server(torch_indexes.root) as other:
        assert other != torch_indexes.base_url
        second = locked_through(other)
    assert first == second
    for text in first.values():
        assert b"127.0.0.1" not in text and b"localhost" not in text
        assert f"--extra-index-url {PYTORCH_PUBLIC}/cu118".encode() in text
        assert f"--index-url {PYPI_PUBLIC}".encode() in text
    # Upgrading envgen does not touch a lock either.
    assert run_cli(capsys, "check", "gpu").code == 1  # not rendered yet: only the locks exist
    assert run_cli(capsys, "render", "gpu").code == 0
    checked = run_cli(capsys, "check", "gpu")
    assert checked.code == 0, checked.out


def test_upgrading_envgen_leaves_locks_current(
    plain_project: Path,
    torch_indexes: LocalIndexes,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = [f"--mirror={public}={local}" for public, local in torch_indexes.mirrors.items()]
    assert run_cli(capsys, "render", "gpu").code == 0
    assert run_cli(capsys, "lock", "gpu", "--no-conda", *args).code == 0
    bump_version(monkeypatch, "99.0.0")
    checked = run_cli(capsys, "check", "gpu")
    assert checked.code == 0, checked.out + checked.err
    assert "ok       envs/gpu/requirements-linux-64.lock.txt" in checked.out
    again = run_cli(capsys, "lock", "gpu", "--no-conda", *args)
    assert "up to date" in again.out and "solving" not in again.err

    # A real change is named: here the profile's own pip list.
    write_profile(plain_project, "gpu", GPU.replace("[tqdm]", "[tqdm, filelock]"))
    assert run_cli(capsys, "render", "gpu").code == 0
    stale = run_cli(capsys, "check", "gpu")
    assert stale.code == 1
    assert "FAIL     envs/gpu/requirements-win-64.lock.txt: stale: profile 'gpu'" in stale.out
    assert "Run 'envgen lock gpu'" in stale.err


def test_conda_lock_yml_is_canonical_and_carries_conda_locks_hash_of_the_spec(
    plain_project: Path,
    torch_indexes: LocalIndexes,
    conda_channel: CondaChannel,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """Both sides through mirrors (two different ones), one and the same canonical lock; its
    content_hash is what conda-lock computes for the committed spec, so conda-lock's
    --check-input-hash would accept it."""
    from conda_lock.content_hash import backwards_compatible_content_hashes
    from conda_lock.lockfile import parse_conda_lock_file
    from conda_lock.src_parser import make_lock_spec
    from conda_lock.virtual_package import default_virtual_package_repodata

    env = Project.open().resolve("gpu-cu118").env
    populate_torch(torch_indexes, {env.variant.name: env.platforms}, env.companions)
    channel_copy = shutil.copytree(conda_channel.path, tmp_path / "channel-copy")
    directory = plain_project / "envs" / "gpu-cu118"

    def locked_through(indexes: str, channel: str) -> bytes:
        mirrors = {**LocalIndexes(torch_indexes.root, indexes).mirrors, "conda-forge": channel}
        args = [f"--mirror={public}={local}" for public, local in mirrors.items()]
        result = run_cli(capsys, "lock", "gpu-cu118", "--engine", "rattler", "--upgrade", *args)
        assert result.code == 0, result.err
        return (directory / "conda-lock.yml").read_bytes()

    first = locked_through(torch_indexes.base_url, conda_channel.url)
    with second_server(torch_indexes.root) as other:
        second = locked_through(other, channel_copy.as_uri())
    assert first == second
    assert b"127.0.0.1" not in first and b"file://" not in first

    lock = parse_conda_lock_file(directory / "conda-lock.yml")
    assert [c.url for c in lock.metadata.channels] == ["conda-forge"]
    urls = [p.url for p in lock.package]
    assert any(u.startswith("https://conda.anaconda.org/conda-forge/") for u in urls)
    assert any(u.startswith(f"{PYTORCH_PUBLIC}/cu118/") for u in urls)

    assert run_cli(capsys, "render", "gpu-cu118").code == 0
    spec = make_lock_spec(
        src_files=[directory / "conda-lock-spec.yml"], mapping_url=_mapping(tmp_path)
    )
    assert env.variant.version == "11.8"
    repo = default_virtual_package_repodata(cuda_version="11.8")  # what conda-lock hashes
    for platform in env.platforms:
        accepted = backwards_compatible_content_hashes(spec, repo, platform)
        assert lock.metadata.content_hash[platform] in accepted, platform
    assert lock.metadata.content_hash[platform] not in backwards_compatible_content_hashes(
        spec, None, platform
    )  # the virtual packages (__cuda 11.8 among them) are part of it
    assert run_cli(capsys, "check", "gpu-cu118").code == 0


def test_abstract_is_not_inherited_and_must_be_a_boolean(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    write_profile(project_dir, "shared", 'abstract: true\npython: "3.12"\n')
    write_profile(project_dir, "team", "extends: [shared, builtin:cpu]\n")
    assert run_cli(capsys, "render", "--all").code == 0
    rendered = {p.name for p in (project_dir / "envs").iterdir()}
    assert "team" in rendered and "shared" not in rendered and "base" not in rendered
    write_profile(project_dir, "shared", 'abstract: "yes"\n')
    bad = run_cli(capsys, "render", "shared")
    assert bad.code == 2
    assert "profiles/shared.yaml" in bad.err and "abstract" in bad.err
    assert "true or false" in bad.err


# -- finding the project ----------------------------------------------------------------------


def test_the_project_is_found_from_any_subdirectory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outer = tmp_path / "outer"
    (outer / "profiles").mkdir(parents=True)  # above the repository: never reached
    write_profile(outer, "cpu", "extends: builtin:cpu\npython: '3.10'\n")
    repo = outer / "repo"
    (repo / ".git").mkdir(parents=True)
    write_profile(repo, "cpu", "extends: builtin:cpu\npython: '3.12'\n")
    deep = repo / "src" / "pkg"
    deep.mkdir(parents=True)
    (repo / "src" / "pyproject.toml").write_text('[project]\nname = "sub"\nversion = "0"\n')
    monkeypatch.chdir(deep)
    result = run_cli(capsys, "render", "cpu")
    assert result.code == 0, result.err
    text = (repo / "envs" / "cpu" / "environment.yml").read_text()
    assert "python=3.12" in yaml.safe_load(text)["dependencies"]  # the project's, not built-in
    assert not (deep / "envs").exists() and not (outer / "envs").exists()
    checked = run_cli(capsys, "check", "cpu")
    assert checked.code == 0, checked.out

    # Without profiles/ but with [tool.envgen], the pyproject.toml marks the project.
    other = tmp_path / "other"
    (other / ".git").mkdir(parents=True)
    (other / "pyproject.toml").write_text('[tool.envgen]\noutput = "gen/{profile}"\n')
    (other / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(other / "a" / "b")
    assert run_cli(capsys, "render", "cpu").code == 0
    assert (other / "gen" / "cpu" / "requirements.txt").is_file()


def test_init_without_a_pyproject_writes_one_with_the_tool_section(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_machine: object,
) -> None:
    from envgen.config import parse_toml

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "docs").mkdir()
    monkeypatch.chdir(repo / "docs")
    result = run_cli(capsys, "init")
    assert result.code == 0, result.err
    assert "wrote     pyproject.toml" in result.out
    settings = parse_toml((repo / "pyproject.toml").read_text(), "pyproject.toml")["tool"]["envgen"]
    assert settings["profiles"] == "profiles"
    assert (repo / "profiles" / "base.yaml").is_file()
    assert yaml.safe_load((repo / "profiles" / "base.yaml").read_text())["abstract"] is True
    assert (repo / ".gitignore").is_file()
    assert run_cli(capsys, "render", "--all").code == 0
    assert not (repo / "envs" / "base").exists()  # the project's base is abstract too
    assert (repo / "envs" / "cpu" / "environment.yml").is_file()


# -- --json failures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["show", "no-such-profile", "--json"],
        ["lock", "bad", "--json", "--no-conda"],
        ["create", "bad", "--json"],
        ["verify", "bad", "--json"],
        ["doctor", "--json", "--timeout", "nonsense"],
    ],
)
def test_every_json_command_prints_a_json_error(
    capsys: pytest.CaptureFixture[str], project_dir: Path, args: list[str]
) -> None:
    write_profile(project_dir, "bad", "extends: cpu\npython: '3.11'\nchannels: [1]\n")
    result = run_cli(capsys, *args)
    assert result.code == 2, result
    error = json.loads(result.out)["error"]
    assert error["code"] == 2 and error["message"]
    assert error["message"].split(".")[0] in result.err  # the same story as the human message
    if args[0] in ("lock", "create", "verify"):
        assert error["file"].startswith("profiles/")
        assert error.get("key") or error.get("line")


def test_list_json_lists_a_broken_profile_with_its_error(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    """list is a listing, not one profile: the broken one is a row with its error, exit 1
    (issue 11), so that one bad file does not hide every other profile."""
    write_profile(project_dir, "broken", "python: [\n")
    result = run_cli(capsys, "list", "--json")
    assert result.code == 1, result
    rows = {row["name"]: row for row in json.loads(result.out)}
    assert rows["broken"]["error"].startswith("profiles/broken.yaml, line 2")
    assert rows["cpu"]["error"] is None


def test_json_errors_name_file_line_and_key(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    write_profile(project_dir, "p", 'extends: cpu\npytohn: "2.4"\n')
    error = json.loads(run_cli(capsys, "show", "p", "--json").out)["error"]
    assert error["type"] == "ProfileError"
    assert (error["file"], error["line"], error["key"]) == ("profiles/p.yaml", 2, "pytohn")
    assert "pytorch" in error["fix"]
    # `run` passes its arguments on: a --json after -- is the command's, not envgen's.
    passed = run_cli(capsys, "run", "p", "--", "tool", "--json")
    assert passed.code == 2 and passed.out == ""


@pytest.mark.e2e
def test_create_installs_a_canonical_lock_through_a_mirror(
    plain_project: Path, torch_indexes: LocalIndexes, tmp_path: Path
) -> None:
    """The lock names only public URLs; create reaches them through the mirror it is given."""
    import os
    import subprocess

    from tests.fixtures.envs import find_python
    from tests.helpers import create_named, lock_named

    python = find_python("3.11")
    profile = "python: '3.11'\npytorch: {version: '2.4.1', packages: [torch]}\n"
    write_profile(plain_project, "p", profile + "platforms: [linux-64]\npip: [tqdm]\n")
    project = Project.open()
    lock_named(project, "p", conda=False, mirrors=torch_indexes.mirrors)
    lock_file = plain_project / "envs" / "p" / "requirements-linux-64.lock.txt"
    assert "127.0.0.1" not in lock_file.read_text()
    environ = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv"), "PIP_CACHE_DIR": str(tmp_path)}
    result = create_named(
        project, "p", python=python, mirrors=torch_indexes.mirrors, environ=environ
    )
    assert result.sources == ("envs/p/requirements-linux-64.lock.txt",)
    probe = "import torch, tqdm; print(torch.__version__, torch.BUILD)"
    shown = subprocess.run(
        [str(result.prefix / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.split() == ["2.4.1+cpu", "whl/cpu"]
