"""Where envgen puts an environment, and the marker file that says an environment is envgen's.

``create`` writes the marker last (after a successful build), so its presence means "finished";
``verify``, ``run`` and ``doctor`` read it to know which profile an environment was built for.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import EnvgenError

MARKER = "envgen-env.json"
ENVS_DIR = ".envgen/envs"  # under the project root; git-ignored by `envgen init`


@dataclass(frozen=True)
class EnvMarker:
    profile: str
    backend: str  # venv | conda | mamba | micromamba | rattler
    python: str  # the interpreter version inside, e.g. 3.11.7
    inputs_digest: str  # digest of what it was built from (lock or rendered files)
    source_files: tuple[str, ...]  # lock/rendered files it was built from, relative to the root
    envgen_version: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def default_prefix(root: Path, profile: str) -> Path:
    return root / ENVS_DIR / profile


def env_python(prefix: Path) -> Path:
    """The interpreter of an environment at ``prefix`` (venv and conda layouts)."""
    if sys.platform == "win32":
        for rel in ("Scripts/python.exe", "python.exe"):
            if (prefix / rel).is_file():
                return prefix / rel
        return prefix / "python.exe"
    return prefix / "bin" / "python"


def read_marker(prefix: Path) -> EnvMarker | None:
    from .readfile import read_text

    path = prefix / MARKER
    try:
        text = read_text(path, what="environment marker", missing_ok=True, inside=prefix)
    except EnvgenError as exc:
        raise _broken(
            path, exc.message.removeprefix("cannot read the environment marker: ")
        ) from None
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _broken(path, f"it is unreadable ({exc})") from None
    except RecursionError:  # json's parser recurses once per nested list or object
        raise _broken(path, "it is nested too deeply to be a marker") from None
    if not isinstance(data, dict):
        raise _broken(path, f"it holds {type(data).__name__} where a JSON object belongs")
    fields = {name: kind for name, kind in EnvMarker.__annotations__.items()}
    missing = sorted(set(fields) - set(data) - {"source_files"})
    unknown = sorted(set(data) - set(fields))
    if missing or unknown:
        raise _broken(path, "its keys are wrong (" + ", ".join(missing + unknown) + ")")
    files = data.get("source_files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise _broken(path, "source_files is not a list of strings")
    if not all(isinstance(data[name], str) for name in fields if name != "source_files"):
        raise _broken(path, "a value that must be a string is not one")
    data["source_files"] = tuple(files)
    return EnvMarker(**data)


def _broken(path: Path, why: str) -> EnvgenError:
    return EnvgenError(
        f"the environment marker is broken: {why}",
        file=str(path),
        fix="re-create the environment with 'envgen create --force' (it replaces an "
        "environment whose marker is broken)",
    )


def write_marker(prefix: Path, marker: EnvMarker) -> None:
    from .atomic import write_atomic

    write_atomic(prefix / MARKER, marker.to_json())
