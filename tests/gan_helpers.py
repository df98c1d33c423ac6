"""Tiny stand-ins shared by the GAN tests (kept small so every test runs in well under a second)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ganstudio.gan.config import TrainConfig


def tiny_images(n: int = 32, size: int = 16, channels: int = 1, n_classes: int = 2, seed: int = 0):
    """An ImageData-like set: blobs of two brightnesses, labelled by brightness."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n) if n_classes else None
    x = rng.integers(0, 60, (n, size, size, channels)).astype(np.uint8)
    if labels is not None:
        x[labels == 1, size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 220
    return SimpleNamespace(x=x, labels=labels, n_classes=n_classes, skipped=0, name="tiny", class_names=[])


def tiny_image_config(arch: str = "dcgan", loss: str = "hinge", **overrides) -> TrainConfig:
    base = dict(arch=arch, loss=loss, steps=2, seconds=0.0, batch_size=4, z_dim=8, width=8, depth=1, heads=2,
                image_size=16, fid_samples=16, metric_every_s=0.0, diffaug="translation,color,cutout")
    base.update(overrides)
    return TrainConfig(data="tiny-stand-in", **base)


def tiny_toy_config(data: str = "ring8", **overrides) -> TrainConfig:
    base = dict(steps=3, seconds=0.0, batch_size=16, hidden=16, depth=2)
    base.update(overrides)
    return TrainConfig.defaults_for(data, **base)
