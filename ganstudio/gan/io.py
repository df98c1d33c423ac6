"""GAN checkpoints: save a trained GAN as a model folder; load one by name, folder or Hub repo.

Folder layout — the Hub's (``PyTorchModelHubMixin``: see ``pretrained.py``), one net per folder:
  config.json        the generator's spec, flat ({"arch", "z_dim", ...}), plus "model_type": "ganstudio-gan",
                     data, loss, train settings, metrics, steps, ...
  model.safetensors  the generator (the EMA copy when EMA was on)
  README.md          model card (``card.py``): metadata, sample grid, metrics, settings
  samples.png        the sample grid
  discriminator/     config.json + model.safetensors: D, for resuming training
  generator_online/  config.json + model.safetensors: the raw G when `generator` is an EMA copy
Reading a folder (checks, old layouts, strict loading) is ``folder.py``'s job; sampling follows the one
latent convention of ``latents.py``.
"""

from __future__ import annotations

import io as _bytes_io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganstudio import __version__
from ganstudio.gan import render
from ganstudio.gan.community import resolve_community
from ganstudio.gan.folder import (
    D_FOLDER,
    GENERATOR_TYPE,
    ONLINE_FOLDER,
    check_gan_config,
    load_discriminator,
    load_generator,
    spec_of,
)
from ganstudio.gan.latents import sample_array
from ganstudio.gan.pretrained import card_for
from ganstudio.gan.spec import GanSpec
from ganstudio.hub import resolve
from ganstudio.weights_io import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, read_config, save_tensors, write_folder


@dataclass
class GanParts:
    """What a checkpoint is made of (``ganstudio.gan.checkpoint.parts`` provides these)."""

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
    # further nets saved beside the generator, one subfolder each (config.json + model.safetensors): a VAE's
    # "encoder". Loading the folder as a GAN reads none of them
    extra: dict[str, nn.Module] = field(default_factory=dict)


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
        return spec_of(self.config, "GAN")

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, y: np.ndarray | None = None, batch: int = 256) -> np.ndarray:
        """n samples: images as uint8 (n, H, W, C), 2D points as float32 (n, 2) in data coordinates."""
        return sample_array(self.generator, n, seed, y, batch)


def save_gan(folder: str | Path, parts: GanParts, card_extra: dict | None = None) -> Path:
    """Write the checkpoint folder atomically; return its path (a trainer hands its ``parts()``)."""
    spec = parts.spec
    config = {
        **spec.to_dict(),
        "model_type": GENERATOR_TYPE,
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
        for name, net in parts.extra.items():
            (tmp / name).mkdir()
            save_tensors(net.state_dict(), tmp / name / WEIGHTS_NAME)
            (tmp / name / CONFIG_NAME).write_text(json.dumps({**spec.to_dict(), "model_type": f"ganstudio-{name}"}))

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


def resolve_gan(spec: str, progress=None, allow_paths: bool = True) -> Path:
    """The local folder of a GAN spec (bundled name, folder or Hub repo ``owner/name[@rev]``); downloads
    happen here, so call it off the engine's worker. The config is checked before the weights come."""
    community = resolve_community(spec, progress)  # a registered community repo, converted once
    if community is not None:
        return community
    return resolve(spec, files=(CONFIG_NAME, WEIGHTS_NAME), optional=("README.md", "samples.png"),
                   progress=progress, allow_paths=allow_paths, validate=lambda folder: check_gan_config(folder, spec))


def load_gan_spec(spec: str, device: str | torch.device = "cpu", progress=None) -> GanModel:
    """Load a GAN from a bundled name, a folder or a Hub repo (`owner/name[@rev]`)."""
    return load_gan(resolve_gan(spec, progress), device, name=spec)


# ---- sampling and pictures --------------------------------------------------------------------


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
