"""Activation without a shell: venv and conda layouts, activate.d scripts, outer environments."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from envgen.activation import activate, layout
from envgen.errors import EnvgenError
from tests.fixtures.envs import make_venv

BASE = {"PATH": "/usr/bin:/bin", "PYTHONHOME": "/somewhere", "HOME": "/root"}


def conda_prefix(root: Path) -> Path:
    """A conda-layout prefix: conda-meta/ and bin/python (a link is enough for activation)."""
    (root / "conda-meta").mkdir(parents=True)
    (root / "bin").mkdir()
    (root / "bin" / "python").symlink_to(sys.executable)
    return root


def test_venv_activation(tmp_path: Path) -> None:
    prefix = make_venv(tmp_path / "env")
    act = activate(prefix, base=BASE, variables={"FOO": "bar"})
    assert act.kind == "venv"
    assert act.environ["VIRTUAL_ENV"] == str(prefix)
    assert act.environ["PATH"].split(os.pathsep)[0] == str(prefix / "bin")
    assert "PYTHONHOME" not in act.environ
    assert act.environ["FOO"] == "bar"
    assert act.python == prefix / "bin" / "python"


def test_an_outer_venv_is_deactivated(tmp_path: Path) -> None:
    """Tools that honour VIRTUAL_ENV (uv, poetry) must not see envgen's own venv."""
    prefix = conda_prefix(tmp_path / "conda")
    outer = tmp_path / "outer"
    base = {**BASE, "VIRTUAL_ENV": str(outer), "PATH": f"{outer}/bin:/usr/bin"}
    act = activate(prefix, base=base)
    assert "VIRTUAL_ENV" not in act.environ
    assert act.environ["PATH"] == f"{prefix}/bin:/usr/bin"


def test_conda_activation_sources_activate_d_and_applies_state_vars(tmp_path: Path) -> None:
    prefix = conda_prefix(tmp_path / "conda")
    (prefix / "conda-meta" / "state").write_text(json.dumps({"env_vars": {"FROM_STATE": "1"}}))
    scripts = prefix / "etc" / "conda" / "activate.d"
    scripts.mkdir(parents=True)
    # Real activate.d scripts read CONDA_PREFIX, print, and use bash syntax.
    (scripts / "10-cuda.sh").write_text(
        'echo "activating"\nexport CUDA_HOME="$CONDA_PREFIX/cuda"\n'
        '[[ -n "$CUDA_HOME" ]] && export CUDA_SET=yes\n'
    )
    (scripts / "20-win.bat").write_text("set X=1\n")
    act = activate(prefix, base=BASE, variables={"IGNORED": "venv-only"})
    env = act.environ
    assert act.kind == "conda"
    assert env["CONDA_PREFIX"] == env["CONDA_DEFAULT_ENV"] == str(prefix)
    assert env["PATH"].split(os.pathsep)[0] == str(prefix / "bin")
    assert env["CUDA_HOME"] == f"{prefix}/cuda"
    assert env["CUDA_SET"] == "yes"
    assert env["FROM_STATE"] == "1"
    assert "IGNORED" not in env and "PYTHONHOME" not in env
    assert not any(k.startswith("ENVGEN_DUMP") for k in env)
    assert [p.name for p in act.scripts] == ["10-cuda.sh"]
    assert [p.name for p in act.skipped] == ["20-win.bat"]
    assert "1 activate.d script(s) sourced; not run here: 20-win.bat" in act.describe()


def test_a_failing_activate_d_script_is_reported(tmp_path: Path) -> None:
    prefix = conda_prefix(tmp_path / "conda")
    scripts = prefix / "etc" / "conda" / "activate.d"
    scripts.mkdir(parents=True)
    (scripts / "broken.sh").write_text("echo 'cuda-nvcc: missing file' >&2\nreturn 3\n")
    with pytest.raises(EnvgenError, match="cuda-nvcc: missing file"):
        activate(prefix, base=BASE)


def test_a_plain_interpreter_puts_its_directory_first(tmp_path: Path) -> None:
    assert layout(tmp_path) == "plain"
    python = Path(sys.base_prefix) / "bin" / "python3"
    act = activate(Path(sys.base_prefix), python=python, base=BASE)
    assert act.environ["PATH"].split(os.pathsep)[0] == str(python.parent)
    assert "VIRTUAL_ENV" not in act.environ
