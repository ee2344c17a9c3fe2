"""Bounded, read-only HTTP for catalog updates: one deadline per request, size caps, credentials
kept to their origin, errors naming the URL.

Only the standard library (``http.client``): the update must run on an air-gapped site's bare
envgen install. urllib is not enough: it copies headers across redirects to any host, and its
timeout is per socket read, so a server that drips a byte a second holds it for ever. Mirror URLs
may carry ``${ENV_VAR}`` credentials: they are expanded only for a request to the origin (scheme,
host, port) they were given for, the way pip and uv keep credentials per origin, never across a
redirect to another one, and never appear in a message.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from .connection import basic, connect_to, open_connection, proxy_for, proxy_headers
from .errors import Cancelled, NotFound, RangeNotSatisfiable, TooLarge, Unreachable, UpdateError

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2
# The largest answers an update reads. PyPI's torch JSON is under 1 MiB and a page of PyTorch's
# index well under that; a METADATA file is tens of KiB. Both caps hold before and after gzip,
# so a small compressed bomb is refused like a large body; sixteen reads at once stay bounded.
PAGE_LIMIT = 16 << 20
METADATA_LIMIT = 4 << 20
# conda-forge's linux-64 repodata.json is a few hundred MiB uncompressed.
REPODATA_LIMIT = 1 << 30
# Requests one update may make: a full refresh of today's catalog takes a few hundred, so an
# index that would take more lists something other than PyTorch's releases.
REQUEST_BUDGET = 5000
MAX_REDIRECTS = 5
_CHUNK = 1 << 16
# Worth a second try: the server or a proxy may recover. 4xx answers will not change.
_RETRY_STATUS = {429, 500, 502, 503, 504}
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class Response:
    url: str  # where the answer came from (after redirects), without credentials
    content_type: str
    body: bytes
    status: int = 200
    # a 206 answer's "first-last/total"; None for a whole body
    content_range: tuple[int, int, int] | None = None


def shown(url: str) -> str:
    """``url`` fit for a message: any user or password replaced by ``***``."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unparseable URL)"
    return urlunsplit(parts._replace(netloc="***@" + (parts.hostname or "") + port))


def size_text(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size} bytes"


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _bare(url: str) -> str:
    """``url`` without its user and password."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class Client:
    """The HTTP reads of one update, shared by its threads.

    Credentials from any URL it is given are kept per origin and sent only there. A host whose
    name does not resolve or that refuses connections is remembered and not tried again. The
    requests made are counted against ``budget``; ``cancel()`` ends every request at its next
    read, so an update that failed or was interrupted stops without waiting for the others.
    """

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        budget: int = REQUEST_BUDGET,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.budget = budget
        self.requests = 0
        self._planned = 0
        self._lock = threading.Lock()
        self._auth: dict[tuple[str, str, int], str] = {}
        self._down: dict[tuple[str, str, int], str] = {}
        # (host, port) -> its addresses, looked up once per update: sixteen threads asking the
        # resolver at once lose answers to some site resolvers, each loss costing 5 s
        self._addresses: dict[tuple[str, int], list[tuple[Any, ...]] | OSError] = {}
        self._lookups: dict[tuple[str, int], threading.Lock] = {}
        self._open: set[http.client.HTTPConnection] = set()  # in flight, for cancel()
        self._cancelled = threading.Event()

    # -- bookkeeping -----------------------------------------------------------------------
    def cancel(self) -> None:
        """End every request: later ones at once, those in flight at their next read (their
        sockets are shut down, so a read blocked on a silent server returns now)."""
        self._cancelled.set()
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    # the plain socket's shutdown, under TLS too: it wakes a blocked read
                    # without touching the TLS state another thread is reading with
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def plan(self, count: int, what: str) -> None:
        """Refuse ahead of time a batch of reads that would exceed the budget."""
        with self._lock:
            if self.requests + self._planned + count > self.budget:
                raise UpdateError(
                    f"the indexes list more than an update reads: {what} would take {count} "
                    f"more requests, over the budget of {self.budget}",
                    fix="narrow the update with --since VERSION or --only SOURCE; "
                    "the catalog was not changed",
                )
            self._planned += count

    def _count(self, url: str) -> None:
        with self._lock:
            self.requests += 1
            self._planned = max(0, self._planned - 1)
            if self.requests > self.budget:
                raise UpdateError(
                    f"reading {shown(url)} would exceed the update's budget of {self.budget} "
                    "requests",
                    fix="narrow the update with --since VERSION or --only SOURCE; "
                    "the catalog was not changed",
                )

    def _remember(self, url: str) -> str:
        """``url`` without credentials; any it carried are kept for its origin."""
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            header = basic(parts.username or "", parts.password or "")
            with self._lock:
                self._auth[_origin(url)] = header
        return _bare(url)

    # -- requests --------------------------------------------------------------------------
    def get(
        self,
        url: str,
        *,
        accept: str | None = None,
        limit: int = PAGE_LIMIT,
        byte_range: str | None = None,
    ) -> Response:
        """GET ``url``; a GET is idempotent, so timeouts, resets and 5xx answers are retried.

        ``byte_range`` (``"-65536"``, ``"100-199"``) asks for part of the file; the server may
        answer with all of it instead (status 200), which ``limit`` then bounds.
        """
        try:
            scheme = urlsplit(url).scheme
            target = self._remember(url)
        except ValueError as exc:
            raise UpdateError(f"{shown(url)} is not a usable URL ({exc})") from None
        if scheme not in ("http", "https"):
            raise UpdateError(f"{shown(url)} is not an http(s) URL")
        last = ""
        for attempt in range(self.retries + 1):
            if attempt and self._cancelled.wait(min(0.25 * 2**attempt, 4.0)):
                break
            try:
                return self._follow(target, accept, limit, byte_range)
            except _Retry as exc:
                last = exc.reason
        if self.cancelled:
            raise Cancelled(f"reading {shown(url)} was cancelled")
        tries = f" after {self.retries + 1} tries" if self.retries else ""
        raise UpdateError(f"cannot read {shown(url)}{tries} ({last})")

    def _follow(self, url: str, accept: str | None, limit: int, byte_range: str | None) -> Response:
        """One attempt: the request and up to MAX_REDIRECTS redirects, under one deadline."""
        deadline = time.monotonic() + self.timeout
        for _ in range(MAX_REDIRECTS + 1):
            status, answer, connection = self._send(url, accept, byte_range, deadline)
            try:
                if status in _REDIRECTS:
                    url = self._redirect(url, answer)
                    continue
                return self._finish(url, status, answer, limit, deadline)
            finally:
                self._close(connection)
        raise UpdateError(f"{shown(url)} redirects more than {MAX_REDIRECTS} times")

    def _redirect(self, url: str, answer: http.client.HTTPResponse) -> str:
        location = answer.getheader("Location")
        if not location:
            raise UpdateError(f"{shown(url)} answered {answer.status} without a Location")
        try:
            # A user or password in a redirect is never used: credentials come from the user.
            target = _bare(urljoin(url, location.strip()))
            scheme = urlsplit(target).scheme
        except ValueError:
            raise UpdateError(f"{shown(url)} redirects to an unparseable URL") from None
        if scheme not in ("http", "https"):
            raise UpdateError(f"{shown(url)} redirects to a {scheme or 'relative'} URL")
        return target

    def _send(
        self, url: str, accept: str | None, byte_range: str | None, deadline: float
    ) -> tuple[int, http.client.HTTPResponse, http.client.HTTPConnection]:
        if self.cancelled:
            raise Cancelled(f"reading {shown(url)} was cancelled")
        origin = _origin(url)
        with self._lock:
            down = self._down.get(origin)
            auth = self._auth.get(origin)
        if down is not None:
            raise Unreachable(f"cannot reach {shown(url)} ({down})")
        self._count(url)
        parts = urlsplit(url)
        scheme, host, port = origin
        headers = {"User-Agent": "envgen-catalog-update", "Accept-Encoding": "gzip"}
        if accept:
            headers["Accept"] = accept
        if byte_range:
            headers["Range"] = f"bytes={byte_range}"
            headers["Accept-Encoding"] = "identity"  # ranges of the file, not of a gzip of it
        if auth is not None:
            headers["Authorization"] = auth
        proxy = proxy_for(scheme, host)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if proxy is not None and scheme == "http":
            path = urlunsplit(parts._replace(fragment=""))
            headers.update(proxy_headers(proxy))
        connection = open_connection(scheme, host, port, deadline, proxy, self._cancelled)
        connection._create_connection = self._connector  # type: ignore[attr-defined]
        with self._lock:
            self._open.add(connection)
        try:
            connection.request("GET", path, headers=headers)
            answer = connection.getresponse()
        except socket.gaierror as exc:
            self._close(connection)
            why = f"the name {host} does not resolve: {exc.strerror or exc}"
            with self._lock:
                self._down[origin] = why
            raise Unreachable(f"cannot reach {shown(url)} ({why})") from None
        except ConnectionRefusedError:
            self._close(connection)
            why = f"{host}:{port} refuses connections"
            with self._lock:
                self._down[origin] = why
            raise Unreachable(f"cannot reach {shown(url)} ({why})") from None
        except TimeoutError:
            self._close(connection)
            raise _Retry(f"no whole answer within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            self._close(connection)
            if self.cancelled:
                raise Cancelled(f"reading {shown(url)} was cancelled") from None
            raise _Retry(_reason(exc)) from None
        return answer.status, answer, connection

    def _close(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._open.discard(connection)
        connection.close()

    def _connector(
        self, address: tuple[str, int], timeout: float | None, source: Any = None
    ) -> socket.socket:
        """Connect as http.client would, the name looked up once per host and update (a
        failed lookup too: the threads waiting for it get its error, not a lookup each)."""
        host, port = address
        key = (host.lower(), port)
        with self._lock:
            lookup = self._lookups.setdefault(key, threading.Lock())
        with lookup:
            if key not in self._addresses:
                try:
                    self._addresses[key] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
                except OSError as exc:
                    self._addresses[key] = exc
            found = self._addresses[key]
        if isinstance(found, OSError):
            raise type(found)(*found.args)
        return connect_to(found, timeout, source)

    def _finish(
        self,
        url: str,
        status: int,
        answer: http.client.HTTPResponse,
        limit: int,
        deadline: float,
    ) -> Response:
        if status == 404:
            raise NotFound(f"{shown(url)} answered 404 Not Found")
        if status == 416:
            raise RangeNotSatisfiable(f"{shown(url)} answered 416 Range Not Satisfiable")
        if status in _RETRY_STATUS:
            raise _Retry(f"HTTP {status} {answer.reason}")
        if status not in (200, 203, 206):
            raise UpdateError(f"{shown(url)} answered HTTP {status} {answer.reason}")
        content_range = _content_range(answer.getheader("Content-Range")) if status == 206 else None
        if status == 206 and content_range is None:
            raise UpdateError(f"{shown(url)} answered 206 without a usable Content-Range")
        declared = _length(answer.getheader("Content-Length"))
        if declared is not None and declared > limit:
            raise TooLarge(
                f"{shown(url)} is {size_text(declared)}, over the {size_text(limit)} an update "
                "reads from one answer",
                declared,
            )
        body = self._body(url, answer, limit, deadline)
        content_type = (answer.getheader("Content-Type") or "").split(";")[0].strip()
        return Response(url, content_type, body, status, content_range)

    def _body(
        self, url: str, answer: http.client.HTTPResponse, limit: int, deadline: float
    ) -> bytes:
        encoding = (answer.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip"):
            raise UpdateError(
                f"{shown(url)} answered in an encoding envgen does not read: {encoding}"
            )
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding != "identity" else None
        read = 0
        out = bytearray()
        try:
            while True:
                if self.cancelled:
                    raise Cancelled(f"reading {shown(url)} was cancelled")
                chunk = answer.read1(_CHUNK)
                if not chunk:
                    break
                read += len(chunk)
                if inflate is None:
                    out += chunk
                else:
                    out += inflate.decompress(chunk, limit + 1 - len(out))
                    if inflate.unconsumed_tail:
                        read = limit + 1  # the inflated body alone is over the cap
                if read > limit or len(out) > limit:
                    which = "inflates to more than" if inflate is not None else "is over"
                    raise TooLarge(
                        f"{shown(url)} {which} the {size_text(limit)} an update reads from one "
                        "answer",
                        None,
                    )
            if inflate is not None:
                out += inflate.flush()
                if not inflate.eof or len(out) > limit:
                    raise _Retry("a damaged or oversized gzip answer")
        except TimeoutError:
            raise _Retry(f"no whole answer within {self.timeout:g} s") from None
        except zlib.error as exc:
            raise _Retry(f"a damaged gzip answer ({exc})") from None
        except (OSError, http.client.HTTPException) as exc:
            if self.cancelled:
                raise Cancelled(f"reading {shown(url)} was cancelled") from None
            raise _Retry(_reason(exc)) from None
        return bytes(out)


class _Retry(Exception):
    """A failure worth another attempt (timeout, reset, 5xx, a damaged answer)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _length(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit() or len(value.strip()) > 18:
        return None
    return int(value.strip())


_RANGE = re.compile(r"^bytes (\d{1,18})-(\d{1,18})/(\d{1,18})$")


def _content_range(value: str | None) -> tuple[int, int, int] | None:
    found = _RANGE.match((value or "").strip())
    if not found:
        return None
    first, last, total = (int(g) for g in found.groups())
    return (first, last, total) if first <= last < total else None
