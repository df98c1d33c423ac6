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


def fake_attention_maps(gan, z, y, attn_off=False):
    """A 4x4-token generator whose every query attends only to itself."""
    image = torch.zeros(1, 3, 8, 8)
    return image, [{"name": "block0", "heads": torch.eye(16)[None], "attn": torch.eye(16), "q_grid": (4, 4),
                    "k_grid": (4, 4), "gamma": None}]


@pytest.fixture
def fake_gan(monkeypatch):
    import ganstudio.gan.io as gan_io
    from ganstudio.actions import attention as actions
    from ganstudio.actions import generators
    from ganstudio.actions.model_cache import MODELS

    module = types.ModuleType("ganstudio.gan.attention")
    module.attention_maps = fake_attention_maps
    monkeypatch.setitem(sys.modules, "ganstudio.gan.attention", module)
    monkeypatch.setattr(generators, "resolve", lambda spec, owner, progress=None: (spec, Path("/fake") / spec))
    monkeypatch.setattr(generators, "_check_is_gan", lambda folder, spec: None)
    monkeypatch.setattr(gan_io, "load_gan", lambda folder, device="cpu", name=None: types.SimpleNamespace(
        generator=FakeGenerator(), config={}, spec=types.SimpleNamespace(arch="sagan")))
    monkeypatch.setattr(actions, "_gan_results", type(actions._gan_results)())
    MODELS.clear()
    yield
    MODELS.clear()


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
    from ganstudio.gan.registry import build_generator
    from ganstudio.gan.spec import GanSpec

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


def _saved_attention_gan(folder, arch: str, gamma: float = 0.0) -> str:
    """A tiny untrained SAGAN (its gate opened to ``gamma``) or patch-head Transformer, saved as the app saves."""
    from ganstudio.gan.io import GanParts, save_gan
    from ganstudio.gan.registry import build_generator
    from ganstudio.gan.spec import GanSpec

    torch.manual_seed(0)
    head = dict(g_out="patch") if arch == "transformer" else {}
    spec = GanSpec(arch=arch, z_dim=16, channels=1, image_size=16, width=8, depth=2, heads=2, **head)
    generator = build_generator(spec).eval()
    if arch == "sagan":
        with torch.no_grad():
            generator.attn.gamma.fill_(gamma)
    return str(save_gan(folder / arch, GanParts(spec=spec, generator=generator, data="test")))


@pytest.mark.parametrize("arch", ["sagan", "transformer"])
def test_attention_off_redraws_the_same_sample_without_attention_and_leaves_the_model_alone(tmp_path, arch):
    from ganstudio.actions import generators
    from ganstudio.actions.attention import gan_attention

    folder = _saved_attention_gan(tmp_path, arch, gamma=3.0)
    before = {k: v.clone() for k, v in generators.load(folder, "cli").generator.state_dict().items()}
    plain = gan_attention(folder, seed=4)
    assert plain["ablated"] is None and plain["changed"] is None
    off = gan_attention(folder, seed=4, attention_off=True)
    assert np.array_equal(np.asarray(off["image"]), np.asarray(plain["image"]))  # the original beside it
    assert not np.array_equal(np.asarray(off["ablated"]), np.asarray(off["image"]))  # and a different drawing
    assert 0 <= off["changed"] <= 1 and off["difference"].size == off["image"].size
    after = generators.load(folder, "cli").generator.state_dict()  # the cached generator is untouched
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert np.array_equal(np.asarray(gan_attention(folder, seed=4)["image"]), np.asarray(plain["image"]))
    assert [g for _, g in off["gammas"]] == ([pytest.approx(3.0)] if arch == "sagan" else [])


def test_a_closed_sagan_gate_means_attention_off_changes_nothing(tmp_path):
    from ganstudio.actions.attention import gan_attention

    result = gan_attention(_saved_attention_gan(tmp_path, "sagan", gamma=0.0), seed=1, attention_off=True)
    assert result["changed"] == 0 and np.array_equal(np.asarray(result["ablated"]), np.asarray(result["image"]))


def test_one_layer_and_one_head_of_a_transformer_generator(tmp_path):
    from ganstudio.actions.attention import attention_layers, gan_attention

    folder = _saved_attention_gan(tmp_path, "transformer")
    assert attention_layers(folder) == (["block 1", "block 2"], [2, 2])
    every = gan_attention(folder, seed=2, query_xy=(100, 100))
    assert [l["name"] for l in every["layers"]] == ["block 1", "block 2"] and every["layers"][0]["head"] == "mean of 2 heads"
    heads = [gan_attention(folder, seed=2, query_xy=(100, 100), layer=1, head=h)["layers"] for h in (0, 1)]
    assert [len(h) for h in heads] == [1, 1] and heads[0][0]["name"] == "block 2" and heads[1][0]["head"] == "head 2"
    for h in heads:
        assert np.isclose(h[0]["weights"].sum(), 1.0, atol=1e-4)
    mean = (heads[0][0]["weights"] + heads[1][0]["weights"]) / 2  # the average the default view shows
    assert np.allclose(mean, every["layers"][1]["weights"], atol=1e-6)
    with pytest.raises(BadInput, match="layer 3 does not exist: this generator has 2 attention layer"):
        gan_attention(folder, seed=2, layer=2)
    with pytest.raises(BadInput, match="head 3 does not exist: block 1 has 2 head"):
        gan_attention(folder, seed=2, head=2)


def test_the_list_of_attention_generators_has_the_visitors_own_attention_runs(tmp_path):
    from types import SimpleNamespace

    from ganstudio.actions.attention import list_attention_gans
    from ganstudio.actions.visitors import end_session, session_of
    from ganstudio.sessions import Run

    conv = str(tmp_path / "dcgan")
    from ganstudio.gan.io import GanParts, save_gan
    from ganstudio.gan.registry import build_generator
    from ganstudio.gan.spec import GanSpec

    spec = GanSpec(arch="dcgan", z_dim=16, channels=1, image_size=16, width=8)
    save_gan(conv, GanParts(spec=spec, generator=build_generator(spec).eval(), data="test"))
    runs = {"run 1 · digits · dcgan": conv, "run 2 · digits · sagan": _saved_attention_gan(tmp_path, "sagan"),
            "run 3 · digits · transformer": _saved_attention_gan(tmp_path, "transformer")}
    for name, folder in runs.items():
        session_of("me").add_run(Run(name=name, job_id="none", task=SimpleNamespace(saved=True), folder=Path(folder),
                                     params={}))
    try:
        listed = list_attention_gans("me")
        assert listed[-2:] == ["run 3 · digits · transformer", "run 2 · digits · sagan"]  # newest first
        assert "run 1 · digits · dcgan" not in listed and set(list_attention_gans("someone-else")).isdisjoint(runs)
    finally:
        session_of("me").runs.clear()  # the folders belong to the test, not to the session
        end_session("me")


# ---- self-attention step by step ------------------------------------------------------------


def test_step_through_numbers_equal_a_direct_computation_from_the_weights(tiny):
    """q, k, the scores, the scaling, the mask, the softmax and the output, recomputed here from the Hub
    checkpoint's own tensors (HF layout: Conv1D weights (in, out), 'transformer.' names) without our model."""
    import json
    import math

    from safetensors.torch import load_file

    from ganstudio.gpt.attention import attention_maps
    from ganstudio.gpt.explain import explain_head
    from ganstudio.gpt.load import load_gpt_folder

    loaded = load_gpt_folder(tiny)
    ids = loaded.tokenizer.encode("To be, or not to be")
    layer, head, query = 1, 2, 3
    got = explain_head(loaded.model, loaded.tokenizer, ids, layer, head, query)

    cfg = json.loads((tiny / "config.json").read_text())
    w = {k.removeprefix("transformer."): v.double() for k, v in load_file(str(tiny / "model.safetensors")).items()}
    C, H = cfg["n_embd"], cfg["n_head"]
    hs = C // H

    def layer_norm(x, name):
        return torch.nn.functional.layer_norm(x, (C,), w[f"{name}.weight"], w[f"{name}.bias"], cfg["layer_norm_epsilon"])

    x = w["wte.weight"][ids] + w["wpe.weight"][: len(ids)]  # (T, C) the residual stream
    for i in range(layer):  # the blocks before, written out: attention then MLP, each added to the stream
        h = layer_norm(x, f"h.{i}.ln_1")
        qkv = h @ w[f"h.{i}.attn.c_attn.weight"] + w[f"h.{i}.attn.c_attn.bias"]
        q_, k_, v_ = (t.view(len(ids), H, hs).transpose(0, 1) for t in qkv.split(C, dim=1))
        att = (q_ @ k_.transpose(1, 2) / math.sqrt(hs)).masked_fill(torch.triu(torch.ones(len(ids), len(ids)), 1).bool(),
                                                                   float("-inf")).softmax(-1)
        y = (att @ v_).transpose(0, 1).reshape(len(ids), C)
        x = x + y @ w[f"h.{i}.attn.c_proj.weight"] + w[f"h.{i}.attn.c_proj.bias"]
        m = layer_norm(x, f"h.{i}.ln_2") @ w[f"h.{i}.mlp.c_fc.weight"] + w[f"h.{i}.mlp.c_fc.bias"]
        x = x + torch.nn.functional.gelu(m, approximate="tanh") @ w[f"h.{i}.mlp.c_proj.weight"] + w[f"h.{i}.mlp.c_proj.bias"]
    h = layer_norm(x, f"h.{layer}.ln_1")
    qkv = h @ w[f"h.{layer}.attn.c_attn.weight"] + w[f"h.{layer}.attn.c_attn.bias"]
    q, k, v = (t[:, head * hs:(head + 1) * hs] for t in qkv.split(C, dim=1))
    scores = k @ q[query]
    weights = (scores / math.sqrt(hs)).masked_fill(torch.arange(len(ids)) > query, float("-inf")).softmax(-1)

    assert got["d_k"] == hs and math.isclose(got["scale"], math.sqrt(hs))
    assert np.allclose(got["x"], h[query].numpy(), atol=1e-4)  # every number: the layer-normed input, q, k, v
    assert np.allclose(got["q"], q[query].numpy(), atol=1e-4)
    assert np.allclose([r["k"] for r in got["keys"]], k.numpy(), atol=1e-4)
    assert np.allclose([r["v"] for r in got["keys"]], v.numpy(), atol=1e-4)
    assert np.allclose([r["score"] for r in got["keys"]], scores.numpy(), atol=1e-4)
    assert np.allclose([r["scaled"] for r in got["keys"]], (scores / math.sqrt(hs)).numpy(), atol=1e-4)
    assert [r["masked"] for r in got["keys"]] == [j > query for j in range(len(ids))]
    assert np.allclose([r["weight"] for r in got["keys"]], weights.numpy(), atol=1e-5)
    assert np.allclose(got["output"], (weights @ v).numpy(), atol=1e-4)
    maps = attention_maps(loaded.model, ids)  # and the same weights the heatmap shows
    assert np.allclose([r["weight"] for r in got["keys"]], maps[layer, head, query], atol=1e-5)
    assert abs(sum(p for _, p in got["final"])) <= 1 and len(got["after_layer"]) == 5


def test_gan_attention_starts_on_a_stroke_of_the_digit():
    """With no pixel chosen, the view starts on the digit (a bright pixel), not on the black background."""
    from ganstudio.actions.attention import gan_attention, list_attention_gans

    for spec in list_attention_gans():
        for seed in (0, 1, 2):
            result = gan_attention(spec, seed=seed)
            x, y = result["query_xy"]
            grey = np.asarray(result["image"].convert("L"), dtype=np.float32)
            assert grey[y, x] >= 128, (spec, seed, (x, y), grey[y, x])
