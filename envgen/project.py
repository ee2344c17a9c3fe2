"""The core API every command uses: open a project, resolve a profile, render its files.

Commands stay thin; tests and other tools can drive envgen through these functions alone.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .catalog import Catalog, load_catalog
from .config import DEFAULT_OUTPUT, ProjectConfig, load_config
from .digest import FORMAT, changed_parts
from .errors import OutputError, ProfileError
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
    # Where warnings go (an unverified release was used); the CLI's stderr unless replaced.
    warn: Callable[[str], None] = field(default=lambda text: print(text, file=sys.stderr))
    _warned: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def open(cls, start: Path | None = None) -> Project:
        config = load_config(start)
        return cls(config=config, registry=ProfileRegistry.discover(config))

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            overlay = self.config.catalog
            if overlay is None:
                self._catalog = load_catalog()
            else:
                label = self.registry.display(overlay)
                self._catalog = load_catalog(overlay=overlay, overlay_label=label)
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
        note = self.unverified_note(env)
        if note and env.torch not in self._warned:
            self._warned.add(env.torch)
            self.warn(f"warning: profile '{name}': {note}")
        return Resolved(profile, env)

    def unverified_note(self, env: ResolvedEnv) -> str | None:
        """Why a release the catalog marks unverified deserves a second look, or None."""
        release = self.catalog.find(env.torch)
        if release is None or release.verified:
            return None
        return (
            f"torch {env.torch} is marked unverified in envgen's catalog: its companion versions "
            "or builds rest on release plans, not on published install commands"
        )

    def input_parts(self, resolved: Resolved) -> dict[str, Any]:
        """What a generated file is derived from, for its inputs digest.

        Only the catalog facts this profile uses count (a new release elsewhere in the catalog
        changes nothing here), and neither envgen's version nor the mirrors do: a change that
        matters to the file changes its text, which ``check`` compares as well.
        """
        return {
            "profiles": [
                {"name": layer.name, "origin": layer.origin, "values": dict(layer.values)}
                for layer in resolved.profile.chain
            ],
            "catalog": catalog_facts(self.catalog, resolved.env),
            "format": FORMAT,
        }

    def stale_reason(self, resolved: Resolved, recorded: str, parts: Mapping[str, Any]) -> str:
        """Which inputs changed since ``recorded`` (a generated file's text) was written."""
        names = changed_parts(recorded, parts)
        env = resolved.env
        chain = [layer.name for layer in resolved.profile.chain]
        labels = {
            "profiles": f"profile '{env.name}'"
            + (f" or one it extends ({', '.join(chain[:-1])})" if len(chain) > 1 else ""),
            "catalog": f"the catalog facts for torch {env.torch} ({env.variant.name})",
            "template": "the template",
            "output": "the output's name",
            "format": "envgen's file format",
            "lock": "what the lock is solved for (platforms, requirements, indexes, channels)",
        }
        order = list(labels)
        names.sort(key=lambda n: order.index(n) if n in order else len(order))
        shown = [labels.get(name, name) for name in names]
        if not shown:
            return "its inputs changed"
        return ", ".join(shown) + " changed"

    def render(
        self,
        resolved: Resolved,
        outputs: Sequence[str] | None = None,
        output: str | None = None,
        many: bool = False,
    ) -> list[RenderedFile]:
        """The files of ``resolved``; ``output``/``many`` as given to ``output_dir``, so that the
        header's "Regenerate with:" line reproduces the command that writes them there."""
        chain = [layer.name for layer in resolved.profile.chain]
        note = self.unverified_note(resolved.env)
        files = render_env(
            resolved.env,
            self.templates,
            self.input_parts(resolved),
            chain,
            outputs,
            regenerate=self.regenerate_command(resolved.env.name, output, many),
            notes=[f"WARNING: {note}."] if note else [],
        )
        for rendered in files:
            _refuse_empty(resolved, rendered, self.display)
        return files

    def regenerate_command(self, name: str, output: str | None = None, many: bool = False) -> str:
        """``envgen render NAME``, with ``-o DIR`` when the files were written elsewhere than the
        project's setting, or naming ``[tool.envgen] output`` when that setting moved them."""
        command = f"envgen render {name}"
        if output is not None:
            directory = self.output_dir(name, output, many)
            try:
                shown = directory.relative_to(self.config.root).as_posix()
            except ValueError:
                shown = directory.as_posix()
            _one_line(shown, "-o/--output")
            return f"{command} -o {shlex.quote(shown)}"
        if self.config.output != DEFAULT_OUTPUT:
            _one_line(self.config.output, "tool.envgen.output")
            return f"{command}  (into {self.config.output}: [tool.envgen] output)"
        return command

    def output_dir(self, name: str, override: str | None = None, many: bool = False) -> Path:
        if override is not None and many and "{profile}" not in override:
            override = override.rstrip("/") + "/{profile}"
        return self.config.output_dir(name, override)

    def display(self, path: Path) -> str:
        return self.registry.display(path)


def catalog_facts(catalog: Catalog, env: ResolvedEnv) -> dict[str, Any]:
    """The catalog entries ``env`` was resolved from: its release (only the chosen variant's
    platforms) and, for conda-forge's torch, the CUDA builds recorded there."""
    release = catalog.find(env.torch)
    facts: dict[str, Any] = {"index_base": catalog.index_base, "variant": env.variant.name}
    if release is not None:
        entry = asdict(release)
        entry["variants"] = {env.variant.name: list(release.variants.get(env.variant.name, ()))}
        facts["release"] = entry
    if env.source == "conda":
        facts["conda_forge"] = list(catalog.conda_forge.get(env.torch, ()))
    return facts


def _one_line(text: str, key: str) -> None:
    """A directory name goes into a header comment: a control character could add a line."""
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise OutputError(
            f"the output directory {text!r} contains a control character",
            key=key,
            fix="use a directory name without newlines or control characters",
        )


def _refuse_empty(
    resolved: Resolved, rendered: RenderedFile, display: Callable[[Path], str]
) -> None:
    """A file that is all header would be committed, look current to ``check`` and install
    nothing (requirements.txt of a conda-sourced profile without pip packages): refuse it."""
    body = [line for line in rendered.content.splitlines() if line.strip()]
    if any(not line.lstrip().startswith("#") for line in body):
        return
    env = resolved.env
    why = (
        "torch comes from conda (source: conda) and the profile lists no pip packages"
        if env.source == "conda" and rendered.name == "requirements.txt"
        else "its template writes nothing but the header for this profile"
    )
    owner = resolved.profile.provenance.get("outputs", "").split("+")[-1]
    layer = next((lay for lay in resolved.profile.chain if lay.name == owner), None)
    in_profile = layer is not None and rendered.name in layer.values.get("outputs", ())
    raise ProfileError(
        f"profile '{env.name}' has nothing to put in {rendered.name}: {why}",
        file=display(layer.path) if layer is not None and in_profile else None,
        key="outputs" if in_profile else None,
        fix=f"leave {rendered.name} out (remove it from 'outputs', or drop -f {rendered.name}), "
        "or add pip packages to the profile",
    )
