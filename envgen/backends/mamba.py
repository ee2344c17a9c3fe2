"""The ``mamba`` backend: conda's, with mamba's faster solver and downloader."""

from __future__ import annotations

from .conda import CondaFamily

BACKEND = CondaFamily("mamba", ("mamba",), "MAMBA_EXE", ("env", "create"))
