"""Token-by-token generation with a key/value cache, the usual sampling knobs, and per-step probabilities.

Processing order follows HF transformers: repetition penalty, then temperature, top-k, top-p.
The probabilities reported per step (chosen token, top-5) are the model's own distribution
(softmax of the raw logits), so the colours in the UI show what the model believed, whatever
the sampling settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

from ganstudio import checks
from ganstudio.errors import BadInput, StudioError
from ganstudio.gpt.model import GPT
from ganstudio.gpt.tokenizer import GPTTokenizer
from ganstudio.limits import LIMITS

MAX_NEW_TOKENS_CAP = LIMITS.max_new_tokens  # one request cannot hold the device for minutes
TOP_ALTERNATIVES = 5
SLIDE_KEEP = 0.75  # when the cache is full, recompute on the last 3/4 of the context and go on


@dataclass
class SamplingConfig:
    max_new_tokens: int = 100  # how many tokens to add at most
    temperature: float = 0.8  # 0 = greedy; higher = more surprising choices
    top_k: int = 0  # sample among the k likeliest tokens only; 0 = off
    top_p: float = 1.0  # sample within the smallest set holding this much probability; 1 = off
    repetition_penalty: float = 1.0  # >1 discourages tokens already in the text (CTRL-style); 1 = off
    seed: int | None = None  # fixes the sampling; None = fresh randomness each time
    ignore_eos: bool = False  # keep going past end-of-text (useful for benchmarks)

    def validate(self) -> "SamplingConfig":
        """Every knob checked before any work starts; each failure is one line a person can act on."""
        checks.integer("max_new_tokens", self.max_new_tokens, 1, MAX_NEW_TOKENS_CAP)
        t = checks.number("temperature", self.temperature, 0.0, LIMITS.max_temperature)
        if 0 < t < LIMITS.min_temperature:
            raise BadInput(f"temperature must be 0 (greedy) or at least {LIMITS.min_temperature:g}, got {t:g}")
        checks.integer("top_k", self.top_k, 0, LIMITS.max_top_k)
        checks.number("top_p", self.top_p, 0.0, 1.0, above=0.0)
        checks.number("repetition_penalty", self.repetition_penalty, 0.0, LIMITS.max_repetition_penalty, above=0.0)
        if self.seed is not None:
            checks.integer("seed", self.seed, 0, LIMITS.max_seed)
        checks.boolean("ignore_eos", self.ignore_eos)
        return self

    @classmethod
    def from_values(cls, max_new_tokens=100, temperature=0.8, top_k=40, top_p=1.0, repetition_penalty=1.0,
                    seed=None, ignore_eos=False) -> "SamplingConfig":
        """Coerce values from a UI, an API call or the CLI (sliders send floats, an empty seed box None), then check."""
        return cls(
            max_new_tokens=checks.integer("max_new_tokens", max_new_tokens, 1, MAX_NEW_TOKENS_CAP),
            temperature=checks.number("temperature", temperature, 0.0, LIMITS.max_temperature),
            top_k=checks.integer("top_k", top_k, 0, LIMITS.max_top_k),
            top_p=checks.number("top_p", top_p, 0.0, 1.0, above=0.0),
            repetition_penalty=checks.number("repetition_penalty", repetition_penalty, 0.0,
                                             LIMITS.max_repetition_penalty, above=0.0),
            seed=None if seed is None or seed == "" else checks.integer("seed", seed, 0, LIMITS.max_seed),
            ignore_eos=checks.boolean("ignore_eos", ignore_eos),
        ).validate()


@dataclass
class Prompt:
    ids: list[int]  # what the model sees
    dropped: int  # tokens cut from the left because the prompt was longer than the context


@dataclass
class TokenStep:
    token_id: int
    text: str  # this token's share of the output text ("" while a multi-byte character is incomplete)
    prob: float  # the model's probability of this token
    top: list[tuple[str, float]]  # the model's 5 likeliest tokens at this step, with probabilities
    eos: bool = False  # end-of-text: the last step, its text is ""

    def as_dict(self) -> dict:
        return {"token_id": self.token_id, "text": self.text, "prob": self.prob, "top5": self.top, "eos": self.eos}


def encode_prompt(tokenizer: GPTTokenizer, text: str, n_positions: int) -> Prompt:
    text = checks.text("prompt", text, LIMITS.max_prompt_chars, empty="the prompt is empty: type a few words to continue")
    ids = tokenizer.encode(text)
    if not ids:
        raise BadInput("the prompt encodes to no tokens: type a few words to continue")
    dropped = max(0, len(ids) - n_positions)
    return Prompt(ids[dropped:], dropped)


def apply_repetition_penalty(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """Make tokens already present less likely: positive logits divided, negative multiplied."""
    penalised = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalised, logits)


def filter_top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    if k <= 0 or k >= logits.size(-1):
        return logits
    kth = torch.topk(logits, k).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def filter_top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the likeliest tokens whose probabilities add up to p (always at least one)."""
    if p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, descending=True)
    before = sorted_logits.softmax(-1).cumsum(-1) - sorted_logits.softmax(-1)  # mass strictly ahead of each token
    remove_sorted = before >= p
    remove = torch.zeros_like(remove_sorted).scatter(-1, order, remove_sorted)
    return logits.masked_fill(remove, float("-inf"))


def choose_next(logits: torch.Tensor, cfg: SamplingConfig, generator: torch.Generator) -> int:
    """Pick the next id from (already penalised) logits (vocab,)."""
    if cfg.temperature == 0:
        return int(logits.argmax())
    logits = filter_top_p(filter_top_k(logits / cfg.temperature, cfg.top_k), cfg.top_p)
    return int(torch.multinomial(logits.softmax(-1), 1, generator=generator))


def stream_tokens(
    model: GPT, tokenizer: GPTTokenizer, prompt_ids: list[int], cfg: SamplingConfig, name: str = "the model"
) -> Iterator[TokenStep]:
    """Yield one TokenStep per new token, decoding in this thread (a batch of one row, see batch_decode);
    stops at end-of-text (unless ignore_eos) or max_new_tokens. Closing the iterator stops it."""
    from ganstudio.gpt.batch_decode import DecodeBatch

    batch = DecodeBatch(model, tokenizer, max_rows=1, name=name)
    row = batch.add(prompt_ids, cfg)
    try:
        while not batch.done:
            batch.step()
            while not row.out.empty():
                item = row.out.get_nowait()
                if not isinstance(item, TokenStep):
                    if row.error:
                        raise StudioError(row.error)
                    return
                yield item
    finally:
        row.close()


def generate_ids(model: GPT, tokenizer: GPTTokenizer, prompt_ids: list[int], cfg: SamplingConfig) -> list[int]:
    """All new token ids at once (end-of-text included when reached); for tests and benchmarks."""
    return [s.token_id for s in stream_tokens(model, tokenizer, prompt_ids, cfg)]
