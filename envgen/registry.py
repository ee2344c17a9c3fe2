"""Finds profiles by name (the project's own, then built-ins) and loads their extends chain."""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
import os
import re
from pathlib import Path
from typing import NamedTuple

from .config import ProjectConfig
from .errors import ProfileError
from .paths import builtin_profiles
from .profile import MergedProfile, Origin, ProfileLayer, merge_layers
from .profile_check import validate_layer
from .yamlsource import load_yaml

BUILTIN_PREFIX = "builtin:"
# Profiles in one extends chain: real ones have two or three, generated hierarchies (one profile
# per team, per box) a few hundred. The bound keeps a hostile chain's work (each profile merges
# its whole chain) within seconds.
MAX_EXTENDS = 1_000
PROFILE_SUFFIXES = (".yaml", ".yml")
# A profile's name becomes a conda environment name, a directory under envs/ and a word in the
# "Regenerate with: envgen render NAME" line, so it must be safe in all three.
_VALID_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class ProfileSource(NamedTuple):
    name: str
    path: Path
    origin: Origin
    overrides_builtin: bool = False


def _scan(directory: Path, origin: Origin) -> dict[str, ProfileSource]:
    if not directory.is_dir():
        return {}
    found: dict[str, ProfileSource] = {}
    for path in sorted(directory.iterdir()):
        # Not only regular files: a FIFO or a directory named like a profile is listed, and
        # refused by name when read, rather than silently missing.
        if path.suffix in (".yaml", ".yml") and not path.name.startswith("."):
            found.setdefault(path.stem, ProfileSource(path.stem, path, origin))
    return found


class ProfileRegistry(NamedTuple):
    """Every profile a command can name; a project profile hides the built-in of the same name."""

    project: dict[str, ProfileSource]
    builtin: dict[str, ProfileSource]
    root: Path
    profiles_dir: Path = Path("profiles")

    @classmethod
    def discover(cls, config: ProjectConfig) -> "ProfileRegistry":
        builtin_dir = builtin_profiles().resolve()
        builtin = _scan(builtin_dir, "builtin")
        project: dict[str, ProfileSource] = {}
        if config.profiles_dir.resolve() != builtin_dir:
            for name, src in _scan(config.profiles_dir, "project").items():
                project[name] = ProfileSource(name, src.path, "project", name in builtin)
        return cls(
            project=project, builtin=builtin, root=config.root, profiles_dir=config.profiles_dir
        )

    def all(self) -> list[ProfileSource]:
        merged = {**self.builtin, **self.project}
        return [merged[name] for name in sorted(merged)]

    def names(self) -> list[str]:
        return [src.name for src in self.all()]

    def canonical(self, name: str) -> str:
        """The profile name for what a user typed: a name as it is, a path to a profile file
        (``profiles/train.yaml``, tab-completed) as that profile's name."""
        if name in self.project or name in self.builtin or name.startswith(BUILTIN_PREFIX):
            return name
        if not _looks_like_path(name):
            return name
        path = Path(name)
        stem = path.name.removesuffix(path.suffix) if path.suffix in PROFILE_SUFFIXES else ""
        if path.is_file():
            target = path.resolve()
            for source in (*self.project.values(), *self.builtin.values()):
                if source.path.resolve() == target:
                    return source.name
            where = self.display(self.profiles_dir) + "/"
            raise ProfileError(
                f"'{name}' is not one of this project's profiles (they live in {where})",
                fix=f"move it to {where}{path.name} and name it '{stem or path.name}'",
            )
        if path.is_dir():
            raise ProfileError(
                f"'{name}' is a directory, not a profile; known profiles: "
                + ", ".join(self.names()),
                fix="name one profile, e.g. 'envgen render cpu', or use --all",
            )
        if stem in self.names():
            raise ProfileError(
                f"there is no file '{name}'",
                fix=f"name the profile instead: use the name '{stem}'",
            )
        return name  # find() explains that no such profile exists

    def find(self, name: str, *, wanted_by: str | None = None) -> ProfileSource:
        if name.startswith(BUILTIN_PREFIX):
            bare = name[len(BUILTIN_PREFIX) :]
            if bare in self.builtin:
                return self.builtin[bare]
            pool, label = list(self.builtin), "built-in profiles"
        else:
            source = self.project.get(name) or self.builtin.get(name)
            if source is not None:
                return source
            pool, label = self.names(), "profiles"
        import difflib  # only on the error/diff path: keeps start-up fast

        bare = name.removeprefix(BUILTIN_PREFIX)
        if _looks_like_path(bare):  # profiles/trian.yaml: the name part is what was mistyped
            bare = Path(bare).name.removesuffix(Path(bare).suffix)
        # names are case-sensitive (they are file names), people's typing is not: GPU-CU118
        by_lower = {known.lower(): known for known in pool}
        close = [by_lower[bare.lower()]] if bare.lower() in by_lower else []
        close = close or [
            by_lower[c] for c in difflib.get_close_matches(bare.lower(), list(by_lower), n=1)
        ]
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        addable = _VALID_NAME.fullmatch(bare) is not None and not _looks_like_path(bare)
        same = bare.lower() in by_lower  # only the case differs
        raise ProfileError(
            f"unknown profile '{name}'{hint}; known {label}: {', '.join(pool) or 'none'}",
            file=wanted_by,
            key="extends" if wanted_by else None,
            fix=f"write '{close[0]}' (profile names are case-sensitive)"
            if same
            else "use one of those names"
            + (
                f", or add {self.display(self.profiles_dir)}/{bare}.yaml to the project"
                if addable
                else ""
            ),
        )

    def _known(self, name: str) -> ProfileSource | None:
        """``find`` without its error path (and the display name it needs): a dict lookup."""
        if name.startswith(BUILTIN_PREFIX):
            return self.builtin.get(name[len(BUILTIN_PREFIX) :])
        return self.project.get(name) or self.builtin.get(name)

    def display(self, path: Path) -> str:
        """Paths relative to the project when inside it, so messages stay short and stable."""
        try:
            return os.path.relpath(path, self.root) if path.is_relative_to(self.root) else str(path)
        except ValueError:  # pragma: no cover - different drives on Windows
            return str(path)

    def load_layer(self, source: ProfileSource) -> ProfileLayer:
        shown = self.display(source.path)
        if not _VALID_NAME.fullmatch(source.name):
            better = re.sub(r"[^A-Za-z0-9_.-]+", "-", source.name).strip("-.") or "my-profile"
            raise ProfileError(
                f"'{source.name}' (the file name) cannot be a profile name: it becomes the "
                "conda environment's name and a word in shell commands",
                file=shown,
                fix=f"rename the file to {better}{source.path.suffix} (letters, digits, '_', '.' "
                "and '-', not starting with '.' or '-')",
            )
        inside = self.root if source.origin == "project" else source.path.parent
        document = load_yaml(source.path, display=shown, inside=inside)
        return validate_layer(source.name, source.origin, document, shown)

    def load(self, name: str, layers: dict[Path, ProfileLayer] | None = None) -> MergedProfile:
        """Load ``name`` and its parents (depth first, each once), refusing cycles and chains
        longer than ``MAX_EXTENDS``. ``layers`` keeps the files read, for a caller that loads
        many profiles (``list``): each file is then read once, not once per child."""
        chain: list[ProfileLayer] = []
        done: set[Path] = set()
        read = {} if layers is None else layers

        def enter(source: ProfileSource, trail: tuple[str, ...]) -> ProfileLayer:
            if len(trail) >= MAX_EXTENDS:
                raise ProfileError(
                    f"profile '{name}' extends a chain of more than {MAX_EXTENDS} profiles "
                    f"(through {trail[-1]} to {source.origin}:{source.name})",
                    file=self.display(source.path),
                    key="extends",
                    fix="shorten the chain: let profiles extend a shared base directly",
                )
            layer = read.get(source.path) or self.load_layer(source)
            read[source.path] = layer
            return layer

        def parent_of(
            source: ProfileSource, layer: ProfileLayer, parent_name: str, trail: tuple[str, ...]
        ) -> ProfileSource:
            parent = self._known(parent_name) or self.find(
                parent_name, wanted_by=self.display(source.path)
            )
            label = f"{parent.origin}:{parent.name}"
            if parent.path == source.path or label in trail:
                cycle = " -> ".join((*trail, f"{source.origin}:{source.name}", label))
                raise ProfileError(
                    f"profiles extend each other in a cycle ({cycle})",
                    file=self.display(source.path),
                    key="extends",
                    line=layer.document.line_of("extends"),
                    fix="remove one of these 'extends' entries"
                    + (
                        f"; to extend the built-in of the same name write 'builtin:{parent.name}'"
                        if parent.path == source.path
                        else ""
                    ),
                )
            return parent

        # Depth first with a stack of our own rather than recursion: a long chain must end in
        # the MAX_EXTENDS error, never in Python's recursion limit.
        root = self.find(name)
        stack: list[tuple[ProfileSource, tuple[str, ...], ProfileLayer, int]] = [
            (root, (), enter(root, ()), 0)
        ]
        while stack:
            source, trail, layer, index = stack.pop()
            if index < len(layer.extends):
                stack.append((source, trail, layer, index + 1))
                parent = parent_of(source, layer, layer.extends[index], trail)
                inner = (*trail, f"{source.origin}:{source.name}")
                if parent.path not in done:
                    stack.append((parent, inner, enter(parent, inner), 0))
                continue
            if source.path not in done:
                done.add(source.path)
                chain.append(layer)
        return merge_layers(tuple(chain))


def _looks_like_path(name: str) -> bool:
    return "/" in name or os.sep in name or name.endswith(PROFILE_SUFFIXES) or name in (".", "..")
