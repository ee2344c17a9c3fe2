"""Jinja filters: the one place where values are quoted or split for a file format.

Templates never build quotes by hand; ``yaml_str`` and ``toml_str`` make any string safe in
its file, and the ``*_parts`` filters split package specs for formats (pixi.toml) that want
a table rather than one string.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from .errors import TemplateError


def yaml_str(value: object) -> str:
    """A YAML scalar that reads back as exactly this string: plain when safe, else quoted."""
    return _yaml_scalar(str(value))


# Kept per text: every profile of a chain writes its parents' packages again (a 300-long
# chain quoted 97,000 strings, 300 of them different).
@functools.cache
def _yaml_scalar(text: str) -> str:
    plain_ok = (
        text
        and text.isprintable()
        and text == text.strip()
        and text[0] not in "!&*-?{}[]|>'\"%@`#,:~="
        and not any(c in text for c in "\n\r\t\"'")
        and ": " not in text
        and " #" not in text
        and not text.endswith(":")
        and text.lower() not in ("yes", "no", "true", "false", "on", "off", "null", "y", "n")
        and not _looks_numeric(text)
        and _plain_reads_as_str(text)
    )
    if plain_ok:
        return text
    if "'" not in text and text.isprintable():
        return "'" + text + "'"  # single quotes keep PEP 508 markers' double quotes readable
    return double_quoted(text)


def toml_str(value: object) -> str:
    """A TOML basic string (its escapes are the same as YAML's double-quoted ones)."""
    return double_quoted(str(value))


def double_quoted(text: str) -> str:
    """Double quotes with every unprintable character escaped (so none can break a line)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


@functools.cache
def _plain_reads_as_str(text: str) -> bool:
    """Ask PyYAML's own resolver: YAML 1.1 reads more as numbers than Python does ('0_' is 0)."""
    import yaml

    resolver = yaml.resolver.Resolver()
    tag = resolver.resolve(yaml.nodes.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == "tag:yaml.org,2002:str")


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.startswith(("0x", "0o", ".")) or text in (".inf", ".nan")
    return True


def conda_parts(spec: str) -> dict[str, Any]:
    """name, version (conda's '=3.11' becomes '3.11.*'), build and channel of a match spec."""
    import rattler

    match = rattler.MatchSpec(spec)
    return {
        "name": match.name.normalized if match.name else spec,
        "version": str(match.version) if match.version else "*",
        "build": match.build,
        "channel": match.channel.name if match.channel else None,
    }


def pip_parts(spec: str) -> dict[str, Any]:
    """name, version specifier, extras and URL of a PEP 508 requirement."""
    from packaging.requirements import Requirement

    req = Requirement(spec)
    if req.marker is not None:
        raise TemplateError(
            f"pixi.toml cannot express the environment marker of {spec!r}",
            key="pip",
            fix="drop the marker, or leave pixi.toml out of 'outputs'",
        )
    return {
        "name": req.name,
        "version": str(req.specifier) or "*",
        "extras": sorted(req.extras),
        "url": req.url,
    }


def docker_str(value: object) -> str:
    """A Dockerfile double-quoted word (ENV, LABEL): ``$`` escaped, so nothing expands."""
    return double_quoted(str(value)).replace("$", "\\$")


def shell_quote(value: object) -> str:
    """One POSIX shell word, for values inside a Dockerfile's RUN line."""
    import shlex

    return shlex.quote(str(value))


def docker_platform(platforms: list[str]) -> dict[str, str]:
    """The profile's first platform that images are built for (a Linux one), as the conda
    subdir and Docker's name for it."""
    from .targets import PLATFORMS

    for platform in platforms:
        docker = PLATFORMS[platform].docker if platform in PLATFORMS else None
        if docker is not None:
            return {"conda": platform, "docker": docker}
    raise TemplateError(
        f"a container image needs a Linux platform; the profile targets {', '.join(platforms)}",
        key="platforms",
        fix="add linux-64 (or linux-aarch64) to 'platforms', or leave Dockerfile out of 'outputs'",
    )


def image_lock(platforms: Sequence[str]) -> str:
    """The lock the Dockerfile copies: the hashed pip lock of the image's platform."""
    from .formats import pip_lock_name

    return pip_lock_name(docker_platform(list(platforms))["conda"])


def docker_pip_source(source: str) -> str:
    """The Dockerfile installs the hashed pip lock; conda-forge's torch has other needs."""
    if source != "pip":
        raise TemplateError(
            "the Dockerfile output installs the hashed pip lock; 'source: conda' profiles "
            "are not supported yet",
            key="source",
            fix="use source: pip for the container profile, or leave Dockerfile out of 'outputs'",
        )
    return source


def docker_pip_only(env: dict[str, Any]) -> dict[str, Any]:
    """A container gets the hashed pip lock and nothing else, so a profile that needs conda is
    refused rather than built without what it asked for."""
    docker_pip_source(env["source"])
    from .specs import conda_spec_name

    dropped = [s for s in env["conda"] if conda_spec_name(s) not in ("python", "pip")]
    if dropped:
        raise TemplateError(
            "the Dockerfile installs the hashed pip lock only, so the profile's conda packages "
            f"({', '.join(dropped)}) would be missing from the image",
            key="conda",
            fix="install them from a project template (templates/Dockerfile.j2, e.g. with "
            "apt-get), list their pip equivalents under 'pip', or leave Dockerfile out of "
            "'outputs'",
        )
    return env


def docker_context(env_dir: str | None) -> str:
    """The output directory inside the build context (the project root): the Dockerfile copies
    its lock from there, and the build check reads the project's profiles."""
    if env_dir is None:
        raise TemplateError(
            "a Dockerfile (or devcontainer.json) must be written inside the project: its build "
            "context is the project root, where its lock and the profiles are",
            key="--output",
            fix="choose an output directory inside the project, or leave Dockerfile and "
            "devcontainer.json out (-f requirements.txt …)",
        )
    return env_dir


def up_to_root(env_dir: str | None) -> str:
    """The project root as seen from the output directory ('../..' from envs/NAME)."""
    depth = len([part for part in docker_context(env_dir).split("/") if part not in ("", ".")])
    return "/".join([".."] * depth) or "."


def docker_arg(value: object) -> str:
    """An ARG default: one word (URLs hold no space or quote), ``$`` escaped so nothing
    expands."""
    text = str(value)
    if any(c.isspace() or c in "\\\"'" for c in text):
        raise TemplateError(
            f"{text!r} cannot be a Dockerfile ARG default (a space, quote or backslash)",
            fix="use a URL without spaces or quotes",
        )
    return text.replace("$", "\\$")


FILTERS = {
    "yaml_str": yaml_str,
    "toml_str": toml_str,
    "conda_parts": conda_parts,
    "pip_parts": pip_parts,
    "docker_str": docker_str,
    "shell_quote": shell_quote,
    "docker_platform": docker_platform,
    "image_lock": image_lock,
    "docker_pip_source": docker_pip_source,
    "docker_pip_only": docker_pip_only,
    "docker_context": docker_context,
    "docker_arg": docker_arg,
    "up_to_root": up_to_root,
}
