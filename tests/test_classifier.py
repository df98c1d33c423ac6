"""The shipped digit classifier and the Fréchet metrics built on it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganstudio.errors import BadInput, BadModel
from ganstudio.gan import fid
from ganstudio.gan.classifier import digits_split, load_classifier, predict_proba
from ganstudio.gan.fid import DIGIT_NAME, FrechetScorer, frechet_distance
from ganstudio.gan.images import load_images

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits():
    return load_images("digits")


@pytest.fixture(scope="module")
def classifier():
    return load_classifier()


def test_classifier_accuracy_on_held_out_digits(digits, classifier):
    _, test_idx = digits_split(digits.labels)
    assert len(test_idx) == 500
    pred = predict_proba(classifier, digits.x[test_idx]).argmax(1)
    assert (pred == digits.labels[test_idx]).mean() >= 0.95


def test_classifier_is_small_and_shaped(classifier):
    x = torch.zeros(4, 1, 28, 28)
    assert classifier(x).shape == (4, 10)
    assert classifier.features(x).shape == (4, classifier.cfg.feature_dim)
    assert sum(p.numel() * p.element_size() for p in classifier.parameters()) < 1_000_000


def test_split_is_fixed_and_disjoint(digits):
    train_a, test_a = digits_split(digits.labels)
    train_b, test_b = digits_split(digits.labels)
    assert np.array_equal(test_a, test_b) and not set(train_a) & set(test_a)
    assert np.bincount(digits.labels[test_a]).tolist() == [50] * 10


def test_wrong_model_type_is_bad_model(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(BadModel, match="ganstudio-classifier"):
        load_classifier(tmp_path)


def test_frechet_distance_maths():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 8))
    mu, cov = a.mean(0), np.cov(a, rowvar=False)
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-6)
    # two Gaussians with equal covariance: the distance is the squared mean gap
    assert frechet_distance(mu, cov, mu + 3.0, cov) == pytest.approx(9.0 * 8, rel=1e-6)
    # 1-D closed form: (m1-m2)^2 + (s1-s2)^2
    assert frechet_distance(np.zeros(1), np.eye(1) * 4.0, np.ones(1), np.eye(1)) == pytest.approx(1.0 + 1.0)
    # singular covariances (fewer samples than features) stay finite and non-negative
    few = rng.normal(size=(3, 8))
    value = frechet_distance(few.mean(0), np.cov(few, rowvar=False), mu, cov)
    assert np.isfinite(value) and value >= 0


def test_frechet_digit_distance_identical_vs_noise(digits, monkeypatch):
    monkeypatch.setattr(fid, "_try_inception", lambda device: None)  # the offline situation, explicitly
    scorer = FrechetScorer("cpu")
    real, other = digits.x[::2][:1000], digits.x[1::2][:1000]
    same = scorer.score(real, real)
    assert same["name"] == DIGIT_NAME and same["n"] == 1000
    assert same["value"] == pytest.approx(0.0, abs=1e-3)
    held_out = scorer.score(real, other)["value"]
    noise = np.random.default_rng(0).integers(0, 256, size=(1000, 28, 28, 1), dtype=np.uint8)
    blank = np.zeros((1000, 28, 28, 1), np.uint8)
    assert scorer.score(real, noise)["value"] > 20 * max(held_out, 1e-3)
    assert scorer.score(real, blank)["value"] > 20 * max(held_out, 1e-3)


def test_fid_naming_rule(monkeypatch):
    """The classifier-feature distance is never called FID; 'FID' only with Inception."""
    assert "FID" not in DIGIT_NAME.replace("not FID", "")
    monkeypatch.setattr(fid, "_try_inception", lambda device: None)
    assert FrechetScorer("cpu").name == DIGIT_NAME
    assert FrechetScorer("cpu", backend="inception").name == DIGIT_NAME  # honest fallback

    class FakeInception(torch.nn.Module):
        def forward(self, x):
            return x.mean(dim=(2, 3))  # (B, 3)

    monkeypatch.setattr(fid, "_try_inception", lambda device: FakeInception())
    scorer = FrechetScorer("cpu")
    assert scorer.name.startswith("FID")
    assert FrechetScorer("cpu", backend="classifier").name == DIGIT_NAME
    rgb = np.random.default_rng(0).integers(0, 256, size=(8, 32, 32, 3), dtype=np.uint8)
    assert scorer.score(rgb, rgb)["value"] == pytest.approx(0.0, abs=1e-6)


def test_inception_is_not_fetched_twice_when_offline(monkeypatch, tmp_path):
    monkeypatch.setattr(fid, "inception_weights_file", lambda: tmp_path / "missing.pth")
    failed = fid.threading.Event()
    failed.set()
    monkeypatch.setattr(fid, "_inception_failed", failed)
    assert fid._try_inception(torch.device("cpu")) is None


def test_score_validates_input():
    scorer = FrechetScorer("cpu", backend="classifier")
    with pytest.raises(BadInput):
        scorer.score(np.zeros((10, 28, 28, 1), np.float32), np.zeros((10, 28, 28, 1), np.uint8))
    with pytest.raises(BadInput, match="at least 2"):
        scorer.score(np.zeros((10, 28, 28, 1), np.uint8), np.zeros((1, 28, 28, 1), np.uint8))


def test_real_statistics_are_cached(digits, monkeypatch):
    scorer = FrechetScorer("cpu", backend="classifier")
    real = digits.x[:300]
    scorer.score(real, digits.x[300:400])
    calls = []
    original = scorer.features
    monkeypatch.setattr(scorer, "features", lambda images: calls.append(len(images)) or original(images))
    scorer.score(real, digits.x[400:500])
    assert calls == [100]  # only the generated images were featurised again
