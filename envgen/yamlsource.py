"""Load YAML into plain Python values while remembering the line of every key.

Error messages must point at a line in the user's file; PyYAML only keeps marks on nodes, so we
compose the node tree ourselves and record ``key path -> line`` on the way down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ProfileError


@dataclass(frozen=True)
class YamlDocument:
    """Parsed data plus the 1-based line where each dotted key path was written."""

    path: Path
    data: Any
    lines: dict[str, int] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)

    def line_of(self, key: str) -> int | None:
        """The line of ``key`` or of its nearest written parent (list items have no key line)."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rpartition(".")[0] if "." in key else ""
        return None


def load_yaml(path: Path, *, display: str | None = None) -> YamlDocument:
    """Read one YAML document; malformed files raise ProfileError with file and line."""
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read the file ({exc.strerror})", file=shown) from None
    except UnicodeDecodeError:
        raise ProfileError(
            "the file is not UTF-8 text", file=shown, fix="save it as UTF-8"
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise ProfileError(
            f"malformed YAML: {problem}",
            file=shown,
            line=(mark.line + 1) if mark else None,
            fix="correct the YAML syntax at that line (indentation, a missing ':' or quote)",
        ) from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"malformed YAML: {exc}", file=shown) from None
    builder = _Builder(shown)
    data = builder.build(node, "") if node is not None else None
    return YamlDocument(path=path, data=data, lines=builder.lines, raw=builder.raw)


class _Builder:
    """Turns a node tree into Python values, keeping each key's line and each number's text.

    The text matters because ``python: 3.10`` is the float 3.1 to YAML but "3.10" to the user.
    """

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.lines: dict[str, int] = {}
        self.raw: dict[str, str] = {}
        self._loader = yaml.SafeLoader("")

    def build(self, node: yaml.Node, prefix: str) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, prefix)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                path = f"{prefix}[{index}]"
                self.lines[path] = item.start_mark.line + 1
                items.append(self.build(item, path))
            return items
        value = self._loader.construct_object(node)
        if not isinstance(value, str) and isinstance(node, yaml.ScalarNode):
            self.raw[prefix] = node.value
        return value

    def _mapping(self, node: yaml.MappingNode, prefix: str) -> dict[str, Any]:
        shown = self.shown
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._loader.construct_object(key_node)
            if not isinstance(key, str):
                raise ProfileError(
                    f"keys must be strings, found {key!r}",
                    file=shown,
                    line=key_node.start_mark.line + 1,
                    key=prefix or None,
                    fix="quote the key",
                )
            path = f"{prefix}.{key}" if prefix else key
            if key in result:
                raise ProfileError(
                    "the key is written twice",
                    file=shown,
                    line=key_node.start_mark.line + 1,
                    key=path,
                    fix="keep one of them",
                )
            self.lines[path] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, path)
        return result
