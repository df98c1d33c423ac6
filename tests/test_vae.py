"""The VAE family: it trains (its loss falls), runs as an engine job through the Train actions, saves a folder that
Explore opens with the decoder as the generator, and refuses bad settings in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from gan_helpers import tiny_image_config, tiny_images

from ganstudio.actions import explore
from ganstudio.actions import train as actions
from ganstudio.actions.visitors import end_session
from ganstudio.errors import BadInput
from ganstudio.gan.config import TrainConfig
from ganstudio.gan.families import make_trainer
from ganstudio.gan.io import load_gan
from ganstudio.weights_io import read_state_dict

torch.set_num_threads(1)
SMALL = {"family": "vae", "batch_size": 64, "hidden": 32, "depth": 2, "seconds": 0}


def _wait(owner: str, states, timeout: float = 60.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = actions.poll_training(owner)
        if info["state"] in states:
            return info
        time.sleep(0.05)
    raise AssertionError(f"still {info['state']} after {timeout} s")


@pytest.mark.parametrize("data", ["ring8", "grid25"])
def test_vae_loss_falls_and_its_samples_land_on_modes(data):
    trainer = make_trainer(TrainConfig.defaults_for(data, **{**SMALL, "steps": 300}))
    while not trainer.done:
        trainer.step()
    history = trainer.report().history.as_dict()
    elbo = [v for v in history["elbo"] if v is not None]
    assert elbo[-1] > elbo[0] + 5, f"the ELBO did not rise: {elbo[0]:.2f} -> {elbo[-1]:.2f}"
    assert history["kl"][-1] > 0.1  # the codes carry information: the KL is not zero (no posterior collapse)
    metrics = trainer.metrics  # scored by the GAN's own PacGAN counter at the end
    assert metrics["total_modes"] in (8, 25) and metrics["modes"] >= metrics["total_modes"] // 2


def test_vae_on_images_trains_and_its_view_shows_samples_and_reconstructions():
    from ganstudio.gan.snapshot import SnapshotRenderer

    cfg = tiny_image_config(family="vae", steps=3)
    trainer = make_trainer(cfg, data=tiny_images())
    while not trainer.done:
        trainer.step()
    renderer = SnapshotRenderer(trainer.cfg, trainer.spec, trainer.device, None)
    snap = renderer.snapshot(trainer.report(), trainer.players(), force=True)
    assert snap["family"] == "vae" and snap["view"]["kind"] == "image"
    grid_only = 8 * (16 + 2) + 2  # 64 samples of 16 px in 8 rows with 2 px gaps
    assert snap["view"]["height"] > grid_only + 2 * 16, "no reconstruction strip under the samples"
    assert "reconstruction" in snap["view"]["legend"]
    names = [row[0] for row in snap["terms"]["rows"]]
    assert any("reconstruction" in n for n in names) and any("KL" in n for n in names) and "ELBO" in names[-1]
    recon, kl, elbo = (row[1] for row in snap["terms"]["rows"])
    assert elbo == pytest.approx(recon - kl)


def test_gan_only_settings_are_ignored_and_bad_family_is_one_line():
    cfg = TrainConfig.defaults_for("ring8", family="vae", loss="wgan-gp", pack=4, ema=0.0, spectral_norm=True,
                                   steps=2, seconds=0, batch_size=16, hidden=16)
    trainer = make_trainer(cfg)
    trainer.step()
    assert set(trainer.nets()) == {"decoder", "encoder"} and trainer.spec.pack == 1
    with pytest.raises(BadInput) as err:
        TrainConfig.defaults_for("ring8", family="diffusion").validate()
    assert str(err.value) == "unknown model family 'diffusion'; choose one of gan, vae"
    with pytest.raises(BadInput, match="no discriminator"):
        trainer.step_d()


def test_vae_run_through_the_engine_saves_a_folder_explore_samples(tmp_path):
    owner = "test-vae-engine"
    try:
        actions.start_training(owner, {"data": "ring8", "steps": 60, **SMALL})
        info = _wait(owner, ("done", "failed"))
        assert info["state"] == "done", info["error"]
        snap = info["snapshot"]
        assert snap["family"] == "vae" and snap["step"] == 60 and snap["view"]["heat"] == ""
        assert snap["terms"]["title"] == "The objective" and "recon" in snap["history"]
        name = actions.latest_trained(owner)
        folder = actions.trained_folder(owner, name)
        config = json.loads((folder / "config.json").read_text())
        assert config["family"] == "vae" and config["loss"] == "elbo" and config["train"]["family"] == "vae"
        assert read_state_dict(folder / "encoder"), "the encoder was not saved"
        card = (folder / "README.md").read_text()
        assert "# VAE (MLP decoder) on ring8" in card and "| vae_sigma |" in card and "| lr_d |" not in card
        model = load_gan(folder)  # strict: the decoder is the generator, every key and shape
        assert model.discriminator is None
        points = model.sample(500, seed=1)
        assert points.shape == (500, 2) and np.isfinite(points).all()
        grid = explore.sample_grid(name, seed=0, n=16, owner=owner)  # Explore opens the saved VAE by name
        assert grid["latents"].shape == (16, 2) and grid["image"].width > 100
        zipped = actions.save_checkpoint(owner)
        assert "vae-mlp-ring8" in zipped
    finally:
        end_session(owner)


def test_cli_trains_a_vae_and_refuses_a_bad_family(tmp_path):
    out = tmp_path / "vae"
    cmd = [sys.executable, "-m", "ganstudio", "train", "--data", "ring8", "--family", "vae", "--steps", "50",
           "--batch-size", "32", "--hidden", "16", "--out", str(out), "--quiet"]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["family"] == "vae" and result["loss"] == "elbo" and result["steps"] == 50
    assert load_gan(out).config["family"] == "vae"
    bad = subprocess.run(cmd[:6] + ["--family", "vea", "--steps", "5", "--out", str(tmp_path / "x")],
                         check=False, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    assert "unknown model family 'vea'" in bad.stderr
