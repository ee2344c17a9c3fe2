"""The pip part of every environment: uv when available, else the environment's own pip.

Both installers are isolated from the machine's configuration on purpose: pip gets
``--isolated`` plus ``PIP_CONFIG_FILE=/dev/null`` (``--isolated`` alone still reads the
site-wide pip.conf, which may add indexes, find-links or constraints), uv gets ``--no-config``
and loses the ``UV_*`` variables that choose packages. What goes into an environment must follow
from the lock or profile alone; a pip.conf that quietly redirects an install is exactly the
"works on my machine" envgen exists to remove. Indexes come from the ``ResolvedEnv`` (already
mirrored), never from the file: a lock's hashes pin the bytes, the mirror only says where.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import ToolError
from ..resolve import PYPI_SIMPLE
from ._run import run_tool
from .base import CreatePlan

# Requirement-file options that choose where packages come from; replaced by the plan's indexes.
_INDEX_OPTIONS = ("--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--no-index")
# uv settings that would change what gets installed (cache, network and TLS settings stay).
_UV_SELECTING = {
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_INDEX_STRATEGY",
    "UV_CONSTRAINT",
    "UV_OVERRIDE",
    "UV_BUILD_CONSTRAINT",
    "UV_PRERELEASE",
    "UV_RESOLUTION",
    "UV_EXCLUDE_NEWER",
    "UV_TORCH_BACKEND",
    "UV_NO_BINARY",
    "UV_NO_BUILD",
    "UV_CONFIG_FILE",
    "UV_PYTHON",
    "UV_SYSTEM_PYTHON",
}
# pip's --isolated ignores PIP_* variables; these few say how to fetch, not what: pass them on.
_PIP_PASSED = {"PIP_CACHE_DIR": "--cache-dir", "PIP_CERT": "--cert"}


def find_uv() -> str | None:
    """uv's executable: the one shipped with envgen's ``uv`` dependency, else one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def pick_installer(wanted: str) -> tuple[str, str | None]:
    """('uv', path) or ('pip', None) for ``wanted`` in auto | uv | pip."""
    if wanted == "pip":
        return "pip", None
    uv = find_uv()
    if uv is not None:
        return "uv", uv
    if wanted == "uv":
        raise ToolError(
            "uv is not installed", key="--installer", fix="pip install uv, or use --installer pip"
        )
    return "pip", None


def requirements_body(text: str) -> str:
    """The requirement lines of a requirements file or lock, without its index options."""
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if any(stripped == o or stripped.startswith((o + " ", o + "=")) for o in _INDEX_OPTIONS):
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def indexes(plan: CreatePlan) -> tuple[str, list[str]]:
    """(main index, extra indexes) for the plan: the PyTorch index first, then PyPI."""
    env = plan.env
    if env.index_url is None:
        return plan.mirrors.url(PYPI_SIMPLE), list(env.extra_index_urls)
    return env.index_url, list(env.extra_index_urls)


def installer_environ(base: Mapping[str, str]) -> dict[str, str]:
    environ = {
        k: v
        for k, v in base.items()
        if k not in _UV_SELECTING
        and not k.startswith("PIP_")
        and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX")
    }
    environ["PIP_CONFIG_FILE"] = os.devnull
    environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return environ


def split_family(body: str, family: frozenset[str]) -> tuple[str, str]:
    """(the torch family's requirement blocks, every other block) of a hashed requirements
    body; a block is a requirement line with its indented hash and comment lines."""
    from ..specs import canonical_name

    parts: tuple[list[str], list[str]] = ([], [])
    into = parts[1]
    for line in body.splitlines():
        if line.strip() and not line[0].isspace() and not line.startswith(("#", "-")):
            name = re.split(r"[=<>!~;@\[ \\]", line.strip(), maxsplit=1)[0]
            into = parts[0] if canonical_name(name) in family else parts[1]
        into.append(line)
    return "\n".join(parts[0]) + "\n", "\n".join(parts[1]) + "\n"


def install(
    plan: CreatePlan,
    python: Path,
    requirements: Path,
    *,
    hashed: bool,
    seeds: Sequence[Path] = (),
) -> str:
    """Install ``requirements`` into the environment of ``python``; returns the installer used.

    A hashed lock's torch family goes in first, from the PyTorch index alone: a hash pins bytes
    but says nothing of where they came from, and with PyPI beside it (pip merges indexes, uv
    is told to take the best match) a lock resealed with PyPI's torch hash would install
    PyPI's torch. Served by the PyTorch index only, such a hash matches no file and the install
    fails, where a hand-edited lock would otherwise have passed. Everything else follows from
    all the plan's indexes, as before.

    ``seeds``: local wheels (the interpreter's bundled pip) that go in with the first run, by
    file URL and (hashed) their own digests, unless the requirements name the same project:
    their version then wins, as it did when the seeds were installed first and replaced.
    """
    from ..readfile import LARGE, read_text

    tool, uv = pick_installer(plan.installer)
    text = read_text(requirements, what="requirements", limit=LARGE) or ""
    body = requirements_body(text)
    main, extra = indexes(plan)
    torch_index = plan.env.index_url
    rest = body
    seeded = seed_lines(seeds, body, hashed)
    if hashed and torch_index is not None:
        from ..lockrules import family

        torch_part, rest = split_family(body, family())
        if torch_part.strip():
            torch_part, seeded = torch_part + seeded, ""
            _run_install(plan, tool, uv, python, torch_part, "torch", (torch_index, []), hashed)
    _run_install(plan, tool, uv, python, rest + seeded, "install", (main, extra), hashed)
    return tool


def seed_lines(seeds: Sequence[Path], body: str, hashed: bool) -> str:
    """Requirement lines for the wheels in ``seeds`` that ``body`` does not name itself."""
    from ..specs import canonical_name

    named = {canonical_name(n) for n in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", body, re.M)}
    lines = []
    for wheel in seeds:
        name = canonical_name(wheel.name.split("-", 1)[0])
        if name in named:
            continue
        line = f"{name} @ {wheel.resolve().as_uri()}"
        if hashed:
            import hashlib

            line += f" --hash=sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}"
        lines.append(line + "\n")
    return "".join(lines)


def _run_install(
    plan: CreatePlan,
    tool: str,
    uv: str | None,
    python: Path,
    body_text: str,
    label: str,
    where: tuple[str, list[str]],
    hashed: bool,
) -> None:
    """One installer run. The indexes go into the requirements file, not the command line:
    pip and uv expand a mirror's ``${TOKEN}`` placeholder there (and nowhere else), so the
    credential reaches the installer without appearing in its arguments or in our output."""
    main, extra = where
    if uv is not None:
        # uv searches extra indexes before the default one, earlier first: the PyTorch index
        # first (uv's own guide's advice), PyPI as the default.
        default, first = (extra[-1], [main, *extra[:-1]]) if extra else (main, [])
    else:
        default, first = main, list(extra)
    options = [f"--index-url {default}", *(f"--extra-index-url {url}" for url in first)]
    body = plan.work_dir / f"requirements-{label}.txt"
    body.write_text("\n".join(options) + "\n" + body_text, encoding="utf-8")
    environ = installer_environ(plan.environ)
    if uv is not None:
        argv = [uv, "pip", "install", "--no-config", "--python", str(python), "-r", str(body)]
        if hashed:  # the hashes pin every file, so any index may serve it
            argv += ["--require-hashes", "--no-deps", "--index-strategy", "unsafe-best-match"]
    else:
        argv = [str(python), "-m", "pip", "install", "--isolated", "--no-input"]
        argv += ["--progress-bar", "off", "-r", str(body)]
        argv += [
            a
            for var, opt in _PIP_PASSED.items()
            if var in plan.environ
            for a in (opt, plan.environ[var])
        ]
        if hashed:
            argv += ["--require-hashes", "--no-deps"]
    what = f"installing the pip part with {'uv' if uv else 'pip'}" + (
        " (the torch family, from the PyTorch index only)" if label == "torch" else ""
    )
    run_tool(
        argv,
        environ=environ,
        progress=plan.progress,
        what=what,
        fix="check the index URLs (or mirrors) and that the lock is current ('envgen lock')",
    )
