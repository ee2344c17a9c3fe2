"""``envgen init``: create profiles/ for this repository, fitted to this machine."""

from __future__ import annotations

import click


@click.command("init")
def command() -> int:
    """Write profiles/base.yaml, profiles/cpu.yaml and the profile doctor recommends for this
    machine, a [tool.envgen] section and a .gitignore entry. Never overwrites a file."""
    from ..doctor.recommend import recommend_profile
    from ..init import init_project
    from ..interpreters import discover
    from ..project import Project

    project = Project.open()
    name = recommend_profile(project)
    result = init_project(project, name, found=discover)
    for path in result.written:
        click.echo(f"wrote     {project.display(path)}")
    for path in result.updated:
        click.echo(f"updated   {project.display(path)}")
    for path in result.skipped:
        click.echo(f"kept      {project.display(path)} (exists; not touched)")
    output = project.display(project.output_dir(name))
    python = f"Python {result.python}; " if result.python else ""
    click.echo(
        f"\nRecommended for this machine: {name} ({python}`envgen doctor` says why)\nNext:\n"
        f"  envgen render {name}     # write {output}/ (commit it)\n"
        f"  envgen lock {name}       # optional: hashed locks for every platform\n"
        f"  envgen create {name}     # build the environment\n"
        f"  envgen verify {name}     # prove it works"
    )
    return 0
