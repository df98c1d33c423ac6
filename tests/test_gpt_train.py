"""Training the Shakespeare GPT, in miniature: unlikelihood pieces, bit-identical resume, the exported folder."""

from __future__ import annotations

import pytest
import torch

import ganstudio.gpt.train as train_module
from ganstudio.gpt.generate import SamplingConfig, generate_ids
from ganstudio.gpt.load import load_gpt_folder
from ganstudio.gpt.quality import PROMPTS, QualityConfig, greedy_continuations, text_quality
from ganstudio.gpt.train import TrainConfig, check_resumable, learning_rate, train
from ganstudio.gpt.unlikelihood import greedy_batch, repeat_mask, unlikelihood_loss
from test_gpt_helpers import make_hub_model

torch.set_num_threads(1)

VERSE = """ACT I.

SCENE I. A heath.

FIRST WITCH.
When shall we three meet again
In thunder, lightning, or in rain?

SECOND WITCH.
When the hurlyburly's done,
When the battle's lost and won.

THIRD WITCH.
That will be ere the set of sun.
"""


def test_repeat_mask_marks_every_token_of_a_repeated_ngram():
    tokens = torch.tensor([[1, 2, 3, 4, 1, 2, 3, 4, 9], [5, 6, 7, 8, 9, 10, 11, 12, 13]])
    mask = repeat_mask(tokens, n=4)
    assert mask[0].tolist() == [False] * 4 + [True] * 4 + [False]
    assert not mask[1].any()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    make_hub_model(folder)
    return load_gpt_folder(folder)


def test_greedy_batch_matches_token_by_token_generation(tiny):
    model, tok = tiny.model, tiny.tokenizer
    prompts = [tok.encode("To be, or not to be"), tok.encode("the slings and arrows")]
    P = min(map(len, prompts))
    prefixes = torch.tensor([p[:P] for p in prompts])
    out = greedy_batch(model, prefixes, 12)
    assert out.shape == (2, P + 12)
    for row, prompt in enumerate(prompts):
        expected = generate_ids(model, tok, prompt[:P], SamplingConfig(max_new_tokens=12, temperature=0.0,
                                                                        ignore_eos=True))
        assert out[row, P:].tolist() == expected


def test_unlikelihood_loss_penalises_only_repeats(tiny):
    model = tiny.model
    V = model.config.vocab_size
    looping = torch.tensor([[1, 2, 3] + [4, 5, 6, 7] * 4])
    loss, share = unlikelihood_loss(model, looping, prefix=3)
    assert loss.item() > 0 and share == pytest.approx(12 / 16)
    fresh = torch.arange(1, 20).remainder(V).unsqueeze(0)
    loss, share = unlikelihood_loss(model, fresh, prefix=3)
    assert loss.item() == 0 and share == 0


def test_learning_rate_warms_up_then_decays_to_the_floor():
    cfg = TrainConfig(steps=1000, warmup=100, lr=1e-3, min_lr=1e-4)
    assert learning_rate(0, cfg) == pytest.approx(1e-5)
    assert learning_rate(99, cfg) == pytest.approx(1e-3)
    assert learning_rate(1000, cfg) == pytest.approx(1e-4)


def test_fine_tune_settings_may_change_only_before_it_starts():
    cfg = TrainConfig(texts="x", steps=10, ul_steps=5)
    saved = dict(vars(TrainConfig(texts="x", steps=10, ul_steps=0)), threads=2)
    check_resumable(saved, cfg, step=10)
    with pytest.raises(SystemExit, match="ul_steps"):
        check_resumable(saved, cfg, step=11)
    with pytest.raises(SystemExit, match="lr"):
        check_resumable(dict(saved, lr=1.0), cfg, step=3)


def tiny_run(tmp_path, name: str, **overrides) -> TrainConfig:
    texts = tmp_path / "texts"
    texts.mkdir(exist_ok=True)
    for i in range(3):
        (texts / f"play{i}_gut.txt").write_text(f"PLAY {i}\n\nby William Shakespeare\n\n" + VERSE * (4 + i))
    settings = dict(texts=str(texts), out=str(tmp_path / name / "out"), ckpt_dir=str(tmp_path / name / "ckpt"),
                    heldout_out=str(tmp_path / name / "heldout.txt"), vocab_size=300, n_positions=64, n_embd=32,
                    n_layer=2, n_head=2, batch_size=2, steps=6, warmup=2, eval_every=4, log_every=2,
                    ul_steps=2, ul_batch=2, ul_prefix=8, ul_new_tokens=16)
    settings.update(overrides)
    return TrainConfig(**settings)


def test_an_interrupted_run_resumes_to_the_same_weights_and_exports_a_loadable_model(tmp_path, monkeypatch):
    # the figures as in a real run, but with 2 prompts of 16 greedy tokens (a few seconds in all)
    monkeypatch.setattr(train_module, "greedy_continuations", lambda m, t: greedy_continuations(m, t, PROMPTS[:2], 16))
    monkeypatch.setattr(train_module, "text_quality",
                        lambda m, t, h: text_quality(m, t, h, QualityConfig(max_new_tokens=16)))
    straight = train(tiny_run(tmp_path, "a"))
    train(tiny_run(tmp_path, "b", ul_steps=0))  # stops after the likelihood steps ...
    resumed = train(tiny_run(tmp_path, "b"))  # ... and a second session adds the fine-tune
    a, b = (tmp_path / name / "out" / "model.safetensors" for name in "ab")
    assert a.read_bytes() == b.read_bytes()
    assert resumed["nats_per_char"] == straight["nats_per_char"]
    assert [h["step"] for h in resumed["history"]] == [4, 6]  # periodic, then before the fine-tune
    loaded = load_gpt_folder(tmp_path / "a" / "out")
    assert loaded.config.n_layer == 2 and loaded.tokenizer.eos_id == 0
    card = (tmp_path / "a" / "out" / "README.md").read_text()
    assert "Held-out loss" in card and "unlikelihood" in card
    heldout = (tmp_path / "a" / "heldout.txt").read_text()
    assert heldout.count("<|endoftext|>") == 3 and heldout.startswith("That will be ere the set of sun.\n")
