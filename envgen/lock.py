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
from typing import TYPE_CHECKING, Any, NamedTuple

from .digest import inputs_digest, is_generated, parts_line, read_seal
from .errors import OutputError, ToolError
from .leftovers import temporary_directory
from .lockers.pip_lockfile import file_name as pip_lock_name
from .lockers.pylock import FILE_NAME as PYLOCK_FILE  # written on request, then kept current
from .mirrors import Mirrors, redact
from .output import CURRENT, EDITED, FOREIGN, MISSING, STALE, write_atomic
from .project import Project, Resolved
from .resolve import PYPI_SIMPLE, ResolvedEnv, resolve

if TYPE_CHECKING:
    from .lockers.base import CondaLockEngine, PipLock
    from .lockers.uv import PipSolution, UnreachableIndex
    from .public_urls import PublicUrls

ENGINES = ("auto", "conda-lock", "rattler")
CONDA_LOCK_FILE = "conda-lock.yml"
LOCK_FORMAT = 2  # bump when a lock's layout changes, so every lock reads as stale
_ENGINE_LINE = re.compile(r"envgen_engine: *([\w-]+)")
# A sealed, current lock that names a mirror's URL (written by an older envgen, or by hand):
# check fails on it and lock re-solves it.
NON_PUBLIC = "non-public"
# Sealed and current by its digests, but its own content breaks the torch-family rule
# (lockrules): a lock edited and resealed by hand. Refused like an edited one.
UNSAFE = "unsafe"
_DESCRIBE = {
    NON_PUBLIC: "carries a URL that is not a public one",
    UNSAFE: "not what envgen locks",
    CURRENT: "up to date",
    MISSING: "missing (run envgen lock)",
    STALE: "stale: its inputs changed since it was locked",
    EDITED: "edited by hand since envgen wrote it",
    FOREIGN: "not written by envgen",
}

Progress = Callable[[str], None]


class LockState(NamedTuple):
    """What a lock file on disk is, compared with the inputs it would be locked from now."""

    path: Path
    kind: str  # pip | conda
    platform: str | None
    state: str  # one of output's CURRENT, MISSING, STALE, EDITED, FOREIGN
    reason: str = ""  # for a stale lock: which inputs changed, in words

    @property
    def describe(self) -> str:
        if self.state == STALE and self.reason:
            return f"stale: {self.reason} since it was locked"
        if self.state == NON_PUBLIC and self.reason:
            return f"{_DESCRIBE[self.state]} ({self.reason}): a mirror's URL must not be committed"
        if self.state == UNSAFE:
            return f"not what envgen locks: {self.reason} (edited by hand and resealed?)"
        return _DESCRIBE[self.state]


class LockedFile(NamedTuple):
    path: Path
    kind: str
    platform: str | None
    action: str  # wrote | updated | unchanged


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


def pypi_url(project: Project, mirrors: Mapping[str, str] | None) -> str:
    """PyPI, or its mirror: where pip packages come from when the profile names no index."""
    return Mirrors.from_mapping({**project.config.mirrors, **(mirrors or {})}).url(PYPI_SIMPLE)


def public_env(project: Project, resolved: Resolved) -> ResolvedEnv:
    """The same profile through no mirror: what a lock records (canonical URLs only)."""
    return resolve(resolved.profile, project.catalog)


def lock_inputs(project: Project, resolved: Resolved) -> dict[str, Any]:
    """Everything a lock depends on, by part (for its digest and for naming what changed).

    Mirrors are not part of it: a lock holds canonical URLs and hashes that pin the bytes, and
    create rewrites every URL through the mirrors in force, so a lock is the same file and stays
    current whichever mirror it was made or is installed through. envgen's version is not part
    of it (``format`` is bumped when the layout changes). The conda engine is not part of it
    either: both write the same file for the same inputs, and "auto" picks differently on
    machines with and without conda. ``--engine NAME`` still re-locks another engine's lock.
    """
    public = public_env(project, resolved)
    return {
        **project.input_parts(resolved),
        "format": LOCK_FORMAT,
        "lock": {
            "platforms": list(public.platforms),
            "index_url": public.index_url,
            "extra_index_urls": list(public.extra_index_urls),
            "pypi": PYPI_SIMPLE,
            "channels": list(public.channels),
            "pip": list(public.pip_requirements),
            "conda": list(public.conda),
        },
    }


def lock_digest(project: Project, resolved: Resolved) -> str:
    """Digest of everything a lock depends on (see ``lock_inputs``)."""
    return inputs_digest(lock_inputs(project, resolved))


def _targets(
    env: ResolvedEnv, directory: Path, conda: bool, pylock: bool = False
) -> list[tuple[Path, str, str | None]]:
    targets: list[tuple[Path, str, str | None]] = []
    if env.pip_requirements:
        targets += [(directory / pip_lock_name(p), "pip", p) for p in env.platforms]
        if pylock:
            targets.append((directory / PYLOCK_FILE, "pylock", None))
    if conda:
        targets.append((directory / CONDA_LOCK_FILE, "conda", None))
    return targets


def read_lock_text(path: Path, *, missing_ok: bool = False) -> str | None:
    """A lock's text: a regular file of sane size inside its directory, else an error."""
    from .readfile import LARGE, read_text

    return read_text(
        path,
        what="lock",
        limit=LARGE,
        missing_ok=missing_ok,
        inside=path.parent,
        fix="re-lock with 'envgen lock' (or restore the lock from version control)",
        replace=True,
    )


def _state(path: Path, digest: str, public: PublicUrls | None = None) -> tuple[str, str | None]:
    """``public``: check that a current lock names public URLs only (pylock, conda-lock)."""
    text = read_lock_text(path, missing_ok=True)
    if text is None:
        return MISSING, None
    if not is_generated(text):
        return FOREIGN, text
    recorded, intact = read_seal(text)
    if not intact:
        return EDITED, text
    if recorded != digest:
        return STALE, text
    if public is not None and public.carried(text):
        return NON_PUBLIC, text
    return CURRENT, text


def _public_urls(
    project: Project, resolved: Resolved, mirrors: Mapping[str, str] | None
) -> PublicUrls:
    from .public_urls import PublicUrls

    rules = Mirrors.from_mapping({**project.config.mirrors, **(mirrors or {})})
    return PublicUrls.for_env(public_env(project, resolved), rules)


def _url_bearing(kind: str) -> bool:
    """Locks that name artifacts by URL; the requirements locks leave them to the index."""
    return kind in ("pylock", "conda")


def _rule_state(
    project: Project, resolved: Resolved, kind: str, path: Path, state: str, text: str | None
) -> tuple[str, str]:
    """(state, reason): a current lock whose own content breaks the torch-family rule is
    UNSAFE; the seal alone proves nothing (anyone can recompute it)."""
    if state != CURRENT or text is None:
        return state, ""
    from .lockrules import expected, lock_problem

    problem = lock_problem(kind, text, expected(project, resolved), project.display(path))
    return (UNSAFE, problem) if problem else (state, "")


def lock_states(
    project: Project,
    name: str,
    output_dir: Path | None = None,
    *,
    mirrors: Mapping[str, str] | None = None,
    conda: bool | None = None,
    pylock: bool | None = None,
) -> list[LockState]:
    """Every lock file ``envgen lock NAME`` writes, and whether it is current (for ``check``).

    ``conda=None`` expects ``conda-lock.yml`` only where one exists (a profile locked with
    --no-conda has none); ``pylock=None`` likewise for ``pylock.toml``.
    """
    resolved = project.resolve(name, mirrors)
    directory = output_dir or project.output_dir(name)
    parts = lock_inputs(project, resolved)
    digest = inputs_digest(parts)
    if conda is None:
        conda = (directory / CONDA_LOCK_FILE).exists()
    if pylock is None:
        pylock = (directory / PYLOCK_FILE).exists()
    public = _public_urls(project, resolved, mirrors) if conda or pylock else None
    states = []
    for path, kind, platform in _targets(resolved.env, directory, conda, pylock):
        state, text = _state(path, digest, public if _url_bearing(kind) else None)
        state, reason = _rule_state(project, resolved, kind, path, state, text)
        if state == STALE and text:
            reason = project.stale_reason(resolved, text, parts)
        if state == NON_PUBLIC and text and public is not None:
            reason = redact(public.carried(text)[0])
        states.append(LockState(path, kind, platform, state, reason))
    return states


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
        if env.accelerator == "cuda" and env.variant.version:
            wanted["__cuda"] = env.variant.version
        if platform.startswith("linux"):
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


def lock_profile(
    project: Project,
    name: str,
    *,
    engine: str = "auto",
    upgrade: bool = False,
    mirrors: Mapping[str, str] | None = None,
    conda: bool = True,
    output_dir: Path | None = None,
    force: bool = False,
    progress: Progress | None = None,
    pylock: bool | None = None,
) -> LockResult:
    """Lock profile ``name`` into ``output_dir`` (default: its render directory).

    ``pylock`` also writes ``pylock.toml`` (PEP 751); None keeps one current where it exists.
    """
    started = time.perf_counter()
    say = progress or (lambda _text: None)
    resolved = project.resolve(name, mirrors)
    env = resolved.env
    directory = output_dir or project.output_dir(name)
    project.warn_dropped_outputs(resolved, directory, conda)
    pypi = pypi_url(project, mirrors)
    parts = lock_inputs(project, resolved)
    digest = inputs_digest(parts)
    if pylock is None:
        pylock = (directory / PYLOCK_FILE).exists()
    targets = _targets(env, directory, conda, pylock)
    public = _public_urls(project, resolved, mirrors) if conda or pylock else None
    states = []
    for path, kind, _ in targets:
        state, text = _state(path, digest, public if _url_bearing(kind) else None)
        state = _rule_state(project, resolved, kind, path, state, text)[0]
        states.append((path, (state, text)))
    same_engine = (
        engine == "auto" or not conda or _recorded_engine(directory / CONDA_LOCK_FILE) == engine
    )
    if not upgrade and same_engine and all(s == CURRENT for _, (s, _) in states):
        return LockResult(
            name,
            directory,
            True,
            tuple(LockedFile(p, k, pl, "unchanged") for p, k, pl in targets),
            env.platforms,
            None,
            digest,
            {"total": time.perf_counter() - started},
        )
    if not force:
        _refuse_lost_work([(p, s) for p, (s, _) in states], project)
    every_mirror = Mirrors.from_mapping({**project.config.mirrors, **(mirrors or {})})
    job = _Job(
        project=project,
        env=env,
        public=public_env(project, resolved),
        to_public=_to_public(every_mirror),
        digest=digest,
        parts=parts_line(parts),
        spec_text=_spec_text(project, resolved) if conda else None,
        mirrors=every_mirror,
    )
    # --upgrade: what the pip locks held is looked up afresh (see lockers.uv.upgrade_refresh).
    upgrading = [
        old or ""
        for (_, kind, _), (_, (_, old)) in zip(targets, states, strict=True)
        if kind == "pip"
    ]
    contents, timings, used = _solve(
        job, pypi, directory, conda, engine, upgrading if upgrade else None, say, pylock
    )
    for path, kind, _ in targets:
        if _url_bearing(kind) and public is not None:
            _refuse_mirror_urls(project, path, public.carried(contents[path]))
    files = []
    for (path, kind, platform), (_, (_, old)) in zip(targets, states, strict=True):
        text = contents[path]
        if old == text:
            action = "unchanged"
        else:
            write_atomic(path, text)
            action = "wrote" if old is None else "updated"
        files.append(LockedFile(path, kind, platform, action))
    timings["total"] = time.perf_counter() - started
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

    public = Resolved(resolved.profile, public_env(project, resolved))
    (rendered,) = project.render(public, [SPEC_OUTPUT])
    return rendered.content


def _public_solution(solution: PipSolution, to_public: Callable[[str], str]) -> PipSolution:
    from dataclasses import replace

    packages = tuple(
        replace(p, url=to_public(p.url), index=to_public(p.index)) for p in solution.lock.packages
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
    from .lockers.targets import GLIBC
    from .lockers.uv import PipIndexes, UnreachableIndex, lock_pip, upgrade_refresh

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
