"""Engine overhead and responsiveness.

`engine_vs_bare`: training steps/s of a small 2D GAN run through the engine as a visitor's run would
(a ``LiveRun``, publishing a live snapshot every 0.5 s) divided by the steps/s of the same training in a
bare loop.
`interactive_wait_ms_*`: how long a sampling request waits for the worker while that training runs.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import torch

from ganstudio.engine import Engine
from ganstudio.jobs import EngineConfig
from ganstudio.gan.config import TrainConfig
from ganstudio.gan.live_run import LiveRun
from ganstudio.gan.trainer import GanTrainer

WARMUP_STEPS = 20
SAMPLES_PER_REQUEST = 256


def _config() -> TrainConfig:
    return TrainConfig.defaults_for("grid25", seconds=0, steps=0, seed=0)  # no budget: runs until stopped


def _warmed_up(trainer: GanTrainer) -> GanTrainer:
    for _ in range(WARMUP_STEPS):
        trainer.step()
    return trainer


def bare_steps_per_s(device: torch.device, seconds: float) -> float:
    trainer = _warmed_up(GanTrainer(_config(), device))
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        trainer.step()
        steps += 1
    return steps / (time.perf_counter() - start)


def engine_steps_per_s(engine: Engine, seconds: float, requests: int = 0) -> tuple[float, list[float]]:
    """Train through the engine for `seconds`; optionally fire sampling requests meanwhile and time their waits."""
    with tempfile.TemporaryDirectory(prefix="ganstudio-bench-") as folder:  # the run's folder: nothing is saved
        return _through_engine(engine, LiveRun(_config(), None, engine.device, Path(folder)), seconds, requests)


def _through_engine(engine: Engine, run: LiveRun, seconds: float, requests: int) -> tuple[float, list[float]]:
    trainer = _warmed_up(run.build())
    before = trainer.step_count
    job = engine.submit_training(run, owner="bench")
    start = time.perf_counter()
    waits: list[float] = []
    rng = random.Random(0)
    z = torch.randn(SAMPLES_PER_REQUEST, trainer.cfg.z_dim, device=engine.device)
    while time.perf_counter() - start < seconds:
        if len(waits) < requests:
            time.sleep(rng.uniform(0.02, 0.12))  # requests land at random points inside training slices
            asked = time.perf_counter()
            started = engine.run(lambda: (time.perf_counter(), trainer.generate(z))[0], owner="bench-client")
            waits.append(started - asked)
        else:
            time.sleep(0.05)
    elapsed = time.perf_counter() - start
    steps = trainer.step_count - before
    engine.cancel(job.id)
    engine.forget(job.id)
    return steps / elapsed, waits


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(args) -> dict:
    seconds = args.seconds or 5.0
    engine = Engine(config=EngineConfig(snapshot_every_s=0.5))
    try:
        bare, through = [], []
        for _ in range(2):  # alternate, so drift in machine load hits both sides alike
            bare.append(bare_steps_per_s(engine.device, seconds))
            through.append(engine_steps_per_s(engine, seconds)[0])
        _, waits = engine_steps_per_s(engine, max(seconds, 8.0), requests=60)
    finally:
        engine.shutdown()
    bare_rate, engine_rate = sum(bare) / len(bare), sum(through) / len(through)
    return {
        "device": str(engine.device),
        "threads": torch.get_num_threads(),
        "bare_steps_per_s": round(bare_rate, 1),
        "engine_steps_per_s": round(engine_rate, 1),
        "engine_vs_bare": round(engine_rate / bare_rate, 3),
        "interactive_wait_ms_p50": round(1000 * _percentile(waits, 0.50), 2),
        "interactive_wait_ms_p95": round(1000 * _percentile(waits, 0.95), 2),
        "interactive_requests": len(waits),
        "slice_ms": engine.config.slice_ms,
    }
