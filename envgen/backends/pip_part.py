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
import shutil
from collections.abc import Mapping
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


def install(plan: CreatePlan, python: Path, requirements: Path, *, hashed: bool) -> str:
    """Install ``requirements`` into the environment of ``python``; returns the installer used."""
    tool, uv = pick_installer(plan.installer)
    body = plan.work_dir / "requirements-install.txt"
    from ..readfile import LARGE, read_text

    text = read_text(requirements, what="requirements", limit=LARGE) or ""
    body.write_text(requirements_body(text), encoding="utf-8")
    main, extra = indexes(plan)
    environ = installer_environ(plan.environ)
    if uv is not None:
        argv = [uv, "pip", "install", "--no-config", "--python", str(python), "-r", str(body)]
        # uv's first-index rule keeps torch on the PyTorch index (as uv's own guide advises);
        # with a hashed lock the hashes pin every file, so any index may serve it.
        argv += (
            ["--default-index", extra[-1], "--index", main] if extra else ["--default-index", main]
        )
        argv += [a for url in extra[:-1] for a in ("--index", url)]
        if hashed:
            argv += ["--require-hashes", "--no-deps", "--index-strategy", "unsafe-best-match"]
    else:
        argv = [str(python), "-m", "pip", "install", "--isolated", "--no-input"]
        argv += ["--progress-bar", "off", "-r", str(body), "--index-url", main]
        argv += [a for url in extra for a in ("--extra-index-url", url)]
        argv += [
            a
            for var, opt in _PIP_PASSED.items()
            if var in plan.environ
            for a in (opt, plan.environ[var])
        ]
        if hashed:
            argv += ["--require-hashes", "--no-deps"]
    what = "installing the pip part with " + ("uv" if uv else "pip")
    run_tool(
        argv,
        environ=environ,
        progress=plan.progress,
        what=what,
        fix="check the index URLs (or mirrors) and that the lock is current ('envgen lock')",
    )
    return tool
