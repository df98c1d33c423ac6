"""What the engine schedules: a job's states, its record, the limits a visitor's run lives under, and what a
training task and a decode group must provide. Plain data, readable from any thread; `ganstudio.engine` runs
them, each behind its `ganstudio.turns.Turn`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from ganstudio.settings import SETTINGS

QUEUED, RUNNING, PAUSED, DONE, FAILED, CANCELLED = "queued", "running", "paused", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)


class TrainingTask(Protocol):
    """What a training run gives the engine."""

    done: bool  # its budget is spent (or it was stopped): the job ends DONE
    snapshot_every_s: float | None  # how stale its published snapshot may get while it trains (None: the engine's)

    def step(self) -> None: ...  # one small unit of work (ideally < 20 ms)

    def snapshot(self) -> dict: ...  # plain types: numbers, lists, numpy arrays, PIL images

    # optional (a task without it never rests): seconds it leaves the device to others before its next step, 0: now
    def rest_s(self) -> float: ...


class DecodeGroup(Protocol):
    """What a decode group gives the engine (``ganstudio.gpt.batch_decode.DecodeBatch``): the live generations
    of one model, stepped together. ``add``, ``live_rows`` and ``close_owner`` may be called from any thread."""

    ready: bool  # a row to admit or drop, or a row whose reader has room for a token
    done: bool  # no rows left: the group ends
    steps: int  # forwards run so far
    rows_stepped: int  # rows summed over those forwards

    def add(self, prompt_ids: list[int], cfg: Any, owner: str) -> Any: ...  # a new row, read by its caller

    def step(self) -> None: ...  # one batched forward, a token per row

    def live_rows(self, owner: str | None = None) -> int: ...

    def close_owner(self, owner: str) -> None: ...  # let a session's rows go at the next step

    def fail(self, message: str) -> None: ...  # the group cannot go on: every reader hears why


@dataclass
class EngineConfig:
    slice_ms: float = SETTINGS.slice_ms  # how long one training run keeps the device before the next gets it
    snapshot_every_s: float = 0.5  # how stale a run's published snapshot may get while it trains
    max_train_jobs: int = SETTINGS.max_train_jobs  # runs that share the device at once; more wait queued
    max_queued_train_jobs: int = SETTINGS.max_queued_train_jobs  # past this, new runs are refused as busy


@dataclass(frozen=True)
class RunLimits:
    """How long a visitor's training run may hold a slot; 0 turns a limit off."""

    idle_s: float = 0.0  # ends when nobody polled it for this long (a closed tab, a raw API call)
    paused_s: float = 0.0  # ends when paused for this long (paused runs still hold a slot)
    max_s: float = 0.0  # ends this long after it started, whatever it does (a public host's fair share)


@dataclass
class ViewPrefs:
    """How a visitor watches their training runs (kept in their session, changed at any time, read by the run at
    every step): the live view's pace and what it draws."""

    pace: int | None = None  # steps per frame of the live view while a page watches; 0: full speed; None: slow start
    arrows: bool = False  # draw G's push on each generated point while it trains (manual steps always show it)


@dataclass
class Job:
    """One unit of scheduled work, readable from any thread."""

    id: str  # its kind and a number: "train-3", "stream-4"
    owner: str  # the Gradio session (or "cli"; "shared" for a decode group)
    state: str = QUEUED
    snapshot: dict = field(default_factory=dict)  # replaced whole by the worker, never mutated in place
    error: str | None = None
    created: float = field(default_factory=time.time)
    task: Any = None  # its Turn (ganstudio.turns), which holds the training task or decode group; None once forgotten
    snapshot_requested: bool = False
    last_snapshot_at: float = 0.0
    limits: RunLimits = field(default_factory=RunLimits)
    last_poll: float = field(default_factory=time.monotonic)  # touched by whoever watches the run
    started_at: float | None = None  # monotonic time the run got the device (queued time is not counted)
    paused_at: float | None = None
    ended_by: str | None = None  # why a run ended early, in words ("stopped", "ended: nobody watched it ...")
    on_end: list = field(default_factory=list)  # callables(job), run once on the worker after the job ends
    ending: bool = False  # finished, but its on_end callbacks (saving the run) have not run yet

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


def over_limits(job: Job, now: float) -> str | None:
    """Why a run must end now under its RunLimits, in words; None while it may go on."""
    limits = job.limits
    if limits.idle_s and now - job.last_poll > limits.idle_s:
        return f"ended: nobody watched it for {limits.idle_s:.0f} s"
    if limits.paused_s and job.state == PAUSED and job.paused_at is not None and now - job.paused_at > limits.paused_s:
        return f"ended: paused for more than {limits.paused_s / 60:.0f} min"
    if limits.max_s and job.started_at is not None and now - job.started_at > limits.max_s:
        return f"ended: runs here last at most {limits.max_s / 60:.0f} min"
    return None
