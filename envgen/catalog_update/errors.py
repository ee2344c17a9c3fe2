"""What reading an index for ``catalog update`` can fail with: one family, each naming its URL."""

from __future__ import annotations

from typing import Any

from ..errors import EnvgenError

_FIX = (
    "check the network, or point the URL at a reachable mirror with --mirror FROM=TO "
    "or [tool.envgen.mirrors]; the catalog was not changed"
)


class UpdateError(EnvgenError):
    """Reading an index for ``catalog update`` failed; the catalog was left as it was."""

    def __init__(self, message: str, *, fix: str | None = _FIX, **kw: Any) -> None:
        super().__init__(message, fix=fix, **kw)


class NotFound(UpdateError):
    """The server answered 404: the page does not exist (callers decide whether that is fine)."""


class Unreachable(UpdateError):
    """The host's name does not resolve or it refuses connections: no retry will change that."""


class RangeNotSatisfiable(UpdateError):
    """The server answered 416 to a range request (some do for a file shorter than the range)."""


class TooLarge(UpdateError):
    """An answer is over its cap; ``size`` is its declared size when the server sent one."""

    def __init__(self, message: str, size: int | None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.size = size


class Cancelled(UpdateError):
    """Another part of the update failed or was interrupted: this request is no longer wanted."""
