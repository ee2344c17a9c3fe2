"""Which directories ``create`` may build in, and which ``--force`` may replace.

``create --force`` deletes what is at the prefix. A directory that merely *looks* like an
environment (a ``pyvenv.cfg`` at the root of a git checkout, a conda base install with its
``envs/``) may hold a person's work, so the rules are strict and checked before anything is
touched (no lock file, no building note):

* never ``/``, the home directory, the project root or any directory above the project;
* never a symlink itself, and never under something that is not a directory;
* ``--force`` replaces an environment envgen built (its marker, even a broken one), or a
  directory holding nothing but what a venv or a conda environment consists of.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from .envmeta import MARKER
from .errors import EnvgenError

# What a venv (python -m venv, virtualenv, uv venv) or a conda prefix holds at its top level.
_ENV_ENTRIES = frozenset(
    {
        MARKER,
        "pyvenv.cfg",
        ".gitignore",  # uv and virtualenv write one
        "CACHEDIR.TAG",  # uv
        ".lock",  # uv
        "bin",
        "Scripts",
        "lib",
        "lib64",
        "Lib",
        "include",
        "Include",
        "share",
        "etc",
        "conda-meta",
        "ssl",
        "man",
        "libexec",
        "sbin",
        "compiler_compat",
        "x86_64-conda-linux-gnu",
        "x86_64-conda_cos6-linux-gnu",
        "aarch64-conda-linux-gnu",
        "Library",
        "DLLs",
        "Tools",
        "Menu",
        "var",
        "doc",
        "docs",
        "mkspecs",
        "plugins",
        "phrasebooks",
        "qml",
        "translations",
        "resources",
        "fonts",
    }
)
# Files a Windows conda prefix keeps at its top level.
_ENV_PATTERNS = ("python*.exe", "pythonw*.exe", "*.dll", "*.pyd", "LICENSE_PYTHON.txt")


def foreign_entries(prefix: Path) -> list[str]:
    """Top-level entries of ``prefix`` that no venv or conda environment consists of."""
    names = sorted(entry.name for entry in prefix.iterdir())
    return [
        name
        for name in names
        if name not in _ENV_ENTRIES and not any(fnmatch.fnmatch(name, p) for p in _ENV_PATTERNS)
    ]


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):  # no HOME and no passwd entry
        return None


def check_prefix(prefix: Path, project_root: Path, *, given: bool) -> None:
    """Refuse a prefix no create may touch, before anything is written anywhere.

    ``given`` says the user named it (``--prefix``); the default prefix under the project's
    ``.envgen/envs`` is never the project itself, but is checked for files in the way all the same.
    """
    key = "--prefix" if given else None
    if prefix.is_symlink():  # replacing it would replace, or delete, what it points to
        raise EnvgenError(
            f"{prefix} is a symbolic link (to {prefix.readlink()})",
            key=key,
            fix="pass the real directory (the link's target) as --prefix, or a new path",
        )
    _refuse_linked_parents(prefix, project_root, key)
    for parent in (prefix, *prefix.parents):
        if parent.exists() and not parent.is_dir():
            raise EnvgenError(
                f"{prefix} cannot be created: {parent} is a file, not a directory",
                key=key,
                fix="choose a --prefix that is not under a file",
            )
    real = prefix.resolve()
    root = project_root.resolve()
    home = _home()
    if real == Path(real.anchor):
        why = "the root of the file system"
    elif home is not None and real == home:
        why = "your home directory"
    elif real == root:
        why = "the project root"
    elif real in root.parents:
        why = f"a directory above the project ({root})"
    else:
        return
    raise EnvgenError(
        f"refusing to build an environment at {prefix}: it is {why}, and create replaces "
        "what is at its prefix",
        key=key,
        fix="choose a new, empty directory for --prefix (the default is .envgen/envs/PROFILE)",
    )


def _refuse_linked_parents(prefix: Path, project_root: Path, key: str | None) -> None:
    """A directory between the project and the prefix must not be a symbolic link.

    Links inside a project arrive in pull requests: a committed ``.envgen -> /elsewhere``
    would make ``create --force`` replace an environment outside the project, on the word of
    a file anyone can send.
    Links above the project, or on a path outside it that the user typed, are the machine's
    own (``/tmp`` on macOS) and stay allowed.
    """
    if not prefix.is_relative_to(project_root):
        return
    parent = prefix.parent
    while parent != project_root and parent.is_relative_to(project_root):
        if parent.is_symlink():
            raise EnvgenError(
                f"refusing to build an environment at {prefix}: {parent} is a symbolic link "
                f"(to {parent.readlink()}), so create would replace what lies behind it, "
                "outside the project",
                key=key,
                fix=f"replace the link {parent} with a real directory, or pass the link's "
                "target itself as --prefix",
            )
        parent = parent.parent


def check_replaceable(prefix: Path, *, force: bool, has_marker: bool) -> None:
    """Refuse to build at a non-empty ``prefix`` unless ``--force`` may replace what is there."""
    if not prefix.exists() or has_marker or not any(prefix.iterdir()):
        return
    foreign = foreign_entries(prefix)
    if force and not foreign and _looks_like_env(prefix):
        return
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        what = f"it holds {shown}, which no venv or conda environment consists of"
    else:
        what = "it looks like a venv or conda environment that envgen did not build"
    raise EnvgenError(
        f"{prefix} exists and is not an envgen environment (no {MARKER}): {what}",
        fix="choose another --prefix, or move it away yourself"
        + ("" if foreign else "; --force replaces it")
        + " (--force replaces only environments envgen built, or a directory holding nothing "
        "but a venv or conda environment)",
    )


def _looks_like_env(prefix: Path) -> bool:
    return (prefix / "pyvenv.cfg").is_file() or (prefix / "conda-meta").is_dir()
