"""A command resolves each profile once, and parses each profile file once.

Resolution (``resolve._Resolver.run``) and profile validation (``profile_check.validate_layer``) are
counted while real commands run against loopback indexes: a lock (pip side, then both sides), a
check of locked files, a render and a create from the lock each resolve their profile once;
later stages (lock states, the torch-family rule, the conda spec, verify's expected lock) take
the resolved profile they are handed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from envgen import registry, resolve
from envgen.project import Project
from tests.conftest import isolate_installers
from tests.fixtures.conda_channel import CondaChannel
from tests.fixtures.envs import find_python
from tests.fixtures.pypi_index import LocalIndexes
from tests.helpers import create_named, run_cli, write_profile

PROFILE = """
python: "3.11"
pytorch: {version: "2.4.1", packages: [torch]}
platforms: [linux-64]
pip: [tqdm]
"""


class Counts:
    def __init__(self) -> None:
        self.resolves = 0
        self.parses = 0


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    found = Counts()
    run, validate = resolve._Resolver.run, registry.validate_layer

    def counted_run(self: resolve._Resolver) -> resolve.ResolvedEnv:
        found.resolves += 1
        return run(self)

    def counted_validate(*args: object, **kwargs: object) -> object:
        found.parses += 1
        return validate(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(resolve._Resolver, "run", counted_run)
    monkeypatch.setattr(registry, "validate_layer", counted_validate)
    yield found


@pytest.fixture
def project(
    project_dir: Path,
    torch_indexes: LocalIndexes,
    conda_channel: CondaChannel,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A profile that extends another (two files), with every index and channel on loopback."""
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write("\n" + torch_indexes.mirror_toml())
        fh.write(f'"conda-forge" = "{conda_channel.url}"\n')
    isolate_installers(monkeypatch, project_dir.parent)
    write_profile(project_dir, "base", PROFILE)
    write_profile(project_dir, "p", "extends: base\ndescription: counted\n")
    return project_dir


def _once(counts: Counts, capsys: pytest.CaptureFixture[str], *args: str) -> None:
    counts.resolves = counts.parses = 0
    result = run_cli(capsys, *args)
    assert result.code == 0, result.err
    assert (counts.resolves, counts.parses) == (1, 2), args  # one resolve; p.yaml, base.yaml


def test_lock_check_and_render_resolve_their_profile_once(
    project: Path, counts: Counts, capsys: pytest.CaptureFixture[str]
) -> None:
    _once(counts, capsys, "lock", "p", "--no-conda")
    _once(counts, capsys, "lock", "p", "--no-conda")  # unchanged: answered from the files
    _once(counts, capsys, "lock", "p", "--engine", "rattler", "--pylock")
    _once(counts, capsys, "render", "p")
    _once(counts, capsys, "check", "p")  # outputs, pip, conda and pylock locks, all current


@pytest.mark.e2e
def test_a_create_resolves_its_profile_once(
    project: Path, counts: Counts, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run_cli(capsys, "lock", "p", "--no-conda").code == 0
    environ = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv")}
    for status in ("created", "up-to-date"):
        counts.resolves = counts.parses = 0
        result = create_named(Project.open(), "p", python=find_python("3.11"), environ=environ)
        assert result.status == status
        assert result.sources == ("envs/p/requirements-linux-64.lock.txt",)
        assert (counts.resolves, counts.parses) == (1, 2)
