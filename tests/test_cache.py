"""The per-user cache only ever holds derived copies: a damaged copy is rebuilt, never reported
as a damaged envgen (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envgen.cache import cache_dir
from envgen.catalog import load_catalog
from envgen.errors import CatalogError
from envgen.paths import CATALOG_FILE
from tests.helpers import run_cli


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ENVGEN_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "cache"))
    directory = cache_dir()
    assert directory is not None and directory.is_relative_to(tmp_path)
    return directory


def _render(capsys: pytest.CaptureFixture[str]) -> str:
    result = run_cli(capsys, "render", "cpu", "--stdout")
    assert result.code == 0, result.err
    return result.out


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"{}",
        b"null",
        b"[1]",
        b'{"releases": "x"}',
        b'{"releases": [{"torch": 1}]',
        b"\xff\xfe",
    ],
)
def test_damaged_catalog_copy_is_rebuilt(
    capsys: pytest.CaptureFixture[str], project_dir: Path, cache: Path, junk: bytes
) -> None:
    expected = _render(capsys)
    (copy,) = cache.glob("catalog-*.json")
    good = copy.read_bytes()
    copy.write_bytes(junk)
    assert _render(capsys) == expected
    assert json.loads(copy.read_bytes()) == json.loads(good), "the copy is rewritten"


@pytest.mark.parametrize("keep", [0, 20, 60, 200])
def test_damaged_template_cache_is_recompiled(
    capsys: pytest.CaptureFixture[str], project_dir: Path, cache: Path, keep: int
) -> None:
    expected = _render(capsys)
    entries = sorted(cache.glob("__jinja2_*"))
    assert entries, "compiled templates are cached"
    sizes = [p.stat().st_size for p in entries]
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:keep])
    assert _render(capsys) == expected
    assert [p.stat().st_size for p in entries] == sizes, "the entries are rewritten"


def test_a_damaged_catalog_file_is_still_reported(tmp_path: Path, cache: Path) -> None:
    """Only the cache heals itself; a broken catalog file is a packaging problem."""
    broken = tmp_path / "pytorch.yaml"
    broken.write_text(CATALOG_FILE.read_text().replace("releases:", "releasez:", 1))
    with pytest.raises(CatalogError, match="the catalog is damaged"):
        load_catalog(broken)
    broken.write_text("releases: [\n")
    with pytest.raises(CatalogError, match="the catalog is damaged"):
        load_catalog(broken)
    assert not list(cache.glob("catalog-*.json")), "a bad catalog is never cached"
