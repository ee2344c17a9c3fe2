"""Option and selection helpers shared by the commands."""

from __future__ import annotations

import click

from ..errors import EnvgenError
from ..project import Project

AUTO = "auto"


def resolve_name(project: Project, name: str) -> str:
    """'auto' is the profile `envgen doctor` recommends for this machine (unless a profile is
    literally called auto); the choice is said on stderr so nobody is surprised."""
    if name != AUTO or AUTO in project.registry.names():
        return project.registry.canonical(name)
    from ..doctor.recommend import recommend
    from ..doctor.report import gather

    rec = recommend(project, gather())
    if rec.profile is None:
        raise EnvgenError(
            f"'auto' found no profile that fits this machine ({rec.reason})",
            fix="run 'envgen doctor' to see why, then name a profile",
        )
    click.echo(f"auto -> {rec.profile}: {rec.reason}", err=True)
    return rec.profile


def select_profiles(
    project: Project, names: tuple[str, ...], all_: bool, command: str = "render"
) -> list[str]:
    """The profiles a command works on: those named, or with ``--all`` or none named, the
    project's own (see ``all_profiles`` and ``no_profile_given``)."""
    if all_ and names:
        raise EnvgenError("give profile names or --all, not both", fix="drop one of them")
    if all_ or not names:
        from ..selection import all_profiles, no_profile_given, own_profiles

        if all_:
            return all_profiles(project, command)
        return own_profiles(project) or no_profile_given(project, command)
    chosen = [resolve_name(project, name) for name in names]
    for name in chosen:
        project.registry.find(name)
    return list(dict.fromkeys(chosen))


def complete_profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of profile names; a broken project completes nothing, silently."""
    try:
        names = Project.open().registry.names()
    except Exception:  # noqa: BLE001 - completion must never print a traceback into a shell
        return []
    return [n for n in names if n.startswith(incomplete)]


profiles_argument = click.argument(
    "names", nargs=-1, metavar="[PROFILE]...", shell_complete=complete_profiles
)
all_option = click.option(
    "--all",
    "all_",
    is_flag=True,
    help="Every profile of this project (its profiles/); every built-in only in a project "
    "with none.",
)
mirror_option = click.option(
    "--mirror",
    "mirror_values",
    multiple=True,
    metavar="FROM=TO",
    help="Use a mirror for an index or channel URL (adds to [tool.envgen] mirrors); repeatable.",
)
output_option = click.option(
    "-o",
    "--output",
    metavar="DIR",
    help="Output directory; '{profile}' is replaced (default: envs/{profile}, or "
    "[tool.envgen].output).",
)


def parse_mirrors(values: tuple[str, ...]) -> dict[str, str]:
    """--mirror FROM=TO values as a mapping (FROM: a URL prefix or a channel name)."""
    mirrors = {}
    for value in values:
        public, sep, mirror = value.partition("=")
        if not sep or not public or not mirror:
            raise EnvgenError(
                "a --mirror value is not FROM=TO (not repeated here: it may hold a credential)",
                fix="write it like --mirror https://download.pytorch.org/whl=https://mirror/whl",
            )
        mirrors[public] = mirror
    return mirrors
