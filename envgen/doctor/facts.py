"""Run every probe at once and collect what they found into one frozen ``Facts`` value.

Probes run concurrently (doctor takes as long as its slowest probe, not their sum) on daemon
threads with one overall deadline: even a probe stuck where no timeout reaches cannot keep
doctor (or the interpreter's exit) waiting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from ..interpreters import PROBE_TIMEOUT, Interpreter, discover
from .context import Context, Unknown
from .probes import (
    ActiveEnv,
    Nvidia,
    Rocm,
    SystemInfo,
    Tool,
    Xpu,
    active_env,
    nvidia,
    rocm,
    system,
    tools,
    xpu,
)
from .pythons import Finding, Owner, diagnose, path_owners

T = TypeVar("T")


@dataclass(frozen=True)
class Facts:
    """Everything doctor learned about this machine; input to ``recommend`` and ``report``."""

    system: SystemInfo
    nvidia: Nvidia | Unknown | None
    rocm: Rocm | Unknown | None
    xpu: Xpu | Unknown | None
    tools: Mapping[str, Tool | Unknown | None] | Unknown
    path: Mapping[str, Owner | Unknown | None] | Unknown
    interpreters: tuple[Interpreter, ...] | Unknown
    active: tuple[ActiveEnv, ...]
    findings: tuple[Finding, ...] = ()


def _interpreters(ctx: Context) -> tuple[Interpreter, ...]:
    return tuple(discover(ctx.environ))


def gather(ctx: Context | None = None, *, full: bool = True) -> Facts:
    """Every probe, or (``full=False``, for ``auto``) only those a recommendation needs: the
    Python and tool probes cost most of doctor's second and do not change the choice."""
    ctx = ctx or Context()
    jobs: dict[str, Callable[[Context], Any]] = {
        "system": system,
        "nvidia": nvidia,
        "rocm": rocm,
        "xpu": xpu,
        "active": active_env,
    }
    if full:
        jobs.update(tools=tools, path=path_owners, interpreters=_interpreters)
    # A probe may run a few commands in a row; interpreter discovery has its own per-Python limit.
    deadline = max(3 * ctx.timeout, PROBE_TIMEOUT) + 1
    futures = {name: _start(name, job, ctx) for name, job in jobs.items()}
    wait(futures.values(), timeout=deadline)
    got = {name: _outcome(name, future, deadline) for name, future in futures.items()}
    for name in ("tools", "path", "interpreters"):
        got.setdefault(name, Unknown("not probed"))
    system_info = got["system"]
    if isinstance(system_info, Unknown):  # pragma: no cover - platform module failing
        system_info = SystemInfo("unknown", "unknown", system_info, None, False, False)
    active = got["active"] if isinstance(got["active"], tuple) else ()
    path = got["path"]
    return Facts(
        system=system_info,
        nvidia=got["nvidia"],
        rocm=got["rocm"],
        xpu=got["xpu"],
        tools=got["tools"],
        path=path,
        interpreters=got["interpreters"],
        active=active,
        findings=tuple(diagnose(path, active)) if not isinstance(path, Unknown) else (),
    )


def _start(name: str, job: Callable[[Context], T], ctx: Context) -> Future[T]:
    future: Future[T] = Future()

    def work() -> None:
        try:
            future.set_result(job(ctx))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as Unknown
            future.set_exception(exc)

    threading.Thread(target=work, name=f"envgen-doctor-{name}", daemon=True).start()
    return future


def _outcome(name: str, future: Future[Any], deadline: float) -> Any:
    if not future.done():
        return Unknown(f"the {name} probe did not finish within {deadline:g} s")
    exc = future.exception()
    if exc is not None:
        # A bug in one probe must not take the rest of the report down; it is shown, not hidden.
        return Unknown(f"the {name} probe failed: {type(exc).__name__}: {exc}")
    return future.result()
