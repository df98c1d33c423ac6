"""The engine: one worker thread owns the compute device and runs all model work.

Three kinds of work reach the worker:

* interactive calls (`Engine.run`, `Engine.batched`): sampling, a slider move, an attention map.
  They run before anything else, so they wait at most for the training *step* in flight; calls
  that arrive together for the same model (`batched`, same key) run as one batch, one forward
  pass for all of them, and each caller gets its own share of the result (``ganstudio.calls``);
* decode groups (`Engine.decode`): token-by-token generation with continuous batching. All live
  generations of one model form one group (``ganstudio.gpt.batch_decode.DecodeBatch``) that decodes
  them together, one forward per step; a group shares the device with training runs round-robin,
  one time slice each;
* training runs (`Engine.submit_training`): a task object whose `.step()` is one small unit
  of work. The worker runs steps for a slice (`slice_ms`), then moves on, so several
  sessions' runs share the device fairly. Snapshots (`task.snapshot()`) are taken by the
  worker every `snapshot_every_s` and published on the job, where any thread reads them
  without waiting for the worker. A resting run (a slow pace, ``turns.py``) is woken when due.

Decode groups and training runs take turns behind one interface (``ganstudio.turns.Turn``); every job ends
through ``_finish``. A job that raises is marked failed with a one-line message and the worker lives on.

Visitors' training runs carry ``RunLimits``: a run nobody polls, one paused too long, or one
past the host's maximum length is ended by the worker (its slot freed, its ``on_end`` callbacks
run on the worker so the run can be saved), so no one can hold the device or the queue forever.
"""

from __future__ import annotations

import atexit
import collections
import itertools
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable

import torch

from ganstudio.calls import Batchable, Calls, call_now
from ganstudio.device import describe_error, free_memory, pick_device
from ganstudio.errors import Busy
from ganstudio.jobs import (
    CANCELLED,
    DONE,
    FAILED,
    PAUSED,
    QUEUED,
    RUNNING,
    DecodeGroup,
    EngineConfig,
    Job,
    RunLimits,
    TrainingTask,
    over_limits,
)
from ganstudio.settings import SETTINGS
from ganstudio.turns import DecodeTurn, TrainTurn, Turn

IDLE_RELEASE_S = 2.0  # the worker idle this long after work: hand freed memory back to the OS (once)


class Engine:
    """Owns the device and the worker thread. Use `get_engine()` for the shared one."""

    def __init__(self, device: str | torch.device | None = None, config: EngineConfig | None = None):
        self.config = config or EngineConfig()
        self.device = torch.device(device) if device else pick_device(SETTINGS.device)
        if SETTINGS.threads > 0 and self.device.type == "cpu":
            torch.set_num_threads(SETTINGS.threads)  # process-wide: the worker is the only thread doing model work
        self._lock = threading.Condition()
        self._calls = Calls(self._lock, on_oom=self._free_memory)  # interactive calls, served first
        self._rotation: collections.deque = collections.deque()  # jobs taking turns (runs, decode groups)
        self._waiting: collections.deque = collections.deque()  # training runs over the cap, in order
        self._jobs: dict[str, Job] = {}  # training runs by id, until forgotten
        self._groups: dict[Any, Job] = {}  # model key -> its live decode group's job
        self.batch_stats = self._calls.stats  # calls / batches = how many shared a forward, on average
        self.decode_totals = {"forwards": 0, "rows": 0}  # of decode groups that have finished
        self.turns = 0  # the worker's loop turns so far (at least one a second while idle): what tests wait on
        self._after_background = False  # the last slice was not urgent: an urgent turn goes next
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
            return call_now(fn)
        future: Future = Future()
        with self._lock:
            self._calls.put(fn, future)
            self._lock.notify_all()
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            future.cancel()
            raise Busy(f"the device is busy: no answer within {timeout:.0f} s, try again") from None

    def batched(self, key, item: Any, run_batch: Callable[[list], list], owner: str = "cli",
                timeout: float | None = None) -> Any:
        """Run ``item`` on the worker together with the other queued items of the same ``key``:
        ``run_batch(items) -> results`` (one per item, in order) is called once for all of them."""
        return self.run(Batchable(key, item, run_batch), owner=owner, timeout=timeout)

    def decode(self, key, make_group: Callable[[], DecodeGroup], prompt_ids: list[int], cfg: Any,
               owner: str = "cli"):
        """Add a generation to the decode group of model ``key`` (made by ``make_group()`` the first time);
        returns its row, whose ``tokens()`` yield TokenSteps as the group produces them."""
        with self._lock:
            job = self._groups.get(key)
            if job is None or job.finished:
                job = self._new_job(DecodeTurn(make_group(), self.decode_totals), "shared", RUNNING)
                self._groups[key] = job
                self._rotation.append(job)
            row = job.task.group.add(prompt_ids, cfg, owner)
            row.wake = self._wake
            self._lock.notify_all()
        return row

    def _live_groups(self) -> list[DecodeGroup]:
        with self._lock:
            return [job.task.group for job in self._groups.values() if not job.finished]

    def stop_streams(self, owner: str) -> None:
        """End a session's generations (Stop): every group lets its rows go at its next step."""
        for group in self._live_groups():
            group.close_owner(owner)

    def live_streams(self, owner: str | None = None) -> int:
        """Generations in progress (of one session, or all), across every model's decode group."""
        return sum(group.live_rows(owner) for group in self._live_groups())

    def queued_calls(self) -> int:
        """Interactive calls waiting for the worker."""
        with self._lock:
            return len(self._calls)

    def decode_stats(self) -> dict:
        """Forwards run and rows stepped by every decode group so far (rows / forwards = the mean batch)."""
        with self._lock:
            groups = [job.task.group for job in self._groups.values()]
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
            if any(not j.finished for j in self._jobs.values() if j.owner == owner):
                raise Busy("this session already has a training run — stop it before starting another")
            active = self._active_runs()
            if active >= self.config.max_train_jobs and len(self._waiting) >= self.config.max_queued_train_jobs:
                raise Busy(
                    f"busy: {active} training runs are using the device and {len(self._waiting)} are waiting — "
                    "try again in a few minutes"
                )
            job = self._new_job(TrainTurn(task, self.config.snapshot_every_s), owner, QUEUED)
            self._jobs[job.id] = job
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
            return next((position for position, job in enumerate(self._waiting, 1) if job.id == job_id), None)

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
            if job and job.state == RUNNING:
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
            if job is not None:
                self._finish(job, DONE, ended_by=reason)

    def request_snapshot(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job:
            job.snapshot_requested = True
            with self._lock:
                self._lock.notify_all()

    def cancel(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._finish(job, CANCELLED)

    def cancel_owner(self, owner: str) -> int:
        """Cancel a session's work and forget its jobs (the session ended). Returns how many were live."""
        self.stop_streams(owner)
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.owner == owner]
            live = sum(1 for job in jobs if not job.finished)
            for job in jobs:
                self._finish(job, CANCELLED)
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

    def _new_job(self, turn: Turn, owner: str, state: str) -> Job:
        return Job(id=f"{turn.kind}-{next(self._ids)}", owner=owner, state=state, task=turn)

    def _start(self, job: Job) -> None:  # holds the lock
        job.state = RUNNING
        job.started_at = time.monotonic()
        job.last_poll = max(job.last_poll, job.started_at)  # waiting in the queue does not count as idle
        job.snapshot_requested = True
        self._rotation.append(job)

    def _finish(self, job: Job, state: str, error: str | None = None, ended_by: str | None = None) -> None:
        """End a job however it ends: off the queue, its state set, its turn told, waiting runs admitted in
        the slot it leaves. Ending an ended job does nothing. Holds the lock."""
        if job.finished:
            return
        if job in self._waiting:
            self._waiting.remove(job)
        job.state, job.error = state, error
        job.ended_by = ended_by or job.ended_by
        if job.on_end:
            job.ending = True
            self._ended.append(job)
        job.task.ended(job, state, error)
        self._groups = {k: j for k, j in self._groups.items() if j is not job}
        while self._waiting and self._active_runs() < self.config.max_train_jobs:
            self._start(self._waiting.popleft())
        for position, waiting in enumerate(self._waiting, 1):
            waiting.snapshot = {"queue_position": position}
        self._lock.notify_all()

    def _active_runs(self) -> int:
        return sum(1 for j in self._jobs.values() if j.state in (RUNNING, PAUSED))

    def _free_memory(self) -> None:
        free_memory(self.device)

    def _loop(self) -> None:
        # The first optimizer built in a process imports torch._dynamo (seconds): pay that now, not on the first Start.
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
        while True:
            self.turns += 1
            self._enforce_limits()
            self._run_end_callbacks()
            if self._worked_at and time.monotonic() - self._worked_at >= IDLE_RELEASE_S:
                self._worked_at = 0.0  # idle after work: give back what visitors' runs and caches left (once)
                self._free_memory()
            with self._lock:
                while not self._stopping and not self._calls and not self._has_runnable() and not self._ended:
                    self._lock.wait(timeout=self._idle_wait_s())
                    if time.monotonic() - self._checked_limits_at >= 1.0:
                        break
                if self._stopping:
                    return
                if self._ended:  # a run's end (its save) before any call that came after it: Stop waits on one
                    continue
                interactive = self._calls.pop()
                job = None if interactive else self._next_in_rotation()
                turn = job.task if job is not None else None  # kept for the slice, even if the job is forgotten
            if interactive is not None:
                self._calls.run(*interactive)
            elif job is not None:
                self._run_slice(job, turn)
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
                reason = None if job.finished else over_limits(job, now)
                if reason:
                    self._finish(job, DONE, ended_by=reason)

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
        return not job.finished and job.task.wants_turn(job)

    def _has_runnable(self) -> bool:
        return any(self._runnable(j) for j in self._rotation)

    def _idle_wait_s(self) -> float:  # holds the lock
        """How long the idle worker may wait for news: a second, or until a resting run is due."""
        due = [w for job in self._rotation if not job.finished and (w := job.task.wake_in(job)) is not None]
        return max(0.0, min([1.0, *due]))

    def _next_in_rotation(self) -> Job | None:  # holds the lock
        """Round-robin over training runs and decode groups; an urgent turn (a decode group with tokens to
        make) also gets the turn after every other slice (people watch text arrive; training is background)."""
        if self._after_background:
            for job in self._rotation:
                if self._runnable(job) and job.task.urgent:
                    self._after_background = False
                    return job
        for _ in range(len(self._rotation)):
            job = self._rotation.popleft()
            if job.finished:
                continue
            self._rotation.append(job)
            if self._runnable(job):
                self._after_background = not job.task.urgent
                return job
        return None

    def _run_slice(self, job: Job, turn: Turn) -> None:
        """One time slice of ``job``'s turn; ends the job when its work is over, or FAILED when it raises."""
        try:
            turn.run_slice(job, time.perf_counter() + self.config.slice_ms / 1000.0, lambda: bool(self._calls))
            with self._lock:
                if turn.work_done(job):
                    self._finish(job, DONE)
        except BaseException as err:
            if isinstance(err, torch.cuda.OutOfMemoryError):
                self._free_memory()
            with self._lock:
                self._finish(job, FAILED, describe_error(err))
            turn.after_failure(job)


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine, started on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine()
            # Stop the worker between slices before the interpreter tears torch down: a worker still inside a
            # training step at exit made the process abort ("terminate called without an active exception").
            atexit.register(_engine.shutdown)
        return _engine
