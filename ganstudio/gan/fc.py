"""The tutorial articles' own GAN (registered as "fc"): fully connected G and D on flattened images.

Article 003's code, layer for layer: G is z -> dense 128 -> dense 256 -> dense 784 (tanh), D is 784 -> dense
256 -> dense 128 -> 1, every hidden layer a leaky ReLU (TensorFlow's slope 0.2), initialised as TensorFlow's
dense layers are (Glorot-uniform weights, zero biases). ``GanSpec.hidden`` is the first width (128 in the
articles), the second is twice it; the 784 pixels are reshaped to the (C, H, W) image every other generator
draws, so the net saves, loads and samples like them. D returns a logit (the articles' sigmoid lives in the loss).
"""

from __future__ import annotations

import torch
from torch import nn

from ganstudio.gan.layers import Projection, maybe_sn
from ganstudio.gan.models import Discriminator, Generator
from ganstudio.gan.registry import register
from ganstudio.gan.spec import GanSpec

SLOPE = 0.2  # tf.nn.leaky_relu's default negative slope


def _glorot(module: nn.Module) -> None:
    """TensorFlow's dense-layer initialisation: Glorot-uniform weights, zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.xavier_uniform_(weight)
            nn.init.zeros_(m.bias)


class FCGenerator(Generator):
    """z -> z_proj (hidden) -> LeakyReLU -> Linear (2 hidden) -> LeakyReLU -> Linear (C*H*W) -> tanh -> (C, H, W)."""

    def __init__(self, spec: GanSpec):
        super().__init__()
        h, pixels = spec.hidden, spec.channels * spec.image_size**2
        self._init_latent(spec, h)
        self.body = nn.Sequential(
            nn.LeakyReLU(SLOPE), nn.Linear(h, 2 * h), nn.LeakyReLU(SLOPE),  # (B, 2h)
            nn.Linear(2 * h, pixels), nn.Tanh(),  # (B, C*H*W) in [-1, 1]
            nn.Unflatten(1, (spec.channels, spec.image_size, spec.image_size)),  # (B, C, H, W)
        )
        _glorot(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(self.first_features(z, y))  # (B, C, H, W) in [-1, 1]


class FCDiscriminator(Discriminator):
    """(C, H, W) -> flatten -> Linear (2 hidden) -> LeakyReLU -> Linear (hidden) -> LeakyReLU -> projection head."""

    def __init__(self, spec: GanSpec):
        super().__init__()
        self.spec = spec
        h, sn, pixels = spec.hidden, spec.spectral_norm, spec.channels * spec.image_size**2
        self.body = nn.Sequential(
            nn.Flatten(),  # (B, C*H*W)
            maybe_sn(nn.Linear(pixels, 2 * h), sn), nn.LeakyReLU(SLOPE),  # (B, 2h)
            maybe_sn(nn.Linear(2 * h, h), sn), nn.LeakyReLU(SLOPE),  # (B, h)
        )
        self.head = Projection(h, spec.n_classes, sn)
        _glorot(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.body(x), y)  # (B,) logits


register("fc", FCGenerator, FCDiscriminator)
