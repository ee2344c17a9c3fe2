"""``envgen render``'s core: every selected profile resolved and rendered, then written all or none.

``plan_render`` resolves each profile once and renders all of them before anything touches the
disk (one bad profile writes nothing); ``write_render`` classifies what is on disk, refuses to
lose hand edits and writes every changed file in one all-or-nothing step. The command only
selects profiles and prints the report.
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from . import output as out
from .formats import copies_lock
from .project import Project, Resolved
from .render import RenderedFile


class RenderPlan(NamedTuple):
    """What ``render`` would write: each file with its path, and each profile resolved once."""

    files: tuple[tuple[Path, RenderedFile], ...]
    profiles: tuple[tuple[Resolved, Path], ...]  # each with its output directory
    formats: tuple[str, ...]  # -f: only these outputs (empty: every output of each profile)

    def missing_image_locks(self) -> list[tuple[Path, Path, str]]:
        """(Dockerfile, the lock it copies, profile) for each image whose lock is not there
        yet: before ``envgen lock`` its build would fail."""
        from .filters import image_lock

        envs = {resolved.env.name: resolved.env for resolved, _ in self.profiles}
        missing = []
        for path, rendered in self.files:
            if copies_lock(rendered.name):
                lock = path.parent / image_lock(envs[rendered.profile].platforms)
                if not lock.exists():
                    missing.append((path, lock, rendered.profile))
        return missing


class RenderReport(NamedTuple):
    states: list[out.FileState]  # every file, as it was before the write
    pyproject: Path | None  # pyproject.toml, when its [tool.uv] torch keys were updated


def plan_render(
    project: Project,
    names: Sequence[str],
    output: str | None = None,
    formats: Sequence[str] = (),
    many: bool = False,
) -> RenderPlan:
    """Resolve and render every profile of ``names`` before anything is written."""
    files = []
    profiles = []
    for name in names:
        resolved = project.resolve(name)
        directory = project.output_dir(name, output, many)
        for rendered in project.render(resolved, formats or None, output, many):
            files.append((directory / rendered.name, rendered))
        profiles.append((resolved, directory))
    for resolved, directory in profiles:  # once every profile rendered: no warning, then error
        project.warn_dropped_outputs(resolved, directory)
    return RenderPlan(tuple(files), tuple(profiles), tuple(formats))


def write_render(project: Project, plan: RenderPlan, force: bool = False) -> RenderReport:
    """Write every file of ``plan`` that differs from what is on disk, all or none; files edited
    by hand (or not envgen's) are refused unless ``force``. The project's pyproject.toml gets
    its uv profile's torch keys when that profile was rendered whole."""
    states = out.plan(plan.files)
    if not force:
        out.refuse_lost_work(states, {s.path: project.display(s.path) for s in states})
    update = None
    uv_profile = project.config.uv_profile
    if not plan.formats and uv_profile is not None:
        from .uvproject import planned_update

        chosen = [resolved.env for resolved, _ in plan.profiles if resolved.env.name == uv_profile]
        update = planned_update(project, chosen[0]) if chosen else None
    out.apply(states)
    if update is not None and update[1] != update[2]:
        from .atomic import write_atomic

        write_atomic(update[0], update[2])
        return RenderReport(states, update[0])
    return RenderReport(states, None)
