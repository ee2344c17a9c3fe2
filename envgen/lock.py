"""``envgen lock``'s core: a resolved profile becomes hashed pip locks and ``conda-lock.yml``.

Every lock records the digest of its inputs, so an unchanged profile is answered from the files
on disk without importing a solver. Otherwise everything is solved first (pip side by uv, one
universal resolution split per platform; then the conda side through a conda engine) and only
then written, each file atomically: a failure leaves every old lock as it was.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .atomic import write_atomic
from .digest import parts_line
from .errors import OutputError, ToolError
from .formats import CONDA_LOCK as CONDA_LOCK_FILE
from .formats import PYLOCK as PYLOCK_FILE
from .formats import LockKind, pip_lock_name
from .leftovers import temporary_directory
from .lockstate import _DESCRIBE, UNSAFE, public_urls, read_lock_text, read_locks, url_bearing
from .mirrors import Mirrors, redact
from .output import EDITED, FOREIGN
from .project import Project, Resolved
from .resolve import PYPI_SIMPLE, ResolvedEnv
from .targets import ACCELERATORS, os_of

if TYPE_CHECKING:
    from .lockers.base import CondaLockEngine, PipLock
    from .lockers.uv import PipSolution
    from .lockers.uv_answers import UnreachableIndex

Engine = Literal["auto", "conda-lock", "rattler"]
ENGINES: tuple[Engine, ...] = ("auto", "conda-lock", "rattler")
_ENGINE_LINE = re.compile(r"envgen_engine: *([\w-]+)")
Progress = Callable[[str], None]


class LockedFile(NamedTuple):
    path: Path
    kind: LockKind
    platform: str | None
    action: Literal["wrote", "updated", "unchanged"]


class LockResult(NamedTuple):
    profile: str
    directory: Path
    unchanged: bool  # True: the inputs matched every lock on disk, nothing was solved
    files: tuple[LockedFile, ...]
    platforms: tuple[str, ...]
    engine: str | None  # the conda engine that ran, None when none did
    inputs_digest: str
    timings: Mapping[str, float] = MappingProxyType({})  # seconds: pip, conda, total

    def summary(self, display: Callable[[Path], str] = str) -> dict[str, Any]:
        """The ``--json`` form."""
        return {
            "profile": self.profile,
            "directory": display(self.directory),
            "unchanged": self.unchanged,
            "platforms": list(self.platforms),
            "engine": self.engine,
            "inputs_digest": self.inputs_digest,
            "files": [
                {
                    "path": display(f.path),
                    "kind": f.kind,
                    "platform": f.platform,
                    "action": f.action,
                }
                for f in self.files
            ],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


def _recorded_engine(path: Path) -> str | None:
    text = read_lock_text(path, missing_ok=True)
    found = _ENGINE_LINE.search(text) if text is not None else None
    return found.group(1) if found else None


def _catalog_hint(project: Project, env: ResolvedEnv) -> Callable[[str, str], str | None]:
    """Facts from the catalog for a torch package the index could not provide."""

    def hint(package: str, platform: str) -> str | None:
        if package not in env.packages or env.index_url is None:
            return None
        variant = env.variant
        have = [
            r.torch
            for r in project.catalog.releases
            if platform in r.variants.get(variant.name, ())
        ]
        builds = f"PyTorch's {variant.name} builds for {platform}"
        if env.torch in have:
            return (
                f"envgen's catalog records torch {env.torch}+{variant.name} as published for "
                f"{platform}: check that {env.index_url} (or its mirror) is complete"
            )
        if not have:
            return f"envgen's catalog records no {builds}; pick another accelerator version"
        return (
            f"{builds} are torch {', '.join(have)} (per envgen's catalog); pick one of those, "
            "or another accelerator version"
        )

    return hint


def pick_engine(engine: str) -> CondaLockEngine:
    """The conda engine to run: "auto" prefers conda-lock when a conda executable exists."""
    from .lockers import conda_engine

    if engine not in ENGINES:
        raise ToolError(f"unknown lock engine '{engine}'", fix="use " + ", ".join(ENGINES))
    if engine == "auto":
        engine = "conda-lock" if conda_engine("conda-lock").unavailable() is None else "rattler"
    chosen = conda_engine(engine)
    why = chosen.unavailable()
    if why:
        raise ToolError(
            f"the {engine} engine cannot run here: {why}",
            fix="use --engine auto, or --no-conda to lock only the pip side",
        )
    return chosen


def virtual_packages(env: ResolvedEnv, glibc: str) -> dict[str, dict[str, str]]:
    """The target machine per platform: the profile's CUDA, and the glibc the pip side assumed."""
    result: dict[str, dict[str, str]] = {}
    for platform in env.platforms:
        wanted: dict[str, str] = {}
        virtual = ACCELERATORS[env.accelerator].conda_virtual
        if virtual and env.variant.version:
            wanted[virtual] = env.variant.version
        if os_of(platform) == "linux":
            wanted["__glibc"] = glibc
        result[platform] = wanted
    return result


def _refuse_lost_work(states: list[tuple[Path, str]], project: Project) -> None:
    blocked = [(p, s) for p, s in states if s in (EDITED, FOREIGN, UNSAFE)]
    if blocked:
        listing = "; ".join(f"{project.display(p)} is {_DESCRIBE[s]}" for p, s in blocked)
        raise OutputError(
            f"refusing to overwrite: {listing}. Nothing was solved or written",
            fix="delete or move those files, or run again with --force",
        )


class LockOptions(NamedTuple):
    """How ``envgen lock`` runs (its command-line options)."""

    engine: Engine = "auto"  # the conda side's engine
    upgrade: bool = False  # solve again even when every lock is current
    conda: bool = True  # write conda-lock.yml too (--no-conda: the pip side only)
    output_dir: Path | None = None  # default: the profile's render directory
    force: bool = False  # overwrite locks edited by hand
    progress: Progress | None = None
    # also write pylock.toml (PEP 751); None keeps one current where it exists
    pylock: bool | None = None


def lock_profile(
    project: Project, resolved: Resolved, options: LockOptions | None = None
) -> LockResult:
    """Lock ``resolved`` (one profile, resolved once by the caller) into its directory."""
    started = time.perf_counter()
    options = options or LockOptions()
    say = options.progress or (lambda _text: None)
    env = resolved.env
    name = env.name
    conda, engine = options.conda, options.engine
    directory = options.output_dir or project.output_dir(name)
    project.warn_dropped_outputs(resolved, directory, conda)
    pylock = options.pylock
    if pylock is None:
        pylock = (directory / PYLOCK_FILE).exists()
    locks = read_locks(project, resolved, directory, conda=conda, pylock=pylock)
    targets = [(s.path, s.kind, s.platform) for s in locks.states]
    same_engine = (
        engine == "auto" or not conda or _recorded_engine(directory / CONDA_LOCK_FILE) == engine
    )
    if not options.upgrade and same_engine and locks.current:
        return LockResult(
            name,
            directory,
            True,
            tuple(LockedFile(p, k, pl, "unchanged") for p, k, pl in targets),
            env.platforms,
            None,
            locks.digest,
            {"total": time.perf_counter() - started},
        )
    if not options.force:
        _refuse_lost_work([(s.path, s.state) for s in locks.states], project)
    job = _Job(
        project=project,
        env=env,
        public=resolved.public,
        to_public=_to_public(resolved.mirrors),
        digest=locks.digest,
        parts=parts_line(locks.parts),
        spec_text=_spec_text(project, resolved) if conda else None,
        mirrors=resolved.mirrors,
    )
    pypi = resolved.mirrors.url(PYPI_SIMPLE)
    # --upgrade: what the pip locks held is looked up afresh (see lockers.uv_upgrade).
    upgrading = [state.text or "" for state in locks.states if state.kind == "pip"]
    contents, timings, used = _solve(
        job, pypi, directory, conda, engine, upgrading if options.upgrade else None, say, pylock
    )
    public = public_urls(resolved) if conda or pylock else None
    for path, kind, _ in targets:
        if url_bearing(kind) and public is not None:
            _refuse_mirror_urls(project, path, public.carried(contents[path]))
    files = []
    for state in locks.states:
        text = contents[state.path]
        action: Literal["wrote", "updated", "unchanged"]
        if state.text == text:
            action = "unchanged"
        else:
            write_atomic(state.path, text)
            action = "wrote" if state.text is None else "updated"
        files.append(LockedFile(state.path, state.kind, state.platform, action))
    timings["total"] = time.perf_counter() - started
    digest = locks.digest
    return LockResult(name, directory, False, tuple(files), env.platforms, used, digest, timings)


def _refuse_mirror_urls(project: Project, path: Path, urls: list[str]) -> None:
    """Nothing is written when a lock would name a URL that no mirror rule maps back to a
    public one (see ``public_urls``): a mirror that serves files apart from its index."""
    if not urls:
        return
    shown = ", ".join(redact(u) for u in urls[:3]) + (
        f" and {len(urls) - 3} more" if len(urls) > 3 else ""
    )
    hosts = sorted({redact(u).split("/", 3)[2] for u in urls})
    raise ToolError(
        f"refusing to write {project.display(path)}: it would name {shown}, which no mirror "
        "rule maps back to a public URL (the mirror serves these files apart from its index "
        "pages). Nothing was written",
        fix="add a mirror rule from the public host that serves those files to where the "
        f"mirror keeps them (e.g. --mirror https://files.pythonhosted.org=<{hosts[0]} prefix> "
        "for PyPI's files, https://download.pytorch.org=<prefix> for PyTorch's), or lock "
        "without --pylock and the conda side: the requirements locks name no file URLs",
    )


class _Job(NamedTuple):
    """One profile's solve: what it is solved through (``env``, mirrored) and what the locks
    record (``public``: canonical URLs only, so a lock is the same bytes through any mirror)."""

    project: Project
    env: ResolvedEnv
    public: ResolvedEnv
    to_public: Callable[[str], str]
    digest: str
    parts: str
    spec_text: str | None
    mirrors: Mirrors = Mirrors()


def _to_public(mirrors: Mirrors) -> Callable[[str], str]:
    """Rewrite a mirror URL back to the public URL it stands for (longest mirror prefix wins)."""
    inverse = Mirrors(
        tuple(sorted(((m, p) for p, m in mirrors.rules), key=lambda r: len(r[0]), reverse=True))
    )
    return inverse.url


MIRROR_EXAMPLE = "https://mirror.example.com"


def unreachable(error: UnreachableIndex, job: _Job) -> ToolError:
    """One line for an index uv could not reach: the URL that failed, whose index it is (the
    public one, or the mirror standing in for it) and how a mirror is given."""
    from .mirrors import redact

    public = error.url
    for prefix, mirror in job.mirrors.rules:
        shown = redact(mirror)
        if error.url == shown or error.url.startswith(shown + "/"):
            public = prefix + error.url[len(shown) :]
            break
    base = job.project.catalog.index_base.rstrip("/")
    if public.startswith(base + "/"):
        kind, example = "the PyTorch index", f"{base}={MIRROR_EXAMPLE}/whl"
    elif public.startswith(PYPI_SIMPLE):
        kind, example = "PyPI", f"{PYPI_SIMPLE}={MIRROR_EXAMPLE}/pypi/simple"
    else:
        kind, example = "the index", f"{base}={MIRROR_EXAMPLE}/whl"
    where = ", ".join(job.env.platforms)
    syntax = (
        f"--mirror FROM=TO, e.g. --mirror {example} (or [tool.envgen.mirrors] in pyproject.toml)"
    )
    if public != error.url:
        return ToolError(
            f"cannot reach {error.url} ({error.reason}), the mirror given for {kind} "
            f"({public}), so nothing was locked for {where}",
            fix=f"check that the mirror is up and its URL is right; mirrors are given as {syntax}",
        )
    return ToolError(
        f"cannot reach {kind} at {error.url} ({error.reason}), so nothing was locked for {where}",
        fix=f"if this network reaches it through a mirror, pass {syntax}; otherwise check the "
        "network",
    )


def _spec_text(project: Project, resolved: Resolved) -> str:
    """The conda-lock spec as render writes it for the public profile (its hash goes into the
    lock's metadata.content_hash)."""
    from .lockers.conda_spec import SPEC_OUTPUT

    public = Resolved(resolved.profile, resolved.public, resolved.public)
    (rendered,) = project.render(public, [SPEC_OUTPUT])
    return rendered.content


def _public_solution(solution: PipSolution, to_public: Callable[[str], str]) -> PipSolution:
    packages = tuple(
        p._replace(url=to_public(p.url), index=to_public(p.index)) for p in solution.lock.packages
    )
    return solution._replace(lock=solution.lock._replace(packages=packages))


def _solve(
    job: _Job,
    pypi: str,
    directory: Path,
    conda: bool,
    engine: str,
    upgrading: Sequence[str] | None,
    say: Progress,
    pylock: bool = False,
) -> tuple[dict[Path, str], dict[str, float], str | None]:
    """Every lock's text, solved but not written: (contents by path, timings, conda engine).

    ``upgrading``: with --upgrade, the texts of the pip locks being replaced, else None."""
    from .lockers import pip_lockfile
    from .lockers.uv import PipIndexes, lock_pip
    from .lockers.uv_answers import UnreachableIndex
    from .lockers.uv_upgrade import upgrade_refresh
    from .targets import GLIBC

    env = job.env
    contents: dict[Path, str] = {}
    timings: dict[str, float] = {}
    indexes = PipIndexes.for_env(env, pypi)
    public_indexes = PipIndexes.for_env(job.public, PYPI_SIMPLE)
    solutions: dict[str, PipSolution] = {}
    if env.pip_requirements:
        begun = time.perf_counter()
        refresh = () if upgrading is None else upgrade_refresh(env, upgrading)
        try:
            solved = lock_pip(
                env, indexes, refresh=refresh, hint=_catalog_hint(job.project, env), progress=say
            )
        except UnreachableIndex as error:
            raise unreachable(error, job) from None
        solutions = {p: _public_solution(s, job.to_public) for p, s in solved.items()}
        timings["pip"] = time.perf_counter() - begun
        for platform, solution in solutions.items():
            timings[f"pip:{platform}"] = solution.seconds
            path = directory / pip_lock_name(platform)
            contents[path] = pip_lockfile.render(
                job.public, platform, solution, public_indexes, job.digest, job.parts
            )
        if pylock:
            from .lockers import pylock as pylock_file

            contents[directory / PYLOCK_FILE] = pylock_file.render(
                job.public, solutions, public_indexes, job.digest, job.parts
            )
    used = None
    if conda:
        chosen = pick_engine(engine)
        used = chosen.name
        say(f"solving conda packages for {', '.join(env.platforms)} ({used})")
        begun = time.perf_counter()
        pip_locks: dict[str, PipLock] = {p: s.lock for p, s in solutions.items()}
        contents[directory / CONDA_LOCK_FILE] = _conda_text(
            chosen, job, pip_locks, virtual_packages(env, GLIBC)
        )
        timings["conda"] = time.perf_counter() - begun
    return contents, timings, used


def _conda_text(
    engine: CondaLockEngine,
    job: _Job,
    pip_locks: Mapping[str, PipLock],
    virtual: Mapping[str, Mapping[str, str]],
) -> str:
    """Run the engine into a scratch directory, so that a failure never touches the real lock."""
    from .lockers.base import CondaLockRequest

    with temporary_directory("envgen-conda-lock-") as tmp:
        env = job.env
        request = CondaLockRequest(
            env=env,
            platforms=env.platforms,
            channels=env.channels,
            virtual_packages=virtual,
            pip_locks=pip_locks,
            output=Path(tmp) / CONDA_LOCK_FILE,
            inputs_digest=job.digest,
            inputs_parts=job.parts,
            public_channels=job.public.channels,
            public_url=job.to_public,
            spec_text=job.spec_text,
        )
        engine.lock(request)
        return request.output.read_text(encoding="utf-8")
