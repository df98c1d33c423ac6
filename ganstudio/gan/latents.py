"""The one latent convention: what a seed means, everywhere a generator is sampled.

Sample i of seed s is row i of ``numpy.random.default_rng(s).standard_normal((n, z_dim), float32)``:
the same on every machine and device, and the first rows do not depend on ``n``, so one sample of
seed s is the first of a grid of seed s. A conditional generator's sample i shows class i mod k
unless a class is asked for. Explore, Attention → Image, the CLI's ``sample``, the MCP tool and
``Generator.sample`` all draw through here, so a seed shows the same images in each.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ganstudio.gan import render


def latents(n: int, z_dim: int, seed: int, psi: float = 1.0) -> np.ndarray:
    """(n, z_dim) float32 latents of ``seed``; truncation ``psi`` scales them towards their mean (0)."""
    z = np.random.default_rng(seed).standard_normal((n, z_dim), dtype=np.float32)
    return z if psi == 1.0 else (psi * z).astype(np.float32)


def labels(n: int, n_classes: int, class_id: int | None = None) -> np.ndarray | None:
    """(n,) int64 classes for a conditional generator: ``class_id`` for all, or 0, 1, 2, ... in turn."""
    if not n_classes:
        return None
    if class_id is not None:
        return np.full(n, class_id, dtype=np.int64)
    return np.arange(n, dtype=np.int64) % n_classes


@torch.no_grad()
def sample_array(generator: nn.Module, n: int, seed: int = 0, y: np.ndarray | None = None, batch: int = 256) -> np.ndarray:
    """n samples of ``seed`` in eval mode (the generator's mode and BatchNorm statistics are left as they were):
    uint8 (n, H, W, C) images or float32 (n, 2) points in data coordinates."""
    was_training = generator.training
    generator.eval()
    try:
        return _sample_array(generator, n, seed, y, batch)
    finally:
        generator.train(was_training)


def _sample_array(generator: nn.Module, n: int, seed: int, y: np.ndarray | None, batch: int) -> np.ndarray:
    device = next(generator.parameters()).device
    z = torch.from_numpy(latents(n, generator.z_dim, seed))  # (n, z_dim)
    ys = np.asarray(y, dtype=np.int64) if y is not None else labels(n, generator.n_classes)
    classes = None if ys is None or not generator.n_classes else torch.from_numpy(ys)
    outs = []
    for start in range(0, n, batch):
        zb = z[start:start + batch].to(device)
        yb = None if classes is None else classes[start:start + batch].to(device)
        outs.append(generator(zb, yb).float().cpu())
    out = torch.cat(outs) if outs else torch.zeros(0, 2)
    if generator.out_kind == "2d":
        return out.numpy().astype(np.float32)  # (n, 2)
    return render.to_uint8_images(out.clamp(-1, 1).numpy())  # (n, H, W, C)
