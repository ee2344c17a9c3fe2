"""Which indexes a pip lock is solved from, in priority order.

Kept apart from the solver (``uv``) because reading a lock needs it too (``lockrules``: the
index options a lock must hold), and the unchanged-inputs fast path of ``envgen lock`` never
imports the solver.
"""

from __future__ import annotations

from typing import NamedTuple

from ..resolve import ResolvedEnv


class PipIndexes(NamedTuple):
    """Where names come from, highest priority first: PyTorch's index, extras, then the default.

    URLs are as written in committed files (``${VAR}`` placeholders intact).
    """

    pytorch: str | None
    extra: tuple[str, ...]
    default: str

    @classmethod
    def for_env(cls, env: ResolvedEnv, pypi: str) -> PipIndexes:
        """``pypi`` (possibly mirrored) serves everything when the profile names no index."""
        urls = [*env.extra_index_urls] or ([] if env.index_url else [pypi])
        if env.index_url and not urls:
            return cls(env.index_url, (), env.index_url)
        return cls(env.index_url, tuple(urls[1:]), urls[0])

    @property
    def ordered(self) -> tuple[str, ...]:
        first = (self.pytorch,) if self.pytorch and self.pytorch != self.default else ()
        return (*first, *self.extra, self.default)
