"""`envgen doctor` end to end (in-process, fake GPU tools on PATH), and the "pip belongs to
another Python" diagnosis with two real interpreters of different minors (found as envgen finds
them: the tests' own and a second one)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from envgen.doctor.context import Context, Unknown
from envgen.doctor.facts import gather
from envgen.doctor.pythons import PathPip, PathPython
from envgen.interpreters import Interpreter
from tests.fixtures.envs import OWN_MINOR, find_interpreter, second_minor
from tests.fixtures.gpu_tools import A100, FakeTools
from tests.helpers import run_cli


@dataclass(frozen=True)
class Pair:
    """`python` of one installation and the `pip` script of another, of another minor."""

    python: Interpreter
    pip: Interpreter

    def pip_of(self, interp: Interpreter) -> Path:
        script = Path(interp.path).parent / f"pip{interp.minor}"
        if not script.is_file():
            pytest.skip(f"Python {interp.version} at {interp.prefix} has no {script.name}")
        return script


@pytest.fixture
def pythons() -> Pair:
    return Pair(find_interpreter(OWN_MINOR), find_interpreter(second_minor()))


def test_doctor_text_json_and_auto(
    capsys: pytest.CaptureFixture[str], project_dir: Path, fake_machine: FakeTools
) -> None:
    fake_machine.nvidia_smi("550.54.15", A100, A100)
    text = run_cli(capsys, "doctor")
    assert text.code == 0, text.err
    assert "nvidia driver  550.54.15, CUDA 12.4 (from nvidia-smi)" in text.out
    assert "NVIDIA A100-SXM4-80GB, compute capability 8.0, 81920 MiB" in text.out
    assert "profile: gpu-cu128 — the newest CUDA build your driver" in text.out
    assert "next:  envgen create gpu-cu128\n         envgen verify gpu-cu128" in text.out
    data = json.loads(run_cli(capsys, "doctor", "--json").out)
    assert data["nvidia"]["driver"] == "550.54.15" and len(data["nvidia"]["gpus"]) == 2
    assert data["nvidia"]["runnable_cuda"][-1] == "cu129"
    assert data["accelerator"] == "cuda" and data["system"]["platform"] == "linux-64"
    assert data["recommendation"]["profile"] == "gpu-cu128"
    assert data["recommendation"]["command"] == "envgen create gpu-cu128"
    assert data["rocm"] is None and data["tools"]["conda"] is None
    rendered = run_cli(capsys, "render", "auto", "--stdout", "-f", "requirements.txt")
    assert rendered.code == 0 and "auto -> gpu-cu128" in rendered.err
    assert "--index-url https://download.pytorch.org/whl/cu128" in rendered.out


@pytest.mark.parametrize("kind", ["failing", "hanging"])
def test_doctor_survives_a_broken_driver(
    capsys: pytest.CaptureFixture[str], project_dir: Path, fake_machine: FakeTools, kind: str
) -> None:
    if kind == "failing":
        fake_machine.nvidia_smi_failing()
    else:
        fake_machine.nvidia_smi_hanging()
    start = time.monotonic()
    result = run_cli(capsys, "doctor", "--timeout", "0.5")
    assert time.monotonic() - start < 10
    assert result.code == 0, result.err
    (line,) = [line for line in result.out.splitlines() if line.strip().startswith("nvidia ")]
    assert "unknown (nvidia-smi " in line
    assert ("exit 9" if kind == "failing" else "did not answer within 0.5 s") in line
    assert "profile: cpu" in result.out
    data = json.loads(run_cli(capsys, "doctor", "--json", "--timeout", "0.5").out)
    assert "unknown" in data["nvidia"]


def test_doctor_reports_the_machine_even_in_a_broken_project(
    capsys: pytest.CaptureFixture[str], project_dir: Path, fake_machine: FakeTools
) -> None:
    (project_dir / "pyproject.toml").write_text("[tool.envgen]\nprofiles = 3\n")
    result = run_cli(capsys, "doctor")
    assert result.code == 0
    assert "machine" in result.out
    assert "profile: none — the project's profiles cannot be read" in result.out


def _mixed_path(tmp_path: Path, python: Path, pip: Path) -> Path:
    bin_dir = tmp_path / "mixed"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(python)
    (bin_dir / "pip").symlink_to(pip)
    return bin_dir


def test_pip_of_another_python_is_diagnosed(
    tmp_path: Path, fake_tools: FakeTools, project_dir: Path, pythons: Pair
) -> None:
    """`python` is one minor but `pip` belongs to another: doctor says so plainly, with the fix."""
    py, other = pythons.python, pythons.pip
    bin_dir = _mixed_path(tmp_path, py.path, pythons.pip_of(other))
    facts = gather(Context(environ=fake_tools.environ(bin_dir), root=fake_tools.root))
    assert not isinstance(facts.path, Unknown)
    python, pip = facts.path["python"], facts.path["pip"]
    assert isinstance(python, PathPython) and python.version == py.version
    assert isinstance(pip, PathPip) and pip.python == other.minor
    assert pip.prefix == other.prefix
    (finding,) = facts.findings
    said = f"`pip` ({bin_dir / 'pip'}) installs into Python {other.minor} at {other.prefix}"
    assert said in finding.problem
    assert "`python`" in finding.problem and f"runs Python {py.version}" in finding.problem
    assert "cannot be imported by `python`" in finding.problem
    assert finding.fix.startswith("install with `python -m pip install …`")
    assert "envgen create auto" in finding.fix


def test_wrong_pip_in_the_cli_report(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    project_dir: Path,
    fake_machine: FakeTools,
    monkeypatch: pytest.MonkeyPatch,
    pythons: Pair,
) -> None:
    bin_dir = _mixed_path(tmp_path, pythons.python.path, pythons.pip_of(pythons.pip))
    monkeypatch.setenv("PATH", f"{bin_dir}:{fake_machine.bin}")
    out = run_cli(capsys, "doctor").out
    assert "Problems\n  PROBLEM: `pip`" in out
    assert "  fix: install with `python -m pip install …`" in out
    data = json.loads(run_cli(capsys, "doctor", "--json").out)
    (finding,) = data["findings"]
    assert f"installs into Python {pythons.pip.minor}" in finding["problem"]


def test_matching_pip_is_not_flagged(tmp_path: Path, fake_tools: FakeTools) -> None:
    own = find_interpreter(OWN_MINOR)
    bin_dir = _mixed_path(tmp_path, own.path, Pair(own, own).pip_of(own))
    facts = gather(Context(environ=fake_tools.environ(bin_dir), root=fake_tools.root))
    assert facts.findings == ()


def test_half_activated_venv_is_flagged(tmp_path: Path, fake_tools: FakeTools) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    own = find_interpreter(OWN_MINOR)
    bin_dir = _mixed_path(tmp_path, own.path, Pair(own, own).pip_of(own))
    environ = {**fake_tools.environ(bin_dir), "VIRTUAL_ENV": str(venv)}
    (finding,) = gather(Context(environ=environ, root=fake_tools.root)).findings
    assert finding.problem.startswith(f"VIRTUAL_ENV is {venv}, but `python` on PATH runs")
