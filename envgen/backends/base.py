"""What every create backend receives (``CreatePlan``) and the protocol it implements.

``envgen.create`` decides everything (interpreter, files, prefix, locking); a backend only turns
a plan into a populated prefix, so each backend module stays a page long.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..interpreters import Interpreter
from ..mirrors import Mirrors
from ..resolve import ResolvedEnv

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CreatePlan:
    """Everything a backend needs, already decided; no backend looks anything up on its own."""

    env: ResolvedEnv  # index URLs and channels are already mirrored
    prefix: Path  # where to build: the environment's final path (see envgen.create)
    platform: str  # conda subdir of this machine, e.g. linux-64
    interpreter: Interpreter | None  # venv only: the base Python the venv is made from
    pip_file: Path | None  # pip requirements to install (a hashed lock or the rendered file)
    pip_hashed: bool  # pip_file is a complete hashed lock: --require-hashes --no-deps
    conda_lock: Path | None  # conda-lock.yml, when the profile has been locked
    environment_file: Path | None  # rendered environment.yml (used when there is no lock)
    installer: str  # pip installer for the pip part: auto | uv | pip
    mirrors: Mirrors  # for URLs a lock recorded, and for PyPI when the env names no index
    work_dir: Path  # scratch space for derived files; removed after the create
    environ: Mapping[str, str]  # base environment for every subprocess
    progress: Progress


class Backend(Protocol):
    name: str

    def unavailable(self) -> str | None:
        """None when this backend can run on this machine, else why not (shown to the user)."""

    def create(self, plan: CreatePlan) -> str | None:
        """Populate ``plan.prefix`` (which does not exist yet), or raise EnvgenError.

        Returns the installer that ran the pip part (uv | pip), None when none ran.
        """
