"""``create``'s core: build a profile's environment with the right Python, from its lock if any.

Pipeline stage after render/lock: a ``ResolvedEnv`` plus the lock files (or freshly rendered
requirements) become a ``CreatePlan`` that one backend (``envgen.backends``) carries out.
The build itself, at the environment's final path and under its lock, is ``prefix_build``.
"""

from __future__ import annotations

import os
import platform as platform_mod
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from . import __version__
from .backends import BACKENDS, CONDA_TOOLS, backend
from .backends.base import CreatePlan, Progress
from .digest import canonical_json, inputs_digest, sha256_text
from .envlock import PrefixLock
from .envmeta import EnvMarker, default_prefix, env_python, read_marker
from .errors import EnvgenError, ToolError
from .formats import installed_from
from .interpreters import Interpreter, select
from .leftovers import temporary_directory
from .lockstate import LockState, lock_states, read_lock_text
from .output import CURRENT, MISSING
from .prefix_build import aside, build, existing_marker, recover
from .prefix_rules import check_prefix, check_replaceable
from .project import Project, Resolved
from .resolve import ResolvedEnv
from .specs import conda_spec_name
from .targets import platform_of

Installer = Literal["auto", "uv", "pip"]
INSTALLERS: tuple[Installer, ...] = ("auto", "uv", "pip")
DEFAULT_WAIT = 600.0  # seconds a second create of the same environment waits for the first


@dataclass(frozen=True)
class CreateResult:
    profile: str
    prefix: Path
    backend: str
    reason: str  # why this backend (auto says what it picked and why)
    status: Literal["created", "rebuilt", "up-to-date"]
    python: str  # version inside the environment
    interpreter: str | None  # the base interpreter (venv)
    installer: str | None  # uv | pip for the pip part, None when there was none
    sources: tuple[str, ...]  # what it was built from, as shown to the user
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "prefix": str(self.prefix),
            "backend": self.backend,
            "reason": self.reason,
            "status": self.status,
            "python": self.python,
            "interpreter": self.interpreter,
            "installer": self.installer,
            "sources": list(self.sources),
            "seconds": round(self.seconds, 3),
        }


def current_platform() -> str:
    """This machine as a conda subdir (linux-64, osx-arm64, win-64, …); one envgen does not
    target is named for messages (win-arm64)."""
    machine = platform_mod.machine().lower()
    found = platform_of(sys.platform, machine)
    if found is not None:
        return found.name
    system = {"darwin": "osx", "win32": "win"}.get(sys.platform, sys.platform)
    return f"{system}-{machine}"


def is_pip_only(env: ResolvedEnv) -> bool:
    """Pip wheels for torch and no conda package beyond python and pip: a venv is enough."""
    extra = {conda_spec_name(spec) for spec in env.conda} - {"python", "pip"}
    return env.source == "pip" and not extra


def choose_backend(env: ResolvedEnv, requested: str) -> tuple[str, str]:
    """(backend, why): the one asked for, or auto's pick from the profile and this machine."""
    if requested != "auto":
        if requested not in BACKENDS:
            raise EnvgenError(
                f"unknown backend '{requested}'", key="--backend", fix="use " + ", ".join(BACKENDS)
            )
        why = backend(requested).unavailable()
        if why:
            raise ToolError(
                f"the {requested} backend cannot run here: {why}",
                key="--backend",
                fix="use --backend auto, or install it",
            )
        return requested, "asked for with --backend"
    if is_pip_only(env):
        return "venv", "the profile is pip-only (source: pip, no conda packages beyond python, pip)"
    needs = ", ".join(
        n for n in (conda_spec_name(s) for s in env.conda) if n not in ("python", "pip")
    )
    why = f"source: {env.source}" + (f", conda packages {needs}" if needs else "")
    for tool in CONDA_TOOLS:
        if backend(tool).unavailable() is None:
            return tool, f"the profile needs conda ({why}) and {tool} is installed"
    return "rattler", f"the profile needs conda ({why}); no conda, mamba or micromamba here"


def _quiet(_text: str) -> None:
    """Progress for a look-ahead whose findings are reported again later."""


@dataclass(frozen=True)
class _Inputs:
    """The files a create installs from, and the digest the finished marker records."""

    pip_file: Path | None
    pip_hashed: bool
    conda_lock: Path | None
    environment_file: Path | None
    shown: tuple[str, ...]
    digest: str


def _current_lock(project: Project, name: str, state: LockState | None) -> Path | None:
    """The current lock of one kind (None when there is none); a stale or edited one refused."""
    if state is None or state.state == MISSING:
        return None
    if state.state != CURRENT:
        raise EnvgenError(
            f"{project.display(state.path)} is {state.describe}",
            fix=f"re-lock with 'envgen lock {name}' (or delete it to install from the "
            "profile's pins)",
        )
    return state.path


def _inputs(
    project: Project,
    resolved: Resolved,
    chosen: str,
    python: str,
    platform: str,
    work: Path,
) -> _Inputs:
    env = resolved.env
    files: dict[str, str] = {}
    pip_file: Path | None = None
    pip_hashed = False
    conda_lock = environment_file = None
    locks: dict[tuple[str, str | None], LockState] = {}
    if chosen != "venv" or env.pip_requirements:  # a venv without pip packages reads no lock
        conda = True if chosen != "venv" else None  # a venv never installs the conda lock
        for state in lock_states(project, resolved, conda=conda):
            locks[(state.kind, state.platform)] = state
    if chosen != "venv":
        conda_lock = _current_lock(project, env.name, locks.get(("conda", None)))
        if conda_lock is not None:
            files[project.display(conda_lock)] = read_lock_text(conda_lock) or ""
    if env.pip_requirements and conda_lock is None:
        pip_file = _current_lock(project, env.name, locks.get(("pip", platform)))
        pip_hashed = pip_file is not None
        if pip_file is not None:
            files[project.display(pip_file)] = read_lock_text(pip_file) or ""
    # Rendered now from the profile (not read from disk): the profile is the truth, and a
    # rendered file that is stale or edited must not decide what gets installed.
    wanted = []
    if pip_file is None and conda_lock is None and env.pip_requirements and chosen != "conda":
        wanted.append(installed_from("pip"))
    if conda_lock is None and chosen not in ("venv", "rattler"):
        wanted.append(installed_from("conda"))
    for rendered in project.render(resolved, wanted) if wanted else []:
        path = work / rendered.name
        path.write_text(rendered.content, encoding="utf-8")
        files[f"profile {env.name} ({rendered.name})"] = rendered.content
        if rendered.name == installed_from("pip"):
            pip_file = path
        else:
            environment_file = path
    if chosen == "rattler" and conda_lock is None:
        files["conda specs"] = canonical_json([list(env.conda), list(env.channels)])
    digest = inputs_digest(
        {
            "backend": chosen,
            "python": python,
            "platform": platform,
            "files": {k: sha256_text(v) for k, v in sorted(files.items())},
        }
    )
    return _Inputs(pip_file, pip_hashed, conda_lock, environment_file, tuple(sorted(files)), digest)


class CreateOptions(NamedTuple):
    """How ``envgen create`` runs (its command-line options)."""

    backend: str = "auto"  # auto | venv | conda | mamba | micromamba | rattler
    python: Path | None = None  # the interpreter to build a venv from
    prefix: Path | None = None  # default: .envgen/envs/NAME
    force: bool = False  # rebuild even an up-to-date environment
    installer: Installer = "auto"  # what installs the pip part
    wait: float = DEFAULT_WAIT  # seconds a second create of the same environment waits
    environ: Mapping[str, str] | None = None  # base environment of every tool run (ours)
    progress: Progress | None = None


def create_env(
    project: Project, resolved: Resolved, options: CreateOptions | None = None
) -> CreateResult:
    """Create ``resolved``'s environment (one profile, resolved once by the caller, through the
    mirrors in force) and return what happened.

    An existing finished environment built from the same inputs is left alone ("up-to-date")
    unless ``force``; one built from other inputs is rebuilt (the old one is kept until the new
    one is finished).
    """
    try:
        return _create_env(project, resolved, options or CreateOptions())
    except OSError as exc:
        import errno

        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = exc.filename if isinstance(exc.filename, str) else "a file"
        raise EnvgenError(
            f"the disk is full: cannot write {where} ({exc.strerror})",
            fix="free some disk space, then run again (the partial environment was removed)",
        ) from None


def _create_env(project: Project, resolved: Resolved, options: CreateOptions) -> CreateResult:
    started = time.perf_counter()
    say = options.progress or (lambda _text: None)
    installer, python, prefix, force = (
        options.installer,
        options.python,
        options.prefix,
        options.force,
    )
    if installer not in INSTALLERS:
        raise EnvgenError(
            f"unknown installer '{installer}'", key="--installer", fix="use auto, uv or pip"
        )
    env = resolved.env
    name = env.name
    platform = current_platform()
    if platform not in env.platforms:
        raise EnvgenError(
            f"profile '{name}' targets {', '.join(env.platforms)}, not this machine ({platform})",
            key="platforms",
            fix=f"add {platform} to the profile's platforms if PyTorch publishes builds for it",
        )
    chosen, reason = choose_backend(env, options.backend)
    say(f"backend: {chosen} ({reason})")
    interpreter: Interpreter | None = None
    if chosen == "venv":
        interpreter = select(env.python, explicit=python)
        found = f"Python {interpreter.version} at {interpreter.path} ({interpreter.origin})"
        say(f"interpreter: {found}")
    elif python is not None:
        raise EnvgenError(
            f"--python applies to the venv backend; {chosen} installs Python {env.python} "
            "from the channel",
            key="--python",
            fix="drop --python, or use --backend venv",
        )
    final = (prefix or default_prefix(project.config.root, name)).absolute()
    # Refused here, before the lock file, the building note or a temporary folder exist.
    check_prefix(final, project.config.root, given=prefix is not None)
    if not aside(final, "building").exists():  # else: a killed create's remains, recovered below
        check_replaceable(final, force=force, has_marker=existing_marker(final, force, _quiet)[1])
    with temporary_directory("envgen-create-") as work:
        version = interpreter.version if interpreter else env.python
        inputs = _inputs(project, resolved, chosen, version, platform, work)
        with PrefixLock(aside(final, "lock"), f"'{name}' at {final}", options.wait, say):
            recover(final, say)
            existing = existing_marker(final, force, say)[0]
            tool = None
            status: Literal["created", "rebuilt", "up-to-date"]
            if (
                not force
                and existing is not None
                and existing.inputs_digest == inputs.digest
                and existing.profile == name
                and (env_python(final).exists() or (final / "conda-meta").is_dir())
            ):
                status, version = "up-to-date", existing.python
            else:
                if existing is not None and not force:
                    say(f"{final} was built from other inputs: rebuilding it")
                plan = CreatePlan(
                    env=env,
                    prefix=final,
                    platform=platform,
                    interpreter=interpreter,
                    pip_file=inputs.pip_file,
                    pip_hashed=inputs.pip_hashed,
                    conda_lock=inputs.conda_lock,
                    environment_file=inputs.environment_file,
                    installer=installer,
                    mirrors=resolved.mirrors,
                    work_dir=work,
                    environ=dict(os.environ if options.environ is None else options.environ),
                    progress=say,
                )
                marker = EnvMarker(
                    profile=name,
                    backend=chosen,
                    python=version,
                    inputs_digest=inputs.digest,
                    source_files=inputs.shown,
                    envgen_version=__version__,
                )
                status, tool = build(final, plan, force, marker)
                version = (read_marker(final) or marker).python
    return CreateResult(
        profile=name,
        prefix=final,
        backend=chosen,
        reason=reason,
        status=status,
        python=version,
        interpreter=str(interpreter.path) if interpreter else None,
        installer=tool,
        sources=inputs.shown,
        seconds=time.perf_counter() - started,
    )
