"""The CLI's start-up path: what `envgen render` imports, and the shortcuts that keep it short.

Issue 12's start-up target (render within 1.3x of importing yaml, jinja2 and click) is met by
not importing what a render does not use: TOML parsing when pyproject.toml says nothing about
envgen, packaging while the catalog holds plain release numbers. These tests hold that line in
a fresh interpreter, and check that each shortcut answers exactly what the long way answered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from envgen.catalog import Release, _sort_releases, load_catalog
from envgen.config import load_config
from envgen.errors import CatalogError, EnvgenError
from envgen.paths import CATALOG_FILE, builtin_profiles

_REPORT_IMPORTS = """
import json, sys
from envgen.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _fresh_run(cwd: Path, cache: Path, *args: str) -> tuple[int, list[str]]:
    """Run the CLI in a new interpreter; its exit code and every module it had imported."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "LOCALAPPDATA": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", _REPORT_IMPORTS, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    return report["code"], report["modules"]


def _run_code(code: str, cwd: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """``python -c code args`` in a fresh interpreter, its cache in ``cwd``; never raises."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cwd / "cache"), **environ}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize("cached", [False, True], ids=["first-run", "warm-cache"])
def test_render_imports_neither_toml_nor_packaging(
    project_dir: Path, tmp_path: Path, cached: bool
) -> None:
    cache = tmp_path / "cache"
    if cached:
        _fresh_run(project_dir, cache, "render", "gpu-cu118")
    code, modules = _fresh_run(project_dir, cache, "render", "gpu-cu118")
    assert code in (0, None)
    assert (project_dir / "envs" / "gpu-cu118" / "requirements.txt").is_file()
    slow = [m for m in modules if m.split(".")[0] in ("tomllib", "tomli", "packaging")]
    assert slow == [], "imported on the render path, costing start-up time"
    # No dataclass is built on the way (~0.8 ms each at import); the records are NamedTuples.
    # shlex serves only -o, unicodedata only text that is not all printable.
    unused = [m for m in ("dataclasses", "shlex", "unicodedata", "difflib") if m in modules]
    assert unused == [], "imported on the render path, costing start-up time"


@pytest.mark.parametrize("name", ["gpu-cu118", "cpu", "mps", "gpu-conda"])
def test_resolved_env_as_dict_is_plain_data(name: str) -> None:
    # What templates and show --json read: a NamedTuple would serialise as a JSON list.
    from envgen.project import Project

    env = Project.open(builtin_profiles().parent).resolve(name).env
    data = json.loads(json.dumps(env.as_dict()))
    assert list(data) == list(env._fields)
    assert data["variant"] == {
        "name": env.variant.name,
        "kind": env.variant.kind,
        "version": env.variant.version,
    }
    assert [pin["name"] for pin in data["pins"]] == [p.name for p in env.pins]
    assert all(set(pin) == {"name", "version", "local", "marker"} for pin in data["pins"])
    for key in ("companions", "variables", "provenance", "omitted"):
        assert data[key] == dict(getattr(env, key))
    assert data["platforms"] == list(env.platforms)


def test_pyproject_without_envgen_is_not_parsed(tmp_path: Path) -> None:
    # Not TOML at all: parsing it would fail, so passing proves it was skipped.
    (tmp_path / "pyproject.toml").write_text("[project\nname = \n")
    config = load_config(tmp_path)
    assert config.profiles_dir == (tmp_path / "profiles").resolve()
    assert config.pyproject == tmp_path / "pyproject.toml"


def test_pyproject_with_envgen_settings_is_still_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n'
        '[tool.envgen]\nprofiles = "envs-src"\noutput = "out/{profile}"\n'
    )
    config = load_config(tmp_path)
    assert config.profiles_dir == (tmp_path / "envs-src").resolve()
    assert config.output_dir("cpu") == tmp_path / "out" / "cpu"


def test_broken_pyproject_mentioning_envgen_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.envgen\nprofiles = 1\n")
    with pytest.raises(EnvgenError, match=r"cannot read pyproject\.toml") as caught:
        load_config(tmp_path)
    assert caught.value.file == str(tmp_path / "pyproject.toml")


def test_non_utf8_pyproject_mentioning_envgen_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b'[tool.envgen]\nprofiles = "\xff"\n')
    with pytest.raises(EnvgenError, match="UTF-8"):
        load_config(tmp_path)


def _release(torch: str) -> Release:
    return Release(
        torch=torch,
        torchvision=None,
        torchaudio=None,
        python=("3.11",),
        variants={"cpu": ("linux-64",)},
        pypi_linux=None,
        osx_64=False,
        conda_pytorch_channel=False,
        sources=("s",),
    )


def test_plain_release_order_is_pep440_order() -> None:
    from packaging.version import Version

    versions = ["2.10.0", "2.9.1", "1.13.1", "2.0", "2.9.0", "10.0.0", "2.1"]
    releases = [_release(v) for v in versions]
    _sort_releases(releases)
    assert [r.torch for r in releases] == sorted(versions, key=Version)


def test_catalog_order_matches_packaging_on_the_real_catalog() -> None:
    from packaging.version import Version

    torches = [r.torch for r in load_catalog().releases]
    assert len(torches) > 10
    assert torches == sorted(torches, key=Version)


def test_other_versions_sort_and_are_checked_by_packaging() -> None:
    releases = [_release(v) for v in ["2.1.0", "2.1.0rc1", "2.0.1"]]
    _sort_releases(releases)
    assert [r.torch for r in releases] == ["2.0.1", "2.1.0rc1", "2.1.0"]


def test_a_torch_version_that_is_no_version_damages_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVGEN_NO_CACHE", "1")
    data = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    data["releases"][0]["torch"] = "two point one"
    broken = tmp_path / "pytorch.yaml"
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CatalogError, match="damaged"):
        load_catalog(broken)


def test_release_version_is_still_a_packaging_version() -> None:
    from packaging.version import Version

    assert _release("2.4.1").version == Version("2.4.1.0")


def test_the_process_skips_the_final_collection_and_still_cleans_up(tmp_path: Path) -> None:
    """Run as a process, envgen freezes its objects before exiting (no last full collection);
    its files are complete and its temporary folders gone all the same."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    probe = (
        "import gc, sys\n"
        "from envgen import cli\n"
        "frozen = gc.freeze\n"
        "def spy():\n"
        "    print('frozen', file=sys.stderr)\n"
        "    frozen()\n"
        "gc.freeze = spy\n"
        "sys.argv = ['envgen', *sys.argv[1:]]\n"
        "cli.main()\n"
    )
    out = tmp_path / "out"
    done = _run_code(
        probe,
        tmp_path,
        "render",
        "gpu-cu118",
        "-o",
        str(out),
        TMPDIR=str(scratch),
        PYTHONDONTWRITEBYTECODE="1",
    )
    assert done.returncode == 0, done.stderr
    assert "frozen" in done.stderr
    assert yaml.safe_load((out / "environment.yml").read_text())["dependencies"]
    assert list(scratch.iterdir()) == []  # render's staged files are gone


def test_main_called_with_arguments_freezes_nothing(tmp_path: Path) -> None:
    """Tests and embedders call main(argv): their objects must stay collectable."""
    import gc

    from envgen.cli import main

    before = gc.get_freeze_count()
    with pytest.raises(SystemExit):
        main(["--version"])
    assert gc.get_freeze_count() == before


def test_the_collector_is_paused_while_modules_import_and_on_while_the_command_runs(
    tmp_path: Path,
) -> None:
    """The process entry (console script, python -m envgen) turns the collector off for the
    imports only: a render's own work, writing its files, runs with it on again."""
    out = tmp_path / "out"
    probe = (
        "import atexit, gc, sys\n"
        "seen = {}\n"
        "def hook(event, args):\n"
        "    if event == 'import' and args[0] in ('click', 'yaml', 'envgen.render_plan'):\n"
        "        seen.setdefault(f'importing {args[0]}', gc.isenabled())\n"
        f"    if event == 'open' and str(args[0]).startswith({str(out)!r}):\n"
        "        seen.setdefault('writing a file', gc.isenabled())\n"
        "sys.addaudithook(hook)\n"
        "atexit.register(lambda: print(sorted(seen.items()), file=sys.stderr))\n"
        "sys.argv = ['envgen', *sys.argv[1:]]\n"
        "from envgen.entry import main\n"
        "main()\n"
    )
    done = _run_code(probe, tmp_path, "render", "gpu-cu118", "-o", str(out))
    assert done.returncode == 0, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "[('importing click', False), ('importing envgen.render_plan', False), "
        "('importing yaml', False), ('writing a file', True)]"
    ), done.stderr


def test_main_with_the_collector_paused_turns_it_back_on() -> None:
    """Whatever happens in the command (here: --version, which loads no command module)."""
    import gc

    from envgen.cli import main

    gc.disable()
    try:
        with pytest.raises(SystemExit):
            main(["--version"], collector_paused=True)
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_ctrl_c_while_the_command_line_imports_is_one_line_and_exit_130(tmp_path: Path) -> None:
    """A Ctrl-C that lands while click and envgen.cli import (an import hook raises it there,
    as SIGINT would) ends like one at any other moment: "Interrupted.", exit 130."""
    probe = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'click':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "sys.argv = ['envgen', 'list']\n"
        "from envgen.entry import main\n"
        "main()\n"
    )
    done = _run_code(probe, tmp_path)
    assert (done.returncode, done.stderr, done.stdout) == (130, "Interrupted.\n", "")
