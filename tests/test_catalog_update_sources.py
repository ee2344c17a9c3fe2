"""``envgen catalog update`` against index servers as they are found in practice (issue 21): the
public index, the proxy these machines reach (404 version JSON, no core-metadata, relative URLs),
an Artifactory-like layout (files under another path), servers refusing ranges; ``--only``,
``--since``, and facts that cannot be observed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from envgen.catalog_update.update import UpdateOptions, update_catalog
from envgen.paths import CATALOG_FILE
from tests.fixtures.catalog_indexes import FILES, CatalogServer, publish_catalog
from tests.helpers import run_cli

STAMP = "2026-11-25"


@pytest.fixture
def shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    target = tmp_path / "pytorch.yaml"
    target.write_bytes(CATALOG_FILE.read_bytes())
    return target


def _options(server: CatalogServer, **kw: Any) -> UpdateOptions:
    return UpdateOptions(today=STAMP, mirrors=server.mirrors(), timeout=5, retries=0, **kw)


@pytest.mark.parametrize("kind", ["public", "proxy", "artifactory"])
def test_every_server_shape_gives_the_facts_the_catalog_has(
    catalog_server: CatalogServer, shipped: dict[str, Any], catalog_copy: Path, kind: str
) -> None:
    catalog_server.behave_like(kind)
    publish_catalog(catalog_server, shipped)
    before = catalog_copy.read_bytes()

    result = update_catalog(_options(catalog_server), catalog_copy)

    summary = result.summary.render()
    assert not result.summary.has_changes and not result.written, summary
    assert catalog_copy.read_bytes() == before
    assert not result.summary.not_observed, summary
    # PEP 658 files where the index offers them; PyPI's JSON API offers none, so PyPI's facts
    # (and every one behind a server without PEP 658) come out of the wheels by range requests
    companions = (
        "torchvision 0.22.1, torchaudio 2.7.1 [658]; PyPI Linux build cu126 [range]"
        if kind == "public"
        else "torchvision 0.22.1, torchaudio 2.7.1, PyPI Linux build cu126 [range]"
    )
    assert f"- torch 2.7.1: Python, variants, osx-64 wheels no [page]; {companions}\n" in summary
    requests = catalog_server.requests
    wheels = [p for p in requests if p.endswith(".whl")]
    assert wheels and set(wheels) <= {p for p, _ in catalog_server.ranges_asked}
    version_json = [
        p for p in requests if p.startswith("/pypi/pypi/torch/") and p != "/pypi/pypi/torch/json"
    ]
    if kind == "proxy":
        # one release's endpoint answers 404, the project page serves every release after it
        assert len(version_json) == 1 and requests.count("/pypi/pypi/torch/json") == 1
        assert not any(p.endswith(".metadata") for p in requests)
    else:
        assert len(version_json) == len(shipped["releases"])
        assert "/pypi/pypi/torch/json" not in requests
    if kind == "artifactory":
        assert all(p.startswith(FILES) for p in wheels)
    assert result.requests == len(requests)


def test_only_pypi_confirms_what_pypi_shows_and_says_what_was_not_read(
    catalog_server: CatalogServer,
    shipped: dict[str, Any],
    catalog_copy: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    catalog_server.behave_like("proxy")
    publish_catalog(catalog_server, shipped)
    before = catalog_copy.read_bytes()
    result = run_cli(
        capsys,
        *["catalog", "update", "--only", "pypi", "--catalog", str(catalog_copy)],
        *["--date", STAMP, *catalog_server.mirror_args()],
    )
    assert result.code == 0, result.err
    assert (
        "- torch 2.7.1: Python on PyPI, osx-64 wheels no on PyPI [page]; torchvision 0.22.1, "
        "torchaudio 2.7.1, PyPI Linux build cu126 [range]" in result.out
    )
    assert "## Not read (kept as recorded)\n- PyTorch's wheel index: " in result.out
    assert "(--only pypi)" in result.out and "conda-forge's repodata" in result.out
    assert f"{len(catalog_server.requests)} requests in " in result.err
    assert not any(p.startswith(("/whl/", "/conda-forge/")) for p in catalog_server.requests)
    assert catalog_copy.read_bytes() == before


def test_a_fact_pypi_shows_otherwise_is_changed_with_its_source(
    catalog_server: CatalogServer, shipped: dict[str, Any], catalog_copy: Path
) -> None:
    catalog_server.behave_like("proxy")
    entry = next(e for e in shipped["releases"] if e["torch"] == "2.7.1")
    entry["pypi_linux"] = "cu128"  # what PyPI serves now
    publish_catalog(catalog_server, shipped)
    result = update_catalog(_options(catalog_server, sources=frozenset({"pypi"})), catalog_copy)
    assert result.summary.changed == ["torch 2.7.1: pypi_linux cu126 -> cu128 [range]"]
    written = yaml.safe_load(catalog_copy.read_text(encoding="utf-8"))
    again = next(e for e in written["releases"] if e["torch"] == "2.7.1")
    assert again["pypi_linux"] == "cu128" and again["sources"][-1] == f"pypi-json-{STAMP}"
    assert "range requests" in written["sources"][f"pypi-json-{STAMP}"]["title"]


def test_what_cannot_be_read_is_listed_with_the_reason(
    catalog_server: CatalogServer,
    shipped: dict[str, Any],
    catalog_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server refusing ranges for wheels over the download bound, and a release PyPI lacks:
    each fact is listed as not observed, with why; nothing is changed."""
    catalog_server.behave_like("proxy")
    catalog_server.ranges = False
    publish_catalog(catalog_server, shipped)
    del catalog_server.pypi["torch"]["2.10.0"]
    monkeypatch.setattr("envgen.catalog_update.wheel_metadata.DOWNLOAD_LIMIT", 100)
    before = catalog_copy.read_bytes()

    result = update_catalog(_options(catalog_server, sources=frozenset({"pypi"})), catalog_copy)

    missing = result.summary.not_observed
    assert "torch 2.10.0: PyPI Linux build cu128 (PyPI lists no such torch release)" in missing
    refused = [line for line in missing if "ignores range requests and is" in line]
    assert any(line.startswith("torch 2.7.1: PyPI Linux build cu126 (http://") for line in refused)
    assert any(line.startswith("torch 2.7.1: torchvision 0.22.1 (") for line in refused)
    assert "over the 100 bytes an update downloads" in refused[0]
    assert "## Not observed (could not be read; kept as recorded)" in result.summary.render()
    assert not result.summary.has_changes and catalog_copy.read_bytes() == before


def test_a_companion_with_only_a_lower_bound_pairs_with_no_release(
    catalog_server: CatalogServer, shipped: dict[str, Any], catalog_copy: Path
) -> None:
    """torchaudio 2.11.1 says ``torch>=2.11``: compatible with several releases, published with
    none of them by that metadata alone. The catalog records it by hand for 2.15.0 (uploaded
    the same day; unverified), which an update keeps and says why; a later release of the
    same kind is named in the notes and paired with nothing."""
    catalog_server.behave_like("proxy")
    publish_catalog(catalog_server, shipped)
    catalog_server.pypi["torchaudio"].pop("2.11.1")
    for version in ("2.11.1", "2.11.2"):
        metadata = f"Metadata-Version: 2.1\nName: torchaudio\nVersion: {version}\n"
        metadata += "Requires-Dist: torch>=2.11\n\n"
        name = f"torchaudio-{version}-py3-none-manylinux_2_28_x86_64.whl"
        catalog_server.add_pypi_file("torchaudio", version, name, metadata)
    before = catalog_copy.read_bytes()

    result = update_catalog(_options(catalog_server, sources=frozenset({"pypi"})), catalog_copy)

    assert not result.summary.has_changes and catalog_copy.read_bytes() == before
    assert (
        "torch 2.15.0: torchaudio 2.11.1 (its METADATA says torch>=2.11, not ==2.15.0)"
        in result.summary.kept
    )
    assert (
        "torchaudio 2.11.2 requires torch>=2.11 and pins no torch exactly: the update pairs it "
        "with no release" in "\n".join(result.summary.notes)
    )
    entry = next(e for e in shipped["releases"] if e["torch"] == "2.15.0")
    assert entry["torchaudio"] == "2.11.1" and entry["verified"] is False
    assert all(
        e["torchaudio"] is None
        for e in shipped["releases"]
        if e["torch"] in ("2.12.0", "2.12.1", "2.13.0", "2.14.0", "2.14.1")
    )


def test_since_reads_the_pages_of_the_releases_it_covers_only(
    catalog_server: CatalogServer, shipped: dict[str, Any], catalog_copy: Path
) -> None:
    publish_catalog(catalog_server, shipped)
    from packaging.version import Version

    update_catalog(_options(catalog_server, since=Version("2.15")), catalog_copy)

    pages = {p.split("/")[2] for p in catalog_server.requests if p.startswith("/whl/")}
    newest = next(e for e in shipped["releases"] if e["torch"] == "2.15.0")
    assert pages == set(newest["variants"])
    pypi = {p for p in catalog_server.requests if p.startswith("/pypi/pypi/")}
    assert pypi == {"/pypi/pypi/torch/2.15.0/json"}
