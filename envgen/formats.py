"""Formats: every file envgen writes, each with its name, its reader and its role, in one registry.

Rendered outputs (one template each) and lock files. Resolution takes the default outputs from
here, the renderer its check that a consumer can read the file, and render, check, create,
verify, lock and the orphan search the names; nothing else lists them. Adding an output is a
template plus its record here (docs/ARCHITECTURE.md).
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
import re
from typing import Literal, NamedTuple

from .errors import TemplateError

# How the file is read back right after rendering: a template that writes what its consumer
# cannot parse is a template bug, stopped before anything is written.
Parser = Literal["yaml", "toml", "jsonc", "dockerfile", "none"]
Source = Literal["pip", "conda"]
LockKind = Literal["pip", "conda", "pylock"]


class OutputFormat(NamedTuple):
    """One rendered output: ``templates/<name>.j2`` renders ``<name>``."""

    name: str
    parser: Parser
    default_for: tuple[Source, ...] = ()  # sources whose profiles render it by default
    # The conda lock is made from it: conda-lock.yml records conda-lock's hash of it
    # (``conda-lock --check-input-hash -f conda-lock-spec.yml``).
    lock_input: bool = False
    # What create installs from when there is no lock: the pip side, or the conda environment.
    installs: Literal["pip", "conda"] | None = None
    copies_lock: bool = False  # it copies its profile's pip lock (a container image build)


OUTPUTS: dict[str, OutputFormat] = {
    "environment.yml": OutputFormat(
        "environment.yml", "yaml", default_for=("pip", "conda"), installs="conda"
    ),
    # No requirements.txt by default for a conda-sourced torch: nothing worth committing in it.
    "requirements.txt": OutputFormat(
        "requirements.txt", "none", default_for=("pip",), installs="pip"
    ),
    "conda-lock-spec.yml": OutputFormat(
        "conda-lock-spec.yml", "yaml", default_for=("pip", "conda"), lock_input=True
    ),
    "pixi.toml": OutputFormat("pixi.toml", "toml"),
    "Dockerfile": OutputFormat("Dockerfile", "dockerfile", copies_lock=True),
    "devcontainer.json": OutputFormat("devcontainer.json", "jsonc"),
}

# Lock files, written by `envgen lock` into a profile's output directory.
CONDA_LOCK = "conda-lock.yml"
PYLOCK = "pylock.toml"  # PEP 751: pylock.toml, or pylock.<name>.toml
_PIP_LOCK = r"requirements-(.+)\.lock\.txt"  # compiled on first use (start-up time)
PIP_LOCK_GLOB = "requirements-*.lock.txt"


def default_outputs(source: str) -> tuple[str, ...]:
    return tuple(name for name, fmt in OUTPUTS.items() if source in fmt.default_for)


def lock_inputs() -> tuple[str, ...]:
    """Default outputs that a lock is made from."""
    return tuple(name for name, fmt in OUTPUTS.items() if fmt.lock_input)


def installed_from(kind: str) -> str:
    """The output create installs ``kind`` (pip | conda) from when there is no lock."""
    return next(name for name, fmt in OUTPUTS.items() if fmt.installs == kind)


def copies_lock(output: str) -> bool:
    """Whether ``output`` copies its profile's pip lock (and so needs one before it is used)."""
    known = OUTPUTS.get(output)
    return known is not None and known.copies_lock


def pip_lock_name(platform: str) -> str:
    """The hashed pip lock of one platform."""
    return f"requirements-{platform}.lock.txt"


def pip_lock_platform(file_name: str) -> str | None:
    """The platform a pip lock's file name names, None for any other file."""
    found = re.fullmatch(_PIP_LOCK, file_name)
    return found.group(1) if found else None


def lock_names(platforms: tuple[str, ...] | list[str], pip: bool) -> set[str]:
    """Every lock file name a profile may have: the conda lock, pylock.toml, and one pip lock
    per platform when it has pip requirements."""
    names = {CONDA_LOCK, PYLOCK}
    if pip:
        names |= {pip_lock_name(platform) for platform in platforms}
    return names


def parser_of(output: str) -> Parser:
    """How ``output`` is read back: its record's parser, else by its file name (a project's
    own template: ``x.yaml``, ``x.toml``, ``x.json``, ``*Dockerfile``)."""
    known = OUTPUTS.get(output)
    if known is not None:
        return known.parser
    if output.endswith((".yml", ".yaml")):
        return "yaml"
    if output.endswith(".toml"):
        return "toml"
    if output.endswith(".json"):
        return "jsonc"
    if output == "Dockerfile" or output.endswith(".Dockerfile"):
        return "dockerfile"
    return "none"


def check_parses(output: str, text: str, path: str) -> None:
    """Stop a generated file that its consumer cannot read (a template bug) before it is written.

    Said without the file's content: a value in it may be anything a profile holds.
    """
    parser = parser_of(output)
    if parser == "none":
        return
    from . import readback

    why = getattr(readback, parser)(text)
    if why is not None:
        fixes = {
            "yaml": "quote values with the yaml_str filter",
            "toml": "quote values with the toml_str filter",
            "jsonc": "write values with the tojson filter",
            "dockerfile": "start every line with an instruction, a comment or a continuation",
        }
        raise TemplateError(
            f"the template produced invalid {_LABELS[parser]} ({why})", file=path, fix=fixes[parser]
        )


_LABELS = {"yaml": "YAML", "toml": "TOML", "jsonc": "JSON", "dockerfile": "Dockerfile"}
