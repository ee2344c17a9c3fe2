"""Bounded, read-only HTTP for catalog updates: timeouts, retries for GETs, errors naming the URL.

Only the standard library: the update must run on an air-gapped site's bare envgen install, and a
few dozen GETs do not justify a dependency. Mirror URLs may carry ``${ENV_VAR}`` credentials; they
are expanded only for the request and never appear in a message.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from ..errors import EnvgenError

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Worth a second try: the server or a proxy may recover. 4xx answers will not change.
_RETRY_STATUS = {429, 500, 502, 503, 504}


class UpdateError(EnvgenError):
    """Reading an index for ``catalog update`` failed; the catalog was left as it was."""


class NotFound(UpdateError):
    """The server answered 404: the page does not exist (callers decide whether that is fine)."""


@dataclass(frozen=True)
class Response:
    url: str
    content_type: str
    body: bytes


def shown(url: str) -> str:
    """``url`` fit for a message: any user or password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = "***@" + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _request(url: str, accept: str | None) -> urllib.request.Request:
    parts = urlsplit(url)
    headers = {"Accept-Encoding": "gzip", "User-Agent": "envgen-catalog-update"}
    if accept:
        headers["Accept"] = accept
    if parts.username is not None or parts.password is not None:
        user = _expand(parts.username or "")
        password = _expand(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
        netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        url = urlunsplit(parts._replace(netloc=netloc))
    return urllib.request.Request(url, headers=headers, method="GET")  # noqa: S310 - scheme checked


def _expand(value: str) -> str:
    from urllib.parse import unquote

    value = unquote(value)
    return _PLACEHOLDER.sub(lambda m: os.environ.get(m.group(1), ""), value)


def get(
    url: str,
    *,
    accept: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
) -> Response:
    """GET ``url``; a GET is idempotent, so timeouts, resets and 5xx answers are retried."""
    fix = (
        "check the network, or point the URL at a reachable mirror with --mirror FROM=TO "
        "or [tool.envgen.mirrors]; the catalog was not changed"
    )
    if urlsplit(url).scheme not in ("http", "https"):
        raise UpdateError(f"{shown(url)} is not an http(s) URL", fix=fix)
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(0.25 * 2**attempt, 4.0))
        try:
            request = _request(url, accept)
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                body = answer.read()
                if answer.headers.get("Content-Encoding", "").lower() == "gzip":
                    body = gzip.decompress(body)
                content_type = answer.headers.get("Content-Type", "")
                # Keep the URL as asked (credential placeholders included) unless redirected, so
                # links on the page resolve against it and stay authenticated.
                final = url if answer.geturl() == request.full_url else answer.geturl()
                return Response(final, content_type.split(";")[0].strip(), body)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotFound(f"{shown(url)} answered 404 Not Found", fix=fix) from None
            last = f"HTTP {exc.code} {exc.reason}"
            if exc.code not in _RETRY_STATUS:
                break
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            last = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
        except (EOFError, gzip.BadGzipFile) as exc:
            last = f"a damaged answer ({exc})"
        except ValueError as exc:  # urllib's word for a URL it cannot use
            raise UpdateError(f"{shown(url)} is not a usable URL ({exc})", fix=fix) from None
    tries = f" after {retries + 1} tries" if retries else ""
    raise UpdateError(f"cannot read {shown(url)}{tries} ({last})", fix=fix)
