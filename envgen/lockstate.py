"""What the locks on disk are: current, stale, edited, foreign, non-public or unsafe.

Every lock records the digest of what it was solved from (``lock_inputs``), so ``check``,
``create``, ``verify`` and an unchanged ``envgen lock`` answer from the files on disk, without
importing a solver. Reading a lock never trusts its seal alone: a current lock's own content
must keep the torch-family rule (``lockrules``) and name public URLs only (``public_urls``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

from .digest import inputs_digest, is_generated, read_seal
from .formats import CONDA_LOCK as CONDA_LOCK_FILE
from .formats import PYLOCK as PYLOCK_FILE  # written on request, then kept current
from .formats import LockKind, pip_lock_name
from .mirrors import redact
from .output import CURRENT, EDITED, FOREIGN, MISSING, STALE, FileStatus
from .project import Project, Resolved
from .resolve import PYPI_SIMPLE, ResolvedEnv

if TYPE_CHECKING:
    from .lockrules import Expected
    from .public_urls import PublicUrls

LockStatus = FileStatus | Literal["non-public", "unsafe"]
LOCK_FORMAT = 2  # bump when a lock's layout changes, so every lock reads as stale
# A sealed, current lock that names a mirror's URL (written by an older envgen, or by hand):
# check fails on it and lock re-solves it.
NON_PUBLIC: Final = "non-public"
# Sealed and current by its digests, but its own content breaks the torch-family rule
# (lockrules): a lock edited and resealed by hand. Refused like an edited one.
UNSAFE: Final = "unsafe"
_DESCRIBE = {
    NON_PUBLIC: "carries a URL that is not a public one",
    UNSAFE: "not what envgen locks",
    CURRENT: "up to date",
    MISSING: "missing (run envgen lock)",
    STALE: "stale: its inputs changed since it was locked",
    EDITED: "edited by hand since envgen wrote it",
    FOREIGN: "not written by envgen",
}


class LockState(NamedTuple):
    """What a lock file on disk is, compared with the inputs it would be locked from now."""

    path: Path
    kind: LockKind
    platform: str | None
    state: LockStatus
    reason: str = ""  # for a stale lock: which inputs changed, in words
    text: str | None = None  # what the file holds (None: missing)

    @property
    def describe(self) -> str:
        if self.state == STALE and self.reason:
            return f"stale: {self.reason} since it was locked"
        if self.state == NON_PUBLIC and self.reason:
            return f"{_DESCRIBE[self.state]} ({self.reason}): a mirror's URL must not be committed"
        if self.state == UNSAFE:
            return f"not what envgen locks: {self.reason} (edited by hand and resealed?)"
        return _DESCRIBE[self.state]


class Locks(NamedTuple):
    """A profile's locks as they stand: what they would be solved from now (``parts``, whose
    digest every current lock records), and each file's state."""

    parts: dict[str, Any]
    digest: str
    states: list[LockState]

    @property
    def current(self) -> bool:
        return all(s.state == CURRENT for s in self.states)


def lock_inputs(project: Project, resolved: Resolved) -> dict[str, Any]:
    """Everything a lock depends on, by part (for its digest and for naming what changed).

    Mirrors are not part of it: a lock holds canonical URLs and hashes that pin the bytes, and
    create rewrites every URL through the mirrors in force, so a lock is the same file and stays
    current whichever mirror it was made or is installed through (``resolved.public``: the
    profile through no mirror). envgen's version is not part of it (``format`` is bumped when
    the layout changes). The conda engine is not part of it either: both write the same file
    for the same inputs, and "auto" picks differently on machines with and without conda.
    ``--engine NAME`` still re-locks another engine's lock.
    """
    public = resolved.public
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


def lock_targets(
    env: ResolvedEnv, directory: Path, conda: bool, pylock: bool = False
) -> list[tuple[Path, LockKind, str | None]]:
    """Every lock file of ``env`` in ``directory``: (path, kind, platform of a pip lock)."""
    targets: list[tuple[Path, LockKind, str | None]] = []
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


def _state(
    path: Path, digest: str, public: PublicUrls | None = None
) -> tuple[LockStatus, str | None]:
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


def public_urls(resolved: Resolved) -> PublicUrls:
    """What a committed lock of ``resolved`` may name: public URLs, never a mirror's."""
    from .public_urls import PublicUrls

    return PublicUrls.for_env(resolved.public, resolved.mirrors)


def url_bearing(kind: str) -> bool:
    """Locks that name artifacts by URL; the requirements locks leave them to the index."""
    return kind in ("pylock", "conda")


def read_locks(
    project: Project,
    resolved: Resolved,
    output_dir: Path | None = None,
    *,
    conda: bool | None = None,
    pylock: bool | None = None,
) -> Locks:
    """Every lock file ``envgen lock NAME`` writes for ``resolved``, and what each is.

    ``conda=None`` expects ``conda-lock.yml`` only where one exists (a profile locked with
    --no-conda has none); ``pylock=None`` likewise for ``pylock.toml``. A current lock whose
    own content breaks the torch-family rule is UNSAFE: the seal alone proves nothing (anyone
    can recompute it).
    """
    name = resolved.env.name
    directory = output_dir or project.output_dir(name)
    parts = lock_inputs(project, resolved)
    digest = inputs_digest(parts)
    if conda is None:
        conda = (directory / CONDA_LOCK_FILE).exists()
    if pylock is None:
        pylock = (directory / PYLOCK_FILE).exists()
    public = public_urls(resolved) if conda or pylock else None
    rules: Expected | None = None
    states = []
    for path, kind, platform in lock_targets(resolved.env, directory, conda, pylock):
        state, text = _state(path, digest, public if url_bearing(kind) else None)
        reason = ""
        if state == CURRENT and text is not None:
            from .lockrules import expected, lock_problem

            rules = rules or expected(resolved.public, project.catalog.index_base)
            problem = lock_problem(kind, text, rules, project.display(path))
            if problem:
                state, reason = UNSAFE, problem
        if state == STALE and text:
            reason = project.stale_reason(resolved, text, parts)
        if state == NON_PUBLIC and text and public is not None:
            reason = redact(public.carried(text)[0])
        states.append(LockState(path, kind, platform, state, reason, text))
    return Locks(parts, digest, states)


def lock_states(
    project: Project,
    resolved: Resolved,
    output_dir: Path | None = None,
    *,
    conda: bool | None = None,
    pylock: bool | None = None,
) -> list[LockState]:
    """Every lock file ``envgen lock NAME`` writes, and whether it is current (for ``check``)."""
    return read_locks(project, resolved, output_dir, conda=conda, pylock=pylock).states
