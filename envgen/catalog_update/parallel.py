"""Run an update's reads side by side, and stop all of them at once.

Not ``concurrent.futures``: on a Ctrl-C its ``with`` block waits for every queued read, each up
to its deadline, and a second Ctrl-C then prints a traceback from the interpreter's join. Here
the first failure (or a Ctrl-C in the waiting main thread) cancels the client, which shuts the
sockets in flight; the workers, which take no new read once cancelled, end within moments and
are joined before the failure is raised. No worker outlives ``run_all``: a thread still inside a
C call (a DNS lookup, a TLS read) while the interpreter shuts down can crash the process.
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

    threads = [
        threading.Thread(target=worker, daemon=True, name="envgen-update")
        for _ in range(min(workers, len(items)))
    ]
    for thread in threads:
        thread.start()
    try:
        done.wait()
    except BaseException:
        client.cancel()  # Ctrl-C: the reads in flight end now
        with lock:
            failures.append(KeyboardInterrupt())  # no worker takes another item
        _join(threads)
        raise
    _join(threads)
    if failures:
        raise failures[0]
    return cast("list[R]", results)  # every slot was filled


def _join(threads: list[threading.Thread]) -> None:
    """Wait for the workers; a second Ctrl-C while they stop leaves them to the process."""
    for thread in threads:
        thread.join()
