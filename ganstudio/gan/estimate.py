"""A GAN's memory, estimated from its spec before anything is allocated (``ganstudio.admission`` holds the budget).

G and D are built on PyTorch's ``meta`` device (shapes only) and one forward pass is traced there to sum
the activations. A training config or a checkpoint whose estimate exceeds ``SETTINGS.max_model_mb`` is
refused with one line naming the setting to turn down.
"""

from __future__ import annotations

import torch

from ganstudio.admission import BACKWARD_FACTOR, FLOAT, Estimate, budget_mb, count_params, per_sample_bytes
from ganstudio.errors import BadInput, BadModel
from ganstudio.gan.registry import build_discriminator, build_generator
from ganstudio.gan.spec import GanSpec

ESTIMATE_CLASSES = 10  # labels a conditional run is sized for before its data is read (the built-in sets have 10)
ESTIMATE_CHANNELS = 3  # likewise: colour, the larger case


def training_estimate(spec: GanSpec, batch: int, d_inputs: int = 2) -> Estimate:
    """Memory of training ``spec`` with ``batch`` samples: G and D with Adam, the EMA copy, the last-good
    copy, and activations of one G pass plus one D pass over ``d_inputs`` x batch samples."""
    G, D = meta_nets(spec)
    p_g, p_d = count_params(G), count_params(D)
    # G: weights, grads, 2 Adam moments, EMA copy and its last-good copy, last-good G; D: the same without EMA
    weights = FLOAT * (7 * p_g + 5 * p_d)
    n = spec.pack  # D judges packs of this many samples: trace with whole packs
    d_classes = spec.n_classes or spec.z_classes
    per_sample_g = per_sample_bytes(lambda b: G(*meta_latents(spec, b * n)), n)
    per_sample_d = per_sample_bytes(lambda b: D(G(*meta_latents(spec, b * n)), meta_labels(d_classes, b * n)), n) - per_sample_g
    activations = BACKWARD_FACTOR * batch * (per_sample_g + d_inputs * max(per_sample_d, 0.0))
    return Estimate(p_g + p_d, int(weights), int(activations))


def sampling_estimate(spec: GanSpec, batch: int) -> Estimate:
    """Memory of loading ``spec`` (G and D weights) and sampling ``batch`` images without gradients."""
    G, D = meta_nets(spec)
    per_sample = per_sample_bytes(lambda b: G(*meta_latents(spec, b)), 1)
    params = count_params(G) + count_params(D)
    return Estimate(params, FLOAT * params, int(batch * per_sample))


def check_training(cfg) -> Estimate:
    """Refuse a training config whose estimated memory exceeds the budget (BadInput naming the knob)."""
    from ganstudio.gan.sources import image_size_for

    toy = cfg.data_kind == "2d"
    labelled = cfg.conditional or cfg.class_from_z
    spec = GanSpec.for_training(cfg, n_classes=ESTIMATE_CLASSES if labelled else 0,
                                channels=0 if toy else ESTIMATE_CHANNELS, image_size=0 if toy else image_size_for(cfg))
    estimate = training_estimate(spec, cfg.batch_size, d_inputs=3 if cfg.loss == "wgan-gp" else 2)
    if estimate.total_mb > budget_mb():
        knob = "batch size" if estimate.activation_bytes > estimate.weight_bytes else (
            "hidden width or depth" if toy else "width or depth")
        raise BadInput(f"this run would need about {estimate.total_mb:,.0f} MB of memory, more than the "
                       f"{budget_mb():,} MB one run may use here (GANSTUDIO_MAX_MODEL_MB): lower the {knob}")
    return estimate


def check_checkpoint(spec: GanSpec, name: str, batch: int = 64) -> Estimate:
    """Refuse a GAN checkpoint whose config describes nets too large to load and sample here."""
    estimate = sampling_estimate(spec, batch)
    if estimate.total_mb > budget_mb():
        raise BadModel(f"{name}: this generator would need about {estimate.total_mb:,.0f} MB, more than the "
                       f"{budget_mb():,} MB a model may use here (GANSTUDIO_MAX_MODEL_MB)")
    return estimate


def meta_nets(spec: GanSpec):
    """G and D of ``spec`` on the meta device: shapes only, nothing allocated (also the layer summary's nets)."""
    with torch.device("meta"):
        return build_generator(spec), build_discriminator(spec)


def meta_latents(spec: GanSpec, n: int):
    """(z, labels) of ``n`` samples for a meta G: what its forward takes."""
    return torch.empty(n, spec.z_dim, device="meta"), meta_labels(spec.n_classes, n)


def meta_labels(n_classes: int, n: int):
    return torch.zeros(n, dtype=torch.long, device="meta") if n_classes else None
