"""Attention → Text: the position embeddings' similarity, the model run without them (weights untouched), and the
head the explorer opens on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganstudio.actions.attention import explain_for, explore_attention, text_attention
from ganstudio.actions.text import loaded_gpt
from ganstudio.gpt.attention import (
    SINK_SHARE,
    attention_maps,
    focused_head,
    position_similarity,
)

torch.set_num_threads(1)
MODEL, PROMPT = "shakespeare-gpt", "The king is dead. Long live the king, for the king is wise."


def test_position_similarity_is_the_cosine_of_wpe_rows():
    model = loaded_gpt(MODEL).model
    sim = position_similarity(model, 12)
    rows = model.wpe.weight[:12].detach().double()
    expected = torch.nn.functional.cosine_similarity(rows[:, None], rows[None], dim=-1).numpy()
    assert sim.shape == (12, 12) and np.allclose(sim, expected, atol=1e-5)
    assert np.allclose(np.diag(sim), 1.0, atol=1e-5) and np.allclose(sim, sim.T, atol=1e-6)
    # neighbours are more alike than far-apart positions: what lets a head find "the previous token"
    assert sim[5, 6] > sim[5, 11]


def test_without_position_embeddings_the_attention_changes_and_the_model_does_not():
    loaded = loaded_gpt(MODEL)
    before = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    ids = loaded.tokenizer.encode(PROMPT)
    normal, off = attention_maps(loaded.model, ids), attention_maps(loaded.model, ids, positions=False)
    assert np.abs(normal - off).max() > 0.1  # the attention patterns move
    assert all(torch.equal(before[k], v) for k, v in loaded.model.state_dict().items()), "weights were changed"
    assert loaded_gpt(MODEL) is loaded  # the model cache still serves the one, unmodified model
    assert np.allclose(attention_maps(loaded.model, ids), normal)  # and it attends as before


def test_the_switch_redraws_attention_and_guesses_without_positions():
    normal = text_attention(MODEL, PROMPT)
    off = text_attention(MODEL, PROMPT, positions_off=True)
    assert off["positions_off"] and not normal["positions_off"]
    assert not np.allclose(normal["attentions"], off["attentions"])
    assert normal["guesses"] != off["guesses"] and len(off["guesses"]) == 5
    # the step-through of that analysis is worked without positions too: its weights are the heatmap's
    data = explore_attention(MODEL, PROMPT, owner="positions-test", positions_off=True)
    steps = explain_for(data["token"], 1, 0, 5)
    assert np.allclose([k["weight"] for k in steps["keys"]], off["attentions"][1, 0, 5], atol=1e-5)
    assert len(steps["x"]) == 256 and len(steps["q"]) == len(steps["keys"][0]["v"]) == 64  # every number


def test_the_opening_head_is_the_most_focused_one_that_is_not_a_sink():
    T = 6
    uniform = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]  # spread evenly
    first = np.zeros((T, T))
    first[:, 0] = 1.0  # all on the first token
    previous = np.eye(T, k=-1)
    previous[0, 0] = 1.0  # each token on the one before it
    mixed = 0.7 * previous + 0.3 * uniform
    attn = np.stack([np.stack([uniform, first]), np.stack([mixed, uniform])])  # (2 layers, 2 heads, T, T)
    chosen = focused_head(attn)
    assert (chosen["layer"], chosen["head"]) == (1, 0) and chosen["left_out"] == 1  # not the first-token head
    assert 0 < chosen["spread"] < 1
    itself = np.stack([np.stack([np.eye(T), uniform])])
    assert focused_head(itself)["head"] == 1 and SINK_SHARE == 0.5


def test_the_explorer_opens_on_that_head_and_says_why():
    data = explore_attention(MODEL, PROMPT, owner="opening-test")
    opening = data["opening"]
    assert (data["view"]["layer"], data["view"]["head"]) == (opening["layer"], opening["head"])
    assert data["view"]["title"] == f"layer {opening['layer']}, head {opening['head']}"
    assert "most focused" in opening["why"] and data["positions"]["n"] == len(data["tokens"])
    print(opening["why"])


@pytest.mark.parametrize("positions_off", ["maybe", 3])
def test_a_bad_switch_value_is_one_line(positions_off):
    from ganstudio.errors import BadInput

    with pytest.raises(BadInput, match="position"):
        text_attention(MODEL, PROMPT, positions_off=positions_off)
