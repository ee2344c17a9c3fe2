"""``envgen check``: tell CI whether committed generated files are what render would write."""

from __future__ import annotations

from pathlib import Path

import click

from .. import output as out
from ..project import Project
from ._common import all_option, output_option, profiles_argument, select_profiles


@click.command("check")
@profiles_argument
@all_option
@output_option
@click.option("-q", "--quiet", is_flag=True, help="No diffs, only the summary.")
def command(names: tuple[str, ...], all_: bool, output: str | None, quiet: bool) -> int:
    """Exit 0 when every generated file is current, 1 (with a diff) when any is not.

    Without PROFILE or --all, checks every profile that has rendered files on disk. Lock files
    are checked too wherever a profile has been locked.
    """
    project = Project.open()
    if names or all_:
        selected = select_profiles(project, names, all_)
    else:
        selected = [
            n for n in project.registry.names() if project.output_dir(n, output, True).is_dir()
        ]
        if not selected:
            click.echo("nothing to check: no rendered profiles found (run 'envgen render NAME')")
            return 0
    many = len(selected) > 1 or not (names or all_)
    bad = 0
    edited = False
    for name in selected:
        resolved = project.resolve(name)
        directory = project.output_dir(name, output, many)
        for state in out.plan((directory / f.name, f) for f in project.render(resolved)):
            shown = project.display(state.path)
            if state.state == out.CURRENT:
                click.echo(f"ok       {shown}")
                continue
            bad += 1
            edited = edited or state.state in (out.EDITED, out.FOREIGN)
            click.echo(f"FAIL     {shown}: {state.describe}")
            if not quiet and state.existing is not None:
                click.echo(state.diff(shown), nl=False)
        bad += _check_locks(project, name, directory)
    if bad:
        click.echo(
            f"{bad} file(s) out of date. Run 'envgen render "
            + (" ".join(selected) if names else "--all")
            + "' and commit the result"
            + (" (add --force to overwrite hand edits)." if edited else "."),
            err=True,
        )
        return 1
    return 0


def _check_locks(project: Project, name: str, directory: Path) -> int:
    """Check the locks of a profile that has any; a project that never locks is not nagged."""
    if (
        not any(directory.glob("requirements-*.lock.txt"))
        and not (directory / "conda-lock.yml").exists()
    ):
        return 0
    from ..lock import lock_states  # the lock machinery is only loaded for locked profiles

    bad = 0
    for state in lock_states(project, name, directory):
        shown = project.display(state.path)
        if state.state == out.CURRENT:
            click.echo(f"ok       {shown}")
        else:
            bad += 1
            click.echo(f"FAIL     {shown}: {state.describe} (run 'envgen lock {name}')")
    return bad
