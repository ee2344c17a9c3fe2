"""verify on real small venvs with a stand-in torch: each check passes, fails or skips, and why."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from envgen import verify_checks as vc
from envgen.project import Project
from envgen.verify import VerifyReport, verify_env
from tests.fixtures.envs import (
    OWN_MINOR,
    add_dist,
    fake_torch,
    find_python,
    make_venv,
    mark_created,
    second_minor,
    site_packages,
    write_lock,
)
from tests.helpers import run_cli, write_profile

CU118 = """
python: "3.11"
accelerator: cuda
cuda: "11.8"
pytorch: {version: "2.4.1", packages: [torch]}
platforms: [linux-64]
"""
LOCK = "envs/{}/requirements-linux-64.lock.txt"
Factory = Callable[..., Path]


@pytest.fixture(autouse=True)
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Device verdicts must not depend on whether the test machine happens to have a GPU."""
    monkeypatch.setattr(vc, "gpu_presence", lambda _: vc.GpuPresence(False, "no GPU here"))


def statuses(report: VerifyReport) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def detail(report: VerifyReport, name: str) -> str:
    (found,) = [c.detail for c in report.checks if c.name == name]
    return found


@pytest.fixture
def cu118_env(project_dir: Path, venv_factory: Factory) -> Path:
    write_profile(project_dir, "gpu", CU118)
    prefix = venv_factory()
    fake_torch(prefix, "2.4.1+cu118", cuda="11.8")
    mark_created(prefix, "gpu")
    return prefix


def test_cu118_build_passes_and_device_checks_skip_without_gpu(cu118_env: Path) -> None:
    report = verify_env(Project.open(), "gpu", prefix=cu118_env)
    assert statuses(report) == {
        "environment": "pass",
        "activation": "pass",
        "interpreter": "pass",
        "pip": "pass",
        "python version": "pass",
        "packages": "pass",
        "torch import": "pass",
        "torch version": "pass",
        "torch build": "pass",
        "device": "skip",
        "matmul": "skip",
    }
    assert report.ok
    assert "no GPU here" in detail(report, "device")
    assert detail(report, "torch build") == "CUDA 11.8 build of 2.4.1+cu118"


def test_expect_gpu_turns_the_device_skips_into_failures(cu118_env: Path) -> None:
    report = verify_env(Project.open(), "gpu", prefix=cu118_env, expect_gpu=True)
    assert statuses(report)["device"] == "fail"
    assert statuses(report)["matmul"] == "fail"
    assert "--expect-gpu" in detail(report, "device")
    assert not report.ok


def test_gpu_present_but_unusable_fails_without_expect_gpu(
    cu118_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    present = vc.GpuPresence(True, "an NVIDIA driver is loaded")
    monkeypatch.setattr(vc, "gpu_presence", lambda _: present)
    report = verify_env(Project.open(), "gpu", prefix=cu118_env)
    assert statuses(report)["device"] == "fail"
    assert "although an NVIDIA driver is loaded" in detail(report, "device")


def test_cpu_build_under_a_cu118_profile_fails_naming_the_check(
    project_dir: Path, venv_factory: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "gpu", CU118)
    prefix = venv_factory()
    fake_torch(prefix, "2.4.1+cpu")
    mark_created(prefix, "gpu")
    report = verify_env(Project.open(), "gpu", prefix=prefix)
    assert statuses(report)["torch build"] == "fail"
    assert detail(report, "torch build") == (
        "CPU build of 2.4.1+cpu, but the profile wants a CUDA 11.8 build"
    )
    # The local tag is part of the pin: 2.4.1+cpu does not satisfy ==2.4.1+cu118.
    assert statuses(report)["packages"] == "fail"
    assert statuses(report)["torch version"] == "pass"

    result = run_cli(capsys, "verify", "gpu", "--prefix", str(prefix))
    assert result.code == 1
    assert any(line.split()[:3] == ["FAIL", "torch", "build"] for line in result.out.splitlines())
    result = run_cli(capsys, "verify", "gpu", "--prefix", str(prefix), "--json")
    assert result.code == 1
    data = json.loads(result.out)
    assert data["ok"] is False
    assert {"name": "torch build", "status": "fail"}.items() <= data["checks"][8].items()
    assert data["facts"]["torch"]["cuda"] is None


@pytest.mark.parametrize("moved", ["profile", "environment"])
def test_another_python_version_fails(project_dir: Path, venv_factory: Factory, moved: str) -> None:
    """The profile and the environment disagree on the minor, whichever of them moved (the
    environment's side needs a second Python on this machine)."""
    if moved == "profile":
        minor, wanted = OWN_MINOR, "3.12" if OWN_MINOR != "3.12" else "3.10"
        write_profile(project_dir, "gpu", CU118.replace('"3.11"', f'"{wanted}"'))
        prefix = venv_factory()
    else:
        minor = second_minor(("3.12", "3.10"))
        write_profile(project_dir, "gpu", CU118)
        prefix = venv_factory(python=find_python(minor))
    fake_torch(prefix, "2.4.1+cu118", cuda="11.8")
    mark_created(prefix, "gpu")
    report = verify_env(Project.open(), "gpu", prefix=prefix)
    assert statuses(report)["python version"] == "fail"
    assert detail(report, "python version").startswith(f"Python {minor}.")
    assert statuses(report)["torch build"] == "pass"


def test_exact_python_pin_rejects_another_patch_release() -> None:
    assert vc.check_python_version("3.11.7", "3.11.7").status == "pass"
    assert vc.check_python_version("3.11.7", "3.11").status == "pass"
    assert vc.check_python_version("3.11.7", "3.11.5").status == "fail"
    assert vc.check_python_version("3.1.0", "3.11").status == "fail"


def test_package_drift_from_the_lock_fails(cu118_env: Path, project_dir: Path) -> None:
    add_dist(cu118_env, "filelock", "3.12.0")
    lock = write_lock(
        project_dir / LOCK.format("gpu"),
        {"torch": "2.4.1+cu118", "filelock": "3.13.1"},
        extra='pywin32==306 ; sys_platform == "win32" \\\n    --hash=sha256:' + "1" * 64 + "\n",
    )
    report = verify_env(Project.open(), "gpu", prefix=cu118_env)
    assert statuses(report)["packages"] == "fail"
    assert detail(report, "packages") == (
        "filelock is 3.12.0 (envs/gpu/requirements-linux-64.lock.txt: ==3.13.1)"
    )

    write_lock(lock, {"torch": "2.4.1+cu118", "filelock": "3.12.0"})
    report = verify_env(Project.open(), "gpu", prefix=cu118_env)
    assert statuses(report)["packages"] == "pass"
    assert detail(report, "packages").startswith("2 of 2 as in envs/gpu/")


def test_without_a_lock_the_rendered_pins_apply_with_their_markers(
    project_dir: Path, venv_factory: Factory
) -> None:
    # Default CPU platforms: linux/windows pins carry +cpu, the macOS pin does not (markers).
    write_profile(
        project_dir, "cpu", 'python: "3.11"\npytorch: {version: "2.4.1", packages: [torch]}\n'
    )
    prefix = venv_factory()
    fake_torch(prefix, "2.4.1+cpu")
    mark_created(prefix, "cpu")
    report = verify_env(Project.open(), "cpu", prefix=prefix)
    assert detail(report, "packages") == "1 of 1 as in the profile's pins"
    assert statuses(report)["torch build"] == "pass"
    # No real tensors in the stand-in torch: the CPU product is attempted, and fails.
    assert statuses(report)["matmul"] == "fail"


def test_a_missing_package_is_named(project_dir: Path, venv_factory: Factory) -> None:
    write_profile(project_dir, "gpu", CU118 + "pip: [numpy>=1.26]\n")
    prefix = venv_factory()
    fake_torch(prefix, "2.4.1+cu118", cuda="11.8")
    mark_created(prefix, "gpu")
    report = verify_env(Project.open(), "gpu", prefix=prefix)
    assert detail(report, "packages") == "numpy missing (wants >=1.26)"


def test_marker_missing_or_from_another_profile(cu118_env: Path) -> None:
    (cu118_env / "envgen-env.json").unlink()
    report = verify_env(Project.open(), "gpu", prefix=cu118_env)
    assert statuses(report)["environment"] == "fail"
    assert "create did not finish" in detail(report, "environment")
    mark_created(cu118_env, "cpu")
    report = verify_env(Project.open(), "gpu", prefix=cu118_env)
    assert detail(report, "environment") == "built for profile 'cpu'"


def test_python_audits_an_interpreter_envgen_did_not_create(cu118_env: Path) -> None:
    (cu118_env / "envgen-env.json").unlink()
    report = verify_env(Project.open(), "gpu", python=cu118_env / "bin" / "python")
    assert "environment" not in statuses(report)
    assert report.ok
    assert report.prefix == cu118_env


def test_no_environment_is_a_usage_error(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_profile(project_dir, "gpu", CU118)
    result = run_cli(capsys, "verify", "gpu")
    assert result.code == 2
    assert "no environment at" in result.err and "envgen create gpu" in result.err
    result = run_cli(capsys, "verify", "gpu", "--python", str(project_dir / "nope"))
    assert result.code == 2


def test_a_torch_that_fails_to_import_is_reported(project_dir: Path, venv_factory: Factory) -> None:
    write_profile(project_dir, "gpu", CU118)
    prefix = venv_factory()
    fake_torch(
        prefix,
        "2.4.1+cu118",
        cuda="11.8",
        init_extra="raise ImportError('libcudart.so.11.0: cannot open shared object file')",
    )
    mark_created(prefix, "gpu")
    report = verify_env(Project.open(), "gpu", prefix=prefix)
    assert statuses(report)["torch import"] == "fail"
    assert "libcudart.so.11.0" in detail(report, "torch import")
    assert statuses(report)["torch build"] == "skip"
    assert statuses(report)["interpreter"] == "pass"


def test_a_probe_that_dies_in_torch_keeps_the_interpreter_checks(
    project_dir: Path, venv_factory: Factory
) -> None:
    write_profile(project_dir, "gpu", CU118)
    prefix = venv_factory()
    init = "import sys; sys.stderr.write('Illegal instruction\\n'); import os; os._exit(132)"
    fake_torch(prefix, "2.4.1+cu118", cuda="11.8", init_extra=init)
    mark_created(prefix, "gpu")
    report = verify_env(Project.open(), "gpu", prefix=prefix)
    assert statuses(report)["python version"] == "pass"
    assert detail(report, "torch import") == (
        "the probe died importing torch: exit status 132: Illegal instruction"
    )


@pytest.mark.parametrize("how", ["floods", "hangs"])
def test_a_probe_that_floods_or_hangs_in_torch_is_stopped_and_keeps_what_it_said(
    project_dir: Path, venv_factory: Factory, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """What the environment prints is read up to a bound (here 1 MiB) and for a time (here
    3 s); the probe is stopped there, and the stages it finished before still count."""
    from envgen import verify

    monkeypatch.setattr(verify, "PROBE_OUTPUT_LIMIT", 1 << 20)
    write_profile(project_dir, "gpu", CU118)
    prefix = venv_factory()
    init = {
        "floods": "import sys; [sys.stdout.write('x' * 65536) for _ in iter(int, 1)]",
        "hangs": "import time; time.sleep(600)",
    }[how]
    fake_torch(prefix, "2.4.1+cu118", cuda="11.8", init_extra=init)
    mark_created(prefix, "gpu")
    report = verify_env(Project.open(), "gpu", prefix=prefix, timeout=3)
    assert statuses(report)["python version"] == "pass"
    stopped = {"floods": "stopped: it printed more than 1 MiB", "hangs": "timed out"}[how]
    assert detail(report, "torch import") == f"the probe died importing torch: {stopped}"


def test_torch_from_outside_the_environment_fails(
    cu118_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_venv(tmp_path / "other")
    fake_torch(other, "2.4.1+cu118", cuda="11.8")
    for path in (site_packages(cu118_env) / "torch").rglob("*"):
        if path.is_file():
            path.unlink()
    monkeypatch.setenv("PYTHONPATH", str(site_packages(other)))
    report = verify_env(Project.open(), "gpu", prefix=cu118_env)
    assert statuses(report)["torch import"] == "fail"
    assert "outside the environment" in detail(report, "torch import")


def test_a_torch_folder_in_the_working_directory_does_not_shadow(
    cu118_env: Path, project_dir: Path
) -> None:
    (project_dir / "torch").mkdir()
    (project_dir / "torch" / "__init__.py").write_text("raise ImportError('source checkout')\n")
    report = verify_env(Project.open(), "gpu", prefix=cu118_env)
    assert statuses(report)["torch import"] == "pass"


def test_pip_missing_or_belonging_to_another_python(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile(project_dir, "gpu", CU118)
    prefix = make_venv(tmp_path / "nopip")
    fake_torch(prefix, "2.4.1+cu118", cuda="11.8")
    mark_created(prefix, "gpu")
    elsewhere = tmp_path / "system-bin"
    elsewhere.mkdir()
    (elsewhere / "pip").write_text("#!/bin/sh\n")
    (elsewhere / "pip").chmod(0o755)
    monkeypatch.setenv("PATH", f"{elsewhere}{os.pathsep}{os.environ['PATH']}")
    report = verify_env(Project.open(), "gpu", prefix=prefix)
    assert statuses(report)["pip"] == "fail"
    assert detail(report, "pip") == (
        f"pip is not installed here ('python -m pip' fails); a bare 'pip' runs {elsewhere}/pip"
    )


@pytest.mark.slow
def test_real_pip_in_a_real_venv_belongs_to_it(project_dir: Path, tmp_path: Path) -> None:
    write_profile(project_dir, "gpu", CU118)
    prefix = make_venv(tmp_path / "withpip", pip=True)
    fake_torch(prefix, "2.4.1+cu118", cuda="11.8")
    mark_created(prefix, "gpu")
    report = verify_env(Project.open(), "gpu", prefix=prefix)
    assert statuses(report)["pip"] == "pass"
    assert str(prefix) in detail(report, "pip")


def test_profile_variables_are_set_in_a_venv(project_dir: Path, venv_factory: Factory) -> None:
    write_profile(project_dir, "gpu", CU118 + "variables: {CUDA_MODULE_LOADING: LAZY}\n")
    prefix = venv_factory()
    fake_torch(prefix, "2.4.1+cu118", cuda="11.8")
    mark_created(prefix, "gpu")
    report = verify_env(Project.open(), "gpu", prefix=prefix)
    assert detail(report, "variables") == "CUDA_MODULE_LOADING=LAZY"


def test_the_probe_runs_on_python_38(project_dir: Path, venv_factory: Factory) -> None:
    """The probe is sent as source to whatever Python an environment has: 3.8 must parse it."""
    write_profile(project_dir, "gpu", CU118)
    prefix = venv_factory(python=find_python("3.8"))
    fake_torch(prefix, "2.4.1+cu118", cuda="11.8")
    mark_created(prefix, "gpu")
    report = verify_env(Project.open(), "gpu", prefix=prefix)
    assert statuses(report)["python version"] == "fail"
    assert statuses(report)["torch build"] == "pass"


def test_verify_exits_zero_when_nothing_failed(
    cu118_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "verify", "gpu", "--prefix", str(cu118_env))
    assert result.code == 0, result.out
    assert result.out.splitlines()[-1] == "9 passed, 0 failed, 2 skipped"


def test_sys_executable_is_not_needed_in_the_env(cu118_env: Path) -> None:
    """verify runs the environment's interpreter, not envgen's own."""
    report = verify_env(Project.open(), "gpu", prefix=cu118_env)
    assert report.facts["interpreter"]["executable"] != sys.executable


def test_auditing_a_base_interpreter_without_torch(project_dir: Path) -> None:
    """--python on a plain installation (no venv, no conda): PATH-only activation."""
    wanted = "3.12" if OWN_MINOR != "3.12" else "3.10"
    write_profile(project_dir, "gpu", CU118.replace('"3.11"', f'"{wanted}"'))
    report = verify_env(Project.open(), "gpu", python=find_python(OWN_MINOR))
    checks = statuses(report)
    assert report.activation == "plain: PATH"
    assert checks["interpreter"] == "pass"
    assert checks["python version"] == "fail"
    assert checks["packages"] == "fail"
    assert detail(report, "torch import") == "ModuleNotFoundError: No module named 'torch'"
