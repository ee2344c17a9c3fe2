"""``envgen matrix``: print profiles × platforms for the CI system's own fan-out."""

from __future__ import annotations

import click

from ..project import Project
from ._common import all_option, profiles_argument, select_profiles


@click.command("matrix")
@profiles_argument
@all_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["github", "gitlab", "json"]),
    default="github",
    show_default=True,
    help='github: {"include": [...]} for fromJSON; gitlab: a child pipeline with '
    "parallel: matrix:; json: every detail.",
)
def command(names: tuple[str, ...], all_: bool, fmt: str) -> int:
    """Print the CI matrix that runs `envgen create` + `envgen verify --json` per platform.

    Without PROFILE: every profile of this project (its profiles/).
    """
    from ..matrix import FORMATTERS, build_matrix

    project = Project.open()
    names_ = select_profiles(project, names, all_, "matrix")
    rows = build_matrix(project, names_, "gitlab" if fmt == "gitlab" else "github")
    text = FORMATTERS[fmt](rows)
    for row in rows:
        if row.placeholder:
            key = f"{row.accelerator}/{row.platform}"
            click.echo(
                f"warning: no runner for {row.profile} on {row.platform}; using the placeholder "
                f"label '{row.runner}'. Set [tool.envgen.runners] \"{key}\" (or "
                f'{row.accelerator}) = "your-runner-label" in pyproject.toml.',
                err=True,
            )
    click.echo(text.rstrip("\n"))
    return 0
