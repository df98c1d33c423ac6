"""GAN generators and discriminators: MLP (2D), DCGAN, SAGAN (registered with ``registry.py``); the
transformer G lives in transformer_g.py, the spec they are built from in spec.py.

Generator contract (Explore and Attention rely on it):
  attributes z_dim, n_classes (0 = unconditional), out_kind ("2d" | "image");
  forward(z (B, z_dim), y (B,) | None) -> (B, 2) points in data coordinates or (B, C, H, W) in [-1, 1];
  y may also be float (B, classes) weights, a blend of the classes' embeddings (interpolations morph through it;
  a generator that reads its class off z takes the blend instead);
  the first layer on z is `z_proj: nn.Linear(z_dim [+ CLASS_DIM], F)`, z in columns [:z_dim];
  first_features(z, y) -> (B, F), the output of z_proj.
Discriminators: forward(x, y=None) -> (B,) logits/scores.
"""

from __future__ import annotations

import torch
from torch import nn

from ganstudio.gan.latents import sample_array
from ganstudio.gan.layers import (
    CLASS_DIM,
    PixelsConvT,
    Projection,
    SelfAttention2d,
    dcgan_init,
    default_labels,
    maybe_sn,
)
from ganstudio.gan.pretrained import Pretrained
from ganstudio.gan.registry import register
from ganstudio.gan.spec import GanSpec


def classes_from_z(z: torch.Tensor, k: int) -> torch.Tensor:
    """(B,) class of each latent of an unconditional G trained with z_classes = k: argmax of z[:, :k]."""
    return z[:, :k].argmax(1)


class Generator(nn.Module, Pretrained):
    """Any GAN Studio generator: the shared latent entry [z, class embedding] -> z_proj, sampling, and the Hub's
    ``save_pretrained`` / ``from_pretrained`` (``Generator.from_pretrained(repo)`` builds whichever
    architecture the repo's config names)."""

    z_proj: nn.Linear
    out_kind = "image"
    role = "generator"

    def __init__(self) -> None:  # the architectures take a GanSpec; from_pretrained reads it from config.json
        super().__init__()

    def _init_latent(self, spec: GanSpec, features: int) -> None:
        self.spec = spec
        self.z_dim, self.n_classes, self.z_classes = spec.z_dim, spec.n_classes, spec.z_classes
        classes = spec.n_classes or spec.z_classes
        self.class_embed = nn.Embedding(classes, CLASS_DIM) if classes else None
        self.z_proj = nn.Linear(spec.z_dim + (CLASS_DIM if classes else 0), features)

    def first_features(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.class_embed is not None:
            if y is not None and y.is_floating_point():  # (B, classes) weights: a blend of the classes' embeddings
                embedded = y.to(self.class_embed.weight.dtype) @ self.class_embed.weight  # (B, CLASS_DIM)
            else:
                if self.z_classes:  # the class is part of the latent: y is ignored
                    y = classes_from_z(z, self.z_classes)
                elif y is None:
                    y = default_labels(z, self.n_classes)
                embedded = self.class_embed(y)  # (B, CLASS_DIM)
            z = torch.cat([z, embedded], dim=1)  # (B, z_dim + CLASS_DIM)
        return self.z_proj(z)  # (B, F)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, labels=None):
        """n samples as numpy: uint8 images (n, H, W, C), or float32 points (n, 2) for a 2D generator; the same
        seed gives the same samples everywhere (``latents.py``). ``labels`` (n,) picks the classes of a
        conditional generator."""
        return sample_array(self, n, seed, labels)


class Discriminator(nn.Module, Pretrained):
    """Any GAN Studio discriminator: forward(x, y=None) -> (B,) scores; saved next to its generator."""

    role = "discriminator"

    def __init__(self) -> None:
        super().__init__()


# ---- 2D ------------------------------------------------------------------------------------


class MLPGenerator(Generator):
    out_kind = "2d"

    def __init__(self, spec: GanSpec):
        super().__init__()
        self._init_latent(spec, spec.hidden)
        layers: list[nn.Module] = []
        for _ in range(spec.depth - 1):
            layers += [nn.ReLU(), nn.Linear(spec.hidden, spec.hidden)]
        self.body = nn.Sequential(*layers, nn.ReLU(), nn.Linear(spec.hidden, 2))
        self.scale = float(spec.scale)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.scale * self.body(self.first_features(z, y))  # (B, 2) in data coordinates


class MLPDiscriminator(Discriminator):
    def __init__(self, spec: GanSpec):
        super().__init__()
        self.spec = spec
        sn, h = spec.spectral_norm, spec.hidden
        self.pack = spec.pack
        layers: list[nn.Module] = [maybe_sn(nn.Linear(2 * spec.pack, h), sn), nn.LeakyReLU(0.2)]
        for _ in range(spec.depth - 1):
            layers += [maybe_sn(nn.Linear(h, h), sn), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.head = Projection(h, spec.n_classes, sn)
        self.scale = float(spec.scale)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 2) points -> (B / pack,) scores: each score judges `pack` consecutive points together."""
        packed = (x / self.scale).reshape(-1, 2 * self.pack)  # (B / pack, 2 * pack)
        return self.head(self.body(packed), y)  # (B / pack,)


# ---- images --------------------------------------------------------------------------------


def resolution_plan(image_size: int) -> tuple[int, int]:
    """(base, ups): halve the size while it stays even and >= 4, e.g. 28 -> (7, 2), 32 -> (4, 3)."""
    base, ups = image_size, 0
    while base % 2 == 0 and base // 2 >= 4:
        base, ups = base // 2, ups + 1
    return base, ups


class DCGANGenerator(Generator):
    """z -> z_proj -> (C0, base, base) -> [ConvT 4x4/2, BN, ReLU] x ups -> 3x3 conv -> tanh  (g_out "conv3x3")
    z -> z_proj -> (C0, base, base) -> [ConvT 4x4/2, BN, ReLU] x (ups-1) -> ConvT 4x4/2 to pixels -> tanh  ("convT")

    With `attention=True` (SAGAN) a self-attention block follows the last-but-one upsampling
    and every conv is spectrally normalised.
    """

    def __init__(self, spec: GanSpec, attention: bool = False):
        super().__init__()
        base, ups = resolution_plan(spec.image_size)
        sn = attention
        lean = spec.g_out == "convT"
        chans = [spec.width * 2 ** (ups - i) for i in range(ups + 1)]  # e.g. 128, 64, 32 (width 32, 28 px)
        self.base, self.c0 = base, chans[0]
        self._init_latent(spec, chans[0] * base * base)
        self.stem = nn.Sequential(nn.BatchNorm2d(chans[0]), nn.ReLU())
        self.ups = nn.ModuleList()
        for i in range(ups - 1 if lean else ups):
            self.ups.append(nn.Sequential(
                maybe_sn(nn.ConvTranspose2d(chans[i], chans[i + 1], 4, 2, 1, bias=False), sn),
                nn.BatchNorm2d(chans[i + 1]), nn.ReLU(),
            ))
        self.attn_after = max(ups - 2, 0) if attention else -1  # attend at the last-but-one resolution
        self.attn = SelfAttention2d(chans[self.attn_after + 1], sn=True) if attention else None
        if lean:  # (B, C, H/2, W/2) -> (B, channels, H, W)
            self.to_image = maybe_sn(PixelsConvT(chans[ups - 1], spec.channels), sn)
        else:
            self.to_image = maybe_sn(nn.Conv2d(chans[-1], spec.channels, 3, 1, 1), sn)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, return_attn: bool = False,
                attn_off: bool = False):
        """attn_off (SAGAN): this call skips the attention branch, as if gamma were 0; nothing stored changes."""
        h = self.first_features(z, y).view(-1, self.c0, self.base, self.base)  # (B, C0, base, base)
        h = self.stem(h)
        maps = []
        for i, up in enumerate(self.ups):
            h = up(h)  # (B, C_i+1, 2H, 2W)
            if i == self.attn_after:
                h, attn = self.attn(h, return_attn=True, attn_off=attn_off)
                maps.append(attn)  # (B, N, N)
        img = torch.tanh(self.to_image(h))  # (B, C, H, W) in [-1, 1]
        return (img, maps) if return_attn else img


class ConvDiscriminator(Discriminator):
    """Mirror of the generator: [conv 4x4/2, LeakyReLU] x ups, optional self-attention, projection head."""

    def __init__(self, spec: GanSpec, attention: bool = False):
        super().__init__()
        self.spec = spec
        base, ups = resolution_plan(spec.image_size)
        sn = spec.spectral_norm or attention
        chans = [spec.channels] + [spec.width * 2**i for i in range(ups)]  # e.g. 1, 64, 128
        layers: list[nn.Module] = []
        for i in range(ups):
            layers += [maybe_sn(nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1), sn), nn.LeakyReLU(0.2)]
            if attention and i == 0:
                layers.append(SelfAttention2d(chans[1], sn=True))
        self.body = nn.Sequential(*layers)
        self.head = Projection(chans[-1] * base * base, spec.n_classes, sn)
        dcgan_init(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x).flatten(1)  # (B, C * base * base)
        return self.head(h, y)  # (B,)


register("mlp", MLPGenerator, MLPDiscriminator)
register("dcgan", DCGANGenerator, ConvDiscriminator)
register("sagan", lambda spec: DCGANGenerator(spec, attention=True), lambda spec: ConvDiscriminator(spec, attention=True))
