"""The ``micromamba`` backend: a single static binary; ``create --file`` reads environment.yml."""

from __future__ import annotations

from .conda import CondaFamily

BACKEND = CondaFamily("micromamba", ("micromamba",), "MAMBA_EXE", ("create", "--yes"))
