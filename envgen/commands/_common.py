"""Option and selection helpers shared by the commands."""

from __future__ import annotations

from typing import NoReturn

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
    if all_:
        return all_profiles(project, command)
    if not names:
        return own_profiles(project) or no_profile_given(project, command)
    chosen = [resolve_name(project, name) for name in names]
    for name in chosen:
        project.registry.find(name)
    return list(dict.fromkeys(chosen))


def own_profiles(project: Project) -> list[str]:
    """The project's own profiles (its profiles/ directory), except the abstract ones."""
    registry = project.registry
    return [
        s.name
        for s in registry.all()
        if s.origin == "project" and not registry.load_layer(s).values.get("abstract")
    ]


def builtin_profiles(project: Project) -> list[str]:
    """The built-in profiles the project does not override, except the abstract ones."""
    registry = project.registry
    return [
        s.name
        for s in registry.all()
        if s.origin == "builtin" and not registry.load_layer(s).values.get("abstract")
    ]


def all_profiles(project: Project, command: str = "render") -> list[str]:
    """What ``--all`` means: the project's own profiles when it has any; built-ins are then
    used by name only. Only a project with no profiles of its own gets every built-in."""
    if project.registry.project:
        own = own_profiles(project)
        if not own:
            where = project.display(project.registry.profiles_dir)
            raise EnvgenError(
                f"--all means this project's profiles, and every profile in {where}/ is "
                "abstract (it exists only to be extended)",
                fix=f"add a profile that extends one of them, or name one: 'envgen {command} NAME'",
            )
        return own
    return builtin_profiles(project)


def concrete_profiles(project: Project) -> list[str]:
    """Every profile ``--all`` selects (kept for callers that ask by this name)."""
    return all_profiles(project)


def no_profile_given(
    project: Project, command: str, many: bool = True, rendered: bool = False
) -> NoReturn:
    """The one answer every command gives when it is named no profile in a project with none
    of its own (a project that has some means them): stop, and say what would work.
    ``rendered``: the command looked for generated files too, and found none (check)."""
    where = project.display(project.registry.profiles_dir)
    builtins = builtin_profiles(project)
    example = "cpu" if "cpu" in builtins else (builtins[0] if builtins else "NAME")
    found = f"no *.yaml in {where}/"
    if rendered:
        found += ", and no generated files in " + project.config.output.replace("{profile}", "*")
    options = f"name one, e.g. 'envgen {command} {example}' (built-in profiles: "
    options += ", ".join(builtins) + ")"
    if many:
        options += ", or use --all for every built-in profile"
    raise EnvgenError(
        f"no profile given, and the project in {project.config.root} has no profiles of its "
        f"own ({found})",
        fix=options + f"; or add {where}/NAME.yaml ('envgen init' writes one for this "
        "machine); or run envgen in your project's directory",
    )


def rendered_profiles(project: Project, output: str | None) -> list[str]:
    """The profiles whose output directory exists: what a project has rendered so far."""
    return [n for n in project.registry.names() if project.output_dir(n, output, True).is_dir()]


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
