"""Which trainer a run's ``TrainConfig`` asks for: ``family`` "gan" (``GanTrainer``) or "vae" (``VaeTrainer``).

Both take the same arguments and report the same way (a ``TrainReport`` and ``Players``), so the engine's live
run, the CLI and the lessons build either through ``make_trainer`` and never branch on the family again.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganstudio.gan.config import TrainConfig
from ganstudio.gan.ddp import SINGLE, DistContext


def make_trainer(cfg: TrainConfig, device: str | torch.device = "cpu", *, data=None,
                 out_dir: str | Path | None = None, dist: DistContext = SINGLE):
    """A ``GanTrainer`` or a ``VaeTrainer`` for ``cfg``, built with the given data, output folder and DDP context."""
    if cfg.family == "vae":
        from ganstudio.vae.trainer import VaeTrainer

        return VaeTrainer(cfg, device, data=data, out_dir=out_dir, dist=dist)
    from ganstudio.gan.trainer import GanTrainer

    return GanTrainer(cfg, device, data=data, out_dir=out_dir, dist=dist)
