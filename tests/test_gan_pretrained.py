"""GAN models the Hub's way: PyTorchModelHubMixin save/load/push (strict), model cards, checkpoints from before
the Hub layout, and community HugGAN DCGANs read safely through the registry — all against the loopback Hub."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from huggingface_hub import ModelCard
from torch import nn

from gan_helpers import tiny_image_config, tiny_images, tiny_toy_config
from ganstudio.errors import BadInput, BadModel, ModelNotFound
from ganstudio.gan import Discriminator, Generator
from ganstudio.gan.io import load_gan, load_gan_spec
from ganstudio.gan.latents import sample_array
from ganstudio.gan.trainer import GanTrainer
from ganstudio.settings import REPO_ROOT
from ganstudio.weights_io import save_model
from hub_server import TEST_TOKEN

torch.set_num_threads(1)


def _trained(cfg, data=None) -> GanTrainer:
    trainer = GanTrainer(cfg, data=data)
    while not trainer.done:
        trainer.step()
    return trainer


@pytest.fixture
def studio_gan(tmp_path):
    """A conditional SAGAN trained (briefly) and saved in the studio, with its metrics."""
    trainer = _trained(tiny_image_config("sagan", "hinge", ema=0.9, conditional=True), tiny_images())
    trainer.metrics["classifier_confident_fraction"] = 0.75
    return trainer, trainer.save(tmp_path / "studio-gan")


def test_a_studio_model_loads_with_from_pretrained_outside_the_studio(studio_gan, hub_server, tmp_path):
    from ganstudio.hub_push import push_to_hub

    trainer, folder = studio_gan
    push_to_hub(folder, "me/tiny-sagan", token=TEST_TOKEN)
    expected = sample_array(trainer.sampler.eval(), 6, seed=3, y=np.array([0, 1, 0, 1, 0, 1]))
    # The README's three lines, in a fresh interpreter that knows nothing of the studio's state.
    script = ("from ganstudio.gan import Generator\n"
              "G = Generator.from_pretrained('me/tiny-sagan')\n"
              "import numpy as np, sys; np.save(sys.argv[1], G.sample(6, seed=3, labels=np.array([0, 1, 0, 1, 0, 1])))\n")
    env = {**os.environ, "HF_ENDPOINT": hub_server.url, "HF_HUB_CACHE": str(tmp_path / "fresh-cache"),
           "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "out.npy")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert np.array_equal(np.load(tmp_path / "out.npy"), expected)
    assert "discriminator/model.safetensors" in hub_server.files("me/tiny-sagan")  # kept for resuming training


def test_mixin_push_and_from_pretrained_round_trip(hub_server):
    trainer = _trained(tiny_toy_config("ring8"))
    generator = trainer.sampler.eval()
    generator.push_to_hub("me/ring8-g", token=TEST_TOKEN)
    files = hub_server.files("me/ring8-g")
    assert json.loads(files["config.json"])["arch"] == "mlp"  # config from the constructor's spec, flat
    card = ModelCard(files["README.md"].decode())
    assert card.data.library_name == "ganstudio" and "model_hub_mixin" in card.data.tags
    loaded = Generator.from_pretrained("me/ring8-g")
    assert type(loaded).__name__ == "MLPGenerator" and not loaded.training
    z = torch.randn(5, loaded.z_dim)
    assert torch.equal(loaded(z), generator(z))
    trainer.D.push_to_hub("me/ring8-d", token=TEST_TOKEN)
    assert type(Discriminator.from_pretrained("me/ring8-d")).__name__ == "MLPDiscriminator"


def test_loading_stays_strict(studio_gan, tmp_path):
    _, folder = studio_gan
    with pytest.raises(BadInput, match="strictly"):
        Generator.from_pretrained(folder, strict=False)  # the mixin's default would drop mismatches silently
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "width": 16}))
    with pytest.raises(BadModel, match="shape mismatch"):
        Generator.from_pretrained(folder)
    (folder / "config.json").write_text(json.dumps({**config, "arch": "mlp"}))
    with pytest.raises(BadModel, match="do not fit"):
        Generator.from_pretrained(folder)
    (folder / "config.json").write_text(json.dumps(config))
    from ganstudio.gan.models import DCGANGenerator, MLPGenerator

    with pytest.raises(BadModel, match="not a MLPGenerator"):
        MLPGenerator.from_pretrained(folder)
    assert isinstance(DCGANGenerator.from_pretrained(folder), DCGANGenerator)  # SAGAN is a DCGAN with attention
    (folder / "config.json").write_text(json.dumps({**config, "width": 10**6}))
    with pytest.raises(BadModel):  # refused from the config alone: nothing that size is ever built
        Generator.from_pretrained(folder)


def test_model_card_has_metadata_metrics_samples_and_the_repo_to_load(studio_gan):
    from ganstudio.gan.io import write_card

    _, folder = studio_gan
    write_card(folder, "me/tiny-sagan")
    card = ModelCard.load(folder / "README.md")
    assert card.data.library_name == "ganstudio" and card.data.license == "apache-2.0"
    assert {"gan", "sagan", "model_hub_mixin", "pytorch_model_hub_mixin"} <= set(card.data.tags)
    assert card.data.pipeline_tag == "unconditional-image-generation"
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert results["classifier_confident_fraction"] == 0.75
    assert "![samples](samples.png)" in card.text and 'Generator.from_pretrained("me/tiny-sagan")' in card.text
    assert (folder / "samples.png").stat().st_size > 100


def test_checkpoints_from_before_the_hub_layout_still_load_and_resume(tmp_path):
    """The previous layout: spec under config["model"], every net in one prefixed model.safetensors."""
    trainer = _trained(tiny_toy_config("ring8", ema=0.9))
    spec = trainer.spec.to_dict()
    state = {**{f"generator.{k}": v for k, v in trainer.sampler.state_dict().items()},
             **{f"discriminator.{k}": v for k, v in trainer.D.state_dict().items()},
             **{f"generator_online.{k}": v for k, v in trainer.G.state_dict().items()}}
    config = {"model_type": "ganstudio-gan", "arch": "mlp", "z_dim": spec["z_dim"], "channels": None, "model": spec,
              "data": "ring8", "data_kind": "2d"}
    folder = save_model(tmp_path / "old", config, state)
    model = load_gan(folder)
    z = torch.randn(4, spec["z_dim"])
    assert torch.equal(model.generator(z), trainer.generate(z)) and model.discriminator is not None
    assert torch.equal(Generator.from_pretrained(folder)(z), trainer.generate(z))
    resumed = GanTrainer(tiny_toy_config("ring8", ema=0.9))
    resumed.resume_from(folder)
    assert all(torch.equal(a, b) for a, b in zip(resumed.G.state_dict().values(), trainer.G.state_dict().values()))


# ---- community GANs ---------------------------------------------------------------------------------


class HugGANGenerator(nn.Module):
    """The HugGAN sprint's DCGAN generator (community-events, huggan/pytorch/dcgan), written out for the test."""

    def __init__(self, num_channels: int = 3, latent_dim: int = 100, hidden_size: int = 64):
        super().__init__()
        h = hidden_size
        self.model = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, h * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(h * 8), nn.ReLU(True),
            nn.ConvTranspose2d(h * 8, h * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(h * 4), nn.ReLU(True),
            nn.ConvTranspose2d(h * 4, h * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(h * 2), nn.ReLU(True),
            nn.ConvTranspose2d(h * 2, h, 4, 2, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU(True),
            nn.ConvTranspose2d(h, num_channels, 4, 2, 1, bias=False), nn.Tanh(),
        )

    def forward(self, z):
        return self.model(z)


def _huggan(latent: int = 16, hidden: int = 8) -> HugGANGenerator:
    torch.manual_seed(0)
    net = HugGANGenerator(3, latent, hidden)
    for m in net.modules():  # non-trivial BatchNorm statistics, as after training
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


def _community_cache_in(tmp_path, monkeypatch) -> None:
    from dataclasses import replace

    from ganstudio.gan import community

    monkeypatch.setattr(community, "SETTINGS", replace(community.SETTINGS, data_dir=tmp_path / "data"))


def _pickled(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_a_huggan_dcgan_samples_in_explore_and_the_cli(hub_server, tmp_path, monkeypatch, capsys):
    from ganstudio.actions import explore
    from ganstudio.actions.model_cache import MODELS
    from ganstudio.cli import main

    _community_cache_in(tmp_path, monkeypatch)
    reference = _huggan()
    hub_server.add_repo("huggan/dcgan-test", {"main": {"pytorch_model.bin": _pickled(reference.state_dict()),
                                                        "README.md": b"# a HugGAN DCGAN\n"}})
    model = load_gan_spec("huggan/dcgan-test")
    assert model.config["source"].startswith("huggan/dcgan-test@") and model.spec.image_size == 64
    z = torch.randn(3, 16)
    with torch.no_grad():
        assert torch.allclose(model.generator(z), reference(z[:, :, None, None]), atol=1e-5)  # same pictures
    grid = explore.sample_grid("huggan/dcgan-test", seed=1, n=4)
    assert grid["image"].size[0] >= 2 * 64 and grid["latents"].shape == (4, 16)
    assert len(explore.direction_labels("huggan/dcgan-test", "sefa", 3)) == 3  # sliders work on it too
    assert main(["sample", "--model", "huggan/dcgan-test", "--n", "2", "--out", str(tmp_path / "h.npy")]) == 0
    assert np.load(tmp_path / "h.npy").shape == (2, 64, 64, 3)
    MODELS.clear()


def test_a_booby_trapped_pickle_in_the_huggan_layout_never_runs(hub_server, tmp_path, monkeypatch):
    _community_cache_in(tmp_path, monkeypatch)
    marker = tmp_path / "pwned"

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    state = dict(_huggan().state_dict())
    state["model.0.weight"] = Boom()
    hub_server.add_repo("huggan/dcgan-trap", {"main": {"pytorch_model.bin": _pickled(state)}})
    with pytest.raises(BadModel, match="not a plain file of tensors"):
        load_gan_spec("huggan/dcgan-trap")
    assert not marker.exists()

    bad_layout = {**_huggan().state_dict(), "model.99.weight": torch.zeros(1)}
    hub_server.add_repo("huggan/dcgan-odd", {"main": {"pytorch_model.bin": _pickled(bad_layout)}})
    with pytest.raises(BadModel, match="not the HugGAN DCGAN layout"):
        load_gan_spec("huggan/dcgan-odd")


def test_pickles_outside_the_registry_are_never_downloaded(hub_server, tmp_path, monkeypatch):
    from ganstudio.gan import community

    hub_server.add_repo("someone/dcgan-mnist", {"main": {"pytorch_model.bin": _pickled(_huggan().state_dict())}})
    with pytest.raises(BadModel, match="never unpickles"):
        load_gan_spec("someone/dcgan-mnist")
    assert hub_server.count("GET", "pytorch_model.bin") == 0

    small = community.Layout("tiny layout", "pytorch_model.bin", 100, community._huggan_dcgan)
    monkeypatch.setattr(community, "layout_for", lambda repo_id: small)
    with pytest.raises(BadModel, match="more than a model of its kind"):
        load_gan_spec("someone/dcgan-mnist")  # refused from its announced size
    assert hub_server.count("GET", "pytorch_model.bin") == 0
    with pytest.raises(ModelNotFound):
        load_gan_spec("huggan/dcgan-missing")
