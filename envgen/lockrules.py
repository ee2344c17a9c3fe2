"""The torch-family rule, read from a lock's own content wherever a lock is read.

``envgen lock`` takes torch, its companions and triton builds only from the PyTorch index (the
three layers in ``lockers/uv``). A lock's content seal is a plain sha256 that anyone can
recompute, so a lock edited to take torch from PyPI and resealed passed every gate that
trusted the seal. ``check``, ``create`` and ``verify`` therefore read the rule from the lock
itself: the index options must be exactly the ones the profile implies, every package must be
pinned with a hash, and every torch-family package must come from the PyTorch index (its
``# from`` line, its URL in ``conda-lock.yml``, its ``index`` in ``pylock.toml``). A conda
package must come from one of the profile's channels.

What no file can prove offline is that a hash belongs to the PyTorch index's file; that is held
at install time instead (``backends/pip_part`` installs the torch family from that index only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from .mirrors import channel_url
from .profile import TORCH_PACKAGES
from .specs import canonical_name
from .targets import triton_packages

if TYPE_CHECKING:
    from .resolve import ResolvedEnv


class Expected(NamedTuple):
    """What a profile's locks may say, in public URLs (locks record no mirror)."""

    pytorch: str | None  # the PyTorch index the torch family must come from, if any
    base: str  # the PyTorch index's base: every torch-family artifact URL lies under it
    index_lines: tuple[str, ...]  # a pip lock's index options, exactly, in order
    indexes: frozenset[str]  # every index a pip lock's '# from' may name
    channels: tuple[str, ...]  # channel URLs a conda package may come from
    versions: dict[str, str]  # torch-family name -> its public version in this profile


def family() -> frozenset[str]:
    return frozenset(canonical_name(p) for p in (*TORCH_PACKAGES, *triton_packages()))


def expected(public: ResolvedEnv, index_base: str) -> Expected:
    """What the locks of ``public`` (a profile resolved through no mirror) may say;
    ``index_base``: the catalog's PyTorch index."""
    from .lockers.indexes import PipIndexes
    from .lockers.pip_lockfile import index_options
    from .resolve import PYPI_SIMPLE

    indexes = PipIndexes.for_env(public, PYPI_SIMPLE)
    return Expected(
        pytorch=indexes.pytorch.rstrip("/") if indexes.pytorch else None,
        base=index_base.rstrip("/"),
        index_lines=tuple(index_options(indexes)),
        indexes=frozenset(u.rstrip("/") for u in indexes.ordered),
        channels=tuple(channel_url(c) for c in public.channels),
        versions={canonical_name(p): v for p, v in public.companions.items() if v},
    )


def lock_problem(kind: str, text: str, expect: Expected, shown: str) -> str | None:
    """Why the lock of ``kind`` (pip | conda | pylock) with ``text`` breaks the rule, or None."""
    from .errors import EnvgenError

    try:
        if kind == "pip":
            return pip_lock_problem(text, expect)
        if kind == "conda":
            from .yamlsource import load_text

            return conda_lock_problem(load_text(text, shown, "conda lock"), expect)
        from .config import parse_toml

        return pylock_problem(parse_toml(text, shown), expect)
    except EnvgenError as exc:
        return exc.message


def _public(version: str) -> str:
    return version.split("+", 1)[0]


def pip_lock_problem(text: str, expect: Expected) -> str | None:
    """Why a hashed pip lock (``requirements-<platform>.lock.txt``) breaks the rule, or None."""
    read = _read_pip_lock(text)
    if isinstance(read, str):
        return read
    options, packages = read
    if tuple(options) != expect.index_lines:
        return "its index options are not the profile's (" + "; ".join(expect.index_lines) + ")"
    if not packages:
        return "it lists no packages"
    torch_family = family()
    for name, version, hashes, origin in packages:
        if not hashes:
            return f"{name}=={version} has no --hash"
        if origin is not None and origin not in expect.indexes:
            return f"{name}=={version} names an index the profile does not use ({_index(origin)})"
        problem = _family_problem(name, version, origin, expect, torch_family)
        if problem:
            return problem
    return None


_Locked = tuple[str, str, list[str], str | None]  # name, version, hashes, '# from' index


def _read_pip_lock(text: str) -> tuple[list[str], list[_Locked]] | str:
    """(its option lines, its packages), or why a line is not what envgen writes. Problems
    name a line, never quote it: the file may be anything but a lock."""
    options: list[str] = []
    packages: list[_Locked] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if not raw[0].isspace():
            if line.startswith("#"):
                continue
            if line.startswith("-"):
                options.append(line)
                continue
            spec = line.removesuffix("\\").split(";")[0].strip()
            name, sep, version = spec.partition("==")
            if not sep or not name or not version or " " in name + version:
                return f"line {number} is not 'name==version'"
            packages.append((canonical_name(name), version, [], None))
        elif not packages:
            return f"line {number} is indented but belongs to no package"
        elif line.startswith("--hash="):
            packages[-1][2].append(line.removesuffix("\\").strip())
        elif line.startswith("# from "):
            name, version, hashes, _ = packages[-1]
            packages[-1] = (name, version, hashes, line[len("# from ") :].strip().rstrip("/"))
        elif not line.startswith("#"):
            return f"line {number} holds an option envgen does not write"
    return options, packages


def _family_problem(
    name: str, version: str, origin: str | None, expect: Expected, torch_family: frozenset[str]
) -> str | None:
    if expect.pytorch is None or name not in torch_family:
        return None
    if origin != expect.pytorch:
        return (
            f"{name}=={version} comes from {_index(origin) if origin else 'an unnamed index'}, "
            f"not from the PyTorch index {expect.pytorch}"
        )
    wanted = expect.versions.get(name)
    if wanted is not None and _public(version) != wanted:
        return f"{name}=={version} is not the profile's {name} {wanted}"
    return None


def conda_lock_problem(data: Any, expect: Expected) -> str | None:
    """Why ``conda-lock.yml`` (parsed) breaks the rule, or None."""
    torch_family = family()
    packages = data.get("package") if isinstance(data, dict) else None
    if not isinstance(packages, list):
        return "it has no package list"
    for item in packages:
        if not isinstance(item, dict):
            return "a package entry is not a mapping"
        name = canonical_name(str(item.get("name", "")))
        version, url = str(item.get("version", "")), str(item.get("url", ""))
        hashes = item.get("hash")
        if not isinstance(hashes, dict) or not (hashes.get("sha256") or hashes.get("md5")):
            return f"{name} {version} has no hash"
        if item.get("manager") == "conda":
            if not _under(url, expect.channels):
                where = _directory(url)
                return f"{name} {version} comes from {where}, not one of the profile's channels"
        elif expect.pytorch is not None and name in torch_family:
            if not _under(url, (expect.base,)):
                return (
                    f"{name}=={version} comes from {_directory(url)}, not from the PyTorch index "
                    f"{expect.pytorch}"
                )
            wanted = expect.versions.get(name)
            if wanted is not None and _public(version) != wanted:
                return f"{name}=={version} is not the profile's {name} {wanted}"
    return None


def pylock_problem(data: Any, expect: Expected) -> str | None:
    """Why ``pylock.toml`` (parsed) breaks the rule, or None."""
    torch_family = family()
    packages = data.get("packages") if isinstance(data, dict) else None
    if not isinstance(packages, list):
        return "it has no packages"
    for item in packages:
        if not isinstance(item, dict):
            return "a package entry is not a table"
        name = canonical_name(str(item.get("name", "")))
        version = str(item.get("version", ""))
        files = [*(item.get("wheels") or []), *([item["sdist"]] if "sdist" in item else [])]
        urls = [str(f.get("url", "")) for f in files if isinstance(f, dict)]
        if not urls or not all(
            isinstance(f, dict) and (f.get("hashes") or {}).get("sha256") for f in files
        ):
            return f"{name}=={version} has an artifact without a sha256"
        index = str(item.get("index", "")).rstrip("/")
        if index not in expect.indexes:
            return f"{name}=={version} names an index the profile does not use ({_index(index)})"
        problem = _family_problem(name, version, index, expect, torch_family)
        if problem is None and expect.pytorch is not None and name in torch_family:
            stray = [u for u in urls if not _under(u, (expect.base,))]
            problem = f"{name}=={version} has a file at {_directory(stray[0])}" if stray else None
        if problem:
            return problem
    return None


def _under(url: str, prefixes: Sequence[str]) -> bool:
    return any(url.startswith(p.rstrip("/") + "/") for p in prefixes)


def _index(url: str) -> str:
    """An index URL fit for a message: no credential, no query."""
    from .mirrors import redact

    return redact(url)


def _directory(url: str) -> str:
    """Where an artifact lies, fit for a message."""
    return _index(url.rsplit("/", 1)[0])
