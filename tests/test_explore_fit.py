"""Explore on the bundled digits: sliders fitted to their directions, each direction's strip, interpolations that
morph (offline, CPU, seeded)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch
from test_explore import _same, stand_ins  # noqa: F401 - the stand-in generators' fixture

from ganstudio.actions import explore, generators
from ganstudio.gan import interpolate as interp
from ganstudio.gan import latents, render
from ganstudio.gan.classifier import load_classifier, predict_proba
from ganstudio.gan.directions import direction_scales

torch.set_num_threads(1)

MODEL = "digits-dcgan"
CONFIDENT = 0.9  # the README's "confident": the shipped classifier's top class probability above this


def _confident_share(images: np.ndarray) -> float:
    """(B, C, H, W) in [-1, 1] -> share of them the digit classifier reads with confidence."""
    probs = predict_proba(load_classifier(), render.to_uint8_images(images))
    return float((probs.max(axis=1) > CONFIDENT).mean())


def _pixels(picture) -> np.ndarray:
    return np.asarray(picture.convert("L"), np.float32) / 255.0


# ---- the scale and the fitted range ------------------------------------------------------


def test_a_directions_scale_is_the_spread_of_latents_along_it():
    loaded = generators.load(MODEL, "cli")
    dirs = explore._directions(loaded, "sefa", 6, "cli")
    z = latents.latents(20_000, loaded.z_dim, 123).astype(np.float64)
    measured = (z @ dirs.T).std(axis=0)
    np.testing.assert_allclose(direction_scales(dirs), measured, rtol=0.03)
    np.testing.assert_allclose(direction_scales(2.5 * dirs), 2.5 * measured, rtol=0.03)  # a longer step, a bigger σ


def test_sliders_run_to_three_sigma_and_say_their_unit():
    sliders = explore.direction_sliders(MODEL, "sefa", 6)
    assert len(sliders) == 6
    for s in sliders:
        assert s["limit"] == explore.FIT_SIGMAS == 3.0
        assert abs(s["sigma"] - 1.0) < 1e-4  # orthonormal directions, z ~ N(0, I)
        assert "σ of this direction" in s["label"]
    assert explore.direction_labels(MODEL, "sefa", 2) == [s["label"] for s in sliders[:2]]


@pytest.mark.parametrize("method", ["sefa", "ganspace"])
def test_the_fitted_ends_stay_digits_where_the_old_ends_did_not(method):
    """At ±3σ of each of the six directions the classifier still reads most samples confidently; at the old ±10 it
    read few (measured: SeFa ±3σ 78 % on average, worst end 65 %; ±10: 17 %, worst 3 %; unmoved: 93 %)."""
    loaded = generators.load(MODEL, "cli")
    steps = explore._steps(loaded, method, 6, "cli")  # (6, z_dim): one σ along each direction
    limit = explore.direction_sliders(MODEL, method, 6)[0]["limit"]
    z = latents.latents(100, loaded.z_dim, 0)

    def shares(alpha: float) -> list[float]:
        return [_confident_share(generators.forward(loaded, (z + sign * alpha * step).astype(np.float32), None))
                for step in steps for sign in (1, -1)]

    fitted, old = shares(limit), shares(explore.ALPHA_LIMIT)
    assert np.mean(fitted) >= 0.7 and min(fitted) >= 0.5, fitted
    assert np.mean(old) <= 0.5, old
    assert np.mean(fitted) >= np.mean(old) + 0.25


# ---- what a direction does, before it is dragged -----------------------------------------


def test_each_direction_has_a_strip_from_minus_to_plus_three_sigma(stand_ins):  # noqa: F811
    strips = explore.direction_strips("tiny", seed=4, method="sefa", k=3)
    assert strips["values"] == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
    assert [row["name"] for row in strips["rows"]] == ["SeFa 1", "SeFa 2", "SeFa 3"]
    first = explore.sample_grid("tiny", seed=4, n=1)["image"]
    for row in strips["rows"]:
        assert len(row["frames"]) == 7 and all(f.size == first.size for f in row["frames"])
        assert _same(row["frames"][3], first)  # 0σ: the grid's first sample, untouched
        assert not _same(row["frames"][0], row["frames"][-1])
    moved = explore.explore("tiny", 4, 1, 1.0, None, "sefa", [0.0, 2.0])
    assert _same(strips["rows"][1]["frames"][5], moved)  # the strip's +2σ is the slider's 2
    assert explore.direction_strips("tiny-2d", 0, "sefa", 2)["rows"] == []


def test_strips_of_the_bundled_digits_are_one_forward_and_follow_the_seed():
    a = explore.direction_strips(MODEL, seed=0, method="sefa", k=6)
    b = explore.direction_strips(MODEL, seed=1, method="sefa", k=6)
    assert len(a["rows"]) == 6 and all(len(row["frames"]) == 7 for row in a["rows"])
    assert not _same(a["rows"][0]["frames"][3], b["rows"][0]["frames"][3])
    assert _same(a["rows"][0]["frames"][3], explore.sample_grid(MODEL, seed=0, n=1)["image"])


# ---- interpolation -----------------------------------------------------------------------


def test_class_blend_goes_from_one_class_to_the_other():
    w = interp.class_blend(9, 3, 5, 10)
    assert w.shape == (5, 10) and w.dtype == np.float32
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert w[0, 9] == 1.0 and w[-1, 3] == 1.0 and w[2, 9] == w[2, 3] == 0.5


def test_a_one_hot_blend_draws_the_class_itself():
    g = generators.load(MODEL, "cli").generator
    z = torch.from_numpy(latents.latents(4, g.z_dim, 0))
    hard = g.first_features(z)  # the class read off z
    soft = g.first_features(z, torch.nn.functional.one_hot(z[:, :10].argmax(1), 10).float())
    torch.testing.assert_close(hard, soft)


@pytest.mark.parametrize("seeds", [(0, 1), (5, 9)])
def test_interpolation_morphs_between_the_two_digits(seeds):
    """Seed 0 -> 1 used to show a 9, ten frames of 0, then a 3 (12 frames): the digit is argmax z[:10], and 0 won
    the path's middle, so the neighbours at either end were 0.33 and 0.39 apart, about as far as the ends. Now neighbouring frames stay close (measured: at most 0.06 of the range apart in mean pixel distance,
    the ends 0.41), and the ends are the seeds' own first samples."""
    out = explore.interpolate(MODEL, *seeds, steps=16)
    frames = [_pixels(f) for f in out["frames"]]
    neighbours = [float(np.abs(a - b).mean()) for a, b in pairwise(frames)]
    ends = float(np.abs(frames[0] - frames[-1]).mean())
    assert ends > 0.1  # two different digits
    assert max(neighbours) <= 0.25 * ends, (neighbours, ends)
    assert max(neighbours) <= 0.1
    assert _same(out["frames"][0], explore.sample_grid(MODEL, seed=seeds[0], n=1)["image"])
    assert _same(out["frames"][-1], explore.sample_grid(MODEL, seed=seeds[1], n=1)["image"])
    read = predict_proba(load_classifier(), np.stack([np.asarray(f.convert("L"))[..., None] for f in out["frames"]]))
    digits = read.argmax(axis=1).tolist()  # seed 0 -> 1: nine 9s, then seven 3s
    switch = next(i for i, d in enumerate(digits) if d != digits[0])
    assert digits[:switch] == [digits[0]] * switch and digits[switch:] == [digits[-1]] * (len(digits) - switch), digits
