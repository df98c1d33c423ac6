"""Every data x model x loss combination trains a few steps on the CPU and reports sane snapshots."""

from __future__ import annotations

import base64
import math

import pytest
import torch

from gan_helpers import tiny_image_config, tiny_images, tiny_toy_config
from ganstudio.errors import BadInput, Diverged
from ganstudio.gan.config import LOSSES, TOY_SETS, TrainConfig
from ganstudio.gan.snapshot import SnapshotRenderer
from ganstudio.gan import losses
from ganstudio.gan.trainer import LOG_EVERY, GanTrainer

torch.set_num_threads(1)
CUSTOM = [[0.0, 0.0], [0.5, 0.5], [-0.5, 0.3]]


def _snapshot(trainer: GanTrainer) -> dict:
    """What the live view shows of a trainer (the engine's LiveRun draws it the same way)."""
    renderer = SnapshotRenderer(trainer.cfg, trainer.spec, trainer.device, trainer.source.toy)
    return renderer.snapshot(trainer.report(), trainer.players())


def _finite_history(snap: dict) -> None:
    for key in ("loss_d", "loss_g", "grad_d", "grad_g"):
        values = snap["history"][key]
        assert values and all(v is not None and math.isfinite(v) for v in values), key


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("data", TOY_SETS)
def test_toy_sets_train_with_every_loss(data, loss):
    cfg = tiny_toy_config(data, loss=loss, custom_points=CUSTOM if data == "custom" else [])
    trainer = GanTrainer(cfg)
    while not trainer.done:
        trainer.step()
    assert trainer.step_count == 3
    snap = _snapshot(trainer)
    assert snap["kind"] == "2d" and snap["step"] == 3 and snap["progress"] == 1.0
    view = snap["view"]  # data for the browser to draw, not a picture
    assert len(base64.b64decode(view["fake"])) == 512 * 2 * 2  # 512 points, int16 x and y
    assert len(base64.b64decode(view["heat"])) == view["heat_n"] ** 2
    assert (view["modes"] is not None) == (data in ("ring8", "grid25", "custom"))
    assert snap["terms"]["rows"] and math.isfinite(snap["terms"]["d_loss"])
    _finite_history(snap)
    metric_keys = {"modes", "high_quality"} if data in ("ring8", "grid25", "custom") else {"precision", "coverage"}
    assert metric_keys <= set(snap["metrics"])


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("arch", ["dcgan", "sagan", "transformer"])
def test_image_models_train_with_every_loss(arch, loss):
    cfg = tiny_image_config(arch, loss)
    trainer = GanTrainer(cfg, data=tiny_images())
    while not trainer.done:
        trainer.step()
    snap = _snapshot(trainer)
    assert snap["kind"] == "image" and snap["step"] == 2
    assert snap["view"]["png"].startswith("data:image/png;base64,") and snap["view"]["width"] >= 16
    _finite_history(snap)
    out = trainer.generate(torch.zeros(3, 8))
    assert out.shape == (3, 1, 16, 16) and out.abs().max() <= 1


@pytest.mark.parametrize("arch", ["mlp", "dcgan", "sagan", "transformer"])
def test_conditional_variants(arch):
    if arch == "mlp":
        cfg, data = tiny_toy_config("ring8", conditional=True), None
    else:
        cfg, data = tiny_image_config(arch, "ns", conditional=True), tiny_images(channels=3)
    trainer = GanTrainer(cfg, data=data)
    trainer.step()
    G = trainer.sampler
    assert G.n_classes == (8 if arch == "mlp" else 2)
    assert G.z_proj.in_features == G.z_dim + 16  # class embedding concatenated after z
    z = torch.randn(4, G.z_dim)
    with torch.no_grad():
        a = G(z, torch.zeros(4, dtype=torch.long))
        b = G(z, torch.ones(4, dtype=torch.long))
    assert not torch.allclose(a, b)  # the label changes the sample


def test_generator_interface_contract():
    trainer = GanTrainer(tiny_image_config("dcgan", "ns"), data=tiny_images())
    G = trainer.sampler
    assert G.out_kind == "image" and G.z_dim == 8 and G.n_classes == 0
    z = torch.randn(5, 8)
    feats = G.first_features(z)
    assert feats.shape == (5, G.z_proj.out_features)
    assert torch.allclose(feats, G.z_proj(z))
    toy = GanTrainer(tiny_toy_config("grid25"))
    assert toy.sampler.out_kind == "2d" and toy.sampler(torch.zeros(2, 2)).shape == (2, 2)


def test_single_steps_move_one_player_only():
    trainer = GanTrainer(tiny_toy_config("ring8", ema=0.0))
    g0 = [p.clone() for p in trainer.G.parameters()]
    d0 = [p.clone() for p in trainer.D.parameters()]
    trainer.step_d()
    assert all(torch.equal(a, b) for a, b in zip(g0, trainer.G.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(d0, trainer.D.parameters()))
    d1 = [p.clone() for p in trainer.D.parameters()]
    trainer.step_g()
    assert all(torch.equal(a, b) for a, b in zip(d1, trainer.D.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(g0, trainer.G.parameters()))
    assert trainer.step_count == 1


def test_same_seed_same_run():
    a, b = GanTrainer(tiny_toy_config("grid25")), GanTrainer(tiny_toy_config("grid25"))
    for t in (a, b):
        while not t.done:
            t.step()
    assert a.history.points["loss_d"] == b.history.points["loss_d"]


def test_divergence_stops_with_last_good_weights(tmp_path):
    trainer = GanTrainer(tiny_toy_config("ring8", steps=0, seconds=0.0), out_dir=tmp_path / "run")
    trainer.step()
    good = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    with torch.no_grad():
        trainer.G.z_proj.weight.fill_(float("nan"))  # inject a NaN into G
    with pytest.raises(Diverged, match=rf"training diverged at step {LOG_EVERY}\b"):  # read at the next log step
        for _ in range(LOG_EVERY):
            trainer.step()
    assert all(torch.equal(good[k], v) for k, v in trainer.G.state_dict().items())  # last good state is back
    assert (tmp_path / "run" / "model.safetensors").is_file()  # ...and saved
    with pytest.raises(Diverged):  # it stays stopped
        trainer.step()
    assert trainer.done


def test_lr_decays_at_the_end_only():
    trainer = GanTrainer(tiny_toy_config("ring8", steps=10, lr_decay=0.5))
    factors = []
    while not trainer.done:
        factors.append(trainer.lr_factor())
        trainer.step()
    assert factors[0] == 1.0 and factors[4] == 1.0 and factors[-1] < 0.3


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(loss="bogus"), "unknown loss"),
        (dict(batch_size=0), "batch size"),
        (dict(lr_g=-1.0), "G learning rate"),
        (dict(arch="dcgan"), "2D point set"),
        (dict(ema=1.5), "EMA"),
        (dict(diffaug="blur"), "DiffAugment"),
        (dict(z_dim=2.5), "latent size"),
        (dict(steps=10, d_head_start=10), "D head start"),
        (dict(grad_clip=-1), "gradient clipping"),
        (dict(g_optimizer="rmsprop"), "G optimiser"),
    ],
)
def test_bad_settings_are_one_line_errors(overrides, message):
    with pytest.raises(BadInput, match=message):
        TrainConfig.defaults_for("ring8", **overrides).validate()


def test_custom_needs_points_and_conditional_needs_labels():
    with pytest.raises(BadInput, match="at least one point"):
        TrainConfig.defaults_for("custom").validate()
    with pytest.raises(BadInput, match="no class labels"):
        GanTrainer(tiny_toy_config("custom", custom_points=CUSTOM, conditional=True))
    with pytest.raises(BadInput, match="image"):
        GanTrainer(tiny_image_config(), data=tiny_images(size=20))


def test_packing_judges_several_samples_at_once():
    trainer = GanTrainer(tiny_toy_config("grid25", pack=4, loss="wgan-gp"))
    while not trainer.done:
        trainer.step()
    assert trainer.D.body[0].in_features == 8
    assert trainer.D(torch.zeros(16, 2)).shape == (4,)
    with pytest.raises(BadInput, match="multiple of the packing"):
        tiny_toy_config("grid25", pack=3, batch_size=16).validate()


def test_losses_are_read_every_few_steps_and_manual_steps_at_once():
    trainer = GanTrainer(tiny_toy_config("ring8", steps=2 * LOG_EVERY + 5))
    while not trainer.done:
        trainer.step()
    # the first step, every LOG_EVERY-th and the last one make history points; the UI plots these
    assert trainer.history.points["step"] == [1, LOG_EVERY, 2 * LOG_EVERY, 2 * LOG_EVERY + 5]
    paused = GanTrainer(tiny_toy_config("ring8", steps=0, seconds=0.0))
    paused.step_d()
    assert set(paused.history.latest) == {"loss_d", "d_real", "d_fake", "grad_d"}  # a D step shows at once
    paused.step_g()
    assert paused.history.points["step"] == [0, 1] and paused.history.latest["grad_g"] > 0


@pytest.mark.parametrize("arch", ["dcgan", "sagan"])
def test_generator_drawing_pixels_with_its_last_transposed_conv(arch):
    cfg = tiny_image_config(arch, "hinge", g_out="convT", conditional=True)
    trainer = GanTrainer(cfg, data=tiny_images())
    while not trainer.done:
        trainer.step()
    G = trainer.sampler
    assert trainer.spec.g_out == "convT" and len(G.ups) == 1  # 4 -> 8 px in BN blocks, 8 -> 16 px draws pixels
    out = trainer.generate(torch.zeros(3, 8), torch.tensor([0, 1, 0]))
    assert out.shape == (3, 1, 16, 16) and out.abs().max() <= 1
    with pytest.raises(BadInput, match="output layer"):
        tiny_image_config(g_out="pixelshuffle").validate()


def test_class_from_z_trains_an_unconditional_generator_with_labels():
    cfg = tiny_image_config("dcgan", "ns", class_from_z=True, g_out="convT")
    trainer = GanTrainer(cfg, data=tiny_images())
    while not trainer.done:
        trainer.step()
    assert trainer.spec.n_classes == 0 and trainer.spec.z_classes == 2
    assert trainer.sampler.n_classes == 0 and trainer.D.head.embed.num_embeddings == 2  # callers give no label
    z = torch.zeros(2, 8)
    z[0, 1] = z[1, 0] = 1.0  # argmax of the first two latent values: class 1, then class 0
    assert torch.equal(trainer.sampler.first_features(z), trainer.sampler.z_proj(torch.cat([z, trainer.sampler.class_embed(torch.tensor([1, 0]))], 1)))
    assert trainer.generate(torch.zeros(3, 8)).shape == (3, 1, 16, 16)  # sampling takes no label
    with pytest.raises(BadInput, match="unconditional"):
        tiny_image_config(class_from_z=True, conditional=True).validate()
    with pytest.raises(BadInput, match="latent size"):
        GanTrainer(tiny_image_config(class_from_z=True, z_dim=1), data=tiny_images())


def test_d_head_start_trains_d_alone_first():
    trainer = GanTrainer(tiny_toy_config(steps=6, d_head_start=3))
    g_before = [p.clone() for p in trainer.G.parameters()]
    for _ in range(3):
        trainer.step()
    assert (trainer.d_updates, trainer.g_updates) == (3, 0)
    assert all(torch.equal(a, b) for a, b in zip(g_before, trainer.G.parameters()))
    trainer.step()
    assert (trainer.d_updates, trainer.g_updates) == (4, 1)


def test_gradient_clipping_bounds_each_update_and_the_curve_shows_the_norm_before():
    trainer = GanTrainer(tiny_toy_config(steps=2, grad_clip=1e-4))
    trainer.step()
    clipped = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in trainer.G.parameters()]))
    assert float(clipped) <= 1.01e-4 < trainer.history.latest["grad_g"]


def test_the_saturating_loss_is_flat_where_d_rejects_the_fakes():
    scores = torch.tensor([-10.0], requires_grad=True)  # D(G(z)) = sigmoid(-10) ~ 4.5e-5
    (minimax,) = torch.autograd.grad(losses.g_loss("minimax", scores), scores)
    (ns,) = torch.autograd.grad(losses.g_loss("ns", scores), scores)
    assert abs(float(minimax)) < 1e-4 and abs(float(ns)) > 0.99
    assert float(losses.g_loss("minimax", torch.zeros(1))) == pytest.approx(math.log(0.5))


def test_a_run_switches_only_between_losses_that_share_d_s_objective():
    trainer = GanTrainer(tiny_toy_config(steps=4, loss="minimax"))
    trainer.step()
    trainer.set_loss("ns")
    trainer.step()
    assert trainer.cfg.loss == "ns"
    with pytest.raises(BadInput, match="switch only between"):
        trainer.set_loss("hinge")


def test_a_transformer_run_from_the_form_is_a_transformer_all_the_way_to_the_pixels():
    """What the Train tab (and `train --arch transformer`) starts: G's tokens draw their own tiles (no convolution),
    as the bundled digits-transgan; an explicit conv head is still honoured."""
    cfg = TrainConfig.defaults_for("digits", arch="transformer", width=16, depth=1, batch_size=8).validate()
    assert cfg.g_out == "patch"
    trainer = GanTrainer(cfg, data=tiny_images())
    assert not any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in trainer.G.modules())
    trainer.step()
    assert trainer.step_count == 1
    assert TrainConfig.defaults_for("digits", arch="transformer", g_out="convT").g_out == "convT"
    assert TrainConfig.defaults_for("digits", arch="dcgan").g_out == "convT"  # the digits preset's, unchanged
