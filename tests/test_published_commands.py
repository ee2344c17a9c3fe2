"""envgen's requirements install what PyTorch's own published commands install, from the same index.

tests/data/published_commands.yaml holds PyTorch's install commands verbatim, each with its
source. For each (torch version, compute variant) we render a profile asking for exactly that
and compare meaning: the same packages at the same versions, from the same PyTorch index.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from envgen.catalog import load_catalog
from envgen.targets import Variant
from tests.helpers import write_profile
from tests.reqparse import marker_env, parse_requirements_text

DATA = Path(__file__).parent / "data" / "published_commands.yaml"
COMMANDS = yaml.safe_load(DATA.read_text())


def parse_command(command: str) -> tuple[str, dict[str, str]]:
    """(index URL, {package: pinned version}) of a published `pip install …` command."""
    tokens = shlex.split(command)
    assert tokens[0] in ("pip", "pip3") and tokens[1] == "install", command
    index, pins = None, {}
    rest = iter(tokens[2:])
    for token in rest:
        if token in ("--index-url", "--extra-index-url", "-f"):
            index = next(rest).rstrip("/")
            continue
        req = Requirement(token)
        (spec,) = list(req.specifier)
        pins[req.name] = spec.version
    assert index is not None, command
    return index, pins


def test_the_data_covers_the_catalog() -> None:
    pairs = {(c["torch"], c["variant"]) for c in COMMANDS}
    assert len(pairs) >= 30, len(pairs)
    minors = {tuple(int(p) for p in t.split(".")[:2]) for t, _ in pairs}
    # From 1.13 to the newest release whose commands PyTorch's pages published (2.11: see the
    # catalog for the newer releases, whose builds rest on RELEASE.md and PyPI instead).
    assert min(minors) == (1, 13) and max(minors) >= (2, 11)
    assert len(minors) >= 12, sorted(minors)
    kinds = {Variant.parse(v).kind for _, v in pairs}
    assert kinds >= {"cpu", "cuda", "rocm"}
    assert all(c.get("source", "").startswith("http") for c in COMMANDS)


@pytest.mark.parametrize("entry", COMMANDS, ids=[f"{c['torch']}-{c['variant']}" for c in COMMANDS])
def test_rendered_requirements_match_published_command(entry: dict, project_dir: Path) -> None:
    from envgen.project import Project

    index, published = parse_command(entry["command"])
    variant = Variant.parse(entry["variant"])
    catalog = load_catalog()
    release = catalog.find(entry["torch"])
    assert release is not None, f"torch {entry['torch']} missing from the catalog"
    accelerator = {"cuda": "cuda", "rocm": "rocm", "xpu": "xpu", "cpu": "cpu"}[variant.kind]
    lines = [
        f'python: "{release.python[-1]}"',
        f"accelerator: {accelerator}",
        f'pytorch: {{version: "{entry["torch"]}", packages: [{", ".join(published)}]}}',
        "platforms: [linux-64]",
    ]
    if variant.kind in ("cuda", "rocm"):
        lines.append(f'{variant.kind}: "{variant.name}"')
    write_profile(project_dir, "p", "\n".join(lines) + "\n")
    project = Project.open()
    files = {f.name: f.content for f in project.render(project.resolve("p"))}
    ours = parse_requirements_text(files["requirements.txt"])

    assert ours.index_url == index
    pins = ours.pins_for(marker_env("linux-64", release.python[-1]))
    assert set(pins) == set(published)
    for name, version in published.items():
        mine = pins[name]
        if "+" in version:  # the command pins a build: ours must be that exact build
            assert mine == version, name
        else:  # a plain pin on that index installs its (only) build; ours names it
            assert mine.split("+")[0] == version, name
            assert mine.partition("+")[2] in ("", variant.name), name
