"""Training speed of each GAN architecture on the current device, and the 2D recipes' quality.

`python -m ganstudio bench train [--seconds S]`: steps/s per architecture with its data set's
preset (mlp on grid25; dcgan, sagan, transformer on the bundled digits).
`python -m ganstudio.benchmarks.train --recipes`: trains the ring8 and grid25 presets for their
time budgets and reports modes captured and high-quality fraction (the PacGAN protocol).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ganstudio.engine import pick_device
from ganstudio.gan.config import TrainConfig
from ganstudio.gan.sources import load_training_data
from ganstudio.gan.trainer import GanTrainer
from ganstudio.settings import SETTINGS

ARCH_DATA = {"mlp": "grid25", "dcgan": "digits", "sagan": "digits", "transformer": "digits"}
WARMUP_STEPS = 3


def steps_per_second(arch: str, seconds: float, device: torch.device, data_cache: dict) -> float:
    data = ARCH_DATA[arch]
    cfg = TrainConfig.defaults_for(data, arch=arch, steps=0, seconds=0.0, metric_every_s=0.0)
    if data not in data_cache:
        data_cache[data] = load_training_data(cfg)
    trainer = GanTrainer(cfg, device, data=data_cache[data])
    for _ in range(WARMUP_STEPS):
        trainer.step()
    _sync(device)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        trainer.step()
        steps += 1
    _sync(device)
    return steps / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(args=None) -> dict:
    seconds = float(getattr(args, "seconds", None) or 3.0)
    device = pick_device(SETTINGS.device)
    cache: dict = {}
    result: dict = {"device": str(device), "threads": torch.get_num_threads(), "seconds_per_arch": seconds}
    for arch in ARCH_DATA:
        result[f"{arch}_steps_per_s"] = round(steps_per_second(arch, seconds, device, cache), 2)
    return result


def recipe(data: str, seed: int = 0, device: str | torch.device = "cpu") -> dict:
    """Train `data`'s preset for its time budget; report what the PacGAN protocol measures."""
    cfg = TrainConfig.defaults_for(data, seed=seed)
    trainer = GanTrainer(cfg, device)
    wall = time.perf_counter()
    cpu = time.process_time()
    while not trainer.done:
        trainer.step()
    return {
        "data": data, "seed": seed, "steps": trainer.step_count, "train_seconds": round(trainer.train_time, 1),
        "wall_seconds": round(time.perf_counter() - wall, 1), "cpu_seconds": round(time.process_time() - cpu, 1),
        "modes": trainer.metrics.get("modes"), "total_modes": trainer.metrics.get("total_modes"),
        "high_quality": round(trainer.metrics.get("high_quality", 0.0), 4),
        "reverse_kl": trainer.metrics.get("reverse_kl"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipes", action="store_true", help="train the ring8 and grid25 presets")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.recipes:
        print(json.dumps(run(args)))
        return
    for data in ("ring8", "grid25"):
        for seed in range(args.seeds):
            print(json.dumps(recipe(data, seed)), flush=True)


if __name__ == "__main__":
    main()
