"""How good a digit generator is, judged by the shipped digit classifier (offline, bundled data only).

`python -m ganstudio bench digits [--model NAME_OR_FOLDER] [--json]` (default: every bundled digit GAN).
On N_SAMPLES generated digits (fixed seed; a conditional G is asked for the classes in turn):

- confident: fraction whose top class probability is > 0.9
- smallest_class: share of the least-predicted class (1,000 samples: 0.05 = 50 digits)
- frechet: Fréchet distance in the classifier's penultimate features to the real training digits
  (the 4,500 the classifier trained on); `frechet_real_heldout` is the same distance for the 500 held-out
  real digits, and `frechet_vs_real` = frechet ÷ that (goal ≤ 2). Not FID.
- conditional G only: recognised (predicted class = requested class) and within_class_diversity (per class,
  mean pairwise feature distance of 100 samples ÷ that of 100 real digits of the class, averaged; 1 = as varied).
"""

from __future__ import annotations

import numpy as np
import torch

from ganstudio.gan.classifier import digits_split, load_classifier, predict_proba, to_input
from ganstudio.gan.fid import feature_stats, frechet_distance
from ganstudio.gan.images import load_images

N_SAMPLES = 1000  # generated digits per report
SEED = 1  # latent seed of those samples
PER_CLASS = 100  # samples per class for the within-class diversity
CONFIDENT = 0.9  # top class probability above which a sample counts as confident
BUNDLED = ("digits-dcgan", "digits-sagan", "digits-cdcgan", "digits-transgan")


class DigitJudge:
    """The classifier plus the real digits' statistics, computed once and reused for every model."""

    def __init__(self):
        self.classifier = load_classifier()
        digits = load_images("digits")
        train_idx, test_idx = digits_split(digits.labels)
        self.real, self.real_labels = digits.x[train_idx], digits.labels[train_idx]  # (4500, 28, 28, 1)
        self.heldout = digits.x[test_idx]  # (500, 28, 28, 1)
        self._real_stats = feature_stats(self.features(self.real))
        self.real_spread = [_spread(self.features(self.real[self.real_labels == c][:PER_CLASS])) for c in range(10)]
        self.baseline = self.frechet(self.heldout)

    @torch.no_grad()
    def features(self, images: np.ndarray) -> torch.Tensor:
        return torch.cat([self.classifier.features(to_input(images[i:i + 500])) for i in range(0, len(images), 500)])

    def frechet(self, images: np.ndarray) -> float:
        return frechet_distance(*self._real_stats, *feature_stats(self.features(images).numpy()))

    def report(self, generator: torch.nn.Module, n: int = N_SAMPLES, seed: int = SEED) -> dict:
        """Every figure for `generator` (a digit GAN generator in eval mode)."""
        from ganstudio.gan.latents import sample_array

        k = generator.n_classes
        requested = np.arange(n) % k if k else None
        fake = sample_array(generator, n, seed, requested)  # (n, 28, 28, 1) uint8
        probs = predict_proba(self.classifier, fake)
        pred, conf = probs.argmax(1), probs.max(1)
        shares = np.bincount(pred, minlength=10) / n
        fd = self.frechet(fake)
        out = {
            "samples": n,
            "confident": round(float((conf > CONFIDENT).mean()), 4),
            "mean_confidence": round(float(conf.mean()), 4),
            "smallest_class": round(float(shares.min()), 4),
            "class_shares": [round(float(s), 4) for s in shares],
            "frechet": round(fd, 3),
            "frechet_real_heldout": round(self.baseline, 3),
            "frechet_vs_real": round(fd / self.baseline, 2),
        }
        if k:
            out["recognised"] = round(float((pred == requested).mean()), 4)
            ratios = []
            for c in range(10):
                mine = sample_array(generator, PER_CLASS, seed + 100 + c, np.full(PER_CLASS, c))
                ratios.append(_spread(self.features(mine)) / self.real_spread[c])
            out["within_class_diversity"] = round(float(np.mean(ratios)), 3)
            out["within_class_diversity_min"] = round(float(np.min(ratios)), 3)
        return out


def _spread(features: torch.Tensor) -> float:
    """Mean pairwise Euclidean distance between distinct rows."""
    n = features.shape[0]
    return float(torch.cdist(features, features).sum() / (n * (n - 1)))


def run(args=None) -> dict:
    from ganstudio.gan.io import load_gan_spec

    torch.set_num_threads(1) if torch.get_num_threads() > 2 else None
    names = [args.model] if getattr(args, "model", None) else list(BUNDLED)
    judge = DigitJudge()
    reports = {name: judge.report(load_gan_spec(name).generator) for name in names}
    return reports[names[0]] if len(names) == 1 else reports
