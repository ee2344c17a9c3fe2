"""``envgen lock``: hashed pip locks and ``conda-lock.yml`` for one or more profiles."""

from __future__ import annotations

import json

import click

from ..lock import ENGINES, Engine, LockOptions, LockResult, lock_profile
from ..project import Project
from ._common import (
    all_option,
    mirror_option,
    output_option,
    parse_mirrors,
    profiles_argument,
    select_profiles,
)


def _report(project: Project, result: LockResult) -> None:
    if result.unchanged:
        click.echo(
            f"{result.profile}: locks are up to date (inputs unchanged); nothing to do. "
            "Use --upgrade to re-resolve."
        )
        return
    for locked in result.files:
        click.echo(f"{locked.action:9} {project.display(locked.path)}")
    click.echo(
        f"{result.profile}: locked {', '.join(result.platforms)} in "
        f"{result.timings.get('total', 0.0):.1f} s"
        + (f" (conda engine: {result.engine})" if result.engine else "")
    )


@click.command("lock")
@profiles_argument
@all_option
@output_option
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="auto",
    show_default=True,
    help="conda side: conda-lock (needs conda/mamba/micromamba) or rattler (embedded).",
)
@click.option("--upgrade", is_flag=True, help="Re-resolve even when the inputs are unchanged.")
@mirror_option
@click.option("--no-conda", is_flag=True, help="Lock only the pip side (no conda-lock.yml).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.option("--force", is_flag=True, help="Overwrite lock files that were edited by hand.")
@click.option(
    "--pylock",
    is_flag=True,
    help="Also write pylock.toml (PEP 751, read by uv and pip); kept current once written.",
)
def command(
    names: tuple[str, ...],
    all_: bool,
    output: str | None,
    engine: Engine,
    upgrade: bool,
    mirror_values: tuple[str, ...],
    no_conda: bool,
    as_json: bool,
    force: bool,
    pylock: bool,
) -> int:
    """Lock PROFILE(s) for every platform they target, e.g. `envgen lock gpu-cu118`.

    Without PROFILE: every profile of this project (its profiles/).
    """
    mirrors = parse_mirrors(mirror_values)
    project = Project.open()
    selected = select_profiles(project, names, all_, "lock")
    many = len(selected) > 1
    results = []
    for name in selected:

        def progress(text: str, name: str = name) -> None:
            click.echo(f"{name}: {text}", err=True)

        options = LockOptions(
            engine=engine,
            upgrade=upgrade,
            conda=not no_conda,
            output_dir=project.output_dir(name, output, many),
            force=force,
            progress=progress,
            pylock=pylock or None,
        )
        result = lock_profile(project, project.resolve(name, mirrors), options)
        results.append(result)
        if not as_json:
            _report(project, result)
    if as_json:
        summary = [r.summary(project.display) for r in results]
        click.echo(json.dumps({"profiles": summary}, indent=2))
    return 0
