"""A per-user cache for work that only depends on envgen's own files (parsed catalog, compiled
templates), so that every CLI run does not pay for YAML parsing and Jinja compilation again.

Purely an optimisation: when the directory cannot be written (read-only home, sandbox), or
``ENVGEN_NO_CACHE`` is set, everything is computed as if there were no cache.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import __version__


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
