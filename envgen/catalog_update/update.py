"""Run a catalog update: read the indexes, merge, check, write the file atomically or not at all."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version

from ..catalog import Variant, merge_overlay
from ..errors import CatalogError
from ..mirrors import Mirrors, channel_url
from ..paths import CATALOG_FILE
from .fetch import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from .merge import ReadSource, Summary, merge
from .writer import dump_catalog, header_of

PYPI_BASE = "https://pypi.org"


def _safe_loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_LOADER = _safe_loader()
CHANNEL = "conda-forge"


@dataclass(frozen=True)
class UpdateOptions:
    today: str  # the date written into the sources an update adds (YYYY-MM-DD)
    since: Version | None = None
    dry_run: bool = False
    extra_variants: tuple[str, ...] = ()
    mirrors: Mapping[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    conda: bool = True


@dataclass(frozen=True)
class UpdateResult:
    path: Path
    summary: Summary
    written: bool
    seconds: float
    requests: int


def _load(path: Path, what: str) -> tuple[str, dict[str, Any]]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_LOADER) or {}  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(
            f"cannot read the {what} ({exc})",
            file=str(path),
            fix="restore the file from version control, or point --catalog at another file",
        ) from None
    if not isinstance(data, dict):
        raise CatalogError(f"the {what} is not a mapping", file=str(path), fix="restore the file")
    return text, data


def update_catalog(
    options: UpdateOptions, target: Path = CATALOG_FILE, base: Path | None = None
) -> UpdateResult:
    """Refresh ``target`` from the indexes.

    With ``base`` (the built-in catalog), ``target`` is an overlay: the update reads over both and
    writes into ``target`` only the releases and builds that differ from ``base``.
    """
    started = time.perf_counter()
    if target.exists() or base is None:
        text, own = _load(target, "catalog" if base is None else "catalog overlay")
    else:
        text, own = "", {}
    base_data = _load(base, "built-in catalog")[1] if base is not None else None
    # merge() edits entries in place: work on copies, so the difference to the built-in catalog
    # is taken against what it really says.
    if base_data is not None:
        data = merge_overlay(copy.deepcopy(base_data), copy.deepcopy(own))
    else:
        data = copy.deepcopy(own)
    for name in options.extra_variants:
        Variant.parse(name)

    summary, requests = _read_and_merge(data, options)
    result = data if base_data is None else _difference(data, base_data, own)
    content = dump_catalog(result, header_of(text))
    _check(content, result if base_data is None else merge_overlay(base_data, result), target)
    written = False
    if summary.has_changes and not options.dry_run and content != text:
        from ..output import write_atomic

        try:
            write_atomic(target, content)
        except OSError as exc:
            raise CatalogError(
                f"cannot write the catalog ({exc.strerror or exc}); it was left as it was",
                file=str(target),
                fix="make the file writable, or point --catalog at a file you can write",
            ) from None
        written = True
    return UpdateResult(target, summary, written, time.perf_counter() - started, requests)


def _read_and_merge(data: dict[str, Any], options: UpdateOptions) -> tuple[Summary, int]:
    from .conda_forge import SUBDIRS, read_channel
    from .pypi_json import read_default_builds
    from .pytorch_index import read_index

    mirrors = Mirrors.from_mapping(options.mirrors)
    index_base = str(data["index_base"]).rstrip("/")
    through = any(mirrors.url(u) != u for u in (index_base, PYPI_BASE, channel_url(CHANNEL)))
    note = " (read through a mirror)" if through else ""
    sources = {
        "index": ReadSource(
            f"pytorch-index-{options.today}",
            "PyTorch wheel index: torch/torchvision/torchaudio pages per variant (PEP 691/503) "
            f"and PEP 658 metadata, read by envgen catalog update{note}",
            index_base,
            options.today,
        ),
        "pypi": ReadSource(
            f"pypi-json-{options.today}",
            "PyPI JSON API and the Linux x86_64 torch wheel's metadata (Requires-Dist CUDA "
            f"runtime), read by envgen catalog update{note}",
            f"{PYPI_BASE}/pypi/torch/json",
            options.today,
        ),
        "conda": ReadSource(
            f"conda-forge-repodata-{options.today}",
            "conda-forge repodata.json of every catalog platform (pytorch, torchvision and "
            "torchaudio builds: cuda*/cpu* build strings, cuda-version, the pytorch each "
            f"companion depends on), read by envgen catalog update{note}",
            f"{channel_url(CHANNEL)}/<subdir>/repodata.json",
            options.today,
        ),
    }
    variants = {str(v) for entry in data.get("releases") or () for v in entry.get("variants", {})}
    variants |= set(options.extra_variants)
    since = options.since
    known = {
        package: {
            str(e[package])
            for e in data.get("releases") or ()
            if e.get(package) and since is not None and Version(str(e["torch"])) < since
        }
        for package in ("torchvision", "torchaudio")
    }
    reading = read_index(
        lambda variant, package: mirrors.url(f"{index_base}/{variant}/{package}/"),
        sorted(variants),
        since=since,
        known_companions=known,
        known_torch={str(e["torch"]) for e in data.get("releases") or ()},
        timeout=options.timeout,
        retries=options.retries,
    )
    pypi = read_default_builds(
        lambda version: mirrors.url(f"{PYPI_BASE}/pypi/torch/{version}/json"),
        mirrors.url,
        reading.torch,
        timeout=options.timeout,
        retries=options.retries,
    )
    conda = None
    if options.conda:
        conda = read_channel(
            lambda subdir: mirrors.url(f"{channel_url(CHANNEL)}/{subdir}/repodata.json"),
            since=since,
            timeout=options.timeout,
            retries=options.retries,
        )
    # pages, companion metadata, PyPI JSON (+ one metadata file per release PyPI has), repodata
    requests = 3 * len(variants) + reading.metadata_read + len(reading.torch) + len(pypi)
    requests += reading.triton_requests  # new releases' torch metadata, the pinned triton pages
    requests += len(SUBDIRS) if options.conda else 0
    return merge(data, reading, pypi, conda, sources, since), requests


def _difference(
    data: Mapping[str, Any], base: Mapping[str, Any], own: Mapping[str, Any]
) -> dict[str, Any]:
    """What an overlay must say so that the built-in catalog plus it equals ``data``."""
    built_in = {str(e["torch"]): e for e in base.get("releases") or ()}
    releases = [e for e in data["releases"] if built_in.get(str(e["torch"])) != e]
    base_conda = base.get("conda_forge") or {}
    conda = {v: f for v, f in (data.get("conda_forge") or {}).items() if base_conda.get(v) != f}
    needed = {s for e in releases for s in e.get("sources", ())}
    needed |= {s for f in conda.values() for s in f.get("sources", ())}
    base_sources = base.get("sources") or {}
    sources = {
        k: v
        for k, v in (data.get("sources") or {}).items()
        if k in needed and (base_sources.get(k) != v or k in (own.get("sources") or {}))
    }
    result: dict[str, Any] = {}
    if "schema" in own:
        result["schema"] = own["schema"]
    result["sources"] = sources
    result["releases"] = releases
    if conda:
        result["conda_forge"] = conda
    return result


def _check(content: str, data: Mapping[str, Any], target: Path) -> None:
    """Refuse to write a catalog envgen itself could not load: that would be a bug here."""
    import yaml

    from ..catalog import _build

    if yaml.load(content, Loader=_LOADER) is None:  # noqa: S506 - a safe loader
        raise AssertionError(f"the updated catalog for {target} is empty")
    _build(data, "")
