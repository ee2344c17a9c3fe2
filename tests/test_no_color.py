"""``NO_COLOR`` (no-color.org) turns envgen's colours off even on a terminal.

The only coloured output is verify's PASS/FAIL/SKIP labels; a pseudo-terminal makes click
colour them, so the test can tell the setting works rather than that output was piped.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from envgen.cli import color_setting

ANSI = "\x1b["


def test_color_setting_follows_no_color() -> None:
    assert color_setting({"NO_COLOR": "1"}) is False
    assert color_setting({"NO_COLOR": ""}) is None  # empty means unset, per no-color.org
    assert color_setting({}) is None


def _verify_on_a_terminal(project: Path, no_color: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env.update(TERM="xterm", ENVGEN_NO_CACHE="1")
    if no_color is not None:
        env["NO_COLOR"] = no_color
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "envgen", "verify", "cpu", "--python", sys.executable]
    proc = subprocess.Popen(command, cwd=project, env=env, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    proc.wait(timeout=120)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_verify_is_coloured_on_a_terminal_unless_no_color(project_dir: Path) -> None:
    coloured = _verify_on_a_terminal(project_dir, None)
    assert "PASS" in coloured and ANSI in coloured
    plain = _verify_on_a_terminal(project_dir, "1")
    assert "PASS" in plain and ANSI not in plain
