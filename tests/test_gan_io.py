"""Checkpoints: save, load strictly, same samples; the sample command; attention maps."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gan_helpers import tiny_image_config, tiny_images, tiny_toy_config
from ganstudio.errors import BadModel
from ganstudio.gan.attention import attention_maps
from ganstudio.gan.io import load_gan, load_gan_spec
from ganstudio.gan.latents import sample_array
from ganstudio.gan.trainer import GanTrainer
from ganstudio.weights_io import read_state_dict, save_model

torch.set_num_threads(1)


def _trained(cfg, data=None):
    trainer = GanTrainer(cfg, data=data)
    while not trainer.done:
        trainer.step()
    return trainer


def test_image_checkpoint_round_trip(tmp_path):
    trainer = _trained(tiny_image_config("sagan", "hinge", ema=0.9, conditional=True), tiny_images())
    folder = trainer.save(tmp_path / "gan")
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "ganstudio-gan" and config["arch"] == "sagan"
    assert config["z_dim"] == 8 and config["n_classes"] == 2 and config["image_shape"] == [1, 16, 16]
    assert (folder / "README.md").read_text().count("samples.png") >= 1
    assert Image.open(folder / "samples.png").size[0] > 16
    assert "z_proj.weight" in read_state_dict(folder)  # the generator alone at the top, the Hub's way
    assert (folder / "discriminator" / "model.safetensors").is_file()
    assert (folder / "generator_online" / "model.safetensors").is_file()  # raw G kept for resuming next to the EMA G

    model = load_gan(folder)
    assert model.data_kind == "image" and not model.generator.training and model.discriminator is not None
    z = torch.randn(4, 8)
    y = torch.tensor([0, 1, 0, 1])
    assert torch.allclose(model.generator(z, y), trainer.generate(z, y), atol=1e-6)
    assert np.array_equal(model.sample(6, seed=3), sample_array(trainer.sampler.eval(), 6, seed=3))


def test_toy_checkpoint_round_trip(tmp_path):
    trainer = _trained(tiny_toy_config("grid25"))
    folder = trainer.save(tmp_path / "toy")
    model = load_gan(folder)
    points = model.sample(10, seed=1)
    assert points.dtype == np.float32 and points.shape == (10, 2)
    assert np.allclose(points, sample_array(trainer.sampler, 10, seed=1), atol=1e-6)
    assert model.config["toy"]["extent"] == [-5.5, 5.5, -5.5, 5.5]


def test_loading_is_strict_and_checks_model_type(tmp_path):
    trainer = _trained(tiny_toy_config("ring8"))
    folder = trainer.save(tmp_path / "toy")
    config = json.loads((folder / "config.json").read_text())
    state = read_state_dict(folder)

    config_wider = {**config, "hidden": 32}
    save_model(tmp_path / "wider", config_wider, state)
    with pytest.raises(BadModel, match="shape mismatch"):
        load_gan(tmp_path / "wider")

    save_model(tmp_path / "gpt", {**config, "model_type": "gpt2"}, state)
    with pytest.raises(BadModel, match="not a GAN Studio generator"):
        load_gan_spec(str(tmp_path / "gpt"))

    save_model(tmp_path / "stray", config, {**state, "extra.weight": torch.zeros(1)})
    with pytest.raises(BadModel, match="unexpected 1 key"):
        load_gan(tmp_path / "stray")


def test_sample_command_writes_png_and_npy(tmp_path, capsys):
    from ganstudio.cli import main

    _trained(tiny_image_config("dcgan", "ns"), tiny_images()).save(tmp_path / "img")
    _trained(tiny_toy_config("ring8")).save(tmp_path / "toy")
    assert main(["sample", "--model", str(tmp_path / "img"), "--n", "5", "--out", str(tmp_path / "a.npy")]) == 0
    array = np.load(tmp_path / "a.npy")
    assert array.dtype == np.uint8 and array.shape == (5, 16, 16, 1)
    assert main(["sample", "--model", str(tmp_path / "img"), "--n", "9", "--out", str(tmp_path / "a.png")]) == 0
    assert Image.open(tmp_path / "a.png").size[0] >= 16 * 3
    assert main(["sample", "--model", str(tmp_path / "toy"), "--n", "7", "--seed", "2", "--out", str(tmp_path / "p.npy")]) == 0
    points = np.load(tmp_path / "p.npy")
    assert points.dtype == np.float32 and points.shape == (7, 2)
    assert main(["sample", "--model", str(tmp_path / "toy"), "--n", "7", "--out", str(tmp_path / "p.png")]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["kind"] == "2d"
    assert main(["sample", "--model", str(tmp_path / "toy"), "--n", "0", "--out", str(tmp_path / "x.png")]) == 2


@pytest.mark.parametrize("arch", ["sagan", "transformer"])
def test_attention_maps_come_out_of_attention_generators(arch):
    trainer = _trained(tiny_image_config(arch, "hinge"), tiny_images())
    image, maps = attention_maps(trainer.sampler, torch.randn(1, 8))
    assert image.shape == (1, 1, 16, 16) and maps
    for entry in maps:
        nq, nk = entry["attn"].shape
        assert nq == entry["q_grid"][0] * entry["q_grid"][1] and nk == entry["k_grid"][0] * entry["k_grid"][1]
        assert torch.allclose(entry["attn"].sum(1), torch.ones(nq), atol=1e-4)


def test_the_patch_head_transformer_has_no_convolution_and_older_transformers_keep_theirs(tmp_path):
    from ganstudio.errors import BadInput
    from ganstudio.gan.registry import build_generator
    from ganstudio.gan.spec import GanSpec

    def convs(generator):
        return [m for m in generator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]

    trainer = _trained(tiny_image_config("transformer", "hinge", g_out="patch"), tiny_images())
    assert not convs(trainer.G) and trainer.G(torch.randn(3, 8)).shape == (3, 1, 16, 16)
    folder = trainer.save(tmp_path / "patch")
    assert np.array_equal(load_gan(folder).sample(4, seed=1), sample_array(trainer.sampler, 4, seed=1))
    old = GanSpec(arch="transformer", z_dim=8, channels=1, image_size=16, width=8, depth=1, heads=2)  # g_out default
    assert len(convs(build_generator(old))) == 1  # checkpoints saved before "patch" existed load as they were
    with pytest.raises(BadInput, match="transformer"):
        GanSpec(arch="dcgan", z_dim=8, channels=1, image_size=16, g_out="patch").validate()
    with pytest.raises(BadInput, match="transformer"):
        tiny_image_config("sagan", "hinge", g_out="patch").validate()


def test_resume_from_checkpoint(tmp_path):
    from ganstudio.errors import BadInput

    first = _trained(tiny_toy_config("ring8", ema=0.9))
    folder = first.save(tmp_path / "toy")
    second = GanTrainer(tiny_toy_config("ring8", ema=0.9))
    second.resume_from(folder)
    for a, b in ((first.G, second.G), (first.D, second.D), (first.G_ema, second.G_ema)):
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    second.step()
    with pytest.raises(BadInput, match="different model settings"):
        GanTrainer(tiny_toy_config("ring8", hidden=8)).resume_from(folder)


def test_sample_command_class_label(tmp_path, capsys):
    from ganstudio.cli import main

    _trained(tiny_image_config("dcgan", "ns", conditional=True), tiny_images()).save(tmp_path / "cond")
    assert main(["sample", "--model", str(tmp_path / "cond"), "--n", "4", "--label", "1",
                 "--out", str(tmp_path / "one.npy")]) == 0
    assert np.load(tmp_path / "one.npy").shape == (4, 16, 16, 1)
    assert main(["sample", "--model", str(tmp_path / "cond"), "--n", "4", "--label", "7",
                 "--out", str(tmp_path / "bad.npy")]) == 2
    assert "--label must be between 0 and 1" in capsys.readouterr().err


def test_pixel_layer_is_a_transposed_conv_and_old_configs_load():
    from ganstudio.gan.layers import PixelsConvT
    from ganstudio.gan.spec import GanSpec

    layer = PixelsConvT(6, 3)
    x = torch.randn(2, 6, 5, 5)
    assert torch.allclose(layer(x), torch.nn.functional.conv_transpose2d(x, layer.weight, layer.bias, 2, 1), atol=1e-5)
    old = {"arch": "dcgan", "z_dim": 8, "channels": 1, "image_size": 16, "width": 8}  # saved before g_out existed
    assert GanSpec.from_dict(old).g_out == "conv3x3"
