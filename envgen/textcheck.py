"""One question asked of every value that reaches a generated file: could it start a new line?

pip splits requirement files with ``str.splitlines``, which breaks on far more than ``\\n``
(``\\r``, ``\\v``, ``\\f``, ``\\x1c``-``\\x1e``, U+0085, U+2028, U+2029), and YAML and TOML readers
have their own lists. Refusing every separator Python knows, and every control character,
closes them all at once; profile loading, mirrors and rendering all ask here.
"""

from __future__ import annotations

_NAMES = {
    "\n": "a newline",
    "\r": "a carriage return",
    "\t": "a tab",
    "\v": "a vertical tab",
    "\f": "a form feed",
    "\x1c": "a file separator",
    "\x1d": "a group separator",
    "\x1e": "a record separator",
    "\x85": "a next-line character",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
}


# Explicit bidirectional embeddings, overrides and isolates: they start no line, but they
# reorder how a line is shown, so a committed file or a terminal could show a reviewer
# something other than what the line holds ("Trojan Source", CVE-2021-42574; the set rustc's
# lint refuses). The marks (U+200E, U+200F, U+061C) reorder nothing and stay allowed.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unsafe_char(text: str) -> str | None:
    """The first line separator, control character or bidirectional-text control in ``text``,
    described; else None."""
    # Every value of every render comes through here. Printable text (the usual case) holds
    # neither: the separators are control characters (Cc) or U+2028/U+2029 (Zl, Zp), none of
    # them printable; one C-speed test answers, instead of a Python loop over each character.
    if text.isprintable():
        return None
    import unicodedata  # only for text that is not all printable: start-up time

    for char in text:
        if char.splitlines() == [""] or unicodedata.category(char) == "Cc":
            return f"{_NAMES.get(char, 'a control character')} (U+{ord(char):04X})"
        if char in _BIDI:
            return f"a bidirectional-text control (U+{ord(char):04X})"
    return None


def why_unsafe(text: str) -> str | None:
    """A sentence for an error message when ``text`` could break its line, else None."""
    found = unsafe_char(text)
    if found is None:
        return None
    if found.startswith("a bidirectional"):
        return (
            f"it contains {found}, which could make a generated file show other text than it holds"
        )
    return f"it contains {found}, which could start a new line in a generated file"


def escape_unsafe(text: str, keep: str = "") -> str:
    """``text`` with every line separator and control character (but those in ``keep``) escaped,
    so a message that quotes a user's value stays one paragraph."""
    if unsafe_char(text) is None:
        return text
    return "".join(
        char
        if char in keep or unsafe_char(char) is None
        else char.encode("unicode_escape").decode()
        for char in text
    )
