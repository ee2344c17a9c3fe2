"""The ``venv`` backend: the standard library's venv made by the chosen interpreter, then pip.

``<python> -m venv`` (with pip, from the interpreter's own bundled copy: offline and always
there) ties the environment to exactly the Python the profile asks for; the packages then go in
with uv or with that environment's ``python -m pip``, never a bare ``pip`` that could belong to
another Python.
"""

from __future__ import annotations

from ..envmeta import env_python
from ..errors import EnvgenError
from . import pip_part
from ._run import run_tool
from .base import CreatePlan

NAME = "venv"


class VenvBackend:
    name = NAME

    def unavailable(self) -> str | None:
        return None  # every CPython has venv; a missing ensurepip shows up as a clear failure

    def create(self, plan: CreatePlan) -> str | None:
        if plan.interpreter is None:
            raise EnvgenError("the venv backend needs an interpreter", fix="pass --python PATH")
        run_tool(
            [str(plan.interpreter.path), "-m", "venv", str(plan.prefix)],
            environ=pip_part.installer_environ(plan.environ),
            progress=plan.progress,
            what=f"creating the venv with Python {plan.interpreter.version}",
            fix="on Debian/Ubuntu install the python3-venv package for that Python, or pass "
            "another interpreter with --python",
        )
        if plan.pip_file is None:
            return None
        return pip_part.install(
            plan, env_python(plan.prefix), plan.pip_file, hashed=plan.pip_hashed
        )


BACKEND = VenvBackend()
