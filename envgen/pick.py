"""Which torch release and build a profile gets, or why none fits (a part of resolution).

``ReleasePicker`` walks the catalog's releases newest first and takes the first whose builds
serve the profile's Python, accelerator version and platforms (conda-forge's builds for
``source: conda``); when none does, the error names what does exist nearby, so the profile can
be fixed in one step. It also picks the torch-family packages that come with the release.
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

from .catalog import Catalog, CondaForgeBuilds, Release, plain_release
from .errors import ProfileError
from .profile import TORCH_PACKAGES
from .targets import ACCELERATORS, Variant

# What keeps a release (or conda-forge's builds of it) from serving a profile: it has no
# build of the wanted kind or version, no wheels for the profile's Python, or not for all of
# its platforms. Each has its own fix; the message says the rest.
Mismatch = Literal["build", "python", "platforms"]
_FIXES: dict[Mismatch, str] = {
    "python": "change 'python' or 'pytorch' to a pair that has wheels",
    "platforms": "drop the platforms that have no wheels, or pick another torch version",
    "build": "change 'pytorch' or the accelerator version to a published pair",
}


class Misfit(NamedTuple):
    """Why one release cannot serve the profile: what does not fit, and the message."""

    what: Mismatch
    text: str


def join_words(items: list[str]) -> str:
    """``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def minor_of(version: str) -> str:
    return ".".join(version.split(".")[:2])


class ReleasePicker:
    """The release choice of one profile: its values, the catalog, and how to fail (naming
    the profile file that set a key)."""

    def __init__(
        self,
        values: Mapping[str, Any],
        catalog: Catalog,
        fail: Callable[[str, str, str], ProfileError],
    ) -> None:
        self.values = values
        self.catalog = catalog
        self.fail = fail

    def in_range(self, text: str, spec_text: str, releases: list[Release]) -> list[Release]:
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

    def candidates(self) -> list[Release]:
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
            found = self.in_range(text, spec_text, releases)
        exact = len(found) == 1 and spec_text == f"=={found[0].torch}"
        if not exact and any(r.verified for r in found):
            found = [r for r in found if r.verified]  # a range never lands on an unverified one
        if not found:
            known = [r.torch for r in self.catalog.releases]
            near = self.nearby(text, known)
            raise self.fail(
                "pytorch",
                f"no torch release matches '{text}'; the catalog knows {known[0]} to {known[-1]}"
                + (f" (nearest: {near})" if near else ""),
                "pick a listed version, or update envgen for newer releases",
            )
        return found

    @staticmethod
    def nearby(text: str, known: list[str]) -> str:
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
            return join_words(same[-3:])
        below = [v for v in versions if Version(v) < target][-1:]
        above = [v for v in versions if Version(v) > target][:1]
        return join_words(below + above)

    def release(
        self, python: str, accelerator: str, wanted: str | None, platforms: tuple[str, ...]
    ) -> tuple[Release, Variant]:
        candidates = self.candidates()
        minor = minor_of(python)
        kind = ACCELERATORS[accelerator].variant_kind
        problems: list[Misfit] = []
        for release in candidates:
            variant = self.variant_for(release, kind, wanted)
            why = self.unfit(release, variant, minor, kind, wanted, platforms)
            if why is None:
                assert variant is not None
                return release, variant
            problems.append(why)
        version_key = ACCELERATORS[accelerator].version_key
        key = (
            "pytorch"
            if "pytorch" in self.values
            else (version_key if version_key and version_key in self.values else "python")
        )
        if wanted is not None and self.values.get("pytorch", {}).get("version") is None:
            pair = self.no_release_has_both(minor, wanted)
            if pair is not None:
                raise self.fail(key, *pair)
        first = problems[0]
        raise self.fail(key, first.text, _FIXES[first.what])

    def no_release_has_both(self, minor: str, wanted: str) -> tuple[str, str] | None:
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
            + (f", whose {kind} builds are {join_words(others)}" if others else "")
        )
        fix = f'set python: "{pythons[-1] if newer else pythons[0]}" for {target.label}'
        if others:
            fix += f', or {target.kind}: "{others[0] if newer else others[-1]}" for Python {minor}'
        return message, fix

    def variant_for(self, release: Release, kind: str, wanted: str | None) -> Variant | None:
        if wanted is not None:
            return Variant.parse(wanted) if wanted in release.variants else None
        options = release.variants_of(kind)
        return options[-1] if options else None

    def unfit(
        self,
        release: Release,
        variant: Variant | None,
        minor: str,
        kind: str,
        wanted: str | None,
        platforms: tuple[str, ...],
    ) -> Misfit | None:
        """Why ``release`` can't serve this profile, phrased with what does exist nearby."""
        if variant is None:
            return Misfit("build", self._no_build(release, kind, wanted))
        if minor not in release.python:
            return Misfit("python", self._no_python(release, minor))
        missing = self._no_platforms(release, variant, kind, platforms)
        return None if missing is None else Misfit("platforms", missing)

    def _no_build(self, release: Release, kind: str, wanted: str | None) -> str:
        all_releases = self.catalog.releases
        published = release.variants_of(kind)
        if wanted is None:
            return f"torch {release.torch} has no {kind.upper()} builds"
        target = Variant.parse(wanted)
        have = [r for r in all_releases if wanted in r.variants]
        if published:
            text = (
                f"torch {release.torch} was published for "
                f"{target.label.split()[0]} {join_words([v.version or '' for v in published])}"
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

    def _no_python(self, release: Release, minor: str) -> str:
        with_py = [r for r in self.catalog.releases if minor in r.python]
        text = (
            f"torch {release.torch} has wheels for Python {release.python[0]} to "
            f"{release.python[-1]}, not {minor}"
        )
        if with_py and with_py[0].version > release.version:
            return text + f"; Python {minor} wheels start with torch {with_py[0].torch}"
        if with_py and with_py[-1].version < release.version:
            return text + f"; Python {minor} wheels end with torch {with_py[-1].torch}"
        return text

    def _no_platforms(
        self, release: Release, variant: Variant, kind: str, platforms: tuple[str, ...]
    ) -> str | None:
        covered = release.variants[variant.name]
        if kind == "cpu" and "osx-64" in platforms and not release.osx_64:
            covered = tuple(p for p in covered if p != "osx-64")
        elif kind == "cpu" and release.osx_64 and "osx-64" not in covered:
            covered = (*covered, "osx-64")
        missing = [p for p in platforms if p not in covered]
        if not missing:
            return None
        have = join_words(list(covered))
        text = (
            f"torch {release.torch} {variant.label} wheels exist for {have}, "
            f"not {join_words(missing)}"
        )
        if "osx-64" in missing:
            last = [r for r in self.catalog.releases if r.osx_64]
            if last:
                text += f"; Intel-Mac (osx-64) wheels end with torch {last[-1].torch}"
        return text

    def packages(self, release: Release, builds: CondaForgeBuilds | None) -> tuple[str, ...]:
        wanted = self.values.get("pytorch", {}).get("packages")
        if wanted is None:
            return tuple(p for p in TORCH_PACKAGES if companion(release, builds, p))
        for name in wanted:
            if not companion(release, builds, name):
                raise self.fail(
                    "pytorch",
                    _no_companion(release, builds, name),
                    f"remove {name} from pytorch.packages, or pick another torch version",
                )
        return tuple(wanted)

    def omitted(
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

    def conda(
        self, python: str, accelerator: str, wanted: str | None, platforms: tuple[str, ...]
    ) -> tuple[Release, Variant, CondaForgeBuilds]:
        """The newest allowed release conda-forge built in a way that serves the profile."""
        from .conda_fit import fit

        minor = minor_of(python)
        kind = ACCELERATORS[accelerator].variant_kind
        cuda = Variant.parse(wanted).version if wanted and kind == "cuda" else None
        built = self.catalog.conda_forge
        named = self.values.get("pytorch", {}).get("version") is not None
        problems: list[Misfit] = []
        for release in self.candidates():
            builds = built.get(release.torch)
            if builds is None:
                if named:
                    near = [v for v in built if minor_of(v) == minor_of(release.torch)]
                    text = f"conda-forge has no pytorch {release.torch} recorded in the catalog"
                    problems.append(
                        Misfit("build", text + (f" (it has {join_words(near)})" if near else ""))
                    )
                continue
            why, version = fit(builds, kind, cuda, minor, platforms)
            if why is None:
                target = ACCELERATORS[accelerator]
                name: str = target.variant_kind
                if version is not None and target.variant_name is not None:
                    name = target.variant_name(version)  # the CUDA version to pin: cu126
                return release, Variant.parse(name), builds
            problems.append(Misfit(*why))
        if not problems:
            text = "conda-forge built none of the torch releases the profile allows"
            problems.append(Misfit("build", text))
        if named:
            key = "pytorch"
        elif problems[0].what == "python":
            key = "python"
        else:
            key = "cuda" if cuda else "platforms"
        raise self.fail(
            key,
            problems[0].text,
            "pick a pytorch version and CUDA version conda-forge built (envgen show names "
            "them), or use source: pip",
        )


def _versions(releases: list[Release]) -> str:
    return join_words([r.torch for r in releases])


def _minor_key(python: str) -> tuple[int, ...]:
    return tuple(int(part) for part in python.split(".") if part.isdigit())


def companion(release: Release, builds: CondaForgeBuilds | None, package: str) -> str | None:
    """The version of ``package`` to install with ``release``: conda-forge's, where its builds
    are recorded (it built companions against a pytorch minor, not always PyTorch's pair)."""
    if package == "torch":
        return release.torch
    if builds is not None and builds.companions_recorded:
        return builds.companion(package)
    return release.companion(package)


def _no_companion(release: Release, builds: CondaForgeBuilds | None, package: str) -> str:
    if builds is not None and builds.companions_recorded:
        return f"conda-forge built no {package} against pytorch {minor_of(release.torch)}"
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
