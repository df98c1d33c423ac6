"""`python -m ganstudio train` and `python -m ganstudio sample`: headless GAN training and sampling.

train:  progress bar on stderr, checkpoint folder in --out, one JSON line on stdout
        ({"steps", "seconds", "world_size", "metrics", ...}). Under
        `torchrun --nproc_per_node=N` the same command trains with DDP; rank 0 writes.
sample: a PNG grid (or 2D scatter), or .npy (images uint8 N×H×W×C; 2D float32 N×2).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from ganstudio.errors import BadInput, Diverged
from ganstudio.gan.config import PRESETS, TrainConfig
from ganstudio.hub_transfer import terminal_progress
from ganstudio.limits import LIMITS

MAX_SAMPLES = LIMITS.max_cli_samples
# `train` takes every TrainConfig setting as a flag except these: the data set, its budget (one of two), clicked points
SETTING_FLAGS = tuple(f.name for f in dataclasses.fields(TrainConfig)
                      if f.name not in ("data", "steps", "seconds", "custom_points"))
BOOLEAN_SETTINGS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.type in (bool, "bool"))
FLAG_HELP = {
    "arch": "mlp, dcgan, sagan, transformer or fc (default: per data set)",
    "loss": "ns, lsgan, hinge or wgan-gp (default: per data set)",
    "seed": "weights, data order and latents follow it (default 0)",
    "ema": "EMA decay of G (0 = off)",
    "diffaug": "comma list of translation,cutout,color ('' = none)",
    "pack": "PacGAN packing for 2D data (D judges this many samples at once)",
    "width": "conv base channels / transformer width",
    "family": "gan or vae (default gan); a VAE ignores the GAN-only settings (loss, D's, EMA, packing, R1, ...)",
    "vae_sigma": "VAE: the decoder's fixed std σ (default: per data set)",
}


def register(subparsers) -> None:
    train = subparsers.add_parser("train", help="train a GAN or a VAE (--family vae) on 2D toy data or "
                                  "images and save a checkpoint")
    train.add_argument("--data", required=True, help="ring8, grid25, spiral, moons, digits, mnist, fashion-mnist, "
                       "cifar10, or a zip/folder of images")
    train.add_argument("--out", required=True, help="checkpoint folder to write")
    train.add_argument("--preset", choices=sorted(PRESETS), help="a named recipe instead of the data set's preset "
                       "(article: the tutorial articles' fully connected GAN); flags still override it")
    budget = train.add_mutually_exclusive_group()
    budget.add_argument("--steps", help="iterations to train (default: the data set's preset)")
    budget.add_argument("--seconds", help="training seconds (default: the data set's preset)")
    for name in SETTING_FLAGS:  # every other setting of a run, checked exactly as the Train form's values are
        flag = "--" + name.replace("_", "-")
        if name in BOOLEAN_SETTINGS:
            train.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=FLAG_HELP.get(name))
        else:
            train.add_argument(flag, help=FLAG_HELP.get(name, "default: the data set's preset"))
    train.add_argument("--resume", help="checkpoint folder of the same model to continue from")
    train.add_argument("--device", default="", help="cpu, cuda, cuda:1, mps (default: best available)")
    train.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=cmd_train)

    sample = subparsers.add_parser("sample", help="draw samples from a trained GAN")
    sample.add_argument("--model", required=True, help="bundled name, model folder, or Hub repo owner/name[@rev]")
    sample.add_argument("--n", type=int, default=64)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--label", type=int, default=None, help="class for a conditional generator (default: cycle)")
    sample.add_argument("--out", required=True, help=".png (grid / scatter) or .npy (raw array)")
    sample.add_argument("--device", default="cpu")
    sample.set_defaults(handler=cmd_sample)


def config_from_args(args: argparse.Namespace):
    """The run the flags ask for: the data set's preset overridden by them, through ``TrainConfig.validate`` (the
    Train form's checks, so the command line and the page accept and refuse the same values)."""
    given = {name: getattr(args, name) for name in SETTING_FLAGS if getattr(args, name) is not None}
    overrides = {**PRESETS.get(args.preset or "", {}), **given}
    if args.steps is not None:
        overrides.update(steps=args.steps, seconds=0.0)
    elif args.seconds is not None:
        overrides.update(seconds=args.seconds, steps=0)
    cfg = TrainConfig.defaults_for(args.data, **overrides).validate()
    if not cfg.steps and not cfg.seconds:
        raise BadInput("give a budget: --steps N or --seconds S")
    return cfg


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from ganstudio.device import pick_device
    from ganstudio.gan import ddp
    from ganstudio.gan.families import make_trainer
    from ganstudio.settings import SETTINGS

    cfg = config_from_args(args)  # validate before any heavy work
    if args.threads:
        torch.set_num_threads(args.threads)
    dist, device = ddp.setup(args.device)
    try:
        device = device or pick_device(args.device or SETTINGS.device)
        out = Path(args.out)
        trainer = make_trainer(cfg, device, out_dir=out, dist=dist)
        if args.resume:
            trainer.resume_from(args.resume)
        bar = ProgressBar(enabled=dist.is_main and not args.quiet)
        start = time.perf_counter()
        interrupted = False
        try:
            while not dist.any(trainer.done, device):
                trainer.step()
                bar.update(trainer)
        except KeyboardInterrupt:
            interrupted = True
        except Diverged:
            bar.close()
            raise
        trainer.finish()  # final metrics + checkpoint (rank 0); idempotent
        bar.update(trainer, force=True)
        bar.close()
        dist.barrier()
        if dist.is_main:
            result = {
                "steps": trainer.step_count,
                "seconds": round(trainer.train_time, 3),
                "wall_seconds": round(time.perf_counter() - start, 3),
                "world_size": dist.world_size,
                "device": str(device),
                "data": cfg.data,
                "family": cfg.family,
                "arch": cfg.arch,
                "loss": cfg.loss if cfg.family == "gan" else "elbo",
                "steps_per_s": round(trainer.step_count / max(trainer.train_time, 1e-9), 2),
                "metrics": {k: v for k, v in trainer.metrics.items() if k != "step"},
                "out": str(out.resolve()),
                "interrupted": interrupted,
            }
            print(json.dumps(result), flush=True)
        return 130 if interrupted else 0
    finally:
        ddp.teardown()


class ProgressBar:
    """One self-rewriting line on stderr, redrawn at most 4 times a second."""

    def __init__(self, enabled: bool, width: int = 24):
        self.enabled, self.width = enabled, width
        self._drawn_at = 0.0
        self._shown = False

    def update(self, trainer, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._drawn_at < 0.25):
            return
        self._drawn_at = now
        report, cfg = trainer.report(), trainer.cfg
        p = report.progress or 0.0
        filled = int(round(p * self.width))
        eta = report.eta_s
        what = cfg.loss if cfg.family == "gan" else "vae"
        line = (f"\r{cfg.data} {cfg.arch}/{what} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{100 * p:5.1f}%  step {report.step}  {report.steps_per_s:.0f} it/s"
                f"{'' if eta is None else f'  ETA {eta:.0f}s'}")
        sys.stderr.write(line.ljust(90))
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self.enabled and self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._shown = False


def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from ganstudio.gan import render
    from ganstudio.gan.io import load_gan_spec, samples_picture
    from ganstudio.gan.latents import sample_array

    if not 1 <= args.n <= MAX_SAMPLES:
        raise BadInput(f"--n must be between 1 and {MAX_SAMPLES}, got {args.n}")
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise BadInput(f"--out must end in .png or .npy, not {out.name!r}")
    model = load_gan_spec(args.model, device=args.device, progress=terminal_progress())
    g = model.generator
    labels = None
    if args.label is not None:
        if not 0 <= args.label < g.n_classes:
            raise BadInput(f"--label must be between 0 and {g.n_classes - 1}" if g.n_classes else
                           "--label needs a class-conditional generator")
        labels = np.full(args.n, args.label)
    array = sample_array(g, args.n, args.seed, labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        np.save(out, array)
    elif model.data_kind == "2d":
        toy = model.config.get("toy")
        extent = tuple(toy["extent"]) if toy else None
        real = np.asarray(toy["modes"]) if toy and toy.get("modes") else None
        picture = render.toy_view(extent, real=real, fake=array) if extent else samples_picture(g, None)
        picture.save(out)
    else:
        k = g.n_classes
        render.image_grid(array, nrow=k if 0 < k <= 16 and labels is None else None).save(out)
    print(json.dumps({"out": str(out.resolve()), "n": args.n, "shape": list(array.shape), "dtype": str(array.dtype),
                      "kind": model.data_kind}))
    return 0
