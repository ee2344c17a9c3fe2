"""Run an update's reads side by side, and stop all of them at once.

Not ``concurrent.futures``: its worker threads are joined when the interpreter exits, so a Ctrl-C
while a read hangs either waits for the read's deadline or, pressed again, prints a traceback from
that join. These workers are daemon threads; the first failure (or a Ctrl-C in the waiting main
thread) cancels the client's requests and returns at once, and the process may exit without them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

from .fetch import Client

T = TypeVar("T")
R = TypeVar("R")
WORKERS = 16


def run_all(
    client: Client, work: Callable[[T], R], items: Sequence[T], workers: int = WORKERS
) -> list[R]:
    """``[work(item) for item in items]``, ``workers`` at a time, results in order.

    The first exception raised by ``work`` is raised here (the others are dropped) after the
    client is cancelled, so requests still in flight end at their next read.
    """
    items = list(items)
    if not items:
        return []
    results: list[R | None] = [None] * len(items)
    failures: list[BaseException] = []
    lock = threading.Lock()
    done = threading.Event()
    state = {"next": 0, "finished": 0}

    def worker() -> None:
        while True:
            with lock:
                if failures or state["next"] >= len(items):
                    return
                index = state["next"]
                state["next"] += 1
            try:
                value = work(items[index])
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                with lock:
                    failures.append(exc)
                client.cancel()
                done.set()
                return
            with lock:
                results[index] = value
                state["finished"] += 1
                if state["finished"] == len(items):
                    done.set()

    for _ in range(min(workers, len(items))):
        threading.Thread(target=worker, daemon=True, name="envgen-update").start()
    try:
        done.wait()
    except BaseException:
        client.cancel()  # Ctrl-C: in-flight reads end at their next chunk; nobody waits for them
        raise
    if failures:
        raise failures[0]
    return cast("list[R]", results)  # every slot was filled
