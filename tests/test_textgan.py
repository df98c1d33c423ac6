"""The Text GAN lesson: what each estimator does to G, bad settings, the CLI's checkpoint, a run in the engine."""

from __future__ import annotations

import json
import re
import time

import pytest
import torch
import torch.nn.functional as F

from ganstudio.actions import textgan as actions
from ganstudio.actions.visitors import end_session, session_of
from ganstudio.cli import main
from ganstudio.engine import get_engine
from ganstudio.errors import BadInput
from ganstudio.textgan.checkpoint import load_textgan
from ganstudio.textgan.config import TextGanConfig
from ganstudio.textgan.corpus import bigram_distance, load_corpus, word_share
from ganstudio.textgan.nets import SoftDecoder, sample_ids
from ganstudio.textgan.trainer import LINES_SEED, TextGanTrainer

torch.set_num_threads(1)
TINY = {"batch_size": 8, "width": 16, "layers": 1, "heads": 2, "seconds": 0, "steps": 3}


def _trained(estimator: str, **extra) -> tuple[TextGanTrainer, list[torch.Tensor]]:
    trainer = TextGanTrainer(TextGanConfig(estimator=estimator, **{**TINY, **extra}).validate())
    before = [p.detach().clone() for p in trainer.G.parameters()]
    while not trainer.done:
        trainer.step()
    return trainer, before


def test_argmax_leaves_every_weight_of_G_as_it_was_to_the_bit():
    trainer, before = _trained("argmax")
    assert trainer.step_count == 3
    assert all(torch.equal(p, p0) for p, p0 in zip(trainer.G.parameters(), before))
    assert trainer.grad_g_max == 0.0 and trainer.latest["grad_g"] == 0.0
    assert trainer.weights_changed() == 0.0
    assert trainer.latest["loss_d"] == trainer.latest["loss_d"]  # D still learns: a finite loss, updated weights


@pytest.mark.parametrize("estimator,extra", [("gumbel", {}), ("gumbel", {"straight_through": False}),
                                             ("reinforce", {})])
def test_gumbel_and_reinforce_reach_G_and_move_it(estimator, extra):
    trainer, before = _trained(estimator, **extra)
    assert trainer.grad_g_max > 0.0
    assert any(not torch.equal(p, p0) for p, p0 in zip(trainer.G.parameters(), before))
    assert trainer.weights_changed() > 0.0


def test_the_relaxed_forward_is_G_itself_on_one_hot_rows():
    trainer = TextGanTrainer(TextGanConfig(**TINY).validate())
    ids = trainer.real[:4]  # (4, 24)
    x = F.one_hot(ids, trainer.V).float()
    decoder = SoftDecoder(trainer.G)
    stepped = torch.stack([decoder.step(x[:, t]) for t in range(ids.size(1))], dim=1)
    torch.testing.assert_close(stepped, trainer.G(ids).logits, rtol=1e-4, atol=1e-5)


def test_quality_figures_tell_real_lines_from_noise():
    corpus = load_corpus(24)
    real = list(corpus.lines[:512])
    gen = torch.Generator().manual_seed(0)
    noise = [corpus.decode(torch.randint(len(corpus.alphabet), (24,), generator=gen)) for _ in range(512)]
    assert bigram_distance(real, corpus) < 0.15 < 0.8 < bigram_distance(noise, corpus)
    assert word_share(real, corpus) == 1.0 and word_share(noise, corpus) < 0.1


@pytest.mark.parametrize("params,message", [
    ({"temperature": 0}, "temperature must be between 0.05 and 10"),
    ({"temperature": 1e9}, "temperature must be between 0.05 and 10"),
    ({"estimator": "magic"}, "estimator must be one of argmax, gumbel, reinforce"),
    ({"prompts": ["The ", ""]}, "prompt 2 is empty"),
    ({"prompts": ["\x00\x01\x02"]}, "prompt 1 holds '\\x00', a character no line of the corpus uses"),
    ({"prompts": ["caf\u00e9"]}, "a character no line of the corpus uses"),
    ({"seconds": -1}, "seconds must be between 0 and 3600"),
    ({"colour": "red"}, "unknown Text GAN setting 'colour'"),
])
def test_bad_settings_are_one_line_and_start_nothing(params, message):
    owner = "test-textgan-bad"
    with pytest.raises(BadInput, match=re.escape(message)) as err:
        actions.start(owner, params)
    assert "\n" not in str(err.value)
    assert get_engine().jobs_of(owner) == []
    assert actions.poll(owner)["state"] == "idle"


def test_cli_trains_and_writes_a_checkpoint_that_loads(tmp_path, capsys):
    out = tmp_path / "tg"
    assert main(["textgan", "--estimator", "gumbel", "--steps", "2", "--out", str(out), "--quiet",
                 "--threads", "0", "--prompt", "The ", "--prompt", "And "]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["steps"] == 2 and result["grad_g_max"] > 0 and len(result["lines"]) == 2
    saved = load_textgan(out)
    assert saved.settings.estimator == "gumbel" and saved.figures["steps"] == 2
    gen = torch.Generator().manual_seed(LINES_SEED)
    prompt = torch.tensor([[saved.alphabet.index(c) for c in "The "]])
    ids = sample_ids(saved.G, prompt, 20, greedy=False, generator=gen)
    assert "".join(saved.alphabet[i] for i in ids[0]) == result["lines"][0]  # the same G, to the bit


def test_cli_argmax_reports_a_zero_gradient_and_unchanged_weights(tmp_path, capsys):
    assert main(["textgan", "--estimator", "argmax", "--steps", "2", "--out", str(tmp_path / "a"), "--quiet",
                 "--threads", "0"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["grad_g_max"] == 0.0 and result["g_max_change"] == 0.0


def test_cli_refuses_bad_values_in_one_line(tmp_path, capsys):
    assert main(["textgan", "--estimator", "gumbel", "--seconds", "5", "--temperature", "0",
                 "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert not (tmp_path / "x").exists()


def _poll_until(owner: str, ready, timeout: float = 120.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = actions.poll(owner)
        if ready(info):
            return info
        time.sleep(0.05)
    raise AssertionError(f"not ready after {timeout} s: {info['text']}")


def test_a_run_in_the_engine_streams_lines_stops_and_is_saved_then_goes_with_its_session():
    owner = "test-textgan-run"
    actions.start(owner, {"estimator": "reinforce", "seconds": 0, "prompts": ["The "]})
    info = _poll_until(owner, lambda i: i["snapshot"].get("step", 0) >= 2 and i["snapshot"].get("lines"))
    snap = info["snapshot"]
    assert snap["lines"][0]["line"].startswith("The ") and len(snap["lines"][0]["line"]) == 24
    assert 0.0 <= snap["lines"][0]["d_real"] <= 1.0
    assert snap["gpt_lines"][0]["line"].startswith("The ")  # the likelihood GPT on the same prompt
    assert snap["history"] and snap["quality"]
    stopped = actions.stop(owner)
    assert stopped["state"] == "done" and stopped["saved"]
    folder = session_of(owner).textgan.folder
    assert load_textgan(folder).settings.estimator == "reinforce"
    end_session(owner)
    assert not folder.exists() and actions.poll(owner)["state"] == "idle"
