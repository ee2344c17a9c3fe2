"""Which profiles a command works on: those named, the project's own, or the built-ins.

Core rules every command shares (``--all`` means the project's own profiles; a project with
none gets the built-ins; a command given nothing in a project without profiles says what would
work), kept apart from click so that core code (``check_report``) can ask them too.
"""

from __future__ import annotations

from typing import NoReturn

from .errors import EnvgenError
from .project import Project


def _concrete(project: Project, origin: str) -> list[str]:
    """The profiles of ``origin`` that can be rendered: every one but the abstract ones."""
    registry = project.registry
    return [
        s.name
        for s in registry.all()
        if s.origin == origin and not registry.load_layer(s).values.get("abstract")
    ]


def own_profiles(project: Project) -> list[str]:
    """The project's own profiles (its profiles/ directory), except the abstract ones."""
    return _concrete(project, "project")


def builtin_profiles(project: Project) -> list[str]:
    """The built-in profiles the project does not override, except the abstract ones."""
    return _concrete(project, "builtin")


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
