"""A VAE's encoder q(z|x) = N(μ(x), diag σ²(x)): an MLP for 2D points, a small conv net for images.

The decoder is not defined here: it is the generator ``ganstudio.gan.registry.build_generator(spec)`` builds,
so a VAE's decoder and a GAN's G are the same kind of net (and Explore loads either).
"""

from __future__ import annotations

import torch
from torch import nn

from ganstudio.gan.models import resolution_plan
from ganstudio.gan.spec import GanSpec

LOGVAR_RANGE = (-12.0, 6.0)  # log σ² is clamped: σ between 0.0025 and 20 keeps exp() finite in any step


class MLPEncoder(nn.Module):
    """(B, 2) points in data coordinates -> (μ, log σ²), each (B, z_dim); the GAN MLPs' width and depth."""

    def __init__(self, spec: GanSpec):
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(2, spec.hidden), nn.ReLU()]
        for _ in range(spec.depth - 1):
            layers += [nn.Linear(spec.hidden, spec.hidden), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.Linear(spec.hidden, 2 * spec.z_dim))
        self.scale = float(spec.scale)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.body(x / self.scale).chunk(2, dim=1)  # (B, z_dim) each
        return mu, logvar.clamp(*LOGVAR_RANGE)


class ConvEncoder(nn.Module):
    """(B, C, H, W) in [-1, 1] -> (μ, log σ²): [conv 4x4/2, LeakyReLU] x ups (a GAN D's body), then a linear head."""

    def __init__(self, spec: GanSpec):
        super().__init__()
        base, ups = resolution_plan(spec.image_size)
        chans = [spec.channels] + [spec.width * 2**i for i in range(ups)]  # e.g. 1, 16, 32 (width 16, 28 px)
        layers: list[nn.Module] = []
        for i in range(ups):
            layers += [nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1] * base * base, 2 * spec.z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x).flatten(1)  # (B, C * base * base)
        mu, logvar = self.head(h).chunk(2, dim=1)  # (B, z_dim) each
        return mu, logvar.clamp(*LOGVAR_RANGE)


def build_encoder(spec: GanSpec) -> nn.Module:
    """The encoder for the decoder ``spec`` describes: 2D points (mlp) or images (any image architecture)."""
    return MLPEncoder(spec) if spec.arch == "mlp" else ConvEncoder(spec)
