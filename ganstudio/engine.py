"""The engine: one worker thread owns the compute device and runs all model work.

Three kinds of work reach the worker:

* interactive calls (`Engine.run`, `Engine.batched`): sampling, a slider move, an attention map.
  They run before anything else, so they wait at most for the training *step* in flight; calls
  that arrive together for the same model (`batched`, same key) run as one batch, one forward
  pass for all of them, and each caller gets its own share of the result;
* decode groups (`Engine.decode`): token-by-token generation with continuous batching. All live
  generations of one model form one group (``ganstudio.gpt.batch_decode.DecodeBatch``) that decodes
  them together, one forward per step; a group shares the device with training runs round-robin,
  one time slice each;
* training runs (`Engine.submit_training`): a task object whose `.step()` is one small unit
  of work. The worker runs steps for a slice (`slice_ms`), then moves on, so several
  sessions' runs share the device fairly. Snapshots (`task.snapshot()`) are taken by the
  worker every `snapshot_every_s` and published on the job, where any thread reads them
  without waiting for the worker.

A job that raises is marked failed with a one-line message and the worker lives on.

Visitors' training runs carry ``RunLimits``: a run nobody polls, one paused too long, or one
past the host's maximum length is ended by the worker (its slot freed, its ``on_end`` callbacks
run on the worker so the run can be saved), so no one can hold the device or the queue forever.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Callable

import torch

from ganstudio.device import describe_error, free_memory, pick_device
from ganstudio.errors import Busy, StudioError
from ganstudio.jobs import (
    CANCELLED,
    DONE,
    FAILED,
    PAUSED,
    QUEUED,
    RUNNING,
    EngineConfig,
    Job,
    RunLimits,
    TrainingTask,
    over_limits,
)
from ganstudio.settings import SETTINGS

IDLE_RELEASE_S = 2.0  # the worker idle this long after work: hand freed memory back to the OS (once)
MAX_BATCH_CALLS = 32  # interactive calls merged into one forward at most


@dataclass(frozen=True)
class _Batchable:
    """An interactive call that may share a forward pass with others of the same key."""

    key: Any
    item: Any
    run_batch: Callable[[list], list]


class Engine:
    """Owns the device and the worker thread. Use `get_engine()` for the shared one."""

    def __init__(self, device: str | torch.device | None = None, config: EngineConfig | None = None):
        self.config = config or EngineConfig()
        self.device = torch.device(device) if device else pick_device(SETTINGS.device)
        if SETTINGS.threads > 0 and self.device.type == "cpu":
            torch.set_num_threads(SETTINGS.threads)  # process-wide: the worker is the only thread doing model work
        self._lock = threading.Condition()
        self._interactive: collections.deque = collections.deque()  # (job, fn, future)
        self._rotation: collections.deque = collections.deque()  # training jobs and streams, round-robin
        self._waiting: collections.deque = collections.deque()  # training jobs over the cap, in order
        self._jobs: dict[str, Job] = {}
        self._groups: dict = {}  # model key -> its decode group's job
        self.batch_stats = {"batches": 0, "calls": 0}  # calls / batches = how many shared a forward, on average
        self.decode_totals = {"forwards": 0, "rows": 0}  # of decode groups that have finished
        self._last_kind = ""
        self._ids = itertools.count(1)
        self._stopping = False
        self._ended: collections.deque = collections.deque()  # finished jobs whose on_end callbacks are due
        self._checked_limits_at = 0.0
        self._worked_at = 0.0  # when work last ran, if memory was not handed back since
        self._thread = threading.Thread(target=self._loop, name="ganstudio-engine", daemon=True)
        self._thread.start()

    # ---- public API (any thread) -------------------------------------------------------

    def run(self, fn: Callable[[], Any], owner: str = "cli", timeout: float | None = None) -> Any:
        """Run `fn()` on the worker ahead of training and streams; return its result or raise its error."""
        if threading.current_thread() is self._thread:
            return fn.run_batch([fn.item])[0] if isinstance(fn, _Batchable) else fn()
        job = self._new_job("interactive", owner, RUNNING)
        future: Future = Future()
        with self._lock:
            self._interactive.append((job, fn, future))
            self._lock.notify_all()
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            future.cancel()
            raise Busy(f"the device is busy: no answer within {timeout:.0f} s, try again") from None
        finally:
            self._forget(job)

    def batched(self, key, item: Any, run_batch: Callable[[list], list], owner: str = "cli",
                timeout: float | None = None) -> Any:
        """Run ``item`` on the worker together with the other queued items of the same ``key``:
        ``run_batch(items) -> results`` (one per item, in order) is called once for all of them."""
        return self.run(_Batchable(key, item, run_batch), owner=owner, timeout=timeout)

    def decode(self, key, make_group: Callable[[], Any], prompt_ids: list[int], cfg: Any, owner: str = "cli"):
        """Add a generation to the decode group of model ``key`` (made by ``make_group()`` the first time);
        returns its row, whose ``tokens()`` yield TokenSteps as the group produces them."""
        with self._lock:
            job = self._groups.get(key)
            if job is None or job.finished:
                job = self._new_job("stream", "shared", RUNNING)
                job.task = make_group()
                self._groups[key] = job
                self._rotation.append(job)
            row = job.task.add(prompt_ids, cfg, owner)
            row.wake = self._wake
            self._lock.notify_all()
        return row

    def stop_streams(self, owner: str) -> None:
        """End a session's generations (Stop): every group lets its rows go at its next step."""
        with self._lock:
            groups = [job.task for job in self._groups.values() if not job.finished]
        for group in groups:
            group.close_owner(owner)

    def live_streams(self, owner: str | None = None) -> int:
        """Generations in progress (of one session, or all), across every model's decode group."""
        with self._lock:
            groups = [job.task for job in self._groups.values() if not job.finished]
        return sum(group.live_rows(owner) for group in groups)

    def decode_stats(self) -> dict:
        """Forwards run and rows stepped by every decode group so far (rows / forwards = the mean batch)."""
        with self._lock:
            groups = [job.task for job in self._groups.values()]
            totals = dict(self.decode_totals)
        return {"forwards": totals["forwards"] + sum(g.steps for g in groups),
                "rows": totals["rows"] + sum(g.rows_stepped for g in groups)}

    def _wake(self) -> None:
        with self._lock:
            self._lock.notify_all()

    def submit_training(self, task: TrainingTask, owner: str, limits: RunLimits | None = None,
                        on_end: Callable[[Job], None] | None = None) -> Job:
        """Start (or queue, past the global cap) a training run. One per session at a time.

        ``on_end(job)`` runs on the worker once the run has ended, however it ended.
        """
        with self._lock:
            if any(j.kind == "train" and not j.finished for j in self._jobs.values() if j.owner == owner):
                raise Busy("this session already has a training run — stop it before starting another")
            active = sum(1 for j in self._jobs.values() if j.kind == "train" and j.state in (RUNNING, PAUSED))
            if active >= self.config.max_train_jobs and len(self._waiting) >= self.config.max_queued_train_jobs:
                raise Busy(
                    f"busy: {active} training runs are using the device and {len(self._waiting)} are waiting — "
                    "try again in a few minutes"
                )
            job = self._new_job("train", owner, QUEUED)
            job.task = task
            job.limits = limits or RunLimits()
            if on_end is not None:
                job.on_end.append(on_end)
            if active < self.config.max_train_jobs:
                self._start(job)
            else:
                self._waiting.append(job)
                job.snapshot = {"queue_position": len(self._waiting)}
            self._lock.notify_all()
        return job

    def queue_position(self, job_id: str) -> int | None:
        """1-based place of a queued training run, None once it runs."""
        with self._lock:
            for position, job in enumerate(self._waiting, 1):
                if job.id == job_id:
                    return position
        return None

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def jobs_of(self, owner: str) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.owner == owner]

    def touch(self, job_id: str) -> None:
        """Someone is watching this run (a poll): it is not idle."""
        job = self._jobs.get(job_id)
        if job is not None:
            job.last_poll = time.monotonic()

    def pause(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job and job.state == RUNNING and job.kind == "train":
                job.state = PAUSED
                job.paused_at = time.monotonic()
                job.snapshot_requested = True

    def resume(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job and job.state == PAUSED:
                job.state = RUNNING
                job.paused_at = None
                self._lock.notify_all()

    def stop(self, job_id: str, reason: str = "stopped") -> None:
        """End a run and keep what it learnt: DONE, with ``reason`` as how it ended."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.finished:
                return
            if job in self._waiting:
                self._waiting.remove(job)
            job.ended_by = reason
            self._finish(job, DONE)

    def request_snapshot(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job:
            job.snapshot_requested = True
            with self._lock:
                self._lock.notify_all()

    def cancel(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.finished:
                return
            if job in self._waiting:
                self._waiting.remove(job)
            self._finish(job, CANCELLED)

    def cancel_owner(self, owner: str) -> int:
        """Cancel a session's work and forget its jobs (the session ended). Returns how many were live."""
        with self._lock:
            for group in self._groups.values():
                if not group.finished:
                    group.task.close_owner(owner)
            jobs = [j for j in self._jobs.values() if j.owner == owner]
            live = 0
            for job in jobs:
                if not job.finished:
                    live += 1
                    if job in self._waiting:
                        self._waiting.remove(job)
                    self._finish(job, CANCELLED)
                if job.kind == "train":
                    self._jobs.pop(job.id, None)
            # what it held goes back once the worker idles: one clean-up however many sessions end (a script's
            # thousands of sessions ending must not each cost the worker a full gc)
            self._worked_at = self._worked_at or time.monotonic()
            self._lock.notify_all()
        return live

    def forget(self, job_id: str) -> None:
        """Drop a finished job (and the memory its task holds)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.finished:
                self._jobs.pop(job_id, None)
                job.task = None

    def shutdown(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._thread.join(timeout)

    # ---- internals --------------------------------------------------------------------

    def _new_job(self, kind: str, owner: str, state: str) -> Job:
        job = Job(id=f"{kind}-{next(self._ids)}", kind=kind, owner=owner, state=state)
        if kind != "interactive":  # interactive calls live only as long as their caller waits
            with self._lock:  # a Condition over an RLock: callers that already hold it may re-enter
                self._jobs[job.id] = job
        return job

    def _forget(self, job: Job) -> None:
        self._jobs.pop(job.id, None)

    def _start(self, job: Job) -> None:  # holds the lock
        job.state = RUNNING
        job.started_at = time.monotonic()
        job.last_poll = max(job.last_poll, job.started_at)  # waiting in the queue does not count as idle
        job.snapshot_requested = True
        self._rotation.append(job)

    def _finish(self, job: Job, state: str, error: str | None = None) -> None:  # holds the lock
        job.state, job.error = state, error
        if job.on_end:
            job.ending = True
            self._ended.append(job)
        if job.kind == "stream":
            if state != DONE:
                job.task.fail(error or "generation stopped")
            self.decode_totals["forwards"] += job.task.steps
            self.decode_totals["rows"] += job.task.rows_stepped
            self._groups = {k: j for k, j in self._groups.items() if j is not job}
            self._jobs.pop(job.id, None)
        if job.kind == "train":
            while self._waiting and self._active_train() < self.config.max_train_jobs:
                self._start(self._waiting.popleft())
            for position, waiting in enumerate(self._waiting, 1):
                waiting.snapshot = {"queue_position": position}
        self._lock.notify_all()

    def _active_train(self) -> int:
        return sum(1 for j in self._jobs.values() if j.kind == "train" and j.state in (RUNNING, PAUSED))

    def _free_memory(self) -> None:
        free_memory(self.device)

    def _loop(self) -> None:
        # The first optimizer built in a process imports torch._dynamo (seconds): pay that now, not on the first Start.
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
        while True:
            self._enforce_limits()
            self._run_end_callbacks()
            if self._worked_at and time.monotonic() - self._worked_at >= IDLE_RELEASE_S:
                self._worked_at = 0.0  # idle after work: give back what visitors' runs and caches left (once)
                self._free_memory()
            with self._lock:
                while not self._stopping and not self._interactive and not self._has_runnable() and not self._ended:
                    self._lock.wait(timeout=1.0)
                    if time.monotonic() - self._checked_limits_at >= 1.0:
                        break
                if self._stopping:
                    return
                interactive = self._interactive.popleft() if self._interactive else None
                job = None if interactive else self._next_in_rotation()
            if interactive is not None:
                self._run_interactive(*interactive)
            elif job is not None:
                self._run_slice(job)
            if interactive is not None or job is not None:
                self._worked_at = time.monotonic()

    def _enforce_limits(self) -> None:
        """End visitors' runs that outstayed their RunLimits (checked about once a second)."""
        now = time.monotonic()
        if now - self._checked_limits_at < 1.0:
            return
        self._checked_limits_at = now
        with self._lock:
            for job in list(self._jobs.values()):
                if job.kind != "train" or job.finished:
                    continue
                reason = over_limits(job, now)
                if reason:
                    if job in self._waiting:
                        self._waiting.remove(job)
                    job.ended_by = reason
                    self._finish(job, DONE)

    def _run_end_callbacks(self) -> None:
        while True:
            with self._lock:
                if not self._ended:
                    return
                job = self._ended.popleft()
                callbacks, job.on_end = list(job.on_end), []
            for callback in callbacks:
                try:
                    callback(job)
                except BaseException as err:  # a failing clean-up must not take the worker down
                    job.error = job.error or f"could not save the run: {describe_error(err)}"
            job.ending = False

    @staticmethod
    def _runnable(job: Job) -> bool:
        if job.kind == "stream":  # a decode group with tokens to make (or rows to let go)
            return job.task.ready or job.task.done
        return job.state == RUNNING or job.snapshot_requested

    def _has_runnable(self) -> bool:
        return any(not j.finished and self._runnable(j) for j in self._rotation)

    def _next_in_rotation(self) -> Job | None:  # holds the lock
        """Round-robin over training runs and decode groups; a decode group that has tokens to make also
        gets the turn after every training slice (people watch text arrive; training is background work)."""
        if self._last_kind == "train":
            for job in self._rotation:
                if job.kind == "stream" and not job.finished and self._runnable(job):
                    self._last_kind = "stream"
                    return job
        for _ in range(len(self._rotation)):
            job = self._rotation.popleft()
            if job.finished:
                continue
            self._rotation.append(job)
            if self._runnable(job):
                self._last_kind = job.kind
                return job
        return None

    def _run_interactive(self, job: Job, fn: Callable[[], Any], future: Future) -> None:
        if isinstance(fn, _Batchable):
            return self._run_batch(fn, future)
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn())
        except BaseException as err:  # the worker must outlive any job
            future.set_exception(self._caller_error(err))

    def _run_batch(self, first: "_Batchable", future: Future) -> None:
        """``first`` and every queued call with its key, as one ``run_batch`` (each alone if that fails)."""
        group = [(first, future)]
        with self._lock:
            rest = collections.deque()
            while self._interactive:
                entry = self._interactive.popleft()
                _, fn, other = entry
                if isinstance(fn, _Batchable) and fn.key == first.key and len(group) < MAX_BATCH_CALLS:
                    group.append((fn, other))
                else:
                    rest.append(entry)
            self._interactive = rest
        group = [(fn, fut) for fn, fut in group if fut.set_running_or_notify_cancel()]  # callers that gave up leave
        if not group:
            return
        self.batch_stats["batches"] += 1
        self.batch_stats["calls"] += len(group)
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
                    fut.set_result(fn.run_batch([fn.item])[0])
                except BaseException as alone:
                    fut.set_exception(self._caller_error(alone))

    def _caller_error(self, err: BaseException) -> StudioError:
        if isinstance(err, torch.cuda.OutOfMemoryError):
            self._free_memory()
        return err if isinstance(err, StudioError) else StudioError(describe_error(err))

    def _run_slice(self, job: Job) -> None:
        deadline = time.perf_counter() + self.config.slice_ms / 1000.0
        try:
            if job.kind == "stream":
                self._stream_slice(job, deadline)
            else:
                self._train_slice(job, deadline)
        except BaseException as err:
            if isinstance(err, torch.cuda.OutOfMemoryError):
                self._free_memory()
            with self._lock:
                if not job.finished:
                    self._finish(job, FAILED, describe_error(err))
            if job.kind == "train":
                self._publish(job)

    def _stream_slice(self, job: Job, deadline: float) -> None:
        group = job.task
        while job.state == RUNNING and not self._interactive and group.ready:
            group.step()
            if time.perf_counter() >= deadline:
                break
        if group.done:
            with self._lock:
                if group.done and not job.finished:  # nobody joined meanwhile
                    self._finish(job, DONE)

    def _train_slice(self, job: Job, deadline: float) -> None:
        task = job.task
        every = getattr(task, "snapshot_every_s", self.config.snapshot_every_s)  # a task may want more frames
        while job.state == RUNNING and not self._interactive and not task.done:
            task.step()
            if time.perf_counter() - job.last_snapshot_at >= every:
                self._publish(job)
            if time.perf_counter() >= deadline:
                break
        if task.done and job.state == RUNNING:
            self._publish(job)
            with self._lock:
                self._finish(job, DONE)
        elif job.snapshot_requested:
            self._publish(job)

    def _publish(self, job: Job) -> None:
        job.snapshot_requested = False
        job.last_snapshot_at = time.perf_counter()
        if job.task is None:
            return
        try:
            job.snapshot = job.task.snapshot()
        except BaseException as err:
            with self._lock:
                if not job.finished:
                    self._finish(job, FAILED, f"snapshot failed: {describe_error(err)}")


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine, started on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine()
        return _engine
