"""``envgen run``: run a command inside a profile's activated environment; its exit code is ours."""

from __future__ import annotations

from pathlib import Path

import click


# '--' ends envgen's options; what follows is the command, its options included.
@click.command("run", context_settings={"ignore_unknown_options": True})
@click.argument("name", metavar="PROFILE")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- CMD...")
@click.option(
    "--prefix",
    type=click.Path(path_type=Path, file_okay=False),
    help="The environment's directory (default: .envgen/envs/PROFILE).",
)
def command(name: str, argv: tuple[str, ...], prefix: Path | None) -> None:
    """Run CMD inside PROFILE's environment, activated; exit with CMD's exit status.

    Example: envgen run gpu-cu118 -- python train.py --epochs 3
    """
    from ..project import Project
    from ..run import exec_in, prepare
    from ._common import resolve_name

    project = Project.open()
    exec_in(prepare(project, resolve_name(project, name), prefix), argv)
