"""PacGAN-protocol metrics on true samples, on a collapsed generator, and on curves."""

from __future__ import annotations

import numpy as np

from ganstudio.gan.data2d import grid25, make_toy, moons, ring8
from ganstudio.gan.metrics2d import N_EVAL, curve_stats, mode_stats, toy_metrics


def test_true_grid25_samples_score_perfectly():
    toy = grid25()
    stats = mode_stats(toy.numpy_sample(N_EVAL, seed=1), toy.modes, toy.std)
    assert stats["modes"] == 25 and stats["total_modes"] == 25
    assert stats["high_quality"] > 0.985  # 3 std in 2D keeps ~98.9% of a Gaussian
    assert stats["reverse_kl"] < 0.02


def test_true_ring8_samples_score_perfectly():
    toy = ring8()
    stats = toy_metrics(toy.numpy_sample(N_EVAL, seed=2), toy)
    assert stats["modes"] == 8 and stats["high_quality"] > 0.985


def test_pacgan_definitions_match_the_protocol():
    toy = grid25()
    assert toy.std == 0.05 and sorted(set(toy.modes[:, 0])) == [-4, -2, 0, 2, 4]
    assert ring8().std == 0.01 and np.allclose(np.linalg.norm(ring8().modes, axis=1), 1.0)


def test_collapsed_generator_has_one_mode():
    toy = grid25()
    collapsed = np.tile([[2.0, -2.0]], (N_EVAL, 1)) + 0.01 * np.random.default_rng(0).standard_normal((N_EVAL, 2))
    stats = mode_stats(collapsed, toy.modes, toy.std)
    assert stats["modes"] == 1 and stats["high_quality"] == 1.0
    assert abs(stats["reverse_kl"] - np.log(25)) < 1e-9


def test_far_away_and_nan_samples_are_low_quality():
    toy = ring8()
    junk = np.full((100, 2), 5.0)
    junk[:10] = np.nan
    stats = mode_stats(junk, toy.modes, toy.std)
    assert stats["modes"] == 0 and stats["high_quality"] == 0.0 and stats["reverse_kl"] is None


def test_curves_use_precision_and_coverage():
    toy = moons()
    good = toy_metrics(toy.numpy_sample(N_EVAL, seed=3), toy)
    assert good["precision"] > 0.95 and good["coverage"] > 0.9
    half = curve_stats(toy.numpy_sample(2000, seed=4)[:300] * 0 + [0.5, 0.25], toy.numpy_sample(2000, seed=5), toy.std)
    assert half["coverage"] < 0.2


def test_custom_points_are_modes():
    toy = make_toy("custom", [[0, 0], [1, 1]])
    stats = toy_metrics(toy.numpy_sample(N_EVAL, seed=6), toy)
    assert stats["modes"] == 2 and stats["high_quality"] > 0.98
