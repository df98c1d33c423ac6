"""What a GAN is, as data: ``GanSpec`` holds everything needed to rebuild its G and D (config.json's fields).

Torch-free and checked field by field against the one set of limits (``ganstudio.limits``) through
``ganstudio.checks``, so a training form, the CLI and a loaded config.json obey the same bounds.
``GanSpec.for_training`` is the one place a training config becomes a spec.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ganstudio import checks
from ganstudio.checks import shown
from ganstudio.errors import BadInput, BadModel
from ganstudio.gan.config import ARCHS, G_OUTS, IMAGE_SIZES
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
    # "patch" (transformer only): each token's linear map draws its own tile of pixels, so G has no convolution;
    # a transformer with any other value keeps its older head (feature tiles, then a 3x3 conv over the seams).
    g_out: str = "conv3x3"
    # Classes an unconditional G reads off its own latent (TrainConfig.class_from_z): the class is argmax of the
    # first z_classes values of z, embedded like a conditional G's label, and D is class-conditional in training.
    # Callers give no label (n_classes stays 0); crossing a class boundary in z switches the digit. 0 = off.
    z_classes: int = 0

    @classmethod
    def for_training(cls, cfg, n_classes: int, channels: int = 0, image_size: int = 0, scale: float = 1.0) -> "GanSpec":
        """The nets a ``TrainConfig`` asks for, given what its data brings: ``n_classes`` (0 when the run uses no
        labels), image ``channels`` and ``image_size`` (0 for 2D points) and the 2D sets' coordinate ``scale``."""
        classes = dict(z_classes=n_classes) if cfg.class_from_z else dict(n_classes=n_classes)
        common = dict(arch=cfg.arch, z_dim=cfg.z_dim, hidden=cfg.hidden, depth=cfg.depth, width=cfg.width,
                      heads=cfg.heads, spectral_norm=cfg.spectral_norm, **classes)
        if cfg.data_kind == "2d":
            return cls(**common, scale=scale, pack=cfg.pack)
        return cls(**common, channels=channels, image_size=image_size, g_out=cfg.g_out)

    def for_discriminator(self) -> "GanSpec":
        """D's own spec: with ``z_classes`` it judges (image, class) pairs although G takes no class."""
        return replace(self, n_classes=self.z_classes, z_classes=0) if self.z_classes else self

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
        if self.g_out == "patch" and self.arch != "transformer":
            raise BadInput(f"g_out 'patch' is for the transformer generator, not {shown(self.arch)}")
        if self.arch == "transformer" and self.width % self.heads:
            raise BadInput(f"width {self.width} must be a multiple of heads {self.heads}")
        return self
