"""The pip-requirement fast path (specs._PLAIN_PIP) accepts only what packaging accepts.

It exists so that a profile's plain pip list (``tqdm``, ``numpy>=1.26``) is validated without
importing packaging's parser; it must never let through what PEP 508 refuses, nor name a
requirement differently from packaging.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envgen import specs

PIECES = st.lists(
    st.sampled_from(
        [
            *("a", "Z", "0", "9", "-", "_", ".", "[", "]", ",", " ", "==", "!=", "<=", ">="),
            *("<", ">", "~=", ".*", "1", "2.0", ";", "@", "rc1", "*", "+", "=", "!", "===", "  "),
        ]
    ),
    max_size=14,
).map("".join)


def _agrees(text: str) -> None:
    name = specs._plain(text)
    if name is None:
        return
    parsed = Requirement(text)  # raises if the fast path accepted something PEP 508 refuses
    assert parsed.name == name
    assert specs.pip_requirement_name(text) == canonicalize_name(parsed.name)
    assert specs.check_pip_requirement(text) is None


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.from_regex(specs._PLAIN_PIP, fullmatch=True))
def test_whatever_the_pattern_matches_packaging_accepts(text: str) -> None:
    _agrees(text)


@settings(max_examples=300, deadline=None)
@given(PIECES)
def test_near_misses_are_left_to_packaging(text: str) -> None:
    _agrees(text)


def test_common_shapes_take_the_fast_path_and_the_rest_do_not() -> None:
    for plain in ("tqdm", "numpy>=1.26,<3", "foo[bar]==1.0.*", "Foo_Bar.baz >= 2"):
        assert specs._plain(plain) is not None, plain
    for other in ("x<=1.*", "a~=1.2", 'b; python_version<"3"', "c @ https://x/y.whl", "d==1rc1"):
        assert specs._plain(other) is None, other
    assert specs.check_pip_requirement("x<=1.*") is not None  # packaging still refuses it
    assert specs.pip_requirement_name("Foo_Bar.baz >= 2") == "foo-bar-baz"
