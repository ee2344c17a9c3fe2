"""Jinja filters: the one place where values are quoted or split for a file format.

Templates never build quotes by hand; ``yaml_str`` and ``toml_str`` make any string safe in
its file, and the ``*_parts`` filters split package specs for formats (pixi.toml) that want
a table rather than one string.
"""

from __future__ import annotations

from typing import Any

from .errors import TemplateError


def yaml_str(value: object) -> str:
    """A YAML scalar that reads back as exactly this string: plain when safe, else quoted."""
    text = str(value)
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


FILTERS = {
    "yaml_str": yaml_str,
    "toml_str": toml_str,
    "conda_parts": conda_parts,
    "pip_parts": pip_parts,
}
