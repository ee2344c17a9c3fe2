"""The test suite's own machinery, which every end-to-end proof leans on: the stand-in torch
wheel, interpreter discovery, caches kept out of home, and the e2e summary and CI gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from envgen import probe_script
from envgen.cache import cache_dir
from tests.conftest import REPO_ROOT
from tests.fixtures import envs
from tests.fixtures.caches import CACHE_VARIABLES
from tests.fixtures.e2e_gate import REQUIRE_VARIABLE
from tests.fixtures.pypi_index import LocalIndexes
from tests.fixtures.stand_in_torch import build_facts, build_stand_in_torch


def _probe_torch(wheel: Path, prefix: Path) -> dict[str, object]:
    """Unpack ``wheel`` into a fresh venv (what an installer does) and run verify's probe."""
    envs.make_venv(prefix)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(envs.site_packages(prefix))
    proc = subprocess.run(
        [
            str(prefix / "bin" / "python"),
            probe_script.__file__,
            json.dumps({"device": "cpu", "devices": ["cpu", "cuda", "xpu", "mps"]}),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=prefix,
    )
    lines = [json.loads(line[len(probe_script.TAG) :]) for line in proc.stdout.splitlines()]
    (torch,) = [line for line in lines if line["stage"] == "torch"]
    return torch


@pytest.mark.parametrize(
    ("variant", "cuda", "hip"),
    [
        ("cpu", None, None),
        ("cu126", "12.6", None),
        ("cu118", "11.8", None),
        ("rocm6.3", None, "6.3.0"),
    ],
)
def test_the_stand_in_torch_reports_its_build_and_really_multiplies(
    variant: str, cuda: str | None, hip: str | None, tmp_path: Path
) -> None:
    assert build_facts(variant) == (cuda, hip)
    wheel = build_stand_in_torch(tmp_path / "dist", version="2.13.0", variant=variant)
    assert wheel.name == f"torch-2.13.0+{variant}-py3-none-manylinux_2_28_x86_64.whl"
    torch = _probe_torch(wheel, tmp_path / "env")
    assert (torch["version"], torch["cuda"], torch["hip"]) == (f"2.13.0+{variant}", cuda, hip)
    assert str(torch["file"]).startswith(str(tmp_path / "env"))
    devices = torch["devices"]
    assert isinstance(devices, dict)
    assert {kind: facts["available"] for kind, facts in devices.items()} == dict.fromkeys(
        ("cuda", "xpu", "mps"), False
    )
    matmul = torch["matmul"]
    assert isinstance(matmul, dict), matmul
    assert matmul["cpu_matches_reference"] and matmul["matches_cpu"]
    assert matmul["shape"] == [probe_script.MATRIX, probe_script.MATRIX]


def test_the_same_stand_in_has_the_same_bytes(tmp_path: Path) -> None:
    """Locks pin hashes: a rebuilt stand-in must hash the same as the one a lock was made from."""
    first = build_stand_in_torch(tmp_path / "a").read_bytes()
    assert build_stand_in_torch(tmp_path / "b").read_bytes() == first


def test_the_tests_own_python_is_found_first_without_any_fixed_path() -> None:
    own = envs.known_pythons()[0]
    assert (own.origin, own.minor) == ("explicit", envs.OWN_MINOR)
    assert Path(own.executable).resolve() == Path(sys.executable).resolve() or own.prefix == (
        sys.base_prefix
    )
    assert envs.find_python(envs.OWN_MINOR) == own.path


def test_a_missing_python_is_a_skip_that_names_what_to_install() -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        envs.find_python("3.99")
    assert "no Python 3.99 on this machine" in str(skipped.value)
    assert "'uv python install 3.99' or 'pyenv install 3.99'" in str(skipped.value)


def test_caches_go_to_the_session_tmp_not_home(
    private_caches: Path, project_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.getbasetemp()
    for variable in CACHE_VARIABLES:
        assert Path(os.environ[variable]).is_relative_to(base), variable
    found = cache_dir()
    assert found is not None and found.is_relative_to(private_caches)
    uv = Path(sys.executable).parent / "uv"
    where = subprocess.run([str(uv), "cache", "dir"], capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(private_caches)
    # A CLI run in a subprocess inherits it: envgen's cache appears under the session's tmp.
    run = [sys.executable, "-m", "envgen", "show", "cpu"]
    subprocess.run(run, cwd=project_dir, capture_output=True, check=True)
    assert any((private_caches / "xdg" / "envgen").iterdir())


GATED = """
import pytest

pytestmark = pytest.mark.e2e

def test_flow():
    pytest.skip({reason!r})

@pytest.mark.variant("real torch")
def test_variant():
    pytest.skip("no real torch wheel here")

def test_ran():
    pass
"""


# The README's test command runs the suite on pytest-xdist workers: the controller, which
# collects nothing itself, must count, report and gate the same (one worker shows it).
XDIST = ("-n", "1")


def _workers_import_the_gate(monkeypatch: pytest.MonkeyPatch, workers: tuple[str, ...]) -> None:
    """xdist workers are new processes: they import ``tests.fixtures`` from this checkout."""
    if workers:
        path = os.environ.get("PYTHONPATH")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), path])))


@pytest.mark.parametrize(
    ("reason", "strict", "code", "workers"),
    [
        ("no Python 3.11 found: install one with uv python install 3.11", True, 1, ()),
        ("no Python 3.11 found: install one with uv python install 3.11", True, 1, XDIST),
        ("no Python 3.11 found: install one with uv python install 3.11", False, 0, ()),
        ("no GPU here: nvidia-smi is missing", True, 0, ()),
        ("no GPU here: nvidia-smi is missing", True, 0, XDIST),
        ("no conda, mamba or micromamba executable here", True, 0, ()),
    ],
)
def test_ci_fails_when_an_e2e_flow_was_skipped_for_a_reason_a_machine_must_not_have(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    reason: str,
    strict: bool,
    code: int,
    workers: tuple[str, ...],
) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    e2e: end to end\n")
    pytester.makepyfile(test_gated=GATED.format(reason=reason))
    if strict:
        monkeypatch.setenv(REQUIRE_VARIABLE, "1")
    else:
        monkeypatch.delenv(REQUIRE_VARIABLE, raising=False)
    _workers_import_the_gate(monkeypatch, workers)
    result = pytester.runpytest("-p", "tests.fixtures.e2e_gate", "--strict-markers", *workers)
    assert result.ret == code
    result.stdout.fnmatch_lines(
        [
            "*= end-to-end flows =*",
            "e2e flows: 1 passed, 0 failed, 1 skipped",
            f"    not run (1): {reason}",
            "e2e variant 'real torch': 0 passed, 0 failed, 1 skipped",
            "    not run (1): no real torch wheel here",
        ]
    )
    blamed = f"*test_gated.py::test_flow: {reason}"
    if code:
        result.stdout.fnmatch_lines([f"{REQUIRE_VARIABLE}=1: 1 e2e flow(s) skipped*", blamed])
    else:
        result.stdout.no_fnmatch_line(blamed)


IMAGE = """
import pytest

@pytest.mark.image
def test_build():
    pytest.skip("podman is not installed")

def test_plain():
    pass
"""


@pytest.mark.parametrize(
    ("args", "code", "line", "workers"),
    [
        # the README's test command: the image test is skipped with its reason, no CI failure
        ((), 0, "SKIPPED * builds a container image (minutes): runs in its own step*", ()),
        ((), 0, "SKIPPED * builds a container image (minutes): runs in its own step*", XDIST),
        (("-m", "not image"), 0, "* 1 deselected*", ()),
        # its own step: a skip (no podman, no base image) fails CI like a skipped flow
        (("-m", "image"), 1, f"{REQUIRE_VARIABLE}=1: 1 e2e flow(s) skipped*", ()),
        (("-m", "image"), 1, f"{REQUIRE_VARIABLE}=1: 1 e2e flow(s) skipped*", XDIST),
    ],
)
def test_the_image_test_runs_only_in_its_own_step_and_may_not_skip_there(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    code: int,
    line: str,
    workers: tuple[str, ...],
) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    image: builds an image\n")
    pytester.makepyfile(test_image=IMAGE)
    monkeypatch.setenv(REQUIRE_VARIABLE, "1")
    _workers_import_the_gate(monkeypatch, workers)
    options = ("-p", "tests.fixtures.e2e_gate", "--strict-markers", "-ra", *workers)
    result = pytester.runpytest(*options, *args)
    assert result.ret == code
    result.stdout.fnmatch_lines([line])


def test_the_local_index_answers_a_byte_range_as_a_cdn_does(local_indexes: LocalIndexes) -> None:
    """uv reads a wheel's METADATA through a range request when the server takes them."""
    wheel = local_indexes.add("whl/cpu", "demo", "1.0")
    local_indexes.publish()
    data = wheel.read_bytes()
    url = f"{local_indexes.url('whl/cpu')}/{wheel.name}"

    def get(rng: str | None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(url, headers={"Range": rng} if rng else {})
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()

    status, headers, body = get(None)
    assert (status, headers["Accept-Ranges"], body) == (200, "bytes", data)
    status, headers, body = get("bytes=0-9")
    assert (status, body, headers["Content-Range"]) == (206, data[:10], f"bytes 0-9/{len(data)}")
    assert get("bytes=-22")[2] == data[-22:]  # the end of a zip: its central directory record
    assert get(f"bytes=10-{len(data) + 100}")[2] == data[10:]
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(f"bytes={len(data)}-")
    assert refused.value.code == 416
