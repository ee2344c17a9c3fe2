"""The uv command line of a pip-side solve: no interpreter search when ours is the right one.

uv searches PATH for an interpreter on every ``pip compile`` unless told one; through pyenv's
shims that search cost more than the solve itself. The lock itself is unchanged by it (the
locked results are tested in test_lock_pip.py); here the choice of the build interpreter is.
"""

from __future__ import annotations

import sys
from pathlib import Path

from envgen.lockers import uv
from envgen.project import Project
from tests.helpers import write_profile

OURS = f"{sys.version_info[0]}.{sys.version_info[1]}"


def command_for(python: str) -> list[str]:
    write_profile(Path.cwd(), "p", f'python: "{python}"\npytorch: {{version: "2.4.1"}}\n')
    env = Project.open().resolve("p").env
    indexes = uv.PipIndexes.for_env(env, "https://pypi.org/simple")
    return uv._command("uv", env, indexes, "linux-64", "requirements.txt", "out.txt")


def test_our_interpreter_builds_when_it_is_the_profiles_minor(project_dir: Path) -> None:
    assert uv.build_python(OURS) == sys.executable
    command = command_for(OURS)
    at = command.index("--python")
    assert command[at + 1] == sys.executable
    assert command[command.index("--python-version") + 1] == OURS  # the target stays explicit


def test_another_minor_lets_uv_find_the_right_interpreter(project_dir: Path) -> None:
    other = "3.10" if OURS != "3.10" else "3.12"
    assert uv.build_python(other) is None
    command = command_for(other)
    assert "--python" not in command  # an sdist must be built by the Python it is locked for
    assert command[command.index("--python-version") + 1] == other
