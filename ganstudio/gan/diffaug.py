"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to real AND fake images before D.

Because G's gradient flows through the augmentation, D can be regularised with augmented data
without the augmentations leaking into G's samples. Policies: translation, cutout, color.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def diff_augment(x: torch.Tensor, policies: list[str], generator: torch.Generator | None = None) -> torch.Tensor:
    for policy in policies:
        x = _POLICIES[policy](x, generator)
    return x


def _rand(shape, x: torch.Tensor, g) -> torch.Tensor:
    return torch.rand(shape, device=x.device, generator=g, dtype=x.dtype)


def color(x: torch.Tensor, g) -> torch.Tensor:
    B = x.shape[0]
    x = x + (_rand((B, 1, 1, 1), x, g) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand((B, 1, 1, 1), x, g) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand((B, 1, 1, 1), x, g) + 0.5) + mean  # contrast


def translation(x: torch.Tensor, g, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ratio·size pixels, filling with zeros."""
    B, C, H, W = x.shape
    sh, sw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (B, 1, 1), device=x.device, generator=g)
    tx = torch.randint(-sw, sw + 1, (B, 1, 1), device=x.device, generator=g)
    gy, gx = torch.meshgrid(torch.arange(H, device=x.device), torch.arange(W, device=x.device), indexing="ij")
    iy = (gy[None] + ty + 1).clamp(0, H + 1)  # (B, H, W) rows in the 1-pixel zero-padded image
    ix = (gx[None] + tx + 1).clamp(0, W + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # (B, H+2, W+2, C)
    batch = torch.arange(B, device=x.device)[:, None, None]
    return padded[batch, iy, ix].permute(0, 3, 1, 2).contiguous()  # (B, C, H, W)


def cutout(x: torch.Tensor, g, ratio: float = 0.5) -> torch.Tensor:
    """Zero one random square of ratio·size per image."""
    B, C, H, W = x.shape
    ch, cw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    cy = torch.randint(0, H + (1 - ch % 2), (B, 1, 1), device=x.device, generator=g)
    cx = torch.randint(0, W + (1 - cw % 2), (B, 1, 1), device=x.device, generator=g)
    gy, gx = torch.meshgrid(torch.arange(H, device=x.device), torch.arange(W, device=x.device), indexing="ij")
    top, left = cy - ch // 2, cx - cw // 2  # (B, 1, 1) corner of the square, may hang over the edge
    inside = (gy[None] >= top) & (gy[None] < top + ch) & (gx[None] >= left) & (gx[None] < left + cw)  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_POLICIES = {"color": color, "translation": translation, "cutout": cutout}
