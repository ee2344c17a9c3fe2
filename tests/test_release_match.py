"""A profile's ``pytorch.version`` of plain release numbers is matched without packaging, and
exactly as packaging's ``==X.Y.Z`` / ``==X.Y.*`` would match it (the fast path in pick)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envgen import pick
from envgen.catalog import plain_release

RELEASE = st.lists(st.integers(0, 12), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)


@settings(max_examples=400, deadline=None)
@given(wanted=RELEASE, have=RELEASE)
def test_the_fast_match_is_packagings_match(wanted: str, have: str) -> None:
    spec = SpecifierSet(f"=={wanted}.*" if wanted.count(".") == 1 else f"=={wanted}")
    plain = plain_release(wanted)
    assert plain is not None
    fast = pick._release_matches(plain, wanted.count(".") == 1, have)
    assert fast == spec.contains(Version(have), prereleases=True), (wanted, have)


def test_only_ascii_digit_releases_take_the_fast_path() -> None:
    assert plain_release("2.4.1") == (2, 4, 1)
    for other in (">=2.3", "2.4.*", "2.4.1rc1", "2.4.1+cpu", "２.4", "", "2..4"):
        assert plain_release(other) is None, other
