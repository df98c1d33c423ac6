"""Admission before allocation: estimate a model's memory from its config, refuse what does not fit.

Every model build — a training run from the Train form, a GAN checkpoint, a GPT-2 config from
the Hub — is sized first, without allocating it. This module holds the budget, the GPT-2 sizes
(they follow from its config), weights-file sizes and the tracer that sums a forward pass's
activations on PyTorch's ``meta`` device; GAN nets are sized with it in ``ganstudio.gan.estimate``.
What exceeds ``SETTINGS.max_model_mb`` is refused with one line naming the setting to turn down.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ganstudio.errors import BadModel
from ganstudio.settings import SETTINGS

MB = 1024 * 1024
FLOAT = 4  # bytes per float32 value
BACKWARD_FACTOR = 1.0  # the traced sum counts every intermediate result once: measured close to the real peak (SAGAN 28 px: 1.25 GB estimated, 1.18 GB seen at batch 512)


@dataclass(frozen=True)
class Estimate:
    params: int  # parameters of everything built
    weight_bytes: int  # weights, gradients, optimiser state and copies
    activation_bytes: int  # the largest batch's activations (forward and backward)

    @property
    def total_mb(self) -> float:
        return (self.weight_bytes + self.activation_bytes) / MB


def budget_mb() -> int:
    return SETTINGS.max_model_mb


# ---- GPT-2 ----------------------------------------------------------------------------------


def gpt_params(cfg) -> int:
    """Parameters of a GPT-2 from its config (tied or separate output layer)."""
    C, L, inner = cfg.n_embd, cfg.n_layer, cfg.inner
    per_block = (3 * C * C + 3 * C) + (C * C + C) + (C * inner + inner) + (inner * C + C) + 4 * C
    head = 0 if cfg.tie_word_embeddings else cfg.vocab_size * C
    return cfg.vocab_size * C + cfg.n_positions * C + L * per_block + 2 * C + head


def check_gpt(cfg, name: str, tokens: int | None = None) -> Estimate:
    """Refuse a GPT-2 config too large for the budget: weights, one KV cache and one attention map set."""
    T = min(tokens or cfg.n_positions, cfg.n_positions)
    params = gpt_params(cfg)
    kv_cache = FLOAT * 2 * cfg.n_layer * cfg.n_positions * cfg.n_embd
    attention_maps = FLOAT * cfg.n_layer * cfg.n_head * T * T
    logits = FLOAT * T * cfg.vocab_size
    estimate = Estimate(params, FLOAT * params, kv_cache + attention_maps + logits)
    if estimate.total_mb > budget_mb():
        raise BadModel(f"{name}: a {params / 1e6:,.0f}M-parameter model needs about {estimate.total_mb:,.0f} MB, "
                       f"more than the {budget_mb():,} MB a model may use here (GANSTUDIO_MAX_MODEL_MB)")
    return estimate


def check_file_size(nbytes: int, name: str, what: str = "weights") -> None:
    """A weights file larger than the budget is refused before it is read."""
    if nbytes / MB > budget_mb():
        raise BadModel(f"{name}: its {what} take {nbytes / MB:,.0f} MB, more than the {budget_mb():,} MB a model "
                       "may use here (GANSTUDIO_MAX_MODEL_MB)")


# ---- tracing on the meta device --------------------------------------------------------------


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class _SizeTracer(TorchDispatchMode):
    """Adds up the bytes of every new tensor an operation returns (views share memory and are skipped)."""

    def __init__(self):
        super().__init__()
        self.bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        returns = func._schema.returns
        for i, t in enumerate(out if isinstance(out, (tuple, list)) else (out,)):
            aliased = i < len(returns) and returns[i].alias_info is not None
            if isinstance(t, torch.Tensor) and not aliased:
                self.bytes += t.numel() * t.element_size()
        return out


def per_sample_bytes(fn, unit: int) -> float:
    """Bytes ``fn(b)`` allocates per sample on meta tensors: traced at b = 1 and b = 2 units of ``unit``
    samples, so weight-sized temporaries (spectral norm, transposes) cancel out."""
    sizes = []
    for b in (1, 2):
        tracer = _SizeTracer()
        with tracer:
            fn(b)
        sizes.append(tracer.bytes)
    return max(sizes[1] - sizes[0], 0) / unit
