"""``envgen check``: tell CI whether committed generated files are what render would write."""

from __future__ import annotations

from pathlib import Path

import click

from .. import output as out
from ..orphans import Orphan, find_orphans, output_dirs
from ..orphans import prune as remove_orphans
from ..project import Project, Resolved
from ._common import (
    all_option,
    no_profile_given,
    output_option,
    own_profiles,
    profiles_argument,
    rendered_profiles,
    select_profiles,
)


@click.command("check")
@profiles_argument
@all_option
@output_option
@click.option("-q", "--quiet", is_flag=True, help="No diffs, only the summary and the failures.")
@click.option(
    "--prune",
    is_flag=True,
    help="Remove orphaned generated files (only those envgen wrote and nobody edited).",
)
def command(
    names: tuple[str, ...], all_: bool, output: str | None, quiet: bool, prune: bool
) -> int:
    """Exit 0 when every generated file is current, 1 (with a diff) when any is not.

    Without PROFILE: every profile of this project (its profiles/) and any other profile with
    files on disk, and orphaned generated files (envgen's, but no profile writes them any
    more). Lock files are checked too wherever a profile has been locked.
    """
    project = Project.open()
    whole = not names  # the whole project: orphans of deleted profiles count too
    if names or all_:
        selected = select_profiles(project, names, all_, "check")
    else:
        selected = list(dict.fromkeys(own_profiles(project) + rendered_profiles(project, output)))
    many = len(selected) > 1 or not (names or all_)
    homes = {name: project.output_dir(name, output, many) for name in selected}
    if whole and output is None:  # the whole project: deleted profiles' directories too
        directories = output_dirs(project)
    else:
        directories = [d for d in dict.fromkeys(homes.values()) if d.is_dir()]
    orphans = find_orphans(project, directories, homes)
    if not selected and not orphans:
        # a check that looked at nothing must not pass: CI run in the wrong directory, or a
        # profiles setting that points nowhere, would stay green forever
        no_profile_given(project, "check", rendered=True)
    stale_files: list[str] = []  # profiles to re-render, in order
    stale_locks: list[str] = []  # profiles to re-lock
    edited = False
    checked = 0
    for name in selected:
        resolved = project.resolve(name)
        directory = project.output_dir(name, output, many)
        rendered = project.render(resolved, None, output, many)
        project.warn_dropped_outputs(resolved, directory)
        for state in out.plan((directory / f.name, f) for f in rendered):
            checked += 1
            shown = project.display(state.path)
            if state.state == out.CURRENT:
                if not quiet:
                    click.echo(f"ok       {shown}")
                continue
            stale_files += [name] if name not in stale_files else []
            edited = edited or state.state in (out.EDITED, out.FOREIGN)
            click.echo(f"FAIL     {shown}: {_describe(project, resolved, state)}")
            if not quiet and state.existing is not None:
                click.echo(state.diff(shown), nl=False)
        image = any(f.name == "Dockerfile" for f in rendered)
        bad, total = _check_locks(project, resolved, directory, quiet, image)
        checked += total
        if bad:
            stale_locks.append(name)
    uv_lock_bad = False
    if project.config.uv_profile in selected:
        from ..uvproject import check_problems, lock_problems

        checked += 1
        problems = check_problems(project)
        for problem in problems:
            click.echo(f"FAIL     pyproject.toml: {problem}")
        if problems and project.config.uv_profile not in stale_files:
            stale_files.append(project.config.uv_profile)  # render repairs it
        for problem in lock_problems(project):  # uv writes uv.lock: uv lock repairs it
            uv_lock_bad = True
            click.echo(f"FAIL     uv.lock: {problem}")
    left = _report_orphans(project, orphans, prune)
    failed = len(stale_files) + len(stale_locks) + uv_lock_bad
    if not failed and not left:
        click.echo(f"{checked} file(s) checked, all current.")
        return 0
    fixes = []
    if stale_files:
        fixes.append(
            "'envgen render "
            + _command_args(project, stale_files, output)
            + ("' (add --force to overwrite hand edits)" if edited else "'")
        )
    if stale_locks:
        fixes.append("'envgen lock " + " ".join(stale_locks) + "'")
    if uv_lock_bad:
        fixes.append("'uv lock' (after the fixes above)")
    if any(o.intact for o in left):
        fixes.append(
            "'envgen check --prune"
            + (" " + " ".join(names) if names else "")
            + "' (it removes only the orphans envgen wrote and nobody edited)"
        )
    profiles = (
        stale_files + stale_locks + ([project.config.uv_profile or ""] if uv_lock_bad else [])
    )
    summary = f"{checked} file(s) checked"
    if failed:
        summary += "; out of date in profile(s) " + ", ".join(dict.fromkeys(profiles))
    if left:
        summary += f"; {len(left)} orphaned generated file(s) that no profile writes any more"
    sentences = [summary + "."]
    if fixes:
        sentences.append("Run " + " and ".join(fixes) + " and commit the result.")
    edited_orphans = sum(not o.intact for o in left)
    if edited_orphans:
        sentences.append(
            f"Remove the {edited_orphans} hand-edited orphan(s) yourself, or delete their "
            "envgen header lines to keep them as your own files."
        )
    click.echo(" ".join(sentences), err=True)
    return 1


def _report_orphans(project: Project, orphans: list[Orphan], prune: bool) -> list[Orphan]:
    """Say what each orphan is (and, with --prune, remove the intact ones); what is left."""
    if prune:
        removed, kept = remove_orphans(orphans)
        for path in removed:
            click.echo(f"removed  {project.display(path)} (orphaned)")
        orphans = kept
    for orphan in orphans:
        state = "" if orphan.intact else " It was edited by hand, so --prune keeps it."
        click.echo(f"FAIL     {project.display(orphan.path)}: orphaned: {orphan.why}.{state}")
    return orphans


def _command_args(project: Project, names: list[str], output: str | None) -> str:
    import shlex

    args = " ".join(names)
    return args + (f" -o {shlex.quote(output)}" if output is not None else "")


def _describe(project: Project, resolved: Resolved, state: out.FileState) -> str:
    """The state in words; for a stale file, which of its inputs changed."""
    if state.state != out.STALE or state.existing is None:
        return state.describe
    reason = project.stale_reason(resolved, state.existing, state.rendered.input_parts)
    return f"stale: {reason} since it was rendered"


def _check_locks(
    project: Project, resolved: Resolved, directory: Path, quiet: bool, image: bool
) -> tuple[int, int]:
    """(failing, checked) locks of a profile that has any; a project that never locks is not
    nagged, unless the profile renders a Dockerfile, which copies its lock (``image``)."""
    if (
        not any(directory.glob("requirements-*.lock.txt"))
        and not (directory / "conda-lock.yml").exists()
    ):
        if not image:
            return 0, 0
        from ..filters import image_lock

        lock = directory / image_lock(resolved.env.platforms)
        click.echo(
            f"FAIL     {project.display(lock)}: missing; the Dockerfile copies it "
            f"(run 'envgen lock {resolved.env.name}')"
        )
        return 1, 1
    from ..lock import lock_states  # the lock machinery is only loaded for locked profiles

    name = resolved.env.name
    bad = 0
    states = lock_states(project, name, directory)
    for state in states:
        shown = project.display(state.path)
        if state.state == out.CURRENT:
            if not quiet:
                click.echo(f"ok       {shown}")
        else:
            bad += 1
            click.echo(f"FAIL     {shown}: {state.describe} (run 'envgen lock {name}')")
    return bad, len(states)
