"""GAN checkpoints: save a trained GAN as a model folder, load it back strictly.

Folder layout — the Hub's (``PyTorchModelHubMixin``: see ``pretrained.py``), one net per folder:
  config.json        the generator's spec, flat ({"arch", "z_dim", ...}), plus "model_type": "ganstudio-gan",
                     data, loss, train settings, metrics, steps, ...
  model.safetensors  the generator (the EMA copy when EMA was on)
  README.md          model card (``card.py``): metadata, sample grid, metrics, settings
  samples.png        the sample grid
  discriminator/     config.json + model.safetensors: D, for resuming training
  generator_online/  config.json + model.safetensors: the raw G when `generator` is an EMA copy
Checkpoints from before this layout (one model.safetensors with generator./discriminator./generator_online.
prefixes and the spec under config["model"]) still load.
"""

from __future__ import annotations

import io as _bytes_io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganstudio import __version__
from ganstudio.checks import shown
from ganstudio.errors import BadModel
from ganstudio.gan import render
from ganstudio.gan.models import GanSpec, build_discriminator, build_generator
from ganstudio.gan.pretrained import DISCRIMINATOR_TYPE, GENERATOR_TYPE, card_for
from ganstudio.weights_io import (
    CARD_NAME,
    CONFIG_NAME,
    WEIGHTS_NAME,
    load_into,
    read_config,
    read_state_dict,
    write_folder,
)

MODEL_TYPE = GENERATOR_TYPE
D_FOLDER, ONLINE_FOLDER = "discriminator", "generator_online"
LEGACY_PREFIXES = ("generator.", "discriminator.", "generator_online.")


@dataclass
class GanParts:
    """What a checkpoint is made of (``GanTrainer.parts()`` provides these)."""

    spec: GanSpec
    generator: nn.Module  # the one to sample from (EMA copy when EMA was on)
    discriminator: nn.Module | None = None
    generator_online: nn.Module | None = None  # the raw G when `generator` is an EMA copy
    data: str = ""
    data_kind: str = "image"
    loss: str = ""
    train: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    class_names: list[str] = field(default_factory=list)
    toy: dict | None = None  # 2D: {"extent", "scale", "std", "modes"}


@dataclass
class GanModel:
    """A loaded GAN: sample from `generator` (eval mode)."""

    config: dict
    generator: nn.Module
    discriminator: nn.Module | None
    data_kind: str  # "2d" | "image"
    folder: Path | None = None

    @property
    def spec(self) -> GanSpec:
        return _spec_of(self.config, "GAN")

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, y: np.ndarray | None = None, batch: int = 256) -> np.ndarray:
        """n samples: images as uint8 (n, H, W, C), 2D points as float32 (n, 2) in data coordinates."""
        return sample_array(self.generator, n, seed, y, batch)


def save_gan(folder: str | Path, parts: GanParts, card_extra: dict | None = None) -> Path:
    """Write the checkpoint folder atomically; return its path (a trainer hands its ``parts()``)."""
    spec = parts.spec
    config = {
        **spec.to_dict(),
        "model_type": MODEL_TYPE,
        "data": parts.data,
        "data_kind": parts.data_kind,
        "class_names": parts.class_names[: spec.n_classes] if spec.n_classes else [],
        "image_shape": [spec.channels, spec.image_size, spec.image_size] if parts.data_kind == "image" else None,
        "loss": parts.loss,
        "ema": parts.generator_online is not None,
        "train": parts.train,
        "metrics": _plain(parts.metrics),
        "steps": parts.steps,
        "seconds": parts.seconds,
        "toy": parts.toy,
        "ganstudio_version": __version__,
        **(card_extra or {}),
    }
    picture = _png(samples_picture(parts.generator, parts.toy))

    def write(tmp: Path) -> None:
        parts.generator.save_pretrained(tmp, config=config)
        (tmp / "samples.png").write_bytes(picture)
        if parts.discriminator is not None:
            parts.discriminator.save_pretrained(tmp / D_FOLDER)
            (tmp / D_FOLDER / CARD_NAME).unlink()  # the root card describes the GAN; D is there for resuming
        if parts.generator_online is not None:
            parts.generator_online.save_pretrained(tmp / ONLINE_FOLDER)
            (tmp / ONLINE_FOLDER / CARD_NAME).unlink()

    return write_folder(folder, write)


def write_card(folder: str | Path, repo_id: str | None = None) -> None:
    """(Re)write a saved GAN's model card, e.g. with the repo id it is about to be pushed to."""
    folder = Path(folder)
    card_for(read_config(folder), repo_id).save(folder / CARD_NAME)


def load_gan(folder: str | Path, device: str | torch.device = "cpu", name: str | None = None) -> GanModel:
    """Strictly load a saved GAN (generator in eval mode; discriminator when saved).

    The config is checked and the nets' memory estimated before anything is built; ``name`` is how
    messages call the model (default: the folder's name).
    """
    folder = Path(folder)
    name = name or folder.name
    config, spec = check_gan_config(folder, name)
    generator = load_generator(folder, name, checked=(config, spec))
    discriminator = load_discriminator(folder, name, checked=(config, spec))
    if discriminator is not None:
        discriminator.to(device).eval()
    data_kind = config.get("data_kind") or ("2d" if spec.arch == "mlp" else "image")
    return GanModel(config, generator.to(device).eval(), discriminator, data_kind, folder)


def load_generator(folder: str | Path, name: str | None = None, checked: tuple[dict, GanSpec] | None = None) -> nn.Module:
    """The generator of a checkpoint folder, strictly loaded (train mode; callers pick eval)."""
    folder = Path(folder)
    name = name or folder.name
    config, spec = checked or check_gan_config(folder, name)
    generator = build_generator(spec)
    load_into(generator, _weights(folder, name, config, "generator."), f"{name} generator")
    return generator


def load_discriminator(folder: str | Path, name: str | None = None,
                       checked: tuple[dict, GanSpec] | None = None) -> nn.Module | None:
    """The discriminator of a GAN's folder (None when it was saved without one), or of a folder holding a
    discriminator alone (``Discriminator.save_pretrained``)."""
    folder = Path(folder)
    name = name or folder.name
    config, spec = checked or check_gan_config(folder, name, (MODEL_TYPE, DISCRIMINATOR_TYPE))
    if config.get("model_type") == DISCRIMINATOR_TYPE:
        state = _weights(folder, name, config, "")
    elif is_legacy(config):
        state = _weights(folder, name, config, "discriminator.")
    elif (folder / D_FOLDER / WEIGHTS_NAME).is_file():
        sub_config, _ = check_gan_config(folder / D_FOLDER, f"{name} discriminator", (DISCRIMINATOR_TYPE,))
        state = _weights(folder / D_FOLDER, name, sub_config, "")
    else:
        state = {}
    if not state:
        return None
    discriminator = build_discriminator(spec)
    load_into(discriminator, state, f"{name} discriminator")
    return discriminator


def load_online_generator(folder: str | Path, spec: GanSpec) -> nn.Module | None:
    """The raw (non-EMA) generator of a checkpoint, for resuming; None when it was saved without EMA."""
    folder = Path(folder)
    config = read_config(folder)
    if is_legacy(config):
        state = _weights(folder, folder.name, config, "generator_online.")
    elif (folder / ONLINE_FOLDER / WEIGHTS_NAME).is_file():
        state = _weights(folder / ONLINE_FOLDER, folder.name, {}, "")
    else:
        return None
    if not state:
        return None
    generator = build_generator(spec)
    load_into(generator, state, "generator_online")
    return generator


def check_gan_config(folder: str | Path, name: str, kinds: tuple[str, ...] = (MODEL_TYPE,)) -> tuple[dict, GanSpec]:
    """The folder's config.json, checked: a GAN Studio net (``kinds``) that fits the memory budget."""
    from ganstudio.admission import check_gan_checkpoint

    config = read_config(folder, name)
    if config.get("model_type") not in kinds:
        what = "generator" if kinds == (MODEL_TYPE,) else "net"
        raise BadModel(f"{name}: not a GAN Studio {what} (model_type {shown(config.get('model_type'))})")
    spec = _spec_of(config, name)
    check_gan_checkpoint(spec, name)
    return config, spec


def is_legacy(config: dict) -> bool:
    """Saved before the Hub layout: the spec under "model", every net in one prefixed weights file."""
    return isinstance(config.get("model"), dict)


def _spec_of(config: dict, name: str) -> GanSpec:
    if is_legacy(config):
        return GanSpec.from_dict(config["model"], name)
    return GanSpec.from_dict({k: config[k] for k in GanSpec.__dataclass_fields__ if k in config}, name)


def _weights(folder: Path, name: str, config: dict, prefix: str) -> dict[str, torch.Tensor]:
    """One net's tensors: a legacy file's ``prefix`` part, or the whole file of a one-net folder."""
    from ganstudio.admission import check_file_size

    weights = folder / WEIGHTS_NAME
    if weights.is_file():
        check_file_size(weights.stat().st_size, name)
    state = read_state_dict(folder, name=name)
    if not is_legacy(config):
        return state
    stray = [k for k in state if not k.startswith(LEGACY_PREFIXES)]
    if stray:
        raise BadModel(f"{name}: unexpected weight {shown(stray[0])} (not generator/discriminator)")
    return _strip(prefix, state)


def resolve_gan(spec: str, progress=None, allow_paths: bool = True) -> Path:
    """The local folder of a GAN spec (bundled name, folder or Hub repo ``owner/name[@rev]``); downloads
    happen here, so call it off the engine's worker. The config is checked before the weights come."""
    from ganstudio.gan.community import resolve_community
    from ganstudio.hub import resolve

    community = resolve_community(spec, progress)  # a registered community repo, converted once
    if community is not None:
        return community
    return resolve(spec, files=(CONFIG_NAME, WEIGHTS_NAME), optional=("README.md", "samples.png"),
                   progress=progress, allow_paths=allow_paths, validate=lambda folder: check_gan_config(folder, spec))


def load_gan_spec(spec: str, device: str | torch.device = "cpu", progress=None) -> GanModel:
    """Load a GAN from a bundled name, a folder or a Hub repo (`owner/name[@rev]`)."""
    return load_gan(resolve_gan(spec, progress), device, name=spec)


# ---- sampling and pictures --------------------------------------------------------------------


@torch.no_grad()
def sample_array(generator: nn.Module, n: int, seed: int = 0, y: np.ndarray | None = None, batch: int = 256) -> np.ndarray:
    """n samples from `generator` in eval mode (its mode and BatchNorm statistics are left as they were):
    uint8 (n, H, W, C) images or float32 (n, 2) points."""
    was_training = generator.training
    generator.eval()
    try:
        return _sample_array(generator, n, seed, y, batch)
    finally:
        generator.train(was_training)


def _sample_array(generator: nn.Module, n: int, seed: int, y: np.ndarray | None, batch: int) -> np.ndarray:
    device = next(generator.parameters()).device
    g = torch.Generator(device="cpu").manual_seed(seed)
    z = torch.randn(n, generator.z_dim, generator=g)
    labels = None
    if generator.n_classes:
        labels = torch.as_tensor(y, dtype=torch.long) if y is not None else torch.arange(n) % generator.n_classes
    outs = []
    for start in range(0, n, batch):
        zb = z[start:start + batch].to(device)
        yb = None if labels is None else labels[start:start + batch].to(device)
        outs.append(generator(zb, yb).float().cpu())
    out = torch.cat(outs) if outs else torch.zeros(0, 2)
    if generator.out_kind == "2d":
        return out.numpy().astype(np.float32)
    return render.to_uint8_images(out.clamp(-1, 1).numpy())


def samples_picture(generator: nn.Module, toy: dict | None, n_images: int = 64, seed: int = 0):
    """The card picture: an image grid, or generated points over the real modes for 2D."""
    if generator.out_kind == "2d":
        points = sample_array(generator, 1000, seed)
        extent = tuple(toy["extent"]) if toy else _extent_of(points)
        real = np.asarray(toy["modes"]) if toy and toy.get("modes") else None
        return render.toy_view(extent, real=real, fake=points, point_radius=1.4)
    k = generator.n_classes
    n = k * max(1, n_images // k) if 0 < k <= 16 else n_images
    return render.image_grid(sample_array(generator, n, seed), nrow=k if 0 < k <= 16 else None)


def _extent_of(points: np.ndarray) -> tuple[float, float, float, float]:
    finite = points[np.isfinite(points).all(1)]
    if len(finite) == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    lo, hi = finite.min(0), finite.max(0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) * 0.6, 0.5)
    return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


def _png(picture) -> bytes:
    buffer = _bytes_io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _strip(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _plain(value):
    """JSON-safe copy: numpy scalars become Python numbers; NaN/inf become None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
