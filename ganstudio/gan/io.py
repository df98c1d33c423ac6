"""GAN checkpoints: save a trained GAN as a model folder, load it back strictly.

Folder layout (through `ganstudio.weights_io` only):
  config.json        {"model_type": "ganstudio-gan", arch, data, z_dim, n_classes, image_shape, loss, model, train, metrics, ...}
  model.safetensors  generator.* (EMA weights when EMA was on), discriminator.*, and generator_online.*
                     (the raw, non-averaged G) when EMA was on — everything needed to resume
  README.md          model card: settings, metrics, sample grid
  samples.png        the sample grid
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
from ganstudio.checks import shown
from ganstudio.errors import BadModel
from ganstudio.gan import render
from ganstudio.gan.models import GanSpec, build_discriminator, build_generator
from ganstudio.weights_io import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    load_into,
    read_config,
    read_state_dict,
    save_model,
)

MODEL_TYPE = "ganstudio-gan"
PREFIXES = ("generator.", "discriminator.", "generator_online.")


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
        return GanSpec.from_dict(self.config["model"])

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, y: np.ndarray | None = None, batch: int = 256) -> np.ndarray:
        """n samples: images as uint8 (n, H, W, C), 2D points as float32 (n, 2) in data coordinates."""
        return sample_array(self.generator, n, seed, y, batch)


def save_gan(folder: str | Path, parts: GanParts, card_extra: dict | None = None) -> Path:
    """Write the checkpoint folder atomically; return its path (a trainer hands its ``parts()``)."""
    spec = parts.spec
    config = {
        "model_type": MODEL_TYPE,
        "arch": spec.arch,
        "data": parts.data,
        "data_kind": parts.data_kind,
        "z_dim": spec.z_dim,
        "n_classes": spec.n_classes,
        "class_names": parts.class_names[: spec.n_classes] if spec.n_classes else [],
        "image_shape": [spec.channels, spec.image_size, spec.image_size] if parts.data_kind == "image" else None,
        "image_size": spec.image_size or None,
        "channels": spec.channels or None,
        "loss": parts.loss,
        "ema": parts.generator_online is not None,
        "model": spec.to_dict(),
        "train": parts.train,
        "metrics": _plain(parts.metrics),
        "steps": parts.steps,
        "seconds": parts.seconds,
        "toy": parts.toy,
        "ganstudio_version": __version__,
        **(card_extra or {}),
    }
    state = _prefixed("generator.", parts.generator)
    if parts.discriminator is not None:
        state.update(_prefixed("discriminator.", parts.discriminator))
    if parts.generator_online is not None:
        state.update(_prefixed("generator_online.", parts.generator_online))
    picture = samples_picture(parts.generator, parts.toy)
    buffer = _bytes_io.BytesIO()
    picture.save(buffer, format="PNG")
    return save_model(folder, config, state, card=model_card(config), extra_files={"samples.png": buffer.getvalue()})


def load_gan(folder: str | Path, device: str | torch.device = "cpu", name: str | None = None) -> GanModel:
    """Strictly load a saved GAN (generator in eval mode; discriminator when present).

    The config is checked and the nets' memory estimated before anything is built; ``name`` is how
    messages call the model (default: the folder's name).
    """
    from ganstudio.admission import check_file_size

    folder = Path(folder)
    name = name or folder.name
    config, spec = check_gan_config(folder, name)
    weights = folder / WEIGHTS_NAME
    if weights.is_file():
        check_file_size(weights.stat().st_size, name)
    state = read_state_dict(folder, name=name)
    stray = [k for k in state if not k.startswith(PREFIXES)]
    if stray:
        raise BadModel(f"{name}: unexpected weight {shown(stray[0])} (not generator/discriminator)")
    generator = build_generator(spec)
    load_into(generator, _strip("generator.", state), f"{name} generator")
    discriminator = None
    d_state = _strip("discriminator.", state)
    if d_state:
        discriminator = build_discriminator(spec)
        load_into(discriminator, d_state, f"{name} discriminator")
        discriminator.to(device).eval()
    data_kind = config.get("data_kind") or ("2d" if spec.arch == "mlp" else "image")
    return GanModel(config, generator.to(device).eval(), discriminator, data_kind, folder)


def load_online_generator(folder: str | Path, spec: GanSpec) -> nn.Module | None:
    """The raw (non-EMA) generator of a checkpoint, for resuming; None when it was saved without EMA."""
    state = _strip("generator_online.", read_state_dict(folder))
    if not state:
        return None
    generator = build_generator(spec)
    load_into(generator, state, "generator_online")
    return generator


def check_gan_config(folder: str | Path, name: str) -> tuple[dict, GanSpec]:
    """The folder's config.json, checked: a GAN Studio generator whose nets fit the memory budget."""
    from ganstudio.admission import check_gan_checkpoint

    config = read_config(folder, name)
    if config.get("model_type") != MODEL_TYPE:
        raise BadModel(f"{name}: not a GAN Studio generator (model_type {shown(config.get('model_type'))})")
    spec = GanSpec.from_dict(config.get("model"), name)
    check_gan_checkpoint(spec, name)
    return config, spec


def resolve_gan(spec: str, progress=None, allow_paths: bool = True) -> Path:
    """The local folder of a GAN spec (bundled name, folder or Hub repo ``owner/name[@rev]``); downloads
    happen here, so call it off the engine's worker. The config is checked before the weights come."""
    from ganstudio.hub import resolve

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


def model_card(config: dict) -> str:
    metrics = config.get("metrics") or {}
    metric_lines = "\n".join(f"| {k} | {v} |" for k, v in metrics.items()) or "| (none) | |"
    train = config.get("train") or {}
    keys = ("loss", "steps", "seconds", "batch_size", "z_dim", "lr_g", "lr_d", "d_steps", "ema", "spectral_norm",
            "diffaug", "conditional", "seed")
    settings = "\n".join(f"| {k} | {train.get(k)!r} |" for k in keys if k in train)
    return f"""---
library_name: ganstudio
tags: [gan, ganstudio, {config['arch']}]
---
# {config['arch'].upper()} GAN on {config['data']}

Trained with GAN Studio for {config['steps']} steps ({config['seconds']} s of training).
Generator: `{config['arch']}`, latent size {config['z_dim']}, {config['n_classes'] or 'no'} classes,
output {'2D points' if config['data_kind'] == '2d' else 'images ' + 'x'.join(map(str, config['image_shape'] or []))}.

![samples](samples.png)

## Metrics

| metric | value |
| --- | --- |
{metric_lines}

## Training settings

| setting | value |
| --- | --- |
{settings}

Load it with `ganstudio.gan.io.load_gan_spec("<this repo or folder>")`, or sample from the command line:
`python -m ganstudio sample --model <repo or folder> --n 64 --out samples.png`.

```json
{json.dumps(config.get('model', {}), sort_keys=True)}
```
"""


def _prefixed(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in module.state_dict().items()}


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
