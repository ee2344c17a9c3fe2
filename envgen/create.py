"""``create``'s core: build a profile's environment with the right Python, from its lock if any.

Pipeline stage after render/lock: a ``ResolvedEnv`` plus the lock files (or freshly rendered
requirements) become a ``CreatePlan`` that one backend (``envgen.backends``) carries out.

Where the environment is built, and why there: **at its final path**, not in a staging directory
renamed afterwards. Every backend writes absolute paths into what it installs: a venv's
``pyvenv.cfg``, activation scripts and console-script shebangs; conda's prefix replacement in
text and binary files; pip/uv shebangs in a conda prefix. A renamed prefix would start but break
in those places. So "unfinished" is recorded instead of hidden:

* the finished marker (``envmeta``) is written last, so an environment without it is unfinished
  and ``verify``/``run`` refuse it;
* a ``.NAME.envgen-building`` file next to the prefix exists for the whole build; a create that
  finds one (while holding the lock, so its writer is dead) removes the remains and starts over;
* a failure or interrupt (Ctrl-C, SIGTERM) removes the partial prefix before re-raising, and
  ``--force`` moves the old environment aside first and puts it back if the rebuild fails;
* an OS lock next to the prefix (``envlock``) makes a second create of the same environment wait
  (``wait`` seconds) and then refuse, naming the holder.
"""

from __future__ import annotations

import json
import os
import platform as platform_mod
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

from . import __version__
from .backends import BACKENDS, CONDA_TOOLS, backend
from .backends._run import no_room
from .backends.base import CreatePlan, Progress
from .digest import canonical_json, inputs_digest, sha256_text
from .envlock import PrefixLock
from .envmeta import MARKER, EnvMarker, default_prefix, env_python, read_marker, write_marker
from .errors import EnvgenError, ToolError
from .interpreters import Interpreter, probe, select
from .leftovers import sweep, tag, temporary_directory
from .lock import read_lock_text
from .mirrors import Mirrors
from .output import CURRENT, MISSING
from .prefix_rules import check_prefix, check_replaceable
from .project import Project, Resolved
from .readfile import LARGE, read_text
from .resolve import ResolvedEnv
from .specs import conda_spec_name

INSTALLERS = ("auto", "uv", "pip")
DEFAULT_WAIT = 600.0  # seconds a second create of the same environment waits for the first
_MACHINES = {"x86_64": "64", "amd64": "64", "aarch64": "aarch64", "arm64": "arm64"}


@dataclass(frozen=True)
class CreateResult:
    profile: str
    prefix: Path
    backend: str
    reason: str  # why this backend (auto says what it picked and why)
    status: str  # created | rebuilt | up-to-date
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
    """This machine as a conda subdir (linux-64, osx-arm64, win-64, …)."""
    system = {"linux": "linux", "darwin": "osx", "win32": "win"}.get(sys.platform, sys.platform)
    machine = platform_mod.machine().lower()
    arch = _MACHINES.get(machine, machine)
    if system == "linux" and arch == "arm64":
        arch = "aarch64"
    if system == "osx" and arch == "aarch64":
        arch = "arm64"
    return f"{system}-{arch}"


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


def _lock_file(
    project: Project, name: str, kind: str, platform: str | None, mirrors: Any
) -> Path | None:
    """The current lock of ``kind`` (for ``platform``), None when there is none; stale refused."""
    from .lock import lock_states

    for state in lock_states(project, name, mirrors=mirrors, conda=kind == "conda" or None):
        if state.kind != kind or (platform is not None and state.platform != platform):
            continue
        if state.state == MISSING:
            return None
        if state.state != CURRENT:
            raise EnvgenError(
                f"{project.display(state.path)} is {state.describe}",
                fix=f"re-lock with 'envgen lock {name}' (or delete it to install from the "
                "profile's pins)",
            )
        return state.path
    return None


def _inputs(
    project: Project,
    resolved: Resolved,
    chosen: str,
    python: str,
    platform: str,
    mirrors: Mapping[str, str] | None,
    work: Path,
) -> _Inputs:
    env = resolved.env
    files: dict[str, str] = {}
    pip_file: Path | None = None
    pip_hashed = False
    conda_lock = environment_file = None
    if chosen != "venv":
        conda_lock = _lock_file(project, env.name, "conda", None, mirrors)
        if conda_lock is not None:
            files[project.display(conda_lock)] = read_lock_text(conda_lock) or ""
    if env.pip_requirements and conda_lock is None:
        pip_file = _lock_file(project, env.name, "pip", platform, mirrors)
        pip_hashed = pip_file is not None
        if pip_file is not None:
            files[project.display(pip_file)] = read_lock_text(pip_file) or ""
    # Rendered now from the profile (not read from disk): the profile is the truth, and a
    # rendered file that is stale or edited must not decide what gets installed.
    wanted = []
    if pip_file is None and conda_lock is None and env.pip_requirements and chosen != "conda":
        wanted.append("requirements.txt")
    if conda_lock is None and chosen not in ("venv", "rattler"):
        wanted.append("environment.yml")
    for rendered in project.render(resolved, wanted) if wanted else []:
        path = work / rendered.name
        path.write_text(rendered.content, encoding="utf-8")
        files[f"profile {env.name} ({rendered.name})"] = rendered.content
        if rendered.name == "requirements.txt":
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


# -- the build, under the lock -------------------------------------------------------------------


def _aside(final: Path, suffix: str) -> Path:
    return final.with_name(f".{final.name}.envgen-{suffix}")


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _recover(final: Path, progress: Progress) -> None:
    """Undo what an interrupted create left (its building note says what it moved aside).

    The note is written before the old environment is moved aside and removed only after the
    old one is out of the way, so: a recorded backup that exists means ``final`` is partial (put
    the backup back); a recorded backup that is gone means ``final`` is whole (the move had not
    happened yet, or the new build had finished); no backup means ``final`` is partial.
    """
    sweep(final.parent, f".{final.name}.envgen-trash-")  # old environments being deleted
    note = _aside(final, "building")
    if not note.exists():
        return
    try:
        text = read_text(note, what="building note", missing_ok=True)
        backup = json.loads(text or "{}").get("backup")
    except (EnvgenError, ValueError, AttributeError, RecursionError):
        backup = None
    if backup and not Path(backup).exists():
        note.unlink()
        return
    progress(f"removing the remains of an interrupted create at {final}")
    _remove(final)
    if backup:
        Path(backup).replace(final)  # the finished environment it was replacing, intact
    note.unlink()


def _discard(old: Path) -> None:
    """Delete a replaced environment: renamed first, so a kill mid-delete leaves only trash."""
    trash = old.with_name(tag(f".{old.name.split('.envgen-')[0].lstrip('.')}.envgen-trash-"))
    old.replace(trash)
    _remove(trash)


def _python_inside(prefix: Path, chosen: str, interpreter: Interpreter | None) -> str:
    """The Python version the new environment holds, asked of its interpreter.

    A venv runs the interpreter it was made from, already asked (and the installer has run
    the venv's python since): that answer stands, without starting Python once more. A conda
    prefix whose python cannot run here (another platform's build, a test channel's stand-in)
    still records the version of its conda-meta python record.
    """
    if chosen == "venv" and interpreter is not None and env_python(prefix).exists():
        return interpreter.version
    found = probe(env_python(prefix), "env") if env_python(prefix).exists() else None
    if found is not None:
        return found.version
    if chosen != "venv":
        for record in sorted((prefix / "conda-meta").glob("python-[0-9]*.json")):
            text = read_text(record, what="conda-meta record", limit=LARGE) or "{}"
            return str(json.loads(text)["version"])
    raise ToolError(
        f"the {chosen} backend finished but {env_python(prefix)} does not run",
        fix="check the profile's python and the channel; the environment was removed",
    )


def _existing_marker(final: Path, force: bool, progress: Progress) -> tuple[EnvMarker | None, bool]:
    """(the marker at ``final``, whether there is a marker file at all).

    A broken marker still says envgen built the environment: ``--force`` may replace it, and
    without ``--force`` the error says so, so the user is never stuck with it.
    """
    if not os.path.lexists(final / MARKER):  # a FIFO or a directory there is a broken marker
        return None, False
    try:
        return read_marker(final), True
    except EnvgenError:
        if not force:
            raise
        progress(f"{final / MARKER} is unreadable: --force replaces the environment")
        return None, True


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI cancel, ``kill``) unwinds like Ctrl-C, so the cleanup below still runs."""
    if threading.current_thread() is not threading.main_thread() or sys.platform == "win32":
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _build(final: Path, plan: CreatePlan, force: bool, marker: EnvMarker) -> tuple[str, str | None]:
    """Build at ``final``, marker last; (created | rebuilt, pip installer). Cleans up on failure."""
    progress = plan.progress
    _, marked = _existing_marker(final, force, progress)
    backup: Path | None = None
    check_replaceable(final, force=force, has_marker=marked)
    if final.exists() and not (marked or any(final.iterdir())):
        final.rmdir()
    if final.exists():
        backup = _aside(final, "old")
        if backup.exists():
            _discard(backup)
    note = _aside(final, "building")
    try:
        note.write_text(
            json.dumps({"pid": os.getpid(), "backup": str(backup) if backup else None}) + "\n",
            encoding="utf-8",
        )
    except OSError as exc:
        raise EnvgenError(
            f"cannot write {note}: {exc.strerror or exc}",
            fix="make the prefix's directory writable and check the disk is not full",
        ) from None
    if backup is not None:
        final.replace(backup)  # after the note: a kill from here on is undone by _recover
    try:
        with _sigterm_as_interrupt():
            tool = backend(marker.backend).create(plan)
            marker = replace(marker, python=_python_inside(final, marker.backend, plan.interpreter))
            write_marker(final, marker)  # last: from here on the environment is finished
    except BaseException as exc:
        # Asked before the remains go (they are what filled it): a tool may have lost the reason.
        full = no_room(final.parent) if isinstance(exc, EnvgenError) else None
        progress(f"create failed: removing the partial environment at {final}")
        _remove(final)
        if backup is not None:
            backup.replace(final)
            progress(f"the previous environment is back at {final}")
        note.unlink(missing_ok=True)
        if full is not None and isinstance(exc, EnvgenError) and full not in exc.message:
            raise ToolError(
                f"{full} at {final.parent}: {exc.message}",
                fix="free some disk space, then run again (the partial environment was removed)",
            ) from None
        raise
    if backup is not None:
        _discard(backup)  # before the note goes: _recover then sees "backup gone, final whole"
    note.unlink()
    return ("rebuilt" if backup is not None else "created"), tool


def create_env(
    project: Project,
    name: str,
    *,
    backend: str = "auto",
    python: Path | None = None,
    prefix: Path | None = None,
    force: bool = False,
    mirrors: Mapping[str, str] | None = None,
    installer: str = "auto",
    wait: float = DEFAULT_WAIT,
    environ: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> CreateResult:
    """Create profile ``name``'s environment (default: .envgen/envs/NAME) and return what happened.

    An existing finished environment built from the same inputs is left alone ("up-to-date")
    unless ``force``; one built from other inputs is rebuilt (the old one is kept until the new
    one is finished). ``environ`` is the base environment of every tool run (default: ours).
    """
    try:
        return _create_env(
            project,
            name,
            backend=backend,
            python=python,
            prefix=prefix,
            force=force,
            mirrors=mirrors,
            installer=installer,
            wait=wait,
            environ=environ,
            progress=progress,
        )
    except OSError as exc:
        import errno

        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = exc.filename if isinstance(exc.filename, str) else "a file"
        raise EnvgenError(
            f"the disk is full: cannot write {where} ({exc.strerror})",
            fix="free some disk space, then run again (the partial environment was removed)",
        ) from None


def _create_env(
    project: Project,
    name: str,
    *,
    backend: str,
    python: Path | None,
    prefix: Path | None,
    force: bool,
    mirrors: Mapping[str, str] | None,
    installer: str,
    wait: float,
    environ: Mapping[str, str] | None,
    progress: Progress | None,
) -> CreateResult:
    started = time.perf_counter()
    say = progress or (lambda _text: None)
    if installer not in INSTALLERS:
        raise EnvgenError(
            f"unknown installer '{installer}'", key="--installer", fix="use auto, uv or pip"
        )
    resolved = project.resolve(name, mirrors)
    env = resolved.env
    platform = current_platform()
    if platform not in env.platforms:
        raise EnvgenError(
            f"profile '{name}' targets {', '.join(env.platforms)}, not this machine ({platform})",
            key="platforms",
            fix=f"add {platform} to the profile's platforms if PyTorch publishes builds for it",
        )
    chosen, reason = choose_backend(env, backend)
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
    if not _aside(final, "building").exists():  # else: a killed create's remains, recovered below
        check_replaceable(final, force=force, has_marker=_existing_marker(final, force, _quiet)[1])
    all_mirrors = Mirrors.from_mapping({**project.config.mirrors, **(mirrors or {})})
    with temporary_directory("envgen-create-") as work:
        version = interpreter.version if interpreter else env.python
        inputs = _inputs(project, resolved, chosen, version, platform, mirrors, work)
        with PrefixLock(_aside(final, "lock"), f"'{name}' at {final}", wait, say):
            _recover(final, say)
            existing = _existing_marker(final, force, say)[0]
            tool = None
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
                    mirrors=all_mirrors,
                    work_dir=work,
                    environ=dict(os.environ if environ is None else environ),
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
                status, tool = _build(final, plan, force, marker)
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
