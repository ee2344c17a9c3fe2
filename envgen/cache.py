"""A per-user cache for work that only depends on envgen's own files (parsed catalog, compiled
templates), so that every CLI run does not pay for YAML parsing and Jinja compilation again.

Purely an optimisation: when the directory cannot be written (read-only home, sandbox), or
``ENVGEN_NO_CACHE`` is set, everything is computed as if there were no cache.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__

if TYPE_CHECKING:
    import jinja2


def cache_dir() -> Path | None:
    if os.environ.get("ENVGEN_NO_CACHE"):
        return None
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "envgen" / __version__
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def read_json(name: str) -> Any | None:
    """A cached value, or None when there is none or it cannot be read (a corrupted copy is
    then rewritten by the caller's ``write_json``); the caller still checks what it gets."""
    import json

    directory = cache_dir()
    if directory is None:
        return None
    from .errors import EnvgenError
    from .readfile import LARGE, read_bytes

    try:
        raw = read_bytes(directory / name, what="cache entry", limit=LARGE, missing_ok=True)
        return None if raw is None else json.loads(raw)
    # UnicodeDecodeError and JSONDecodeError are ValueErrors; a FIFO or a giant is refused
    except (EnvgenError, ValueError, RecursionError):
        return None


def write_json(name: str, value: Any) -> None:
    """Store ``value`` atomically; a cache that cannot be written is no error."""
    import json

    directory = cache_dir()
    if directory is None:
        return
    from .atomic import write_atomic

    with contextlib.suppress(OSError):
        write_atomic(directory / name, json.dumps(value))


def template_bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja's on-disk cache of compiled templates, made tolerant: a damaged entry (truncated
    by a full disk or a killed process) is recompiled and rewritten instead of crashing envgen,
    and one that cannot be written is skipped."""
    directory = cache_dir()
    if directory is None:
        return None
    import jinja2

    class TolerantBytecodeCache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # noqa: BLE001 - unpickling junk raises almost anything
                bucket.reset()

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    # Its own file names: code compiled for the sandbox calls through the sandbox's checks, and
    # code that an older envgen compiled outside it must never be loaded by it.
    return TolerantBytecodeCache(str(directory), pattern="__jinja2_sandboxed_%s.cache")
