"""Read one project page of a simple repository: PEP 691 JSON first, PEP 503 HTML as fallback.

Each file comes back with the URL of its PEP 658/714 metadata when the page advertises one;
where it does not (mirrors, proxies), ``wheel_metadata`` reads the METADATA out of the wheel.
Links are resolved against the page, so files may live under another path or host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from .errors import UpdateError
from .fetch import Client, Response, shown

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
# No file system holds a longer file name; a version longer than this is no release anyone made
# (and packaging turns 4,300 digits into an error of its own).
MAX_NAME = 255
MAX_VERSION = 64
ACCEPT = f"{JSON_TYPE}, text/html;q=0.1"


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    metadata_url: str | None  # PEP 658: the file's URL + ".metadata", when served


def read_project(client: Client, url: str) -> list[IndexFile]:
    """The files listed on the project page at ``url`` (ending in ``/``)."""
    answer = client.get(url, accept=ACCEPT)
    if answer.content_type == JSON_TYPE or answer.content_type.endswith("+json"):
        return _from_json(answer)
    return _from_html(answer)


def _malformed(answer: Response, why: str) -> UpdateError:
    return UpdateError(
        f"{shown(answer.url)} is not a valid simple-index page ({why})",
        fix="check that the URL (or its mirror) serves a PEP 691 or PEP 503 project page; "
        "the catalog was not changed",
    )


def _from_json(answer: Response) -> list[IndexFile]:
    try:
        data = json.loads(answer.body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _malformed(answer, f"its JSON does not parse: {exc!s:.100}") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise _malformed(answer, "no 'files' list in its JSON")
    files = []
    for entry in data["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            raise _malformed(answer, f"a file entry without a filename: {entry!r:.80}")
        href = entry.get("url")
        if not isinstance(href, str):
            raise _malformed(answer, f"{entry['filename']} has no url")
        meta: Any = entry.get("core-metadata", entry.get("dist-info-metadata", False))
        files.append(_file(answer, entry["filename"], href, bool(meta)))
    return files


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        values = dict(attrs)
        href = values.get("href")
        if not href:
            return
        meta = values.get("data-core-metadata", values.get("data-dist-info-metadata"))
        self.rows.append((href, meta is not None and meta != "false"))


def _from_html(answer: Response) -> list[IndexFile]:
    try:
        text = answer.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(answer, f"it is not UTF-8: {exc}") from None
    if "<" not in text:
        raise _malformed(answer, "it is neither JSON nor HTML")
    parser = _Anchors()
    parser.feed(text)
    parser.close()
    files = []
    for href, meta in parser.rows:
        filename = unquote(urlsplit(href).path.rsplit("/", 1)[-1])
        files.append(_file(answer, filename, href, meta))
    return files


def _file(answer: Response, filename: str, href: str, has_metadata: bool) -> IndexFile:
    why = odd_name(filename)
    if why is not None:
        raise _malformed(answer, why)
    url = urljoin(answer.url, href).split("#", 1)[0]
    return IndexFile(filename, url, url + ".metadata" if has_metadata else None)


def odd_name(filename: str) -> str | None:
    """Why a file name cannot be a distribution's, or None."""
    if len(filename) > MAX_NAME:
        return f"a file name of {len(filename)} characters"
    parts = filename.split("-")
    if len(parts) > 1 and len(parts[1]) > MAX_VERSION:
        return f"a version of {len(parts[1])} characters in {filename[:40]}…"
    return None
