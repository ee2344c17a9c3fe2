"""A wheel's METADATA read over HTTP the way pip and uv read it: PEP 658, else range requests into
the zip, else (ranges refused) the whole wheel within a bound. Real zips, served on 127.0.0.1."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest

from envgen.catalog_update.fetch import Client
from envgen.catalog_update.wheel_metadata import Unreadable, read_metadata
from tests.fixtures.catalog_indexes import CatalogServer, serving, wheel_bytes

NAME = "demo-1.0-py3-none-any.whl"
METADATA = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: torch==2.7.1\n\n"


@pytest.fixture
def server() -> Iterator[CatalogServer]:
    with serving(CatalogServer()) as served:
        yield served


def _read(server: CatalogServer, data: bytes, name: str = NAME) -> tuple[str, str, int]:
    server.files[f"/files/{name}"] = data
    client = Client(timeout=5, retries=0)
    found = read_metadata(client, f"{server.url}/files/{name}", name=name)
    return found.text, found.how, client.requests


def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_small_wheel_takes_one_range_request(server: CatalogServer) -> None:
    assert _read(server, wheel_bytes(NAME, METADATA)) == (METADATA, "range", 1)
    assert server.ranges_asked == [(f"/files/{NAME}", "bytes=-65536")]


def test_a_large_directory_ending_in_dist_info_takes_two(server: CatalogServer) -> None:
    """torch's central directory is 2 MiB; its dist-info entries come last, within the tail."""
    data = wheel_bytes(NAME, METADATA, filler=3000)
    assert len(data) > 4 * 65536
    assert _read(server, data) == (METADATA, "range", 2)


def test_dist_info_first_in_a_large_directory_reads_the_directory(server: CatalogServer) -> None:
    members = [("demo-1.0.dist-info/METADATA", METADATA.encode())]
    members += [(f"demo/m{i:05d}.py", b"x = 1\n" * 50) for i in range(3000)]
    text, how, requests = _read(server, _zip(members))
    assert (text, how) == (METADATA, "range") and requests == 3


def test_a_stored_member_and_a_zip64_archive_read_the_same(
    server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = _zip([("demo-1.0.dist-info/METADATA", METADATA.encode())], zipfile.ZIP_STORED)
    assert _read(server, stored)[:2] == (METADATA, "range")
    # zipfile writes zip64 records for anything over ZIP64_LIMIT: a small limit makes a small
    # archive carry them, as a wheel over 4 GiB would
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 64)
    big = wheel_bytes(NAME, METADATA, filler=50)
    assert b"PK\x06\x06" in big[-200:]
    assert _read(server, big)[:2] == (METADATA, "range")


def test_a_server_refusing_ranges_gets_a_bounded_download(
    server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.ranges = False
    data = wheel_bytes(NAME, METADATA, filler=200)
    assert _read(server, data) == (METADATA, "download", 1)
    monkeypatch.setattr("envgen.catalog_update.wheel_metadata.DOWNLOAD_LIMIT", len(data) - 1)
    with pytest.raises(Unreadable, match=r"ignores range requests and is \d+ bytes, over the"):
        _read(server, data)


def test_pep_658_first_and_the_wheel_when_it_is_missing(server: CatalogServer) -> None:
    server.wheels[f"/files/{NAME}"] = METADATA
    client = Client(timeout=5, retries=0)
    url = f"{server.url}/files/{NAME}"
    assert read_metadata(client, url, url + ".metadata").how == "pep658"
    server.serve_metadata = False  # advertised but not there, as some mirrors do
    assert read_metadata(client, url, url + ".metadata", name=NAME).how == "range"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"not a zip at all" * 10, "not a zip"),
        (_zip([("demo/__init__.py", b"")]), "has no \\*.dist-info/METADATA"),
    ],
)
def test_what_is_no_wheel_is_unreadable(server: CatalogServer, data: bytes, why: str) -> None:
    with pytest.raises(Unreadable, match=why):
        _read(server, data)
    with pytest.raises(Unreadable, match="answered 404"):
        read_metadata(Client(timeout=5, retries=0), f"{server.url}/files/none.whl")
