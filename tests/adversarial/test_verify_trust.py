"""verify compares an environment only with a lock envgen sealed: an empty, unsealed or
hand-edited lock is reported, never taken as the truth, and "0 of 0" is never a pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from envgen import verify_checks as vc
from envgen.project import Project
from envgen.verify import verify_env
from tests.fixtures.envs import fake_torch, mark_created, write_lock
from tests.helpers import write_profile

CPU = 'python: "3.11"\npytorch: {version: "2.4.1", packages: [torch]}\nplatforms: [linux-64]\n'
LOCK = "envs/cpu/requirements-linux-64.lock.txt"


@pytest.fixture
def cpu_env(project_dir: Path, venv_factory: Callable[..., Path]) -> Path:
    write_profile(project_dir, "cpu", CPU)
    prefix = venv_factory()
    fake_torch(prefix, "2.4.1+cpu")
    mark_created(prefix, "cpu")
    return prefix


def _packages(prefix: Path) -> vc.Check:
    report = verify_env(Project.open(), "cpu", prefix=prefix)
    (check,) = [c for c in report.checks if c.name == "packages"]
    assert not report.ok if check.status == vc.FAIL else True
    return check


def test_a_sealed_lock_is_trusted(cpu_env: Path, project_dir: Path) -> None:
    write_lock(project_dir / LOCK, {"torch": "2.4.1+cpu"})
    check = _packages(cpu_env)
    assert check.status == vc.PASS and check.detail.startswith("1 of 1 as in envs/cpu/")


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        ("edit", "edited by hand"),
        ("unseal", "not sealed by envgen"),
        ("empty", "not sealed by envgen"),
        ("sealed-empty", "lists no packages"),
        ("garbage", "unreadable"),
    ],
)
def test_an_untrusted_lock_fails_the_packages_check(
    cpu_env: Path, project_dir: Path, damage: str, said: str
) -> None:
    lock = write_lock(project_dir / LOCK, {"torch": "2.4.1+cpu"})
    text = lock.read_text()
    if damage == "edit":  # the attacker's edit: a pin the environment happens to satisfy
        lock.write_text(text.replace("torch==2.4.1+cpu", "torch>=0"))
    elif damage == "unseal":
        lock.write_text("\n".join(x for x in text.splitlines() if "content-sha256" not in x))
    elif damage == "empty":
        lock.write_text("")
    elif damage == "sealed-empty":
        write_lock(lock, {})
    else:
        lock.write_bytes(b"\x00\xff\xfe\x89PNG garbage")
    check = _packages(cpu_env)
    assert check.status == vc.FAIL, check
    assert said in check.detail and "envgen lock cpu" in check.detail


def test_zero_packages_compared_is_never_a_pass() -> None:
    check = vc.check_packages([], {"torch": "2.4.1"}, "the profile's pins")
    assert check.status == vc.SKIP and "0 of 0" not in check.detail
