"""``verify``: prove from inside an activated environment that it is what its profile says.

The last pipeline stage: a ``ResolvedEnv`` (plus its lock, when there is one) is compared with
what the probe (``probe_script.py``) reports from the environment's own interpreter, run with
the environment's activation (``activation.py``) applied. Each verdict is a ``Check``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import verify_checks as vc
from .activation import Activation, activate, find_env
from .envmeta import read_marker
from .errors import EnvgenError
from .formats import pip_lock_name
from .project import Project, Resolved
from .resolve import ResolvedEnv
from .targets import ACCELERATORS, platform_of

if TYPE_CHECKING:
    from packaging.requirements import Requirement

PROBE_TIMEOUT = 300.0  # a first CUDA initialisation can take a minute on a cold machine
# What the probe may print: its answers are a few KB; torch's warnings some more.
PROBE_OUTPUT_LIMIT = 16 << 20
_TAG = "ENVGEN-PROBE "


@dataclass(frozen=True)
class VerifyReport:
    profile: str
    prefix: Path
    activation: str
    checks: tuple[vc.Check, ...]
    facts: Mapping[str, Any] = field(repr=False)

    @property
    def ok(self) -> bool:
        return all(c.status != vc.FAIL for c in self.checks)

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "prefix": str(self.prefix),
            "activation": self.activation,
            "ok": self.ok,
            "counts": {s: self.count(s) for s in (vc.PASS, vc.FAIL, vc.SKIP)},
            "checks": [c.to_json() for c in self.checks],
            "facts": dict(self.facts),
        }


@dataclass(frozen=True)
class ProbeResult:
    stages: Mapping[str, Mapping[str, Any]]
    returncode: int | None  # None: stopped by envgen (see ``stopped``)
    stderr: str
    stopped: str = "timed out"  # why envgen stopped it, when it did

    @property
    def crash(self) -> str:
        tail = self.stderr.strip().splitlines()[-3:]
        code = self.stopped if self.returncode is None else f"exit status {self.returncode}"
        return code + (": " + " | ".join(tail) if tail else "")


def probe_source() -> str:
    return Path(__file__).with_name("probe_script.py").read_text(encoding="utf-8")


def run_probe(
    activation: Activation,
    options: Mapping[str, Any],
    timeout: float = PROBE_TIMEOUT,
    meanwhile: Callable[[], object] | None = None,
) -> ProbeResult:
    """Run the probe in the activated environment and collect the stages it managed to print."""
    from .toolout import read_bounded

    command = [str(activation.python), "-c", probe_source(), json.dumps(dict(options))]
    try:
        proc = subprocess.Popen(
            command,
            env=dict(activation.environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise EnvgenError(
            f"cannot run {activation.python}: {exc}",
            fix="re-create the environment with 'envgen create --force'",
        ) from None
    with proc:
        if meanwhile is not None:
            meanwhile()  # our own work, while the probe imports torch (seconds)
        # Bounded: what the environment prints is its own (a sitecustomize, a package's import
        # banner); verify keeps what it read up to the bound and stops the probe there.
        got = read_bounded(proc, timeout, PROBE_OUTPUT_LIMIT)
        code: int | None = None
        if got.ended == "exit":
            # Its streams closed; a process that lives on after that is stopped like a hang.
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = proc.wait(timeout=5)
        if code is None:
            proc.kill()
            proc.wait()
    stdout = got.stdout.decode("utf-8", errors="replace")
    stderr = got.stderr.decode("utf-8", errors="replace")
    stages: dict[str, dict[str, Any]] = {}
    for line in stdout.splitlines():
        if not line.startswith(_TAG):
            continue  # activation scripts and libraries may print too
        try:
            data = json.loads(line[len(_TAG) :])
        except ValueError:
            continue  # cut short by a crash: that stage counts as missing
        stages[str(data.pop("stage"))] = data
    stopped = {
        "flood": f"stopped: it printed more than {PROBE_OUTPUT_LIMIT >> 20} MiB",
        "no thread": "stopped: its output could not be read (no thread to be had)",
    }.get(got.ended, "timed out")
    return ProbeResult(stages, code, stderr, stopped)


def locate(
    project: Project, name: str, prefix: Path | None, python: Path | None
) -> tuple[Path, Path | None]:
    """The environment's prefix, and the interpreter to use when it is not the prefix's own."""
    if prefix is not None and python is not None:
        raise EnvgenError("give --prefix or --python, not both", fix="drop one of them")
    if python is not None:
        from .interpreters import probe_explicit

        return Path(probe_explicit(python).prefix), python.absolute()
    return find_env(project.config.root, name, prefix), None


def expected_requirements(
    project: Project, resolved: Resolved, markers: Mapping[str, str]
) -> tuple[list[Requirement], str]:
    """The lock for this platform when there is one, else the rendered pip requirements."""
    env = resolved.env
    # the interpreter's platform names its lock file
    target = platform_of(str(markers.get("sys_platform")), str(markers.get("platform_machine", "")))
    if target is not None:
        lock = project.output_dir(env.name) / pip_lock_name(target.name)
        if lock.is_file():
            shown = project.display(lock)
            found = _trusted_lock(lock, shown, project, resolved)
            return vc.applicable(found, markers), shown
    from packaging.requirements import InvalidRequirement, Requirement

    found = []
    for line in env.pip_requirements:
        try:
            found.append(Requirement(line))
        except InvalidRequirement:
            continue  # options and paths (-e ., --find-links) pin no version to check
    return vc.applicable(found, markers), "the profile's pins"


class UntrustedLock(EnvgenError):
    """The lock on disk is not what ``envgen lock`` wrote, so it cannot say what is expected."""


def _trusted_lock(
    lock: Path, shown: str, project: Project, resolved: Resolved
) -> list[Requirement]:
    """The requirements of a lock whose seal is intact, that lists packages and whose own
    content keeps the torch-family rule; else refused.

    An empty, unsealed, hand-edited or resealed lock is not the truth: comparing the
    environment with it would pass an environment that is not what ``envgen lock`` decided.
    """
    from .digest import is_generated, read_seal

    fix = (
        f"re-lock with 'envgen lock {resolved.env.name}' (or restore the lock from version control)"
    )
    from .readfile import LARGE, read_text

    try:
        text = read_text(lock, shown=shown, what="lock", limit=LARGE, inside=lock.parent)
    except EnvgenError as exc:  # said without the file's name by the packages check: add it
        why = exc.message.removeprefix("cannot read the lock: ")
        raise UntrustedLock(f"{shown} is unreadable ({why})", fix=fix) from None
    assert text is not None  # missing_ok is not set: a missing file raised
    if not is_generated(text):
        raise UntrustedLock(f"{shown} is not sealed by envgen (no envgen-content-sha256)", fix=fix)
    if not read_seal(text)[1]:
        raise UntrustedLock(f"{shown} was edited by hand since envgen wrote it", fix=fix)
    from packaging.requirements import InvalidRequirement

    from .lockrules import expected, pip_lock_problem

    problem = pip_lock_problem(text, expected(resolved.public, project.catalog.index_base))
    if problem:
        raise UntrustedLock(f"{shown} is not what envgen locks: {problem}", fix=fix)
    try:
        found = vc.parse_lock(text)
    except InvalidRequirement:  # its message quotes the line: the file may be anything
        raise UntrustedLock(f"{shown} has a line that is no requirement", fix=fix) from None
    if not found:
        raise UntrustedLock(f"{shown} lists no packages", fix=fix)
    return found


def verify_env(
    project: Project,
    name: str,
    *,
    prefix: Path | None = None,
    python: Path | None = None,
    expect_gpu: bool = False,
    timeout: float = PROBE_TIMEOUT,
) -> VerifyReport:
    """Probe the environment for profile ``name`` and judge every check; never raises on FAIL.

    ``python`` audits an interpreter envgen did not create (no marker needed).
    """
    resolved = project.resolve(name)
    env = resolved.env
    where, interpreter = locate(project, name, prefix, python)
    venv_vars = {k: str(v) for k, v in env.variables.items()}
    activation = activate(where, python=interpreter, variables=venv_vars)
    device = ACCELERATORS[env.accelerator].torch_device
    devices = list(dict.fromkeys(a.torch_device for a in ACCELERATORS.values()))
    options = {"device": device, "devices": devices, "environ": sorted(venv_vars)}
    result = run_probe(activation, options, timeout, warm_packaging)
    checks: list[vc.Check] = []
    if interpreter is None:
        checks.append(_check_marker(where, name))
    facts = result.stages.get("interpreter")
    if facts is None:
        checks.append(vc.Check("interpreter", vc.FAIL, f"the probe failed: {result.crash}"))
        return VerifyReport(name, where, activation.describe(), tuple(checks), {})
    checks += _interpreter_checks(project, resolved, activation, facts)
    checks += _torch_checks(env, facts, result, expect_gpu)
    if venv_vars:
        checks.append(vc.check_variables(facts.get("environ", {}), venv_vars))
    all_facts = {"interpreter": facts, "torch": result.stages.get("torch")}
    return VerifyReport(name, where, activation.describe(), tuple(checks), all_facts)


def warm_packaging() -> None:
    """Import what judging the packages needs (packaging compiles its patterns as it loads),
    while the probe runs in the environment, rather than before starting it."""
    import packaging.requirements  # noqa: F401 - imported for its cost (with packaging.version)


def _check_marker(prefix: Path, name: str) -> vc.Check:
    marker = read_marker(prefix)
    if marker is None:
        return vc.Check(
            "environment",
            vc.FAIL,
            "no envgen-env.json: its create did not finish, or envgen did not build it "
            "(audit a hand-made environment with --python)",
        )
    if marker.profile != name:
        return vc.Check("environment", vc.FAIL, f"built for profile '{marker.profile}'")
    return vc.Check(
        "environment", vc.PASS, f"built by envgen {marker.envgen_version} ({marker.backend})"
    )


def _interpreter_checks(
    project: Project, resolved: Resolved, activation: Activation, facts: Mapping[str, Any]
) -> list[vc.Check]:
    env = resolved.env
    installed = facts.get("distributions")
    try:
        requirements, source = expected_requirements(project, resolved, facts["markers"])
    except UntrustedLock as exc:
        packages = vc.Check("packages", vc.FAIL, f"{exc.message}. Fix: {exc.fix}")
    else:
        packages = (
            vc.check_packages(requirements, installed, source)
            if installed is not None
            else vc.Check(
                "packages", vc.FAIL, f"cannot list them: {facts.get('distributions_error')}"
            )
        )
    return [
        vc.check_activation(facts, activation.kind, activation.describe()),
        vc.check_interpreter(facts, activation.prefix),
        vc.check_pip(facts, needs_pip=bool(env.pip_requirements)),
        vc.check_python_version(str(facts["version"]), env.python),
        packages,
    ]


def _torch_checks(
    env: ResolvedEnv, facts: Mapping[str, Any], result: ProbeResult, expect_gpu: bool
) -> list[vc.Check]:
    torch = result.stages.get("torch")
    imported = vc.check_torch_import(torch, str(facts["prefix"]), result.crash)
    if torch is None or "import_error" in torch:
        rest = ("torch version", "torch build", "device", "matmul")
        return [imported, *(vc.Check(n, vc.SKIP, "torch did not import") for n in rest)]
    device = vc.check_device(torch, env.accelerator, vc.gpu_presence(env.accelerator), expect_gpu)
    return [
        imported,
        vc.check_torch_version(str(torch.get("version")), env),
        vc.check_torch_build(torch, env, str(facts["markers"]["sys_platform"])),
        device,
        vc.check_matmul(torch, device),
    ]
