"""Which CUDA build plain ``pip install torch`` gets on Linux, from PyPI's JSON API.

The build is read from the Linux x86_64 wheel's own ``Requires-Dist`` (its PEP 658 metadata
file), falling back to the release's ``info.requires_dist``: the CUDA runtime it pins
(``nvidia-cuda-runtime-cu12==12.8.90``, ``cuda-toolkit[…]==13.0.2``) names the variant.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from email.parser import HeaderParser
from urllib.parse import urljoin

from packaging.requirements import InvalidRequirement, Requirement

from .fetch import NotFound, UpdateError, get, shown

_RUNTIMES = (
    "nvidia-cuda-runtime",
    "nvidia-cuda-runtime-cu11",
    "nvidia-cuda-runtime-cu12",
    "cuda-toolkit",
)
WORKERS = 16


def cuda_variant(requires_dist: Iterable[str]) -> str | None:
    """'cu128' from the pinned CUDA runtime among ``requires_dist``; None for a CPU-only wheel."""
    for line in requires_dist:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.name not in _RUNTIMES:
            continue
        for spec in requirement.specifier:
            if spec.operator in ("==", "===", "~=", ">="):
                parts = spec.version.split(".")
                if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                    return f"cu{int(parts[0])}{int(parts[1])}"
    return None


def read_default_builds(
    release_url: Callable[[str], str],
    file_url: Callable[[str], str],
    versions: Iterable[str],
    *,
    timeout: float,
    retries: int,
) -> dict[str, str | None]:
    """torch version -> PyPI's Linux CUDA variant; releases PyPI does not have are left out.

    ``file_url`` maps a wheel's URL from the answer (files.pythonhosted.org) to the one to read,
    so a mirror configured for it applies.
    """

    def one(version: str) -> tuple[str, str | None, bool]:
        url = release_url(version)
        try:
            answer = get(url, accept="application/json", timeout=timeout, retries=retries)
        except NotFound:
            return version, None, False
        try:
            data = json.loads(answer.body)
            info = data["info"]
            files = data.get("urls") or []
        except (ValueError, KeyError, TypeError) as exc:
            raise UpdateError(
                f"{shown(url)} is not a PyPI JSON API answer ({exc!r:.80})",
                fix="check that the URL (or its mirror) serves PyPI's JSON API; "
                "the catalog was not changed",
            ) from None
        for item in files:
            name = item.get("filename", "") if isinstance(item, dict) else ""
            if name.endswith("x86_64.whl") and "linux" in name and item.get("url"):
                try:
                    wheel = file_url(urljoin(answer.url, str(item["url"])))
                    meta = get(wheel + ".metadata", timeout=timeout, retries=retries)
                except NotFound:
                    break
                headers = HeaderParser().parsestr(meta.body.decode("utf-8", "replace"))
                return version, cuda_variant(headers.get_all("Requires-Dist") or []), True
        return version, cuda_variant(info.get("requires_dist") or []), True

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(one, sorted(versions)))
    return {version: variant for version, variant, found in results if found}
