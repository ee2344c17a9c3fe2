"""doctor: probes that never crash, recommendations that follow the driver and the GPUs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from envgen.doctor.probes import Context, Nvidia, Unknown, nvidia, rocm
from envgen.doctor.recommend import arch_problem, recommend, runnable_cuda
from envgen.doctor.report import gather, to_json, to_text
from envgen.project import Project
from tests.fixtures.gpu_tools import A100, B200, H100, K80, RTX4090, RTX5090, V100, FakeTools
from tests.helpers import run_cli, write_profile


def ctx_for(tools: FakeTools, timeout: float = 5.0) -> Context:
    return Context(environ=tools.environ(), root=tools.root, timeout=timeout)


def advise(project_dir: Path, tools: FakeTools) -> tuple[str | None, str, tuple[str, ...]]:
    facts = gather(ctx_for(tools))
    rec = recommend(Project.open(project_dir), facts, platform="linux-64")
    return rec.profile, rec.reason, rec.notes


def test_nvidia_smi_query_is_parsed(fake_tools: FakeTools) -> None:
    fake_tools.nvidia_smi("535.104.05", A100, H100)
    found = nvidia(ctx_for(fake_tools))
    assert isinstance(found, Nvidia) and found.driver == "535.104.05"
    assert [(g.name, g.compute_capability, g.memory_mib) for g in found.gpus] == [A100, H100]


def test_proc_file_is_the_fallback(fake_tools: FakeTools) -> None:
    fake_tools.proc_version("470.223.02")
    found = nvidia(ctx_for(fake_tools))
    assert isinstance(found, Nvidia)
    assert (found.driver, found.source) == ("470.223.02", "/proc/driver/nvidia/version")


def test_failing_nvidia_smi_degrades_to_unknown(fake_tools: FakeTools) -> None:
    fake_tools.nvidia_smi_failing()
    found = nvidia(ctx_for(fake_tools))
    assert isinstance(found, Unknown)
    assert "exit 9" in found.reason and "couldn't communicate" in found.reason


def test_hanging_nvidia_smi_times_out(fake_tools: FakeTools, capsys, project_dir: Path) -> None:
    fake_tools.nvidia_smi_hanging()
    start = time.monotonic()
    found = nvidia(ctx_for(fake_tools, timeout=0.5))
    assert time.monotonic() - start < 5
    assert isinstance(found, Unknown) and "did not answer within 0.5 s" in found.reason
    facts = gather(ctx_for(fake_tools, timeout=0.5))
    rec = recommend(Project.open(project_dir), facts, platform="linux-64")
    assert rec.profile == "cpu"
    assert any("unreadable" in note for note in rec.notes)
    assert "nvidia" in to_text(facts, rec)


def test_no_gpu_means_cpu(fake_tools: FakeTools, project_dir: Path) -> None:
    profile, reason, _ = advise(project_dir, fake_tools)
    assert profile == "cpu" and "no supported GPU" in reason


@pytest.mark.parametrize(
    ("driver", "gpu", "expected", "newest"),
    [
        ("470.223.02", A100, "gpu-cu118", "cu118"),  # no CUDA 12 build for a 470 driver
        ("525.60.13", A100, "gpu-cu128", "cu129"),  # any 12.x, via minor-version compatibility
        ("535.104.05", RTX4090, "gpu-cu128", "cu129"),
        ("580.65.06", H100, "gpu-cu132", "cu132"),  # 13.x needs 580
        ("580.65.06", B200, "gpu-cu132", "cu132"),
        ("570.86.10", RTX5090, "gpu-cu128", "cu129"),  # Blackwell: not cu126
    ],
)
def test_recommendation_follows_the_driver(
    fake_tools: FakeTools,
    project_dir: Path,
    driver: str,
    gpu: tuple[str, str, int],
    expected: str,
    newest: str,
) -> None:
    fake_tools.nvidia_smi(driver, gpu)
    assert runnable_cuda(driver)[-1].name == newest
    profile, reason, notes = advise(project_dir, fake_tools)
    assert profile == expected, (reason, notes)
    assert "newest CUDA build your driver and GPUs can run" in reason
    if driver.startswith("525"):
        assert any("minor-version compatibility" in n for n in notes)


def test_gpu_architecture_limits() -> None:
    from envgen.doctor.probes import Gpu

    blackwell = Gpu(*RTX5090)
    assert "too new for cu126" in (arch_problem("cu126", blackwell) or "")
    assert arch_problem("cu128", blackwell) is None
    volta = Gpu(*V100)
    assert "too old for cu128" in (arch_problem("cu128", volta) or "")
    assert "cu126 still cover it" in (arch_problem("cu130", volta) or "")
    assert arch_problem("cu118", Gpu(*K80)) is None  # no published arch list: not judged


def test_volta_is_steered_away_from_new_builds(fake_tools: FakeTools, project_dir: Path) -> None:
    fake_tools.nvidia_smi("580.65.06", V100)
    profile, _, notes = advise(project_dir, fake_tools)
    assert profile == "gpu-cu126"
    assert any("too old for cu132" in n for n in notes)


def test_project_profiles_win_over_builtins(fake_tools: FakeTools, project_dir: Path) -> None:
    write_profile(project_dir, "train", 'python: "3.11"\naccelerator: cuda\ncuda: "11.8"\n')
    fake_tools.nvidia_smi("535.104.05", A100)
    profile, reason, _ = advise(project_dir, fake_tools)
    assert profile == "train" and "project profile" in reason


def test_rocm_machine(fake_tools: FakeTools, project_dir: Path) -> None:
    fake_tools.rocminfo("gfx90a", "gfx90a")
    found = rocm(ctx_for(fake_tools))
    assert found is not None and not isinstance(found, Unknown)
    assert (found.version, found.gfx) == ("6.2.4", ("gfx90a",))
    profile, _, _ = advise(project_dir, fake_tools)
    assert profile == "rocm"


def test_doctor_cli_text_and_json(
    capsys, project_dir: Path, fake_tools: FakeTools, monkeypatch
) -> None:
    fake_tools.nvidia_smi("550.54.15", A100, A100)
    monkeypatch.setenv("PATH", f"{fake_tools.bin}{os.pathsep}{os.environ['PATH']}")
    text = run_cli(capsys, "doctor")
    assert text.code == 0, text.err
    assert "550.54.15 (from nvidia-smi)" in text.out
    assert "recommended profile: gpu-cu128" in text.out
    assert "next: envgen create gpu-cu128" in text.out
    result = run_cli(capsys, "doctor", "--json")
    data = json.loads(result.out)
    assert data["nvidia"]["driver"] == "550.54.15" and len(data["nvidia"]["gpus"]) == 2
    assert data["recommendation"]["profile"] == "gpu-cu128"
    assert any(i["version"] for i in data["interpreters"])
    rendered = run_cli(capsys, "render", "auto", "--stdout", "-f", "requirements.txt")
    assert rendered.code == 0 and "auto -> gpu-cu128" in rendered.err
    assert "--index-url https://download.pytorch.org/whl/cu128" in rendered.out


def test_json_report_is_serialisable_without_tools(
    fake_tools: FakeTools, project_dir: Path
) -> None:
    facts = gather(ctx_for(fake_tools))
    rec = recommend(Project.open(project_dir), facts, platform="linux-64")
    json.dumps(to_json(facts, rec))


PY310 = Path("/root/.pyenv/versions/3.10.13/bin/python3.10")
PIP312 = Path("/root/.pyenv/versions/3.12.1/bin/pip3.12")


@pytest.mark.skipif(
    not (PY310.exists() and PIP312.exists()), reason="needs pyenv's Python 3.10 and 3.12"
)
def test_pip_of_another_python_is_diagnosed(tmp_path: Path, capsys, project_dir: Path) -> None:
    """`python` is 3.10 but `pip` belongs to 3.12: doctor says so plainly and gives the fix."""
    bin_dir = tmp_path / "mixed"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(PY310)
    (bin_dir / "pip").symlink_to(PIP312)
    ctx = Context(environ={**os.environ, "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin"})
    facts = gather(ctx)
    owners = facts["path"]
    assert owners["python"].python_version.startswith("3.10")
    assert owners["pip"].python_version == "3.12"
    (finding,) = facts["findings"]
    assert "installs into Python 3.12" in finding and "runs Python 3.10" in finding
    assert "Use `python -m pip install …`" in finding
    rec = recommend(Project.open(project_dir), facts, platform="linux-64")
    assert "PROBLEM: `pip`" in to_text(facts, rec)


def test_matching_pip_is_not_flagged(tmp_path: Path) -> None:
    bin_dir = tmp_path / "same"
    bin_dir.mkdir()
    if not PY310.exists():
        pytest.skip("needs pyenv's Python 3.10")
    (bin_dir / "python").symlink_to(PY310)
    (bin_dir / "pip").symlink_to(PY310.parent / "pip3.10")
    ctx = Context(environ={**os.environ, "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin"})
    assert gather(ctx)["findings"] == []
