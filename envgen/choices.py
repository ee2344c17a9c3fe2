"""Defaults that matter, said where resolution picks them: the CUDA build a bare
``accelerator: cuda`` gets (and the driver it needs), and the older torch an older Python gets.

Notes, not errors: the profile is valid and the choice is what envgen documents; a newcomer
should still see it once, with the key that would change it (setting that key silences it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalog import Catalog
    from .profile import MergedProfile
    from .resolve import ResolvedEnv


def default_notes(profile: MergedProfile, env: ResolvedEnv, catalog: Catalog) -> list[str]:
    notes = []
    cuda = _cuda_note(profile, env, catalog)
    if cuda:
        notes.append(cuda)
    python = _python_note(profile, env, catalog)
    if python:
        notes.append(python)
    return notes


def _cuda_note(profile: MergedProfile, env: ResolvedEnv, catalog: Catalog) -> str | None:
    """``accelerator: cuda`` without ``cuda``: the newest CUDA build, which needs the newest
    drivers; the oldest build of the same release is the one to name for an older driver."""
    if env.accelerator != "cuda" or "cuda" in profile.values or env.variant.version is None:
        return None
    text = (
        f"no 'cuda' is set, so torch {env.torch} comes in its newest CUDA build, "
        f"{env.variant.name} (CUDA {env.variant.version})"
    )
    needs = _driver(env.variant.name)
    if needs:
        text += f", which needs an NVIDIA driver {needs}"
    release = catalog.find(env.torch)
    builds = release.variants_of("cuda") if release is not None else []
    oldest = builds[0] if builds else None
    if oldest is not None and oldest != env.variant and oldest.version:
        text += f'; for an older driver set cuda: "{oldest.version}"'
        older = _driver(oldest.name)
        text += f" (driver {older})" if older else ""
    return text + "; 'envgen doctor' shows this machine's driver"


def _driver(variant: str) -> str | None:
    """'>= 580 on Linux, >= 580 on Windows' from envgen/data/drivers.yaml; None if unknown."""
    from .drivers import driver_facts  # only on this path: the driver data is not small

    table = driver_facts().min_driver
    linux, windows = table["linux"].get(variant), table["windows"].get(variant)
    if linux and windows and linux != windows:
        return f">= {linux} on Linux, >= {windows} on Windows"
    if linux or windows:
        return f">= {linux or windows}"
    return None


def _python_note(profile: MergedProfile, env: ResolvedEnv, catalog: Catalog) -> str | None:
    """No ``pytorch`` version, and the newest torch has no wheels for the profile's Python:
    the torch picked is older than a newcomer would assume."""
    if profile.values.get("pytorch", {}).get("version") is not None:
        return None
    newest = next((r for r in reversed(catalog.releases) if r.verified), None)
    if newest is None or newest.torch == env.torch or env.python_minor in newest.python:
        return None
    return (
        f"Python {env.python_minor} gets torch {env.torch}, not the newest torch "
        f"{newest.torch}, which has wheels for Python {newest.python[0]} to "
        f'{newest.python[-1]}; set python: "{newest.python[0]}" or newer for it, or set '
        f'pytorch: "{env.torch}" to keep this one'
    )
