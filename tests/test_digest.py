"""Digests put together from parts serialised once are the digests of the whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from envgen.digest import digests, inputs_digest, part_texts, parts_line


@pytest.mark.parametrize(
    "parts",
    [
        {"profiles": [{"name": "a", "values": {"pip": ["x>=1"], "z": 1, "é": "ü"}}], "format": 1},
        {"template": "{{ x }}\n", "output": "environment.yml", "catalog": {"b": [1, 2.5, None]}},
        {"Zeta": Path("/p"), "alpha": True, "_": {}, "ß": "\u2028", "10": [], "9": "nine"},
        {},
    ],
)
def test_digests_from_part_texts_equal_the_whole(parts: dict[str, object]) -> None:
    assert digests(part_texts(parts)) == (inputs_digest(parts), parts_line(parts))
