"""``envgen check``: tell CI whether committed generated files are what render would write."""

from __future__ import annotations

import click

from ..check_report import Finding, check_profiles
from ..project import Project
from ..selection import own_profiles, rendered_profiles
from ._common import all_option, output_option, profiles_argument, select_profiles


@click.command("check")
@profiles_argument
@all_option
@output_option
@click.option("-q", "--quiet", is_flag=True, help="No diffs, only the summary and the failures.")
@click.option(
    "--prune",
    is_flag=True,
    help="Remove orphaned generated files (only those envgen wrote and nobody edited).",
)
def command(
    names: tuple[str, ...], all_: bool, output: str | None, quiet: bool, prune: bool
) -> int:
    """Exit 0 when every generated file is current, 1 (with a diff) when any is not.

    Without PROFILE: every profile of this project (its profiles/) and any other profile with
    files on disk, and orphaned generated files (envgen's, but no profile writes them any
    more). Lock files are checked too wherever a profile has been locked.
    """
    project = Project.open()
    if names or all_:
        selected = select_profiles(project, names, all_, "check")
    else:
        selected = list(dict.fromkeys(own_profiles(project) + rendered_profiles(project, output)))

    def say(finding: Finding) -> None:
        if not (quiet and finding.kind in ("ok", "diff")):
            click.echo(finding.text, nl=finding.kind != "diff")

    report = check_profiles(
        project,
        selected,
        given=names,
        output=output,
        many=len(selected) > 1 or not (names or all_),
        whole=not names,  # the whole project: orphans of deleted profiles count too
        prune=prune,
        diffs=not quiet,
        say=say,
    )
    if not report.failed:
        click.echo(report.summary())
        return 0
    click.echo(report.summary(), err=True)
    return 1
