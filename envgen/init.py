"""``envgen init``: give a repository its own profiles, fitted to this machine.

It only ever adds: existing files are reported and left alone, so running it twice, or in a
repository that already has some of these files, is safe.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .envmeta import ENVS_DIR
from .output import write_atomic
from .project import Project

_TOOL_SECTION = """
[tool.envgen]
profiles = "profiles"          # this project's envgen profiles
output = "envs/{profile}"      # where `envgen render` and `envgen lock` write
"""


@dataclass
class InitResult:
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    recommended: str = "cpu"


def _python_for(project: Project) -> str:
    """The running interpreter's minor, when the newest torch has wheels for it; else 3.12."""
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    newest = [r for r in project.catalog.releases if r.verified][-1]
    return minor if minor in newest.python else newest.python[-2]


def init_project(project: Project, recommend: Callable[[Project], str]) -> InitResult:
    result = InitResult()
    root = project.config.root
    profiles = project.config.profiles_dir
    python = _python_for(project)
    recommended = recommend(project)
    result.recommended = recommended
    files = {
        profiles / "base.yaml": (
            "# Shared by this project's profiles: the Python version and common packages.\n"
            "description: Shared base for this project's environments\n"
            f'python: "{python}"\n'
            "channels:\n  - conda-forge\n"
            "pip: []\n"
        ),
        profiles / "cpu.yaml": (
            "description: CPU-only PyTorch (laptops, CI)\nextends: base\naccelerator: cpu\n"
        ),
    }
    if recommended != "cpu":
        layer = project.registry.load(recommended).values
        lines = [
            f"description: {layer.get('description', recommended)}",
            "extends: base",
            f"accelerator: {layer['accelerator']}",
        ]
        for key in ("cuda", "rocm", "source", "pytorch"):
            if key in layer and key != "pytorch":
                lines.append(
                    f'{key}: "{layer[key]}"' if key != "source" else f"{key}: {layer[key]}"
                )
        if "pytorch" in layer and "version" in layer["pytorch"]:
            lines.append(f'pytorch: "{layer["pytorch"]["version"]}"')
        files[profiles / f"{recommended}.yaml"] = "\n".join(lines) + "\n"
    for path, text in files.items():
        if path.exists():
            result.skipped.append(path)
        else:
            write_atomic(path, text)
            result.written.append(path)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        if "[tool.envgen" in text:
            result.skipped.append(pyproject)
        else:
            write_atomic(pyproject, text.rstrip("\n") + "\n" + _TOOL_SECTION)
            result.updated.append(pyproject)
    gitignore = root / ".gitignore"
    ignored = gitignore.read_text(encoding="utf-8") if gitignore.is_file() else ""
    entry = ENVS_DIR.split("/")[0] + "/"
    if entry not in ignored.split():
        addition = ("" if not ignored or ignored.endswith("\n") else "\n") + (
            f"# envgen's environments (built by `envgen create`)\n{entry}\n"
        )
        write_atomic(gitignore, ignored + addition)
        (result.updated if ignored else result.written).append(gitignore)
    else:
        result.skipped.append(gitignore)
    return result
