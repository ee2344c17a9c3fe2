"""doctor's probes: they read what real tools print, and degrade to "unknown" with the reason
(a hung or failing nvidia-smi, a missing /proc file, a crashing probe), never crash or hang."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from envgen.doctor import facts as facts_module
from envgen.doctor.context import Context, Unknown
from envgen.doctor.facts import gather
from envgen.doctor.probes import Nvidia, Rocm, Tool, Xpu, active_env, nvidia, rocm, tools, xpu
from envgen.envmeta import EnvMarker, write_marker
from tests.fixtures.gpu_tools import A100, H100, RTX5090, V100, FakeTools


def ctx_for(tools: FakeTools, timeout: float = 5.0) -> Context:
    return Context(environ=tools.environ(), root=tools.root, timeout=timeout)


def test_nvidia_smi_query_and_header_are_parsed(fake_tools: FakeTools) -> None:
    fake_tools.nvidia_smi("535.104.05", A100, H100)
    found = nvidia(ctx_for(fake_tools))
    assert isinstance(found, Nvidia)
    assert (found.driver, found.cuda, found.source) == ("535.104.05", "12.2", "nvidia-smi")
    assert [(g.name, g.compute_capability, g.memory_mib) for g in found.gpus] == [A100, H100]


def test_old_driver_without_compute_cap_field_is_asked_again(fake_tools: FakeTools) -> None:
    """R470 rejects `compute_cap` (exit 2): doctor asks without it instead of giving up."""
    fake_tools.nvidia_smi("470.223.02", V100)
    found = nvidia(ctx_for(fake_tools))
    assert isinstance(found, Nvidia) and found.driver == "470.223.02"
    assert [(g.name, g.compute_capability, g.memory_mib) for g in found.gpus] == [
        (V100[0], None, V100[2])
    ]


def test_proc_files_are_the_fallback(fake_tools: FakeTools) -> None:
    fake_tools.proc_version("470.223.02", A100, A100)
    found = nvidia(ctx_for(fake_tools))
    assert isinstance(found, Nvidia)
    assert (found.driver, found.source) == ("470.223.02", "/proc/driver/nvidia/version")
    assert [g.name for g in found.gpus] == [A100[0], A100[0]]
    assert found.problem == "nvidia-smi not on PATH"


def test_no_driver_at_all_is_not_found(fake_tools: FakeTools) -> None:
    assert nvidia(ctx_for(fake_tools)) is None


def test_failing_nvidia_smi_degrades_to_unknown(fake_tools: FakeTools) -> None:
    fake_tools.nvidia_smi_failing()
    found = nvidia(ctx_for(fake_tools))
    assert isinstance(found, Unknown)
    assert "exit 9" in found.reason and "couldn't communicate" in found.reason


def test_failing_nvidia_smi_with_proc_file_keeps_both(fake_tools: FakeTools) -> None:
    fake_tools.nvidia_smi_failing()
    fake_tools.proc_version("550.54.15")
    found = nvidia(ctx_for(fake_tools))
    assert isinstance(found, Nvidia) and found.driver == "550.54.15"
    assert found.problem is not None and "couldn't communicate" in found.problem


def test_hanging_nvidia_smi_is_killed_with_its_children(
    fake_tools: FakeTools, tmp_path: Path
) -> None:
    pidfile = tmp_path / "child.pid"
    fake_tools.nvidia_smi_hanging(pidfile)
    start = time.monotonic()
    found = nvidia(ctx_for(fake_tools, timeout=0.5))
    assert time.monotonic() - start < 4
    assert isinstance(found, Unknown)
    assert found.reason == "nvidia-smi did not answer within 0.5 s"
    child = int(pidfile.read_text())
    status = Path(f"/proc/{child}/status")
    deadline = time.monotonic() + 3
    while status.exists() and "zombie" not in status.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not status.exists() or "zombie" in status.read_text(), "sleep child left running"


def test_a_crashing_probe_is_reported_not_raised(
    fake_tools: FakeTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Context) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(facts_module, "rocm", broken)
    found = gather(ctx_for(fake_tools))
    assert found.rocm == Unknown("the rocm probe failed: RuntimeError: boom")
    assert found.nvidia is None  # the others still ran


def test_rocminfo_gpu_agents(fake_tools: FakeTools) -> None:
    fake_tools.rocminfo(("AMD Instinct MI210", "gfx90a"), ("AMD Instinct MI210", "gfx90a"))
    found = rocm(ctx_for(fake_tools))
    assert isinstance(found, Rocm)
    assert (found.version, found.source) == ("6.2.4", "rocminfo")
    assert [(g.name, g.gfx) for g in found.gpus] == [("AMD Instinct MI210", "gfx90a")] * 2


def test_amd_smi_when_rocminfo_is_missing(fake_tools: FakeTools) -> None:
    fake_tools.amd_smi(("AMD Instinct MI300X", "gfx942"))
    found = rocm(ctx_for(fake_tools))
    assert isinstance(found, Rocm) and found.source == "amd-smi"
    assert [(g.name, g.gfx) for g in found.gpus] == [("AMD Instinct MI300X", "gfx942")]


def test_rocm_install_without_tools(fake_tools: FakeTools) -> None:
    version = fake_tools.root / "opt" / "rocm" / ".info" / "version"
    version.parent.mkdir(parents=True)
    version.write_text("6.3.1-48\n")
    found = rocm(ctx_for(fake_tools))
    assert isinstance(found, Rocm) and (found.version, found.gpus) == ("6.3.1", ())
    assert rocm(Context(environ=fake_tools.environ(), root=fake_tools.home)) is None


def test_intel_xpu(fake_tools: FakeTools) -> None:
    assert xpu(ctx_for(fake_tools)) is None
    fake_tools.xpu_smi("Intel(R) Data Center GPU Max 1550")
    found = xpu(ctx_for(fake_tools))
    assert isinstance(found, Xpu) and found.devices == ("Intel(R) Data Center GPU Max 1550",)


def test_tools_and_versions(fake_tools: FakeTools) -> None:
    fake_tools.version_tool("conda", "conda 24.7.1")
    fake_tools.version_tool("mamba", "mamba 1.5.8\nconda 24.3.0")
    fake_tools.script("micromamba", "echo 'segfault' >&2\nexit 139\n")
    found = tools(ctx_for(fake_tools))
    assert found["conda"] == Tool(str(fake_tools.bin / "conda"), "conda 24.7.1")
    assert isinstance(found["mamba"], Tool) and found["mamba"].version == "mamba 1.5.8"
    assert found["micromamba"] == Unknown("micromamba failed (exit 139): segfault")
    assert found["pip"] is None
    uv = found["uv"]  # envgen depends on uv: its own copy is found even off PATH
    assert isinstance(uv, Tool) and uv.note == "bundled with envgen, not on PATH"


def test_active_envgen_environment(fake_tools: FakeTools, tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    marker = EnvMarker("gpu-cu128", "venv", "3.11.7", "sha256:x", ("envs/gpu-cu128",), "0")
    write_marker(prefix, marker)
    plain = tmp_path / "conda"
    plain.mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "envgen-env.json").write_text("{not json")
    environ = {**fake_tools.environ(), "VIRTUAL_ENV": str(prefix), "CONDA_PREFIX": str(plain)}
    found = active_env(Context(environ=environ))
    assert [(e.variable, e.profile) for e in found] == [
        ("VIRTUAL_ENV", "gpu-cu128"),
        ("CONDA_PREFIX", None),
    ]
    (env,) = active_env(Context(environ={"VIRTUAL_ENV": str(broken)}))
    assert isinstance(env.profile, Unknown) and "unreadable" in env.profile.reason


def test_gather_is_concurrent_and_json_ready(fake_tools: FakeTools) -> None:
    fake_tools.nvidia_smi("570.86.10", RTX5090)
    fake_tools.script("rocminfo", "/bin/sleep 0.6\n")
    fake_tools.script("xpu-smi", "/bin/sleep 0.6\n")
    fake_tools.script("conda", "/bin/sleep 0.6\necho conda 24.7.1\n")
    start = time.monotonic()
    found = gather(ctx_for(fake_tools))
    assert time.monotonic() - start < 1.7  # three 0.6 s probes at once, not one after another
    from envgen.doctor.recommend import recommend
    from envgen.doctor.report import to_json
    from envgen.project import Project

    data = to_json(found, recommend(Project.open(fake_tools.home), found))
    assert json.loads(json.dumps(data))["nvidia"]["gpus"][0]["compute_capability"] == "12.0"
