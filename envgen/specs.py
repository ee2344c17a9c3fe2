"""Validation of the package specs a profile lists, before any of them reaches a generated file.

Specs are copied into requirements.txt and environment.yml line by line, so a spec that smuggles
a newline, a comment or a pip option in would silently change what gets installed. We accept
exactly what pip (PEP 508) and conda (match specs) accept, minus anything that could inject.
"""

from __future__ import annotations

import re
from functools import cache

from .textcheck import why_unsafe

# Characters a conda match spec can use; everything else (quotes, '#', '$', ';', '&', '{', '`' …)
# is either meaningless to conda or an injection vector for YAML and shells. Patterns are kept
# as text and compiled by re on first use (and cached there): compiling them at import cost
# start-up time for every profile, most of which list no conda packages (start-up time).
_CONDA_ALLOWED = r"^[A-Za-z0-9_.*+!<>=,|~:\[\] -]+$"
_CONDA_NAME = r"^(?:([A-Za-z0-9_.-]+)::)?([a-z0-9_][a-z0-9_.-]*)(.*)$"
_CONDA_VERSION = r"^(?:[<>=!~]{0,2}[A-Za-z0-9_.*+!]+)(?:\s*[,|]\s*[<>=!~]{0,2}[A-Za-z0-9_.*+!]+)*$"
_CONDA_BUILD = r"^[A-Za-z0-9_.*+-]+$"
_CONDA_BRACKET = r"\[([A-Za-z_]+=[A-Za-z0-9_.*+<>=!,|-]+)(?:,\s*[A-Za-z_]+=[^\],]+)*\]$"
# The common shape of a pip requirement (``tqdm``, ``numpy>=1.26,<3``, ``foo[bar]==1.0.*``),
# accepted without importing packaging (tens of ms before uv can start). A strict subset of
# PEP 508: anything else (markers, URLs, pre-releases, ``~=``) goes to packaging's parser.
# tests/test_specs_fast_path.py checks that packaging accepts whatever this accepts, and names
# it the same.
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_CLAUSE = r"(?:==|!=|<=|>=|<|>) *[0-9]+(?:\.[0-9]+)*(?:\.\*)?"
_PLAIN_PIP = (
    rf"({_NAME})(?: *\[ *{_NAME}(?: *, *{_NAME})* *\])?"
    rf"(?: *{_CLAUSE}(?: *, *{_CLAUSE})*)?"
)


def check_pip_requirement(spec: str) -> str | None:
    """Return None if ``spec`` is a safe PEP 508 requirement, else why it is not."""
    bad = why_unsafe(spec)
    if bad:
        return bad
    stripped = spec.strip()
    if not stripped:
        return "it is empty"
    if stripped.startswith("-"):
        return (
            "pip options are not allowed here (envgen writes the index options itself from "
            "the accelerator and mirrors)"
        )
    if "#" in stripped:
        return "'#' would start a comment in requirements.txt"
    if "$" in stripped:
        return (
            "'$' is not allowed: pip and uv expand ${VAR} in requirement files, which could "
            "send an environment variable to a server"
        )
    if _plain(stripped):
        return None
    from packaging.requirements import InvalidRequirement, Requirement  # only with pip lists

    try:
        Requirement(stripped)
    except InvalidRequirement as exc:
        meant = pip_suggestion(stripped)
        if meant is not None:  # conda's one '=' where pip needs two
            return f"pip pins a version with '==' — did you mean '{meant}'?"
        first = str(exc).splitlines()[0]
        return f"it is not a PEP 508 requirement ({first})"
    return None


def pip_suggestion(spec: str) -> str | None:
    """What a conda-style pin meant in pip's words: 'numpy=1.26' -> 'numpy==1.26'."""
    found = re.fullmatch(rf"\s*({_NAME})\s*=\s*([0-9][0-9A-Za-z.*+!-]*)\s*", spec)
    if found is None:
        return None
    fixed = f"{found.group(1)}=={found.group(2)}"
    return fixed if check_pip_requirement(fixed) is None else None


# Kept per spec: merging a profile chain and resolving it ask for the same names again and
# again (a 300-long chain asked 135,000 times for 300 names).
@cache
def pip_requirement_name(spec: str) -> str:
    """Canonical project name of a requirement already accepted by check_pip_requirement."""
    plain = _plain(spec.strip())
    if plain:
        return canonical_name(plain)
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(Requirement(spec.strip()).name))


def canonical_name(name: str) -> str:
    """A project name as PEP 503 compares it (packaging's canonicalize_name, without importing
    packaging)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _plain(spec: str) -> str | None:
    """The name of a requirement in the common shape (see _PLAIN_PIP), else None.

    ``.*`` is only meaningful after ``==``/``!=``; any other use goes to packaging.
    """
    match = re.fullmatch(_PLAIN_PIP, spec)
    if match is None or re.search(r"(?:<=|>=|<|>) *[0-9.]+\.\*", spec):
        return None
    return match.group(1)


def check_conda_spec(spec: str) -> str | None:
    """Return None if ``spec`` is a conda match spec we can copy safely, else why it is not."""
    bad = why_unsafe(spec)
    if bad:
        return bad
    stripped = spec.strip()
    if not stripped:
        return "it is empty"
    if stripped.startswith("-"):
        return "it starts with '-', which YAML or a shell would read as something else"
    if not re.match(_CONDA_ALLOWED, stripped):
        odd = sorted({c for c in stripped if not re.match(_CONDA_ALLOWED, c)})
        return f"it contains characters a conda match spec cannot ({' '.join(map(repr, odd))})"
    body = stripped
    bracket = re.search(r"\[.*\]$", body)
    if bracket:
        if not re.match(_CONDA_BRACKET, bracket.group(0)):
            return "its [key=value] part is malformed"
        body = body[: bracket.start()]
    match = re.match(_CONDA_NAME, body)
    if not match:
        return "it does not start with a lowercase conda package name"
    rest = match.group(3).strip()
    if not rest:
        return None
    if rest.startswith("=") and not rest.startswith("=="):
        # name=version[=build]: the classic conda form
        parts = rest[1:].split("=")
        if len(parts) > 2 or not parts[0]:
            return "expected name=version or name=version=build"
        version, build = parts[0], (parts[1] if len(parts) == 2 else None)
    else:
        pieces = rest.split()
        if len(pieces) > 2:
            return "expected 'name version build' with at most one space-separated build"
        version, build = pieces[0], (pieces[1] if len(pieces) == 2 else None)
    if not re.match(_CONDA_VERSION, version):
        return f"'{version}' is not a conda version constraint"
    if build is not None and not re.match(_CONDA_BUILD, build):
        return f"'{build}' is not a conda build string"
    return None


@cache
def conda_spec_name(spec: str) -> str:
    """Package name of a conda spec already accepted by check_conda_spec."""
    match = re.match(_CONDA_NAME, spec.strip())
    assert match is not None
    return match.group(2)
