"""The bundled digit generators load offline and draw digits the shipped classifier recognises.

Each figure on a model card is re-measured here exactly as `python -m ganstudio bench digits` measures it
(1,000 samples, seed 1) and held to the goal it was trained for.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganstudio.benchmarks.digits import DigitJudge
from ganstudio.gan.io import load_gan
from ganstudio.settings import SETTINGS

torch.set_num_threads(1)

BUNDLED = ("digits-dcgan", "digits-cdcgan", "digits-sagan", "digits-transgan")
MIN_CONFIDENT = 0.90  # samples the classifier gives > 0.9 probability
MIN_CLASS_SHARE = 0.05  # every digit is drawn (no mode collapse)
MAX_FRECHET_VS_REAL = 2.0  # Fréchet digit distance at most twice the real held-out digits'
MIN_RECOGNISED = 0.98  # conditional: the requested digit is the one drawn
MIN_DIVERSITY = 0.70  # conditional: one digit's samples vary at least this much relative to real ones
CARD_TOLERANCE = 0.01  # another CPU may round a few samples differently


@pytest.fixture(scope="module")
def judge():
    return DigitJudge()


@pytest.fixture(scope="module", params=BUNDLED)
def bundled(request, judge):
    model = load_gan(SETTINGS.weights_dir / request.param)
    return request.param, model, judge.report(model.generator)


def test_bundled_generator_is_small_and_described(bundled):
    name, model, _ = bundled
    folder = SETTINGS.weights_dir / name
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 10_000_000
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "ganstudio-gan" and config["image_shape"] == [1, 28, 28]
    card = (folder / "README.md").read_text()
    assert "Fréchet digit distance" in card and "not FID" in card and f"train_bundled.py {name}" in card
    assert f"bench digits --model {name}" in card


def test_figures_meet_the_goals(bundled):
    name, _, report = bundled
    assert report["confident"] >= MIN_CONFIDENT, f"{name}: {report}"
    assert report["smallest_class"] >= MIN_CLASS_SHARE, f"{name}: some digit is rarely drawn ({report['class_shares']})"
    assert report["frechet_vs_real"] <= MAX_FRECHET_VS_REAL, f"{name}: {report}"


def test_card_states_the_measured_figures(bundled):
    name, model, report = bundled
    card = model.config["metrics"]
    keys = ["confident", "smallest_class", "frechet_vs_real"] + (["recognised", "within_class_diversity"]
                                                                  if model.generator.n_classes else [])
    for key in keys:
        assert abs(card[key] - report[key]) <= CARD_TOLERANCE * max(1.0, abs(report[key])), (name, key, card[key], report[key])
    text = (SETTINGS.weights_dir / name / "README.md").read_text()
    assert f"{card['confident'] * 100:.1f} %" in text and f"{card['frechet_vs_real']:.2f}×" in text


def test_samples_are_seeded(bundled):
    _, model, _ = bundled
    assert np.array_equal(model.sample(8, seed=5), model.sample(8, seed=5))
    assert not np.array_equal(model.sample(8, seed=5), model.sample(8, seed=6))


def test_unconditional_generators_take_no_label(bundled):
    name, model, _ = bundled
    if name == "digits-cdcgan":
        assert model.generator.n_classes == 10
    else:  # the class is read off z (class_from_z): callers never pass one
        assert model.generator.n_classes == 0 and model.spec.z_classes == 10


def test_conditional_generator_draws_the_requested_class_with_variety(judge):
    report = judge.report(load_gan(SETTINGS.weights_dir / "digits-cdcgan").generator)
    assert report["recognised"] >= MIN_RECOGNISED, report
    assert report["within_class_diversity"] >= MIN_DIVERSITY, report


def test_sagan_exposes_attention_maps():
    model = load_gan(SETTINGS.weights_dir / "digits-sagan")
    z = torch.randn(2, model.generator.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        images, maps = model.generator(z, None, return_attn=True)
    assert images.shape == (2, 1, 28, 28)
    assert maps and maps[0].shape[0] == 2 and maps[0].shape[1] == maps[0].shape[2]
    assert torch.allclose(maps[0].sum(-1), torch.ones_like(maps[0].sum(-1)), atol=1e-4)  # rows are distributions
    assert float(model.generator.attn.gamma.detach().abs()) > 0.01  # attention actually contributes to the image


def test_transgan_draws_with_attention_and_no_convolution():
    """The bundled TransGAN is a Transformer all the way to the pixels, and its drawing depends on attention."""
    model = load_gan(SETTINGS.weights_dir / "digits-transgan")
    G = model.generator
    assert model.spec.arch == "transformer" and model.spec.g_out == "patch"
    assert not [m for m in G.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    z = torch.randn(8, G.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        images, maps = G(z, None, return_attn=True)
        ablated = G(z, None, attn_off=True)
        again = G(z)
    assert len(maps) == model.spec.depth and maps[0].shape == (8, model.spec.heads, 49, 49)  # 7x7 patch tokens
    assert torch.allclose(maps[0].sum(-1), torch.ones(8, model.spec.heads, 49), atol=1e-4)
    assert (images - ablated).abs().mean() > 0.05  # uniform attention draws visibly different digits
    assert torch.allclose(again, images, atol=1e-5)  # and the switch left nothing behind
