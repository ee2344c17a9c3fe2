"""The ``conda`` backend (and, through ``CondaFamily``, ``mamba`` and ``micromamba``).

With a ``conda-lock.yml`` the conda packages go in as an ``@EXPLICIT`` list (exact URLs and
hashes, no solve) and the pip part through ``pip_part`` with hashes, exactly as the rattler
backend applies a lock; without one, the tool creates the environment from the rendered
``environment.yml`` (its own solve, its own pip run), which is what a user would type by hand.
Only used when the executable exists: envgen never downloads a conda.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..envmeta import env_python
from ..errors import EnvgenError
from . import pip_part
from ._run import run_tool
from .base import CreatePlan
from .lockfile import read_lock


@dataclass(frozen=True)
class CondaFamily:
    name: str
    executables: tuple[str, ...]  # names to look for on PATH
    env_var: str | None  # set by the tool's own activation, e.g. CONDA_EXE
    from_file: tuple[str, ...]  # subcommand creating from an environment.yml

    def executable(self) -> str | None:
        if self.env_var and os.environ.get(self.env_var):
            candidate = os.environ[self.env_var]
            if Path(candidate).is_file() and Path(candidate).name.startswith(self.name):
                return candidate
        for exe in self.executables:
            found = shutil.which(exe)
            if found:
                return found
        return None

    def unavailable(self) -> str | None:
        if self.executable() is None:
            return f"no {self.name} executable on PATH"
        return None

    def create(self, plan: CreatePlan) -> str | None:
        exe = self.executable()
        if exe is None:
            raise EnvgenError(
                f"no {self.name} executable on PATH",
                key="--backend",
                fix="install it, or use --backend rattler (needs no conda)",
            )
        environ = pip_part.installer_environ(plan.environ)
        # Never stop at a confirmation prompt (stdin is closed): conda and libmamba both read these.
        environ.update(CONDA_ALWAYS_YES="true", MAMBA_ALWAYS_YES="true")
        fix = f"read {self.name}'s message above; check the channels (or their mirrors)"
        if plan.conda_lock is not None:
            locked = read_lock(plan.conda_lock, plan.platform, plan.mirrors)
            explicit = plan.work_dir / "explicit.txt"
            explicit.write_text(locked.explicit(), encoding="utf-8")
            argv: Sequence[str] = [exe, "create", "--yes", "--prefix", str(plan.prefix)]
            run_tool(
                [*argv, "--file", str(explicit)],
                environ=environ,
                progress=plan.progress,
                what=f"installing {len(locked.conda)} locked conda packages with {self.name}",
                fix=fix,
            )
            if locked.pip:
                pip_file = plan.work_dir / "pip-locked.txt"
                pip_file.write_text(locked.pip_requirements(), encoding="utf-8")
                return pip_part.install(plan, env_python(plan.prefix), pip_file, hashed=True)
            return None
        if plan.environment_file is None:
            raise EnvgenError("nothing to create from", fix="render or lock the profile first")
        run_tool(
            [
                exe,
                *self.from_file,
                "--prefix",
                str(plan.prefix),
                "--file",
                str(plan.environment_file),
            ],
            environ=environ,
            progress=plan.progress,
            what=f"creating from environment.yml with {self.name}",
            fix=fix,
        )
        return self.name if plan.env.pip_requirements else None  # its own pip run


BACKEND = CondaFamily("conda", ("conda",), "CONDA_EXE", ("env", "create"))
