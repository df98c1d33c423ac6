"""Scoring a run's generator: PacGAN mode metrics for 2D data, a Fréchet distance for images.

``Evaluator.score`` is given the generator to score (the trainer's sampler) and returns the run's new
metrics; the trainer keeps them (``GanTrainer.evaluate``), the live run decides how often to ask.
Each score draws its own seeded latents, so scores are comparable across steps and runs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ganstudio.gan.config import TrainConfig
from ganstudio.gan.fid import FrechetScorer
from ganstudio.gan.spec import GanSpec
from ganstudio.gan.sampling import eval_forward, eval_labels, to_uint8

FID_CHUNK = 250  # generated images per forward pass while scoring
TOY_SEED_OFFSET = 7  # 2D scores draw their latents with seed cfg.seed + this
FID_SEED_OFFSET = 11  # image scores draw theirs with cfg.seed + this


class Evaluator:
    """Scores one run's generator against its training data (``source``)."""

    def __init__(self, cfg: TrainConfig, spec: GanSpec, source, device: torch.device):
        self.cfg, self.spec, self.source, self.device = cfg, spec, source, device
        self._scorer: FrechetScorer | None = None  # built on the first image score (it loads a feature net)

    def score(self, generator: nn.Module, metrics: dict, final: bool = False) -> dict:
        """The run's metrics after scoring ``generator``: 2D scores replace ``metrics``, an image score
        (slow: call rarely) is added to them."""
        if self.source.toy is not None:
            from ganstudio.gan.metrics2d import N_EVAL, N_LIVE_CURVES, toy_metrics

            # curves compare every sample with every real one: live views use a smaller sample (same protocol)
            n = N_EVAL if final or self.source.toy.modes is not None else N_LIVE_CURVES
            g = torch.Generator(device=self.device).manual_seed(self.cfg.seed + TOY_SEED_OFFSET)
            z = torch.randn(n, self.cfg.z_dim, device=self.device, generator=g)
            fake = eval_forward(generator, z, eval_labels(n, self.spec.n_classes, self.device)).cpu().numpy()
            return toy_metrics(fake, self.source.toy, self.cfg.seed)
        return {**metrics, **self._frechet(generator)}

    def _frechet(self, generator: nn.Module) -> dict:
        n = self.cfg.fid_samples
        fakes = []
        g = torch.Generator(device=self.device).manual_seed(self.cfg.seed + FID_SEED_OFFSET)
        for start in range(0, n, FID_CHUNK):
            m = min(FID_CHUNK, n - start)
            z = torch.randn(m, self.cfg.z_dim, device=self.device, generator=g)
            labels = eval_labels(m, self.spec.n_classes, self.device, start)  # classes in turn across chunks
            fakes.append(to_uint8(eval_forward(generator, z, labels)))
        if self._scorer is None:
            self._scorer = FrechetScorer(self.device, backend="auto" if self.device.type == "cuda" else "classifier")
        result = self._scorer.score(self.source.uint8_sample(n, self.cfg.seed), np.concatenate(fakes))
        return {"fid_name": result["name"], "fid": float(result["value"])}
