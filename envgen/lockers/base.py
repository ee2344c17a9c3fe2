"""The values lock engines exchange, and the protocol every conda lock engine implements."""

# Real annotations and NamedTuples, not dataclasses: every lock passes here (CONTRIBUTING.md).
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

from ..resolve import ResolvedEnv


class LockedPipPackage(NamedTuple):
    """One artifact of a pip lock: exactly what gets downloaded, and its hash."""

    name: str  # canonical project name
    version: str  # full version including any local tag, e.g. 2.4.1+cu118
    url: str  # the artifact URL the resolver chose for this platform
    sha256: str
    index: str  # type: ignore[assignment]  # the index URL it came from (hides tuple.index)


class PipLock(NamedTuple):
    platform: str  # conda subdir name, e.g. linux-64
    packages: tuple[LockedPipPackage, ...]


class CondaLockRequest(NamedTuple):
    env: ResolvedEnv
    platforms: tuple[str, ...]
    channels: tuple[str, ...]  # channel names or (mirror) URLs, highest priority first
    virtual_packages: Mapping[str, Mapping[str, str]]  # platform -> {"__cuda": "11.8", ...}
    pip_locks: Mapping[str, PipLock]  # platform -> locked pip part (already solved by uv)
    output: Path  # where conda-lock.yml goes
    inputs_digest: str
    inputs_parts: str = ""  # the ``envgen-inputs-parts`` line (names what changed when stale)
    # What the lock records: canonical channels and URLs, never the mirrors solved through.
    public_channels: tuple[str, ...] = ()
    public_url: Callable[[str], str] = str
    # The rendered conda-lock-spec.yml: metadata.content_hash is conda-lock's hash of it.
    spec_text: str | None = None


class CondaLockEngine(Protocol):
    name: str

    def unavailable(self) -> str | None:
        """None when this engine can run here, else why not (shown by --engine auto)."""

    def lock(self, request: CondaLockRequest) -> None:
        """Solve every platform and write ``request.output`` atomically, or raise EnvgenError."""
