"""Create backends: one module per tool behind ``base.Backend``; ``BACKENDS`` is the registry.

Modules are imported only when chosen, so ``envgen create`` with venv never imports rattler.
"""

from __future__ import annotations

import importlib

from .base import Backend

# backend name -> module under envgen.backends exposing BACKEND: Backend
BACKENDS = {
    "venv": "venv",
    "conda": "conda",
    "mamba": "mamba",
    "micromamba": "micromamba",
    "rattler": "rattler",
}
CONDA_TOOLS = ("mamba", "micromamba", "conda")  # auto's order among installed conda tools


def backend(name: str) -> Backend:
    module = importlib.import_module(f"envgen.backends.{BACKENDS[name]}")
    found: Backend = module.BACKEND
    return found
