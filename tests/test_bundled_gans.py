"""The bundled digit generators load offline and draw digits the shipped classifier recognises."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganstudio.gan.classifier import load_classifier, predict_proba, to_input
from ganstudio.gan.fid import FrechetScorer
from ganstudio.gan.images import load_images
from ganstudio.gan.io import load_gan
from ganstudio.settings import SETTINGS

torch.set_num_threads(1)

BUNDLED = ("digits-dcgan", "digits-cdcgan", "digits-sagan")
N = 500
# Calibration (shipped classifier): real held-out digits score mean max-prob 0.95; uniform noise gets a
# confident "8" (so confidence alone proves nothing) but a Fréchet digit distance of ~2,800; blank images
# ~265; real digits of a single class ~150; two halves of the real digits 0.26.
MIN_CONFIDENCE = 0.6
MAX_FRECHET = 30.0
MAX_CLASS_SHARE = 0.25  # no digit hogs the samples (mode collapse)
MIN_SPREAD_RATIO = 0.6  # conditional samples of one digit vary at least this much relative to real ones


@pytest.fixture(scope="module")
def classifier():
    return load_classifier()


@pytest.fixture(scope="module", params=BUNDLED)
def bundled(request):
    folder = SETTINGS.weights_dir / request.param
    return request.param, load_gan(folder)


def test_bundled_generator_is_small_and_described(bundled):
    name, model = bundled
    folder = SETTINGS.weights_dir / name
    assert sum(p.stat().st_size for p in folder.iterdir()) < 5_000_000
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "ganstudio-gan" and config["image_shape"] == [1, 28, 28]
    card = (folder / "README.md").read_text()
    assert "Fréchet digit distance" in card and "not FID" in card and f"train_bundled.py {name}" in card


def test_classifier_recognises_samples(bundled, classifier):
    name, model = bundled
    images = model.sample(N, seed=123)
    assert images.shape == (N, 28, 28, 1) and images.dtype == np.uint8
    probs = predict_proba(classifier, images)
    assert probs.max(1).mean() > MIN_CONFIDENCE, f"{name}: the classifier is unsure what these are"
    shares = np.bincount(probs.argmax(1), minlength=10) / N
    assert (shares > 0).all(), f"{name}: some digit is never drawn"
    assert shares.max() < MAX_CLASS_SHARE, f"{name}: one digit dominates ({shares.round(2).tolist()})"


@pytest.fixture(scope="module")
def scorer_and_real():
    return FrechetScorer("cpu", backend="classifier"), load_images("digits").x[::5]  # real stats cached across models


def test_samples_are_close_to_real_digits(bundled, scorer_and_real):
    name, model = bundled
    scorer, real = scorer_and_real
    value = scorer.score(real, model.sample(N, seed=321))["value"]
    assert value < MAX_FRECHET, f"{name}: Fréchet digit distance {value:.1f}"


def test_samples_are_seeded(bundled):
    _, model = bundled
    assert np.array_equal(model.sample(8, seed=5), model.sample(8, seed=5))
    assert not np.array_equal(model.sample(8, seed=5), model.sample(8, seed=6))


def test_conditional_generator_draws_the_requested_class(classifier):
    model = load_gan(SETTINGS.weights_dir / "digits-cdcgan")
    assert model.config["n_classes"] == 10
    requested = np.arange(N) % 10
    pred = predict_proba(classifier, model.sample(N, seed=7, y=requested)).argmax(1)
    assert (pred == requested).mean() >= 0.8


def _spread(classifier, images: np.ndarray) -> float:
    """Mean pairwise distance in classifier features: how different the images are from each other."""
    with torch.no_grad():
        f = classifier.features(to_input(images))
    return float(torch.cdist(f, f).mean())


def test_conditional_generator_varies_within_a_class(classifier):
    """Asking for a 3 twice must not give the same 3: z still matters inside each class."""
    model = load_gan(SETTINGS.weights_dir / "digits-cdcgan")
    digits = load_images("digits")
    ratios = []
    for digit in range(10):
        fake = model.sample(50, seed=11, y=np.full(50, digit))
        real = digits.x[digits.labels == digit][::10][:50]
        ratios.append(_spread(classifier, fake) / _spread(classifier, real))
    assert np.mean(ratios) >= MIN_SPREAD_RATIO, f"per-digit spread vs real: {np.round(ratios, 2).tolist()}"


def test_sagan_exposes_attention_maps():
    model = load_gan(SETTINGS.weights_dir / "digits-sagan")
    z = torch.randn(2, model.generator.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        images, maps = model.generator(z, None, return_attn=True)
    assert images.shape == (2, 1, 28, 28)
    assert maps and maps[0].shape[0] == 2 and maps[0].shape[1] == maps[0].shape[2]
    assert torch.allclose(maps[0].sum(-1), torch.ones_like(maps[0].sum(-1)), atol=1e-4)  # rows are distributions
    assert float(model.generator.attn.gamma.detach().abs()) > 0.01  # attention actually contributes to the image
