"""A wheel's METADATA without downloading the wheel, as pip and uv read it.

PEP 658 first, where the index advertises a ``.metadata`` file. Otherwise HTTP range requests
into the zip: its last 64 KiB (the end-of-central-directory record, and often the central
directory itself), the central directory if it starts earlier, then the one member
``*.dist-info/METADATA``, inflated here. Only where the server refuses ranges is the whole wheel
read, and only up to ``DOWNLOAD_LIMIT``. The public index, the proxy these machines use,
Artifactory and Nexus all serve ranges; few of them offer PEP 658 for every file.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from .errors import NotFound, RangeNotSatisfiable, TooLarge, UpdateError
from .fetch import METADATA_LIMIT, Client, shown, size_text

TAIL = 1 << 16
# A wheel read whole when its server refuses ranges: companions' wheels are a few MiB, torch's
# hundreds, which are then not observed rather than downloaded.
DOWNLOAD_LIMIT = 32 << 20
# torch's central directory (some 15,000 files) is about 2 MiB.
CENTRAL_LIMIT = 16 << 20
HOW = {
    "pep658": "PEP 658 .metadata file",
    "range": "METADATA read from the wheel by HTTP range requests",
    "download": "METADATA read from the whole wheel (the server refused range requests)",
    "json": "requires_dist of PyPI's JSON API",
}
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_MEMBER = re.compile(r"[^/]+\.dist-info/METADATA")


class Unreadable(Exception):
    """The file's METADATA cannot be read here (no ranges and too big, not a zip …): the fact it
    would give is listed as not observed, with this reason."""


@dataclass(frozen=True)
class Metadata:
    text: str
    how: str  # a key of HOW


@dataclass(frozen=True)
class _Member:
    name: str
    method: int
    flags: int
    crc: int
    compressed: int
    size: int
    offset: int  # of its local header


class _Window:
    """Bytes of the file known so far: ``data`` starts at ``start``; ``total`` is its size."""

    def __init__(self, data: bytes, start: int, total: int) -> None:
        self.data, self.start, self.total = data, start, total

    def has(self, first: int, end: int) -> bool:
        return self.start <= first and end <= self.start + len(self.data)

    def get(self, first: int, end: int) -> bytes:
        return self.data[first - self.start : end - self.start]


def read_metadata(
    client: Client, url: str, metadata_url: str | None = None, *, name: str = ""
) -> Metadata:
    """The METADATA of the wheel at ``url`` (``name``: its file name, to pick the member)."""
    if metadata_url is not None:
        try:
            body = client.get(metadata_url, limit=METADATA_LIMIT).body
            return Metadata(body.decode("utf-8", "replace"), "pep658")
        except NotFound:
            pass  # advertised but missing, as mirrors do: the wheel itself still has it
    return read_from_wheel(client, url, name)


def read_from_wheel(client: Client, url: str, name: str = "") -> Metadata:
    try:
        answer = client.get(url, byte_range=f"-{TAIL}", limit=DOWNLOAD_LIMIT)
    except NotFound:
        raise Unreadable(f"{shown(url)} answered 404") from None
    except RangeNotSatisfiable:
        answer = client.get(url, limit=DOWNLOAD_LIMIT)  # a file shorter than the range asked
    except TooLarge as exc:
        size = f" is {size_text(exc.size)}," if exc.size is not None else " is"
        raise Unreadable(
            f"{shown(url)} ignores range requests and{size} over the "
            f"{size_text(DOWNLOAD_LIMIT)} an update downloads"
        ) from None
    if answer.content_range is None:
        window = _Window(answer.body, 0, len(answer.body))
        how = "download"
    else:
        first, _, total = answer.content_range
        window = _Window(answer.body, first, total)
        how = "range"
    member = _find_member(client, url, window, name)
    end = member.offset + 30 + len(member.name.encode()) + member.compressed
    if not window.has(member.offset, end):
        # the local header's extra field may be longer than the central one: ask for some more
        last = min(end + 1024, window.total) - 1
        window = _fetch(client, url, member.offset, last)
    header = window.get(member.offset, member.offset + 30)
    if len(header) < 30 or header[:4] != _LOCAL:
        raise Unreadable(f"{shown(url)} is a damaged zip (no local header for METADATA)")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    local_name = window.get(member.offset + 30, member.offset + 30 + name_length)
    if local_name != member.name.encode("utf-8" if member.flags & 0x800 else "cp437"):
        raise Unreadable(f"{shown(url)} is a damaged zip (METADATA's headers disagree)")
    start = member.offset + 30 + name_length + extra_length
    if not window.has(start, start + member.compressed):
        window = _fetch(client, url, start, start + member.compressed - 1)
    data = window.get(start, start + member.compressed)
    return Metadata(_inflate(url, member, data), how)


def _fetch(client: Client, url: str, first: int, last: int) -> _Window:
    answer = client.get(url, byte_range=f"{first}-{last}", limit=CENTRAL_LIMIT)
    if answer.content_range is None or answer.content_range[0] != first:
        raise Unreadable(f"{shown(url)} did not answer the range {first}-{last} it was asked")
    return _Window(answer.body, first, answer.content_range[2])


def _find_member(client: Client, url: str, window: _Window, name: str) -> _Member:
    """The ``*.dist-info/METADATA`` entry of the central directory."""
    tail_start = window.start
    data = window.data
    at = data.rfind(_EOCD)
    while at >= 0 and not _ends_file(data, at):
        at = data.rfind(_EOCD, 0, at)
    if at < 0 or window.start + len(data) != window.total:
        raise Unreadable(f"{shown(url)} is not a zip (no end of central directory record)")
    count, size, offset = struct.unpack("<HII", data[at + 10 : at + 20])
    if 0xFFFF in (count,) or 0xFFFFFFFF in (size, offset):
        size, offset = _zip64_directory(url, window, tail_start + at)
    if offset + size > tail_start + at:
        raise Unreadable(f"{shown(url)} is a damaged zip (its central directory overlaps its end)")
    if offset >= tail_start:
        entries = _entries(window.get(offset, offset + size))
    else:
        # The dist-info files come last in a wheel: their entries are usually in the tail even
        # when the directory starts earlier (torch's is 2 MiB).
        entries = [m for m in _scan(window.get(tail_start, tail_start + at)) if _is_member(m)]
        if not entries:
            if size > CENTRAL_LIMIT:
                raise Unreadable(
                    f"{shown(url)} has a central directory of {size_text(size)}, over the "
                    f"{size_text(CENTRAL_LIMIT)} an update reads"
                )
            entries = _entries(_fetch(client, url, offset, offset + size - 1).data[:size])
    member = _choose(url, [m for m in entries if _is_member(m)], name)
    if member.offset + 30 + len(member.name.encode()) + member.compressed > offset:
        raise Unreadable(f"{shown(url)} is a damaged zip (METADATA runs into the directory)")
    return member


def _ends_file(data: bytes, at: int) -> bool:
    """Whether an end-of-directory signature at ``at`` is the record: its comment ends the file."""
    if at + 22 > len(data):
        return False
    comment: int = struct.unpack("<H", data[at + 20 : at + 22])[0]
    return at + 22 + comment == len(data)


def _zip64_directory(url: str, window: _Window, eocd: int) -> tuple[int, int]:
    locator = window.get(eocd - 20, eocd)
    if len(locator) < 20 or locator[:4] != _EOCD64_LOCATOR:
        raise Unreadable(f"{shown(url)} is a damaged zip64 (no locator)")
    (record_at,) = struct.unpack("<Q", locator[8:16])
    record = window.get(record_at, record_at + 56)
    if len(record) < 56 or record[:4] != _EOCD64:
        raise Unreadable(f"{shown(url)} is a zip64 whose directory record envgen cannot reach")
    size, offset = struct.unpack("<QQ", record[40:56])
    return size, offset


def _entries(directory: bytes) -> list[_Member]:
    found = []
    at = 0
    while at + 46 <= len(directory) and directory[at : at + 4] == _CENTRAL:
        member, at = _entry(directory, at)
        found.append(member)
    return found


def _scan(region: bytes) -> list[_Member]:
    """Central directory entries found by their signature in a region that may start mid-entry."""
    found = []
    at = region.find(_CENTRAL)
    while at >= 0:
        try:
            member, _ = _entry(region, at)
            found.append(member)
        except (struct.error, UnicodeDecodeError, ValueError):
            pass
        at = region.find(_CENTRAL, at + 4)
    return found


def _entry(directory: bytes, at: int) -> tuple[_Member, int]:
    fields = struct.unpack("<4s6H3I5H2I", directory[at : at + 46])
    flags, method, crc = fields[3], fields[4], fields[7]
    compressed, size = fields[8], fields[9]
    name_length, extra_length, comment_length = fields[10], fields[11], fields[12]
    offset = fields[16]
    start = at + 46
    raw_name = directory[start : start + name_length]
    extra = directory[start + name_length : start + name_length + extra_length]
    end = start + name_length + extra_length + comment_length
    if end > len(directory):
        raise ValueError("an entry runs past the directory")
    size, compressed, offset = _zip64_sizes(extra, size, compressed, offset)
    name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
    return _Member(name, method, flags, crc, compressed, size, offset), end


def _zip64_sizes(extra: bytes, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
    """Sizes and offset from the zip64 extra field, for those the entry marks as 0xFFFFFFFF."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack("<HH", extra[at : at + 4])
        body = extra[at + 4 : at + 4 + length]
        if kind == 1:
            values = [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
            if size == 0xFFFFFFFF and values:
                size = values.pop(0)
            if compressed == 0xFFFFFFFF and values:
                compressed = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
        at += 4 + length
    return size, compressed, offset


def _is_member(member: _Member) -> bool:
    return _MEMBER.fullmatch(member.name) is not None


def _choose(url: str, members: list[_Member], name: str) -> _Member:
    if not members:
        raise Unreadable(f"{shown(url)} has no *.dist-info/METADATA")
    if len(members) > 1 and name:
        prefix = "-".join(name.split("-")[:2]).lower() + ".dist-info/"
        members = [m for m in members if m.name.lower() == prefix + "metadata"] or members
    return members[-1]


def _inflate(url: str, member: _Member, data: bytes) -> str:
    if member.flags & 1:
        raise Unreadable(f"{shown(url)} has an encrypted METADATA")
    if member.size > METADATA_LIMIT or member.compressed > METADATA_LIMIT:
        raise TooLarge(
            f"the METADATA in {shown(url)} is {size_text(max(member.size, member.compressed))}, "
            f"over the {size_text(METADATA_LIMIT)} an update reads",
            member.size,
        )
    if member.method == 0:
        text = data
    elif member.method == 8:
        inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            text = inflate.decompress(data, METADATA_LIMIT + 1)
        except zlib.error as exc:
            raise Unreadable(f"{shown(url)} has a damaged METADATA ({exc})") from None
        if inflate.unconsumed_tail or len(text) > METADATA_LIMIT:
            raise TooLarge(
                f"the METADATA in {shown(url)} inflates to more than "
                f"{size_text(METADATA_LIMIT)}, the most an update reads",
                None,
            )
    else:
        raise Unreadable(f"{shown(url)} stores METADATA with zip method {member.method}")
    if zlib.crc32(text) != member.crc or len(text) != member.size:
        raise Unreadable(f"{shown(url)} has a damaged METADATA (its checksum does not match)")
    return text.decode("utf-8", "replace")


__all__ = ["HOW", "Metadata", "Unreadable", "UpdateError", "read_from_wheel", "read_metadata"]
