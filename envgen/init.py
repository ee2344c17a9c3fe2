"""``envgen init``: give a repository its own profiles, fitted to this machine.

It only ever adds: new files are created exclusively (never replacing one that appeared
meanwhile), pyproject.toml and .gitignore only get lines appended, and everything that already
exists is reported and left alone, so running it twice is safe.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import write_atomic
from .config import parse_toml
from .envmeta import ENVS_DIR
from .interpreters import Interpreter
from .project import Project
from .readfile import read_text

_TOOL_SECTION = """
[tool.envgen]
profiles = "profiles"          # this project's envgen profiles
output = "envs/{profile}"      # where `envgen render` and `envgen lock` write
"""
_IGNORED = ENVS_DIR.split("/")[0]  # ".envgen": environments are built, never committed


@dataclass
class InitResult:
    written: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    recommended: str = "cpu"
    python: str = ""


def _supported(project: Project, minor: str, variants: Sequence[str]) -> bool:
    """Some verified torch release has wheels for ``minor`` in every one of ``variants``."""
    releases = [r for r in project.catalog.releases if r.verified]
    return all(any(minor in r.python and v in r.variants for r in releases) for v in variants)


def choose_python(
    project: Project,
    variants: Sequence[str],
    found: Callable[[], Sequence[Interpreter]],
    running: str = f"{sys.version_info.major}.{sys.version_info.minor}",
) -> str:
    """The running interpreter's minor when the catalog has wheels for it in every profile
    written; else the newest such Python found on this machine; else the newest the catalog
    supports (``envgen create`` will then say how to install it). ``found`` is only called when
    needed: discovering interpreters costs most of a second."""
    if _supported(project, running, variants):
        return running
    minors = sorted({i.minor for i in found()}, key=lambda m: tuple(map(int, m.split("."))))
    for minor in reversed(minors):
        if _supported(project, minor, variants):
            return minor
    newest = [r for r in project.catalog.releases if r.verified][-1]
    usable = [m for m in newest.python if _supported(project, m, variants)]
    return (usable or list(newest.python))[-1]


def _profile_text(project: Project, name: str) -> str:
    """The built-in profile ``name`` as a project profile extending the project's base."""
    import yaml

    layer = project.registry.load_layer(project.registry.builtin[name])
    values: dict[str, Any] = {"description": layer.values.get("description", name)}
    values["extends"] = "base"
    for key, value in layer.values.items():
        if key not in ("description", "extends", "python"):  # python comes from base
            values[key] = value
    return f"# From envgen's built-in '{name}' profile (`envgen show {name}`).\n" + yaml.safe_dump(
        values, sort_keys=False, default_flow_style=False, allow_unicode=True
    )


def init_project(
    project: Project,
    recommended: str,
    found: Callable[[], Sequence[Interpreter]] = lambda: (),
) -> InitResult:
    """Write base, cpu and ``recommended`` (a built-in profile name) into the project's profiles
    directory, add a [tool.envgen] section and the .gitignore entry; never replace anything."""
    result = InitResult(recommended=recommended)
    root, profiles = project.config.root, project.config.profiles_dir
    wanted = ["cpu"] + ([recommended] if recommended != "cpu" else [])
    variants = [project.resolve(name).env.variant.name for name in wanted]
    result.python = choose_python(project, variants, found)
    base = (
        "# Shared by this project's profiles: the Python version and common packages.\n"
        "description: Shared base of this project's environments\n"
        "abstract: true\n"
        f'python: "{result.python}"\n'
        "channels:\n  - conda-forge\n"
        "pip: []\n"
    )
    for name in ["base", *wanted]:
        existing = project.registry.project.get(name)  # also finds a NAME.yml
        if existing is not None:
            result.skipped.append(existing.path)
            continue
        path = profiles / f"{name}.yaml"
        text = base if name == "base" else _profile_text(project, name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        except FileExistsError:
            result.skipped.append(path)
        else:
            result.written.append(path)
    if profiles / "base.yaml" not in result.written:
        result.python = ""  # the project's own base decides
    _add_tool_section(root / "pyproject.toml", result)
    _ignore_envs(root / ".gitignore", result)
    if profiles / "base.yaml" in result.written:  # a first set-up, not a re-run in a set-up repo
        _keep_lf(root / ".gitattributes", _attributes_pattern(project), result)
    return result


def _add_tool_section(pyproject: Path, result: InitResult) -> None:
    """Settings live in pyproject.toml's [tool.envgen], always: a repository without a
    pyproject.toml gets one holding only that section."""
    if not pyproject.exists():
        try:
            with pyproject.open("x", encoding="utf-8", newline="\n") as fh:
                fh.write(_TOOL_SECTION.lstrip("\n"))
        except FileExistsError:
            result.skipped.append(pyproject)
        else:
            result.written.append(pyproject)
        return
    pyproject = _through_link(pyproject)
    text = read_text(pyproject, what="pyproject.toml") or ""
    if "envgen" in parse_toml(text, str(pyproject)).get("tool", {}):
        result.skipped.append(pyproject)
        return
    write_atomic(pyproject, text.rstrip("\n") + "\n" + _TOOL_SECTION)
    result.updated.append(pyproject)


def _through_link(path: Path) -> Path:
    """The file a symlink points at, so that an atomic rewrite edits it and keeps the link
    (a repository that links pyproject.toml from a shared place keeps linking it)."""
    return path.resolve() if path.is_symlink() else path


def _ignore_envs(gitignore: Path, result: InitResult) -> None:
    gitignore = _through_link(gitignore)
    text = read_text(gitignore, what=".gitignore", missing_ok=True) or ""
    present = {line.strip().strip("/") for line in text.splitlines()}
    if _IGNORED in present:
        result.skipped.append(gitignore)
        return
    separator = "" if not text or text.endswith("\n") else "\n"
    addition = f"# envgen's environments (built by `envgen create`)\n{_IGNORED}/\n"
    write_atomic(gitignore, text + separator + addition)
    (result.updated if text else result.written).append(gitignore)


def _attributes_pattern(project: Project) -> str | None:
    """The .gitattributes pattern for every profile's rendered files (envs/*/**), or None when
    they are written outside the repository."""
    import os

    marker = "ENVGEN-PROFILE"
    where = project.config.output_dir(marker)
    if not where.is_relative_to(project.config.root):
        return None
    relative = Path(os.path.relpath(where, project.config.root)).as_posix()
    return relative.replace(marker, "*") + "/**"


def _keep_lf(attributes: Path, pattern: str | None, result: InitResult) -> None:
    """Ask git for LF in generated files on every checkout (core.autocrlf on Windows would
    otherwise turn them to CRLF: harmless to ``envgen check``, but a diff for everyone else)."""
    if pattern is None:
        return
    attributes = _through_link(attributes)
    text = read_text(attributes, what=".gitattributes", missing_ok=True) or ""
    if any(line.split()[:1] == [pattern] for line in text.splitlines()):
        result.skipped.append(attributes)
        return
    separator = "" if not text or text.endswith("\n") else "\n"
    addition = f"# envgen's generated files: LF on every checkout\n{pattern} text eol=lf\n"
    write_atomic(attributes, text + separator + addition)
    (result.updated if text else result.written).append(attributes)
