"""GAN generators and discriminators: MLP (2D), DCGAN, SAGAN; the transformer G lives in transformer_g.py.

Generator contract (Explore and Attention rely on it):
  attributes z_dim, n_classes (0 = unconditional), out_kind ("2d" | "image");
  forward(z (B, z_dim), y (B,) | None) -> (B, 2) points in data coordinates or (B, C, H, W) in [-1, 1];
  the first layer on z is `z_proj: nn.Linear(z_dim [+ CLASS_DIM], F)`, z in columns [:z_dim];
  first_features(z, y) -> (B, F), the output of z_proj.
Discriminators: forward(x, y=None) -> (B,) logits/scores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ganstudio import checks
from ganstudio.checks import shown
from ganstudio.errors import BadInput, BadModel
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
from ganstudio.limits import LIMITS


@dataclass
class GanSpec:
    """Everything needed to rebuild G and D (stored as config.json["model"])."""

    arch: str  # mlp | dcgan | sagan | transformer
    z_dim: int
    n_classes: int = 0  # 0 = unconditional
    channels: int = 0  # image channels (images only)
    image_size: int = 0  # image height = width (images only)
    hidden: int = 128  # MLP width
    depth: int = 3  # MLP hidden layers / transformer blocks
    width: int = 64  # conv base channels / transformer token width
    heads: int = 4  # transformer heads
    spectral_norm: bool = False  # on D (SAGAN always uses it on G and D)
    scale: float = 1.0  # 2D: coordinate scale the MLPs work in
    pack: int = 1  # 2D: PacGAN packing, D judges this many samples at once
    # How a conv G makes pixels. "conv3x3": upsample to full size with `width` channels, then a 3x3 conv (the
    # layout of checkpoints saved before this field existed). "convT": the last transposed conv outputs the
    # image itself (DCGAN's original), so no full-size feature maps exist: ~2x faster on a CPU, where those
    # maps' memory traffic (BatchNorm, ReLU, a 1-channel conv oneDNN handles slowly) dominated the step.
    g_out: str = "conv3x3"
    # Classes an unconditional G reads off its own latent (TrainConfig.class_from_z): the class is argmax of the
    # first z_classes values of z, embedded like a conditional G's label, and D is class-conditional in training.
    # Callers give no label (n_classes stays 0); crossing a class boundary in z switches the digit. 0 = off.
    z_classes: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict, name: str = "GAN config") -> "GanSpec":
        """Rebuild a spec from config.json["model"], every field type- and range-checked first."""
        if not isinstance(raw, dict):
            raise BadModel(f"{name}: the 'model' section of config.json is not an object")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise BadModel(f"{name}: unknown model setting {shown(unknown[0])} in config.json")
        try:
            spec = cls(**raw)
            spec.validate()
        except (TypeError, BadInput) as err:
            raise BadModel(f"{name}: config.json does not describe a GAN we can build ({err})") from None
        return spec

    def validate(self) -> "GanSpec":
        """Bounds shared with the training form (``ganstudio.limits``); BadInput names the first bad field."""
        from ganstudio.gan.config import ARCHS, G_OUTS, IMAGE_SIZES

        checks.choice("arch", self.arch, ARCHS)
        checks.integer("z_dim", self.z_dim, 1, LIMITS.gan_max_z_dim)
        checks.integer("n_classes", self.n_classes, 0, LIMITS.gan_max_classes)
        checks.integer("hidden", self.hidden, 4, LIMITS.gan_max_hidden)
        checks.integer("depth", self.depth, 1, LIMITS.gan_max_depth)
        checks.integer("width", self.width, 4, LIMITS.gan_max_width)
        checks.integer("heads", self.heads, 1, LIMITS.gan_max_heads)
        checks.integer("pack", self.pack, 1, LIMITS.gan_max_pack)
        checks.boolean("spectral_norm", self.spectral_norm)
        checks.number("scale", self.scale, 1e-6, 1e6)
        checks.choice("g_out", self.g_out, G_OUTS)
        checks.integer("z_classes", self.z_classes, 0, min(self.z_dim, LIMITS.gan_max_classes))
        if self.z_classes and self.n_classes:
            raise BadInput("z_classes is for an unconditional generator: set n_classes to 0")
        if self.arch != "mlp":
            if self.channels not in (1, 3):
                raise BadInput(f"channels must be 1 or 3, got {shown(self.channels)}")
            if self.image_size not in IMAGE_SIZES:
                raise BadInput(f"image_size must be one of {IMAGE_SIZES}, got {shown(self.image_size)}")
        if self.arch == "transformer" and self.width % self.heads:
            raise BadInput(f"width {self.width} must be a multiple of heads {self.heads}")
        return self


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
            if self.z_classes:  # the class is part of the latent: y is ignored
                y = classes_from_z(z, self.z_classes)
            elif y is None:
                y = default_labels(z, self.n_classes)
            z = torch.cat([z, self.class_embed(y)], dim=1)  # (B, z_dim + CLASS_DIM)
        return self.z_proj(z)  # (B, F)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, labels=None):
        """n samples as numpy: uint8 images (n, H, W, C), or float32 points (n, 2) for a 2D generator; the same
        seed gives the same samples. ``labels`` (n,) picks the classes of a conditional generator."""
        from ganstudio.gan.io import sample_array

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

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, return_attn: bool = False):
        h = self.first_features(z, y).view(-1, self.c0, self.base, self.base)  # (B, C0, base, base)
        h = self.stem(h)
        maps = []
        for i, up in enumerate(self.ups):
            h = up(h)  # (B, C_i+1, 2H, 2W)
            if i == self.attn_after:
                h, attn = self.attn(h, return_attn=True)
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


# ---- factory -------------------------------------------------------------------------------


def build_generator(spec: GanSpec) -> nn.Module:
    if spec.arch == "mlp":
        return MLPGenerator(spec)
    if spec.arch in ("dcgan", "sagan"):
        return DCGANGenerator(spec, attention=spec.arch == "sagan")
    if spec.arch == "transformer":
        from ganstudio.gan.transformer_g import TransformerGenerator

        return TransformerGenerator(spec)
    raise BadModel(f"unknown GAN architecture {spec.arch!r}")


def build_discriminator(spec: GanSpec) -> nn.Module:
    if spec.z_classes:  # D judges (image, class) pairs even though G takes no class
        from dataclasses import replace

        spec = replace(spec, n_classes=spec.z_classes, z_classes=0)
    if spec.arch == "mlp":
        return MLPDiscriminator(spec)
    if spec.arch in ("dcgan", "sagan", "transformer"):
        return ConvDiscriminator(spec, attention=spec.arch == "sagan")
    raise BadModel(f"unknown GAN architecture {spec.arch!r}")
