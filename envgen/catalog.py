"""The PyTorch catalog: which torch releases exist, with which companions, builds and Pythons.

The facts live in one reviewed data file (``envgen/data/pytorch.yaml``, each release citing its
sources); this module only loads and checks it and answers questions about it.
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
import contextlib
import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import CatalogError, EnvgenError
from .paths import CATALOG_FILE
from .targets import PLATFORMS, Variant

if TYPE_CHECKING:
    from packaging.version import Version


class Release(NamedTuple):
    """One torch release and what was published with it."""

    torch: str
    torchvision: str | None
    torchaudio: str | None
    python: tuple[str, ...]
    variants: Mapping[str, tuple[str, ...]]  # variant name -> platforms with wheels
    pypi_linux: str | None
    osx_64: bool
    conda_pytorch_channel: bool
    sources: tuple[str, ...]
    # False while a release's companions or builds rest on plans rather than published commands:
    # such a release is used only when a profile names it, never picked as "the newest".
    verified: bool = True

    @property
    def version(self) -> "Version":
        return _version(self.torch)

    def variants_of(self, kind: str) -> list[Variant]:
        found = [Variant.parse(name) for name in self.variants]
        return sorted((v for v in found if v.kind == kind), key=lambda v: v.sort_key)

    def companion(self, package: str) -> str | None:
        return {
            "torch": self.torch,
            "torchvision": self.torchvision,
            "torchaudio": self.torchaudio,
        }[package]


@cache
def _version(torch: str) -> "Version":
    """packaging's Version of a release, parsed once; imported when first compared (start-up)."""
    from packaging.version import Version

    return Version(torch)


class CondaForgeBuilds(NamedTuple):
    """One pytorch version as conda-forge built it (the catalog's ``conda_forge`` section)."""

    torch: str
    cuda_platforms: Mapping[str, tuple[str, ...]]  # CUDA version compiled with -> subdirs
    cpu_platforms: tuple[str, ...]
    python: tuple[str, ...]  # () where not recorded
    # the companions to install with it; None: conda-forge built none against this pytorch
    torchvision: str | None
    torchaudio: str | None
    companions_recorded: bool  # False for an entry in the older shape (cuda and cpu only)
    sources: tuple[str, ...]

    @property
    def cuda(self) -> tuple[str, ...]:
        return tuple(sorted(self.cuda_platforms, key=_minor_key))

    @property
    def platforms(self) -> tuple[str, ...]:
        found = set(self.cpu_platforms).union(*self.cuda_platforms.values())
        return tuple(p for p in PLATFORMS if p in found)

    def companion(self, package: str) -> str | None:
        return {"torchvision": self.torchvision, "torchaudio": self.torchaudio}.get(package)

    def cuda_build(self, platform: str, wanted: str) -> str | None:
        """The CUDA build of ``platform`` that runs under ``cuda-version=wanted``: a build
        compiled with X.Y requires ``cuda-version >=X.Y,<X+1``, so the newest one of the same
        major that is not newer than ``wanted``; None when there is none."""
        want = _minor_key(wanted)
        fits = [
            version
            for version, subdirs in self.cuda_platforms.items()
            if platform in subdirs
            and _minor_key(version)[0] == want[0]
            and _minor_key(version) <= want
        ]
        return max(fits, key=_minor_key) if fits else None


def _minor_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class Catalog(NamedTuple):
    index_base: str
    releases: tuple[Release, ...]  # oldest first
    sources: Mapping[str, Mapping[str, str]]
    conda_forge: Mapping[str, CondaForgeBuilds]  # torch version -> conda-forge's builds
    digest: str
    # torch version -> the catalog file its facts came from ("built-in" or an overlay's path)
    origins: Mapping[str, str] = MappingProxyType({})

    def origin(self, torch: str) -> str:
        return self.origins.get(torch, BUILTIN)

    def find(self, torch: str) -> Release | None:
        for release in self.releases:
            if release.torch == torch:
                return release
        return None

    def index_url(self, variant: str) -> str:
        return f"{self.index_base}/{variant}"


BUILTIN = "built-in"

# What a malformed catalog raises while it is checked (packaging's InvalidVersion is a
# ValueError: naming it would import packaging on every command).
_DAMAGE = (KeyError, TypeError, ValueError, AttributeError)


def load_catalog(
    path: Path = CATALOG_FILE, overlay: Path | None = None, overlay_label: str | None = None
) -> Catalog:
    """Load and check the catalog; a broken catalog is a packaging bug, reported as such.

    ``overlay`` is a project's own catalog file (``[tool.envgen] catalog``): its releases,
    sources and conda-forge facts extend or replace the built-in ones, key by key. A damaged
    per-user cache copy (a disk error, a hand edit, a full disk mid-write) is no damage to
    envgen: it is dropped and rebuilt from the catalog file.
    """
    from .cache import read_json, write_json
    from .readfile import LARGE, read_bytes

    raw = read_bytes(path, what="catalog", limit=LARGE, error=CatalogError)
    assert raw is not None  # missing_ok is not set: a missing file raised
    digest = hashlib.sha256(raw).hexdigest()
    name = f"catalog-{digest[:16]}.json"
    label = overlay_label or str(overlay)
    extra = read_overlay(overlay, label) if overlay is not None else None
    cached = read_json(name)
    if cached is not None:
        with contextlib.suppress(*_DAMAGE):
            return _combine(cached, digest, label, extra)
    try:
        data = _parse(raw)
        base = _build(data, digest)
    except _DAMAGE as exc:
        raise CatalogError(
            f"the catalog is damaged ({exc!r})",
            file=str(path),
            fix="reinstall envgen, or restore the file from version control",
        ) from None
    write_json(name, data)
    if extra is None:
        return base
    try:
        return _combine(data, digest, label, extra)
    except _DAMAGE as exc:
        # Said in envgen's words only: the overlay may be any file, and its values are not quoted.
        missing = exc.args[0] if isinstance(exc, KeyError) and exc.args else None
        known = (*RELEASE_KEYS, *_OVERLAY_KEYS)
        why = f"an entry has no '{missing}'" if missing in known else type(exc).__name__
        raise CatalogError(
            f"the catalog with its overlay is not valid ({why})",
            file=label,
            key="tool.envgen.catalog",
            fix="correct the overlay so each release has the keys the built-in catalog uses "
            "(torch, python, variants, sources…) and its sources are defined",
        ) from None


def _combine(data: Mapping[str, Any], digest: str, label: str, extra: "Overlay | None") -> Catalog:
    """The built-in data with the overlay on top; the digest then covers both files."""
    if extra is None:
        return _build(data, digest)
    merged = merge_overlay(data, extra.data)
    origins = {str(e["torch"]): label for e in extra.data.get("releases") or ()}
    origins.update({f"conda:{v}": label for v in extra.data.get("conda_forge") or {}})
    both = hashlib.sha256(f"{digest}\n{extra.digest}".encode()).hexdigest()
    return _build(merged, both, origins)


class Overlay(NamedTuple):
    """A project's catalog overlay: its data, and the digest of the bytes it was read from."""

    data: Mapping[str, Any]
    digest: str


_OVERLAY_KEYS = ("schema", "index_base", "sources", "releases", "conda_forge")


def read_overlay(path: Path, label: str) -> Overlay:
    """A project's catalog overlay as plain data; any problem names the file and the setting.

    Read once (the digest covers the very bytes parsed), bounded like a profile, and never
    quoted in an error: a file that is no catalog may hold anything.
    """
    from .readfile import read_bytes
    from .yamlsource import load_text

    fix = "point [tool.envgen] catalog at a YAML file shaped like envgen's own pytorch.yaml"
    raw = read_bytes(
        path,
        shown=label,
        what="catalog overlay",
        error=CatalogError,
        fix=fix,
        key="tool.envgen.catalog",
    )
    assert raw is not None  # missing_ok is not set: a missing file raised
    try:
        data = load_text(raw.decode("utf-8"), label, "catalog overlay")
    except UnicodeDecodeError:
        raise CatalogError(
            "the catalog overlay is not UTF-8 text", file=label, key="tool.envgen.catalog", fix=fix
        ) from None
    except EnvgenError as exc:
        raise CatalogError(
            exc.message, file=label, line=exc.line, key="tool.envgen.catalog", fix=fix
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict) or set(data) - set(_OVERLAY_KEYS):
        import difflib  # only on the error path: start-up time

        unknown = [str(k) for k in data if k not in _OVERLAY_KEYS] if isinstance(data, dict) else []
        close = [m for k in unknown for m in difflib.get_close_matches(k, _OVERLAY_KEYS, n=1)]
        raise CatalogError(
            "the catalog overlay must be a mapping of "
            + ", ".join(_OVERLAY_KEYS)
            + (f" ({len(unknown)} other key(s) found)" if unknown else "")
            + (f" — did you mean '{close[0]}'?" if close else ""),
            file=label,
            key="tool.envgen.catalog",
            fix=fix,
        )
    base = data.get("index_base")
    if base is not None:
        from .mirrors import check_url

        try:
            if not isinstance(base, str):
                raise EnvgenError("index_base is not a URL")
            # the PyTorch index every lock and install then asks: no '$', no credential
            check_url(base, "index_base")
        except EnvgenError as exc:
            raise CatalogError(
                exc.message, file=label, key="index_base", fix=exc.fix or fix
            ) from None
    return Overlay(data, hashlib.sha256(raw).hexdigest())


def merge_overlay(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overlay``'s releases (by torch version), sources and conda facts on top."""
    merged = dict(base)
    releases = {str(e["torch"]): e for e in base.get("releases") or ()}
    for entry in overlay.get("releases") or ():
        releases[str(entry["torch"])] = entry
    merged["releases"] = list(releases.values())
    merged["sources"] = {**(base.get("sources") or {}), **(overlay.get("sources") or {})}
    conda = {**(base.get("conda_forge") or {}), **(overlay.get("conda_forge") or {})}
    if conda:
        merged["conda_forge"] = conda
    if overlay.get("index_base"):
        merged["index_base"] = overlay["index_base"]
    return merged


# Every key a release entry may have, in the order the catalog writer puts them.
RELEASE_KEYS = (
    "torch",
    "verified",
    "torchvision",
    "torchaudio",
    "python",
    "variants",
    "pypi_linux",
    "osx_64",
    "index_option",
    "local_tags",
    "torchaudio_local_tag",
    "conda_pytorch_channel",
    "sources",
)


def _parse(raw: bytes) -> Any:
    """The catalog file's data (YAML); callers cache it as JSON, which parses several times
    faster, because the catalog is read on every command."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(raw, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from None


def plain_release(text: str) -> tuple[int, ...] | None:
    """``2.4.1`` as (2, 4, 1); None for anything but ASCII digits between dots (pre-releases,
    local tags, ranges: those need packaging)."""
    parts = text.split(".")
    if not all(part.isascii() and part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def _sort_releases(releases: list[Release]) -> None:
    """Oldest first, in PEP 440 order; every torch version must be one.

    Plain release numbers (all the catalog holds today) sort as integer tuples, which is
    PEP 440's order for them, without importing packaging on every command (start-up time);
    anything else goes through packaging's Version, which also rejects what is not a version.
    """
    plain = [plain_release(r.torch) for r in releases]
    if all(numbers is not None for numbers in plain):

        def key(release: Release) -> tuple[int, ...]:
            numbers = list(plain_release(release.torch) or ())
            while len(numbers) > 1 and numbers[-1] == 0:
                numbers.pop()  # 2.0 and 2.0.0 are the same version
            return tuple(numbers)

        releases.sort(key=key)
    else:
        releases.sort(key=lambda r: r.version)


# Every key a conda_forge entry may have, in the order the catalog writer puts them.
CONDA_KEYS = (
    "cuda",
    "cpu",
    "platforms",
    "cuda_platforms",
    "cpu_platforms",
    "python",
    "torchvision",
    "torchaudio",
    "sources",
)


def _conda_builds(
    torch: str, entry: Mapping[str, Any], sources: Mapping[str, Any]
) -> CondaForgeBuilds:
    """One ``conda_forge`` entry; one in the older shape (``cuda``, ``cpu``, maybe
    ``platforms``) means every CUDA version and the CPU build on each of its platforms (on
    every platform, when it names none)."""
    unknown = set(entry) - set(CONDA_KEYS)
    if unknown:
        raise ValueError(f"conda_forge {torch}: unknown keys {sorted(unknown)}")
    platforms = tuple(str(p) for p in entry.get("platforms") or PLATFORMS)
    if "cuda_platforms" in entry:
        cuda = {str(k): tuple(str(p) for p in v) for k, v in entry["cuda_platforms"].items()}
    else:
        cuda = {str(c): platforms for c in entry.get("cuda", ())}
    cpu = entry.get("cpu_platforms")
    if cpu is None:
        cpu = platforms if entry.get("cpu") else ()
    record = CondaForgeBuilds(
        torch=torch,
        cuda_platforms=cuda,
        cpu_platforms=tuple(str(p) for p in cpu),
        python=tuple(str(p) for p in entry.get("python", ())),
        torchvision=entry.get("torchvision"),
        torchaudio=entry.get("torchaudio"),
        companions_recorded="torchvision" in entry or "torchaudio" in entry,
        sources=tuple(entry.get("sources", ())),
    )
    for version in cuda:
        _minor_key(version)  # a CUDA version is digits and dots
    unknown = set(record.cpu_platforms).union(*cuda.values()).difference(PLATFORMS)
    if unknown:
        raise ValueError(f"conda_forge {torch}: unknown platforms {sorted(unknown)}")
    missing = [s for s in record.sources if s not in sources]
    if missing:
        raise ValueError(f"conda_forge {torch}: sources {missing} not in 'sources'")
    return record


def _build(
    data: Mapping[str, Any], digest: str, origins: Mapping[str, str] | None = None
) -> Catalog:
    releases = []
    known_keys = set(RELEASE_KEYS)
    for entry in data["releases"]:
        unknown_keys = set(entry) - known_keys
        if unknown_keys:
            raise ValueError(f"{entry.get('torch')}: unknown keys {sorted(unknown_keys)}")
        variants = {str(k): tuple(v) for k, v in entry["variants"].items()}
        for name, platforms in variants.items():
            Variant.parse(name)
            unknown = set(platforms).difference(PLATFORMS)
            if unknown:
                raise ValueError(f"{entry['torch']}: {name}: unknown platforms {sorted(unknown)}")
        release = Release(
            torch=str(entry["torch"]),
            torchvision=entry.get("torchvision"),
            torchaudio=entry.get("torchaudio"),
            python=tuple(str(p) for p in entry["python"]),
            variants=variants,
            pypi_linux=entry.get("pypi_linux"),
            osx_64=bool(entry.get("osx_64", False)),
            conda_pytorch_channel=bool(entry.get("conda_pytorch_channel", False)),
            sources=tuple(entry.get("sources", ())),
            verified=bool(entry.get("verified", True)),
        )
        missing = [s for s in release.sources if s not in data["sources"]]
        if missing or not release.sources:
            raise ValueError(f"{release.torch}: sources {missing or 'absent'} not in 'sources'")
        releases.append(release)
    _sort_releases(releases)
    conda_forge = {
        str(k): _conda_builds(str(k), v, data["sources"])
        for k, v in (data.get("conda_forge") or {}).items()
    }
    return Catalog(
        index_base=str(data["index_base"]).rstrip("/"),
        releases=tuple(releases),
        sources=data["sources"],
        conda_forge=conda_forge,
        digest=digest,
        origins=dict(origins or {}),
    )
