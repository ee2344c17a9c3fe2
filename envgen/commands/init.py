"""``envgen init``: create profiles/ for this repository, fitted to this machine."""

from __future__ import annotations

import click

from ..project import Project


@click.command("init")
def command() -> int:
    """Write profiles/base.yaml, profiles/cpu.yaml and the profile doctor recommends for this
    machine, a [tool.envgen] section and a .gitignore entry. Never overwrites a file."""
    from ..init import init_project
    from ._common import resolve_name

    project = Project.open()
    result = init_project(project, lambda p: resolve_name(p, "auto"))
    for path in result.written:
        click.echo(f"wrote     {project.display(path)}")
    for path in result.updated:
        click.echo(f"updated   {project.display(path)}")
    for path in result.skipped:
        click.echo(f"kept      {project.display(path)} (exists; not touched)")
    name = result.recommended
    click.echo(
        "\nNext:\n"
        f"  envgen render {name}     # write envs/{name}/ (commit it)\n"
        f"  envgen lock {name}       # optional: hashed locks for every platform\n"
        f"  envgen create {name}     # build the environment\n"
        f"  envgen verify {name}     # prove it works"
    )
    return 0
