"""Digests written into generated files: what went in (inputs) and what came out (content).

The inputs digest lets ``check`` and ``lock`` tell "stale" from "current" without re-solving;
the content digest lets ``render`` tell a file we wrote from one somebody edited by hand. Next to
the total, a file records one short digest per part (profile chain, catalog facts, template…),
so that a stale file can say which part changed. envgen's own version is never an input: an
upgrade that writes the same bytes must not make a committed file stale.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

CONTENT_PLACEHOLDER = "0" * 64
# Compiled by re on first use (and cached there), not at import: start-up time.
_CONTENT_LINE = r"(envgen-content-sha256: )([0-9a-f]{64})"
_INPUTS_LINE = r"envgen-inputs-sha256: ([0-9a-f]{64})"
_PARTS_LINE = r"envgen-inputs-parts: ([a-z0-9=_ -]*)"
_PART_LENGTH = 12
# Bumped only when the layout of generated files or locks changes, so that every one reads as
# stale exactly then (and not on every envgen release).
FORMAT = 1


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def inputs_digest(parts: Mapping[str, Any]) -> str:
    """Digest of named inputs (profile layers as parsed data, catalog digest, template text)."""
    return sha256_text(canonical_json(parts))


def part_digests(parts: Mapping[str, Any]) -> dict[str, str]:
    """A short digest per named part, for the ``envgen-inputs-parts`` line."""
    return {name: sha256_text(canonical_json(parts[name]))[:_PART_LENGTH] for name in sorted(parts)}


def parts_line(parts: Mapping[str, Any]) -> str:
    """``profiles=… catalog=… template=…``: what the header records next to the total."""
    return " ".join(f"{name}={digest}" for name, digest in part_digests(parts).items())


def part_texts(parts: Mapping[str, Any]) -> dict[str, str]:
    """Each part as canonical JSON, for ``digests``: a profile's parts serialised once serve all
    of its outputs (the profile chain is most of the text, and every output shares it)."""
    return {name: canonical_json(value) for name, value in parts.items()}


def digests(texts: Mapping[str, str]) -> tuple[str, str]:
    """``inputs_digest`` and ``parts_line`` of the parts whose ``part_texts`` are ``texts``:
    the same two values, from text serialised once. canonical_json of a mapping is its keys in
    order, each with its value's canonical JSON, so the whole is put together from the parts."""
    names = sorted(texts)
    whole = ",".join(f"{canonical_json(name)}:{texts[name]}" for name in names)
    line = " ".join(f"{name}={sha256_text(texts[name])[:_PART_LENGTH]}" for name in names)
    return sha256_text("{" + whole + "}"), line


def read_parts(text: str) -> dict[str, str]:
    """The per-part digests a generated file recorded (empty for a file from before them)."""
    found = re.search(_PARTS_LINE, text)
    if found is None:
        return {}
    pairs = (item.partition("=") for item in found.group(1).split())
    return {name: digest for name, _, digest in pairs if digest}


def changed_parts(recorded_text: str, parts: Mapping[str, Any]) -> list[str]:
    """Names of the parts that differ between a file on disk and the inputs of now, in order.

    Empty when the file records no parts (written before they existed): the caller then says
    only that the inputs changed.
    """
    recorded = read_parts(recorded_text)
    if not recorded:
        return []
    now = part_digests(parts)
    names = sorted(set(now) | set(recorded))
    return [name for name in names if now.get(name) != recorded.get(name)]


def seal(text: str) -> str:
    """Replace the content placeholder by the digest of the text that holds the placeholder."""
    return text.replace(CONTENT_PLACEHOLDER, sha256_text(text), 1)


def read_seal(text: str) -> tuple[str | None, bool]:
    """(inputs digest, whether the content digest still matches) of a generated file's text."""
    inputs = re.search(_INPUTS_LINE, text)
    content = re.search(_CONTENT_LINE, text)
    if content is None:
        return (inputs.group(1) if inputs else None), False
    unsealed = text[: content.start(2)] + CONTENT_PLACEHOLDER + text[content.end(2) :]
    return (inputs.group(1) if inputs else None), sha256_text(unsealed) == content.group(2)


def is_generated(text: str) -> bool:
    return re.search(_CONTENT_LINE, text) is not None
