"""The ``venv`` backend: a virtual environment made from the chosen interpreter, then the packages.

With uv (the default installer) uv makes the venv and installs pip into it from the wheels the
interpreter bundles for ``ensurepip``, offline: the same pip (and, before 3.12, setuptools) that
``python -m venv`` would have put there, in a fraction of a second instead of the 3–4 s
``ensurepip`` spends. So the environment stays complete (``python -m pip`` works inside it,
verify's pip check passes) and a warm uv cache is enough to build it with no network.

``python -m venv`` is kept for ``--installer pip`` and for interpreters without bundled wheels
(Debian's system Python keeps them elsewhere; its ``python3-venv`` package knows where).
Either way the environment belongs to exactly the Python the profile asks for, and the packages go
in with uv or with that environment's ``python -m pip``, never a bare ``pip``.
"""

from __future__ import annotations

from pathlib import Path

from ..envmeta import env_python
from ..errors import EnvgenError
from ..interpreters import Interpreter
from . import pip_part
from ._run import run_tool
from .base import CreatePlan

NAME = "venv"
_VENV_FIX = (
    "on Debian/Ubuntu install the python3-venv package for that Python, or pass another "
    "interpreter with --python"
)


class VenvBackend:
    name = NAME

    def unavailable(self) -> str | None:
        return None  # every CPython has venv; a missing ensurepip shows up as a clear failure

    def create(self, plan: CreatePlan) -> str | None:
        if plan.interpreter is None:
            raise EnvgenError("the venv backend needs an interpreter", fix="pass --python PATH")
        uv = None if plan.installer == "pip" else pip_part.find_uv()
        seeds = bundled_wheels(plan.interpreter)
        if uv is not None and seeds:
            # With a pip part, pip goes in with it: one uv run fewer, and a setuptools the
            # lock pins is not installed twice (the bundled one, then the lock's).
            make_with_uv(plan, uv, seeds if plan.pip_file is None else [])
        else:
            run_tool(
                [str(plan.interpreter.path), "-m", "venv", str(plan.prefix)],
                environ=pip_part.installer_environ(plan.environ),
                progress=plan.progress,
                what=f"creating the venv with Python {plan.interpreter.version}",
                fix=_VENV_FIX,
            )
            seeds = []  # ensurepip put pip in
        if plan.pip_file is None:
            return None
        return pip_part.install(
            plan, env_python(plan.prefix), plan.pip_file, hashed=plan.pip_hashed, seeds=seeds
        )


def bundled_wheels(interpreter: Interpreter) -> list[Path]:
    """The wheels ``ensurepip`` of ``interpreter`` installs (pip; setuptools before 3.12).

    Looked up where CPython keeps them (``lib/pythonX.Y`` on POSIX, ``Lib`` on Windows) under the
    interpreter's base prefix; empty when there are none (a distribution that unbundled them).
    """
    base = Path(interpreter.base_prefix)
    for stdlib in (base / "lib" / f"python{interpreter.minor}", base / "Lib"):
        found = sorted((stdlib / "ensurepip" / "_bundled").glob("*.whl"))
        if any(w.name.startswith("pip-") for w in found):
            return found
    return []


def make_with_uv(plan: CreatePlan, uv: str, seeds: list[Path]) -> None:
    """``uv venv`` for the plan's interpreter, then ``seeds`` (its bundled pip), both without
    any network; no seeds: the caller installs them with the pip part."""
    assert plan.interpreter is not None
    environ = pip_part.installer_environ(plan.environ)
    environ.pop("UV_VENV_SEED", None)  # seeding fetches pip from an index: the bundled one is used
    version = plan.interpreter.version
    made = ["--python", str(plan.interpreter.path), str(plan.prefix)]
    run_tool(
        [uv, "venv", "--no-config", "--no-project", "--no-python-downloads", "--quiet", *made],
        environ=environ,
        progress=plan.progress,
        what=f"creating the venv with Python {version} (uv)",
        fix=_VENV_FIX,
    )
    if not seeds:  # they go in with the pip part
        return
    into = ["--python", str(env_python(plan.prefix)), *map(str, seeds)]
    run_tool(
        [uv, "pip", "install", "--no-config", "--offline", "--no-index", "--quiet", *into],
        environ=environ,
        progress=plan.progress,
        what="installing pip from the interpreter's bundled wheels (uv)",
        fix="use --installer pip to let 'python -m venv' install pip instead",
    )


BACKEND = VenvBackend()
