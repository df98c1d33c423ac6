"""The text-quality figures (held-out nats/char, repeated 4-grams) and `python -m ganstudio text-quality`,
on a tiny random model."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from ganstudio.cli import main
from ganstudio.gpt.load import load_gpt_folder
from ganstudio.gpt.quality import (PROMPTS, QualityConfig, format_heldout, heldout_nll, parse_heldout,
                                   repeated_ngram_share, score_windows)
from test_gpt_helpers import TEXT, make_hub_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-gpt")
    make_hub_model(folder)  # context 64 tokens
    heldout = tmp_path_factory.mktemp("data") / "heldout.txt"
    heldout.write_text(format_heldout([TEXT + "\n", "To sleep, perchance to dream.\n"]))
    return load_gpt_folder(folder), folder, heldout


@pytest.mark.parametrize("n, context, stride", [(1, 64, 32), (64, 64, 32), (65, 64, 32), (300, 64, 32),
                                                 (300, 64, 64), (300, 64, 1), (7, 4, 3)])
def test_windows_score_every_target_once_with_enough_context(n, context, stride):
    seen = []
    for i, (begin, end, scored) in enumerate(score_windows(n, context, stride)):
        assert end - begin <= context and scored >= 1
        targets = list(range(begin, end))[-scored:]  # target t is predicted from ids[begin..t]
        assert i == 0 or min(t - begin for t in targets) >= context - stride - 1
        seen += targets
    assert seen == list(range(n))


def test_heldout_nll_is_the_plain_sum_when_the_text_fits_one_window(tiny):
    loaded = tiny[0]
    text = "To be, or not to be, that is the question."
    ids = [loaded.tokenizer.eos_id] + loaded.tokenizer.encode(text)
    logits = loaded.model(torch.tensor([ids[:-1]])).logits[0]
    expected = F.cross_entropy(logits, torch.tensor(ids[1:]), reduction="sum").item()
    total, count = heldout_nll(loaded.model, loaded.tokenizer, [text], QualityConfig())
    assert count == len(ids) - 1
    assert total == pytest.approx(expected, rel=1e-5)


def test_heldout_nll_counts_every_token_whatever_the_stride_and_batch(tiny):
    loaded = tiny[0]
    texts = [TEXT * 3, "Ay, there's the rub."]
    n_tokens = sum(len(loaded.tokenizer.encode(t)) for t in texts)
    full, count = heldout_nll(loaded.model, loaded.tokenizer, texts, QualityConfig(stride=64, batch_size=1))
    half, count_half = heldout_nll(loaded.model, loaded.tokenizer, texts, QualityConfig(batch_size=5))
    assert count == count_half == n_tokens
    assert half != pytest.approx(full, rel=1e-6)  # more context per token: a different (fairer) figure


def test_repeated_ngram_share():
    assert repeated_ngram_share("and clor and clor and clor and clor") == pytest.approx(1 - 2 / 5)
    assert repeated_ngram_share("To be, or not to be: that is the question.") == 0.0
    assert repeated_ngram_share("O'er the hills") == 0.0  # fewer than 4 words: nothing to repeat
    assert repeated_ngram_share("A b c d. A B C D!") == pytest.approx(1 - 4 / 5)  # case and punctuation ignored
    assert repeated_ngram_share("tis 'tis o'er o'er", n=1) == pytest.approx(0.5)


def test_heldout_file_format_round_trips():
    texts = ["First work's tail.\n", "Second,\ntwo lines\n"]
    assert parse_heldout(format_heldout(texts)) == texts
    assert format_heldout(["no newline"]) == "no newline\n<|endoftext|>\n"


def test_command_prints_both_figures(tiny, capsys):
    _, folder, heldout = tiny
    assert main(["text-quality", "--model", str(folder), "--heldout", str(heldout), "--max-new-tokens", "20"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("held-out loss:") and "nats/char" in out[1]
    assert out[2].startswith("repeated 4-grams:") and "%" in out[2]


def test_command_json_and_check(tiny, capsys):
    _, folder, heldout = tiny
    args = ["text-quality", "--model", str(folder), "--heldout", str(heldout), "--max-new-tokens", "20"]
    assert main(args + ["--json", "--check"]) == 1  # a random model misses the goals
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["nats_per_char"] > 1.3 and 0 <= result["repeated_4grams"] <= 1
    assert len(result["per_prompt"]) == len(result["continuations"]) == len(PROMPTS)
    assert result["heldout_chars"] == len(TEXT) + 1 + len("To sleep, perchance to dream.\n")
    assert captured.err.strip().splitlines()[-1].startswith("check failed: ")


@pytest.mark.parametrize("extra, message", [
    (["--model", "/no/such/folder"], "error: "),
    (["--heldout", "/no/such/file.txt"], "error: cannot read held-out text"),
    (["--max-new-tokens", "0"], "error: --max-new-tokens must be"),
    (["--stride", "0"], "error: --stride must be"),
    (["--bogus"], "error: unrecognized arguments"),
])
def test_command_errors_are_one_line_and_exit_2(tiny, capsys, extra, message):
    _, folder, heldout = tiny
    args = ["text-quality", "--model", str(folder), "--heldout", str(heldout)] + extra
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith(message), err
