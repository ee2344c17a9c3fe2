"""Versions and torch requirements as the indexes write them, parsed with a bound on their size.

A server decides these strings. packaging refuses a number of more than 4,300 digits with a
ValueError of its own, and a long one would be written into the catalog, so anything longer than a
release could be is refused here, and the reader names the URL it came from.
"""

from __future__ import annotations

from email.parser import HeaderParser
from typing import NamedTuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

MAX_LENGTH = 64  # '2.7.1+cu128', '3.6.0+git1a2b3c4d': real ones are under 30 characters


class OddVersion(ValueError):
    """A version no release has: too long to be one."""


def checked(text: str) -> Version:
    """``Version(text)``; InvalidVersion as usual, OddVersion for one longer than MAX_LENGTH."""
    if len(text) > MAX_LENGTH:
        raise OddVersion(f"a version of {len(text)} characters")
    return Version(text)


def valid(text: str) -> Version | None:
    """The version, or None for one that is not PEP 440; OddVersion for an absurd one."""
    try:
        return checked(text)
    except OddVersion:
        raise
    except InvalidVersion:
        return None


class TorchRequirement(NamedTuple):
    """What a companion's METADATA says about torch: an exact pin, or only a range."""

    exact: str | None  # '2.7.1' for torch==2.7.1 (its public version)
    spec: str  # the specifier as written: '==2.7.1', '>=2.11', '' for a bare 'torch'


def torch_requirement(metadata: str) -> TorchRequirement | None:
    """The unconditional torch requirement in a METADATA text; None when it names no torch.

    Requirements with a marker are left out: they hold only on some platforms.
    """
    for line in HeaderParser().parsestr(metadata).get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.name.lower() != "torch" or requirement.marker is not None:
            continue
        specs = list(requirement.specifier)
        spec = str(requirement.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
            return TorchRequirement(checked(specs[0].version).public, spec)
        if any(len(item.version) > MAX_LENGTH for item in specs):
            raise OddVersion("a torch requirement with an absurdly long version")
        return TorchRequirement(None, spec)
    return None
