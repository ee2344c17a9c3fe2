"""Project settings: where a project's profiles, templates and outputs live (``[tool.envgen]``).

Read once at the CLI edge and passed down as a frozen value; nothing below re-reads pyproject.
"""

# No `from __future__ import annotations`: NamedTuple makes each string annotation a
# ForwardRef, compiling it, at start-up; real annotations cost ~2 ms less (issue 12).
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from .errors import EnvgenError

DEFAULT_OUTPUT = "envs/{profile}"
_KNOWN = ("profiles", "templates", "output", "mirrors", "runners", "uv-profile", "catalog")


class ProjectConfig(NamedTuple):
    """Resolved project settings; every path is absolute.

    A NamedTuple, not a dataclass: building a dataclass costs start-up time (issue 12).
    """

    root: Path
    profiles_dir: Path
    templates_dir: Path
    output: str = DEFAULT_OUTPUT  # relative to root; '{profile}' is replaced by the profile name
    mirrors: Mapping[str, str] = MappingProxyType({})
    pyproject: Path | None = None
    runners: Mapping[str, Any] = MappingProxyType({})  # checked by envgen.matrix
    uv_profile: str | None = None  # render keeps pyproject's [tool.uv] torch keys on it
    catalog: Path | None = None  # the project's catalog overlay ([tool.envgen] catalog)

    def output_dir(self, profile: str, override: str | None = None) -> Path:
        pattern = override if override is not None else self.output
        path = Path(pattern.replace("{profile}", profile))
        return path if path.is_absolute() else self.root / path


def _toml_loads(text: str) -> dict[str, Any]:
    """Parse TOML (errors are ValueErrors); imported only when needed, for start-up time."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    parsed: dict[str, Any] = tomllib.loads(text)
    return parsed


def _has_tool_section(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "tool.envgen" not in text:  # cheap test first: most pyproject.toml files say nothing
        return False
    try:
        tool = _toml_loads(text).get("tool", {})
    except ValueError:  # TOMLDecodeError
        return True  # load_config reports the syntax error with the file's name
    return isinstance(tool, dict) and "envgen" in tool


def find_project_root(start: Path) -> Path:
    """The envgen project ``start`` is in, so that every command works from any subdirectory.

    Walking up from ``start``, the first directory holding ``profiles/`` or a pyproject.toml
    with ``[tool.envgen]`` is the project; the walk stops at the repository root (a directory
    with ``.git``). Without either marker: the nearest directory with a pyproject.toml, else
    the repository root, else ``start``.
    """
    nearest_pyproject: Path | None = None
    repository: Path | None = None
    for candidate in (start, *start.parents):
        pyproject = candidate / "pyproject.toml"
        if (candidate / "profiles").is_dir() or _has_tool_section(pyproject):
            return candidate
        if nearest_pyproject is None and pyproject.is_file():
            nearest_pyproject = candidate
        if (candidate / ".git").exists():
            repository = candidate
            break
    return nearest_pyproject or repository or start


def _read_mentioning_envgen(pyproject: Path) -> str | None:
    """The text of ``pyproject`` when it can hold envgen settings, else None.

    A table for envgen cannot be written without the word, so a file that lacks it is not
    parsed: importing and running the TOML parser costs milliseconds of every command's
    start-up, for most files to find nothing.
    """
    if not pyproject.is_file():
        return None
    try:
        raw = pyproject.read_bytes()
    except OSError as exc:
        raise EnvgenError(
            f"cannot read pyproject.toml ({exc})",
            file=str(pyproject),
            fix="make the file readable",
        ) from None
    if b"envgen" not in raw:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EnvgenError(
            f"cannot read pyproject.toml ({exc})",
            file=str(pyproject),
            fix="save the file as UTF-8",
        ) from None


def load_config(start: Path | None = None) -> ProjectConfig:
    start = (start or Path.cwd()).resolve()
    root = find_project_root(start)
    pyproject = root / "pyproject.toml"
    settings: Mapping[str, Any] = {}
    text = _read_mentioning_envgen(pyproject)
    if text is not None:
        try:
            data = _toml_loads(text)
        except ValueError as exc:  # TOMLDecodeError
            raise EnvgenError(
                f"cannot read pyproject.toml ({exc})",
                file=str(pyproject),
                fix="fix the TOML syntax",
            ) from None
        settings = data.get("tool", {}).get("envgen", {})
        if not isinstance(settings, dict):
            raise EnvgenError(
                "[tool.envgen] must be a table",
                file=str(pyproject),
                key="tool.envgen",
                fix="write it as a [tool.envgen] table",
            )
    for key, value in settings.items():
        if key not in _KNOWN:
            raise EnvgenError(
                "unknown setting",
                file=str(pyproject),
                key=f"tool.envgen.{key}",
                fix="use one of " + ", ".join(_KNOWN),
            )
        if key not in ("mirrors", "runners") and not isinstance(value, str):
            raise EnvgenError(
                "expected a string",
                file=str(pyproject),
                key=f"tool.envgen.{key}",
                fix='write it like profiles = "profiles"',
            )
    mirrors = settings.get("mirrors", {})
    if not isinstance(mirrors, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mirrors.items()
    ):
        raise EnvgenError(
            "expected a table of URL = URL",
            file=str(pyproject),
            key="tool.envgen.mirrors",
            fix='write it like "https://download.pytorch.org/whl" = "https://mirror.example/whl"',
        )
    if mirrors:
        from .mirrors import Mirrors  # checked here, where the file is known

        Mirrors.from_mapping(mirrors, "tool.envgen.mirrors", file=str(pyproject))
    return ProjectConfig(
        root=root,
        profiles_dir=(root / settings.get("profiles", "profiles")).resolve(),
        templates_dir=(root / settings.get("templates", "templates")).resolve(),
        output=settings.get("output", DEFAULT_OUTPUT),
        mirrors=dict(mirrors),
        pyproject=pyproject if pyproject.is_file() else None,
        runners=_table(settings.get("runners", {}), pyproject, "runners"),
        uv_profile=settings.get("uv-profile"),
        catalog=(root / settings["catalog"]).resolve() if "catalog" in settings else None,
    )


def _table(value: Any, pyproject: Path, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EnvgenError(
            "expected a table",
            file=str(pyproject),
            key=f"tool.envgen.{key}",
            fix=f"write it as a [tool.envgen.{key}] table",
        )
    return dict(value)
