"""A registry parses each profile file once and merges each shared chain prefix once; what it
keeps never changes a result, an error, or another project's profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

import envgen.registry
from envgen.errors import ProfileError
from envgen.profile import merge_layers
from envgen.project import Project
from tests.helpers import run_cli, write_profile


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every profile file the registry hands to the YAML reader, in order."""
    seen: list[Path] = []
    real = envgen.registry.load_yaml

    def counting(path: Path, **kwargs: object) -> object:
        seen.append(path)
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(envgen.registry, "load_yaml", counting)
    return seen


def _chain(root: Path, length: int) -> None:
    write_profile(root, "c0", 'extends: "builtin:cpu"\npip: ["pkg-0>=1"]\nvariables: {A: "0"}\n')
    for i in range(1, length):
        write_profile(
            root,
            f"c{i}",
            f'extends: c{i - 1}\npip: ["pkg-{i}>=1", "pkg-0>={i}"]\nabstract: false\n',
        )


def test_a_chain_is_parsed_once_however_many_profiles_use_it(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _chain(project_dir, 6)
    parses = _parses(monkeypatch)
    project = Project.open()
    for name in ("c5", "c3", "c0", "c5", "c4"):
        project.resolve(name)
    assert len(parses) == len(set(parses)), "a profile file was parsed twice"
    assert {p.name for p in parses} >= {f"c{i}.yaml" for i in range(6)}


def test_kept_merges_equal_a_fresh_merge(project_dir: Path) -> None:
    _chain(project_dir, 5)
    # A diamond beside the chain: d extends two parents that share one.
    write_profile(project_dir, "left", 'extends: c1\npip: ["left"]\nvariables: {B: "l"}\n')
    write_profile(project_dir, "right", 'extends: c2\npip: ["right", "pkg-1"]\n')
    write_profile(project_dir, "d", "extends: [left, right]\nabstract: true\n")
    registry = Project.open().registry
    names = ["c4", "d", "c2", "left", "right", "c3", "d", "c0"]
    kept = [registry.load(name) for name in names]
    for name, merged in zip(names, kept, strict=True):
        fresh = Project.open().registry.load(name)
        assert merged == fresh
        assert merged == merge_layers(fresh.chain)
    d = kept[1]
    assert [layer.name for layer in d.chain][-6:] == ["c0", "c1", "left", "c2", "right", "d"]
    assert d.values["pip"] == ["left", "pkg-2>=1", "pkg-0>=2", "right", "pkg-1"]
    assert d.values["variables"] == {"A": "0", "B": "l"}
    assert d.values["abstract"] is True and kept[0].values["abstract"] is False
    assert "abstract" not in kept[3].values  # 'own': never inherited from c1/c0


def test_the_same_error_every_time_and_nothing_kept_from_a_failure(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    write_profile(project_dir, "a", 'extends: b\npython: "3.11"\n')
    write_profile(project_dir, "b", "extends: a\n")
    write_profile(project_dir, "bad", 'extends: cpu\npip: ["ok"]\nbogus: 1\n')
    registry = Project.open().registry
    for name, words in (("a", "project:a -> project:b -> project:a"), ("bad", "unknown key")):
        messages = []
        for _ in range(2):
            with pytest.raises(ProfileError) as caught:
                registry.load(name)
            messages.append(str(caught.value))
        assert messages[0] == messages[1]
        assert words in messages[0]
    # Entered from the other end, the cycle reads from there, as it always did.
    with pytest.raises(ProfileError, match="project:b -> project:a -> project:b"):
        registry.load("b")
    # --all stops at the first bad profile and says the same as one profile alone.
    alone = run_cli(capsys, "render", "bad")
    assert alone.code == 2


def test_nothing_is_shared_between_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two projects with the same profile names and paths of the same shape: each reads its own
    files, and a project opened again sees a file changed since."""
    roots = []
    for label in ("one", "two"):
        root = tmp_path / label
        root.mkdir()
        (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
        write_profile(root, "shared", f'extends: "builtin:cpu"\npip: ["{label}"]\n')
        write_profile(root, "child", "extends: shared\n")
        roots.append(root)
    seen = []
    for root in roots:
        monkeypatch.chdir(root)
        seen.append(Project.open().resolve("child").profile.values["pip"][-1])
    assert seen == ["one", "two"]
    write_profile(roots[0], "shared", 'extends: "builtin:cpu"\npip: ["changed"]\n')
    monkeypatch.chdir(roots[0])
    assert Project.open().resolve("child").profile.values["pip"][-1] == "changed"


def test_a_kept_chain_never_hides_the_length_bound(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chain kept from a shorter walk is taken only while the walk stays within the bound:
    every profile gives the same answer, or the same error, whatever was loaded before."""
    monkeypatch.setattr(envgen.registry, "MAX_EXTENDS", 10)
    for i in range(15):
        parent = f"p{i + 1}" if i < 14 else '"builtin:cpu"'
        write_profile(project_dir, f"p{i}", f'extends: {parent}\npip: ["pkg-{i}"]\n')

    def answer(registry: envgen.registry.ProfileRegistry, name: str) -> object:
        try:
            return registry.load(name)
        except ProfileError as error:
            return str(error)

    fresh = {f"p{i}": answer(Project.open().registry, f"p{i}") for i in range(15)}
    assert "extends a chain of more than 10" in str(fresh["p0"])
    assert not isinstance(fresh["p14"], str)
    for first in ("p14", "p8", "p5"):
        warmed = Project.open().registry
        answer(warmed, first)
        for i in reversed(range(15)):
            assert answer(warmed, f"p{i}") == fresh[f"p{i}"], (first, i)
