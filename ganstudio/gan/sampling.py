"""Drawing from a run's nets outside the training step: what the trainer, its evaluation and the live view share.

* ``eval_forward``: a forward pass in eval mode without gradients, the net's mode put back after;
* ``eval_labels``: labels 0, 1, 2, ... in turn, so a conditional generator shows every class equally;
* ``Players``: the nets (and real data) a snapshot draws with, chosen by the trainer (``GanTrainer.players``);
* ``to_uint8``: generated images as the uint8 pictures the Fréchet scorer reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def eval_forward(net: nn.Module, *args) -> torch.Tensor:
    """net(*args) in eval mode, without gradients; the net's training flag is restored."""
    was_training = net.training
    net.eval()
    try:
        return net(*args)
    finally:
        net.train(was_training)


def eval_labels(n: int, n_classes: int, device: torch.device, start: int = 0) -> torch.Tensor | None:
    """(n,) labels start, start + 1, ... (mod n_classes) for a conditional generator (None when it takes none)."""
    return torch.arange(start, start + n, device=device) % n_classes if n_classes else None


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) in [-1, 1] -> (B, H, W, C) uint8 numpy."""
    return ((images.clamp(-1, 1) + 1) * 127.5 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


@dataclass(frozen=True)
class Players:
    """What a snapshot draws with. The trainer hands these out; nothing else reaches into its nets."""

    generator: nn.Module  # draws the live view: the EMA copy, or G itself (manual stepping, or no EMA)
    online: nn.Module  # G itself: the live loss terms judge what it makes now
    discriminator: nn.Module | None  # judges a pack of `pack` samples at a time (PacGAN); None for a VAE
    real_batch: Callable[[int], tuple[torch.Tensor, torch.Tensor | None]]  # n real samples (and labels)
    smoothed: bool  # `generator` is the EMA copy: the view says so
    # a VAE's encoder q(z|x) -> (μ, log σ²), with which the view reconstructs real samples and writes the ELBO;
    # `generator` is then its decoder. None for a GAN
    encoder: nn.Module | None = None

    @property
    def drawn(self) -> str:
        """Which generator the view shows, in words."""
        if self.encoder is not None:
            return "the decoder, z from the prior N(0, I)"
        return "EMA of G (smoothed)" if self.smoothed else "G itself (each manual step shows)"
