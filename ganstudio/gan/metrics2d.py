"""Sample-quality metrics for 2D data.

Mixtures (ring8, grid25, custom) use the PacGAN protocol: draw 2,500 samples; a sample is high
quality when it lies within 3 std of its nearest mode; a mode is captured when it is the
nearest mode of at least one high-quality sample; reverse KL compares the generated
distribution over modes (high-quality samples) with the uniform one.
Curves (spiral, moons) have no modes: precision = generated samples within 3 std of some real
sample, coverage = real samples within 3 std of some generated one.
"""

from __future__ import annotations

import numpy as np

from ganstudio.gan.data2d import Toy2D

N_EVAL = 2500  # samples per evaluation (PacGAN)
N_LIVE_CURVES = 600  # samples for the live precision/coverage of curves (2,500 x 2,500 distances each second is slow)


def _nearest(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of a: index of and distance to its nearest row of b."""
    d2 = (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None, :]  # (Na, Nb)
    idx = d2.argmin(1)
    return idx, np.sqrt(np.maximum(d2[np.arange(len(a)), idx], 0.0))


def mode_stats(samples: np.ndarray, modes: np.ndarray, std: float) -> dict:
    """PacGAN mode metrics: {"modes": captured, "total_modes", "high_quality": fraction, "reverse_kl"}."""
    samples = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    modes = np.asarray(modes, dtype=np.float64).reshape(-1, 2)
    finite = np.isfinite(samples).all(1)
    nearest, dist = _nearest(np.where(finite[:, None], samples, 0.0), modes)
    hq = finite & (dist <= 3 * std)
    counts = np.bincount(nearest[hq], minlength=len(modes))
    captured = int((counts > 0).sum())
    if hq.any():
        p = counts[counts > 0] / counts.sum()
        reverse_kl = float((p * np.log(p * len(modes))).sum())  # KL(generated || uniform)
    else:
        reverse_kl = None  # undefined without a single good sample
    return {
        "modes": captured,
        "total_modes": int(len(modes)),
        "per_mode": [bool(c) for c in counts > 0],  # captured or not, mode by mode (the live view marks them)
        "high_quality": float(hq.mean()) if len(samples) else 0.0,
        "reverse_kl": reverse_kl,
    }


def curve_stats(samples: np.ndarray, real: np.ndarray, std: float) -> dict:
    """Precision and coverage against a real sample, both within 3 std."""
    samples = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    samples = samples[np.isfinite(samples).all(1)]
    if len(samples) == 0:
        return {"precision": 0.0, "coverage": 0.0}
    _, d_fake = _nearest(samples, real)
    _, d_real = _nearest(real, samples)
    return {"precision": float((d_fake <= 3 * std).mean()), "coverage": float((d_real <= 3 * std).mean())}


def toy_metrics(samples: np.ndarray, toy: Toy2D, seed: int = 0) -> dict:
    """The right metric for `toy`: mode stats for mixtures, precision/coverage for curves."""
    if toy.modes is not None:
        return mode_stats(samples, toy.modes, toy.std)
    return curve_stats(samples, toy.numpy_sample(len(samples), seed=seed + 1), toy.std)
