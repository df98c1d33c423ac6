"""Waiting in tests: on a condition or an event, never for a fixed time; deadlines only bound a hang.

``wait_until`` re-checks a condition until it holds; ``worker_held`` keeps the engine's worker busy so that work
submitted meanwhile queues up together; ``queued_calls`` is how many interactive calls wait for the worker.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Callable, Iterator

HANG_S = 60.0  # how long a wait may take before the test calls it a hang; healthy waits end far sooner


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = HANG_S, every_s: float = 0.01):
    """Re-check ``condition()`` every ``every_s`` until it is true; return its value (fail after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what}: still not so after {timeout_s:.0f} s"
        time.sleep(every_s)
    return value


@contextlib.contextmanager
def worker_held(engine) -> Iterator[None]:
    """The engine's worker runs one interactive call that waits until the block ends: calls, generations and
    training submitted meanwhile wait for it, all together."""
    running, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=engine.run, args=(lambda: (running.set(), release.wait(HANG_S)),))
    holder.start()
    assert running.wait(HANG_S), "the worker never took the holding call"
    try:
        yield
    finally:
        release.set()
        holder.join(HANG_S)


def queued_calls(engine) -> int:
    """Interactive calls waiting for the worker."""
    return engine.queued_calls()
