"""The engine's scheduling promises, with tiny fake tasks (no models needed)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from waiting import HANG_S, queued_calls, wait_until, worker_held

from ganstudio.engine import Engine
from ganstudio.jobs import CANCELLED, DONE, FAILED, PAUSED, QUEUED, EngineConfig
from ganstudio.errors import Busy, StudioError
from ganstudio.gpt.batch_decode import END, Row
from ganstudio.gpt.generate import SamplingConfig, TokenStep


SLICE_STEPS = 60  # the most 1-ms steps one 60-ms slice (the fixture's) can hold


class CountingTask:
    """A training run whose step burns `step_ms` of CPU time and counts; step number ``hold_at`` (0-based) sets
    ``held`` and waits for ``release`` before it runs (a step in flight, for as long as the test likes)."""

    snapshot_every_s = None  # the engine's pace

    def __init__(self, steps=10_000, step_ms=2.0, fail_at=None, log=None, name="", hold_at=None):
        self.steps, self.step_ms, self.fail_at, self.log, self.name = steps, step_ms, fail_at, log, name
        self.hold_at, self.held, self.release = hold_at, threading.Event(), threading.Event()
        self.count = 0
        self._stepped = threading.Condition()

    @property
    def done(self):
        return self.count >= self.steps

    def step(self):
        if self.fail_at is not None and self.count == self.fail_at:
            raise ValueError("boom at step %d" % self.count)
        if self.count == self.hold_at:
            self.held.set()
            self.release.wait(HANG_S)
        end = time.perf_counter() + self.step_ms / 1000
        while time.perf_counter() < end:
            pass
        with self._stepped:
            self.count += 1
            self._stepped.notify_all()
        if self.log is not None:
            self.log.append(self.name)

    def snapshot(self):
        return {"step": self.count}

    def wait_for(self, count):
        """Return once this run has made ``count`` steps."""
        with self._stepped:
            assert self._stepped.wait_for(lambda: self.count >= count, HANG_S), f"stuck at step {self.count}"


class WorkerTicks:
    """Counts the worker's loop turns: it turns at least once a second while idle (each idle turn may free memory)."""

    def __init__(self, engine):
        self.engine = engine

    def wait_for_more(self, turns):
        target = self.engine.turns + turns
        wait_until(lambda: self.engine.turns >= target, "the worker stopped turning")


@pytest.fixture
def engine():
    eng = Engine(device="cpu", config=EngineConfig(slice_ms=60, snapshot_every_s=0.05, max_train_jobs=2, max_queued_train_jobs=1))
    yield eng
    eng.shutdown()


def test_interactive_runs_on_worker_and_returns(engine):
    names = engine.run(lambda: threading.current_thread().name)
    assert names == "ganstudio-engine"
    assert engine.run(lambda: torch.ones(2).sum().item()) == 2.0


def test_interactive_jobs_run_in_order(engine):
    seen = []
    with ThreadPoolExecutor(5) as callers, worker_held(engine):
        for i in range(5):  # each call queued before the next is made
            callers.submit(engine.run, lambda i=i: seen.append(i))
            wait_until(lambda: queued_calls(engine) == i + 1, f"call {i} to queue")
    assert seen == [0, 1, 2, 3, 4]


def test_interactive_preempts_long_training(engine):
    """An interactive call waits for the training step in flight, never for the rest of the slice (60 ms: about
    twelve of these 5-ms steps)."""
    task = CountingTask(step_ms=5, hold_at=20)
    job = engine.submit_training(task, owner="a")
    assert task.held.wait(HANG_S)  # step 21 is in flight
    with ThreadPoolExecutor(1) as caller:
        steps_seen = caller.submit(engine.run, lambda: task.count)
        wait_until(lambda: queued_calls(engine) == 1, "the call to queue")
        task.release.set()
        assert steps_seen.result(HANG_S) == 21  # it ran as soon as step 21 ended
    engine.cancel(job.id)


def test_training_jobs_share_the_device_round_robin(engine):
    log = []
    task_a, task_b = CountingTask(step_ms=1, log=log, name="a"), CountingTask(step_ms=1, log=log, name="b")
    a, b = engine.submit_training(task_a, owner="s1"), engine.submit_training(task_b, owner="s2")
    task_a.wait_for(2 * SLICE_STEPS + 1)  # more steps than two slices hold, each
    task_b.wait_for(2 * SLICE_STEPS + 1)
    engine.cancel(a.id)
    engine.cancel(b.id)
    switches = sum(1 for x, y in zip(log, log[1:]) if x != y)
    assert switches >= 3  # they alternate slice by slice instead of one finishing first


def test_snapshot_published_without_blocking(engine):
    job = engine.submit_training(CountingTask(step_ms=1), owner="a")
    wait_until(lambda: job.snapshot.get("step", 0) > 10, "a snapshot past step 10")
    engine.cancel(job.id)


def test_pause_resume_cancel(engine):
    """A paused or cancelled run makes no step while the worker goes on with another run's slices (round-robin:
    the paused run's turns come between them)."""
    task, other = CountingTask(step_ms=1), CountingTask(step_ms=1)
    job = engine.submit_training(task, owner="a")
    task.wait_for(6)
    engine.pause(job.id)
    assert job.state == PAUSED
    engine.submit_training(other, owner="b")
    engine.run(lambda: None)  # the step in flight when Pause came has ended
    frozen = task.count
    other.wait_for(other.count + 3 * SLICE_STEPS)
    assert task.count == frozen
    assert job.snapshot["step"] == frozen  # a paused run publishes its final state
    engine.resume(job.id)
    task.wait_for(frozen + 6)
    engine.cancel(job.id)
    assert job.state == CANCELLED
    engine.run(lambda: None)
    stopped = task.count
    other.wait_for(other.count + 3 * SLICE_STEPS)
    assert task.count == stopped
    engine.cancel_owner("b")


def test_job_completes(engine):
    job = engine.submit_training(CountingTask(steps=30, step_ms=0.5), owner="a")
    wait_until(lambda: job.state == DONE, "the run to finish")
    assert job.snapshot["step"] == 30


def test_failure_is_isolated(engine):
    bad = engine.submit_training(CountingTask(fail_at=3, step_ms=0.5), owner="a")
    wait_until(lambda: bad.state == FAILED, "the run to fail")
    assert bad.error == "ValueError: boom at step 3"
    with pytest.raises(StudioError, match="ZeroDivisionError"):
        engine.run(lambda: 1 / 0)
    good = engine.submit_training(CountingTask(steps=10, step_ms=0.5), owner="b")
    wait_until(lambda: good.state == DONE, "the good run to finish")
    assert engine.run(lambda: "alive") == "alive"


def test_per_session_and_global_caps(engine):
    first = engine.submit_training(CountingTask(), owner="s1")
    with pytest.raises(Busy, match="already has a training run"):
        engine.submit_training(CountingTask(), owner="s1")
    engine.submit_training(CountingTask(), owner="s2")
    third = engine.submit_training(CountingTask(steps=5, step_ms=0.5), owner="s3")  # over the cap of 2: queued
    assert third.state == QUEUED
    assert engine.queue_position(third.id) == 1
    assert third.snapshot["queue_position"] == 1
    with pytest.raises(Busy, match="busy: 2 training runs"):
        engine.submit_training(CountingTask(), owner="s4")  # queue of 1 is full
    engine.cancel(first.id)
    wait_until(lambda: third.state == DONE, "the queued run to start and finish")


def test_session_cleanup_cancels_and_forgets(engine):
    task = CountingTask()
    job = engine.submit_training(task, owner="gone")
    task.wait_for(4)
    assert engine.cancel_owner("gone") == 1
    assert job.state == CANCELLED
    assert engine.jobs_of("gone") == []
    engine.submit_training(CountingTask(steps=1), owner="gone")  # the slot is free again


class CountingGroup:
    """A decode group whose rows each count 0, 1, 2, ... up to their prompt's one number; it records where it ran."""

    def __init__(self, fail_after=None):
        self.rows, self.threads, self.steps, self.rows_stepped, self.fail_after = [], set(), 0, 0, fail_after

    def add(self, prompt_ids, cfg, owner="cli"):
        row = Row(list(prompt_ids), SamplingConfig(max_new_tokens=1000), owner)
        self.rows.append(row)
        return row

    @property
    def ready(self):
        return any(r.closed or r.out.qsize() < 4 for r in self.rows)

    @property
    def done(self):
        return not self.rows

    def live_rows(self, owner=None):
        return sum(1 for r in self.rows if not r.closed and owner in (None, r.owner))

    def close_owner(self, owner):
        for r in self.rows:
            if r.owner == owner:
                r.close()

    def fail(self, message):
        for r in self.rows:
            r.error = message
            r.out.put(END)
        self.rows = []

    def step(self):
        self.threads.add(threading.current_thread().name)
        self.rows = [r for r in self.rows if not r.closed]
        self.steps += 1
        if self.fail_after is not None and self.steps > self.fail_after:
            raise RuntimeError("tokenizer exploded")
        for r in list(self.rows):
            if r.out.qsize() < 4:
                self.rows_stepped += 1
                r.produced += 1
                r.out.put(TokenStep(r.produced - 1, str(r.produced - 1), 1.0, []))
                if r.produced == r.prompt_ids[0]:
                    r.out.put(END)
                    self.rows.remove(r)


def test_decode_group_runs_on_the_worker_and_a_row_can_stop(engine):
    group = CountingGroup()
    row = engine.decode("m", lambda: group, [1000], None, owner="a")
    items = []
    for step in row.tokens():
        items.append(step.token_id)
        if len(items) == 5:
            row.close()
    assert items[:5] == [0, 1, 2, 3, 4] and len(items) <= 6  # Stop: what was queued is dropped
    assert group.threads == {"ganstudio-engine"}
    wait_until(lambda: engine.live_streams() == 0, "the stopped row to leave")


def test_rows_of_one_model_share_a_group_and_backpressure_holds_them(engine):
    group = CountingGroup()
    with worker_held(engine):  # both rows are there at the group's first step
        fast = engine.decode("m", lambda: group, [30], None, owner="a")
        slow = engine.decode("m", lambda: CountingGroup(), [30], None, owner="b")  # same key: joins the first group
    assert [s.token_id for s in fast.tokens()] == list(range(30))
    assert slow.out.qsize() <= 6 and slow.produced <= 6  # nobody read it: it waited instead of racing ahead
    assert [s.token_id for s in slow.tokens()] == list(range(30))
    assert group.rows_stepped > group.steps  # both rows in one step (the first, at least)


def test_group_error_reaches_every_reader(engine):
    row = engine.decode("broken", lambda: CountingGroup(fail_after=2), [100], None, owner="a")
    with pytest.raises(StudioError, match="tokenizer exploded"):
        list(row.tokens())
    assert engine.run(lambda: "alive") == "alive"


def test_decode_and_training_alternate(engine):
    task = CountingTask(step_ms=1)
    engine.submit_training(task, owner="t")
    task.wait_for(4)
    row = engine.decode("m", lambda: CountingGroup(), [50], None, owner="s")
    assert [s.token_id for s in row.tokens()] == list(range(50))
    task.wait_for(task.count + 6)


def test_out_of_memory_fails_the_job_with_a_clear_message(engine):
    class Hungry(CountingTask):
        def step(self):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    job = engine.submit_training(Hungry(), owner="a")
    wait_until(lambda: job.state == FAILED, "the run to fail")
    assert job.error == "out of GPU memory — try a smaller batch size or model"
    with pytest.raises(StudioError, match="out of GPU memory"):
        engine.run(lambda: (_ for _ in ()).throw(torch.cuda.OutOfMemoryError("boom")))
    assert engine.run(lambda: "alive") == "alive"


def test_an_idle_worker_hands_memory_back_once_after_work(engine, monkeypatch):
    """Visitors leave runs and caches behind: once the worker has been idle a while, it frees them (gc and glibc's
    malloc_trim), once, not on every idle tick."""
    import ganstudio.device as device_module
    import ganstudio.engine as engine_module

    trims, ticks = [], WorkerTicks(engine)
    monkeypatch.setattr(engine_module, "IDLE_RELEASE_S", 0.2)
    monkeypatch.setattr(device_module, "_MALLOC_TRIM", lambda pad: trims.append(pad))
    engine.run(lambda: None)
    wait_until(lambda: len(trims) == 1, "memory handed back after work")
    ticks.wait_for_more(2)  # idle turns: none of them trims again without new work
    assert len(trims) == 1
    engine.run(lambda: None)
    wait_until(lambda: len(trims) == 2, "memory handed back after new work")


def test_sessions_ending_together_cost_the_worker_one_clean_up(engine, monkeypatch):
    """A script's made-up sessions all end (silent for an hour): the worker frees memory once it idles, not once per
    session (each is a full gc, ~0.1 s of the worker with models loaded)."""
    import ganstudio.device as device_module
    import ganstudio.engine as engine_module

    trims, ticks = [], WorkerTicks(engine)
    monkeypatch.setattr(engine_module, "IDLE_RELEASE_S", 0.2)
    monkeypatch.setattr(device_module, "_MALLOC_TRIM", lambda pad: trims.append(pad))
    for i in range(50):
        engine.cancel_owner(f"script-{i}")
    wait_until(lambda: len(trims) == 1, "memory handed back once the sessions ended")
    ticks.wait_for_more(2)
    assert len(trims) == 1


def test_a_run_reads_as_ending_until_its_end_callbacks_have_run(engine):
    """Pollers never wait for the worker, so between a run finishing and its save they must see that the save is still
    to come (the page keeps polling until then, instead of settling its buttons on "not saved")."""
    saving, saved = threading.Event(), threading.Event()

    def save(job):
        saving.set()
        saved.wait(HANG_S)

    job = engine.submit_training(CountingTask(), owner="a", on_end=save)
    assert job.state == "running"
    engine.stop(job.id)
    assert saving.wait(HANG_S)
    assert job.finished and job.ending
    saved.set()
    wait_until(lambda: not job.ending, "the end callbacks to finish")
