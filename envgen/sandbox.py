"""The Jinja environment every template renders in: a sandbox holding envgen's filters only.

Templates are data: a project's own arrive in pull requests, and ``envgen check`` renders them
in CI. They may read the context they are given and call the filters envgen provides, nothing
else. Jinja's immutable sandbox refuses private and internal attributes (the way from
``cycler`` to ``os.popen``) and every method that changes a value; the globals that are not
plain data helpers are gone; and the operators that could build a value of unbounded size in
one step are capped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import TemplateError
from .filters import FILTERS

if TYPE_CHECKING:
    import jinja2

TEMPLATE_SUFFIX = ".j2"
# Jinja's own filters that only read and reshape data; join, replace and indent are wrapped so
# that a template cannot choose the size of their result. Left out: those that build text or
# lists of a size a template chooses (center, wordwrap, format, batch, slice), reach attributes
# by name (attr), or are not deterministic data (random, pprint).
JINJA_FILTERS = (
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "filesizeformat",
    "first",
    "float",
    "forceescape",
    "groupby",
    "int",
    "items",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "sort",
    "string",
    "striptags",
    "sum",
    "title",
    "tojson",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
    "xmlattr",
)
JINJA_GLOBALS = ("range", "dict", "namespace")  # range is the sandbox's, capped at 100,000
MAX_ITEMS = 1_000_000  # characters or items one operator or filter may add
MAX_BITS = 100_000  # size of an integer one '**' may build
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def _refuse(operator: str, left: Any, right: Any) -> str | None:
    """Why ``left OPERATOR right`` is not computed in a template, or None."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if sized and len(seq) * times > MAX_ITEMS:
                return f"'*' would build more than {MAX_ITEMS:,} items"
    elif operator == "**":
        ints = isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
        if ints and abs(left).bit_length() * right > MAX_BITS:
            return "'**' would build an integer too large to write"
    elif operator == "%" and isinstance(left, str):
        return "'%' string formatting is not available in templates (use '~' to join text)"
    return None


def _bounded_filters() -> dict[str, Callable[..., Any]]:
    """join, replace and indent, refusing a result that grows past ``MAX_ITEMS`` from the
    arguments alone (a long separator, replacement or indent width)."""
    from jinja2 import pass_eval_context
    from jinja2.exceptions import SecurityError
    from jinja2.filters import FILTERS as DEFAULT_FILTERS

    def check(added: int, what: str) -> None:
        if added > MAX_ITEMS:
            raise SecurityError(f"{what} would add more than {MAX_ITEMS:,} characters")

    @pass_eval_context
    def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        items = list(value)
        check(len(str(d)) * max(len(items) - 1, 0), "join")
        return DEFAULT_FILTERS["join"](eval_ctx, items, d, attribute)

    @pass_eval_context
    def replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> Any:
        found = str(s).count(str(old)) if str(old) else len(str(s)) + 1
        check(found * len(str(new)), "replace")
        return DEFAULT_FILTERS["replace"](eval_ctx, s, old, new, count)

    def indent(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> Any:
        lines = str(s).count("\n") + 1
        check(lines * (width if isinstance(width, int) else len(str(width))), "indent")
        return DEFAULT_FILTERS["indent"](s, width, first, blank)

    return {"join": join, "replace": replace, "indent": indent}


def _sandbox_class() -> type[jinja2.Environment]:
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "%"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            why = _refuse(operator, left, right)
            if why is not None:
                raise SecurityError(why)
            return super().call_binop(context, operator, left, right)

    return Sandbox


class TemplateFiles:
    """Template files by name: the project's directory first, then the built-ins.

    Each file is read once, bounded, as a regular file that lies inside its directory (links
    followed): a committed link cannot make a template of a file elsewhere on the machine.
    """

    def __init__(self, directories: Sequence[Path]) -> None:
        self.directories = list(directories)
        self._read: dict[str, tuple[str, str]] = {}

    def source(self, name: str) -> tuple[str, str] | None:
        """(text, path) of template file ``name``, None when no directory has it."""
        if name in self._read:
            return self._read[name]
        if not _NAME.fullmatch(name):  # '../x', '/etc/x': never a template of ours
            return None
        from .readfile import read_text

        for directory in self.directories:
            path = directory / name
            text = read_text(
                path, what="template", missing_ok=True, inside=directory, error=TemplateError
            )
            if text is not None:
                self._read[name] = (text, str(path))
                return self._read[name]
        return None


def environment(
    files: TemplateFiles, bytecode_cache: jinja2.BytecodeCache | None
) -> jinja2.Environment:
    """The strict, sandboxed environment templates render in."""
    import jinja2
    from jinja2.filters import FILTERS as DEFAULT_FILTERS

    def load(name: str) -> tuple[str, str, Callable[[], bool]] | None:
        found = files.source(name)
        return None if found is None else (found[0], found[1], lambda: True)

    env = _sandbox_class()(
        loader=jinja2.FunctionLoader(load),
        # compiled templates are cached by name and source: a second run skips compilation
        bytecode_cache=bytecode_cache,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # we write YAML and text, never HTML
    )
    env.filters = {
        **{name: DEFAULT_FILTERS[name] for name in JINJA_FILTERS},
        **_bounded_filters(),
        **FILTERS,
    }
    env.globals = {name: env.globals[name] for name in JINJA_GLOBALS}
    return env
