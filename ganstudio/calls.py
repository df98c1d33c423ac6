"""Interactive calls on the engine's worker: sampling, a slider move, an attention map.

``Calls`` is their queue, served before any training slice or decode step. A plain call runs alone; a
``Batchable`` call runs together with every queued call of the same key, one ``run_batch`` (one forward pass)
for all of them, each caller getting its own share; if the batch fails, each call runs alone, so one bad
call fails only its own caller. Callers always get a one-line ``StudioError``, never a raw traceback.
"""

from __future__ import annotations

import collections
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable

import torch

from ganstudio.device import describe_error
from ganstudio.errors import StudioError

MAX_BATCH_CALLS = 32  # interactive calls merged into one forward at most


@dataclass(frozen=True)
class Batchable:
    """An interactive call that may share a forward pass with others of the same key."""

    key: Any
    item: Any
    run_batch: Callable[[list], list]


def call_now(fn: Callable[[], Any] | Batchable) -> Any:
    """Run a call at once, alone (on the worker itself, where nothing can wait for it)."""
    return fn.run_batch([fn.item])[0] if isinstance(fn, Batchable) else fn()


class Calls:
    """Interactive calls waiting for the worker, in order. ``lock`` is the engine's; ``on_oom`` hands memory back
    after a call ran out of it."""

    def __init__(self, lock: threading.Condition, on_oom: Callable[[], None]):
        self._lock, self._on_oom = lock, on_oom
        self._queue: collections.deque = collections.deque()  # (fn, future)
        self.stats = {"batches": 0, "calls": 0}  # calls / batches = how many shared a forward, on average

    def __bool__(self) -> bool:
        return bool(self._queue)

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, fn: Callable[[], Any] | Batchable, future: Future) -> None:  # holds the lock
        self._queue.append((fn, future))

    def pop(self) -> tuple[Any, Future] | None:  # holds the lock
        return self._queue.popleft() if self._queue else None

    def run(self, fn: Callable[[], Any] | Batchable, future: Future) -> None:
        """Run a popped call (and, when batchable, the queued calls of its key); on the worker, without the lock."""
        if isinstance(fn, Batchable):
            return self._run_batch(fn, future)
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn())
        except BaseException as err:  # the worker must outlive any call
            future.set_exception(self._caller_error(err))

    def _run_batch(self, first: Batchable, future: Future) -> None:
        """``first`` and every queued call with its key, as one ``run_batch`` (each alone if that fails)."""
        group = [(first, future)]
        with self._lock:
            rest = collections.deque()
            while self._queue:
                entry = self._queue.popleft()
                fn, other = entry
                if isinstance(fn, Batchable) and fn.key == first.key and len(group) < MAX_BATCH_CALLS:
                    group.append((fn, other))
                else:
                    rest.append(entry)
            self._queue = rest
        group = [(fn, fut) for fn, fut in group if fut.set_running_or_notify_cancel()]  # callers that gave up leave
        if not group:
            return
        self.stats["batches"] += 1
        self.stats["calls"] += len(group)
        try:
            results = first.run_batch([fn.item for fn, _ in group])
            for (_, fut), result in zip(group, results):
                fut.set_result(result)
        except BaseException as err:
            if len(group) == 1:
                group[0][1].set_exception(self._caller_error(err))
                return
            for fn, fut in group:  # one bad call must not fail the others: run each alone
                try:
                    fut.set_result(call_now(fn))
                except BaseException as alone:
                    fut.set_exception(self._caller_error(alone))

    def _caller_error(self, err: BaseException) -> StudioError:
        if isinstance(err, torch.cuda.OutOfMemoryError):
            self._on_oom()
        return err if isinstance(err, StudioError) else StudioError(describe_error(err))
