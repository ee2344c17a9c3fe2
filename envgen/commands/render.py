"""``envgen render``: write the generated files of one or more profiles, all or nothing."""

from __future__ import annotations

from pathlib import Path

import click

from .. import output as out
from ..errors import EnvgenError
from ..project import Project
from ._common import (
    all_option,
    output_option,
    profiles_argument,
    rendered_profiles,
    select_profiles,
)


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
        selected = rendered_profiles(project, output)
        if not selected:
            click.echo("nothing to render: no rendered profiles found (run 'envgen render NAME')")
            return 0
    else:
        selected = select_profiles(project, names, all_)
    many = len(selected) > 1 or existing
    # Resolve and render everything before touching the disk: one bad profile writes nothing.
    targets = []
    checked = []
    for name in selected:
        resolved = project.resolve(name)
        directory = project.output_dir(name, output, many)
        for rendered in project.render(resolved, formats or None, output, many):
            targets.append((directory / rendered.name, rendered))
        checked.append((resolved, directory))
    for resolved, directory in checked:  # once every profile rendered: no warning, then error
        project.warn_dropped_outputs(resolved, directory)
    if to_stdout:
        for path, rendered in targets:
            if len(targets) > 1:
                click.echo(f"# ---- {project.display(path)} ----")
            click.echo(rendered.content, nl=False)
        return 0
    states = out.plan(targets)
    if not force:
        out.refuse_lost_work(states, {s.path: project.display(s.path) for s in states})
    uv = None
    if not formats and project.config.uv_profile is not None:
        from ..uvproject import planned_update

        uv = planned_update(project, selected)
    out.apply(states)
    if uv is not None and uv[1] != uv[2]:
        out.write_atomic(uv[0], uv[2])
        click.echo(
            f"updated   {project.display(uv[0])} ([tool.uv] torch index, sources and environments)"
        )
    for state in states:
        verb = (
            "unchanged"
            if state.state == out.CURRENT
            else ("wrote" if state.state == out.MISSING else "updated")
        )
        click.echo(f"{verb:9} {project.display(state.path)}")
    for path, rendered in targets:
        if rendered.name == "Dockerfile":
            warn_missing_image_lock(project, path, rendered.profile)
    return 0


def warn_missing_image_lock(project: Project, dockerfile: Path, name: str) -> None:
    """A Dockerfile copies its profile's lock; before ``envgen lock`` the build would fail."""
    from ..filters import image_lock

    lock = dockerfile.parent / image_lock(project.resolve(name).env.platforms)
    if not lock.exists():
        click.echo(
            f"warning: {project.display(dockerfile)} copies {project.display(lock)}, which does "
            f"not exist yet: run 'envgen lock {name}' before building the image",
            err=True,
        )
