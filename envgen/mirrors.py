"""Mirrors: rewrite the public PyTorch index, PyPI and conda channels to a site's own copies.

Air-gapped sites and corporate proxies map public URLs to mirrors; we rewrite by longest
prefix. Credentials never reach a committed file: a mirror URL may carry a user and a
``${ENV_VAR}`` placeholder (pip and uv expand those), but never a literal secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import EnvgenError

CONDA_BASE = "https://conda.anaconda.org"
_PLACEHOLDER = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


def channel_url(channel: str) -> str:
    """The URL behind a channel name ('conda-forge' -> https://conda.anaconda.org/conda-forge)."""
    if "://" in channel:
        return channel.rstrip("/")
    return f"{CONDA_BASE}/{channel}"


def check_credentials(url: str, where: str) -> None:
    """Refuse a literal password or token in ``url``; ``${VAR}`` placeholders are fine."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return
    secret = parts.password if parts.password is not None else parts.username or ""
    if not _PLACEHOLDER.match(secret.replace("%7B", "{").replace("%7D", "}")):
        raise EnvgenError(
            f"the URL {parts.scheme}://***@{parts.hostname}{parts.path} carries a credential, "
            "which would be written into files you commit",
            key=where,
            fix="put the secret in an environment variable and write it as "
            f"{parts.scheme}://USER:${{TOKEN_VAR}}@{parts.hostname}{parts.path}",
        )


@dataclass(frozen=True)
class Mirrors:
    rules: tuple[tuple[str, str], ...] = ()  # (public prefix, mirror prefix), longest first

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str], where: str = "mirrors") -> Mirrors:
        rules = []
        for public, mirror in mapping.items():
            check_credentials(mirror, f"{where}.{public}")
            rules.append((channel_url(public).rstrip("/"), mirror.rstrip("/")))
        rules.sort(key=lambda rule: len(rule[0]), reverse=True)
        return cls(tuple(rules))

    def url(self, url: str) -> str:
        for public, mirror in self.rules:
            if url == public or url.startswith(public + "/"):
                return mirror + url[len(public) :]
        return url

    def channel(self, channel: str) -> str:
        """A channel name stays a name unless a mirror applies; then it becomes the mirror URL."""
        full = channel_url(channel)
        mirrored = self.url(full)
        return channel if mirrored == full else mirrored
