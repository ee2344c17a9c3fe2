"""Lock engines: uv for the pip side; conda-lock and rattler for ``conda-lock.yml``.

One module per engine behind the protocol in ``base``; ``CONDA_ENGINES`` is the one registry,
imported lazily so the CLI never pays for an engine it does not use.
"""

from __future__ import annotations

import importlib

from .base import CondaLockEngine

# engine name -> module under envgen.lockers exposing ENGINE: CondaLockEngine
CONDA_ENGINES = {"conda-lock": "condalock", "rattler": "rattler"}


def conda_engine(name: str) -> CondaLockEngine:
    module = importlib.import_module(f"envgen.lockers.{CONDA_ENGINES[name]}")
    engine: CondaLockEngine = module.ENGINE
    return engine
