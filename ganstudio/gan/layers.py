"""Building blocks shared by the GAN models: spectral norm, self-attention, class handling."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

CLASS_DIM = 16  # size of G's class embedding, concatenated after z


def maybe_sn(module: nn.Module, enabled: bool) -> nn.Module:
    """Spectral-normalise a layer's weight when asked (SNGAN / SAGAN).

    On the meta device (memory estimates, see ``ganstudio.admission``) it is left out: it adds two
    small vectors per layer and no per-sample memory, and its power iteration is slow there.
    """
    return spectral_norm(module) if enabled and not module.weight.is_meta else module


def default_labels(z: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Labels for a conditional G called without y: cycle through the classes (deterministic)."""
    return torch.arange(z.shape[0], device=z.device) % n_classes


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) conv/linear weights as in DCGAN; BN scale around 1."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class PixelsConvT(nn.ConvTranspose2d):
    """ConvTranspose2d(C, out, 4, stride 2, padding 1) for the few output channels of an image.

    Same weights (C, out, 4, 4) and maths, computed as one matmul and an overlap-add (`F.fold`): CPU oneDNN
    runs a transposed conv with 1-3 output channels several times slower than this.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, 4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        cols = x.flatten(2).transpose(1, 2) @ self.weight.flatten(1)  # (B, H*W, out*16): each pixel's 4x4 stamp
        out = F.fold(cols.transpose(1, 2), (2 * H, 2 * W), 4, padding=1, stride=2)  # (B, out, 2H, 2W), overlaps summed
        return out + self.bias.view(1, -1, 1, 1)


class SelfAttention2d(nn.Module):
    """SAGAN self-attention over feature-map positions; the residual gate starts closed (gamma = 0)."""

    def __init__(self, channels: int, sn: bool = True):
        super().__init__()
        inner = max(channels // 8, 1)
        self.query = maybe_sn(nn.Conv2d(channels, inner, 1, bias=False), sn)
        self.key = maybe_sn(nn.Conv2d(channels, inner, 1, bias=False), sn)
        self.value = maybe_sn(nn.Conv2d(channels, channels // 2, 1, bias=False), sn)
        self.out = maybe_sn(nn.Conv2d(channels // 2, channels, 1, bias=False), sn)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor, return_attn: bool = False, attn_off: bool = False):
        """attn_off: the branch adds nothing (as if gamma were 0) for this call only; the maps still come out."""
        B, C, H, W = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, N, c')
        k = self.key(x).flatten(2)  # (B, c', N)
        v = self.value(x).flatten(2)  # (B, C/2, N)
        attn = F.softmax(q @ k, dim=-1)  # (B, Nq, Nk)
        o = (v @ attn.transpose(1, 2)).view(B, C // 2, H, W)  # each query position mixes the values it attends to
        y = x if attn_off else x + self.gamma * self.out(o)
        return (y, attn) if return_attn else y


class Projection(nn.Module):
    """Projection discriminator head: logit = w·h + <embed(y), h> (Miyato & Koyama 2018)."""

    def __init__(self, features: int, n_classes: int, sn: bool):
        super().__init__()
        self.linear = maybe_sn(nn.Linear(features, 1), sn)
        self.embed = maybe_sn(nn.Embedding(n_classes, features), sn) if n_classes else None

    def forward(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        logit = self.linear(h).squeeze(1)  # (B,)
        if self.embed is not None and y is not None:
            logit = logit + (self.embed(y) * h).sum(1)
        return logit
