"""The core API every command uses: open a project, resolve a profile, render its files.

Commands stay thin; tests and other tools can drive envgen through these functions alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .catalog import Catalog, load_catalog
from .config import ProjectConfig, load_config
from .paths import builtin_templates
from .profile import MergedProfile
from .registry import ProfileRegistry
from .render import RenderedFile, TemplateSet, render_env
from .resolve import ResolvedEnv, resolve


@dataclass(frozen=True)
class Resolved:
    """A profile at every stage: merged layers and the concrete environment."""

    profile: MergedProfile
    env: ResolvedEnv


@dataclass
class Project:
    config: ProjectConfig
    registry: ProfileRegistry
    _catalog: Catalog | None = field(default=None, repr=False)

    @classmethod
    def open(cls, start: Path | None = None) -> Project:
        config = load_config(start)
        return cls(config=config, registry=ProfileRegistry.discover(config))

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = load_catalog()
        return self._catalog

    @cached_property
    def templates(self) -> TemplateSet:
        dirs = [self.config.templates_dir, builtin_templates()]
        unique = list(dict.fromkeys(d.resolve() for d in dirs))
        return TemplateSet(unique)

    def resolve(self, name: str, mirrors: Mapping[str, str] | None = None) -> Resolved:
        """Resolve ``name``; ``mirrors`` (e.g. from --mirror) add to the project's own."""
        profile = self.registry.load(name)
        shown = {layer.name: self.registry.display(layer.path) for layer in profile.chain}
        env = resolve(profile, self.catalog, {**self.config.mirrors, **(mirrors or {})}, shown)
        return Resolved(profile, env)

    def input_parts(self, resolved: Resolved) -> dict[str, Any]:
        """What a generated file depends on, for its inputs digest."""
        return {
            "profiles": [
                {"name": layer.name, "origin": layer.origin, "values": dict(layer.values)}
                for layer in resolved.profile.chain
            ],
            "catalog": self.catalog.digest,
            "mirrors": dict(self.config.mirrors),
        }

    def render(
        self, resolved: Resolved, outputs: Sequence[str] | None = None
    ) -> list[RenderedFile]:
        chain = [layer.name for layer in resolved.profile.chain]
        return render_env(resolved.env, self.templates, self.input_parts(resolved), chain, outputs)

    def output_dir(self, name: str, override: str | None = None, many: bool = False) -> Path:
        if override is not None and many and "{profile}" not in override:
            override = override.rstrip("/") + "/{profile}"
        return self.config.output_dir(name, override)

    def display(self, path: Path) -> str:
        return self.registry.display(path)
