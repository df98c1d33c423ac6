"""What takes turns on the engine's device: a training run or a decode group, each behind one interface.

The worker keeps a rotation of jobs whose ``Job.task`` is a ``Turn``. It gives each, in turn, a time slice
(``run_slice``), ends it when its work is over (``work_done``) and tells it how it ended (``ended``); it asks
nothing else of them and never branches on their kind:

* ``TrainTurn``: a ``TrainingTask`` stepped for a slice, its snapshot published on the job every
  ``snapshot_every_s`` (any thread reads it there without waiting for the worker). A task that ``rest_s``
  (a watched run at a slow pace) ends its slice there, is published, and wants no turn until its rest is over:
  the worker serves others meanwhile and wakes for it when it is due (``wake_in``);
* ``DecodeTurn``: a ``DecodeGroup`` (all live generations of one model) stepped while its readers have room.
  People watch text arrive, so it is ``urgent``: it also gets the turn after every training slice.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Callable, ClassVar

from ganstudio.device import describe_error
from ganstudio.errors import StudioError
from ganstudio.jobs import DONE, RUNNING, DecodeGroup, Job, TrainingTask


class Turn(ABC):
    """One job's share of the device, taken a slice at a time on the worker."""

    kind: ClassVar[str]  # names its jobs: "train-3"
    urgent: ClassVar[bool] = False  # people watch it happen: it also gets the turn after every other slice

    @abstractmethod
    def wants_turn(self, job: Job) -> bool:
        """It has work for the device now (read under the engine's lock)."""

    @abstractmethod
    def run_slice(self, job: Job, deadline: float, interrupted: Callable[[], bool]) -> None:
        """Work until ``deadline`` (a perf_counter time), until ``interrupted()`` (an interactive call waits)
        or until there is nothing to do."""

    @abstractmethod
    def work_done(self, job: Job) -> bool:
        """Its work is over: the engine ends the job DONE (asked under the engine's lock)."""

    def wake_in(self, job: Job) -> float | None:
        """Seconds until it wants a turn though it wants none now (a resting run); None: it will say so itself."""
        return None

    def ended(self, job: Job, state: str, error: str | None) -> None:
        """The job has ended (called once, under the engine's lock)."""

    def after_failure(self, job: Job) -> None:
        """A slice raised and the job has failed: leave what can still be shown."""


class TrainTurn(Turn):
    kind = "train"

    def __init__(self, task: TrainingTask, snapshot_every_s: float):
        self.task = task
        self.snapshot_every_s = snapshot_every_s  # the engine's pace, for tasks that set none
        self.rest_s: Callable[[], float] = getattr(task, "rest_s", _no_rest)

    def wants_turn(self, job: Job) -> bool:
        # a paused run still publishes when asked; a resting one waits (an ended one must reach work_done)
        return (job.state == RUNNING and (self.task.done or self.rest_s() <= 0)) or job.snapshot_requested

    def wake_in(self, job: Job) -> float | None:
        return self.rest_s() if job.state == RUNNING else None

    def run_slice(self, job: Job, deadline: float, interrupted: Callable[[], bool]) -> None:
        task = self.task
        every = task.snapshot_every_s or self.snapshot_every_s
        while job.state == RUNNING and not interrupted() and not task.done and self.rest_s() <= 0:
            task.step()
            resting = self.rest_s() > 0  # this frame's steps are made: show them now
            if resting or time.perf_counter() - job.last_snapshot_at >= every:
                self.publish(job)
            if resting or time.perf_counter() >= deadline:
                break
        if self.work_done(job) or job.snapshot_requested:
            self.publish(job)  # a finished run shows its last state

    def work_done(self, job: Job) -> bool:
        return self.task.done and job.state == RUNNING  # a paused run ends once it is resumed

    def publish(self, job: Job) -> None:
        """Replace the job's snapshot with a fresh one (whole, never mutated in place)."""
        job.snapshot_requested = False
        job.last_snapshot_at = time.perf_counter()
        try:
            job.snapshot = self.task.snapshot()
        except BaseException as err:
            raise StudioError(f"snapshot failed: {describe_error(err)}") from err

    def after_failure(self, job: Job) -> None:
        try:
            self.publish(job)
        except StudioError:
            pass  # the job's error already says what went wrong


def _no_rest() -> float:
    return 0.0


class DecodeTurn(Turn):
    kind = "stream"
    urgent = True

    def __init__(self, group: DecodeGroup, totals: dict[str, int]):
        self.group = group
        self.totals = totals  # the engine's counts of finished groups ("forwards", "rows"): this one's join them

    def wants_turn(self, job: Job) -> bool:
        return self.group.ready or self.group.done  # tokens to make, or rows to let go

    def run_slice(self, job: Job, deadline: float, interrupted: Callable[[], bool]) -> None:
        group = self.group
        while job.state == RUNNING and not interrupted() and group.ready:
            group.step()
            if time.perf_counter() >= deadline:
                break

    def work_done(self, job: Job) -> bool:
        return self.group.done  # under the lock: nobody joined meanwhile

    def ended(self, job: Job, state: str, error: str | None) -> None:
        if state != DONE:
            self.group.fail(error or "generation stopped")
        self.totals["forwards"] += self.group.steps
        self.totals["rows"] += self.group.rows_stepped
