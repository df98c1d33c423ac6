"""`python -m ganstudio`: the command line. Feature modules add their own subcommands.

Every handler returns an exit code. A StudioError becomes `error: <reason>` on stderr and
exit code 2, never a traceback; results go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys

from ganstudio.errors import StudioError

# Modules with a `register(subparsers)` that adds their subcommands.
FEATURE_CLIS = ("ganstudio.gan.cli", "ganstudio.gpt.cli", "ganstudio.textgan.cli")
# `bench NAME` runs `ganstudio.benchmarks.NAME.run(args) -> dict`.
BENCHMARKS = ("engine", "sample", "generate", "train", "app", "load", "hosting", "digits")


def cmd_info(args: argparse.Namespace) -> int:
    import torch
    import torchvision

    from ganstudio.device import pick_device
    from ganstudio.hub import bundled_models
    from ganstudio.settings import SETTINGS

    info = {
        "device": str(pick_device(SETTINGS.device)),
        "bundled": {name: {k: v for k, v in meta.items() if k != "path"} for name, meta in bundled_models().items()},
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__},
        "cuda": torch.cuda.is_available(),
        "threads": torch.get_num_threads(),
    }
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"device:   {info['device']}  (torch {torch.__version__}, {info['threads']} CPU threads)")
    print("bundled models (work offline):")
    for name, meta in info["bundled"].items():
        extra = ", ".join(f"{k}={v}" for k, v in meta.items() if k != "kind")
        print(f"  {name:<20} {meta['kind']:<4} {extra}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"ganstudio.benchmarks.{args.target}")
    result = module.run(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>32}: {value}")
    return 0


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (exit 2), like every other error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m ganstudio", description="GAN Studio from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = sub.add_parser("info", help="device, versions and bundled models")
    info.add_argument("--json", action="store_true", help="one JSON line on stdout")
    info.set_defaults(handler=cmd_info)

    bench = sub.add_parser("bench", help="measure speed: " + ", ".join(BENCHMARKS))
    bench.add_argument("target", choices=BENCHMARKS)
    bench.add_argument("--json", action="store_true", help="one JSON line on stdout")
    bench.add_argument("--seconds", type=float, default=None, help="how long each timed phase runs")
    bench.add_argument("--model", default=None, help="model spec to benchmark (default: the bundled one)")
    bench.add_argument("--cycles", type=int, default=None, help="hosting: train/stop/save cycles of one visitor")
    bench.add_argument("--sessions", type=int, default=None, help="load: concurrent visitors (default 4)")
    bench.set_defaults(handler=cmd_bench)

    for name in FEATURE_CLIS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:  # the module exists but something it needs is missing: a real bug
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except StudioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
