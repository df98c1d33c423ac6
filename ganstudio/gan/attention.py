"""Attention maps of attention-based generators (SAGAN, Transformer), for the Attention tab.

Uses the generators' explicit path `forward(z, y, return_attn=True)`; the model is not changed.
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


@torch.no_grad()
def attention_maps(gan, z: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, list[dict]]:
    """Generate one image and return it with every attention map.

    `gan`: a loaded GanModel or a generator module. `z`: (1, z_dim) (a batch uses its first row).
    Returns (image (1, C, H, W) in [-1, 1], [{"name", "attn" (Nq, Nk) rows summing to 1,
    "q_grid" (hq, wq), "k_grid" (hk, wk)}]); transformer heads are averaged per block.
    """
    generator = getattr(gan, "generator", gan)
    if not has_attention(generator):
        raise BadInput("this generator has no attention layers (choose a SAGAN or Transformer generator)")
    z = z[:1]
    y = None if y is None else y[:1]
    was_training = generator.training
    generator.eval()
    try:
        image, maps = generator(z, y, return_attn=True)
    finally:
        generator.train(was_training)
    out = []
    for i, attn in enumerate(maps):
        if attn.dim() == 4:  # transformer: (B, nh, T, T) -> mean over heads
            attn = attn[0].mean(0)
            name = f"block {i + 1} (mean of {maps[i].shape[1]} heads)"
        else:  # SAGAN: (B, N, N)
            attn = attn[0]
            name = f"self-attention {i + 1}"
        side = int(round(math.sqrt(attn.shape[0])))
        grid = (side, side) if side * side == attn.shape[0] else (attn.shape[0], 1)
        out.append({"name": name, "attn": attn.float().cpu(), "q_grid": grid, "k_grid": grid})
    return image, out
