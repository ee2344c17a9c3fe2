"""Print the catalog's data as YAML, always the same way for the same data.

A hand-rolled printer rather than ``yaml.dump`` so the file keeps the reviewed layout: one
release per block, flow lists for Pythons and platforms, keys in a fixed order, the maintainers'
header comment kept. Strings are written as JSON strings (valid YAML) unless they are plain
words, so no value can add a line or change a type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..catalog import CONDA_KEYS, RELEASE_KEYS

_TOP = ("schema", "index_base", "sources", "releases", "conda_forge")
_RELEASE = RELEASE_KEYS  # one list: what the loader accepts is what the writer orders
_WORD = re.compile(r"[a-z][a-z0-9._-]*")
_YAML_SPECIAL = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _WORD.fullmatch(text) and text not in _YAML_SPECIAL:
        return text
    return json.dumps(text)


def _flow(values: Sequence[Any]) -> str:
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def _ordered(mapping: Mapping[str, Any], order: Sequence[str]) -> list[str]:
    return [k for k in order if k in mapping] + sorted(k for k in mapping if k not in order)


def header_of(text: str) -> str:
    """The leading comment block of an existing catalog file, kept across updates."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            lines.append(line)
        else:
            break
    return "\n".join(lines).rstrip() + "\n" if any(lines) else ""


def dump_catalog(data: Mapping[str, Any], header: str = "") -> str:
    out = [header.rstrip("\n")] if header else []
    for key in _ordered(data, _TOP):
        value = data[key]
        if isinstance(value, (list, dict)) and not value:
            out.append(f"{key}: {'[]' if isinstance(value, list) else '{}'}")
        elif key == "sources":
            out.append("sources:")
            for name in sorted(value):
                out.append(f"  {scalar(name)}:")
                for field in _ordered(value[name], ("title", "url", "read")):
                    out.append(f"    {field}: {scalar(value[name][field])}")
        elif key == "releases":
            out.append("releases:")
            for entry in value:
                out.extend(_release(entry))
        elif key == "conda_forge":
            out.append("conda_forge:")
            for version, facts in value.items():
                out.append(f"  {scalar(str(version))}:")
                for field in _ordered(facts, CONDA_KEYS):
                    item = facts[field]
                    if isinstance(item, Mapping):  # cuda_platforms: CUDA version -> subdirs
                        out.append(f"    {field}:")
                        out.extend(f"      {scalar(str(k))}: {_flow(v)}" for k, v in item.items())
                    else:
                        shown = _flow(item) if isinstance(item, list) else scalar(item)
                        out.append(f"    {field}: {shown}")
        else:
            out.append(f"{key}: {scalar(value)}")
    return "\n".join(out) + "\n"


def _release(entry: Mapping[str, Any]) -> list[str]:
    lines = []
    for index, key in enumerate(_ordered(entry, _RELEASE)):
        lead = "  - " if index == 0 else "    "
        value = entry[key]
        if key == "variants":
            lines.append(f"{lead}variants:")
            for name, platforms in value.items():
                lines.append(f"      {scalar(name)}: {_flow(platforms)}")
        elif isinstance(value, list):
            lines.append(f"{lead}{key}: {_flow(value)}")
        else:
            text = json.dumps(str(value)) if key == "torch" else scalar(value)
            lines.append(f"{lead}{key}: {text}")
    return lines
