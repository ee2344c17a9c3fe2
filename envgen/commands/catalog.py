"""``envgen catalog update``: refresh the PyTorch catalog from the indexes, for review."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import click

from ..errors import EnvgenError
from ._common import mirror_option, parse_mirrors


def in_source_checkout() -> bool:
    """Whether envgen runs from a source checkout, where its catalog is a reviewed file."""
    from ..paths import PACKAGE_DIR

    return (PACKAGE_DIR.parent / "pyproject.toml").is_file()


def source_date(stamp: str | None) -> str:
    """The day an update stamps on its sources.

    Reproducible runs (tests, a release pipeline) pin it with ``--date`` or the reproducible-builds
    convention ``SOURCE_DATE_EPOCH``, so that the same inputs write the same catalog on any day.
    """
    import os

    if stamp is not None:
        try:
            return datetime.date.fromisoformat(stamp).isoformat()
        except ValueError:
            raise EnvgenError(
                f"--date {stamp!r} is not a date",
                key="--date",
                fix="write it like --date 2026-12-02",
            ) from None
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit() or len(epoch) > 12:
            raise EnvgenError(
                "SOURCE_DATE_EPOCH is not a number of seconds since 1970",
                key="SOURCE_DATE_EPOCH",
                fix="set it to an integer such as 1764633600, or unset it",
            )
        moment = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
        return moment.date().isoformat()
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


@click.group("catalog")
def command() -> None:
    """Maintain the PyTorch catalog (the facts profiles resolve against)."""


@command.command("update")
@click.option("--since", metavar="VERSION", help="Only read and update releases from VERSION on.")
@click.option("--dry-run", is_flag=True, help="Print the change summary; write nothing.")
@click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A whole catalog file to update (default: the project's [tool.envgen] catalog overlay, "
    "which gets only what differs from the built-in catalog, else the built-in catalog).",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME",
    help="Also read a variant the catalog does not know yet (e.g. cu134); repeatable.",
)
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(["pytorch-index", "pypi", "conda-forge"]),
    help="Read only this source (repeatable); the facts of the others are kept as recorded and "
    "listed under 'Not read'. E.g. --only pypi where PyPI is all the network reaches.",
)
@click.option("--no-conda", is_flag=True, help="Skip conda-forge's repodata.")
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    help="Seconds a request may take in all (connecting, waiting, reading), retries apart.",
)
@click.option(
    "--date",
    "stamp",
    metavar="YYYY-MM-DD",
    help="The date written into the sources this update adds (default: SOURCE_DATE_EPOCH's "
    "day when set, else today in UTC).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@mirror_option
def update(
    since: str | None,
    dry_run: bool,
    catalog_path: Path | None,
    variants: tuple[str, ...],
    only: tuple[str, ...],
    no_conda: bool,
    timeout: float,
    stamp: str | None,
    as_json: bool,
    mirror_values: tuple[str, ...],
) -> int:
    """Read PyTorch's index, PyPI and conda-forge, and rewrite the catalog with what they say."""
    from packaging.version import InvalidVersion, Version

    from ..catalog_update.update import CONDA, SOURCES, UpdateOptions, update_catalog
    from ..config import load_config
    from ..paths import CATALOG_FILE
    from ..targets import Variant

    config = load_config()
    try:
        since_version = Version(since) if since else None
    except InvalidVersion:
        raise EnvgenError(
            f"--since {since!r} is not a version", key="--since", fix="write it like --since 2.12"
        ) from None
    for name in variants:
        try:
            Variant.parse(name)
        except ValueError as exc:
            raise EnvgenError(
                str(exc), key="--variant", fix="name it as the index does: cu134, rocm7.2, xpu"
            ) from None
    # --catalog names a whole catalog (a maintainer's checkout); the project's overlay holds only
    # what differs from the built-in one, so the update writes just that difference into it.
    target = catalog_path or config.catalog or CATALOG_FILE
    base = CATALOG_FILE if catalog_path is None and config.catalog is not None else None
    if target == CATALOG_FILE and not dry_run and not in_source_checkout():
        raise EnvgenError(
            f"{CATALOG_FILE} belongs to an installed envgen; an update there would be lost on "
            "the next upgrade and is not reviewed",
            key="tool.envgen.catalog",
            fix='add catalog = "catalog/pytorch.yaml" under [tool.envgen] in pyproject.toml '
            "(the update then writes that overlay), or pass --catalog FILE",
        )
    if not 0 < timeout <= 3600:
        raise EnvgenError(
            f"--timeout {timeout:g} is not a number of seconds from 0 to 3600",
            key="--timeout",
            fix="write it like --timeout 30",
        )
    chosen = frozenset(only or SOURCES) - ({CONDA} if no_conda else set())
    if not chosen:
        raise EnvgenError(
            "--only conda-forge with --no-conda leaves nothing to read",
            key="--no-conda",
            fix="drop one of the two",
        )
    options = UpdateOptions(
        today=source_date(stamp),
        since=since_version,
        dry_run=dry_run,
        extra_variants=variants,
        mirrors={**config.mirrors, **parse_mirrors(mirror_values)},
        timeout=timeout,
        sources=chosen,
    )
    result = update_catalog(options, target, base)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "catalog": str(result.path),
                    "written": result.written,
                    "changes": result.summary.has_changes,
                    "summary": result.summary.render(),
                    "seconds": round(result.seconds, 3),
                    "requests": result.requests,
                },
                indent=2,
            )
        )
        return 0
    click.echo(result.summary.render(), nl=False)
    click.echo(f"\n{result.requests} requests in {result.seconds:.1f} s", err=True)
    if result.written:
        click.echo(f"\nwrote {result.path}", err=True)
    elif dry_run and result.summary.has_changes:
        click.echo(f"\n--dry-run: {result.path} was not changed", err=True)
    return 0
