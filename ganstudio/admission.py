"""Admission before allocation: estimate a model's memory from its config, refuse what does not fit.

Every model build — a training run from the Train form, a GAN checkpoint, a GPT-2 config from
the Hub — is sized here first, without allocating it: GAN nets are built on PyTorch's ``meta``
device (shapes only) and one forward pass is traced there to sum the activations; GPT-2 sizes
follow from its config. What exceeds ``SETTINGS.max_model_mb`` is refused with one line naming
the setting to turn down.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ganstudio.errors import BadInput, BadModel
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


# ---- GANs -----------------------------------------------------------------------------------


def gan_training_estimate(spec, batch: int, d_inputs: int = 2) -> Estimate:
    """Memory of training ``spec`` with ``batch`` samples: G and D with Adam, the EMA copy, the last-good
    copy, and activations of one G pass plus one D pass over ``d_inputs`` x batch samples."""
    from ganstudio.gan.models import build_discriminator, build_generator

    with torch.device("meta"):
        G, D = build_generator(spec), build_discriminator(spec)
    p_g, p_d = _count(G), _count(D)
    # G: weights, grads, 2 Adam moments, EMA copy and its last-good copy, last-good G; D: the same without EMA
    weights = FLOAT * (7 * p_g + 5 * p_d)
    n = spec.pack  # D judges packs of this many samples: trace with whole packs
    per_sample_g = _per_sample_bytes(lambda b: G(*_latents(spec, b * n)), n)
    per_sample_d = _per_sample_bytes(lambda b: D(G(*_latents(spec, b * n)), _labels(spec, b * n)), n) - per_sample_g
    activations = BACKWARD_FACTOR * batch * (per_sample_g + d_inputs * max(per_sample_d, 0.0))
    return Estimate(p_g + p_d, int(weights), int(activations))


def gan_sampling_estimate(spec, batch: int) -> Estimate:
    """Memory of loading ``spec`` (G and D weights) and sampling ``batch`` images without gradients."""
    from ganstudio.gan.models import build_discriminator, build_generator

    with torch.device("meta"):
        G, D = build_generator(spec), build_discriminator(spec)
    per_sample = _per_sample_bytes(lambda b: G(*_latents(spec, b)), 1)
    return Estimate(_count(G) + _count(D), FLOAT * (_count(G) + _count(D)), int(batch * per_sample))


def check_training(cfg) -> Estimate:
    """Refuse a training config whose estimated memory exceeds the budget (BadInput naming the knob)."""
    from ganstudio.gan.models import GanSpec
    from ganstudio.gan.sources import image_size_for

    toy = cfg.data_kind == "2d"
    spec = GanSpec(arch=cfg.arch, z_dim=cfg.z_dim, n_classes=10 if cfg.conditional else 0,
                   channels=0 if toy else 3, image_size=0 if toy else image_size_for(cfg), hidden=cfg.hidden,
                   depth=cfg.depth, width=cfg.width, heads=cfg.heads, spectral_norm=cfg.spectral_norm, pack=cfg.pack,
                   g_out="conv3x3" if toy else cfg.g_out)
    estimate = gan_training_estimate(spec, cfg.batch_size, d_inputs=3 if cfg.loss == "wgan-gp" else 2)
    if estimate.total_mb > budget_mb():
        knob = "batch size" if estimate.activation_bytes > estimate.weight_bytes else (
            "hidden width or depth" if toy else "width or depth")
        raise BadInput(f"this run would need about {estimate.total_mb:,.0f} MB of memory, more than the "
                       f"{budget_mb():,} MB one run may use here (GANSTUDIO_MAX_MODEL_MB): lower the {knob}")
    return estimate


def check_gan_checkpoint(spec, name: str, batch: int = 64) -> Estimate:
    """Refuse a GAN checkpoint whose config describes nets too large to load and sample here."""
    estimate = gan_sampling_estimate(spec, batch)
    if estimate.total_mb > budget_mb():
        raise BadModel(f"{name}: this generator would need about {estimate.total_mb:,.0f} MB, more than the "
                       f"{budget_mb():,} MB a model may use here (GANSTUDIO_MAX_MODEL_MB)")
    return estimate


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


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _latents(spec, n: int):
    z = torch.empty(n, spec.z_dim, device="meta")
    return z, _labels(spec, n)


def _labels(spec, n: int):
    return torch.zeros(n, dtype=torch.long, device="meta") if spec.n_classes else None


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


def _per_sample_bytes(fn, unit: int) -> float:
    """Bytes ``fn(b)`` allocates per sample on meta tensors: traced at b = 1 and b = 2 units of ``unit``
    samples, so weight-sized temporaries (spectral norm, transposes) cancel out."""
    sizes = []
    for b in (1, 2):
        tracer = _SizeTracer()
        with tracer:
            fn(b)
        sizes.append(tracer.bytes)
    return max(sizes[1] - sizes[0], 0) / unit
