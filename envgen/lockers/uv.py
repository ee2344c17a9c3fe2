"""The pip side of ``envgen lock``: one universal uv resolution, split into per-platform locks.

``uv pip compile --universal --python-version …`` resolves the profile's pip requirements once for
every platform (forking where markers or local versions such as ``+cpu`` differ), so a CPU laptop
locks for a Linux GPU box and every platform of a profile gets the same versions wherever it can.
Each platform's lock is then cut from that one result: the packages whose markers hold there, and
of each package only the artifacts that platform installs (wheel tags, see ``targets``), so the
hashes stay exact per platform. Two uv runs, side by side, serve any number of platforms: one
for the ``# via``/``# from`` annotations, one for artifact URLs and hashes (uv's pylock.toml
names no index); their answers are checked against each other.

Where the universal result does not fit a platform (no artifact for it, or uv cannot solve all
platforms at once) that platform is solved on its own with ``--python-platform``, as before; its
error messages name the platform. So is the one platform of a single-platform profile.

Dependency confusion (the torchtriton attack of Dec 2022) is closed in three layers:

1. Index order with ``--index-strategy first-index``: the PyTorch index is searched first, and
   uv takes each name only from the first index that has it. Every name the PyTorch index serves
   (torch, torchvision, triton builds, their CUDA libraries) therefore comes from it even when a
   higher version of the same name sits on PyPI. This covers transitive dependencies, which
   uv's index pinning does not: ``[tool.uv.sources]`` applies to direct requirements only
   (tested: a source for a transitive ``pytorch-triton`` is ignored).
2. Explicit pinning of the direct torch-family requirements: a generated ``pyproject.toml``
   declares the PyTorch index ``explicit = true`` and maps each torch package to it in
   ``[tool.uv.sources]``, so if that index lacks the requested build the solve fails instead of
   falling through to the next index.
3. A check of the result: every torch-family or triton package must have been found on the
   PyTorch index (uv's ``# from`` annotation), or the lock is refused.

uv runs with ``--no-config`` and without the ``UV_*`` variables that add indexes or constraints,
so the lock does not depend on the machine that made it.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from ..errors import ToolError
from ..mirrors import expand_credentials, without_credentials
from ..resolve import ResolvedEnv
from ..specs import canonical_name as canonical
from ..targets import PLATFORMS, triton_packages
from .base import LockedPipPackage, PipLock

# Re-exported: they lived here before reading a lock needed them without the solver.
from .indexes import PipIndexes as PipIndexes
from .uv_answers import (
    PROJECT,
    Annotated,
    Artifacts,
    UnreachableIndex,
    UvResult,
    best_artifact,
    file_name,
    network_failure,
    parse_annotated,
    read_candidates,
)
from .uv_process import run_uv, uv_binary
from .wheeltags import fits, marker_environment, supported_tags

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_NO_VERSION = re.compile(r"there is no version of ([A-Za-z0-9][A-Za-z0-9._-]*)")
_NOT_FOUND = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*) was not found in the package registry")
_ONLY = re.compile(r"only ([A-Za-z0-9][A-Za-z0-9._-]*)[<>=!~]")
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


class PipSolution(NamedTuple):
    """One platform's solve: the lock, plus what the requirements file shows for review."""

    lock: PipLock
    hashes: Mapping[str, tuple[str, ...]]  # name -> sha256 of every artifact fit for the platform
    via: Mapping[str, tuple[str, ...]]  # name -> what required it ("" for the profile itself)
    seconds: float


Hint = Callable[[str, str], str | None]  # (package, platform) -> catalog facts, if any


def _toml(value: str) -> str:
    import json

    return json.dumps(value)  # a JSON string is a valid TOML basic string


def project_toml(env: ResolvedEnv, indexes: PipIndexes) -> str:
    """The generated project uv solves: the profile's requirements, torch pinned to its index."""
    deps = ",\n".join(f"  {_toml(r)}" for r in env.pip_requirements)
    text = (
        f'[project]\nname = "{PROJECT}"\nversion = "0"\n'
        f"requires-python = {_toml(f'=={env.python_minor}.*')}\n"
        f"dependencies = [\n{deps},\n]\n"
    )
    if indexes.pytorch:
        pinned = [p for p in env.packages if p in {_req_name(r) for r in env.pip_requirements}]
        text += "\n[tool.uv.sources]\n" + "".join(
            f'{p} = {{ index = "pytorch" }}\n' for p in pinned
        )
        text += (
            '\n[[tool.uv.index]]\nname = "pytorch"\n'
            f"url = {_toml(expand_credentials(indexes.pytorch))}\nexplicit = true\n"
        )
    return text


def _req_name(requirement: str) -> str:
    found = _NAME.match(requirement.strip())
    return canonical(found.group(1)) if found else ""


def build_python(minor: str) -> str | None:
    """The interpreter uv should build sdists with: ours when it is the profile's minor.

    Without ``--python`` uv spends its time discovering one on every run (about 2 s per call
    through pyenv's shell shims here, more than the solve itself); when our own interpreter is
    the profile's minor it is the right one for builds, so the search is skipped. Otherwise uv
    searches as before: an sdist must be built by the Python it is locked for.
    """
    ours = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return sys.executable if ours == minor and sys.executable else None


def _command(
    uv: str, env: ResolvedEnv, indexes: PipIndexes, platform: str | None, fmt: str, out: str
) -> list[str]:
    """``platform`` None: the universal resolution that serves every platform."""
    command = [uv, "pip", "compile", "pyproject.toml", "--no-config", "--no-progress"]
    python = build_python(env.python_minor)
    if python is not None:
        command += ["--python", python]
    command += ["--color", "never", "--no-header", "--format", fmt, "-o", out]
    command += ["--python-version", env.python_minor]
    if platform is None:
        command.append("--universal")
    else:
        command += ["--python-platform", PLATFORMS[platform].uv_target]
    command += ["--index-strategy", "first-index"]
    for url in indexes.ordered[:-1]:
        command += ["--index", expand_credentials(url)]
    command += ["--default-index", expand_credentials(indexes.default)]
    if fmt == "requirements.txt":
        command += ["--emit-index-annotation", "--annotation-style", "split"]
    return command


def _shown(url: str, expanded: Mapping[str, str]) -> str:
    """A URL as it may be committed: index placeholders restored, any other credential dropped."""
    for real, shown in expanded.items():
        if real != shown and url.startswith(real):
            return shown + url[len(real) :]
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class _Solver:
    def __init__(
        self, env: ResolvedEnv, indexes: PipIndexes, refresh: Sequence[str], hint: Hint
    ) -> None:
        self.env = env
        self.indexes = indexes
        self.refresh = refresh
        self.hint = hint
        self.uv = uv_binary()
        self.expanded = {expand_credentials(u).rstrip("/"): u.rstrip("/") for u in indexes.ordered}
        # uv names the index a package came from without its credentials: map that form back.
        self.uncredentialed = {without_credentials(k): v for k, v in self.expanded.items()}
        self.family = {canonical(p) for p in (*env.packages, *triton_packages())}

    def solve(self, platform: str | None) -> UvResult:
        """One uv resolution, for ``platform`` alone or (None) universal, with its annotations."""
        from ..leftovers import temporary_directory

        started = time.perf_counter()
        with temporary_directory("envgen-uv-") as work:
            (work / "pyproject.toml").write_text(
                project_toml(self.env, self.indexes), encoding="utf-8"
            )

            # Two runs at once: the annotated requirements (# via, # from), and the artifacts'
            # URLs and hashes; their results are checked against each other by _solution.
            # A universal result is split next: its imports and tag sets are made meanwhile.
            warm = self._warm if platform is None else None

            def annotated() -> None:
                self._compile(work, platform, "requirements.txt", "requirements.txt", warm)

            self._compile(work, platform, "pylock.toml", "pylock.toml", annotated)
            with (work / "pylock.toml").open("rb") as fh:
                candidates = read_candidates(tomllib.load(fh))
            notes = parse_annotated((work / "requirements.txt").read_text(encoding="utf-8"))
        return UvResult(candidates, notes, time.perf_counter() - started)

    def own(self, platform: str) -> PipSolution:
        """``platform`` solved on its own: uv lists only the artifacts that platform installs."""
        result = self.solve(platform)
        artifacts = {c.name: (c.version, list(c.files)) for c in result.candidates}
        return self._solution(platform, result.notes, artifacts, result.seconds)

    def split(self, universal: UvResult, platform: str) -> PipSolution | None:
        """``platform``'s share of a universal resolution, or None where it does not serve it
        (a package with no artifact for that platform, or two versions of one name)."""
        from packaging.markers import Marker

        environment = marker_environment(platform, self.env.python_minor)
        artifacts: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        for package in universal.candidates:
            if package.marker and not Marker(package.marker).evaluate(environment):
                continue
            files = [
                (url, sha)
                for url, sha in package.files
                if fits(file_name(url), platform, self.env.python_minor)
            ]
            if package.name in artifacts or not files:
                return None
            artifacts[package.name] = (package.version, files)
        notes = {
            key: Annotated(
                note.version, note.origin, tuple(v for v in note.via if not v or v in artifacts)
            )
            for key, note in universal.notes.items()
        }
        return self._solution(platform, notes, artifacts, universal.seconds)

    def _warm(self) -> None:
        """What the split needs, made while uv resolves: the marker parser and the tag sets."""
        import packaging.markers  # noqa: F401 - imported for its cost, now rather than later

        for platform in self.env.platforms:
            supported_tags(platform, self.env.python_minor)

    def _compile(
        self,
        work: Path,
        platform: str | None,
        fmt: str,
        out: str,
        meanwhile: Callable[[], object] | None = None,
    ) -> None:
        command = _command(self.uv, self.env, self.indexes, platform, fmt, out)
        command += [a for name in self.refresh for a in ("--refresh-package", name)]
        done = run_uv(command, work, meanwhile)
        if done.returncode == 0:
            return
        output = done.stderr or done.stdout
        failure = network_failure(output)
        if failure is not None and not failure[2]:  # may heal: once more, with uv's retries
            done = run_uv(command, work, retries=True)
            if done.returncode == 0:
                return
            output = done.stderr or done.stdout
            failure = network_failure(output)
        if failure is not None:
            raise UnreachableIndex(failure[0], failure[1], self._where(platform))
        raise self._explain(platform, output)

    def _where(self, platform: str | None) -> str:
        return platform or ", ".join(self.env.platforms)

    def _solution(
        self,
        platform: str,
        notes: Mapping[tuple[str, str], Annotated],
        artifacts: Artifacts,
        seconds: float,
    ) -> PipSolution:
        packages, hashes, via = [], {}, {}
        for name in sorted(artifacts):
            version, files = artifacts[name]
            note = notes.get((name, version))
            if note is None or note.version != version or not files:
                raise ToolError(
                    f"uv gave inconsistent results for {name} on {platform} (an index changed "
                    "while locking?)",
                    fix="run envgen lock again",
                )
            index = note.origin.rstrip("/")
            self._check_origin(name, version, platform, index)
            url, sha = best_artifact(files, self.env.python_minor)
            shown_index = self.expanded.get(index) or self.uncredentialed.get(
                without_credentials(index), index
            )
            packages.append(
                LockedPipPackage(name, version, _shown(url, self.expanded), sha, shown_index)
            )
            hashes[name] = tuple(sorted({h for _, h in files}))
            via[name] = note.via
        return PipSolution(PipLock(platform, tuple(packages)), hashes, via, seconds)

    def _check_origin(self, name: str, version: str, platform: str, index: str) -> None:
        """Layer 3: a torch-family artifact from anywhere but the PyTorch index is refused."""
        pytorch = self.indexes.pytorch
        if pytorch is None or name not in self.family:
            return
        wanted = without_credentials(expand_credentials(pytorch).rstrip("/"))
        if without_credentials(index) != wanted:
            raise ToolError(
                f"refusing to lock {name}=={version} for {platform}: it was found on {index}, "
                f"not on the PyTorch index {pytorch} (a same-named package elsewhere is the "
                "dependency-confusion attack envgen guards against)",
                fix=f"make sure {pytorch} (or its mirror) serves {name}",
            )

    def _explain(self, platform: str | None, output: str) -> ToolError:
        detail = "\n".join(
            line for line in output.strip().splitlines() if line.strip() and "Resolved" not in line
        )
        where = platform or ", ".join(self.env.platforms)
        if "No solution found" not in detail:
            return ToolError(
                f"uv could not lock the pip requirements for {where}:\n{detail}",
                fix="check the index URLs (or mirrors) and the network",
            )
        package = ""
        for pattern in (_NO_VERSION, _NOT_FOUND, _ONLY):
            match = pattern.search(detail)
            if match:
                package = match.group(1)
                break
        name = canonical(package) if package else ""
        wanted = next(
            (r.split(";")[0].strip() for r in self.env.pip_requirements if _req_name(r) == name),
            package or "the pip requirements",
        )
        message = f"cannot lock {wanted} for {where} (Python {self.env.python_minor})"
        fix = "relax the pin in the profile's 'pip' list, or pick versions that exist together"
        facts = self.hint(name, platform) if name and platform else None
        if name in self.family and self.indexes.pytorch:
            message += f": no such build on {self.indexes.pytorch}"
            fix = facts or "check that the PyTorch index (or its mirror) serves this build"
        elif facts:
            fix = facts
        return ToolError(f"{message}. uv says:\n{detail}", fix=fix)


def lock_pip(
    env: ResolvedEnv,
    indexes: PipIndexes,
    *,
    refresh: Sequence[str] = (),
    hint: Hint | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, PipSolution]:
    """Lock every platform of ``env``: one universal resolution, split per platform; a platform
    it does not serve is solved on its own (concurrently). A profile of one platform is solved
    for it directly: the universal detour would only cost its split (packaging's marker parser
    alone takes longer to import than uv takes to answer from a warm cache). Every failure is
    reported, nothing written.

    ``refresh``: packages whose cached pages and metadata uv revalidates (``--upgrade``, see
    ``uv_upgrade``); ``hint`` adds catalog facts to a failure about a torch package.
    """
    solver = _Solver(env, indexes, refresh, hint or (lambda _name, _platform: None))
    say = progress or (lambda _text: None)
    results: dict[str, PipSolution | ToolError] = {}
    platforms = ", ".join(env.platforms)
    universal: UvResult | None = None
    if len(env.platforms) > 1:
        say(f"solving pip requirements for {platforms} (uv, one universal resolution)")
        try:
            universal = solver.solve(None)
        except UnreachableIndex:
            raise  # solving each platform on its own would fail the same way, once per platform
        except ToolError as error:
            say(
                f"uv could not solve {platforms} in one resolution ({_gist(error)}); "
                "solving each platform on its own"
            )
    for platform in env.platforms:
        if universal is None:
            break
        try:
            solution = solver.split(universal, platform)
        except ToolError as error:
            results[platform] = error
            continue
        if solution is None:
            say(f"{platform} needs other versions than the universal resolution has")
        else:
            results[platform] = solution
            say(f"solved {platform}: {len(solution.lock.packages)} packages")

    def own(platform: str) -> PipSolution | ToolError:
        say(f"solving pip requirements for {platform}{alone} (uv)")
        try:
            solution = solver.own(platform)
        except ToolError as error:
            return error
        say(f"solved {platform}: {len(solution.lock.packages)} packages")
        return solution

    alone = " on its own" if len(env.platforms) > 1 else ""
    rest = [p for p in env.platforms if p not in results]
    if len(rest) == 1:
        results[rest[0]] = own(rest[0])
    elif rest:
        from concurrent.futures import ThreadPoolExecutor  # only when platforms fall back

        with ThreadPoolExecutor(max_workers=len(rest)) as pool:
            results.update(zip(rest, pool.map(own, rest), strict=True))
    errors = [e for p in env.platforms if isinstance(e := results[p], ToolError)]
    unreachable = [e for e in errors if isinstance(e, UnreachableIndex)]
    if unreachable:
        raise unreachable[0]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ToolError("\n".join(e.message for e in errors), fix=errors[0].fix)
    return {p: r for p in env.platforms if isinstance(r := results[p], PipSolution)}


def _gist(error: ToolError) -> str:
    """The first line of uv's own words in ``error``, for a progress line."""
    lines = [line.strip() for line in error.message.splitlines() if line.strip()]
    detail = [line for line in lines[1:] if not line.startswith(("warning:", "cause:"))]
    text = (detail or lines or ["uv failed"])[0]
    return text.removeprefix("error: ").removeprefix("× ").rstrip(":")
