"""What a GAN training run is: one typed config with per-data-set defaults and up-front validation.

``TrainConfig.validate`` is the one checking path for a run's settings: the Train form, the API and the
CLI's flags all arrive as plain values, and every field is cleaned (a slider's 3.0 becomes 3) and checked
by ``ganstudio.checks`` against ``FIELD_RULES``, whose bounds come from ``ganstudio.limits``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from ganstudio import checks
from ganstudio.errors import BadInput
from ganstudio.limits import LIMITS

TOY_SETS = ("ring8", "grid25", "spiral", "moons", "custom")
IMAGE_SETS = ("digits", "mnist", "fashion-mnist", "cifar10")
ARCHS = ("mlp", "dcgan", "sagan", "transformer", "fc")
G_OUTS = ("conv3x3", "convT", "patch")  # how G makes pixels (see GanSpec.g_out); "patch": transformer only
IMAGE_ARCHS = ("dcgan", "sagan", "transformer", "fc")
LOSSES = ("ns", "minimax", "lsgan", "hinge", "wgan-gp")
OPTIMIZERS = ("adam", "sgd")
FAMILIES = ("gan", "vae")  # the model family a run trains: a GAN (G against D) or a VAE (encoder and decoder)
AUGMENTS = ("translation", "cutout", "color")
IMAGE_SIZES = (16, 28, 32, 48, 64)  # sizes every conv/transformer stack here divides cleanly


def is_toy(data: str) -> bool:
    """2D point sets are named; everything else is an image set name or a path."""
    return data in TOY_SETS


@dataclass
class TrainConfig:
    """One GAN training run. `TrainConfig.defaults_for(data)` gives settings that learn out of the box."""

    data: str = "ring8"  # 2D set, image set name, or path to a zip/folder of images
    # gan: G and D play the game; vae: an encoder and a decoder (built like G) maximise the ELBO. A VAE uses the
    # budget, batch, latent size, G's learning rate and betas, the net sizes and the seed; the GAN-only settings
    # (loss, D's rate and steps, EMA, packing, R1, spectral norm, DiffAugment, classes) are ignored, not refused:
    # the Train form always sends them, and switching the family back finds them as they were
    family: str = "gan"
    arch: str = "mlp"  # mlp for 2D points; dcgan | sagan | transformer | fc (the articles' MLP GAN) for images
    loss: str = "ns"  # ns (non-saturating) | minimax (the original, saturating G loss) | lsgan | hinge | wgan-gp
    steps: int = 0  # iteration budget (D steps + one G step each); 0 = no step limit
    seconds: float = 20.0  # training-time budget, pauses excluded; 0 = no time limit
    batch_size: int = 256  # samples per D and per G step
    z_dim: int = 2  # latent size; 2 makes the 2D manifold view exact
    lr_g: float = 1e-3  # Adam learning rate of G
    lr_d: float = 1e-3  # Adam learning rate of D
    # G's optimiser: adam, or sgd (with momentum beta1_g, as in the original GAN paper). Adam rescales every step
    # to the learning rate, so a vanishing gradient still moves G; plain SGD shows it stall (the saturating lesson)
    g_optimizer: str = "adam"
    beta1_g: float = 0.5  # low momentum keeps the two-player game from oscillating
    beta2_g: float = 0.999
    beta1_d: float = 0.5
    beta2_d: float = 0.999
    d_steps: int = 1  # D updates per G update (WGAN-GP wants ~5)
    d_head_start: int = 0  # the first iterations update D alone: D learns to reject G's first guess before G moves
    ema: float = 0.999  # decay of the EMA copy of G that samples are drawn from; 0 = off
    lr_decay: float = 0.5  # final fraction of the budget over which both lrs decay linearly to 10%; sharpens modes
    spectral_norm: bool = False  # spectral norm on D's weights (Lipschitz D, steadier gradients)
    diffaug: str = ""  # comma list of translation,cutout,color applied to real and fake before D (images)
    gp_weight: float = 10.0  # gradient-penalty weight for wgan-gp
    pack: int = 1  # PacGAN (2D): D sees this many samples at once, so a collapsed G is easy to spot
    r1: float = 0.0  # R1 penalty γ on real data (not with wgan-gp); damps the oscillation around the data
    grad_clip: float = 0.0  # clip each net's gradient norm to this before its update (0 = off); tames spikes
    hidden: int = 128  # MLP width (2D); the fc GAN's first hidden width (its second is twice it)
    depth: int = 3  # hidden layers of the MLPs (2D) / transformer blocks (images)
    width: int = 64  # base channels of conv nets; token width of the transformer
    heads: int = 4  # attention heads of the transformer generator
    g_out: str = "conv3x3"  # conv G's pixel layer: conv3x3 after full-size features, or convT straight to pixels (faster)
    conditional: bool = False  # class-conditional G and projection D (needs labels)
    # Labels help an unconditional G: D is class-conditional, a fake's class is argmax of its first n_classes
    # latent values, so G learns to draw digit k where z says k; samples need no label (GanSpec.z_classes)
    class_from_z: bool = False
    image_size: int = 0  # images are resized to this; 0 = the data set's default
    custom_points: list = field(default_factory=list)  # [(x, y), ...] drawn by the user, data == "custom"
    seed: int = 0  # weights, data order and latent draws all follow it
    metric_every_s: float = 60.0  # training seconds between FID evaluations (images); 0 = at the end only
    fid_samples: int = 1000  # generated images per FID evaluation
    # VAE: the decoder's fixed std σ, in units of the 2D set's scale or of pixel values in [-1, 1]. The
    # reconstruction term is −‖x − x̂‖² / (2σ²): a small σ buys sharp reconstructions with a large KL term
    vae_sigma: float = 0.1

    # ---- presets -------------------------------------------------------------------------

    @classmethod
    def defaults_for(cls, data: str, **overrides) -> "TrainConfig":
        """Settings that make a GAN learn on `data` when the user only presses Start. An fc run on images starts
        from the articles' recipe (``ARTICLE_PRESET``): what a form or a flag does not set follows the articles. A
        transformer run draws its pixels from its tokens (``g_out="patch"``), as the bundled digits-transgan does."""
        if data in ("ring8", "grid25", "spiral", "moons", "custom"):
            preset = dict(TOY_PRESETS[data])
        elif overrides.get("arch") == "fc":
            preset = dict(ARTICLE_PRESET)
        elif data in ("digits", "mnist", "fashion-mnist"):
            preset = dict(DIGIT_PRESET)
        else:  # cifar10 or an uploaded set of colour images
            preset = dict(COLOUR_PRESET)
        if overrides.get("arch") == "transformer":
            preset["g_out"] = "patch"  # a Transformer as the whole generator (TransGAN): each token draws its tile
        if overrides.get("family") == "vae":
            preset.update(VAE_TOY_PRESET if data in TOY_SETS else VAE_IMAGE_PRESET)
        preset.update({k: v for k, v in overrides.items() if v is not None})
        return cls(data=data, **preset)

    # ---- plain-type round trip (config.json, UI, CLI) -------------------------------------

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["custom_points"] = [[float(x), float(y)] for x, y in self.custom_points]
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise BadInput(f"unknown training setting(s): {', '.join(unknown)}")
        return cls(**raw)

    # ---- validation -----------------------------------------------------------------------

    @property
    def data_kind(self) -> str:
        return "2d" if is_toy(self.data) else "image"

    def augment_list(self) -> list[str]:
        return [a.strip() for a in self.diffaug.split(",") if a.strip()]

    def validate(self) -> "TrainConfig":
        """Clean and check every field (BadInput names the first bad one), then how they combine; return self."""
        for name, (label, check) in FIELD_RULES.items():
            setattr(self, name, check(label, getattr(self, name)))
        self.data = self.data.strip()
        if not self.data:
            raise BadInput("choose a data set")
        if is_toy(self.data) and self.arch != "mlp":
            raise BadInput(f"{self.data} is a 2D point set: use the mlp architecture")
        if not is_toy(self.data) and self.arch == "mlp":
            raise BadInput(f"{self.data} is an image set: use dcgan, sagan, transformer or fc")
        if self.pack > 1 and not is_toy(self.data):
            raise BadInput("packing (PacGAN) is available for 2D data only")
        if self.class_from_z and self.conditional:
            raise BadInput("class from z is for an unconditional generator: turn off class-conditional training")
        if self.pack > 1 and (self.conditional or self.class_from_z):
            raise BadInput("packing and class-conditional training do not mix: turn one off")
        if self.steps and self.d_head_start >= self.steps:
            raise BadInput(f"D head start ({self.d_head_start} steps) must be shorter than the run ({self.steps} steps)")
        if self.batch_size % self.pack:
            raise BadInput(f"batch size {self.batch_size} must be a multiple of the packing {self.pack}")
        if self.g_out == "patch" and self.arch != "transformer":
            raise BadInput("the 'patch' output layer is for the transformer generator: choose conv3x3 or convT")
        if self.arch == "transformer" and self.width % self.heads:
            raise BadInput(f"transformer width {self.width} must be a multiple of the {self.heads} heads")
        unknown = [a for a in self.augment_list() if a not in AUGMENTS]
        if unknown:
            raise BadInput(f"unknown DiffAugment policy {checks.shown(unknown[0])}; choose from {', '.join(AUGMENTS)}")
        if self.image_size and self.image_size not in IMAGE_SIZES:
            raise BadInput(f"image size {self.image_size} is not supported; choose one of {IMAGE_SIZES}")
        if self.data == "custom" and not self.custom_points:
            raise BadInput("custom data needs at least one point: click on the canvas to add some")
        return self


# ---- the one table of field checks ---------------------------------------------------------

Check = Callable[[str, Any], Any]  # (label, value) -> cleaned value, or BadInput


def _int(low: int, high: int) -> Check:
    return lambda label, value: checks.integer(label, value, low, high)


def _num(low: float, high: float) -> Check:
    return lambda label, value: checks.number(label, value, low, high)


def _one_of(options: tuple[str, ...], what: str) -> Check:
    def check(label: str, value: Any) -> str:
        if isinstance(value, str) and value.strip() in options:
            return value.strip()
        raise BadInput(f"unknown {what} {checks.shown(value)}; choose one of {', '.join(options)}")
    return check


def check_points(label: str, points: Any) -> list[list[float]]:
    """[(x, y), ...] clicked on the 2D canvas: at most ``LIMITS.max_custom_points``, each within ±100."""
    if not isinstance(points, (list, tuple)) or len(points) > LIMITS.max_custom_points:
        raise BadInput(f"{label} must be a list of at most {LIMITS.max_custom_points} (x, y) pairs")
    out = []
    for p in points:
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise BadInput(f"{label}: {checks.shown(p)} is not an (x, y) pair")
        out.append([checks.number(f"{label} x", p[0], -100, 100), checks.number(f"{label} y", p[1], -100, 100)])
    return out


FIELD_RULES: dict[str, tuple[str, Check]] = {  # field -> (how messages name it, its check)
    "data": ("data", lambda label, v: checks.text(label, v, LIMITS.max_path_chars, empty="choose a data set")),
    "family": ("model family", _one_of(FAMILIES, "model family")),
    "arch": ("architecture", _one_of(ARCHS, "architecture")),
    "loss": ("loss", _one_of(LOSSES, "loss")),
    "steps": ("steps", _int(0, LIMITS.max_train_steps)),
    "seconds": ("seconds", _num(0, LIMITS.max_train_seconds)),
    "batch_size": ("batch size", _int(2, LIMITS.gan_max_batch)),
    "z_dim": ("latent size", _int(1, LIMITS.gan_max_z_dim)),
    "lr_g": ("G learning rate", _num(1e-7, LIMITS.max_learning_rate)),
    "lr_d": ("D learning rate", _num(1e-7, LIMITS.max_learning_rate)),
    "g_optimizer": ("G optimiser", _one_of(OPTIMIZERS, "G optimiser")),
    "beta1_g": ("beta 1 of G", _num(0.0, LIMITS.max_adam_beta)),
    "beta2_g": ("beta 2 of G", _num(0.0, LIMITS.max_adam_beta)),
    "beta1_d": ("beta 1 of D", _num(0.0, LIMITS.max_adam_beta)),
    "beta2_d": ("beta 2 of D", _num(0.0, LIMITS.max_adam_beta)),
    "d_steps": ("D steps per G step", _int(1, LIMITS.gan_max_d_steps)),
    "d_head_start": ("D head start", _int(0, LIMITS.max_train_steps)),
    "ema": ("EMA decay", _num(0.0, LIMITS.max_adam_beta)),
    "lr_decay": ("lr decay fraction", _num(0.0, 1.0)),
    "spectral_norm": ("spectral norm", checks.boolean),
    "diffaug": ("DiffAugment", lambda label, v: checks.text(label, v, LIMITS.max_name_chars)),
    "gp_weight": ("gradient-penalty weight", _num(0.0, LIMITS.max_penalty_weight)),
    "pack": ("packing", _int(1, LIMITS.gan_max_pack)),
    "r1": ("R1 weight", _num(0.0, LIMITS.max_penalty_weight)),
    "grad_clip": ("gradient clipping", _num(0.0, LIMITS.max_grad_clip)),
    "hidden": ("hidden width", _int(4, LIMITS.gan_max_hidden)),
    "depth": ("depth", _int(1, LIMITS.gan_max_depth)),
    "width": ("width", _int(4, LIMITS.gan_max_width)),
    "heads": ("heads", _int(1, LIMITS.gan_max_heads)),
    "g_out": ("generator output layer", _one_of(G_OUTS, "generator output layer")),
    "conditional": ("class-conditional", checks.boolean),
    "class_from_z": ("class from z", checks.boolean),
    "image_size": ("image size", _int(0, max(IMAGE_SIZES))),
    "custom_points": ("custom points", check_points),
    "seed": ("seed", _int(0, LIMITS.max_seed)),
    "metric_every_s": ("metric interval", _num(0, LIMITS.max_train_seconds)),
    "fid_samples": ("FID samples", _int(16, LIMITS.max_fid_samples)),
    "vae_sigma": ("VAE decoder std σ", _num(LIMITS.vae_min_sigma, LIMITS.vae_max_sigma)),
}
assert set(FIELD_RULES) == {f.name for f in dataclasses.fields(TrainConfig)}, "every field has exactly one check"


# 2D presets, tuned on the shared 2-core CPU: a D that learns 4x faster than G (TTUR) resolves the
# tight PacGAN modes (std 0.01 / 0.05) far sooner than equal rates; EMA + a short lr decay sharpen the end.
_TOY = dict(arch="mlp", loss="ns", batch_size=256, z_dim=2, lr_g=5e-4, lr_d=2e-3, hidden=128, depth=3,
            ema=0.999, lr_decay=0.3)
TOY_PRESETS: dict[str, dict] = {
    "ring8": dict(_TOY, seconds=20.0, lr_g=1e-3, lr_d=4e-3),  # 8 modes tolerate (and like) faster rates
    "grid25": dict(_TOY, seconds=30.0),
    "spiral": dict(_TOY, seconds=30.0),
    "moons": dict(_TOY, seconds=20.0),
    "custom": dict(_TOY, seconds=30.0),
}
# Digits in 2 minutes on one CPU thread (`python -m ganstudio bench digits` judges the result). Measured on the
# shared 2-core CPU at 2,000 steps (what 120 s gives at ~17 steps/s): class-conditional 86.5 % confident vs ~25 %
# unconditional; the lean G (last transposed conv draws the pixels) at width 16 with batch 64 turns the most images
# per second into quality; ns loss and lr 2e-3 beat hinge and 1e-3; EMA 0.995 suits ~2k steps; translation
# DiffAugment hurt badly at this length (36x the real Fréchet distance vs 4x).
DIGIT_PRESET = dict(
    arch="dcgan", loss="ns", steps=0, seconds=120.0, batch_size=64, z_dim=64, lr_g=2e-3, lr_d=2e-3,
    beta1_g=0.0, beta1_d=0.0, beta2_g=0.9, beta2_d=0.9, ema=0.995, lr_decay=0.3, spectral_norm=True,
    diffaug="", width=16, depth=4, image_size=28, g_out="convT", conditional=True,
)
# Colour images (CIFAR-10 or an upload, which may have no labels): the earlier recipe, unconditional, full DiffAugment.
COLOUR_PRESET = dict(
    arch="dcgan", loss="hinge", steps=0, seconds=600.0, batch_size=32, z_dim=64, lr_g=1e-3, lr_d=1e-3,
    beta1_g=0.0, beta1_d=0.0, beta2_g=0.9, beta2_d=0.9, ema=0.999, lr_decay=0.3, spectral_norm=True,
    diffaug="translation,color,cutout", width=32, depth=4, image_size=32,
)
# A VAE's presets, over its data set's: one Adam rate for encoder and decoder, no EMA or decay of its own
# (ignored settings keep their GAN values, so the form shows them as they were).
VAE_TOY_PRESET = dict(lr_g=2e-3, beta1_g=0.9, beta2_g=0.999, batch_size=256, vae_sigma=0.1)
VAE_IMAGE_PRESET = dict(lr_g=1e-3, beta1_g=0.9, beta2_g=0.999, batch_size=64, z_dim=16, vae_sigma=0.3)
# The tutorial articles' recipe (001, 003, 004 in the studio's sources): their fully connected GAN (``fc.py``: G
# z=100 -> 128 -> 256 -> 784 tanh, D 784 -> 256 -> 128 -> 1, leaky ReLU), batch 32, Adam lr 2e-4 with beta1 0.5
# (004) and Keras's beta2 0.999, the sigmoid cross-entropy D and the non-saturating G, unconditional; nothing the
# articles do not use (no EMA, no lr decay, no spectral norm, no DiffAugment). Same 120 s as the digits preset; on the
# shared 2-core CPU (one thread, load 3-7) it made ~20,000 steps to 22.3 % confident digits, Fréchet 20.6 / 21.9
# (seeds 0 / 1; the DCGAN preset: 87.1 / 88.8 %, 1.34 / 1.32; `bench digits`), shown in the Train tab (ui/recipe.py).
ARTICLE_PRESET = dict(
    arch="fc", loss="ns", steps=0, seconds=120.0, batch_size=32, z_dim=100, lr_g=2e-4, lr_d=2e-4,
    beta1_g=0.5, beta1_d=0.5, beta2_g=0.999, beta2_d=0.999, d_steps=1, ema=0.0, lr_decay=0.0, spectral_norm=False,
    diffaug="", hidden=128, conditional=False,
)
PRESETS: dict[str, dict] = {"article": ARTICLE_PRESET}  # named recipes: `train --preset NAME`, a Train-tab button
