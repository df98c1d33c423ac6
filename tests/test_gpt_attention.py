"""Attention: rows are distributions and causal, rollout by hand, pictures, the CLI file, the GAN side."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from ganstudio.errors import BadInput
from ganstudio.gpt.attention import rollout

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("transformers")
    from test_gpt_helpers import make_hub_model

    folder = tmp_path_factory.mktemp("tiny-gpt")
    make_hub_model(folder, seed=2)
    return folder


def test_text_attention_rows_sum_to_one_and_are_causal(tiny):
    from ganstudio.actions.attention import text_attention

    result = text_attention(str(tiny), "To be, or not to be")
    att = result["attentions"]
    t = len(result["tokens"])
    assert att.dtype == np.float32 and att.shape == (2, 4, t, t)
    assert np.allclose(att.sum(-1), 1.0, atol=1e-5)
    assert np.all(att[..., np.triu_indices(t, 1)[0], np.triu_indices(t, 1)[1]] == 0)
    assert "".join(result["tokens"]) == "To be, or not to be"


def test_rollout_two_layers_by_hand():
    # Layer 1: heads average to [[1, 0], [.5, .5]] -> with the residual [[1, 0], [.25, .75]].
    # Layer 2: [[1, 0], [.2, .8]] -> [[1, 0], [.1, .9]].  R = L2' @ L1' = [[1, 0], [.325, .675]].
    layer1 = np.array([[[1, 0], [0.4, 0.6]], [[1, 0], [0.6, 0.4]]])
    layer2 = np.array([[[1, 0], [0.2, 0.8]], [[1, 0], [0.2, 0.8]]])
    result = rollout(np.stack([layer1, layer2]).astype(np.float32))
    assert np.allclose(result, [[1, 0], [0.325, 0.675]], atol=1e-6)


def test_rollout_can_discount_the_first_token():
    layer = np.array([[[1, 0, 0], [0.5, 0.5, 0], [0.6, 0.2, 0.2]]], dtype=np.float32)  # (layers=1, T, T)
    # Without token 0: row 1 -> [0, 1, 0], row 2 -> [0, .5, .5]; with the residual: [0, .25, .75].
    assert np.allclose(rollout(layer, discard_first=True), [[1, 0, 0], [0, 1, 0], [0, 0.25, 0.75]], atol=1e-6)
    assert np.allclose(rollout(layer).sum(-1), 1.0)


def test_views_and_pictures(tiny):
    from ganstudio.actions.attention import (
        attention_view,
        overview_image,
        text_attention,
    )

    result = text_attention(str(tiny), "To be, or not to be")
    att, tokens, t = result["attentions"], result["tokens"], len(result["tokens"])
    for view in ("head", "average", "rollout"):
        shown = attention_view(att, tokens, view=view, layer=1, head=3, discount_first_token=True, size=256)
        assert shown["matrix"].shape == (t, t)
        assert np.allclose(shown["matrix"].sum(-1), 1.0, atol=1e-5)
        assert shown["image"].size == (256 // t * t, 256 // t * t)
        assert shown["hover"]["n"] == t and len(shown["hover"]["milli"]) == t * t
        assert shown["hover"]["src"].startswith("data:image/png;base64,")
    assert np.allclose(attention_view(att, tokens, "head", 1, 3)["matrix"], att[1, 3])
    grid = overview_image(att, thumb=32)
    assert grid.size[0] > grid.size[1]  # 4 heads across, 2 layers down
    with pytest.raises(BadInput, match="layer must be between 0 and 1"):
        attention_view(att, tokens, "head", layer=2)
    with pytest.raises(BadInput, match="view must be"):
        attention_view(att, tokens, "everything")


def test_text_attention_bad_input(tiny):
    from ganstudio.actions.attention import text_attention

    with pytest.raises(BadInput, match="prompt is empty"):
        text_attention(str(tiny), "")


def test_cli_attention_writes_npz(tiny, tmp_path, capsys):
    from ganstudio.cli import main

    out = tmp_path / "att.npz"
    assert main(["attention", "--model", str(tiny), "--prompt", "not to be", "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    with np.load(out, allow_pickle=False) as data:
        att, tokens = data["attentions"], data["tokens"]
    t = len(tokens)
    assert att.dtype == np.float32 and att.shape[2:] == (t, t)
    assert np.allclose(att.sum(-1), 1.0, atol=1e-5)
    assert np.allclose(np.triu(att, 1), 0.0)
    assert "".join(tokens.tolist()) == "not to be"


# ---- the image side, against the GAN attention contract, with a fake generator -----------


class FakeGenerator(torch.nn.Module):
    z_dim, n_classes, out_kind = 8, 0, "image"


def fake_attention_maps(gan, z, y):
    """A 4x4-token generator whose every query attends only to itself."""
    image = torch.zeros(1, 3, 8, 8)
    return image, [{"name": "block0", "attn": torch.eye(16), "q_grid": (4, 4), "k_grid": (4, 4)}]


@pytest.fixture
def fake_gan(monkeypatch):
    import ganstudio.gan.io as gan_io
    from ganstudio.actions import attention as actions

    module = types.ModuleType("ganstudio.gan.attention")
    module.attention_maps = fake_attention_maps
    monkeypatch.setitem(sys.modules, "ganstudio.gan.attention", module)
    monkeypatch.setattr(actions, "_resolve_gan", lambda spec: Path("/fake") / spec)
    monkeypatch.setattr(gan_io, "load_gan", lambda folder, device="cpu", name=None:
                        types.SimpleNamespace(generator=FakeGenerator(), config={}))
    monkeypatch.setattr(actions, "_gans", type(actions._gans)())
    monkeypatch.setattr(actions, "_gan_results", type(actions._gan_results)())


def test_gan_attention_maps_the_clicked_pixel_to_its_query(fake_gan):
    from ganstudio.actions.attention import GAN_DISPLAY_SIZE, gan_attention

    result = gan_attention("fake-sagan", seed=3, query_xy=(200, 10))  # column 3, row 0 of the 4x4 grid
    assert result["image"].size == (GAN_DISPLAY_SIZE, GAN_DISPLAY_SIZE)
    (layer,) = result["layers"]
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[0, 3] = 1
    assert np.array_equal(layer["weights"], expected)
    assert layer["overlay"].size == result["image"].size
    centre = gan_attention("fake-sagan", seed=3)["layers"][0]["weights"]
    assert centre[2, 2] == 1


def test_gan_attention_bad_input(fake_gan):
    from ganstudio.actions.attention import gan_attention

    with pytest.raises(BadInput, match="outside the 256x256 image"):
        gan_attention("fake-sagan", seed=0, query_xy=(300, 10))
    with pytest.raises(BadInput, match="seed must be"):
        gan_attention("fake-sagan", seed=-4)
    with pytest.raises(BadInput, match="no GAN model"):
        gan_attention("", seed=0)


@pytest.mark.parametrize("arch", ["sagan", "transformer"])
def test_gan_attention_on_real_generators(tmp_path, arch):
    from ganstudio.actions.attention import gan_attention
    from ganstudio.gan.io import GanParts, save_gan
    from ganstudio.gan.models import GanSpec, build_generator

    torch.manual_seed(0)
    spec = GanSpec(arch=arch, z_dim=16, channels=1, image_size=16, width=8, depth=2, heads=2)
    folder = save_gan(tmp_path / arch, GanParts(spec=spec, generator=build_generator(spec).eval(), data="test"))
    result = gan_attention(str(folder), seed=1, query_xy=(10, 250))
    assert result["image"].size == (256, 256) and result["query_xy"] == (10, 250)
    assert result["layers"]
    for layer in result["layers"]:
        assert layer["weights"].shape == layer["k_grid"]
        assert np.isclose(layer["weights"].sum(), 1.0, atol=1e-4)
        assert layer["overlay"].size == (256, 256)
