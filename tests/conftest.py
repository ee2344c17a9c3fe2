"""Shared test setup: fixture modules under tests/fixtures/ are loaded as pytest plugins.

Every test that runs pip or uv must isolate it from this machine's global pip configuration
(extra local indexes, find-links, constraints); ``isolated_pip_env`` gives the environment for it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_FIXTURES = Path(__file__).parent / "fixtures"
pytest_plugins = [
    *sorted(
        f"tests.fixtures.{path.stem}" for path in _FIXTURES.glob("*.py") if path.stem != "__init__"
    ),
    "pytester",  # tests/test_harness.py runs small pytest sessions of its own
]

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="Rewrite tests/goldens/ from the current templates instead of comparing.",
    )


def isolated_pip_env(tmp: Path) -> dict[str, str]:
    """Environment for pip/uv subprocesses that ignores every config file on this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
        UV_CACHE_DIR=str(tmp / "uv-cache"),
        PIP_CACHE_DIR=str(tmp / "pip-cache"),
    )
    return env


def isolate_installers(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """Give this process isolated_pip_env's UV_/PIP_ settings, so that the uv and pip runs
    envgen starts in-process (lock, create) ignore this machine's configuration too."""
    for key, value in isolated_pip_env(tmp).items():
        if key.startswith(("UV_", "PIP_")):
            monkeypatch.setenv(key, value)


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory (with a pyproject.toml) as the working directory."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    monkeypatch.chdir(root)
    return root
