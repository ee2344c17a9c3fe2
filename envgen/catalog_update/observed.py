"""One fact as a source showed it, and how it was read (for the summary a maintainer reviews)."""

from __future__ import annotations

from typing import Any, NamedTuple


class Observed(NamedTuple):
    value: Any
    how: str  # a key of wheel_metadata.HOW, or "page" for an index page's file list
