"""Finding Python interpreters: which ones exist on this machine, and which one a profile wants.

The original pain envgen fixes is "pip installed torch into another Python", so every
interpreter is identified by asking it (its own sys.executable and version), never by its name.
Used by ``create`` (pick the interpreter) and ``doctor`` (report them, spot a pip mismatch).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import EnvgenError

PROBE_TIMEOUT = 10.0
# Runs under any Python from 2.7 on, so an old interpreter is still reported, not skipped.
_PROBE = (
    "import sys, json, platform; "
    "print(json.dumps({'executable': sys.executable, 'version': platform.python_version(), "
    "'prefix': sys.prefix, 'base_prefix': getattr(sys, 'base_prefix', sys.prefix), "
    "'implementation': platform.python_implementation().lower()}))"
)
ORIGIN_ORDER = ("explicit", "PATH", "pyenv", "uv", "py-launcher", "conda")


@dataclass(frozen=True)
class Interpreter:
    path: Path  # the executable as found (a venv's python stays a venv's python)
    executable: str  # what the interpreter says sys.executable is
    version: str  # e.g. 3.11.7
    origin: str  # explicit | PATH | pyenv | uv | py-launcher | conda
    prefix: str
    base_prefix: str
    implementation: str = "cpython"

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def is_venv(self) -> bool:
        return self.prefix != self.base_prefix

    def matches(self, wanted: str) -> bool:
        """'3.11' matches any 3.11.x; '3.11.7' matches only itself."""
        return self.version == wanted if wanted.count(".") >= 2 else self.minor == wanted

    def to_json(self) -> dict[str, str | bool]:
        return {
            "path": str(self.path),
            "executable": self.executable,
            "version": self.version,
            "origin": self.origin,
            "prefix": self.prefix,
            "is_venv": self.is_venv,
            "implementation": self.implementation,
        }


def probe(path: Path, origin: str, timeout: float = PROBE_TIMEOUT) -> Interpreter | None:
    """Ask ``path`` who it is; None when it is not a working Python."""
    from .toolout import READ_LIMIT, bounded_output

    try:
        proc = subprocess.Popen(
            [str(path), "-c", _PROBE],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_probe_env(),
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    # bounded: a "python3" on PATH that prints without end must not fill the memory
    output = bounded_output(proc, timeout, READ_LIMIT)
    if isinstance(output, str):
        proc.kill()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return None
    if isinstance(output, str) or code != 0:
        return None
    try:
        text = output[0].decode("utf-8", errors="replace")
        info = json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError, RecursionError):
        return None
    if not isinstance(info, dict):
        return None
    return Interpreter(
        path=path,
        executable=str(info["executable"]),
        version=str(info["version"]),
        origin=origin,
        prefix=str(info["prefix"]),
        base_prefix=str(info["base_prefix"]),
        implementation=str(info.get("implementation", "cpython")),
    )


# What probes answered, kept in envgen's cache by path and the file's identity (device, inode,
# size, times of the path and of what it links to), as uv keeps its own interpreter queries:
# a Python is started once, not on every create (each start costs a tenth of a second or
# more). Scripts are never kept: a pyenv shim or a wrapper may pick another Python by the
# working directory or the environment, so their answers hold only for that run.
_KNOWN = "interpreters.json"


def _identity(path: Path) -> list[int] | None:
    """What changes when ``path`` is replaced, upgraded or re-pointed; None for a script."""
    try:
        own, target = path.lstat(), path.stat()
        with path.open("rb") as fh:
            if fh.read(2) == b"#!":
                return None
    except OSError:
        return None
    return [
        value
        for st in (own, target)
        for value in (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    ]


def _known() -> dict[str, object]:
    from .cache import read_json

    found = read_json(_KNOWN)
    return found if isinstance(found, dict) else {}


def _remember(known: Mapping[str, object], learned: Mapping[str, object]) -> None:
    if learned:
        from .cache import write_json

        write_json(_KNOWN, {**known, **learned})


def _recall(
    path: Path, origin: str, known: Mapping[str, object], learned: dict[str, object]
) -> Interpreter | None:
    """``probe``, answered from the cache when ``path`` is the same file as when it was asked;
    a fresh answer worth keeping goes into ``learned``."""
    identity = _identity(path)
    entry = known.get(str(path))
    if identity is not None and isinstance(entry, dict) and entry.get("identity") == identity:
        info = entry.get("info")
        if isinstance(info, dict) and all(isinstance(info.get(k), str) for k in _FIELDS):
            return Interpreter(path=path, origin=origin, **{k: info[k] for k in _FIELDS})
    found = probe(path, origin)
    if found is not None and identity is not None and _same_file(path, found.executable):
        learned[str(path)] = {
            "identity": identity,
            "info": {k: getattr(found, k) for k in _FIELDS},
        }
    return found


_FIELDS = ("executable", "version", "prefix", "base_prefix", "implementation")


def _same_file(path: Path, executable: str) -> bool:
    """Whether the interpreter reports ``path`` itself as sys.executable (not a launcher that
    ran another Python)."""
    try:
        return path.samefile(executable)
    except OSError:
        return False


def _probe_env() -> dict[str, str]:
    # PYTHONHOME/PYTHONPATH from the caller would make every probed Python report the same lies.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}


def candidates(environ: Mapping[str, str] | None = None) -> list[tuple[Path, str]]:
    """Executables worth probing, with where each was found; cheap (no subprocess)."""
    env = os.environ if environ is None else environ
    found: list[tuple[Path, str]] = []
    exe = ".exe" if sys.platform == "win32" else ""
    for directory in env.get("PATH", "").split(os.pathsep):
        if not directory:
            continue
        base = Path(directory)
        names = ["python3", "python"] + [f"python3.{m}" for m in range(6, 16)]
        for name in names:
            path = base / (name + exe)
            if path.is_file() and os.access(path, os.X_OK):
                found.append((path, "PATH"))
    pyenv_root = Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found += [(p, "pyenv") for p in sorted(pyenv_root.glob("versions/*/bin/python3"))]
    uv_dir = Path(env.get("UV_PYTHON_INSTALL_DIR") or Path.home() / ".local/share/uv/python")
    found += [(p, "uv") for p in sorted(uv_dir.glob("*/bin/python3"))]
    found += [(p, "uv") for p in sorted(uv_dir.glob("*/python.exe"))]
    conda_prefix = env.get("CONDA_PREFIX")
    if conda_prefix:
        for rel in ("bin/python3", "python.exe"):
            if (Path(conda_prefix) / rel).is_file():
                found.append((Path(conda_prefix) / rel, "conda"))
    found += _py_launcher()
    return found


def _py_launcher() -> list[tuple[Path, str]]:
    """Windows' `py --list-paths`; nothing elsewhere."""
    launcher = shutil.which("py") if sys.platform == "win32" else None
    if not launcher:
        return []
    try:
        out = subprocess.run(
            [launcher, "--list-paths"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    paths = []
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[-1].lower().endswith("python.exe"):
            paths.append((Path(parts[-1]), "py-launcher"))
    return paths


def discover(
    environ: Mapping[str, str] | None = None, extra: Iterable[tuple[Path, str]] = ()
) -> list[Interpreter]:
    """Every working interpreter, one entry per real executable, best origin first."""
    seen: dict[str, tuple[Path, str]] = {}
    for path, origin in [*extra, *candidates(environ)]:
        try:
            key = str(path.resolve())
        except OSError:
            continue
        seen.setdefault(key, (path, origin))
    # Imported here: concurrent.futures (and the logging it loads) costs every create that
    # names its interpreter about 7 ms, and only discovery runs probes side by side.
    from concurrent.futures import ThreadPoolExecutor

    known, learned = _known(), dict[str, object]()
    with ThreadPoolExecutor(max_workers=8) as pool:
        probed = list(pool.map(lambda it: _recall(it[0], it[1], known, learned), seen.values()))
    _remember(known, learned)
    unique: dict[str, Interpreter] = {}
    for interp in probed:
        if interp is None:
            continue
        # pyenv shims, symlinks and python/python3 aliases share one prefix: keep the first.
        unique.setdefault(f"{interp.prefix}|{interp.version}", interp)
    return sorted(unique.values(), key=_listing_order)


def _listing_order(interp: Interpreter) -> tuple[int, tuple[int, ...]]:
    """Best origin first; within an origin by version as numbers (3.6 before 3.10, which a
    directory listing would reverse), except PATH, whose own order is what a shell uses."""
    if interp.origin == "PATH":
        return ORIGIN_ORDER.index(interp.origin), ()
    numbers = tuple(int(re.sub(r"\D.*", "", p) or 0) for p in interp.version.split("."))
    return ORIGIN_ORDER.index(interp.origin), numbers


def probe_explicit(path: Path) -> Interpreter:
    """The interpreter a user named with --python, or a clear refusal."""
    known, learned = _known(), dict[str, object]()
    interp = _recall(path, "explicit", known, learned)
    _remember(known, learned)
    if interp is None:
        raise EnvgenError(
            f"{path} is not a working Python interpreter",
            key="--python",
            fix="pass the path of a python executable",
        )
    return interp


def select(
    wanted: str,
    *,
    explicit: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Interpreter:
    """The interpreter for a profile's ``python`` ('3.11' or '3.11.7'), or a clear refusal."""
    if explicit is not None:
        interp = probe_explicit(explicit)
        if not interp.matches(wanted):
            raise EnvgenError(
                f"{explicit} is Python {interp.version}, but the profile asks for {wanted}",
                key="--python",
                fix=f"pass a Python {wanted} interpreter, or change the profile's python",
            )
        return interp
    found = discover(environ)
    matching = [i for i in found if i.matches(wanted) and not i.is_venv]
    if matching:
        best_origin = min(ORIGIN_ORDER.index(i.origin) for i in matching)
        best = [i for i in matching if ORIGIN_ORDER.index(i.origin) == best_origin]
        return max(best, key=lambda i: tuple(int(p) for p in i.version.split(".") if p.isdigit()))
    listing = ", ".join(f"{i.version} ({i.origin}: {i.path})" for i in found) or "none"
    minor = ".".join(wanted.split(".")[:2])
    raise EnvgenError(
        f"no Python {wanted} interpreter found; found: {listing}",
        key="python",
        fix=f"install it (e.g. 'uv python install {minor}' or 'pyenv install {wanted}'), "
        "or pass --python PATH",
    )
