"""Project settings: where a project's profiles, templates and outputs live (``[tool.envgen]``).

Read once at the CLI edge and passed down as a frozen value; nothing below re-reads pyproject.
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from .errors import EnvgenError

DEFAULT_OUTPUT = "envs/{profile}"
_KNOWN = ("profiles", "templates", "output", "mirrors", "runners", "uv-profile", "catalog")


class ProjectConfig(NamedTuple):
    """Resolved project settings; every path is absolute."""

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
        """Where ``profile``'s files go: the command line's ``-o`` anywhere it says, the
        project's setting only inside the project (links followed)."""
        pattern = override if override is not None else self.output
        path = Path(pattern.replace("{profile}", profile))
        path = path if path.is_absolute() else self.root / path
        if override is None:
            inside_project(
                self.root, path, "output", self.pyproject if self.output != DEFAULT_OUTPUT else None
            )
        return path


def _toml_loads(text: str) -> dict[str, Any]:
    """Parse TOML (errors are ValueErrors); imported only when needed, for start-up time.

    tomllib parses nested arrays and inline tables recursively: a file nested thousands deep
    exhausts the stack, which is reported as the ValueError it is for the user.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        parsed: dict[str, Any] = tomllib.loads(text)
    except RecursionError:
        raise ValueError("it is nested too deeply") from None
    return parsed


def parse_toml(text: str, shown: str) -> dict[str, Any]:
    """A TOML file envgen reads (pyproject.toml), or an error naming it."""
    try:
        return _toml_loads(text)
    except ValueError as exc:  # TOMLDecodeError
        raise EnvgenError(
            f"cannot read {Path(shown).name} ({exc})", file=shown, fix="fix the TOML syntax"
        ) from None


def read_pyproject(pyproject: Path) -> str | None:
    """The text of ``pyproject``, None when there is none; refused when it is not a regular,
    UTF-8 file of sane size (a FIFO would hang, /dev/zero would never end)."""
    from .readfile import read_text

    return read_text(pyproject, what="pyproject.toml", missing_ok=True)


def _has_tool_section(pyproject: Path) -> bool:
    text = read_pyproject(pyproject)
    if text is None or "tool.envgen" not in text:  # cheap test first: most files say nothing
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
    from .readfile import read_bytes

    raw = read_bytes(pyproject, what="pyproject.toml", missing_ok=True)
    if raw is None or b"envgen" not in raw:
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
        data = parse_toml(text, str(pyproject))
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

    def inside(key: str, default: str | None) -> Path | None:
        value = settings.get(key, default)
        if value is None:
            return None
        return inside_project(root, root / value, key, pyproject if key in settings else None)

    return ProjectConfig(
        root=root,
        profiles_dir=inside("profiles", "profiles") or root,
        templates_dir=inside("templates", "templates") or root,
        output=settings.get("output", DEFAULT_OUTPUT),
        mirrors=dict(mirrors),
        pyproject=pyproject if pyproject.is_file() else None,
        runners=_table(settings.get("runners", {}), pyproject, "runners"),
        uv_profile=settings.get("uv-profile"),
        catalog=inside("catalog", None),
    )


def inside_project(root: Path, path: Path, key: str, setting: Path | None) -> Path:
    """``path`` with every link followed, refused unless it lies inside the project ``root``.

    A project's settings and files arrive in pull requests like its profiles: a directory or
    file they name (or a committed symbolic link on the way) must not make envgen read or write
    elsewhere on the machine. Only an output directory passed on the command line may.
    ``setting`` is the pyproject.toml that named ``path`` (None for a default).
    """
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    file, setting_key = (str(setting), f"tool.envgen.{key}") if setting else (shown, None)
    try:
        real = path.resolve()
        real.stat()
    except FileNotFoundError:
        pass  # not there (yet): nothing to read, and render creates it inside
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
        raise EnvgenError(
            f"{shown} cannot be used: its path holds a loop of symbolic links, or cannot be "
            "followed",
            file=file,
            key=setting_key,
            fix=f"replace the link at {shown} with a real directory",
        ) from None
    if real.is_relative_to(root):
        return real
    raise EnvgenError(
        f"{shown} leads outside the project ({root})",
        file=file,
        key=setting_key,
        fix=f"keep the {key} inside the project (a relative path, and no symbolic link out of "
        "it)"
        + ("; to write elsewhere, pass -o DIR on the command line" if key == "output" else ""),
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
