"""Reading uv's answers: its annotated requirements (``# via``, ``# from``), its pylock.toml's
artifacts, and the error it gives when an index cannot be reached.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from ..errors import ToolError
from ..specs import canonical_name as canonical

PROJECT = "envgen-lock"  # name of the generated project; uv's "# via" names it
# Should uv wrap its message after all (see ``uv_environ``), a URL starts on the next line.
_FETCH = re.compile(r"Failed to fetch:\s+`?([^\s`]+?)`?$", re.MULTILINE)
# Failures a retry cannot heal (a name that does not resolve will not in a second), in uv's
# words, and ours; anything else in reaching an index gets uv's own retries.
_LASTING = (
    ("dns error", "its host name does not resolve"),
    ("failed to lookup address", "its host name does not resolve"),
    ("connection refused", "connection refused"),
    ("network is unreachable", "network unreachable"),
    ("401 unauthorized", "HTTP 401 Unauthorized: the index wants credentials"),
    ("403 forbidden", "HTTP 403 Forbidden"),
)


class UnreachableIndex(ToolError):
    """uv could not reach an index at all; ``url`` (credentials removed) is the page it asked
    for. Said in one line by ``envgen lock``, which knows the mirrors and the public URLs."""

    def __init__(self, url: str, reason: str, where: str) -> None:
        from ..mirrors import redact

        self.url = redact(url)
        self.reason = reason
        super().__init__(
            f"cannot reach {self.url} ({reason}) to lock {where}; nothing was locked",
            fix="check the index URL (or its mirror: --mirror FROM=TO) and the network",
        )


def network_failure(output: str) -> tuple[str, str, bool] | None:
    """(URL, why, lasting) when uv failed to fetch an index page, else None. ``lasting``: a
    retry will not help (see ``_LASTING``). Only uv's error counts, not its warnings before it
    (a Python download that failed on the way)."""
    start = next(
        (i for i, line in enumerate(output.splitlines()) if line.startswith("error:")), None
    )
    if start is None:
        return None
    text = "\n".join(output.splitlines()[start:])
    found = _FETCH.search(text)
    if found is None:
        return None
    rest = text[found.end() :]
    lower = rest.lower()
    for needle, why in _LASTING:
        if needle in lower:
            return found.group(1), why, True
    causes = [line.strip()[len("cause: ") :] for line in rest.splitlines() if "cause: " in line]
    return found.group(1), (causes[-1] if causes else "the request failed"), False


class Annotated(NamedTuple):
    version: str
    origin: str  # the index uv found it on (its "# from")
    via: tuple[str, ...]


def parse_annotated(text: str) -> dict[tuple[str, str], Annotated]:
    """uv's requirements output with ``# via`` and ``# from`` annotations, by (canonical name,
    version): a universal resolution may hold one name at several versions (``torch==2.4.1`` for
    macOS, ``torch==2.4.1+cpu`` elsewhere), each behind its marker."""
    found: dict[tuple[str, str], Annotated] = {}
    name = version = index = ""
    via: list[str] = []
    in_via = False

    def flush() -> None:
        if name:
            found[canonical(name), version] = Annotated(version, index, tuple(via))

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if not raw.startswith((" ", "#")) and "==" in line:
            flush()
            name, _, version = line.split(" ")[0].partition("==")
            index, via, in_via = "", [], False
        elif line.startswith("# from "):
            index, in_via = line[len("# from ") :].strip(), False
        elif line == "# via":
            in_via = True
        elif line.startswith("# via "):
            via, in_via = [line[len("# via ") :]], False
        elif in_via and line.startswith("#   "):
            via.append(line[4:].strip())
    flush()
    return {
        k: Annotated(v.version, v.origin, tuple(via_of(x) for x in v.via)) for k, v in found.items()
    }


def via_of(text: str) -> str:
    return "" if text.startswith(PROJECT) else canonical(text)


class Candidate(NamedTuple):
    """One package of uv's pylock.toml: a platform's own, or (universal) behind its marker."""

    name: str
    version: str
    marker: str
    files: tuple[tuple[str, str], ...]  # (url, sha256) of every artifact listed


Artifacts = Mapping[str, tuple[str, list[tuple[str, str]]]]  # name -> (version, [(url, sha256)])


def read_candidates(pylock: Mapping[str, Any]) -> list[Candidate]:
    found = []
    for package in pylock.get("packages", []):
        files = [*package.get("wheels", [])]
        if "sdist" in package:
            files.append(package["sdist"])
        pairs = tuple(
            (f["url"], f["hashes"]["sha256"]) for f in files if "sha256" in f.get("hashes", {})
        )
        name = canonical(package["name"])
        found.append(Candidate(name, str(package["version"]), package.get("marker", ""), pairs))
    return found


class UvResult(NamedTuple):
    """What one uv resolution gave: its packages and their ``# via``/``# from`` annotations."""

    candidates: list[Candidate]
    notes: Mapping[tuple[str, str], Annotated]
    seconds: float


def file_name(url: str) -> str:
    from urllib.parse import unquote

    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def best_artifact(urls: Sequence[tuple[str, str]], python_minor: str) -> tuple[str, str]:
    """The artifact a lock that holds one (conda-lock's) should name: a wheel before an sdist,
    a platform wheel before a pure one, a CPython-specific one before ``py3``; then by name."""
    cp = "cp" + python_minor.replace(".", "")

    def rank(pair: tuple[str, str]) -> tuple[int, int, int, str]:
        name = pair[0].rsplit("/", 1)[-1]
        if not name.endswith(".whl"):
            return (1, 0, 0, name)
        parts = name[:-4].split("-")
        return (0, int(parts[-1] == "any"), 0 if parts[-3].startswith(cp) else 1, name)

    return min(urls, key=rank)
