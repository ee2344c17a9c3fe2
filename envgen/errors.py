"""One error family for everything a user can fix; the CLI edge turns it into a message and exit 2.

Anything that is not an ``EnvgenError`` is a bug in envgen and is allowed to show a traceback
(only with ``--debug``), which is why user-facing failures must never escape as other types.
"""

from __future__ import annotations

from typing import ClassVar

from .textcheck import escape_unsafe


class EnvgenError(Exception):
    """A problem the user can fix: where it is, what is wrong, and how to fix it.

    A plain exception class, not a dataclass: every command imports this module.
    """

    # Only a tool's own output may span lines; a user's value never does (it is escaped).
    keeps_lines: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        file: str | None = None,
        key: str | None = None,
        line: int | None = None,
        fix: str | None = None,
        *,
        exit_code: int = 2,
    ) -> None:
        self.message = message
        self.file = file
        self.key = key
        self.line = line
        self.fix = fix
        self.exit_code = exit_code
        super().__init__(self.render())

    def __repr__(self) -> str:
        fields = ("message", "file", "key", "line", "fix", "exit_code")
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in fields)
        return f"{type(self).__name__}({shown})"

    def render(self) -> str:
        """Format as one paragraph, so a CI log or a terminal shows the whole story at once."""
        where = []
        if self.file:
            where.append(escape_unsafe(self.file) + (f", line {self.line}" if self.line else ""))
        if self.key:
            where.append(f"key '{escape_unsafe(self.key)}'")
        message = escape_unsafe(self.message, keep="\n" if self.keeps_lines else "")
        text = (": ".join(where) + ": " if where else "") + _sentence(message)
        if self.fix:
            text += " Fix: " + _sentence(escape_unsafe(self.fix))
        return text

    def __str__(self) -> str:
        return self.render()


def _sentence(text: str) -> str:
    """End with one full stop, unless the text already ends a sentence ("did you mean 'x'?")."""
    text = text.rstrip().rstrip(".")
    return text if text.endswith(("?", "!")) else text + "."


class ProfileError(EnvgenError):
    """A profile file is malformed, unknown, or says something impossible."""


class CatalogError(EnvgenError):
    """The catalog has no release that satisfies a profile."""


class TemplateError(EnvgenError):
    """A (possibly user-supplied) template failed to render."""


class OutputError(EnvgenError):
    """Writing generated files would lose somebody's work."""


class ToolError(EnvgenError):
    """An external tool (uv, pip, conda, a solver) failed or is missing."""

    keeps_lines: ClassVar[bool] = True  # the last lines of the tool's output
