"""Digests written into generated files: what went in (inputs) and what came out (content).

The inputs digest lets ``check`` and ``lock`` tell "stale" from "current" without re-solving;
the content digest lets ``render`` tell a file we wrote from one somebody edited by hand.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

CONTENT_PLACEHOLDER = "0" * 64
_CONTENT_LINE = re.compile(r"(envgen-content-sha256: )([0-9a-f]{64})")
_INPUTS_LINE = re.compile(r"envgen-inputs-sha256: ([0-9a-f]{64})")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def inputs_digest(parts: Mapping[str, Any]) -> str:
    """Digest of named inputs (profile layers as parsed data, catalog digest, template text)."""
    return sha256_text(canonical_json(parts))


def seal(text: str) -> str:
    """Replace the content placeholder by the digest of the text that holds the placeholder."""
    return text.replace(CONTENT_PLACEHOLDER, sha256_text(text), 1)


def read_seal(text: str) -> tuple[str | None, bool]:
    """(inputs digest, whether the content digest still matches) of a generated file's text."""
    inputs = _INPUTS_LINE.search(text)
    content = _CONTENT_LINE.search(text)
    if content is None:
        return (inputs.group(1) if inputs else None), False
    unsealed = text[: content.start(2)] + CONTENT_PLACEHOLDER + text[content.end(2) :]
    return (inputs.group(1) if inputs else None), sha256_text(unsealed) == content.group(2)


def is_generated(text: str) -> bool:
    return _CONTENT_LINE.search(text) is not None
