"""Which URLs a committed lock may carry: public ones, never a mirror's.

``pylock.toml`` and ``conda-lock.yml`` must name each artifact by URL (PEP 751 wants a ``url``
or a local ``path``; conda-lock and micromamba download by ``url``), so unlike the requirements
locks they cannot leave the file to be found through the index. Mirrors (Artifactory, Nexus,
devpi) often serve files under another path or host than their index pages, and the public
location of such a file cannot be told from its name: PyPI's file URLs carry the file's
BLAKE2 digest, and PyTorch's index keeps some files under the variant's folder and some at
``/whl/``. So envgen derives a public URL only by a rule it is given: a mirror rule maps a
public prefix to the mirror's prefix, for index pages (``https://pypi.org/simple``) and, where a
mirror keeps files apart, for the public host that serves them (``https://files.pythonhosted.org``
= the mirror's file prefix). A URL that no rule maps back is refused, and the lock is not
written: no committed lock ever carries a mirror URL, whatever the mirror's layout. The same
test lets ``check`` report a lock that carries one (one written by an older envgen, or by hand
and resealed).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from .mirrors import Mirrors, channel_url

if TYPE_CHECKING:
    from .resolve import ResolvedEnv

PYPI_FILES = "https://files.pythonhosted.org"  # where PyPI's simple pages link their files
# The URL fields of the two formats: pylock.toml's `url = "…"` / `index = "…"`, and
# conda-lock.yml's `url: …` of a package (a channel's `- url: NAME` is not a URL).
_FIELD = r'(?:\b(?:url|index) = "|^[ \t]*url: )([^"\s]+)'


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class PublicUrls(NamedTuple):
    origins: tuple[str, ...]  # scheme://host of every public source the profile installs from
    mirrors: tuple[str, ...]  # mirror prefixes: never public, whatever host they share

    @classmethod
    def for_env(cls, public: ResolvedEnv, mirrors: Mirrors) -> PublicUrls:
        """``public`` is the profile resolved through no mirror (canonical URLs only)."""
        sources = [*filter(None, [public.index_url]), *public.extra_index_urls, PYPI_FILES]
        sources += [channel_url(c) for c in public.channels]
        sources += [found.group(1) for r in public.pip if (found := re.search(r"@\s*(\S+)", r))]
        sources += [public_prefix for public_prefix, _ in mirrors.rules]
        origins = {_origin(u) for u in sources if "://" in u}
        return cls(tuple(sorted(origins)), tuple(m for _, m in mirrors.rules))

    def is_public(self, url: str) -> bool:
        if any(url == m or url.startswith(m.rstrip("/") + "/") for m in self.mirrors):
            return False
        return any(url == o or url.startswith(o + "/") for o in self.origins)

    def carried(self, text: str) -> list[str]:
        """The non-public URLs a lock's text carries, in order, each once."""
        found = (m.group(1) for m in re.finditer(_FIELD, text, re.MULTILINE))
        return list(dict.fromkeys(u for u in found if "://" in u and not self.is_public(u)))
