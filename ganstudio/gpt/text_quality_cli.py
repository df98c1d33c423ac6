"""`python -m ganstudio text-quality`: a GPT's held-out nats/char and repeated 4-grams, offline.

stdout: the figures (or one JSON line with ``--json``); stderr: progress. Exit 0; with ``--check``
exit 1 (and one line on stderr) when a figure misses its goal; bad input or model: exit 2 via the CLI.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from ganstudio.errors import BadInput
from ganstudio.gpt.quality import GOAL_NATS_PER_CHAR, GOAL_REPEATED, HELDOUT_FILE, PROMPTS, QualityConfig

MAX_NEW_TOKENS = 2048


def register_text_quality(subparsers, default_model: str, model_help: str) -> None:
    tq = subparsers.add_parser("text-quality", help="held-out nats/char and greedy repetition of a GPT model")
    tq.add_argument("--model", default=default_model, help=model_help)
    tq.add_argument("--heldout", default=str(HELDOUT_FILE),
                    help="held-out text, works separated by <|endoftext|> lines (default: the bundled Shakespeare)")
    tq.add_argument("--max-new-tokens", type=int, default=200, help="greedy tokens per prompt (default 200)")
    tq.add_argument("--stride", type=int, default=None, help="scoring window step in tokens (default: half the context)")
    tq.add_argument("--json", action="store_true", help="one JSON line on stdout")
    tq.add_argument("--show", action="store_true", help="also print the greedy continuations")
    tq.add_argument("--check", action="store_true",
                    help=f"exit 1 unless nats/char <= {GOAL_NATS_PER_CHAR} and repeated 4-grams <= "
                         f"{GOAL_REPEATED * 100:.0f} %%")
    tq.set_defaults(handler=cmd_text_quality)


def cmd_text_quality(args: argparse.Namespace) -> int:
    from ganstudio.gpt.load import load_gpt
    from ganstudio.gpt.quality import load_heldout, text_quality

    if not 4 <= args.max_new_tokens <= MAX_NEW_TOKENS:
        raise BadInput(f"--max-new-tokens must be between 4 and {MAX_NEW_TOKENS}, got {args.max_new_tokens}")
    if args.stride is not None and args.stride < 1:
        raise BadInput(f"--stride must be a positive number of tokens, got {args.stride}")
    texts = load_heldout(args.heldout)
    loaded = load_gpt(args.model, progress=lambda message: print(message, file=sys.stderr))
    print(f"scoring {sum(map(len, texts)):,} held-out characters and {len(PROMPTS)} greedy continuations...",
          file=sys.stderr, flush=True)
    start = time.time()
    report = text_quality(loaded.model, loaded.tokenizer, texts,
                          QualityConfig(stride=args.stride, max_new_tokens=args.max_new_tokens))
    params = sum(p.numel() for p in loaded.model.parameters())
    if args.json:
        print(json.dumps(dict(report.as_dict(), model=args.model, parameters=params,
                              seconds=round(time.time() - start, 1))))
    else:
        print(f"model:            {args.model} ({params / 1e6:.2f} M parameters)")
        print(f"held-out loss:    {report.nats_per_char:.4f} nats/char ({report.nats_per_token:.4f} nats/token; "
              f"{report.heldout_chars:,} characters, {report.heldout_tokens:,} tokens)")
        print(f"repeated 4-grams: {report.repeated_ngrams:.1%} (greedy, {args.max_new_tokens} new tokens, mean of "
              f"{len(PROMPTS)} prompts: {', '.join(f'{s:.0%}' for s in report.per_prompt)})")
        if args.show:
            for prompt, text in zip(PROMPTS, report.continuations):
                print(f"\n--- {prompt!r}\n{prompt}{text}")
    print(f"[{time.time() - start:.1f} s]", file=sys.stderr)
    missed = []
    if report.nats_per_char > GOAL_NATS_PER_CHAR:
        missed.append(f"{report.nats_per_char:.4f} nats/char > {GOAL_NATS_PER_CHAR}")
    if report.repeated_ngrams > GOAL_REPEATED:
        missed.append(f"{report.repeated_ngrams:.1%} repeated 4-grams > {GOAL_REPEATED:.0%}")
    if args.check and missed:
        print(f"check failed: {'; '.join(missed)}", file=sys.stderr)
        return 1
    return 0
