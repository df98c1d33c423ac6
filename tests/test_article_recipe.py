"""The tutorial articles' own GAN ("fc") and recipe, Adam's betas as settings, and the layer summary."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from ganstudio.actions import explore
from ganstudio.actions.layer_summary import layer_summary
from ganstudio.actions.model_cache import MODELS
from ganstudio.actions.train import make_config, recipe_params
from ganstudio.cli import main
from ganstudio.errors import BadInput
from ganstudio.gan.config import ARTICLE_PRESET, TrainConfig
from ganstudio.gan.io import GanParts, load_gan, save_gan
from ganstudio.gan.registry import build_discriminator, build_generator
from ganstudio.gan.spec import GanSpec
from ganstudio.gan.summary import summarize

torch.set_num_threads(1)
DIGITS = GanSpec(arch="fc", z_dim=100, channels=1, image_size=28, hidden=128)


def _linear_sizes(net: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)]


def test_fc_nets_have_the_articles_layer_sizes_and_image_shapes():
    torch.manual_seed(0)
    G, D = build_generator(DIGITS), build_discriminator(DIGITS)
    assert _linear_sizes(G) == [(100, 128), (128, 256), (256, 784)]  # article 003: dense 128, 256, 784 tanh
    assert _linear_sizes(D) == [(784, 256), (256, 128), (128, 1)]  # dense 256, 128, 1
    assert [m.negative_slope for m in G.modules() if isinstance(m, nn.LeakyReLU)] == [0.2, 0.2]
    images = G(torch.randn(5, 100))
    assert images.shape == (5, 1, 28, 28) and images.abs().max() <= 1
    assert D(images).shape == (5,)
    conditional = GanSpec(arch="fc", z_dim=8, n_classes=10, channels=3, image_size=16, hidden=16)
    y = torch.arange(4)
    assert build_generator(conditional)(torch.randn(4, 8), y).shape == (4, 3, 16, 16)
    assert build_discriminator(conditional)(torch.randn(4, 3, 16, 16), y).shape == (4,)


def test_fc_saves_loads_strictly_and_samples_in_explore(tmp_path):
    torch.manual_seed(0)
    G = build_generator(DIGITS).eval()
    D = build_discriminator(DIGITS).eval()
    folder = save_gan(tmp_path / "fc", GanParts(spec=DIGITS, generator=G, discriminator=D, data="digits",
                                                 data_kind="image"))
    loaded = load_gan(folder)
    assert loaded.data_kind == "image" and type(loaded.generator).__name__ == "FCGenerator"
    assert np.array_equal(loaded.generator.sample(6, seed=3), G.sample(6, seed=3))
    assert loaded.generator.sample(6, seed=3).shape == (6, 28, 28, 1)
    z = torch.randn(3, 100)
    assert torch.equal(loaded.discriminator(G(z)), D(G(z)))
    MODELS.clear()
    try:
        first = explore.sample_grid(str(folder), seed=0, n=4)
        assert first["latents"].shape == (4, 100)
        moved = explore.explore(str(folder), 0, 4, 1.0, None, "sefa", [0.0, 0.0, 8.0])
        assert np.asarray(moved).std() > 0
    finally:
        MODELS.clear()
    # strict: a missing tensor is refused, never half-loaded
    from safetensors.torch import load_file, save_file

    weights = load_file(folder / "model.safetensors")
    weights.pop(next(iter(weights)))
    save_file(weights, folder / "model.safetensors")
    with pytest.raises(Exception, match="missing|tensor|weights"):
        load_gan(folder)


def test_the_article_recipe_is_the_articles_settings():
    cfg = TrainConfig.defaults_for("digits", **ARTICLE_PRESET).validate()
    assert (cfg.arch, cfg.z_dim, cfg.batch_size, cfg.lr_g, cfg.lr_d) == ("fc", 100, 32, 2e-4, 2e-4)
    assert (cfg.beta1_g, cfg.beta1_d, cfg.beta2_g, cfg.beta2_d) == (0.5, 0.5, 0.999, 0.999)
    assert (cfg.ema, cfg.lr_decay, cfg.spectral_norm, cfg.conditional, cfg.diffaug) == (0.0, 0.0, False, False, "")
    assert recipe_params("article", "digits") == cfg.to_dict()
    # an fc run from the form (which sends no lr decay) still follows the articles where the form is silent
    assert make_config({"data": "digits", "arch": "fc", "batch_size": 64}).lr_decay == 0.0
    with pytest.raises(BadInput, match="2D point set"):
        make_config({"data": "ring8", "arch": "fc"})


def test_trainer_uses_the_betas(tmp_path):
    from ganstudio.gan.trainer import GanTrainer

    cfg = TrainConfig.defaults_for("ring8", steps=1, seconds=0.0, beta1_g=0.3, beta2_g=0.95, beta1_d=0.1,
                                   beta2_d=0.9).validate()
    trainer = GanTrainer(cfg, torch.device("cpu"))
    assert trainer.opt_g.param_groups[0]["betas"] == (0.3, 0.95)
    assert trainer.opt_d.param_groups[0]["betas"] == (0.1, 0.9)


@pytest.mark.parametrize("field, value, message", [
    ("beta1_g", 1.0, "beta 1 of G"), ("beta2_g", -0.1, "beta 2 of G"), ("beta1_d", "x", "beta 1 of D"),
    ("beta2_d", float("nan"), "beta 2 of D"),
])
def test_bad_betas_are_refused_with_one_line(field, value, message):
    with pytest.raises(BadInput, match=message) as err:
        make_config({"data": "digits", field: value})
    assert "\n" not in str(err.value)


def test_cli_preset_article_trains_the_articles_gan(tmp_path, capsys):
    out = tmp_path / "article"
    code = main(["train", "--data", "digits", "--preset", "article", "--steps", "3", "--out", str(out), "--quiet"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["arch"] == "fc" and result["steps"] == 3
    config = load_gan(out).config
    assert (config["arch"], config["z_dim"], config["hidden"]) == ("fc", 100, 128)
    assert (config["train"]["batch_size"], config["train"]["lr_g"], config["train"]["beta1_g"]) == (32, 2e-4, 0.5)
    # a flag still overrides the recipe; an unknown recipe is one line
    assert main(["train", "--data", "digits", "--preset", "article", "--batch-size", "8", "--steps", "1",
                 "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert load_gan(tmp_path / "b").config["train"]["batch_size"] == 8
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["train", "--data", "digits", "--preset", "nope", "--steps", "1", "--out", str(tmp_path / "c")])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_layer_summary_rows_add_up_for_every_architecture():
    cases = [("ring8", "mlp", 2), ("digits", "dcgan", 64), ("digits", "sagan", 64), ("digits", "transformer", 64),
             ("digits", "fc", 100), ("cifar10", "fc", 100)]
    for data, arch, z in cases:
        summary = layer_summary(data, arch, z)
        assert [net["name"] for net in summary["nets"]] == ["generator", "discriminator"], (data, arch)
        for net in summary["nets"]:
            assert sum(row[2] for row in net["rows"]) == net["total"] > 0, (data, arch, net["name"])
    fc = {net["name"]: net for net in layer_summary("digits", "fc", 100)["nets"]}
    assert fc["generator"]["rows"][0] == ["Linear (z_proj)", "128", 100 * 128 + 128]
    assert fc["generator"]["rows"][-1] == ["Unflatten (body.5)", "1×28×28", 0]
    assert fc["generator"]["total"] == sum(p.numel() for p in build_generator(DIGITS).parameters())
    assert fc["discriminator"]["rows"][-1] == ["Projection (head)", "1", 129]
    colour = layer_summary("cifar10", "fc", 100)["nets"][0]["rows"]
    assert colour[-1][1] == "3×32×32"  # the data set's channels and size
    transformer = layer_summary("digits", "transformer", 64)["nets"][0]["rows"]
    assert transformer[-1][0].startswith("Parameter (")  # the position embedding, held by G itself
    conditional = layer_summary("digits", "dcgan", 64, conditional=True)["nets"][0]["rows"]
    assert conditional[0][0] == "Embedding (class_embed)"


def test_layer_summary_says_why_when_the_settings_make_no_run():
    summary = layer_summary("digits", "mlp", 2)
    assert summary["nets"] == [] and "image set" in summary["note"]
    assert layer_summary("digits", "fc", 0)["note"].startswith("latent size")


def test_summary_builds_nothing_real():
    nets = summarize(DIGITS)  # meta tensors only: instant, and nothing allocated
    assert [net.name for net in nets] == ["generator", "discriminator"]
