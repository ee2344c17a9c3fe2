"""doctor's recommendations follow the driver (minimum drivers, minor-version compatibility) and
the GPUs (architectures in each build), prefer the project's own profiles, and fall back to CPU."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from envgen.doctor.compat import arch_problem, rocm_problem, runnable_cuda
from envgen.doctor.context import Context, Unknown
from envgen.doctor.facts import Facts, gather
from envgen.doctor.probes import AmdGpu, Gpu, SystemInfo
from envgen.doctor.recommend import Recommendation, recommend, recommend_profile
from envgen.drivers import driver_facts
from envgen.errors import EnvgenError
from envgen.project import Project
from envgen.targets import Variant
from tests.fixtures.gpu_tools import (
    A100,
    B200,
    H100,
    P100,
    RTX4090,
    RTX5090,
    T4,
    V100,
    FakeTools,
    Spec,
)
from tests.helpers import write_profile

LINUX = SystemInfo("linux", "x86_64", "glibc 2.36", None, False, False)


def facts_for(tools: FakeTools) -> Facts:
    return gather(Context(environ=tools.environ(), root=tools.root, timeout=5), full=False)


def advise(project_dir: Path, tools: FakeTools) -> Recommendation:
    return recommend(Project.open(project_dir), facts_for(tools))


def bare(system: SystemInfo = LINUX) -> Facts:
    nothing = Unknown("not probed")
    return Facts(system, None, None, None, nothing, nothing, nothing, ())


@pytest.mark.parametrize(
    ("driver", "gpu", "expected", "newest"),
    [
        ("470.223.02", A100, "gpu-cu118", "cu118"),  # no CUDA 12 build for a 470 driver
        ("525.60.13", A100, "gpu-cu128", "cu129"),  # 12.x beyond 12.0 via minor-version compat
        ("535.104.05", RTX4090, "gpu-cu128", "cu129"),
        ("550.54.15", T4, "gpu-cu128", "cu129"),
        ("570.86.10", RTX5090, "gpu-cu128", "cu129"),  # Blackwell: cu128; 13.x needs 580
        ("580.65.06", H100, "gpu-cu132", "cu132"),  # 580 runs CUDA 13
        ("580.65.06", B200, "gpu-cu132", "cu132"),
    ],
)
def test_recommendation_follows_the_driver(
    fake_tools: FakeTools, project_dir: Path, driver: str, gpu: Spec, expected: str, newest: str
) -> None:
    fake_tools.nvidia_smi(driver, gpu)
    assert runnable_cuda(driver)[-1].name == newest
    rec = advise(project_dir, fake_tools)
    assert rec.profile == expected, (rec.reason, rec.notes)
    assert rec.reason.startswith("the newest CUDA build your driver and GPUs can run")
    assert rec.commands == (f"envgen create {expected}", f"envgen verify {expected}")


def test_driver_470_gets_no_cuda_12(fake_tools: FakeTools, project_dir: Path) -> None:
    fake_tools.nvidia_smi("470.223.02", A100)
    assert all(v.sort_key < (12,) for v in runnable_cuda("470.223.02"))
    rec = advise(project_dir, fake_tools)
    assert any(
        n.startswith("a driver 525.60.13 or newer would also run") and "gpu-cu121" in n
        for n in rec.notes
    )
    assert any("speaks CUDA 11.4; cu118 (CUDA 11.8) runs on it" in n for n in rec.notes)
    assert any("a driver 580 or newer would also run gpu-cu130, gpu-cu132" in n for n in rec.notes)
    # R470 cannot report compute capabilities: said, not guessed
    assert any("compute capability unknown" in n for n in rec.notes)


def test_driver_525_runs_12x_through_minor_version_compatibility(
    fake_tools: FakeTools, project_dir: Path
) -> None:
    fake_tools.nvidia_smi("525.60.13", A100)
    assert "cu120" in {v.name for v in runnable_cuda("525.60.13")}
    assert "cu130" not in {v.name for v in runnable_cuda("525.60.13")}
    rec = advise(project_dir, fake_tools)
    (note,) = [n for n in rec.notes if "minor-version compatibility:" in n]
    assert "driver 525.60.13 speaks CUDA 12.0; cu128 (CUDA 12.8) runs on it" in note
    assert "PTX newer than CUDA 12.0 cannot be JIT-compiled" in note


def test_driver_580_runs_13_0(fake_tools: FakeTools, project_dir: Path) -> None:
    fake_tools.nvidia_smi("580.65.06", H100)
    assert {"cu130", "cu132"} <= {v.name for v in runnable_cuda("580.65.06")}
    rec = advise(project_dir, fake_tools)
    assert "CUDA 13.2 build" in rec.reason
    assert any("speaks CUDA 13.0; cu132 (CUDA 13.2) runs on it" in n for n in rec.notes)
    write_profile(project_dir, "train", 'python: "3.12"\naccelerator: cuda\ncuda: "13.0"\n')
    rec = advise(project_dir, fake_tools)
    assert rec.profile == "train" and "CUDA 13.0 build" in rec.reason
    assert not any("minor-version compatibility:" in n for n in rec.notes)  # native 13.0


def test_windows_minimum_drivers(fake_tools: FakeTools) -> None:
    assert runnable_cuda("527.41", "windows")[-1].name == "cu118"
    assert runnable_cuda("528.33", "windows")[-1].name == "cu129"


def test_no_gpu_means_cpu(fake_tools: FakeTools, project_dir: Path) -> None:
    rec = advise(project_dir, fake_tools)
    assert rec.profile == "cpu" and rec.reason.startswith("no supported GPU found")
    assert rec.origin == "builtin" and rec.command == "envgen create cpu"


@pytest.mark.parametrize("kind", ["failing", "hanging"])
def test_unreadable_driver_falls_back_to_cpu_and_says_why(
    fake_tools: FakeTools, project_dir: Path, kind: str
) -> None:
    if kind == "failing":
        fake_tools.nvidia_smi_failing()
    else:
        fake_tools.nvidia_smi_hanging()
    facts = gather(Context(environ=fake_tools.environ(), root=fake_tools.root, timeout=0.4))
    rec = recommend(Project.open(project_dir), facts)
    assert rec.profile == "cpu"
    (note,) = [n for n in rec.notes if n.startswith("an NVIDIA driver seems present")]
    assert ("couldn't communicate" if kind == "failing" else "did not answer within 0.4 s") in note


def test_gpu_architectures_per_build() -> None:
    cu126, cu128, cu130, cu124 = map(Variant.parse, ("cu126", "cu128", "cu130", "cu124"))
    blackwell, volta, pascal = Gpu(*RTX5090), Gpu(*V100), Gpu(*P100)
    # Blackwell needs cu128+: the builds' lists say so for 2.11+, CUDA 12.8 for every release
    assert "too new" in (arch_problem(cu126, "2.11.0", blackwell) or "")
    assert "needs a CUDA 12.8 or newer build (cu128+)" in (
        arch_problem(cu124, "2.5.1", blackwell) or ""
    )
    assert arch_problem(cu128, "2.11.0", blackwell) is None
    # Volta left the 12.8+ builds in 2.11, not before; CUDA 13 cannot compile for it at all
    assert "cu126 builds still cover it" in (arch_problem(cu128, "2.11.0", volta) or "")
    assert arch_problem(cu128, "2.7.1", volta) is None
    assert "CUDA 13 compiles for 7.5 and newer" in (arch_problem(cu130, "2.12.0", volta) or "")
    # Maxwell/Pascal: only cu126 among the 2.11+ builds
    assert arch_problem(cu126, "2.14.1", pascal) is None
    assert "too old" in (arch_problem(cu128, "2.11.0", pascal) or "")
    # Ada runs Ampere SASS (8.6 -> 8.9); unknown compute capability is not judged
    assert arch_problem(cu126, "2.14.1", Gpu(*RTX4090)) is None
    assert arch_problem(cu126, "2.14.1", Gpu("NVIDIA ?", None, None)) is None
    # aarch64's cu126 wheels carry only 8.0 and 9.0
    assert "not in torch 2.13.0's cu126" in (
        arch_problem(cu126, "2.13.0", Gpu(*T4), "linux-aarch64") or ""
    )


def test_volta_is_steered_to_cu126(fake_tools: FakeTools, project_dir: Path) -> None:
    fake_tools.nvidia_smi("580.65.06", V100)
    rec = advise(project_dir, fake_tools)
    assert rec.profile == "gpu-cu126"
    assert any(n.startswith("gpu-cu132: Tesla V100") and "too old" in n for n in rec.notes)


def test_mixed_gpus_need_a_build_covering_all(fake_tools: FakeTools, project_dir: Path) -> None:
    fake_tools.nvidia_smi("580.65.06", V100, RTX5090)  # nothing covers both: fall back to CPU
    rec = advise(project_dir, fake_tools)
    assert rec.profile == "cpu"
    assert "no cuda profile fits this machine; falling back to CPU" in rec.notes


def test_blackwell_with_an_old_project_build_is_flagged(
    fake_tools: FakeTools, project_dir: Path
) -> None:
    write_profile(project_dir, "legacy", 'python: "3.11"\naccelerator: cuda\ncuda: "12.6"\n')
    write_profile(
        project_dir, "old", 'python: "3.11"\naccelerator: cuda\ncuda: "12.4"\npytorch: "2.5.1"\n'
    )
    fake_tools.nvidia_smi("570.86.10", RTX5090)
    rec = advise(project_dir, fake_tools)
    assert rec.profile == "gpu-cu128" and rec.origin == "builtin"
    assert any(n.startswith("legacy: NVIDIA GeForce RTX 5090") for n in rec.notes)
    assert any(n.startswith("old: ") and "needs a CUDA 12.8 or newer" in n for n in rec.notes)


def test_project_profiles_win_over_builtins(fake_tools: FakeTools, project_dir: Path) -> None:
    write_profile(project_dir, "train", 'python: "3.11"\naccelerator: cuda\ncuda: "11.8"\n')
    write_profile(project_dir, "broken", "accelerator: cuda\ncuda: '99.9'\n")
    fake_tools.nvidia_smi("535.104.05", A100)
    rec = advise(project_dir, fake_tools)
    assert rec.profile == "train" and rec.reason.endswith("(project profile)")
    assert any(n.startswith("project profile 'broken' skipped") for n in rec.notes)


def test_rocm_machine(fake_tools: FakeTools, project_dir: Path) -> None:
    fake_tools.rocminfo(("AMD Instinct MI210", "gfx90a"))
    rec = advise(project_dir, fake_tools)
    assert rec.profile == "rocm"


def test_amd_gpu_outside_every_rocm_build_falls_back(
    fake_tools: FakeTools, project_dir: Path
) -> None:
    assert rocm_problem(Variant.parse("rocm7.2"), AmdGpu("AMD Radeon RX 5700 XT", "gfx1010"))
    write_profile(project_dir, "rocm", 'python: "3.11"\naccelerator: rocm\nrocm: "6.2.4"\n')
    fake_tools.rocminfo(("AMD Radeon RX 5700 XT", "gfx1010"))
    rec = advise(project_dir, fake_tools)
    assert rec.profile == "cpu"
    assert any("gfx1010) is not among rocm6.2.4's GPU targets" in n for n in rec.notes)


def test_intel_gpu(fake_tools: FakeTools, project_dir: Path) -> None:
    fake_tools.xpu_smi("Intel(R) Arc(TM) A770 Graphics")
    assert advise(project_dir, fake_tools).profile == "xpu"


def test_apple_silicon(project_dir: Path) -> None:
    project = Project.open(project_dir)
    sonoma = SystemInfo("macos", "arm64", None, "14.5", True, False)
    assert recommend(project, bare(sonoma)).profile == "mps"
    ventura = replace(sonoma, macos="13.6")
    rec = recommend(project, bare(ventura))
    assert rec.profile == "cpu"
    assert any("macOS 13.6 is older than 14.0" in n for n in rec.notes)
    rosetta = SystemInfo("macos", "x86_64", None, "14.5", True, True)
    rec = recommend(project, bare(rosetta))
    assert rec.profile == "mps" and any("under Rosetta" in n for n in rec.notes)


def test_recommend_profile_refuses_when_nothing_fits(project_dir: Path) -> None:
    project = Project.open(project_dir)
    assert recommend_profile(project, bare()) == "cpu"
    riscv = SystemInfo("linux", "riscv64", "glibc 2.39", None, False, False)
    with pytest.raises(EnvgenError, match=r"'auto' found no profile .*linux-riscv64"):
        recommend_profile(project, bare(riscv))


def test_missing_python_for_the_profile_is_said(project_dir: Path) -> None:
    from envgen.interpreters import Interpreter

    only_39 = Interpreter(Path("/x/python3"), "/x/python3", "3.9.18", "PATH", "/x", "/x")
    facts = replace(bare(), interpreters=(only_39,))
    rec = recommend(Project.open(project_dir), facts)
    assert any("cpu wants Python 3.11, which is not on this machine" in n for n in rec.notes)


def test_driver_data_matches_the_catalog(project_dir: Path) -> None:
    """Every CUDA variant the catalog can install has a minimum driver; the arch lists name real
    variants. A new catalog variant without driver data fails here, not on a user's machine."""
    facts = driver_facts()
    catalog = Project.open(project_dir).catalog
    variants = {v for r in catalog.releases for v in r.variants if v.startswith("cu")}
    for os_name in ("linux", "windows"):
        assert variants <= set(facts.min_driver[os_name]), os_name
    assert {b.variant for b in facts.builds} <= variants
