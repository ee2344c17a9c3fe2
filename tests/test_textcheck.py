"""textcheck's fast path (printable text is safe) against the per-character rule it skips."""

from __future__ import annotations

import sys
import unicodedata

from envgen.textcheck import escape_unsafe, unsafe_char, why_unsafe


def _breaks_a_line(char: str) -> bool:
    """The rule itself: a line separator to str.splitlines, or a control character."""
    return char.splitlines() == [""] or unicodedata.category(char) == "Cc"


def test_every_code_point_is_judged_by_the_rule() -> None:
    wrong = [
        f"U+{point:04X}"
        for point in range(sys.maxunicode + 1)
        if (unsafe_char(chr(point)) is not None) != _breaks_a_line(chr(point))
    ]
    assert wrong == []


def test_separators_inside_printable_text_are_found() -> None:
    for separator in ("\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\x00"):
        text = f"numpy{separator}--index-url https://evil.example"
        assert not text.isprintable()
        found = unsafe_char(text)
        assert found is not None and f"U+{ord(separator):04X}" in found
        assert why_unsafe(text) is not None
        assert separator not in escape_unsafe(text)


def test_unusual_but_harmless_text_stays_safe() -> None:
    # Not printable to Python (a no-break space, a soft hyphen, a zero-width joiner), yet none
    # of them breaks a line: the slow path must still say they are safe.
    for text in ("torch\u00a02.4", "soft\u00adhyphen", "zero\u200dwidth", "plain text", ""):
        assert unsafe_char(text) is None
        assert escape_unsafe(text) == text
