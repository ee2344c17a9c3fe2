"""The venv backend builds real environments: uv-made (pip from the bundled wheels) or ``-m venv``.

Nothing here touches a package index: the plans install no pip part (or one of local files),
and the indexes they name are a closed port, so a uv-made venv getting its pip proves it needs
no network.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from envgen.backends import pip_part, venv
from envgen.backends.base import CreatePlan
from envgen.create import current_platform
from envgen.envmeta import env_python
from envgen.interpreters import Interpreter, probe
from envgen.mirrors import Mirrors
from envgen.project import Project
from tests.conftest import isolated_pip_env
from tests.fixtures.pypi_index import build_wheel
from tests.helpers import write_profile

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
DEAD_INDEX = "http://127.0.0.1:9/simple"  # the discard port: nothing answers


def interpreter() -> Interpreter:
    found = probe(Path(sys.executable), "explicit")
    assert found is not None
    return found


def plan_for(project_dir: Path, tmp_path: Path, installer: str) -> CreatePlan:
    write_profile(project_dir, "p", 'python: "3.11"\npytorch: {version: "2.4.1"}\n')
    mirrors = dict.fromkeys(
        ("https://download.pytorch.org/whl", "https://pypi.org/simple"), DEAD_INDEX
    )
    env = Project.open().resolve("p", mirrors).env
    lines: list[str] = []
    return CreatePlan(
        env=env,
        prefix=tmp_path / "env",
        platform=current_platform(),
        interpreter=interpreter(),
        pip_file=None,
        pip_hashed=False,
        conda_lock=None,
        environment_file=None,
        installer=installer,
        mirrors=Mirrors.from_mapping(mirrors),
        work_dir=tmp_path,
        environ=isolated_pip_env(tmp_path),  # an empty uv cache of its own: a cold start
        progress=lines.append,
    )


def inside(prefix: Path, code: str) -> str:
    done = subprocess.run(
        [str(env_python(prefix)), "-c", code], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def pip_in(prefix: Path) -> str:
    done = subprocess.run(
        [str(env_python(prefix)), "-m", "pip", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_uv_makes_the_venv_and_puts_the_interpreters_own_pip_in_it_offline(
    project_dir: Path, tmp_path: Path
) -> None:
    plan = plan_for(project_dir, tmp_path, "auto")
    if pip_part.find_uv() is None:
        pytest.skip("uv is not installed")
    seeds = venv.bundled_wheels(interpreter())
    assert any(w.name.startswith("pip-") for w in seeds), "this CPython bundles pip"

    assert venv.BACKEND.create(plan) is None  # no pip part ran
    cfg = (plan.prefix / "pyvenv.cfg").read_text()
    assert "uv = " in cfg  # uv made it, not python -m venv
    assert inside(plan.prefix, "import sys; print(sys.prefix)") == str(plan.prefix)
    assert inside(plan.prefix, "import sys; print(sys.version_info[:2] == (3, 11))") == "True"
    # python -m pip is the environment's own pip, the very version ensurepip bundles.
    bundled = next(w for w in seeds if w.name.startswith("pip-")).name.split("-")[1]
    shown = pip_in(plan.prefix)
    assert shown.startswith(f"pip {bundled} from {plan.prefix}")
    assert (plan.prefix / "bin" / "pip").exists()  # and a bare pip, as python -m venv leaves


def test_installer_pip_keeps_the_standard_library_venv(project_dir: Path, tmp_path: Path) -> None:
    plan = plan_for(project_dir, tmp_path, "pip")
    venv.BACKEND.create(plan)
    assert "uv = " not in (plan.prefix / "pyvenv.cfg").read_text()
    assert str(plan.prefix) in pip_in(plan.prefix)


def test_an_interpreter_without_bundled_wheels_falls_back_to_python_m_venv(
    project_dir: Path, tmp_path: Path
) -> None:
    plan = plan_for(project_dir, tmp_path, "auto")
    real = interpreter()
    # A base prefix without ensurepip/_bundled (as Debian ships its system Python).
    unbundled = Interpreter(
        path=real.path,
        executable=real.executable,
        version=real.version,
        origin=real.origin,
        prefix=real.prefix,
        base_prefix=str(tmp_path / "no-such-prefix"),
    )
    assert venv.bundled_wheels(unbundled) == []
    plan = replace(plan, interpreter=unbundled)
    venv.BACKEND.create(plan)
    assert "uv = " not in (plan.prefix / "pyvenv.cfg").read_text()
    assert str(plan.prefix) in pip_in(plan.prefix)


def test_a_uv_made_venv_needs_no_network_even_when_uv_is_told_to_seed(
    project_dir: Path, tmp_path: Path
) -> None:
    if pip_part.find_uv() is None:
        pytest.skip("uv is not installed")
    plan = plan_for(project_dir, tmp_path, "uv")
    # UV_VENV_SEED would make uv fetch pip from an index; UV_OFFLINE forbids any fetch, and the
    # uv cache is empty: only the interpreter's bundled wheels can get pip in.
    plan = replace(plan, environ={**plan.environ, "UV_VENV_SEED": "1", "UV_OFFLINE": "1"})
    venv.BACKEND.create(plan)
    assert "uv = " in (plan.prefix / "pyvenv.cfg").read_text()
    assert str(plan.prefix) in pip_in(plan.prefix)


def _hashed_lock(path: Path, wheels: list[Path]) -> Path:
    """A hashed requirements lock of local wheels (file URLs: no index is asked)."""
    blocks = [
        f"{w.name.split('-')[0].replace('_', '-')} @ {w.resolve().as_uri()} \\\n"
        f"    --hash=sha256:{hashlib.sha256(w.read_bytes()).hexdigest()}\n"
        for w in wheels
    ]
    path.write_text("".join(blocks))
    return path


def test_with_a_pip_part_pip_goes_in_with_it_and_the_locks_own_setuptools_wins(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One uv run makes the venv, one installs the lock and the bundled pip together; a
    project the lock names itself (setuptools here) is the lock's, not the bundled one."""
    if pip_part.find_uv() is None:
        pytest.skip("uv is not installed")
    runs: list[str] = []
    for module in (venv, pip_part):
        real = module.run_tool

        def counting(argv: list[str], *args: object, real: object = real, **kw: object) -> None:
            runs.append(" ".join(argv[1:3]))
            real(argv, *args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(module, "run_tool", counting)
    wheels = [build_wheel(tmp_path / "w", "tiny-pkg", "1.0")]
    wheels.append(build_wheel(tmp_path / "w", "setuptools", "99.0"))
    plan = replace(
        plan_for(project_dir, tmp_path, "auto"),
        pip_file=_hashed_lock(tmp_path / "lock.txt", wheels),
        pip_hashed=True,
    )
    assert venv.BACKEND.create(plan) == "uv"
    assert runs == ["venv --no-config", "pip install"]
    seeds = venv.bundled_wheels(interpreter())
    bundled = next(w for w in seeds if w.name.startswith("pip-")).name.split("-")[1]
    assert pip_in(plan.prefix).startswith(f"pip {bundled} from {plan.prefix}")
    versions = "import setuptools, tiny_pkg; print(setuptools.__version__, tiny_pkg.__version__)"
    assert inside(plan.prefix, versions) == "99.0 1.0"


def test_seed_lines_leave_out_what_the_requirements_name(tmp_path: Path) -> None:
    pip = build_wheel(tmp_path, "pip", "23.2.1")
    setuptools = build_wheel(tmp_path, "setuptools", "65.5.0")
    body = "Setuptools==84.0.0 \\\n    --hash=sha256:00\n    # via torch\ntqdm>=4\n"
    lines = pip_part.seed_lines([pip, setuptools], body, hashed=True)
    digest = hashlib.sha256(pip.read_bytes()).hexdigest()
    assert lines == f"pip @ {pip.resolve().as_uri()} --hash=sha256:{digest}\n"
    assert pip_part.seed_lines([pip], "", hashed=False) == f"pip @ {pip.resolve().as_uri()}\n"
