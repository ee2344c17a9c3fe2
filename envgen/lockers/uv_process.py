"""Running uv for the pip side of ``envgen lock``: the binary, the environment it runs in and
one bounded run.

uv runs with ``--no-config`` and without the ``UV_*`` variables that add indexes or
constraints, so the lock does not depend on the machine that made it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from ..errors import ToolError
from ..targets import MACOS

_TIMEOUT_S = 900
# Environment variables that would change what uv resolves, whatever the command line says.
_KEEP_UV_VARS = (
    "UV_CACHE_DIR",
    "UV_NO_CACHE",
    "UV_NATIVE_TLS",
    "UV_HTTP_TIMEOUT",
    "UV_CONCURRENT_DOWNLOADS",
    "UV_KEYRING_PROVIDER",
    "UV_OFFLINE",
)


def uv_binary() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:
        raise ToolError(
            "uv is not installed; envgen locks pip requirements with it",
            fix="pip install uv (it is a dependency of envgen: reinstall envgen)",
        ) from None
    return str(find_uv_bin())


def uv_environ() -> dict[str, str]:
    """The caller's environment less its uv settings, and less ``COLUMNS``: uv wraps its
    messages at that width, and envgen reads a URL or a name out of them."""
    return {
        k: v
        for k, v in os.environ.items()
        if (not k.startswith("UV_") or k in _KEEP_UV_VARS) and k != "COLUMNS"
    }


def run_uv(
    command: list[str],
    cwd: Path,
    meanwhile: Callable[[], object] | None = None,
    retries: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run uv; ``meanwhile`` is work of ours that needs no result of it, done while it runs.

    Without ``retries`` uv gives up on the first network error (its default is 3 retries,
    about 5 s): a name that does not resolve or a refused connection is said at once, and
    anything else is run again with uv's retries (see ``_Solver._compile``).
    """
    extra = {} if retries else {"UV_HTTP_RETRIES": "0"}
    with subprocess.Popen(
        command,
        cwd=cwd,
        # The same macOS target as the universal split's, whatever the caller's shell says.
        env={**uv_environ(), "MACOSX_DEPLOYMENT_TARGET": MACOS, **extra},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            if meanwhile is not None:
                meanwhile()
            out, err = process.communicate(timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise ToolError(
                f"uv did not finish within {_TIMEOUT_S} s", fix="check the network or the mirrors"
            ) from None
        except BaseException:
            process.kill()
            raise
    return subprocess.CompletedProcess(command, process.returncode, out, err)
