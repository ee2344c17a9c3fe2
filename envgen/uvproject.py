"""The torch part of a project's ``pyproject.toml`` for uv, kept in step with one profile.

envgen owns exactly these keys there: one ``[[tool.uv.index]]`` entry for the profile's PyTorch
index (``name = "pytorch-<variant>"``, ``explicit = true``), the ``[tool.uv.sources]`` entries of
the torch family pinning it to that index (with ``sys_platform`` markers when the profile
targets only some operating systems: uv's documented PyTorch pattern), and ``[tool.uv]
environments`` and ``required-environments``, one marker per platform of the profile.

``environments`` is what makes a profile of some platforms lockable: without it ``uv lock``
also solves every other platform, where the sources' markers do not hold, so it either fails or
takes torch for them from the default index. ``required-environments`` (the same markers) makes
uv refuse a torch with no wheel for one of them at lock time: torch has no sdist, so that
would only fail at install time there. Everything else in the file is the user's: edits go
through tomlkit, so comments, order and formatting stay.

``uv.lock`` is the user's (uv writes it); ``check`` reads it to report a torch-family or triton
package locked from anywhere but the PyTorch index (uv applies sources to direct dependencies
only, so a transitive ``pytorch-triton`` comes from the default index).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import parse_toml, read_pyproject
from .errors import EnvgenError
from .profile import TORCH_PACKAGES as TORCH_FAMILY
from .resolve import ResolvedEnv
from .targets import PLATFORMS, SYSTEMS, os_of, triton_packages

if TYPE_CHECKING:
    from .project import Project

OWNED_PREFIX = "pytorch-"  # index entries envgen writes are named pytorch-<variant>
ENVIRONMENT_KEYS = ("environments", "required-environments")  # both: the profile's platforms


@dataclass(frozen=True)
class UvTorch:
    """What the profile asks of pyproject.toml: the index entry and each package's source."""

    index_name: str
    index_url: str
    sources: Mapping[str, Any]  # package -> uv source value (a table, or a list of tables)
    environments: tuple[str, ...] = ()  # one PEP 508 marker per platform of the profile


def wanted(env: ResolvedEnv, pyproject: Path | None = None) -> UvTorch:
    if not env.index_url or env.source != "pip":
        raise EnvgenError(
            f"profile '{env.name}' takes torch from "
            + ("conda" if env.source != "pip" else "PyPI")
            + ", so there is no PyTorch index for uv to pin",
            file=str(pyproject) if pyproject else None,
            key="tool.envgen.uv-profile",
            fix="name a profile whose torch comes from PyTorch's index (e.g. cpu, gpu-cu128)",
        )
    name = OWNED_PREFIX + env.variant.name
    systems = sorted({SYSTEMS[os_of(p)].sys_platform for p in env.platforms})
    source: dict[str, Any] = {"index": name}
    if len(systems) < len(SYSTEMS):
        source["marker"] = " or ".join(f"sys_platform == '{s}'" for s in systems)
    value: Any = [source] if "marker" in source else source
    environments = tuple(PLATFORMS[p].marker_quoted("'") for p in env.platforms)
    return UvTorch(name, env.index_url, {pkg: value for pkg in env.packages}, environments)


def _owned_index(entry: Mapping[str, Any]) -> bool:
    return str(entry.get("name", "")).startswith(OWNED_PREFIX)


def _leftover(package: str, value: Any, want: UvTorch) -> bool:
    """A torch-family source envgen wrote for a package the profile no longer has."""
    if package not in TORCH_FAMILY or package in want.sources:
        return False
    items = value if isinstance(value, list) else [value]
    return any(
        isinstance(i, Mapping) and str(i.get("index", "")).startswith(OWNED_PREFIX) for i in items
    )


def _plain(value: Any) -> Any:
    """tomlkit items as plain Python values, for comparison."""
    if hasattr(value, "unwrap"):
        return value.unwrap()
    return value


def problems(data: Mapping[str, Any], want: UvTorch) -> list[str]:
    """How the parsed pyproject differs from what envgen would write (empty: current)."""
    uv = data.get("tool", {}).get("uv", {})
    found = []
    for key in ENVIRONMENT_KEYS:
        if uv.get(key) != list(want.environments):
            found.append(f"[tool.uv] {key} " + ("differs" if key in uv else "is missing"))
    indexes = [i for i in uv.get("index", []) if isinstance(i, dict) and _owned_index(i)]
    match = [i for i in indexes if i.get("name") == want.index_name]
    if not match:
        found.append(f"[[tool.uv.index]] '{want.index_name}' is missing")
    elif match[0].get("url") != want.index_url or match[0].get("explicit") is not True:
        found.append(f"[[tool.uv.index]] '{want.index_name}' differs")
    if len(indexes) > len(match[:1]):
        found.append("[[tool.uv.index]] has a stale pytorch-* entry")
    sources = uv.get("sources", {})
    for package, value in want.sources.items():
        if sources.get(package) != value:
            found.append(f"[tool.uv.sources] '{package}' differs")
    for package, value in sources.items():
        if _leftover(package, value, want):
            found.append(f"[tool.uv.sources] '{package}' is no longer in the profile")
    return found


def update(text: str, want: UvTorch, path: Path) -> str:
    """``text`` with envgen's keys set as ``want`` says; nothing else touched."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise EnvgenError(f"cannot parse ({exc})", file=str(path), fix="fix the TOML") from None
    except RecursionError:
        raise EnvgenError(
            "cannot parse (it is nested too deeply)", file=str(path), fix="fix the TOML"
        ) from None
    if "tool" not in doc:
        doc["tool"] = tomlkit.table(is_super_table=True)
    tool: Any = doc["tool"]
    if "uv" not in tool:
        tool["uv"] = tomlkit.table()
    uv: Any = tool["uv"]
    _set_environments(uv, want)
    _set_index(uv, want)
    _set_sources(uv, want)
    return tomlkit.dumps(doc)


def _set_environments(uv: Any, want: UvTorch) -> None:
    """[tool.uv] environments and required-environments: one marker per platform."""
    import tomlkit

    for key in ENVIRONMENT_KEYS:
        if _plain(uv.get(key)) != list(want.environments):
            markers = tomlkit.array()
            markers.extend(want.environments)
            markers.multiline(len(want.environments) > 1)
            uv[key] = markers


def _set_index(uv: Any, want: UvTorch) -> None:
    """The one [[tool.uv.index]] entry envgen owns (the first pytorch-* one, updated)."""
    import tomlkit

    if "index" not in uv:
        uv["index"] = tomlkit.aot()
    indexes: Any = uv["index"]
    owned = [i for i, entry in enumerate(indexes) if _owned_index(entry)]
    for i in reversed(owned[1:]):  # more than one: keep the first, as the one to update
        del indexes[i]
    if owned:
        entry = indexes[owned[0]]
        if _plain(entry.get("name")) != want.index_name:
            entry["name"] = want.index_name
        if _plain(entry.get("url")) != want.index_url:
            entry["url"] = want.index_url
        if _plain(entry.get("explicit")) is not True:
            entry["explicit"] = True
    else:
        entry = tomlkit.table()
        entry["name"] = want.index_name
        entry["url"] = want.index_url
        entry["explicit"] = True
        indexes.append(entry)


def _set_sources(uv: Any, want: UvTorch) -> None:
    """[tool.uv.sources] of the torch family: the profile's, and none left from before."""
    import tomlkit

    if "sources" not in uv:
        uv["sources"] = tomlkit.table()
    sources: Any = uv["sources"]
    for package in [p for p in sources if _leftover(p, _plain(sources[p]), want)]:
        del sources[package]
    for package, value in want.sources.items():
        if _plain(sources.get(package)) == value:
            continue
        if isinstance(value, list):
            array = tomlkit.array()
            for item in value:
                inline = tomlkit.inline_table()
                inline.update(item)
                array.append(inline)
            sources[package] = array
        else:
            inline = tomlkit.inline_table()
            inline.update(value)
            sources[package] = inline


def planned_update(project: Project, env: ResolvedEnv) -> tuple[Path, str, str] | None:
    """(pyproject path, old text, new text) for ``env``, the ``[tool.envgen] uv-profile``
    (resolved by the caller); None when the project has no pyproject.toml."""
    config = project.config
    if config.pyproject is None:
        return None
    path = config.pyproject
    want = wanted(env, path)
    text = read_pyproject(path) or ""
    return path, text, update(text, want, path)


def check_problems(project: Project, env: ResolvedEnv) -> list[str]:
    """What ``envgen check`` reports about pyproject's [tool.uv] torch keys (empty: current);
    ``env``: the ``[tool.envgen] uv-profile``, resolved."""
    config = project.config
    if config.pyproject is None:
        return []
    want = wanted(env, config.pyproject)
    text = read_pyproject(config.pyproject) or ""
    return problems(parse_toml(text, str(config.pyproject)), want)


def lock_problems(project: Project, env: ResolvedEnv) -> list[str]:
    """What ``envgen check`` reports about ``uv.lock`` beside pyproject.toml (empty: none, or
    no uv.lock): every torch-family or triton package must come from ``env``'s index (the
    ``[tool.envgen] uv-profile``, resolved)."""
    config = project.config
    if config.pyproject is None:
        return []
    path = config.pyproject.parent / "uv.lock"
    from .mirrors import expand_credentials, without_credentials
    from .readfile import LARGE, read_text
    from .specs import canonical_name

    try:  # a FIFO or /dev/zero there must not hang or fill the memory
        text = read_text(path, what="uv.lock", limit=LARGE, missing_ok=True)
        if text is None:
            return []
        lock = parse_toml(text, str(path))
    except EnvgenError as exc:
        return [f"cannot read it ({exc.message})"]
    want = wanted(env, config.pyproject)

    def plain(url: str) -> str:
        return without_credentials(url).rstrip("/")

    allowed = {plain(want.index_url), plain(expand_credentials(want.index_url))}
    family = {canonical_name(n) for n in (*TORCH_FAMILY, *env.packages, *triton_packages())}
    found = []
    for package in lock.get("package", []):
        name = canonical_name(str(package.get("name", "")))
        source = package.get("source", {})
        registry = source.get("registry") if isinstance(source, dict) else None
        if name in family and (registry is None or plain(str(registry)) not in allowed):
            where = registry if registry is not None else "a non-index source"
            if name in want.sources:
                fix = "envgen render writes the sources and environments that pin it"
            elif name in TORCH_FAMILY:
                fix = "add it to the profile's pytorch.packages"
            else:  # a dependency of torch: uv applies sources to direct dependencies only
                fix = (
                    "add it to [project] dependencies with a [tool.uv.sources] entry on index "
                    f"'{want.index_name}'"
                )
            found.append(
                f"{name} {package.get('version', '?')} is locked from {where}, not from "
                f"{want.index_url} ({fix}; then run 'uv lock')"
            )
    return found
