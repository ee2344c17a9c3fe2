"""Paths reach shells only as arguments: a prefix named like shell code is just a name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from envgen.activation import activate

NAMES = ["x$(touch PWNED)", "x`touch PWNED`", 'x"; touch PWNED; "', "x'; touch PWNED; '", "x\\"]


@pytest.mark.skipif(sys.platform == "win32", reason="activate.d .sh scripts run through bash")
@pytest.mark.parametrize("name", NAMES)
def test_a_prefix_named_like_code_is_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    prefix = tmp_path / name
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python").symlink_to(sys.executable)
    scripts = prefix / "etc" / "conda" / "activate.d"
    scripts.mkdir(parents=True)
    (scripts / "a.sh").write_text('export FROM_SCRIPT="$CONDA_PREFIX"\n')
    act = activate(prefix, base={"PATH": "/usr/bin:/bin"})
    assert act.environ["FROM_SCRIPT"] == str(prefix)
    assert not list(tmp_path.rglob("PWNED")) and not (Path.cwd() / "PWNED").exists()
