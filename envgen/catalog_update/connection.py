"""The sockets under ``fetch.Client``: a connection (direct or through the environment's proxy)
whose reads all share one deadline and notice a cancel within a fraction of a second.

http.client's own timeout is per socket operation, so a server that sends a byte a second
holds a read for ever; here the status line, the headers and the body read against the time
left, in short waits.
"""

from __future__ import annotations

import base64
import functools
import http.client
import io
import os
import re
import socket
import ssl
import threading
import time
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit

_SLICE = 0.2  # seconds a read waits before it looks whether the update was cancelled
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand(value: str) -> str:
    return _PLACEHOLDER.sub(lambda m: os.environ.get(m.group(1), ""), unquote(value))


def basic(user: str, password: str) -> str:
    token = base64.b64encode(f"{expand(user)}:{expand(password)}".encode()).decode()
    return f"Basic {token}"


class _DeadlineIO(io.RawIOBase):
    """A socket's reads, each allowed only the time left until the request's deadline, and
    given up within a fraction of a second once the update is cancelled."""

    def __init__(
        self, raw: Any, sock: socket.socket, deadline: float, cancelled: threading.Event
    ) -> None:
        super().__init__()
        self._raw = raw  # the socket's own reader, which keeps the socket open while it is
        self._sock = sock
        self._deadline = deadline
        self._cancelled = cancelled

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._cancelled.is_set():
                raise ConnectionAbortedError("the update was cancelled")
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request ran past its deadline")
            # Short waits, not one of ``left``: a cancel must not wait for a silent server.
            # The socket's own recv_into, not its reader's: that one refuses to read again
            # after a timeout.
            self._sock.settimeout(min(left, _SLICE))
            try:
                read: int = self._sock.recv_into(buffer)
            except TimeoutError:
                continue
            return read

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Answer(http.client.HTTPResponse):
    """An HTTP response whose status line, headers and body all read against one deadline."""

    def __init__(
        self,
        sock: socket.socket,
        *args: Any,
        deadline: float,
        cancelled: threading.Event,
        **kw: Any,
    ) -> None:
        super().__init__(sock, *args, **kw)
        raw = self.fp.detach()
        self.fp = io.BufferedReader(_DeadlineIO(raw, sock, deadline, cancelled))


def open_connection(
    scheme: str,
    host: str,
    port: int,
    deadline: float,
    proxy: str | None,
    cancelled: threading.Event,
) -> http.client.HTTPConnection:
    left = max(deadline - time.monotonic(), 0.001)
    connection: http.client.HTTPConnection
    target_host, target_port = host, port
    if proxy is not None:
        proxy_parts = urlsplit(proxy)
        target_host = proxy_parts.hostname or ""
        target_port = proxy_parts.port or (443 if proxy_parts.scheme == "https" else 80)
    if scheme == "https":
        connection = http.client.HTTPSConnection(
            target_host, target_port, timeout=left, context=_tls()
        )
        if proxy is not None:
            connection.set_tunnel(host, port, headers=proxy_headers(proxy))
    else:
        connection = http.client.HTTPConnection(target_host, target_port, timeout=left)
    connection.response_class = functools.partial(  # type: ignore[assignment]
        _Answer, deadline=deadline, cancelled=cancelled
    )
    return connection


def connect_to(
    addresses: list[tuple[Any, ...]], timeout: float | None, source: tuple[str, int] | None
) -> socket.socket:
    """``socket.create_connection`` over addresses already looked up."""
    error: OSError | None = None
    for family, kind, protocol, _, address in addresses:
        sock = socket.socket(family, kind, protocol)
        try:
            sock.settimeout(timeout)
            if source:
                sock.bind(source)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address to connect to")


@functools.cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def proxy_headers(proxy: str) -> dict[str, str]:
    parts = urlsplit(proxy)
    if parts.username is None and parts.password is None:
        return {}
    return {"Proxy-Authorization": basic(parts.username or "", parts.password or "")}


def proxy_for(scheme: str, host: str) -> str | None:
    """The proxy urllib would use for this scheme and host (``https_proxy``, ``no_proxy`` …)."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"
