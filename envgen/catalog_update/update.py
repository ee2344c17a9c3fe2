"""Run a catalog update: read the indexes, merge, check, write the file atomically or not at all."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version

from ..catalog import merge_overlay
from ..errors import CatalogError
from ..mirrors import Mirrors, channel_url
from ..paths import CATALOG_FILE
from ..targets import Variant
from .errors import Unreachable
from .fetch import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Client
from .merge import Readings, ReadSource, merge
from .summary import Summary
from .writer import dump_catalog, header_of

PYPI_BASE = "https://pypi.org"
# The sources an update reads (``--only`` picks some): each gives its own facts.
INDEX, PYPI, CONDA = "pytorch-index", "pypi", "conda-forge"
SOURCES = (INDEX, PYPI, CONDA)
_NOT_READ = {
    INDEX: "PyTorch's wheel index: each release's Pythons, variants and osx-64 wheels "
    "(and, without PyPI, its companions) are kept as recorded; no new releases are looked for",
    PYPI: "PyPI: each release's default Linux build (pypi_linux) is kept as recorded",
    CONDA: "conda-forge's repodata: the conda_forge section is kept as recorded",
}


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
    sources: frozenset[str] = frozenset(SOURCES)


@dataclass(frozen=True)
class UpdateResult:
    path: Path
    summary: Summary
    written: bool
    seconds: float
    requests: int


def _load(path: Path, what: str) -> tuple[str, dict[str, Any]]:
    """A catalog or overlay as text and data. Read through ``readfile`` (a FIFO or /dev/zero in
    its place is refused, not waited on), and a YAML error names the line, never quotes it:
    the overlay path is the project's setting, and its content is not ours to echo."""
    import yaml

    from ..readfile import LARGE, read_text

    fix = "restore the file from version control, or point --catalog at another file"
    text = read_text(path, what=what, limit=LARGE, error=CatalogError, fix=fix) or ""
    try:
        data = yaml.load(text, Loader=_LOADER) or {}  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CatalogError(
            f"the {what} is not valid YAML",
            file=str(path),
            line=None if mark is None else mark.line + 1,
            fix=fix,
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

    client = Client(options.timeout, options.retries)
    try:
        summary = _read_and_merge(data, options, client)
    finally:
        client.cancel()  # reads still in flight after a failure end at their next chunk
    requests = client.requests
    result = data if base_data is None else _difference(data, base_data, own)
    content = dump_catalog(result, header_of(text))
    write = summary.has_changes and not options.dry_run and content != text
    # the file is parsed back only when it is to be written (a dry run shows the summary)
    _check(
        content if write else None,
        result if base_data is None else merge_overlay(base_data, result),
        target,
    )
    written = False
    if write:
        from ..atomic import write_atomic

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


def _read_and_merge(data: dict[str, Any], options: UpdateOptions, client: Client) -> Summary:
    from .conda_forge import read_channel
    from .pypi_json import read_pypi
    from .pytorch_index import read_index

    mirrors = Mirrors.from_mapping(options.mirrors)
    index_base = str(data["index_base"]).rstrip("/")
    through = any(mirrors.url(u) != u for u in (index_base, PYPI_BASE, channel_url(CHANNEL)))
    sources = _sources(index_base, options.today, " (read through a mirror)" if through else "")
    releases = data.get("releases") or []
    since = options.since
    in_scope = [e for e in releases if since is None or Version(str(e["torch"])) >= since]
    index = None
    if INDEX in options.sources:
        # --since: only the variants of the releases it covers (the newest one's, for new ones)
        newest = max(releases, key=lambda e: Version(str(e["torch"])), default=None)
        scoped = in_scope or ([newest] if newest is not None else [])
        variants = {str(v) for entry in scoped for v in entry.get("variants", {})}
        variants |= set(options.extra_variants)
        known = {
            package: {
                str(e[package])
                for e in releases
                if e.get(package) and since is not None and Version(str(e["torch"])) < since
            }
            for package in ("torchvision", "torchaudio")
        }
        try:
            index = read_index(
                client,
                lambda variant, package: mirrors.url(f"{index_base}/{variant}/{package}/"),
                sorted(variants),
                since=since,
                known_companions=known,
                known_torch={str(e["torch"]) for e in releases},
            )
        except Unreachable as exc:
            raise Unreachable(
                exc.message,
                fix="point the index at a reachable mirror with --mirror FROM=TO or "
                "[tool.envgen.mirrors], or refresh only what a reachable source gives with "
                "--only pypi (the rest is kept as recorded and listed as not read); "
                "the catalog was not changed",
            ) from None
    pypi = None
    if PYPI in options.sources:
        versions = {str(e["torch"]) for e in in_scope}
        versions |= set(index.torch) if index is not None else set()
        pypi = read_pypi(
            client,
            lambda path: mirrors.url(PYPI_BASE + path),
            mirrors.url,
            versions,
            companions=None if index is not None else _companion_floors(releases, in_scope),
            list_torch=index is None,
        )
    conda = None
    if CONDA in options.sources:
        conda = read_channel(
            client,
            lambda subdir: mirrors.url(f"{channel_url(CHANNEL)}/{subdir}/repodata.json"),
            since=since,
        )
    not_read = tuple(_NOT_READ[s] + _why(options) for s in SOURCES if s not in options.sources)
    return merge(data, Readings(index, pypi, conda, not_read), sources, since)


def _companion_floors(
    releases: list[dict[str, Any]], in_scope: list[dict[str, Any]]
) -> dict[str, Version | None]:
    """Per companion, the oldest release a PyPI-only update reads: the oldest one recorded for
    the releases it covers, else the newest one recorded at all (releases after it may be new)."""
    floors: dict[str, Version | None] = {}
    for package in ("torchvision", "torchaudio"):
        scoped = [Version(str(e[package])) for e in in_scope if e.get(package)]
        every = [Version(str(e[package])) for e in releases if e.get(package)]
        floors[package] = min(scoped) if scoped else max(every, default=None)
    return floors


def _why(options: UpdateOptions) -> str:
    chosen = ", ".join(s for s in SOURCES if s in options.sources)
    return f" (--only {chosen})" if chosen else ""


def _sources(index_base: str, today: str, note: str) -> dict[str, ReadSource]:
    return {
        "index": ReadSource(
            f"pytorch-index-{today}",
            "PyTorch wheel index: torch/torchvision/torchaudio pages per variant (PEP 691/503) "
            "and the wheels' METADATA (PEP 658, or read from the wheel by HTTP range requests), "
            f"read by envgen catalog update{note}",
            index_base,
            today,
        ),
        "pypi": ReadSource(
            f"pypi-json-{today}",
            "PyPI JSON API and wheel METADATA (PEP 658, or read from the wheel by HTTP range "
            "requests): the Linux x86_64 torch wheel's CUDA runtime pin and the companions' "
            f"torch pins, read by envgen catalog update{note}",
            f"{PYPI_BASE}/pypi/torch/json",
            today,
        ),
        "conda": ReadSource(
            f"conda-forge-repodata-{today}",
            "conda-forge repodata.json of every catalog platform (pytorch, torchvision and "
            "torchaudio builds: cuda*/cpu* build strings, cuda-version, the pytorch each "
            f"companion depends on), read by envgen catalog update{note}",
            f"{channel_url(CHANNEL)}/<subdir>/repodata.json",
            today,
        ),
    }


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


def _check(content: str | None, data: Mapping[str, Any], target: Path) -> None:
    """Refuse to write a catalog envgen itself could not load: that would be a bug here."""
    import yaml

    from ..catalog import _build

    if content is not None and yaml.load(content, Loader=_LOADER) is None:  # noqa: S506
        raise AssertionError(f"the updated catalog for {target} is empty")
    _build(data, "")
