"""Resolution: a merged profile plus the catalog become one frozen, fully concrete ``ResolvedEnv``.

Everything downstream (render, lock, create, verify) reads only the ``ResolvedEnv``; every
impossible combination is refused here, with the nearest thing that does exist, so that the
user can fix the profile in one step.
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from .catalog import Catalog, CondaForgeBuilds, Release
from .errors import ProfileError
from .formats import default_outputs, lock_inputs
from .mirrors import Mirrors
from .pick import ReleasePicker, companion, join_words, minor_of
from .profile import TORCH_PACKAGES, MergedProfile, Source
from .specs import conda_spec_name, pip_requirement_name
from .targets import (
    ACCELERATORS,
    PLATFORMS,
    SYSTEMS,
    Accelerator,
    AcceleratorName,
    Variant,
    os_of,
    version_keys,
)

PYPI_SIMPLE = "https://pypi.org/simple"
# Conda packages that would fight envgen's own torch handling, and what to do instead.
_MANAGED_CONDA = {
    "python": "set the 'python' key instead",
    "pytorch": "set the 'pytorch' key (and 'source: conda') instead",
    "pytorch-cuda": "this belongs to PyTorch's retired conda channel; use 'source: conda', "
    "which pins conda-forge's cuda-version",
    "cudatoolkit": "cudatoolkit is the stale pre-2023 recipe; use 'source: conda', which pins "
    "conda-forge's cuda-version",
    "cpuonly": "this belongs to PyTorch's retired conda channel; use accelerator: cpu",
}

_CUDA_RUNTIME = ("cudatoolkit", "pytorch-cuda")


class Pin(NamedTuple):
    """One torch-family requirement, possibly limited to some target platforms by a marker."""

    name: str
    version: str  # public version, e.g. 2.4.1
    local: str | None  # local tag such as cu118, or None for a plain pin
    marker: str | None = None

    @property
    def requirement(self) -> str:
        spec = f"{self.name}=={self.version}" + (f"+{self.local}" if self.local else "")
        return spec + (f"; {self.marker}" if self.marker else "")


class ResolvedEnv(NamedTuple):
    """Everything a generated file needs, concrete: no defaults left to apply, no lookups left."""

    name: str  # profile name
    env_name: str  # environment name inside environment.yml
    description: str
    python: str  # as requested: 3.11 or 3.11.7
    python_minor: str
    accelerator: AcceleratorName
    variant: Variant  # compute variant of the torch build (cpu for mps: PyPI's macOS build)
    source: Source
    torch: str
    packages: tuple[str, ...]  # torch-family package names included
    companions: Mapping[str, str]  # package -> public version
    pins: tuple[Pin, ...]  # pip pins of the torch family (source: pip)
    index_url: str | None  # PyTorch index for torch (None: PyPI)
    extra_index_urls: tuple[str, ...]
    channels: tuple[str, ...]
    conda: tuple[str, ...]  # complete conda dependency list except pip's section
    pip: tuple[str, ...]  # the profile's own pip requirements
    platforms: tuple[str, ...]
    variables: Mapping[str, str]
    provenance: Mapping[str, str]
    outputs: tuple[str, ...]
    catalog_sources: tuple[str, ...]
    # torch-family packages left out of the default set, and why (torchaudio after 2.11)
    omitted: Mapping[str, str] = MappingProxyType({})

    @property
    def pip_requirements(self) -> tuple[str, ...]:
        """All pip requirement lines, torch family first, in install order."""
        if self.source == "conda":
            return self.pip
        return tuple(p.requirement for p in self.pins) + self.pip

    @property
    def build_label(self) -> str:
        """How a header names the torch build: 'CUDA 11.8', 'CPU' … and 'macOS (MPS)', whose
        variant is ``cpu`` (PyPI's macOS wheel) though nobody would call it a CPU build."""
        return ACCELERATORS[self.accelerator].build_label or self.variant.label

    def as_dict(self) -> dict[str, Any]:
        """Every field as plain data (the variant and pins as dicts, mappings as dicts): what
        templates, ``show --json`` and the line-break check read. A NamedTuple would serialise
        as a list, so this spells the mapping out, field by field."""
        data: dict[str, Any] = self._asdict()
        data["variant"] = self.variant._asdict()
        data["pins"] = tuple(pin._asdict() for pin in self.pins)
        for name in ("companions", "variables", "provenance", "omitted"):
            data[name] = dict(data[name])
        return data


def resolve(
    profile: MergedProfile,
    catalog: Catalog,
    mirrors: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
) -> ResolvedEnv:
    """Turn a merged profile into a ResolvedEnv, or explain in one paragraph why that can't be.

    ``files`` maps layer names to the path shown in messages (defaults to the file name).
    ``mirrors`` are applied to the result (``through_mirrors``): resolution itself only ever
    sees public URLs.
    """
    rules = Mirrors.from_mapping(mirrors or {})
    return through_mirrors(_Resolver(profile, catalog, files or {}).run(), rules)


def through_mirrors(env: ResolvedEnv, mirrors: Mirrors) -> ResolvedEnv:
    """``env`` (resolved through no mirror) with its index URLs and channels rewritten to the
    mirrors in force: the same resolution, as installers reach it here."""
    if not mirrors.rules:
        return env
    return env._replace(
        index_url=mirrors.url(env.index_url) if env.index_url else None,
        extra_index_urls=tuple(mirrors.url(url) for url in env.extra_index_urls),
        channels=tuple(mirrors.channel(channel) for channel in env.channels),
    )


class _Resolver:
    def __init__(self, profile: MergedProfile, catalog: Catalog, files: Mapping[str, str]) -> None:
        self.profile = profile
        self.values = profile.values
        self.catalog = catalog
        self.files = files
        self.picker = ReleasePicker(self.values, catalog, self.fail)

    def fail(self, key: str, message: str, fix: str) -> ProfileError:
        owner = self.profile.provenance.get(key, self.profile.name).split("+")[-1]
        layer = next((lay for lay in self.profile.chain if lay.name == owner), self.profile.layer)
        return ProfileError(
            message,
            file=self.files.get(layer.name, layer.path.name),
            key=key,
            line=layer.document.line_of(key) if key in layer.values else None,
            fix=fix,
        )

    # -- the steps, in order -------------------------------------------------------------
    def run(self) -> ResolvedEnv:
        python = self.values.get("python")
        if python is None:
            raise self.fail(
                "python",
                "no Python version is set (neither this profile nor its parents set 'python')",
                'add python: "3.11" (or the version your project needs)',
            )
        accelerator = self.values.get("accelerator", "cpu")
        target = ACCELERATORS[accelerator]
        source = self.values.get("source", "pip")
        platforms = tuple(self.values.get("platforms") or target.default_platforms)
        self._check_keys_fit(accelerator)
        self._check_platforms(target, platforms)
        wanted_variant = self._wanted_variant(target)
        builds: CondaForgeBuilds | None = None
        if source == "conda" and not target.conda_forge:
            raise self.fail(
                "source",
                f"conda-forge publishes no {target.label} builds of pytorch",
                "use source: pip for this accelerator",
            )
        if source == "conda" and self.catalog.conda_forge:
            release, variant, builds = self.picker.conda(
                python, accelerator, wanted_variant, platforms
            )
        else:
            release, variant = self.picker.release(python, accelerator, wanted_variant, platforms)
        packages = self.picker.packages(release, builds)
        companions = {p: companion(release, builds, p) or "" for p in packages}
        pins = self._pins(target, source, variant, companions, platforms)
        index_url = None
        if source == "pip" and target.from_pytorch_index:
            index_url = self.catalog.index_url(variant.name)
        pip = tuple(self.values.get("pip", ()))
        self._check_managed_pip(pip, source)
        extra = (PYPI_SIMPLE,) if pip and index_url else ()
        channels = tuple(self.values.get("channels") or ("conda-forge",))
        self._check_channels(channels, release)
        conda = self._conda_deps(python, source, target, variant, companions)
        return ResolvedEnv(
            name=self.profile.name,
            env_name=self.values.get("name", self.profile.name),
            description=self.values.get("description", ""),
            python=python,
            python_minor=minor_of(python),
            accelerator=accelerator,
            variant=variant,
            source=source,
            torch=release.torch,
            packages=packages,
            companions=companions,
            pins=pins,
            index_url=index_url,
            extra_index_urls=extra,
            channels=channels,
            conda=conda,
            pip=pip,
            platforms=platforms,
            variables=dict(sorted(self.values.get("variables", {}).items())),
            provenance=dict(self.profile.provenance),
            outputs=chosen_outputs(self.values.get("outputs", ()), source),
            catalog_sources=release.sources,
            omitted=self.picker.omitted(release, packages, builds),
        )

    def _check_keys_fit(self, accelerator: str) -> None:
        for key, owner in version_keys().items():
            if key in self.values and accelerator != owner:
                raise self.fail(
                    key,
                    f"'{key}' is set but the accelerator is '{accelerator}'",
                    f"set accelerator: {owner}, or remove '{key}'",
                )

    def _check_platforms(self, target: Accelerator, platforms: tuple[str, ...]) -> None:
        allowed = target.systems
        bad = [p for p in platforms if os_of(p) not in allowed]
        if target.only_platforms:
            bad = [p for p in platforms if p not in target.only_platforms]
        if bad:
            where = join_words([SYSTEMS[o].label for o in allowed])
            detail = target.platform_reason or (
                f"PyTorch publishes {target.label} builds only for {where}"
            )
            raise self.fail(
                "platforms",
                f"{target.label} cannot target {join_words(bad)}: {detail}",
                f"remove {join_words(bad)} from 'platforms', or use accelerator: "
                + ("mps for Macs" if target.name != "mps" else "cpu"),
            )

    def _wanted_variant(self, target: Accelerator) -> str | None:
        """The variant the profile names (cuda: "12.4" -> cu124), the one build of a kind
        without versions (cpu, xpu), or None: the newest of its kind, chosen per release."""
        key = target.version_key
        if key is None or target.variant_name is None:
            return target.variant_kind
        if key in self.values:
            return target.variant_name(str(self.values[key]))
        return None

    def _pins(
        self,
        target: Accelerator,
        source: str,
        variant: Variant,
        companions: Mapping[str, str],
        platforms: tuple[str, ...],
    ) -> tuple[Pin, ...]:
        if source == "conda":
            return ()
        if not target.from_pytorch_index:
            return tuple(Pin(name, version, None) for name, version in companions.items())
        # A plain pin where PyTorch's index publishes the build untagged: it still only sees
        # that index's builds.
        plain = {p for p in platforms if not PLATFORMS[p].tagged(variant.kind)}
        tagged = [p for p in platforms if p not in plain]
        if not plain:
            return tuple(Pin(n, v, variant.name) for n, v in companions.items())
        if not tagged:
            return tuple(Pin(n, v, None) for n, v in companions.items())
        plain_marker, tagged_marker = self._markers(sorted(plain), tagged)
        pins = []
        for name, version in companions.items():
            pins.append(Pin(name, version, variant.name, tagged_marker))
            pins.append(Pin(name, version, None, plain_marker))
        return tuple(pins)

    @staticmethod
    def _markers(plain: list[str], tagged: list[str]) -> tuple[str, str]:
        if all(os_of(p) == "macos" for p in plain) and not any(os_of(p) == "macos" for p in tagged):
            darwin = SYSTEMS["macos"].sys_platform
            return f'sys_platform == "{darwin}"', f'sys_platform != "{darwin}"'

        def either(group: list[str]) -> str:
            parts = [PLATFORMS[p].marker for p in group]
            return parts[0] if len(parts) == 1 else " or ".join(f"({m})" for m in parts)

        return either(plain), either(tagged)

    def _check_managed_pip(self, pip: tuple[str, ...], source: str) -> None:
        for spec in pip:
            name = pip_requirement_name(spec)
            if name in TORCH_PACKAGES:
                raise self.fail(
                    "pip",
                    f"'{name}' is managed by envgen and must not be listed in 'pip'",
                    "remove it and set pytorch.version / pytorch.packages instead",
                )
        for spec in self.values.get("conda", ()):
            name = conda_spec_name(spec)
            if name in _MANAGED_CONDA or name in TORCH_PACKAGES:
                fix = _MANAGED_CONDA.get(name, "set pytorch.packages instead")
                if source == "pip" and name in _CUDA_RUNTIME:
                    # The likeliest intent is "torch needs CUDA": with pip wheels it already has it.
                    fix = f"remove it: PyTorch's wheels bundle the CUDA they need ({fix})"
                raise self.fail("conda", f"'{name}' must not be listed in 'conda'", fix)

    def _check_channels(self, channels: tuple[str, ...], release: Release) -> None:
        for stale in ("pytorch", "nvidia"):
            if stale in channels and not release.conda_pytorch_channel:
                raise self.fail(
                    "channels",
                    f"the '{stale}' channel has no torch {release.torch}: PyTorch stopped "
                    "publishing conda packages after 2.5",
                    f"remove '{stale}' from channels; use source: conda for conda-forge's pytorch",
                )

    def _conda_deps(
        self,
        python: str,
        source: str,
        target: Accelerator,
        variant: Variant,
        companions: Mapping[str, str],
    ) -> tuple[str, ...]:
        deps = [f"python={python}"]
        if source == "conda":
            build = target.conda_build
            for name, version in companions.items():
                conda_name = "pytorch" if name == "torch" else name
                deps.append(
                    f"{conda_name}={version}" + (f"={build}" if build and name == "torch" else "")
                )
            if target.conda_version_package:
                deps.append(f"{target.conda_version_package}={variant.version}")
        user = list(self.values.get("conda", ()))
        needs_pip = source == "pip" or bool(self.values.get("pip"))
        if needs_pip and "pip" not in {conda_spec_name(s) for s in user}:
            deps.append("pip")
        return tuple(deps + user)


def chosen_outputs(listed: Sequence[str], source: str) -> tuple[str, ...]:
    """The outputs a profile renders: its plain names (or the defaults when it lists none),
    then each '+NAME' it adds."""
    plain = [name for name in listed if not name.startswith("+")]
    added = [name[1:] for name in listed if name.startswith("+")]
    return tuple(dict.fromkeys([*(plain or default_outputs(source)), *added]))


def dropped_defaults(env: ResolvedEnv) -> tuple[str, ...]:
    """Default outputs that ``env``'s locks are made from, but that its outputs leave out."""
    return tuple(name for name in lock_inputs() if name not in env.outputs)
