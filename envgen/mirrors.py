"""Mirrors: rewrite the public PyTorch index, PyPI and conda channels to a site's own copies.

Air-gapped sites and corporate proxies map public URLs to mirrors; we rewrite by longest
prefix. Credentials never reach a committed file: a mirror URL may carry a user and a
``${ENV_VAR}`` placeholder (pip and uv expand those), but never a literal secret. Every URL is
parsed and re-serialised here, at the boundary, so no URL can add a line or an option to a file.
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
import re
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlsplit, urlunsplit

from .errors import EnvgenError
from .textcheck import why_unsafe

CONDA_BASE = "https://conda.anaconda.org"
# Patterns stay text until re compiles (and caches) them on first use: only a project with
# mirrors or channel URLs needs them, and compiling at import costs every command (start-up time).
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


def check_url(url: str, where: str, *, file: str | None = None, placeholders: bool = False) -> str:
    """``url`` parsed, checked and re-serialised, or an error that never echoes a secret.

    Refused: line breaks and control characters, anything a URL cannot hold (a space and a
    second option, a quote, '#'), schemes other than http, https and file, and literal
    credentials (``user:pass@``, ``?token=…``). ``placeholders`` (a ``[tool.envgen.mirrors]``
    or ``--mirror`` URL) allows a ``${VAR}`` placeholder as the whole user, password or secret
    query value; any other ``$`` is refused, so that no value a pull request can change makes
    envgen, pip or uv expand an environment variable and send it somewhere.
    """
    shown = redact(url)
    fix = "write one http(s) or file URL, without spaces, quotes or '#'"
    if "$" in url:
        check_dollars(url, where, file=file, placeholders=placeholders)
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


def check_dollars(
    url: str, where: str, *, file: str | None = None, placeholders: bool = False
) -> None:
    """Refuse a ``$`` in ``url`` outside the credential positions of a mirror URL.

    pip and uv expand ``${VAR}`` in requirement files and envgen used to expand ``$VAR`` in
    channels: a profile channel ``http://host/$SECRET/ch`` sent the secret to that host. Only
    the documented form survives: ``${VAR}`` as a whole user, password or secret query value,
    in a mirror URL (pyproject's ``[tool.envgen.mirrors]`` or ``--mirror``).
    """
    where_ok = (
        "as the whole password (https://USER:${TOKEN}@host/…) or secret query value "
        "(?token=${TOKEN}) of a [tool.envgen.mirrors] URL"
    )
    fix = (
        "remove the '$': envgen expands no environment variable in a profile; a credential "
        f"belongs in a mirror, {where_ok}"
    )
    if placeholders and _only_placeholders(url):
        return
    if placeholders:
        fix = f"write an environment variable only {where_ok}; nowhere else"
    raise EnvgenError(
        f"the URL {redact(url)} holds a '$' where no environment variable may be expanded",
        file=file,
        key=where,
        fix=fix,
    )


def _is_placeholder(raw: str) -> bool:
    return re.match(_PLACEHOLDER, raw.replace("%7B", "{").replace("%7D", "}")) is not None


class _Pair(NamedTuple):
    name: str
    sep: str
    value: str
    secret: bool  # a parameter that carries a credential (token=, sig=, …)


def _credential_spans(url: str) -> tuple[list[str], str, list[_Pair]]:
    """([user, password], host and path, the query's pairs) as written (nothing decoded);
    ValueError when ``url`` does not parse."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    users = userinfo.split(":", 1) if at else []
    query = []
    for pair in parts.query.split("&") if parts.query else []:
        name, sep, value = pair.partition("=")
        query.append(_Pair(name, sep, value, re.search(_SECRET_PARAMS, unquote(name)) is not None))
    return users, host + parts.path, query


def _only_placeholders(url: str) -> bool:
    """Every ``$`` of ``url`` is a whole ``${VAR}`` user, password or secret query value."""
    try:
        users, rest, query = _credential_spans(url)
        fragment = urlsplit(url).fragment
    except ValueError:
        return False
    if "$" in rest + fragment or any(
        "$" in p.name or ("$" in p.value and not p.secret) for p in query
    ):
        return False
    values = [*users, *(p.value for p in query if p.secret)]
    return all(_is_placeholder(v) for v in values if "$" in v)


def expand_credentials(url: str, environ: Mapping[str, str] | None = None) -> str:
    """``url`` with its ``${VAR}`` user, password and secret query placeholders replaced by
    their (URL-quoted) values, for a tool that does not expand them itself (uv's command line,
    rattler). Nothing else of ``url`` is touched: a ``$`` elsewhere was refused when the URL
    was read; an unset variable stays a placeholder, as pip leaves it.
    """
    if "$" not in url:
        return url
    import os

    env = os.environ if environ is None else environ

    def expand(raw: str) -> str:
        if not _is_placeholder(raw):
            return raw
        name = raw.replace("%7B", "{").replace("%7D", "}")[2:-1]
        found = env.get(name)
        return raw if found is None else quote(found, safe="")

    parts = urlsplit(url)
    users, _, query = _credential_spans(url)
    netloc = parts.netloc
    if users:
        netloc = ":".join(expand(u) for u in users) + "@" + netloc.rpartition("@")[2]
    pairs = [p.name + p.sep + (expand(p.value) if p.secret else p.value) for p in query]
    return urlunsplit(parts._replace(netloc=netloc, query="&".join(pairs)))


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
    """Public prefix -> mirror prefix rules."""

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
                public = check_url(public, key)  # the public side: never a placeholder
            elif why_unsafe(public) or not re.fullmatch(r"[A-Za-z0-9_.-]+", public):
                raise EnvgenError(
                    "a mirror's key must be a URL or a channel name",
                    key=where,
                    fix='write it like "https://download.pytorch.org/whl" = "https://m/whl"',
                )
            mirror = check_url(mirror, key, placeholders=True)
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
