"""``envgen check``'s core: is every generated file and lock what envgen would write now?

``check_profiles`` resolves each profile once, renders it, compares every output and lock with
what is on disk, checks the uv profile's pyproject.toml and uv.lock, and finds orphans (files
envgen wrote that no profile writes any more). Each finding is handed to ``say`` as it is made,
in order; the ``CheckReport`` it returns holds the counts and the closing summary. The command
only picks the profiles and prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from . import output as out
from .formats import CONDA_LOCK, PIP_LOCK_GLOB, copies_lock
from .orphans import Orphan, find_orphans, output_dirs
from .project import Project, Resolved
from .resolve import ResolvedEnv


class Finding(NamedTuple):
    """One line of the report: a current file (``ok``), a failure, a failure's diff, or an
    orphan that --prune removed."""

    kind: Literal["ok", "fail", "diff", "removed"]
    text: str


Say = Callable[[Finding], None]


class CheckReport(NamedTuple):
    checked: int  # files looked at
    stale_files: list[str]  # profiles to re-render, in order
    stale_locks: list[str]  # profiles to re-lock
    uv_lock: str | None  # the uv profile, when its uv.lock is not what the profile allows
    edited: bool  # some failing file was edited by hand or is not envgen's
    orphans: list[Orphan]  # orphans left after any --prune
    fix_args: str  # how the render fix names the profiles (names, and -o DIR)
    prune_args: str  # the profiles check was given, for the --prune fix

    @property
    def failed(self) -> bool:
        return bool(self.stale_files or self.stale_locks or self.uv_lock or self.orphans)

    def summary(self) -> str:
        """One paragraph: what was checked and, when anything failed, what to run."""
        if not self.failed:
            return f"{self.checked} file(s) checked, all current."
        fixes = []
        if self.stale_files:
            force = "' (add --force to overwrite hand edits)" if self.edited else "'"
            fixes.append("'envgen render " + self.fix_args + force)
        if self.stale_locks:
            fixes.append("'envgen lock " + " ".join(self.stale_locks) + "'")
        if self.uv_lock:
            fixes.append("'uv lock' (after the fixes above)")
        if any(o.intact for o in self.orphans):
            fixes.append(
                "'envgen check --prune"
                + (" " + self.prune_args if self.prune_args else "")
                + "' (it removes only the orphans envgen wrote and nobody edited)"
            )
        profiles = self.stale_files + self.stale_locks + ([self.uv_lock] if self.uv_lock else [])
        summary = f"{self.checked} file(s) checked"
        if profiles:
            summary += "; out of date in profile(s) " + ", ".join(dict.fromkeys(profiles))
        if self.orphans:
            summary += (
                f"; {len(self.orphans)} orphaned generated file(s) that no profile writes any more"
            )
        sentences = [summary + "."]
        if fixes:
            sentences.append("Run " + " and ".join(fixes) + " and commit the result.")
        edited_orphans = sum(not o.intact for o in self.orphans)
        if edited_orphans:
            sentences.append(
                f"Remove the {edited_orphans} hand-edited orphan(s) yourself, or delete their "
                "envgen header lines to keep them as your own files."
            )
        return " ".join(sentences)


def check_profiles(
    project: Project,
    selected: Sequence[str],
    *,
    given: Sequence[str] = (),
    output: str | None = None,
    many: bool = False,
    whole: bool = False,
    prune: bool = False,
    diffs: bool = True,
    say: Say = lambda _finding: None,
) -> CheckReport:
    """Check ``selected`` (and, when ``whole``, every output directory of the project for
    orphans); ``given``: the profile names the user typed; ``diffs``: show each failing file's
    diff."""
    resolved = [project.resolve(name) for name in selected]
    homes = {name: project.output_dir(name, output, many) for name in selected}
    if whole and output is None:  # the whole project: deleted profiles' directories too
        directories = output_dirs(project)
    else:
        directories = [d for d in dict.fromkeys(homes.values()) if d.is_dir()]
    known = {name: r.env for name, r in zip(selected, resolved, strict=True)}
    orphans = find_orphans(project, directories, homes, known)
    if not selected and not orphans:
        # a check that looked at nothing must not pass: CI run in the wrong directory, or a
        # profiles setting that points nowhere, would stay green forever
        from .selection import no_profile_given

        no_profile_given(project, "check", rendered=True)
    checking = _Checking(project, say, diffs)
    for name, one in zip(selected, resolved, strict=True):
        checking.profile(name, one, homes[name], output, many)
    uv_profile = project.config.uv_profile
    uv_lock = None
    if uv_profile is not None and uv_profile in known:
        uv_lock = checking.uv(uv_profile, known[uv_profile])
    left = _orphans(project, orphans, prune, say)
    args = " ".join(checking.stale_files)
    if output is not None:
        import shlex

        args += f" -o {shlex.quote(output)}"
    return CheckReport(
        checking.checked,
        checking.stale_files,
        checking.stale_locks,
        uv_lock,
        checking.edited,
        left,
        args,
        " ".join(given),
    )


class _Checking:
    """The running tally of one check, findings said as they are made."""

    def __init__(self, project: Project, say: Say, diffs: bool) -> None:
        self.project, self.say, self.diffs = project, say, diffs
        self.checked = 0
        self.stale_files: list[str] = []
        self.stale_locks: list[str] = []
        self.edited = False

    def profile(
        self, name: str, resolved: Resolved, directory: Path, output: str | None, many: bool
    ) -> None:
        project = self.project
        rendered = project.render(resolved, None, output, many)
        project.warn_dropped_outputs(resolved, directory)
        for state in out.plan((directory / f.name, f) for f in rendered):
            self.checked += 1
            shown = project.display(state.path)
            if state.state == out.CURRENT:
                self.say(Finding("ok", f"ok       {shown}"))
                continue
            if name not in self.stale_files:
                self.stale_files.append(name)
            self.edited = self.edited or state.state in (out.EDITED, out.FOREIGN)
            self.say(Finding("fail", f"FAIL     {shown}: {_describe(project, resolved, state)}"))
            if self.diffs and state.existing is not None:
                self.say(Finding("diff", state.diff(shown)))
        image = any(copies_lock(f.name) for f in rendered)
        if self._locks(resolved, directory, image):
            self.stale_locks.append(name)

    def _locks(self, resolved: Resolved, directory: Path, image: bool) -> bool:
        """Whether any lock of a profile that has some fails; a project that never locks is
        not nagged, unless the profile renders a Dockerfile, which copies its lock."""
        project, name = self.project, resolved.env.name
        if not any(directory.glob(PIP_LOCK_GLOB)) and not (directory / CONDA_LOCK).exists():
            if not image:
                return False
            from .filters import image_lock

            lock = directory / image_lock(resolved.env.platforms)
            self.checked += 1
            self.say(
                Finding(
                    "fail",
                    f"FAIL     {project.display(lock)}: missing; the Dockerfile copies it "
                    f"(run 'envgen lock {name}')",
                )
            )
            return True
        from .lockstate import lock_states  # only loaded for locked profiles

        bad = False
        for state in lock_states(project, resolved, directory):
            self.checked += 1
            shown = project.display(state.path)
            if state.state == out.CURRENT:
                self.say(Finding("ok", f"ok       {shown}"))
            else:
                bad = True
                text = f"FAIL     {shown}: {state.describe} (run 'envgen lock {name}')"
                self.say(Finding("fail", text))
        return bad

    def uv(self, name: str, env: ResolvedEnv) -> str | None:
        """pyproject.toml's [tool.uv] torch keys and uv.lock, for the uv profile ``env``;
        its name when uv.lock is not what the profile allows."""
        from .uvproject import check_problems, lock_problems

        self.checked += 1
        problems = check_problems(self.project, env)
        for problem in problems:
            self.say(Finding("fail", f"FAIL     pyproject.toml: {problem}"))
        if problems and name not in self.stale_files:
            self.stale_files.append(name)  # render repairs it
        bad = False
        for problem in lock_problems(self.project, env):  # uv lock repairs it
            bad = True
            self.say(Finding("fail", f"FAIL     uv.lock: {problem}"))
        return name if bad else None


def _orphans(project: Project, orphans: list[Orphan], prune: bool, say: Say) -> list[Orphan]:
    """Say what each orphan is (and, with --prune, remove the intact ones); what is left."""
    if prune:
        from .orphans import prune as remove_orphans

        removed, kept = remove_orphans(orphans)
        for path in removed:
            say(Finding("removed", f"removed  {project.display(path)} (orphaned)"))
        orphans = kept
    for orphan in orphans:
        state = "" if orphan.intact else " It was edited by hand, so --prune keeps it."
        say(
            Finding(
                "fail", f"FAIL     {project.display(orphan.path)}: orphaned: {orphan.why}.{state}"
            )
        )
    return orphans


def _describe(project: Project, resolved: Resolved, state: out.FileState) -> str:
    """The state in words; for a stale file, which of its inputs changed."""
    if state.state != out.STALE or state.existing is None:
        return state.describe
    reason = project.stale_reason(resolved, state.existing, state.rendered.input_parts)
    return f"stale: {reason} since it was rendered"
