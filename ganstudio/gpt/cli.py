"""`python -m ganstudio generate`, `python -m ganstudio attention` and `python -m ganstudio text-quality`.

stdout carries the result only (the text; nothing for `attention`, which writes a file; the
figures for `text-quality`); notes and progress go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ganstudio.errors import BadInput

DEFAULT_MODEL = "shakespeare-gpt"
MODEL_HELP = f"bundled name, model folder or Hub id (default {DEFAULT_MODEL})"


def register(subparsers) -> None:
    gen = subparsers.add_parser("generate", help="continue a prompt with a GPT model, streaming to stdout")
    gen.add_argument("--model", default=DEFAULT_MODEL, help=MODEL_HELP)
    gen.add_argument("--prompt", required=True, help="text to continue")
    gen.add_argument("--max-new-tokens", type=int, default=100, help="tokens to add at most (default 100)")
    gen.add_argument("--temperature", type=float, default=0.8, help="0 = greedy (default 0.8)")
    gen.add_argument("--top-k", type=int, default=40, help="sample among the k likeliest tokens; 0 = off (default 40)")
    gen.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass; 1 = off (default 1)")
    gen.add_argument("--repetition-penalty", type=float, default=1.0, help=">1 discourages repeats (default 1)")
    gen.add_argument("--seed", type=int, default=None, help="fix the sampling (default: random)")
    gen.add_argument("--ignore-eos", action="store_true", help="keep going past end-of-text")
    gen.set_defaults(handler=cmd_generate)

    att = subparsers.add_parser("attention", help="save a GPT model's attention weights for a prompt (.npz)")
    att.add_argument("--model", default=DEFAULT_MODEL, help=MODEL_HELP)
    att.add_argument("--prompt", required=True, help="text to look at")
    att.add_argument("--out", required=True, help="output .npz: attentions (layers, heads, T, T) float32, tokens")
    att.set_defaults(handler=cmd_attention)

    from ganstudio.gpt.text_quality_cli import register_text_quality

    register_text_quality(subparsers, DEFAULT_MODEL, MODEL_HELP)


def cmd_generate(args: argparse.Namespace) -> int:
    from ganstudio.actions.text import generate_stream

    stream = generate_stream(args.model, args.prompt, max_new_tokens=args.max_new_tokens,
                             temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                             repetition_penalty=args.repetition_penalty, seed=args.seed,
                             ignore_eos=args.ignore_eos, owner="cli")
    printed = 0
    state: dict = {}
    for state in stream:
        if not printed and not state["tokens"]:  # the first state: prompt only
            if state["note"]:
                print(f"note: {state['note']}", file=sys.stderr)
            sys.stdout.write(state["prompt"])
        for token in state["tokens"][printed:]:
            sys.stdout.write(token["text"])
        printed = len(state["tokens"])
        sys.stdout.flush()
    sys.stdout.write("\n")
    sys.stdout.flush()
    if state:
        print(f"[{len(state['tokens'])} tokens, {state['tokens_per_s']:.1f} tokens/s, "
              f"stopped: {state['stop_reason']}]", file=sys.stderr)
    return 0


def cmd_attention(args: argparse.Namespace) -> int:
    import numpy as np

    from ganstudio.actions.attention import text_attention

    out = Path(args.out)
    if out.suffix != ".npz":
        raise BadInput(f"--out must name a .npz file, got {args.out}")
    if not out.parent.exists():
        raise BadInput(f"--out folder {out.parent} does not exist")
    result = text_attention(args.model, args.prompt, owner="cli")
    if result["note"]:
        print(f"note: {result['note']}", file=sys.stderr)
    np.savez(out, attentions=result["attentions"].astype(np.float32), tokens=np.array(result["tokens"], dtype=str))
    print(f"wrote {out}: {result['n_layers']} layers x {result['n_heads']} heads x {len(result['tokens'])} tokens",
          file=sys.stderr)
    return 0
