"""Load YAML into plain Python values while remembering the line of every key.

Error messages must point at a line in the user's file; PyYAML only keeps marks on nodes, so we
compose the node tree ourselves and record ``key path -> line`` on the way down.

Every YAML envgen reads is untrusted input, so loading is bounded: at most ``MAX_ALIASES``
aliases and ``MAX_NODES`` values after expansion (an alias bomb is refused in milliseconds, not
expanded for hours), only the plain YAML types (an explicit ``!tag`` is refused), and the ``<<``
merge key is supported for mappings.
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import yaml

from .errors import EnvgenError, ProfileError

MAX_ALIASES = 100  # per document: profiles use a few anchors at most; locks use none
MAX_NODES = 200_000  # values after alias expansion: far above the largest real lock file
# Lists and mappings inside each other: a profile needs 3, a lock 5. Composing and building
# recurse once per level, so a file nested thousands deep would exhaust the stack.
MAX_DEPTH = 64
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = frozenset(
    "tag:yaml.org,2002:" + t
    for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases while composing, so a bomb never gets to expand."""

    aliases = 0
    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise yaml.MarkedYAMLError(
                    problem=f"more than {MAX_ALIASES} aliases (*name): refused as a possible "
                    "alias bomb",
                    problem_mark=event.start_mark,
                )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise yaml.MarkedYAMLError(problem=_TOO_DEEP, problem_mark=event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_TOO_DEEP = f"lists and mappings are nested more than {MAX_DEPTH} levels deep"


def _compose(text: str) -> yaml.Node | None:
    """The node tree of ``text``, composed by libyaml when PyYAML has it, else in Python.

    libyaml composes a profile some twenty times faster (a millisecond of every command's
    start-up) and builds the same nodes with the same marks. It cannot count aliases
    while it composes, but composing never expands one, so they are counted afterwards. Text
    that libyaml refuses, that PyYAML's reader would refuse, or with too many aliases is
    composed again in Python: errors keep the words and lines they always had.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        try:
            node = _compose_with(fast, text)
        except yaml.YAMLError:
            pass
        else:
            if node is None or _aliases(node) <= MAX_ALIASES:
                return node
    return _compose_with(_BoundedLoader, text)


def _compose_with(loader_class: Any, text: str) -> yaml.Node | None:
    loader = loader_class(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def _aliases(root: yaml.Node) -> int:
    """How many aliases (``*name``) the document holds: each adds one more reference to a node
    composed already, so it is the references counted beyond the first one to each node."""
    seen = {id(root)}
    references = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        else:
            continue
        for child in children:
            references += 1
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return references - (len(seen) - 1)


def load_text(text: str, shown: str, what: str = "file") -> Any:
    """Parse YAML ``text`` (a lock, a marker, a data file) with the same bounds as profiles.

    Errors are EnvgenError naming ``shown``: a broken lock is the user's to fix, not a bug.
    """
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise EnvgenError(
            f"the {what} is not valid YAML: {exc.problem or exc.context or 'invalid YAML'}",
            file=shown,
            line=(mark.line + 1) if mark else None,
            fix=f"regenerate the {what} (or restore it from version control)",
        ) from None
    except yaml.YAMLError as exc:
        raise EnvgenError(
            f"the {what} is not valid YAML ({exc})", file=shown, fix=f"regenerate the {what}"
        ) from None
    if node is None:
        return None
    try:
        return _Builder(shown).build(node, "")
    except ProfileError as exc:
        raise EnvgenError(
            f"the {what} cannot be read: {exc.message}",
            file=shown,
            line=exc.line,
            fix=f"regenerate the {what} (or restore it from version control)",
        ) from None


class YamlDocument(NamedTuple):
    """Parsed data plus the 1-based line where each dotted key path was written."""

    path: Path
    data: Any
    lines: Mapping[str, int] = MappingProxyType({})
    raw: Mapping[str, str] = MappingProxyType({})

    def line_of(self, key: str) -> int | None:
        """The line of ``key`` or of its nearest written parent (list items have no key line)."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rpartition(".")[0] if "." in key else ""
        return None


def load_yaml(
    path: Path, *, display: str | None = None, inside: Path | None = None
) -> YamlDocument:
    """Read one YAML document; malformed files raise ProfileError with file and line."""
    from .readfile import read_text

    shown = display or str(path)
    text = read_text(path, shown=shown, what="profile", inside=inside, error=ProfileError)
    assert text is not None  # missing_ok is not set: a missing file raised
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise ProfileError(
            f"malformed YAML: {problem}",
            file=shown,
            line=(mark.line + 1) if mark else None,
            fix="flatten the value: a profile needs lists of strings and small mappings"
            if problem == _TOO_DEEP
            else "correct the YAML syntax at that line (indentation, a missing ':' or quote)",
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
        self._nodes = 0
        self._depth = 0

    def _fail(self, node: yaml.Node, problem: str, fix: str, key: str = "") -> ProfileError:
        return ProfileError(
            problem, file=self.shown, line=node.start_mark.line + 1, key=key or None, fix=fix
        )

    def build(self, node: yaml.Node, prefix: str) -> Any:
        self._depth += 1
        try:
            return self._build(node, prefix)
        finally:
            self._depth -= 1

    def _build(self, node: yaml.Node, prefix: str) -> Any:
        if self._depth > MAX_DEPTH:
            raise self._fail(node, _TOO_DEEP, "flatten the value", prefix)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise self._fail(
                node,
                f"the document expands to more than {MAX_NODES} values (an alias bomb?)",
                "write the values out instead of repeating aliases",
            )
        if node.tag not in _PLAIN_TAGS:
            raise self._fail(
                node,
                f"the YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not supported "
                "(only plain strings, numbers, true/false, lists and mappings are)",
                "remove the tag and quote the value as a string",
                prefix,
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, prefix)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                path = f"{prefix}[{index}]"
                self.lines[path] = item.start_mark.line + 1
                items.append(self.build(item, path))
            return items
        try:
            value = self._loader.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, AttributeError) as exc:
            raise self._fail(
                node,
                f"the value {node.value!r} is not a valid {node.tag.rsplit(':', 1)[-1]}"
                + (f" ({str(exc).splitlines()[0]})" if isinstance(exc, ValueError) else ""),
                "quote the value as a string",
                prefix,
            ) from None
        if not isinstance(value, str) and isinstance(node, yaml.ScalarNode):
            self.raw[prefix] = node.value
        return value

    def _mapping(self, node: yaml.MappingNode, prefix: str) -> dict[str, Any]:
        shown = self.shown
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged = {**self._merge_sources(value_node, prefix), **merged}
                continue
            key = self._key(key_node, prefix)
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
        return {**{k: v for k, v in merged.items() if k not in result}, **result}

    def _key(self, node: yaml.Node, prefix: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
            raise self._fail(node, f"keys must be strings, found {kind}", "quote the key", prefix)
        if node.tag not in _PLAIN_TAGS:
            raise self._fail(
                node, "a YAML tag on a key is not supported", "write the key plainly", prefix
            )
        try:
            return self._loader.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, AttributeError):
            return node.value

    def _merge_sources(self, node: yaml.Node, prefix: str) -> dict[str, Any]:
        """``<<: *anchor`` or ``<<: [*a, *b]``: the mappings merged in, the first one winning."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        if self._depth >= MAX_DEPTH:  # merges recurse too, one level per merged mapping
            raise self._fail(node, _TOO_DEEP, "merge fewer mappings into each other", prefix)
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                raise self._fail(
                    source,
                    "the merge key '<<' takes a mapping or a list of mappings",
                    "point '<<' at an anchored mapping (<<: *defaults)",
                    prefix,
                )
            self._depth += 1
            try:
                merged.update(self._mapping(source, prefix))
            finally:
                self._depth -= 1
        return merged
