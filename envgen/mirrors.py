"""Mirrors: rewrite the public PyTorch index, PyPI and conda channels to a site's own copies.

Air-gapped sites and corporate proxies map public URLs to mirrors; we rewrite by longest
prefix. Credentials never reach a committed file: a mirror URL may carry a user and a
``${ENV_VAR}`` placeholder (pip and uv expand those), but never a literal secret. Every URL is
parsed and re-serialised here, at the boundary, so no URL can add a line or an option to a file.
"""

# No `from __future__ import annotations`: NamedTuple makes each string annotation a
# ForwardRef, compiling it, at start-up; real annotations cost ~2 ms less (issue 12).
import re
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import SplitResult, parse_qsl, urlsplit, urlunsplit

from .errors import EnvgenError
from .textcheck import why_unsafe

CONDA_BASE = "https://conda.anaconda.org"
# Patterns stay text until re compiles (and caches) them on first use: only a project with
# mirrors or channel URLs needs them, and compiling at import costs every command (issue 12).
_PLACEHOLDER = r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$"


def channel_url(channel: str) -> str:
    """The URL behind a channel name ('conda-forge' -> https://conda.anaconda.org/conda-forge)."""
    if "://" in channel:
        return channel.rstrip("/")
    return f"{CONDA_BASE}/{channel}"


# Characters a URL may hold (RFC 3986) plus '{}' for ${VAR} placeholders; no space, quote,
# backslash or '#', so a URL can never carry a second option or a comment into a file.
_URL_CHARS = r"^[A-Za-z0-9\-._~:/?\[\]@!$&()*+,;=%{}]+$"
_SCHEMES = ("http", "https", "file")
# Query parameters that carry a secret (S3/Azure signatures, GitLab/Artifactory tokens …).
_SECRET_PARAMS = r"(?i)(token|secret|password|passwd|pwd|key|auth|sig|signature|credential)"  # noqa: S105


def redact(url: str) -> str:
    """``url`` fit for a message: no user, password or query (any of them may be a secret)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "(an unparseable URL)"
    if not parts.scheme:
        return "(a URL without a scheme)"
    user = "***@" if parts.username is not None or parts.password is not None else ""
    port = f":{parts.port}" if _port(parts) else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}" + ("?***" if parts.query else "")


def without_credentials(url: str) -> str:
    """``url`` without its user and password: how uv reports an index it used (redacted)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def check_url(url: str, where: str, *, file: str | None = None) -> str:
    """``url`` parsed, checked and re-serialised, or an error that never echoes a secret.

    Refused: line breaks and control characters, anything a URL cannot hold (a space and a
    second option, a quote, '#'), schemes other than http, https and file, and literal
    credentials (``user:pass@``, ``?token=…``); ``${VAR}`` placeholders are fine.
    """
    shown = redact(url)
    fix = "write one http(s) or file URL, without spaces, quotes or '#'"
    bad = why_unsafe(url)
    if bad is None and not re.match(_URL_CHARS, url):
        odd = sorted({c for c in url if not re.match(_URL_CHARS, c)})
        bad = "it contains " + " ".join(map(repr, odd)) + ", which a URL cannot hold"
    if bad is not None:
        raise EnvgenError(f"the URL {shown} is not usable: {bad}", file=file, key=where, fix=fix)
    try:
        parts = urlsplit(url)
        if parts.port == 0:  # reading .port also refuses one that is not a number
            raise ValueError("port 0")
    except ValueError as exc:
        raise EnvgenError(
            f"the URL {shown} is not usable ({exc})", file=file, key=where, fix=fix
        ) from None
    if parts.scheme not in _SCHEMES or (parts.scheme != "file" and not parts.hostname):
        raise EnvgenError(
            f"the URL {shown} is not an http, https or file URL with a host",
            file=file,
            key=where,
            fix=fix,
        )
    check_credentials(url, where, file=file)
    return urlunsplit(parts)


def check_credentials(url: str, where: str, *, file: str | None = None) -> None:
    """Refuse a literal password or token in ``url``; ``${VAR}`` placeholders are fine."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed '[' of an IPv6 host
        raise EnvgenError(
            f"{redact(url)} is not a URL", file=file, key=where, fix="write a valid URL"
        ) from None
    secrets = []
    if parts.password is not None or parts.username is not None:
        secrets.append(parts.password if parts.password is not None else parts.username or "")
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if re.search(_SECRET_PARAMS, name):
            secrets.append(value)
    if all(re.match(_PLACEHOLDER, s.replace("%7B", "{").replace("%7D", "}")) for s in secrets):
        return
    raise EnvgenError(
        f"the URL {redact(url)} carries a credential, which would be written into files you commit",
        file=file,
        key=where,
        fix="put the secret in an environment variable and write it as "
        f"{parts.scheme}://USER:${{TOKEN_VAR}}@{parts.hostname}{parts.path} (or "
        "?token=${TOKEN_VAR}); pip, uv and conda expand it when they run",
    )


class Mirrors(NamedTuple):
    """Public prefix -> mirror prefix rules (a NamedTuple: a dataclass costs start-up time)."""

    rules: tuple[tuple[str, str], ...] = ()  # (public prefix, mirror prefix), longest first

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, str], where: str = "mirrors", file: str | None = None
    ) -> "Mirrors":
        try:
            return cls._from_mapping(mapping, where)
        except EnvgenError as exc:
            exc.file = exc.file or file
            raise

    @classmethod
    def _from_mapping(cls, mapping: Mapping[str, str], where: str) -> "Mirrors":
        rules = []
        for public, mirror in mapping.items():
            key = f"{where}.{redact(public) if '://' in public else public}"
            if "://" in public:
                public = check_url(public, key)
            elif why_unsafe(public) or not re.fullmatch(r"[A-Za-z0-9_.-]+", public):
                raise EnvgenError(
                    "a mirror's key must be a URL or a channel name",
                    key=where,
                    fix='write it like "https://download.pytorch.org/whl" = "https://m/whl"',
                )
            mirror = check_url(mirror, key)
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
