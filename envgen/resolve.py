"""Resolution: a merged profile plus the catalog become one frozen, fully concrete ``ResolvedEnv``.

Everything downstream (render, lock, create, verify) reads only the ``ResolvedEnv``; every
impossible combination is refused here, with the nearest thing that does exist, so that the
user can fix the profile in one step.
"""

# No `from __future__ import annotations`: NamedTuple makes each string annotation a
# ForwardRef, compiling it, at start-up; real annotations cost ~2 ms less (issue 12).
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from .catalog import PLATFORM_OS, Catalog, CondaForgeBuilds, Release, Variant, plain_release
from .errors import ProfileError
from .mirrors import Mirrors
from .profile import TORCH_PACKAGES, MergedProfile
from .specs import conda_spec_name, pip_requirement_name

PYPI_SIMPLE = "https://pypi.org/simple"
DEFAULT_PLATFORMS = {
    "cpu": ("linux-64", "osx-arm64", "win-64"),
    "cuda": ("linux-64", "win-64"),
    "rocm": ("linux-64",),
    "xpu": ("linux-64", "win-64"),
    "mps": ("osx-arm64",),
}
# A conda-sourced torch has no pip requirements file worth committing.
DEFAULT_OUTPUTS = {
    "pip": ("environment.yml", "requirements.txt", "conda-lock-spec.yml"),
    "conda": ("environment.yml", "conda-lock-spec.yml"),
}
# Default outputs the locks rely on: conda-lock.yml's content_hash is conda-lock's hash of
# conda-lock-spec.yml (``conda-lock --check-input-hash -f conda-lock-spec.yml``).
LOCK_OUTPUTS = ("conda-lock-spec.yml",)
_OS_LABEL = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}
# PEP 508 markers selecting each target platform.
PLATFORM_MARKERS = {
    "linux-64": 'sys_platform == "linux" and platform_machine == "x86_64"',
    "linux-aarch64": 'sys_platform == "linux" and platform_machine == "aarch64"',
    "osx-64": 'sys_platform == "darwin" and platform_machine == "x86_64"',
    "osx-arm64": 'sys_platform == "darwin" and platform_machine == "arm64"',
    "win-64": 'sys_platform == "win32"',
}
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


# NamedTuples, not dataclasses: every command builds these classes at start-up, and a dataclass
# costs ~0.8 ms to build (issue 12). ``as_dict`` below is their plain-data form.


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
    accelerator: str
    variant: Variant  # compute variant of the torch build (cpu for mps: PyPI's macOS build)
    source: str  # pip | conda
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
        return "macOS (MPS)" if self.accelerator == "mps" else self.variant.label

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


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _versions(releases: list[Release]) -> str:
    return _join([r.torch for r in releases])


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def resolve(
    profile: MergedProfile,
    catalog: Catalog,
    mirrors: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
) -> ResolvedEnv:
    """Turn a merged profile into a ResolvedEnv, or explain in one paragraph why that can't be.

    ``files`` maps layer names to the path shown in messages (defaults to the file name).
    """
    return _Resolver(profile, catalog, mirrors or {}, files or {}).run()


class _Resolver:
    def __init__(
        self,
        profile: MergedProfile,
        catalog: Catalog,
        mirrors: Mapping[str, str],
        files: Mapping[str, str],
    ) -> None:
        self.profile = profile
        self.values = profile.values
        self.catalog = catalog
        self.mirrors = Mirrors.from_mapping(mirrors)
        self.files = files

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
        source = self.values.get("source", "pip")
        platforms = tuple(self.values.get("platforms") or DEFAULT_PLATFORMS[accelerator])
        self._check_keys_fit(accelerator)
        self._check_platforms(accelerator, platforms)
        wanted_variant = self._wanted_variant(accelerator)
        builds: CondaForgeBuilds | None = None
        if source == "conda" and accelerator in ("rocm", "xpu"):
            raise self.fail(
                "source",
                f"conda-forge publishes no {_KIND_LABEL[accelerator]} builds of pytorch",
                "use source: pip for this accelerator",
            )
        if source == "conda" and self.catalog.conda_forge:
            release, variant, builds = self._pick_conda(
                python, accelerator, wanted_variant, platforms
            )
        else:
            release, variant = self._pick_release(python, accelerator, wanted_variant, platforms)
        packages = self._packages(release, builds)
        companions = {p: _companion(release, builds, p) or "" for p in packages}
        pins = self._pins(accelerator, source, variant, companions, platforms)
        index_url = None
        if source == "pip" and accelerator != "mps":
            index_url = self.mirrors.url(self.catalog.index_url(variant.name))
        pip = tuple(self.values.get("pip", ()))
        self._check_managed_pip(pip, source)
        extra = (self.mirrors.url(PYPI_SIMPLE),) if pip and index_url else ()
        channels = tuple(self.values.get("channels") or ("conda-forge",))
        self._check_channels(channels, release)
        channels = tuple(self.mirrors.channel(c) for c in channels)
        conda = self._conda_deps(python, source, accelerator, variant, companions)
        return ResolvedEnv(
            name=self.profile.name,
            env_name=self.values.get("name", self.profile.name),
            description=self.values.get("description", ""),
            python=python,
            python_minor=_minor(python),
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
            omitted=self._omitted(release, packages, builds),
        )

    def _check_keys_fit(self, accelerator: str) -> None:
        for key, owner in (("cuda", "cuda"), ("rocm", "rocm")):
            if key in self.values and accelerator != owner:
                raise self.fail(
                    key,
                    f"'{key}' is set but the accelerator is '{accelerator}'",
                    f"set accelerator: {owner}, or remove '{key}'",
                )

    def _check_platforms(self, accelerator: str, platforms: tuple[str, ...]) -> None:
        allowed = {
            "cuda": ("linux", "windows"),
            "rocm": ("linux",),
            "xpu": ("linux", "windows"),
            "mps": ("macos",),
            "cpu": ("linux", "windows", "macos"),
        }[accelerator]
        bad = [p for p in platforms if PLATFORM_OS[p] not in allowed]
        if accelerator == "mps":
            bad = [p for p in platforms if p != "osx-arm64"]
        if bad:
            names = {"cuda": "CUDA", "rocm": "ROCm", "xpu": "XPU", "mps": "MPS", "cpu": "CPU"}
            where = _join([_OS_LABEL[o] for o in allowed])
            detail = {
                "mps": "MPS exists only on Apple Silicon Macs (osx-arm64)",
                "cuda": "PyTorch publishes no CUDA builds for macOS",
            }.get(accelerator, f"PyTorch publishes {names[accelerator]} builds only for {where}")
            raise self.fail(
                "platforms",
                f"{names[accelerator]} cannot target {_join(bad)}: {detail}",
                f"remove {_join(bad)} from 'platforms', or use accelerator: "
                + ("mps for Macs" if accelerator != "mps" else "cpu"),
            )

    def _wanted_variant(self, accelerator: str) -> str | None:
        if accelerator == "cuda" and "cuda" in self.values:
            text = str(self.values["cuda"])
            return text if text.startswith("cu") else "cu" + text.replace(".", "")
        if accelerator == "rocm" and "rocm" in self.values:
            text = str(self.values["rocm"])
            return text if text.startswith("rocm") else "rocm" + text
        if accelerator in ("cpu", "mps"):
            return "cpu"
        if accelerator == "xpu":
            return "xpu"
        return None  # newest variant of that kind, chosen per release

    def _in_range(self, text: str, spec_text: str, releases: list[Release]) -> list[Release]:
        try:
            from packaging.specifiers import InvalidSpecifier, SpecifierSet  # only for ranges

            spec = SpecifierSet(spec_text)
        except InvalidSpecifier:
            raise self.fail(
                "pytorch",
                f"'{text}' is neither a torch version nor a version range",
                'write "2.4.1", "2.4" or ">=2.3,<2.6"',
            ) from None
        return [r for r in releases if spec.contains(r.version, prereleases=True)]

    def _candidates(self) -> list[Release]:
        """Releases allowed by the profile's pytorch version (newest first)."""
        text = self.values.get("pytorch", {}).get("version")
        releases = list(reversed(self.catalog.releases))
        if text is None:
            return [r for r in releases if r.verified]
        spec_text = text
        if text[0].isdigit():
            spec_text = f"=={text}.*" if text.count(".") == 1 else f"=={text}"
        wanted = plain_release(text)
        if wanted is not None and all(plain_release(r.torch) for r in releases):
            # "2.4.1" or "2.4" against plain release numbers: PEP 440's == and ==X.Y.* on
            # integer tuples, without importing packaging (start-up time before every lock)
            found = [r for r in releases if _release_matches(wanted, text.count(".") == 1, r.torch)]
        else:
            found = self._in_range(text, spec_text, releases)
        exact = len(found) == 1 and spec_text == f"=={found[0].torch}"
        if not exact and any(r.verified for r in found):
            found = [r for r in found if r.verified]  # a range never lands on an unverified one
        if not found:
            known = [r.torch for r in self.catalog.releases]
            near = self._nearby(text, known)
            raise self.fail(
                "pytorch",
                f"no torch release matches '{text}'; the catalog knows {known[0]} to {known[-1]}"
                + (f" (nearest: {near})" if near else ""),
                "pick a listed version, or update envgen for newer releases",
            )
        return found

    @staticmethod
    def _nearby(text: str, known: list[str]) -> str:
        """The releases nearest ``text``: the newest when it is beyond the catalog, the oldest
        when before it, the same minor's releases, else the release on each side."""
        from packaging.version import Version  # only on this error path: start-up time

        try:
            target = Version(text.lstrip("=<>!~ ").split(",")[0])
        except Exception:  # noqa: BLE001 - any unparsable text simply has no neighbours
            return ""
        versions = sorted(known, key=Version)
        if not versions:
            return ""
        if target > Version(versions[-1]):
            return versions[-1]
        if target < Version(versions[0]):
            return versions[0]
        same = [v for v in versions if Version(v).release[:2] == target.release[:2]]
        if same:
            return _join(same[-3:])
        below = [v for v in versions if Version(v) < target][-1:]
        above = [v for v in versions if Version(v) > target][:1]
        return _join(below + above)

    def _pick_release(
        self, python: str, accelerator: str, wanted: str | None, platforms: tuple[str, ...]
    ) -> tuple[Release, Variant]:
        candidates = self._candidates()
        minor = _minor(python)
        kind = {"mps": "cpu"}.get(accelerator, accelerator)
        problems: list[str] = []
        for release in candidates:
            variant = self._variant_for(release, kind, wanted)
            why = self._unfit(release, variant, minor, kind, wanted, platforms)
            if why is None:
                assert variant is not None
                return release, variant
            problems.append(why)
        key = (
            "pytorch"
            if "pytorch" in self.values
            else ("cuda" if wanted and wanted.startswith("cu") else "python")
        )
        if wanted is not None and self.values.get("pytorch", {}).get("version") is None:
            pair = self._no_release_has_both(minor, wanted)
            if pair is not None:
                raise self.fail(key, *pair)
        first = problems[0]
        raise self.fail(key, first, self._fix_for(first, candidates))

    def _no_release_has_both(self, minor: str, wanted: str) -> tuple[str, str] | None:
        """(message, fix) when releases have ``wanted``'s builds and others have Python
        ``minor`` wheels, but none has both: the message names both, each with its range."""
        releases = self.catalog.releases
        have_builds = [r for r in releases if wanted in r.variants]
        have_python = [r for r in releases if minor in r.python]
        if not have_builds or not have_python or any(r in have_python for r in have_builds):
            return None
        target = Variant.parse(wanted)
        pythons = sorted({p for r in have_builds for p in r.python}, key=_minor_key)
        newer = releases.index(have_python[0]) > releases.index(have_builds[-1])
        nearest = have_python[0] if newer else have_python[-1]
        others = [v.version or "" for v in nearest.variants_of(target.kind)]
        kind = target.label.split()[0]
        message = (
            f"no torch release has {target.label} builds for Python {minor}: {target.label} "
            f"builds exist for torch {have_builds[0].torch} to {have_builds[-1].torch}, with "
            f"wheels for Python {pythons[0]} to {pythons[-1]}; Python {minor} wheels "
            f"{'start' if newer else 'end'} with torch {nearest.torch}"
            + (f", whose {kind} builds are {_join(others)}" if others else "")
        )
        fix = f'set python: "{pythons[-1] if newer else pythons[0]}" for {target.label}'
        if others:
            fix += f', or {target.kind}: "{others[0] if newer else others[-1]}" for Python {minor}'
        return message, fix

    def _variant_for(self, release: Release, kind: str, wanted: str | None) -> Variant | None:
        if wanted is not None:
            return Variant.parse(wanted) if wanted in release.variants else None
        options = release.variants_of(kind)
        return options[-1] if options else None

    def _unfit(
        self,
        release: Release,
        variant: Variant | None,
        minor: str,
        kind: str,
        wanted: str | None,
        platforms: tuple[str, ...],
    ) -> str | None:
        """Why ``release`` can't serve this profile, phrased with what does exist nearby."""
        all_releases = self.catalog.releases
        if variant is None:
            published = release.variants_of(kind)
            if wanted is None:
                return f"torch {release.torch} has no {kind.upper()} builds"
            target = Variant.parse(wanted)
            have = [r for r in all_releases if wanted in r.variants]
            if published:
                text = (
                    f"torch {release.torch} was published for "
                    f"{target.label.split()[0]} {_join([v.version or '' for v in published])}"
                )
            else:
                text = f"torch {release.torch} has no {target.label.split()[0]} builds"
            if not have:
                return text + f"; no release in the catalog has {target.label} builds ({wanted})"
            # the catalog is in version order: positions compare as versions, without packaging
            where = all_releases.index
            if where(have[0]) > where(release):
                return text + f"; {target.label} builds start with torch {have[0].torch}"
            if where(have[-1]) < where(release):
                return text + f"; {target.label} builds end with torch {have[-1].torch}"
            return text + f"; {target.label} builds exist for torch {_versions(have)}"
        if minor not in release.python:
            with_py = [r for r in all_releases if minor in r.python]
            text = (
                f"torch {release.torch} has wheels for Python {release.python[0]} to "
                f"{release.python[-1]}, not {minor}"
            )
            if with_py and with_py[0].version > release.version:
                return text + f"; Python {minor} wheels start with torch {with_py[0].torch}"
            if with_py and with_py[-1].version < release.version:
                return text + f"; Python {minor} wheels end with torch {with_py[-1].torch}"
            return text
        covered = release.variants[variant.name]
        if kind == "cpu" and "osx-64" in platforms and not release.osx_64:
            covered = tuple(p for p in covered if p != "osx-64")
        elif kind == "cpu" and release.osx_64 and "osx-64" not in covered:
            covered = (*covered, "osx-64")
        missing = [p for p in platforms if p not in covered]
        if missing:
            text = (
                f"torch {release.torch} {variant.label} wheels exist for {_join(list(covered))}, "
                f"not {_join(missing)}"
            )
            if "osx-64" in missing:
                last = [r for r in all_releases if r.osx_64]
                if last:
                    text += f"; Intel-Mac (osx-64) wheels end with torch {last[-1].torch}"
            return text
        return None

    def _fix_for(self, problem: str, candidates: list[Release]) -> str:
        if "Python" in problem:
            return "change 'python' or 'pytorch' to a pair that has wheels"
        if "wheels exist for" in problem:
            return "drop the platforms that have no wheels, or pick another torch version"
        return "change 'pytorch' or the accelerator version to a published pair"

    def _packages(self, release: Release, builds: CondaForgeBuilds | None) -> tuple[str, ...]:
        wanted = self.values.get("pytorch", {}).get("packages")
        if wanted is None:
            return tuple(p for p in TORCH_PACKAGES if _companion(release, builds, p))
        for name in wanted:
            if not _companion(release, builds, name):
                raise self.fail(
                    "pytorch",
                    _no_companion(release, builds, name),
                    f"remove {name} from pytorch.packages, or pick another torch version",
                )
        return tuple(wanted)

    def _omitted(
        self, release: Release, packages: tuple[str, ...], builds: CondaForgeBuilds | None
    ) -> dict[str, str]:
        """Why a default package is missing, so that nobody wonders where torchaudio went."""
        if self.values.get("pytorch", {}).get("packages") is not None:
            return {}  # the profile chose its packages itself
        out = {}
        for name in TORCH_PACKAGES:
            if name in packages:
                continue
            why = _no_companion(release, builds, name)
            paired = [r for r in self.catalog.releases if r.companion(name)]
            later = [r for r in paired if r.version > release.version]
            if builds is None and later:
                why += (
                    f"; the next {name} release, {later[0].companion(name)}, came with torch "
                    f"{later[0].torch}" + ("" if later[0].verified else " (unverified)")
                )
            elif builds is None and paired and paired[-1].version < release.version:
                why += (
                    f"; {name} releases end with {paired[-1].companion(name)} "
                    f"(for torch {paired[-1].torch})"
                )
            out[name] = why
        return out

    def _pick_conda(
        self, python: str, accelerator: str, wanted: str | None, platforms: tuple[str, ...]
    ) -> tuple[Release, Variant, CondaForgeBuilds]:
        """The newest allowed release conda-forge built in a way that serves the profile."""
        from .conda_fit import fit

        minor = _minor(python)
        kind = "cuda" if accelerator == "cuda" else "cpu"
        cuda = Variant.parse(wanted).version if wanted and wanted.startswith("cu") else None
        built = self.catalog.conda_forge
        named = self.values.get("pytorch", {}).get("version") is not None
        problems: list[str] = []
        for release in self._candidates():
            builds = built.get(release.torch)
            if builds is None:
                if named:
                    near = [v for v in built if _minor(v) == _minor(release.torch)]
                    problems.append(
                        f"conda-forge has no pytorch {release.torch} recorded in the catalog"
                        + (f" (it has {_join(near)})" if near else "")
                    )
                continue
            why, version = fit(builds, kind, cuda, minor, platforms)
            if why is None:
                name = "cu" + version.replace(".", "") if version else "cpu"
                return release, Variant.parse(name), builds
            problems.append(why)
        if not problems:
            problems.append("conda-forge built none of the torch releases the profile allows")
        if named:
            key = "pytorch"
        elif "Python" in problems[0]:
            key = "python"
        else:
            key = "cuda" if cuda else "platforms"
        raise self.fail(
            key,
            problems[0],
            "pick a pytorch version and CUDA version conda-forge built (envgen show names "
            "them), or use source: pip",
        )

    def _pins(
        self,
        accelerator: str,
        source: str,
        variant: Variant,
        companions: Mapping[str, str],
        platforms: tuple[str, ...],
    ) -> tuple[Pin, ...]:
        if source == "conda":
            return ()
        if accelerator == "mps":
            return tuple(Pin(name, version, None) for name, version in companions.items())
        # PyTorch's index tags its builds (2.4.1+cu118) except for macOS and, for some releases,
        # Linux aarch64 CPU wheels; a plain pin there still only sees that index's builds.
        plain = {p for p in platforms if PLATFORM_OS[p] == "macos"}
        if variant.kind == "cpu":
            plain |= {p for p in platforms if p == "linux-aarch64"}
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
        if all(PLATFORM_OS[p] == "macos" for p in plain) and not any(
            PLATFORM_OS[p] == "macos" for p in tagged
        ):
            return 'sys_platform == "darwin"', 'sys_platform != "darwin"'

        def either(group: list[str]) -> str:
            parts = [PLATFORM_MARKERS[p] for p in group]
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
        accelerator: str,
        variant: Variant,
        companions: Mapping[str, str],
    ) -> tuple[str, ...]:
        deps = [f"python={python}"]
        if source == "conda":
            build = {"cuda": "cuda*", "cpu": "cpu*"}.get(accelerator)
            for name, version in companions.items():
                conda_name = "pytorch" if name == "torch" else name
                deps.append(
                    f"{conda_name}={version}" + (f"={build}" if build and name == "torch" else "")
                )
            if accelerator == "cuda":
                deps.append(f"cuda-version={variant.version}")
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
    return tuple(dict.fromkeys([*(plain or DEFAULT_OUTPUTS[source]), *added]))


def dropped_defaults(env: ResolvedEnv) -> tuple[str, ...]:
    """Default outputs that ``env``'s locks are made from, but that its outputs leave out."""
    return tuple(name for name in LOCK_OUTPUTS if name not in env.outputs)


def _minor_key(python: str) -> tuple[int, ...]:
    return tuple(int(part) for part in python.split(".") if part.isdigit())


_KIND_LABEL = {"rocm": "ROCm", "xpu": "XPU"}


def _companion(release: Release, builds: CondaForgeBuilds | None, package: str) -> str | None:
    """The version of ``package`` to install with ``release``: conda-forge's, where its builds
    are recorded (it built companions against a pytorch minor, not always PyTorch's pair)."""
    if package == "torch":
        return release.torch
    if builds is not None and builds.companions_recorded:
        return builds.companion(package)
    return release.companion(package)


def _no_companion(release: Release, builds: CondaForgeBuilds | None, package: str) -> str:
    if builds is not None and builds.companions_recorded:
        return f"conda-forge built no {package} against pytorch {_minor(release.torch)}"
    return f"no {package} release accompanies torch {release.torch}"


def _release_matches(wanted: tuple[int, ...], prefix: bool, torch: str) -> bool:
    """Whether release ``torch`` is PEP 440 ``==wanted`` (zero-padded) or, with ``prefix``,
    ``==wanted.*``."""
    have = plain_release(torch) or ()
    if prefix:
        padded = have + (0,) * max(0, len(wanted) - len(have))
        return padded[: len(wanted)] == wanted
    size = max(len(have), len(wanted))
    return have + (0,) * (size - len(have)) == wanted + (0,) * (size - len(wanted))
