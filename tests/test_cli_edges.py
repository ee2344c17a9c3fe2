"""The edges a newcomer hits first: profile paths and names, typos, --debug, list and show."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import run_cli, snapshot, write_profile


def test_torch_113_has_python_311_for_linux(capsys, project_dir: Path) -> None:
    """PyPI has cp311 wheels of 1.13.x for Linux x86_64; the catalog must not refuse them."""
    write_profile(
        project_dir, "old", 'python: "3.11"\npytorch: "1.13"\nplatforms: [linux-64]\n'
    )
    result = run_cli(capsys, "render", "old", "--stdout", "-f", "environment.yml")
    assert result.code == 0, result.err
    data = yaml.safe_load(result.out)
    assert "python=3.11" in data["dependencies"]
    pip = data["dependencies"][-1]["pip"]
    assert "torch==1.13.1+cpu" in pip
