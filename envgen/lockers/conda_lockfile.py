"""The ``conda-lock.yml`` both conda engines write: conda-lock's own models, plus envgen's seal.

Building the file through conda-lock's pydantic models and writer (not hand-made YAML) keeps it
exactly what ``conda-lock install`` and micromamba read. Both engines end here, so a lock has the
same header, metadata and order whichever engine solved it, and it is written in one atomic step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from ..atomic import write_atomic
from ..digest import CONTENT_PLACEHOLDER, canonical_json, seal, sha256_text
from ..leftovers import temporary_directory
from ..targets import ACCELERATORS
from .base import CondaLockRequest

# Keys under the lock's metadata.custom_metadata; conda-lock keeps custom metadata verbatim.
INPUTS_KEY = "envgen_inputs_sha256"
ENGINE_KEY = "envgen_engine"
PROFILE_KEY = "envgen_profile"


@cache
def _default_virtual_packages() -> dict[str, dict[str, str]]:
    """conda-lock's own per-platform defaults, so both engines assume the same target machine.

    ``__cuda`` is dropped: conda-lock assumes CUDA 11.4 everywhere, which would let a CPU profile
    lock CUDA builds; envgen sets ``__cuda`` only from the profile (the request).
    """
    from importlib.resources import files

    import yaml

    text = files("conda_lock").joinpath("default-virtual-packages.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return {
        subdir: {k: str(v) for k, v in spec["packages"].items() if k != "__cuda"}
        for subdir, spec in data["subdirs"].items()
    }


def virtual_packages(platform: str, overrides: Mapping[str, str] | None) -> dict[str, str]:
    """The virtual packages a lock for ``platform`` assumes: defaults, then the request's.

    An override with an empty value removes that virtual package (e.g. ``__glibc: ""``).
    Values are ``VERSION`` or ``VERSION BUILD`` (``__archspec: "1 x86_64"``), as conda-lock's
    virtual-package spec files write them.
    """
    merged = dict(_default_virtual_packages().get(platform, {}))
    for name, value in (overrides or {}).items():
        if value == "":
            merged.pop(name, None)
        else:
            merged[name] = str(value)
    return dict(sorted(merged.items()))


def conda_dependencies(depends: Iterable[str]) -> dict[str, str]:
    """conda-lock's ``dependencies`` mapping (name -> version spec) from repodata ``depends``.

    conda-lock keeps only the version part of each spec (no build), and "" for "any".
    """
    result: dict[str, str] = {}
    for spec in depends:
        parts = spec.split()
        if not parts:
            continue
        version = parts[1] if len(parts) > 1 else ""
        name = parts[0]
        if name in result and version and result[name]:
            version = f"{result[name]},{version}"
        result[name] = version or result.get(name, "")
    return dict(sorted(result.items()))


def _pip_packages(request: CondaLockRequest) -> list[Any]:
    from conda_lock.lockfile.v2prelim.models import HashModel, LockedDependency

    packages = []
    for platform in request.platforms:
        lock = request.pip_locks.get(platform)
        for pkg in lock.packages if lock else ():
            packages.append(
                LockedDependency(
                    name=pkg.name,
                    version=pkg.version,
                    manager="pip",
                    platform=platform,
                    dependencies={},
                    url=request.public_url(pkg.url),
                    hash=HashModel(sha256=pkg.sha256),
                    categories={"main"},
                )
            )
    return packages


def content_hashes(request: CondaLockRequest) -> dict[str, str]:
    """Per-platform digests of everything that decides a platform's solution.

    With the rendered ``conda-lock-spec.yml``, conda-lock's own hash of it, so that
    ``conda-lock lock --check-input-hash -f conda-lock-spec.yml`` agrees with envgen's lock.
    Without one, a digest of envgen's inputs (never the clock), so that re-locks of unchanged
    inputs stay byte-identical.
    """
    if request.spec_text is not None:
        from .conda_spec import content_hashes as spec_hashes

        env = request.env
        # conda-lock's --with-cuda: the __cuda virtual package is the one it knows
        with_cuda = ACCELERATORS[env.accelerator].conda_virtual == "__cuda"
        cuda = env.variant.version if with_cuda else None
        return spec_hashes(request.spec_text, cuda)
    return {
        platform: sha256_text(
            canonical_json(
                {
                    "inputs": request.inputs_digest,
                    "platform": platform,
                    "channels": list(request.channels),
                    "specs": list(request.env.conda),
                    "virtual": virtual_packages(platform, request.virtual_packages.get(platform)),
                }
            )
        )
        for platform in request.platforms
    }


def build_lockfile(request: CondaLockRequest, conda_packages: Sequence[Any], engine: str) -> Any:
    """A conda-lock ``Lockfile`` of ``conda_packages`` (conda-lock ``LockedDependency`` values)
    plus the request's pip locks."""
    from conda_lock.lockfile.v2prelim.models import Lockfile, LockMeta

    public = [pkg.model_copy(update={"url": request.public_url(pkg.url)}) for pkg in conda_packages]
    metadata = LockMeta(
        content_hash=content_hashes(request),
        channels=list(request.public_channels or request.channels),
        platforms=sorted(request.platforms),
        sources=[],
        custom_metadata={
            ENGINE_KEY: engine,
            INPUTS_KEY: request.inputs_digest,
            PROFILE_KEY: request.env.name,
        },
    )
    return Lockfile(package=[*public, *_pip_packages(request)], metadata=metadata)


def header(request: CondaLockRequest, engine: str) -> str:
    name = request.output.name
    lines = [
        f"Generated by envgen from profile '{request.env.name}' (engine: {engine}). "
        "Do not edit; regenerate with:",
        f"    envgen lock {request.env.name}",
        "Install it with either of:",
        f"    conda-lock install -n YOURENV {name}",
        f"    micromamba create -n YOURENV -f {name}",
        f"envgen-inputs-sha256: {request.inputs_digest}",
        *([f"envgen-inputs-parts: {request.inputs_parts}"] if request.inputs_parts else []),
        f"envgen-content-sha256: {CONTENT_PLACEHOLDER}",
    ]
    return "".join(f"# {line}\n" for line in lines)


def render(request: CondaLockRequest, lockfile: Any, engine: str) -> str:
    """The file's text: envgen's header, then exactly what conda-lock's writer produces."""
    from conda_lock.lockfile import write_conda_lock_file

    with temporary_directory("envgen-lock-") as tmp:
        path = tmp / request.output.name
        write_conda_lock_file(lockfile, path, metadata_choices=None, include_help_text=False)
        body = path.read_text(encoding="utf-8")
    return seal(header(request, engine) + body)


def write(request: CondaLockRequest, conda_packages: Sequence[Any], engine: str) -> None:
    """Render and write ``request.output`` atomically (nothing is written if rendering fails)."""
    text = render(request, build_lockfile(request, conda_packages, engine), engine)
    write_atomic(request.output, text)
