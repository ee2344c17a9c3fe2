"""textcheck's fast path (printable text is safe) against the per-character rule it skips."""

from __future__ import annotations

import sys
import unicodedata

from envgen.textcheck import escape_unsafe, unsafe_char, why_unsafe

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _breaks_a_line(char: str) -> bool:
    """The rule itself: a line separator to str.splitlines, a control character, or an explicit
    bidirectional embedding, override or isolate (Trojan Source)."""
    return char.splitlines() == [""] or unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS


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


def test_bidirectional_controls_are_refused_and_escaped() -> None:
    """Trojan Source: a right-to-left override makes a line show other text than it holds."""
    for control in BIDI_CONTROLS:
        assert unicodedata.category(control) == "Cf"  # a format character: breaks no line
        text = f"numpy # {control}lave"
        why = why_unsafe(text)
        assert why is not None and f"U+{ord(control):04X}" in why and "other text" in why
        assert control not in escape_unsafe(text)


def test_unusual_but_harmless_text_stays_safe() -> None:
    # Not printable to Python (a no-break space, a soft hyphen, a zero-width joiner, a
    # right-to-left mark), yet none of them breaks or reorders a line: the slow path must
    # still say they are safe.
    harmless = ("torch\u00a02.4", "soft\u00adhyphen", "zero\u200dwidth", "rtl\u200fmark")
    for text in (*harmless, "plain text", ""):
        assert unsafe_char(text) is None
        assert escape_unsafe(text) == text
