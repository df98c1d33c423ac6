"""`python -m ganstudio textgan`: the Text GAN lesson headless.

Trains G against D on lines of Shakespeare with the chosen estimator for --seconds (or --steps), writes the
checkpoint folder --out (``textgan.checkpoint``: safetensors + config.json, loadable with ``load_textgan``) and
prints one JSON line on stdout: steps, seconds, the quality figures at the start and the end, the largest ‖∇G‖
and the largest change of any of G's weights (both exactly 0 under argmax), and G's lines for the prompts.
"""

from __future__ import annotations

import argparse
import json
import sys

from ganstudio.errors import BadInput
from ganstudio.textgan.config import DEFAULT_PROMPTS, ESTIMATORS, TextGanConfig


def register(subparsers) -> None:
    cmd = subparsers.add_parser("textgan", help="train the Text GAN lesson (a character GAN on Shakespeare)")
    cmd.add_argument("--estimator", required=True, help="how the gradient crosses sampling: " + ", ".join(ESTIMATORS))
    cmd.add_argument("--out", required=True, help="checkpoint folder to write")
    budget = cmd.add_mutually_exclusive_group(required=True)
    budget.add_argument("--seconds", help="training seconds")
    budget.add_argument("--steps", help="updates (one of D and one of G each)")
    cmd.add_argument("--temperature", default=1.0, help="Gumbel-softmax temperature τ (default 1)")
    cmd.add_argument("--straight-through", action=argparse.BooleanOptionalAction, default=True,
                     help="Gumbel-softmax: D sees the hard one-hot (default on)")
    cmd.add_argument("--seed", default=0, help="weights, line order and samples follow it (default 0)")
    cmd.add_argument("--prompt", action="append", help="a line start to continue (repeatable; default: "
                     + ", ".join(repr(p) for p in DEFAULT_PROMPTS) + ")")
    cmd.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    cmd.add_argument("--quiet", action="store_true", help="no progress line")
    cmd.set_defaults(handler=cmd_textgan)


def config_from_args(args: argparse.Namespace) -> TextGanConfig:
    cfg = TextGanConfig(estimator=args.estimator, temperature=args.temperature,
                        straight_through=args.straight_through, seed=args.seed,
                        seconds=args.seconds if args.seconds is not None else 0.0,
                        steps=args.steps if args.steps is not None else 0,
                        prompts=args.prompt or list(DEFAULT_PROMPTS)).validate()
    if not cfg.seconds and not cfg.steps:
        raise BadInput("give a budget: --seconds N or --steps N (more than 0)")
    return cfg


def cmd_textgan(args: argparse.Namespace) -> int:
    import torch

    from ganstudio.textgan.live_run import TextGanRun

    cfg = config_from_args(args)  # every bad value is one line, before anything is built
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    run = TextGanRun(cfg, "cpu", args.out)
    trainer = run.build()
    while not run.done:
        run.step()
        if not args.quiet and trainer.step_count % 20 == 0:
            print(f"\rstep {trainer.step_count} · {trainer.train_time:.0f} s · ‖∇G‖ {trainer.latest['grad_g']:.3g}"
                  f" · D accuracy {trainer.latest['d_acc']:.2f} · bigram distance {trainer.quality[-1]['bigram']:.3f}",
                  end="", file=sys.stderr, flush=True)
    lines = [row["line"] for row in trainer.lines(cfg.prompts)]
    run.finish_and_save()
    if not args.quiet:
        print(file=sys.stderr)
    print(json.dumps({**run.figures(), "out": args.out, "lines": lines}))
    return 0
