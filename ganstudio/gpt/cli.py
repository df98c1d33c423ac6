"""`python -m ganstudio generate`, `python -m ganstudio attention` and `python -m ganstudio text-quality`.

stdout carries the result only (the text; nothing for `attention`, which writes a file; the
figures for `text-quality`); notes and progress go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ganstudio.errors import BadInput
from ganstudio.hub_transfer import terminal_progress

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
    import time

    from ganstudio.gpt.generate import SamplingConfig, encode_prompt, stream_tokens
    from ganstudio.gpt.load import load_gpt

    cfg = SamplingConfig(args.max_new_tokens, args.temperature, args.top_k, args.top_p,
                         args.repetition_penalty, args.seed, args.ignore_eos).validate()
    loaded = load_gpt(args.model, progress=terminal_progress())
    prompt = encode_prompt(loaded.tokenizer, args.prompt, loaded.config.n_positions)
    if prompt.dropped:
        print(f"note: the prompt is longer than the model's {loaded.config.n_positions}-token context: its first "
              f"{prompt.dropped} tokens were cut", file=sys.stderr)
    sys.stdout.write(args.prompt)
    count, reason, start = 0, "length", time.perf_counter()
    for step in stream_tokens(loaded.model, loaded.tokenizer, prompt.ids, cfg, loaded.name):
        count += 1
        if step.eos:
            reason = "eos"
        sys.stdout.write(step.text)
        sys.stdout.flush()
    sys.stdout.write("\n")
    sys.stdout.flush()
    rate = count / max(time.perf_counter() - start, 1e-9)
    print(f"[{count} tokens, {rate:.1f} tokens/s, stopped: {reason}]", file=sys.stderr)
    return 0


def cmd_attention(args: argparse.Namespace) -> int:
    import numpy as np

    from ganstudio.gpt.attention import attention_maps
    from ganstudio.gpt.generate import encode_prompt
    from ganstudio.gpt.load import load_gpt
    from ganstudio.limits import LIMITS

    out = Path(args.out)
    if out.suffix != ".npz":
        raise BadInput(f"--out must name a .npz file, got {out.name[:60]!r}")
    if not out.parent.exists():
        raise BadInput("the --out folder does not exist")
    loaded = load_gpt(args.model, progress=terminal_progress())
    limit = min(loaded.config.n_positions, LIMITS.max_attention_tokens)
    prompt = encode_prompt(loaded.tokenizer, args.prompt, limit)
    if prompt.dropped:
        print(f"note: only the last {limit} tokens are shown (the first {prompt.dropped} were cut)", file=sys.stderr)
    attentions = attention_maps(loaded.model, prompt.ids)
    tokens = loaded.tokenizer.token_strings(prompt.ids)
    np.savez(out, attentions=attentions.astype(np.float32), tokens=np.array(tokens, dtype=str))
    print(f"wrote {out}: {attentions.shape[0]} layers x {attentions.shape[1]} heads x {len(tokens)} tokens",
          file=sys.stderr)
    return 0
