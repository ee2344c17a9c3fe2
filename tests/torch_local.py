"""The real CPU torch wheel and its dependency closure, found on this machine, no network.

The torch wheel is in the directory pip's config names as find-links; its dependencies are read
from the local ``file://`` simple index pip's config names, walking
each wheel's ``Requires-Dist`` for this interpreter. Tests and ``bench/create_cpu.py`` serve the
files through the loopback PEP 503 index of ``tests/fixtures/pypi_index.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.requirements import Requirement
from packaging.tags import sys_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

TORCH = "2.13.0"
_HREF = re.compile(r'href="([^"#]+)')


def pip_config(key: str) -> list[str]:
    cmd = [sys.executable, "-m", "pip", "config", "get", key]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.split()


def torch_wheel() -> Path | None:
    """torch-2.13.0+cpu for cp311 from pip's find-links directory, when this machine has it."""
    for directory in pip_config("global.find-links"):
        for wheel in sorted(Path(directory).glob(f"torch-{TORCH}+cpu-cp311-*.whl")):
            return wheel
    return None


def _local_indexes() -> list[Path]:
    urls = pip_config("global.extra-index-url") + pip_config("global.index-url")
    return [Path(unquote(urlsplit(u).path)) for u in urls if u.startswith("file://")]


def _candidates(name: str, roots: list[Path]) -> list[Path]:
    supported = set(sys_tags())
    found = []
    for root in roots:
        page = root / canonicalize_name(name) / "index.html"
        if not page.is_file():
            continue
        for href in _HREF.findall(page.read_text(encoding="utf-8")):
            path = (page.parent / unquote(href)).resolve()
            if path.suffix == ".whl" and path.is_file():
                _, _version, _, tags = parse_wheel_filename(path.name)
                if tags & supported:
                    found.append(path)
    return found


def _requires(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        name, _version, _, _ = parse_wheel_filename(wheel.name)
        metas = [
            n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        ]
        (meta,) = [m for m in metas if canonicalize_name(m.split("-")[0]) == name] or metas[:1]
        message = Parser().parsestr(archive.read(meta).decode("utf-8"))
    found = []
    for text in message.get_all("Requires-Dist") or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            found.append(req)
    return found


def dependency_closure(wheel: Path) -> list[Path] | str:
    """Wheels for every dependency of ``wheel`` (newest fitting one each), or why not."""
    roots = _local_indexes()
    chosen: dict[str, Path] = {}
    todo = _requires(wheel)
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in chosen:
            continue
        fitting = [
            w
            for w in _candidates(name, roots)
            if req.specifier.contains(parse_wheel_filename(w.name)[1], prereleases=True)
        ]
        if not fitting:
            return (
                f"no local wheel for {req} under {', '.join(map(str, roots)) or 'no local index'}"
            )
        best = max(fitting, key=lambda w: parse_wheel_filename(w.name)[1])
        chosen[name] = best
        todo += _requires(best)
    return sorted(chosen.values())
