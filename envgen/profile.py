"""Profile files: the keys a profile may hold, and ``extends`` merging.

This is the first stage of the pipeline (profile files → ``MergedProfile`` → resolve). The key
table below is the single source of truth: validation (``profile_check``), the JSON Schema
that ``envgen schema`` prints and docs/profiles.md's key table all follow from it.
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

from .specs import conda_spec_name, pip_requirement_name
from .targets import ACCELERATORS, PLATFORMS
from .yamlsource import YamlDocument

Source = Literal["pip", "conda"]
SOURCES: tuple[Source, ...] = ("pip", "conda")
Origin = Literal["project", "builtin"]  # a project's own profile, or one envgen ships
# How a child's value combines with its parents': replace | extend | update, "own" for a key
# that describes one file and is never inherited (abstract), or "add" for a list whose '+name'
# items add to what the parents chose (outputs).
MergeRule = Literal["replace", "extend", "update", "own", "add"]
TORCH_PACKAGES = ("torch", "torchvision", "torchaudio")


class Key(NamedTuple):
    """One profile key: its JSON Schema and its one-line documentation."""

    schema: Mapping[str, Any]
    doc: str
    merge: MergeRule = "replace"


_STR_LIST = {"type": "array", "items": {"type": "string"}}
CHANNEL_PATTERN = r"^(?:[A-Za-z0-9_.-]+|(?:https?|file)://[^\s'\"#]+)$"
# becomes a file name: no paths, no hidden files; '+name' adds it to the default outputs
OUTPUT_PATTERN = r"^\+?[A-Za-z0-9_][A-Za-z0-9_.-]*$"
# A profile's name is its file name; it reaches headers and the "Regenerate with:" command line.
PROFILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")

KEYS: dict[str, Key] = {
    "description": Key({"type": "string"}, "One line saying what the environment is for."),
    "abstract": Key(
        {"type": "boolean"},
        "true for a profile that exists only to be extended (like 'base'): render --all and "
        "check --all skip it; naming it still works. Not inherited.",
        merge="own",
    ),
    "extends": Key(
        {"oneOf": [{"type": "string"}, _STR_LIST]},
        "Parent profile name(s) whose values this profile starts from; 'builtin:NAME' names a "
        "built-in even when the project overrides it.",
    ),
    "name": Key(
        {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+$"},
        "Environment name written into environment.yml (default: the profile name).",
    ),
    "python": Key(
        {"type": "string", "pattern": r"^3\.\d+(\.\d+)?$"},
        "Python version: a minor ('3.11') or an exact release ('3.11.7').",
    ),
    "accelerator": Key(
        {"enum": list(ACCELERATORS)},
        "Compute backend: cpu, cuda, rocm, xpu, or mps (macOS arm64, PyPI wheels).",
    ),
    "cuda": Key(
        {"type": "string", "pattern": r"^(cu\d{3}|\d+\.\d+)$"},
        "CUDA version of the torch build, '12.4' or 'cu124' (accelerator: cuda).",
    ),
    "rocm": Key(
        {"type": "string", "pattern": r"^(rocm)?\d+\.\d+(\.\d+)?$"},
        "ROCm version of the torch build, '6.2' or 'rocm6.2.4' (accelerator: rocm).",
    ),
    "pytorch": Key(
        {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "version": {"type": "string"},
                        "packages": {
                            "type": "array",
                            "items": {"enum": list(TORCH_PACKAGES)},
                            "uniqueItems": True,
                        },
                    },
                },
            ]
        },
        "torch version: exact ('2.4.1'), a minor ('2.4' = newest 2.4.x) or a range "
        "('>=2.3,<2.6'); omitted means the newest that fits. As a mapping: {version, packages} "
        "where packages picks from torch, torchvision, torchaudio (default: all three).",
        merge="update",
    ),
    "source": Key(
        {"enum": list(SOURCES)},
        "Where torch comes from: 'pip' (PyTorch's wheel index, default) or 'conda' "
        "(conda-forge's pytorch with cuda-version).",
    ),
    "channels": Key(
        {"type": "array", "items": {"type": "string", "pattern": CHANNEL_PATTERN}},
        "Conda channels, highest priority first (default: conda-forge).",
    ),
    "conda": Key(_STR_LIST, "Extra conda packages as conda match specs.", merge="extend"),
    "pip": Key(_STR_LIST, "Extra pip requirements (PEP 508).", merge="extend"),
    "platforms": Key(
        {"type": "array", "items": {"enum": list(PLATFORMS)}, "uniqueItems": True},
        "Target platforms for locks (conda subdirs); default depends on the accelerator.",
    ),
    "variables": Key(
        {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        "Environment variables set when the environment is activated.",
        merge="update",
    ),
    "outputs": Key(
        {"type": "array", "items": {"type": "string", "pattern": OUTPUT_PATTERN}},
        "Files to render, by template name without '.j2' (default: environment.yml, "
        "requirements.txt, conda-lock-spec.yml; no requirements.txt with source: conda). "
        "'+NAME' adds to the defaults (or to a parent's outputs): [+pixi.toml, +Dockerfile]; "
        "a list of plain names replaces them.",
        merge="add",
    ),
}


class ProfileLayer(NamedTuple):
    """One validated profile file, before its parents are merged in."""

    name: str
    origin: Origin
    path: Path
    values: Mapping[str, Any]
    document: YamlDocument  # the same file read twice has the same lines: equal documents

    @property
    def extends(self) -> tuple[str, ...]:
        raw = self.values.get("extends", ())
        return (raw,) if isinstance(raw, str) else tuple(raw)


class MergedProfile(NamedTuple):
    """A profile with its ``extends`` applied; ``provenance`` names the layer behind each key."""

    name: str
    values: Mapping[str, Any]
    provenance: Mapping[str, str]
    chain: tuple[ProfileLayer, ...]  # parents first, the profile itself last

    @property
    def layer(self) -> ProfileLayer:
        return self.chain[-1]


def merge_layers(chain: tuple[ProfileLayer, ...]) -> MergedProfile:
    """Apply parents first, child last; lists of packages extend (child wins per package name)."""
    return LayerMerger().merge(chain)


class LayerMerger:
    """``merge_layers`` that keeps what it merged: a chain shares its parents' prefix with every
    profile that extends them, so each prefix is merged once, not once per profile below it
    (a 300-long chain merged 45,000 layers for ``render --all``).

    One per registry, so nothing is shared between projects; layers are told apart by path,
    which within one registry stands for one parsed file.
    """

    __slots__ = ("_folds", "_ids")

    def __init__(self) -> None:
        # A prefix of a chain is a node: (node before it, path of its last layer) -> node.
        self._ids: dict[tuple[int, Path], int] = {}
        self._folds: list[tuple[dict[str, Any], dict[str, str]]] = [({}, {})]

    def merge(self, chain: tuple[ProfileLayer, ...]) -> MergedProfile:
        node, start = 0, 0
        for layer in chain[:-1]:
            known = self._ids.get((node, layer.path))
            if known is None:
                break
            node, start = known, start + 1
        values, provenance = self._folds[node]
        for layer in chain[start:-1]:
            values, provenance = _apply(values, provenance, layer, last=False)
            self._folds.append((values, provenance))
            self._ids[(node, layer.path)] = len(self._folds) - 1
            node = len(self._folds) - 1
        values, provenance = _apply(values, provenance, chain[-1], last=True)
        return MergedProfile(name=chain[-1].name, values=values, provenance=provenance, chain=chain)


def _apply(
    before: dict[str, Any], since: dict[str, str], layer: ProfileLayer, *, last: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """``before`` with ``layer`` applied, as new dicts (``before`` may be a kept prefix);
    'own' keys count only in the chain's ``last`` layer."""
    values, provenance = dict(before), dict(since)
    for key, value in layer.values.items():
        if key == "extends":
            continue
        how = KEYS[key].merge
        if how == "own":
            if last:
                values[key] = value
                provenance[key] = layer.name
        elif how == "extend" and key in values:
            name_of = conda_spec_name if key == "conda" else pip_requirement_name
            mine = {name_of(v) for v in value}
            values[key] = [v for v in values[key] if name_of(v) not in mine] + list(value)
            provenance[key] = provenance[key] + "+" + layer.name
        elif how == "add" and key in values and all(v.startswith("+") for v in value):
            values[key] = list(dict.fromkeys([*values[key], *value]))
            provenance[key] = provenance[key] + "+" + layer.name
        elif how == "update" and key in values:
            values[key] = {**values[key], **value}
            provenance[key] = provenance[key] + "+" + layer.name
        else:
            values[key] = value
            provenance[key] = layer.name
    return values, provenance


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one profile file, generated from ``KEYS``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://envgen.dev/schema/profile.json",
        "title": "envgen profile",
        "description": "A declarative description of one PyTorch environment.",
        "type": "object",
        "additionalProperties": False,
        "properties": {name: {**key.schema, "description": key.doc} for name, key in KEYS.items()},
    }
