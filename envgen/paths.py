"""Where envgen's built-in templates, profiles and data live, installed or in a source checkout.

The wheel carries ``templates/`` and ``profiles/`` inside the package (``envgen/_builtin``); a
source checkout keeps them at the repository's top level, as the design card asks.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
CATALOG_FILE = DATA_DIR / "pytorch.yaml"


def _builtin(name: str) -> Path:
    installed = PACKAGE_DIR / "_builtin" / name
    if installed.is_dir():
        return installed
    return PACKAGE_DIR.parent / name


def builtin_templates() -> Path:
    return _builtin("templates")


def builtin_profiles() -> Path:
    return _builtin("profiles")
