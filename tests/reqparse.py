"""Read a requirements file the way pip does, to test what a rendered file means, not its bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement


@dataclass
class ParsedRequirements:
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    requirements: list[Requirement] = field(default_factory=list)

    def pins_for(self, environment: dict[str, str]) -> dict[str, str]:
        """{name: exact version} of the requirements whose marker holds in ``environment``."""
        pins = {}
        for req in self.requirements:
            if req.marker is not None and not req.marker.evaluate(environment):
                continue
            (spec,) = list(req.specifier)
            assert spec.operator == "==", req
            pins[req.name] = spec.version
        return pins


def parse_requirements_text(text: str) -> ParsedRequirements:
    parsed = ParsedRequirements()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--index-url "):
            parsed.index_url = line.split(None, 1)[1]
        elif line.startswith("--extra-index-url "):
            parsed.extra_index_urls.append(line.split(None, 1)[1])
        else:
            assert not line.startswith("-"), f"unexpected option line {line!r}"
            parsed.requirements.append(Requirement(line))
    return parsed


def pip_parse(path: Path) -> list[str]:
    """Requirements as pip's own parser reads the file (options included, no network)."""
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements

    return [r.requirement for r in parse_requirements(str(path), session=PipSession())]


PLATFORM_ENVIRONMENTS = {
    "linux-64": {"sys_platform": "linux", "platform_machine": "x86_64"},
    "linux-aarch64": {"sys_platform": "linux", "platform_machine": "aarch64"},
    "osx-64": {"sys_platform": "darwin", "platform_machine": "x86_64"},
    "osx-arm64": {"sys_platform": "darwin", "platform_machine": "arm64"},
    "win-64": {"sys_platform": "win32", "platform_machine": "AMD64"},
}


def marker_env(platform: str, python: str = "3.11") -> dict[str, str]:
    env = dict(default_environment())
    env.update(PLATFORM_ENVIRONMENTS[platform])
    env.update(python_version=python, python_full_version=python + ".0")
    return env
