"""``envgen render``: write the generated files of one or more profiles, all or nothing."""

from __future__ import annotations

import click

from .. import output as out
from ..errors import EnvgenError
from ..project import Project
from ..render_plan import plan_render, write_render
from ._common import all_option, output_option, profiles_argument, select_profiles


@click.command("render")
@profiles_argument
@all_option
@output_option
@click.option(
    "--stdout", "to_stdout", is_flag=True, help="Print the files instead of writing them."
)
@click.option(
    "-f",
    "--format",
    "formats",
    multiple=True,
    metavar="OUTPUT",
    help="Render only this output (e.g. requirements.txt); repeatable.",
)
@click.option("--force", is_flag=True, help="Overwrite generated files that were edited by hand.")
@click.option(
    "--existing",
    is_flag=True,
    help="Re-render every profile that already has rendered files (the pre-commit hook).",
)
def command(
    names: tuple[str, ...],
    all_: bool,
    output: str | None,
    to_stdout: bool,
    formats: tuple[str, ...],
    force: bool,
    existing: bool,
) -> int:
    """Render PROFILE(s) into environment files, e.g. `envgen render gpu-cu118`.

    Writes environment.yml, requirements.txt and conda-lock-spec.yml (a profile's 'outputs'
    change the set). Without PROFILE: every profile of this project (its profiles/).
    """
    project = Project.open()
    if existing:
        if names or all_:
            raise EnvgenError(
                "--existing picks the profiles itself", fix="drop the profile names or --all"
            )
        from ..selection import rendered_profiles

        selected = rendered_profiles(project, output)
        if not selected:
            click.echo("nothing to render: no rendered profiles found (run 'envgen render NAME')")
            return 0
    else:
        selected = select_profiles(project, names, all_)
    many = len(selected) > 1 or existing
    plan = plan_render(project, selected, output, formats, many)
    if to_stdout:
        for path, rendered in plan.files:
            if len(plan.files) > 1:
                click.echo(f"# ---- {project.display(path)} ----")
            click.echo(rendered.content, nl=False)
        return 0
    report = write_render(project, plan, force)
    if report.pyproject is not None:
        shown = project.display(report.pyproject)
        click.echo(f"updated   {shown} ([tool.uv] torch index, sources and environments)")
    for state in report.states:
        verb = {out.CURRENT: "unchanged", out.MISSING: "wrote"}.get(state.state, "updated")
        click.echo(f"{verb:9} {project.display(state.path)}")
    for dockerfile, lock, name in plan.missing_image_locks():
        click.echo(
            f"warning: {project.display(dockerfile)} copies {project.display(lock)}, which does "
            f"not exist yet: run 'envgen lock {name}' before building the image",
            err=True,
        )
    return 0
