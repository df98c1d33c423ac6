"""Two figures of a Shakespeare language model: held-out nats per character, and how much greedy text loops.

* **nats/char**: total negative log-likelihood (natural log) of the held-out text's tokens divided by
  its number of characters, so models with different tokenizers compare. Every held-out work is
  scored on its own, after an end-of-text token, in windows of the model's context that advance by
  ``stride`` tokens (half the context by default): each token is scored once, and after the first
  window always with at least ``context - stride`` tokens before it.
* **repeated 4-grams**: for each fixed prompt in ``PROMPTS``, greedy decoding (temperature 0, no
  repetition penalty, end-of-text ignored) adds ``max_new_tokens`` tokens; the continuation alone is
  lower-cased and split into words (``[a-z]+('[a-z]+)*``); its share of repeated word 4-grams is
  ``1 - distinct 4-grams / all 4-grams``. The figure is the plain mean over the prompts.

The held-out text ships in ``ganstudio/data/shakespeare_heldout.txt``: the last 5 % of every cleaned
work (see ``corpus.py``), works separated by a line ``<|endoftext|>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ganstudio.errors import BadInput
from ganstudio.gpt.generate import SamplingConfig, generate_ids
from ganstudio.gpt.model import GPT
from ganstudio.gpt.tokenizer import END_OF_TEXT, GPTTokenizer

HELDOUT_FILE = Path(__file__).resolve().parents[1] / "data" / "shakespeare_heldout.txt"
SEPARATOR = END_OF_TEXT + "\n"  # a line of its own between works
# Fixed before the first model was scored; one per kind of text in the corpus (speech openings in
# prose and verse, a famous line, a sonnet opening). Speaker names follow the Gutenberg texts.
PROMPTS = (
    "KING HENRY.\nMy lords, ",
    "Ham.\nTo be, or not to be",
    "ROMEO.\nBut soft, what light",
    "Shall I compare thee to a summer's day?\n",
    "FIRST CITIZEN.\nBefore we proceed any further, hear me speak.\n",
)
WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
GOAL_NATS_PER_CHAR = 1.30  # issue 13's goals for the bundled model (nanoGPT's shakespeare-char: 1.47)
GOAL_REPEATED = 0.35


@dataclass
class QualityConfig:
    stride: int | None = None  # tokens a scoring window advances; None = half the context (each token sees >= half)
    batch_size: int = 16  # windows per forward pass: bounded memory, enough work per matmul
    max_new_tokens: int = 200  # greedy continuation length per prompt: long enough for loops to show
    n: int = 4  # word n-gram order for the repetition figure; 4 words repeat rarely in real verse


@dataclass
class QualityReport:
    nats_per_char: float  # held-out NLL / held-out characters
    nats_per_token: float  # the same NLL per token of this model's tokenizer
    heldout_chars: int
    heldout_tokens: int
    repeated_ngrams: float  # mean over prompts of 1 - distinct/total word n-grams, in [0, 1]
    per_prompt: list[float]  # the same, prompt by prompt
    continuations: list[str]  # the greedy texts, for people to read

    def as_dict(self) -> dict:
        return dict(nats_per_char=self.nats_per_char, nats_per_token=self.nats_per_token,
                    heldout_chars=self.heldout_chars, heldout_tokens=self.heldout_tokens,
                    repeated_4grams=self.repeated_ngrams, per_prompt=self.per_prompt,
                    prompts=list(PROMPTS), continuations=self.continuations)


# ------------------------------------------------------------------------------------------ held-out text
def parse_heldout(text: str) -> list[str]:
    return [part for part in text.split(SEPARATOR) if part.strip()]


def format_heldout(texts: list[str]) -> str:
    return "".join((t if t.endswith("\n") else t + "\n") + SEPARATOR for t in texts)


def load_heldout(path: str | Path = HELDOUT_FILE) -> list[str]:
    path = Path(path)
    try:
        texts = parse_heldout(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(f"cannot read held-out text {path}: {err.__class__.__name__}") from None
    if not texts:
        raise BadInput(f"held-out text {path} is empty")
    return texts


# ---------------------------------------------------------------------------------------- nats per char
def score_windows(n_targets: int, context: int, stride: int) -> list[tuple[int, int, int]]:
    """(begin, end, scored) per window over ``n_targets`` next-token targets: inputs ids[begin:end],
    targets ids[begin+1:end+1], the last ``scored`` targets counted. Every target is counted once."""
    windows, begin, done = [], 0, 0
    while done < n_targets:
        end = min(begin + context, n_targets)
        windows.append((begin, end, end - done))
        done = end
        begin += stride
    return windows


@torch.inference_mode()
def heldout_nll(model: GPT, tokenizer: GPTTokenizer, texts: list[str], cfg: QualityConfig) -> tuple[float, int]:
    """(total NLL in nats, number of tokens) of ``texts``, each scored after an end-of-text token."""
    context = model.config.n_positions
    stride = cfg.stride or context // 2
    if not 0 < stride <= context:
        raise BadInput(f"stride must be between 1 and the context {context}, got {stride}")
    eos = tokenizer.eos_id if tokenizer.eos_id is not None else 0
    rows = []  # (inputs, targets, scored)
    for text in texts:
        ids = [eos] + tokenizer.encode(text)
        for begin, end, scored in score_windows(len(ids) - 1, context, stride):
            rows.append((ids[begin:end], ids[begin + 1:end + 1], scored))
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(rows), cfg.batch_size):
        chunk = rows[i:i + cfg.batch_size]
        T = max(len(x) for x, _, _ in chunk)
        x = torch.full((len(chunk), T), eos, dtype=torch.long)
        y = torch.full((len(chunk), T), -100, dtype=torch.long)  # -100: not scored
        for row, (inputs, targets, scored) in enumerate(chunk):
            x[row, :len(inputs)] = torch.tensor(inputs)
            n = len(targets)
            y[row, n - scored:n] = torch.tensor(targets[n - scored:])
        logits = model(x.to(model.wte.weight.device)).logits.float()  # (B, T, vocab)
        nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1).to(logits.device),
                              ignore_index=-100, reduction="sum")
        total += float(nll)
        count += int((y != -100).sum())
    model.train(was_training)
    return total, count


# ------------------------------------------------------------------------------------------- repetition
def repeated_ngram_share(text: str, n: int = 4) -> float:
    """1 - distinct/total word n-grams of ``text`` (0 when it has no n-gram at all)."""
    words = WORD.findall(text.lower())
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def greedy_continuations(model: GPT, tokenizer: GPTTokenizer, prompts=PROMPTS, max_new_tokens: int = 200) -> list[str]:
    was_training = model.training
    model.eval()
    cfg = SamplingConfig(max_new_tokens=max_new_tokens, temperature=0.0, ignore_eos=True)
    texts = [tokenizer.decode(generate_ids(model, tokenizer, tokenizer.encode(p), cfg)) for p in prompts]
    model.train(was_training)
    return texts


def text_quality(model: GPT, tokenizer: GPTTokenizer, texts: list[str], cfg: QualityConfig | None = None) -> QualityReport:
    cfg = cfg or QualityConfig()
    nll, tokens = heldout_nll(model, tokenizer, texts, cfg)
    chars = sum(len(t) for t in texts)
    continuations = greedy_continuations(model, tokenizer, PROMPTS, cfg.max_new_tokens)
    per_prompt = [repeated_ngram_share(c, cfg.n) for c in continuations]
    return QualityReport(nats_per_char=nll / chars, nats_per_token=nll / tokens, heldout_chars=chars,
                         heldout_tokens=tokens, repeated_ngrams=sum(per_prompt) / len(per_prompt),
                         per_prompt=per_prompt, continuations=continuations)
