"""`python -m ganstudio bench sample`: server time of one Explore slider move.

One move = ``actions.explore`` for a 16-sample grid of the bundled digits generator (six slider
values, SeFa directions; the generator and its directions already cached, as after the first
move) plus PNG-encoding the grid, which is what Gradio does before sending it. Measured alone,
then while a training run shares the engine's worker: the Train tab's default run (ring8, 2D MLP;
``slider_ms_p95_while_training``) and a digits DCGAN run (``..._while_training_digits``). The
worker can only step in between a run's ``step()`` calls, so a slider move waits for at most one
training step: that step's length bounds the second number.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ganstudio.actions import explore
from ganstudio.engine import get_engine
from ganstudio.errors import StudioError

OWNER = "bench-sample"
GRID = 16
MOVES_MIN = 20  # at least this many moves per phase, however short --seconds is
TRAIN_START_TIMEOUT_S = 120.0  # loading the digits and the first steps, on a slow shared CPU


def _slider_move(spec: str, values: list[float]) -> tuple[float, float]:
    """(wall ms, process CPU ms) for one move, PNG encoding included."""
    start, cpu = time.perf_counter(), time.process_time()
    image = explore.explore(spec, 0, GRID, 1.0, None, "sefa", values, owner=OWNER)
    image.save(io.BytesIO(), format="PNG")
    return (time.perf_counter() - start) * 1000.0, (time.process_time() - cpu) * 1000.0


def _phase(spec: str, seconds: float, rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """Random-walk the six sliders for `seconds`, as a hand dragging them would: (wall ms, CPU ms) lists."""
    values = np.zeros(6)
    walls: list[float] = []
    cpus: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(walls) < MOVES_MIN:
        values = np.clip(values + rng.normal(0, 0.5, size=6), -explore.ALPHA_LIMIT, explore.ALPHA_LIMIT)
        wall, cpu = _slider_move(spec, [round(float(v), 1) for v in values])
        walls.append(wall)
        cpus.append(cpu)
        time.sleep(0.005)  # a browser sends moves with gaps; let the worker schedule training between them
    return walls, cpus


def _start_training(engine, data: str, folder: Path):
    """A run with the Train tab's defaults for `data`, no budget (cancelled when we are done), trained as a
    visitor's run is (a LiveRun in `folder`, where nothing is saved)."""
    from ganstudio.gan.config import TrainConfig
    from ganstudio.gan.live_run import LiveRun

    cfg = TrainConfig.defaults_for(data, steps=0, seconds=0.0, metric_every_s=0.0)
    run = LiveRun(cfg, None, engine.device, folder)
    job = engine.submit_training(run, owner=OWNER + "-train")
    deadline = time.perf_counter() + TRAIN_START_TIMEOUT_S
    while run.trainer is None or run.trainer.step_count < 3:  # built on the worker, then past the first, slow steps
        if job.finished:
            raise StudioError(f"the benchmark's training run stopped: {job.error or job.state}")
        if time.perf_counter() > deadline:
            raise StudioError("the benchmark's training run did not start in time")
        time.sleep(0.05)
    return job, run.trainer


def _stats(times: list[float]) -> tuple[float, float]:
    return round(float(np.percentile(times, 50)), 2), round(float(np.percentile(times, 95)), 2)


def _while_training(engine, spec: str, seconds: float, rng: np.random.Generator, data: str) -> tuple[list, float]:
    """Slider moves while a `data` training run shares the worker; also the run's steps per second."""
    folder = tempfile.TemporaryDirectory(prefix="ganstudio-bench-")
    job, trainer = _start_training(engine, data, Path(folder.name))
    try:
        steps_before, t_before = trainer.step_count, time.perf_counter()
        times, _ = _phase(spec, seconds, rng)
        rate = (trainer.step_count - steps_before) / (time.perf_counter() - t_before)
    finally:
        engine.cancel(job.id)
        engine.run(lambda: None, owner=OWNER)  # returns once the worker has left the cancelled run's step
        engine.forget(job.id)
        folder.cleanup()
    return times, rate


def run(args) -> dict:
    import torch

    spec = getattr(args, "model", None) or "digits-dcgan"
    seconds = float(getattr(args, "seconds", None) or 5.0)
    engine = get_engine()
    rng = np.random.default_rng(0)

    explore.sample_grid(spec, 0, GRID, 1.0, None, owner=OWNER)  # load and cache the generator
    _slider_move(spec, [0.5] * 6)  # compute and cache the SeFa directions
    alone, alone_cpu = _phase(spec, seconds, rng)

    busy, rate = _while_training(engine, spec, seconds, rng, "ring8")
    busy_digits, rate_digits = _while_training(engine, spec, seconds, rng, "digits")

    p50, p95 = _stats(alone)
    cpu_p50, cpu_p95 = _stats(alone_cpu)
    busy_p50, busy_p95 = _stats(busy)
    digits_p50, digits_p95 = _stats(busy_digits)
    return {
        "model": spec,
        "device": str(engine.device),
        "torch_threads": torch.get_num_threads(),
        "cpu_load_1min": round(os.getloadavg()[0], 2),  # other processes on a shared machine skew every number
        "grid": GRID,
        "moves_alone": len(alone),
        "slider_ms_p50": p50,
        "slider_ms_p95": p95,
        "slider_cpu_ms_p50": cpu_p50,  # CPU the move used: its wall time on an otherwise idle core
        "slider_cpu_ms_p95": cpu_p95,
        "moves_while_training": len(busy),
        "slider_ms_p50_while_training": busy_p50,
        "slider_ms_p95_while_training": busy_p95,
        "ring8_train_steps_per_s_while_sliding": round(rate, 2),
        "slider_ms_p50_while_training_digits": digits_p50,
        "slider_ms_p95_while_training_digits": digits_p95,
        "digits_train_steps_per_s_while_sliding": round(rate_digits, 2),
        "goal_p95_ms": 30,
        "goal_p95_while_training_ms": 150,
    }
