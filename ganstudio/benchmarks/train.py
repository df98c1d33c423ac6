"""Training speed of each GAN architecture: the engine's `GanTrainer.step()` against a plain PyTorch loop.

`python -m ganstudio bench train [--seconds S] [--json]`: for mlp (grid25 preset) and dcgan, sagan,
transformer (digits preset), the steps/s of `GanTrainer.step()` and of a minimal 20-line loop over the
SAME nets (same spec and initial weights, batch, loss, regularisers, DiffAugment, Adam settings), timed in
alternating blocks in one process so load on a shared machine hits both alike. `ratio` = engine ÷ plain
(median over the block pairs). The plain loop is the textbook one (PyTorch's DCGAN example): one G
forward shared by the D and G updates, `torch.optim.Adam` with its default implementation, `.item()`-free.
`python -m ganstudio.benchmarks.train --recipes`: trains the ring8 and grid25 presets for their time
budgets and reports modes captured and high-quality fraction (the PacGAN protocol).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

from ganstudio.device import pick_device
from ganstudio.gan import losses
from ganstudio.gan.config import TrainConfig
from ganstudio.gan.diffaug import diff_augment
from ganstudio.gan.models import classes_from_z
from ganstudio.gan.registry import build_discriminator, build_generator
from ganstudio.gan.sources import load_training_data
from ganstudio.gan.trainer import GanTrainer
from ganstudio.settings import SETTINGS

ARCH_DATA = {"mlp": "grid25", "dcgan": "digits", "sagan": "digits", "transformer": "digits"}
WARMUP_STEPS = 5
BLOCKS = 6  # alternating timed blocks per side


def plain_loop(trainer: GanTrainer):
    """A minimal training step over fresh copies of the trainer's nets, with the same settings."""
    cfg, spec, device = trainer.cfg, trainer.spec, trainer.device
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        G, D = build_generator(spec).to(device), build_discriminator(spec).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1_g, cfg.beta2_g))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1_d, cfg.beta2_d))
    B, kind, policies = cfg.batch_size, cfg.loss, trainer.augment
    aug = (lambda x: diff_augment(x, policies)) if policies else (lambda x: x)

    def step() -> None:
        for _ in range(cfg.d_steps):
            real, y = trainer.source.sample(B)
            z = torch.randn(B, cfg.z_dim, device=device)
            fake = G(z, y if spec.n_classes else None)
            y_fake = classes_from_z(z, spec.z_classes) if spec.z_classes else y
            real_in = aug(real).requires_grad_(cfg.r1 > 0 and kind != "wgan-gp")
            batch = [real_in, aug(fake.detach())]
            labels = torch.cat([y, y_fake]) if trainer.d_classes else None
            if kind == "wgan-gp":
                points = losses.interpolate(batch[0], batch[1], None)
                batch.append(points)
                labels = None if labels is None else torch.cat([labels, y])
            scores = D(torch.cat(batch), labels)
            n = B // cfg.pack
            loss_d = losses.d_loss(kind, scores[:n], scores[n:2 * n])
            if kind == "wgan-gp":
                loss_d = loss_d + cfg.gp_weight * losses.gradient_penalty(scores[2 * n:], points)
            elif cfg.r1 > 0:
                loss_d = loss_d + 0.5 * cfg.r1 * losses.r1_penalty(scores[:n], real_in)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        loss_g = losses.g_loss(kind, D(aug(fake), y_fake if trainer.d_classes else None))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    return step


def compare(cfg: TrainConfig, data, device: torch.device, seconds: float) -> dict:
    """Engine and plain steps/s for `cfg`, measured in alternating blocks of seconds / (2 * BLOCKS)."""
    trainer = GanTrainer(cfg, device, data=data)
    plain = plain_loop(trainer)
    for _ in range(WARMUP_STEPS):
        trainer.step()
        plain()
    block = seconds / (2 * BLOCKS)
    engine_rates, plain_rates = [], []
    for _ in range(BLOCKS):
        plain_rates.append(_rate(plain, block, device))
        engine_rates.append(_rate(trainer.step, block, device))
    return {
        "engine_steps_per_s": round(statistics.median(engine_rates), 2),
        "plain_steps_per_s": round(statistics.median(plain_rates), 2),
        "ratio": round(statistics.median(e / p for e, p in zip(engine_rates, plain_rates)), 3),
    }


def _rate(step, seconds: float, device: torch.device) -> float:
    _sync(device)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    _sync(device)
    return steps / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(args=None) -> dict:
    seconds = float(getattr(args, "seconds", None) or 6.0)
    device = pick_device(SETTINGS.device)
    cache: dict = {}
    result: dict = {"device": str(device), "threads": torch.get_num_threads(), "seconds_per_arch": seconds,
                    "load_avg_1min": round(os.getloadavg()[0], 2)}
    for arch, data in ARCH_DATA.items():
        cfg = TrainConfig.defaults_for(data, arch=arch, steps=0, seconds=0.0, metric_every_s=0.0)
        if data not in cache:
            cache[data] = load_training_data(cfg)
        for key, value in compare(cfg, cache[data], device, seconds).items():
            result[f"{arch}_{key}"] = value
    result["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    return result


def recipe(data: str, seed: int = 0, device: str | torch.device = "cpu", **overrides) -> dict:
    """Train `data`'s preset for its budget; report what the PacGAN protocol measures."""
    cfg = TrainConfig.defaults_for(data, seed=seed, **overrides)
    trainer = GanTrainer(cfg, device)
    wall = time.perf_counter()
    cpu = time.process_time()
    while not trainer.done:
        trainer.step()
    return {
        "data": data, "seed": seed, "steps": trainer.step_count, "train_seconds": round(trainer.train_time, 1),
        "steps_per_s": round(trainer.step_count / max(trainer.train_time, 1e-9), 1),
        "wall_seconds": round(time.perf_counter() - wall, 1), "cpu_seconds": round(time.process_time() - cpu, 1),
        "modes": trainer.metrics.get("modes"), "total_modes": trainer.metrics.get("total_modes"),
        "high_quality": round(trainer.metrics.get("high_quality", 0.0), 4),
        "reverse_kl": trainer.metrics.get("reverse_kl"), "load_avg_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", action="store_true", help="train the ring8 and grid25 presets")
    parser.add_argument("--data", nargs="*", default=["ring8", "grid25"], help="presets for --recipes")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.recipes:
        print(json.dumps(run(args)))
        return
    for data in args.data:
        for seed in range(args.seeds):
            print(json.dumps(recipe(data, seed)), flush=True)


if __name__ == "__main__":
    main()
