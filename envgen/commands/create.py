"""``envgen create``: build a profile's environment with the interpreter the profile asks for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..backends import BACKENDS
from ._common import mirror_option

if TYPE_CHECKING:
    from ..create import Installer
    from ..project import Project


def _the_only_profile(project: Project) -> str:
    """No profile given means the project's profiles, as for every command; create builds one
    environment, so that works when there is one."""
    from ..errors import EnvgenError
    from ..selection import no_profile_given, own_profiles

    own = own_profiles(project)
    if len(own) == 1:
        return own[0]
    if not own:
        no_profile_given(project, "create", many=False)
    raise EnvgenError(
        f"no profile given, and create builds one environment: this project has {len(own)} "
        f"profiles ({', '.join(own)})",
        fix=f"name one, e.g. 'envgen create {own[0]}'",
    )


@click.command("create")
@click.argument("name", metavar="[PROFILE]", required=False)
@click.option(
    "--backend",
    type=click.Choice(["auto", *BACKENDS]),
    default="auto",
    show_default=True,
    help="auto: venv for pip-only profiles, else conda/mamba/micromamba when installed, "
    "else rattler.",
)
@click.option(
    "--python",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The interpreter to build the venv from (must match the profile's python).",
)
@click.option(
    "--prefix",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the environment goes (default: .envgen/envs/PROFILE).",
)
@click.option("--force", is_flag=True, help="Rebuild even when the environment is up to date.")
@mirror_option
@click.option(
    "--installer",
    type=click.Choice(["auto", "uv", "pip"]),
    default="auto",
    show_default=True,
    help="What installs the pip part: uv when available, else the environment's own pip.",
)
@click.option(
    "--wait",
    type=float,
    default=600.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another create of the same environment before refusing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
def command(
    name: str | None,
    backend: str,
    python: Path | None,
    prefix: Path | None,
    force: bool,
    mirror_values: tuple[str, ...],
    installer: Installer,
    wait: float,
    as_json: bool,
) -> int:
    """Create PROFILE's environment, from its lock when there is one, e.g. `envgen create cpu`.

    Without PROFILE: the project's profile, when it has exactly one.
    """
    from ..create import CreateOptions, create_env
    from ..project import Project
    from ._common import parse_mirrors, resolve_name

    mirrors = parse_mirrors(mirror_values)
    project = Project.open()
    name = resolve_name(project, name) if name is not None else _the_only_profile(project)

    def progress(text: str) -> None:
        click.echo(f"{name}: {text}", err=True)

    options = CreateOptions(backend, python, prefix, force, installer, wait, progress=progress)
    result = create_env(project, project.resolve(name, mirrors), options)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return 0
    shown = project.display(result.prefix)
    if result.status == "up-to-date":
        click.echo(f"{name}: {shown} is up to date (same inputs); use --force to rebuild")
    else:
        via = f", pip part by {result.installer}" if result.installer else ""
        click.echo(
            f"{name}: {result.status} {shown} with {result.backend}{via}: Python {result.python}, "
            f"from {', '.join(result.sources) or 'the profile'} in {result.seconds:.1f}s"
        )
    click.echo(f"next: envgen verify {name}" + (f" --prefix {shown}" if prefix else ""))
    return 0
