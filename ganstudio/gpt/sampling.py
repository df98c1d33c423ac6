"""What a generation is asked (the sampling knobs) and what each step hands out, and how a next token is picked.

Processing order follows HF transformers: repetition penalty, then temperature, top-k, top-p.
The probabilities reported per step (chosen token, top-5) are the model's own distribution
(softmax of the raw logits), so the colours in the UI show what the model believed, whatever
the sampling settings. The decoders (``generate``, ``batch_decode``) build on this module; it imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganstudio import checks
from ganstudio.errors import BadInput
from ganstudio.limits import LIMITS

MAX_NEW_TOKENS_CAP = LIMITS.max_new_tokens  # one request cannot hold the device for minutes
TOP_ALTERNATIVES = 5  # likeliest tokens reported with each step


@dataclass
class SamplingConfig:
    max_new_tokens: int = 100  # how many tokens to add at most
    temperature: float = 0.8  # 0 = greedy; higher = more surprising choices
    top_k: int = 40  # sample among the k likeliest tokens only; 0 = off (40: what the Text tab and the CLI start at)
    top_p: float = 1.0  # sample within the smallest set holding this much probability; 1 = off
    repetition_penalty: float = 1.0  # >1 discourages tokens already in the text (CTRL-style); 1 = off
    seed: int | None = None  # fixes the sampling; None (or an empty seed box's "") = fresh randomness each time
    ignore_eos: bool = False  # keep going past end-of-text (useful for benchmarks)

    def validate(self) -> "SamplingConfig":
        """Check every knob once before any work starts and keep the cleaned values (sliders send floats,
        an empty seed box ""); each failure is one line a person can act on."""
        self.max_new_tokens = checks.integer("max_new_tokens", self.max_new_tokens, 1, MAX_NEW_TOKENS_CAP)
        self.temperature = checks.number("temperature", self.temperature, 0.0, LIMITS.max_temperature)
        if 0 < self.temperature < LIMITS.min_temperature:
            raise BadInput(f"temperature must be 0 (greedy) or at least {LIMITS.min_temperature:g}, "
                           f"got {self.temperature:g}")
        self.top_k = checks.integer("top_k", self.top_k, 0, LIMITS.max_top_k)
        self.top_p = checks.number("top_p", self.top_p, 0.0, 1.0, above=0.0)
        self.repetition_penalty = checks.number("repetition_penalty", self.repetition_penalty, 0.0,
                                                LIMITS.max_repetition_penalty, above=0.0)
        self.seed = None if self.seed is None or self.seed == "" else checks.integer("seed", self.seed, 0, LIMITS.max_seed)
        self.ignore_eos = checks.boolean("ignore_eos", self.ignore_eos)
        return self


@dataclass
class TokenStep:
    token_id: int
    text: str  # this token's share of the output text ("" while a multi-byte character is incomplete)
    prob: float  # the model's probability of this token
    top: list[tuple[str, float]]  # the model's TOP_ALTERNATIVES likeliest tokens at this step, with probabilities
    eos: bool = False  # end-of-text: the last step, its text is ""

    def as_dict(self) -> dict:
        return {"token_id": self.token_id, "text": self.text, "prob": self.prob, "top5": self.top, "eos": self.eos}


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


def sampling_logits(logits: torch.Tensor, cfg: SamplingConfig) -> torch.Tensor:
    """The logits a next token is drawn from (temperature > 0): divided by the temperature, then the tokens
    top-k and top-p cut set to -inf. Its softmax is the distribution ``choose_next`` samples."""
    return filter_top_p(filter_top_k(logits / cfg.temperature, cfg.top_k), cfg.top_p)


def choose_next(logits: torch.Tensor, cfg: SamplingConfig, generator: torch.Generator) -> int:
    """Pick the next id from (already penalised) logits (vocab,)."""
    if cfg.temperature == 0:
        return int(logits.argmax())
    return int(torch.multinomial(sampling_logits(logits, cfg).softmax(-1), 1, generator=generator))


def next_token_chart(logits: torch.Tensor, cfg: SamplingConfig, pieces, count: int = 10) -> list[dict]:
    """The ``count`` likeliest next tokens by the model's own logits (vocab,), as the sampler sees them: for each,
    ``text`` (``pieces(id)``), ``model`` (the model's probability, softmax of the logits), ``tempered`` (after
    the temperature, before any cut), ``sampled`` (the chance ``choose_next`` picks it: 0 when cut) and ``cut``
    (None, "top-k", "top-p" or "temperature 0": which setting removed it). Temperature 0 keeps the argmax only."""
    order = torch.topk(logits, min(count, logits.size(-1))).indices  # (count,)
    model = logits.softmax(-1)
    if cfg.temperature == 0:
        tempered = torch.zeros_like(model)
        tempered[logits.argmax()] = 1.0
        sampled, kept, after_k = tempered, tempered > 0, tempered > 0
    else:
        tempered = (logits / cfg.temperature).softmax(-1)
        kept_logits = sampling_logits(logits, cfg)
        sampled, kept = kept_logits.softmax(-1), kept_logits.isfinite()
        after_k = filter_top_k(logits, cfg.top_k).isfinite()
    rows = []
    for i in order.tolist():
        cut = None
        if not bool(kept[i]):
            cut = "temperature 0" if cfg.temperature == 0 else "top-k" if not bool(after_k[i]) else "top-p"
        rows.append({"text": pieces(i), "model": float(model[i]), "tempered": float(tempered[i]),
                     "sampled": float(sampled[i]), "cut": cut})
    return rows
