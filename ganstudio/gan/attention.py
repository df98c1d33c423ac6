"""Attention maps of attention-based generators (SAGAN, Transformer), for the Attention tab.

Uses the generators' explicit path `forward(z, y, return_attn=True, attn_off=...)`; the model is not changed:
`attn_off=True` removes the attention branch for that one call only (SAGAN: the gated branch adds nothing, as if
γ = 0; Transformer: every head attends uniformly), so the ablation leaves no state behind, even on error.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganstudio.errors import BadInput


def has_attention(generator: nn.Module) -> bool:
    return getattr(generator, "out_kind", "") == "image" and (
        getattr(generator, "attn", None) is not None or hasattr(generator, "blocks")
    )


def layer_layout(generator: nn.Module) -> list[tuple[str, int]]:
    """(name, heads) of each attention layer, in forward order, read off the generator's structure."""
    if hasattr(generator, "blocks"):  # transformer
        return [(f"block {i + 1}", block.attn.heads) for i, block in enumerate(generator.blocks)]
    return [("self-attention 1", 1)] if getattr(generator, "attn", None) is not None else []  # SAGAN: one, one head


def gates(generator: nn.Module) -> list[float]:
    """SAGAN's learned residual gates γ, one per self-attention layer (features + γ · attention); [] otherwise."""
    attn = getattr(generator, "attn", None)
    return [float(attn.gamma.detach())] if attn is not None and hasattr(attn, "gamma") else []


@torch.no_grad()
def attention_maps(gan, z: torch.Tensor, y: torch.Tensor | None = None,
                   attn_off: bool = False) -> tuple[torch.Tensor, list[dict]]:
    """Generate one image and return it with every attention map.

    `gan`: a loaded GanModel or a generator module. `z`: (1, z_dim) (a batch uses its first row).
    `attn_off`: draw it with the attention branch removed (the maps are then uniform, or a SAGAN's unused ones).
    Returns (image (1, C, H, W) in [-1, 1], [{"name", "heads" (nh, Nq, Nk) each head's rows summing to 1,
    "attn" (Nq, Nk) their mean, "q_grid" (hq, wq), "k_grid" (hk, wk), "gamma" (SAGAN's gate, else None)}]).
    """
    generator = getattr(gan, "generator", gan)
    if not has_attention(generator):
        raise BadInput("this generator has no attention layers (choose a SAGAN or Transformer generator)")
    z = z[:1]
    y = None if y is None else y[:1]
    was_training = generator.training
    generator.eval()
    try:
        image, maps = generator(z, y, return_attn=True, attn_off=attn_off)
    finally:
        generator.train(was_training)
    gammas = gates(generator)
    out = []
    for i, ((name, _), attn) in enumerate(zip(layer_layout(generator), maps)):
        heads = (attn[0] if attn.dim() == 4 else attn[0][None]).float().cpu()  # (nh, N, N): SAGAN's (B, N, N) has one
        gamma = gammas[i] if i < len(gammas) else None
        side = int(round(math.sqrt(heads.shape[1])))
        grid = (side, side) if side * side == heads.shape[1] else (heads.shape[1], 1)
        out.append({"name": name, "heads": heads, "attn": heads.mean(0), "q_grid": grid, "k_grid": grid,
                    "gamma": gamma})
    return image, out
