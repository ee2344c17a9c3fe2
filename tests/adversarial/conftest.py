"""Adversarial tests write nothing to the real home: envgen's, uv's, pip's and rattler's caches
point into the test's temporary directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def count(variable: str, default: int) -> int:
    """How many examples/kills/cases a loop runs: small in CI, raised for the dedicated run."""
    return max(1, int(os.environ.get(variable, default)))


@pytest.fixture(autouse=True)
def private_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(home / "uv-cache"))
    monkeypatch.setenv("PIP_CACHE_DIR", str(home / "pip-cache"))
    monkeypatch.setenv("RATTLER_CACHE_DIR", str(home / "rattler-cache"))
    return home
