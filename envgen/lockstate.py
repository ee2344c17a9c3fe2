"""What the locks on disk are: current, stale, edited, foreign, non-public or unsafe.

Every lock records the digest of what it was solved from (``lock_inputs``), so ``check``,
``create``, ``verify`` and an unchanged ``envgen lock`` answer from the files on disk, without
importing a solver. Reading a lock never trusts its seal alone: a current lock's own content
must keep the torch-family rule (``lockrules``) and name public URLs only (``public_urls``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .digest import inputs_digest, is_generated, read_seal
from .formats import CONDA_LOCK as CONDA_LOCK_FILE
from .formats import PYLOCK as PYLOCK_FILE  # written on request, then kept current
from .formats import pip_lock_name
from .mirrors import Mirrors, redact
from .output import CURRENT, EDITED, FOREIGN, MISSING, STALE
from .project import Project, Resolved
from .resolve import PYPI_SIMPLE, ResolvedEnv, resolve

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .public_urls import PublicUrls

LOCK_FORMAT = 2  # bump when a lock's layout changes, so every lock reads as stale
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
