"""The Text tab's next-token chart (the sampler's own filters, the prompt's logits cached per visitor) and its pace."""

from __future__ import annotations

import itertools
import time

import pytest
import torch

from ganstudio.actions import next_token
from ganstudio.actions.text import generate_stream
from ganstudio.actions.visitors import session_of
from ganstudio.engine import get_engine
from ganstudio.errors import BadInput
from ganstudio.gpt.sampling import (
    SamplingConfig,
    choose_next,
    next_token_chart,
    sampling_logits,
)

torch.set_num_threads(1)
MODEL, PROMPT = "shakespeare-gpt", "ROMEO.\nBut soft, what light"


def chart(owner="chart-test", **settings):
    values = {"temperature": 0.8, "top_k": 40, "top_p": 1.0, "repetition_penalty": 1.0, **settings}
    return next_token.prompt_chart(MODEL, PROMPT, owner=owner, **values)


def test_the_chart_is_the_samplers_distribution():
    logits = torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0, -1.0])
    cfg = SamplingConfig(temperature=0.5, top_k=4, top_p=0.9).validate()
    rows = next_token_chart(logits, cfg, str, count=6)
    assert [r["text"] for r in rows] == ["0", "1", "2", "3", "4", "5"]  # ordered by the model's own logits
    expected = sampling_logits(logits, cfg).softmax(-1)  # the very distribution choose_next draws from
    assert [r["sampled"] for r in rows] == pytest.approx(expected.tolist())
    assert [r["cut"] for r in rows][4:] == ["top-k", "top-k"]  # top-k 4 cut the last two
    assert rows[0]["tempered"] == pytest.approx(float((logits / 0.5).softmax(-1)[0]))
    assert rows[0]["model"] == pytest.approx(float(logits.softmax(-1)[0]))
    # what the chart calls cut is never drawn
    generator = torch.Generator().manual_seed(0)
    drawn = {choose_next(logits, cfg, generator) for _ in range(200)}
    assert drawn <= {i for i, r in enumerate(rows) if r["cut"] is None}


def test_greedy_keeps_only_the_likeliest():
    rows = next_token_chart(torch.tensor([1.0, 3.0, 2.0]), SamplingConfig(temperature=0).validate(), str, 3)
    assert [(r["text"], r["sampled"], r["cut"]) for r in rows] == [
        ("1", 1.0, None), ("2", 0.0, "temperature 0"), ("0", 0.0, "temperature 0")]


def test_settings_reshape_the_chart_without_another_model_call(monkeypatch):
    warm = chart()
    engine, calls = get_engine(), []
    run = engine.run
    monkeypatch.setattr(engine, "run", lambda fn, *a, **k: calls.append(fn) or run(fn, *a, **k))
    hot, cold = chart(temperature=0.3), chart(temperature=1.8)
    assert hot["rows"][0]["sampled"] > warm["rows"][0]["sampled"] > cold["rows"][0]["sampled"]
    assert [r["model"] for r in hot["rows"]] == [r["model"] for r in cold["rows"]]  # the model's own: unchanged
    narrow = chart(top_k=3)
    assert [r["cut"] for r in narrow["rows"]][:3] == [None] * 3 and narrow["rows"][3]["cut"] == "top-k"
    assert narrow["kept"] == 3 and sum(r["sampled"] for r in narrow["rows"][:3]) == pytest.approx(1.0)
    nucleus = chart(top_k=0, top_p=0.3)
    assert nucleus["rows"][-1]["cut"] == "top-p" and nucleus["kept"] < 10
    assert calls == [], "a slider move ran the model again"
    chart(temperature=0.3, repetition_penalty=1.5)
    assert calls == []


def test_the_prompts_logits_are_kept_in_the_visitors_session():
    chart(owner="chart-cache")
    cached = session_of("chart-cache").next_token
    assert cached["key"][1] == PROMPT and cached["logits"].shape == (3072,)
    sentinel = cached["logits"]
    chart(owner="chart-cache", top_p=0.5)
    assert session_of("chart-cache").next_token["logits"] is sentinel  # re-filtered, not recomputed
    assert session_of("chart-other").next_token is None  # another visitor's session holds nothing of it


def test_bad_settings_are_one_line():
    with pytest.raises(BadInput, match="temperature"):
        chart(temperature=-1)
    with pytest.raises(BadInput, match="prompt is empty"):
        next_token.prompt_chart(MODEL, "  ")


def test_a_readable_pace_hands_tokens_out_at_about_twelve_a_second():
    started = time.perf_counter()
    events = list(generate_stream(MODEL, PROMPT, max_new_tokens=13, seed=1, ignore_eos=True, pace="readable"))
    assert events[-1]["count"] == 13 and time.perf_counter() - started >= 12 / 12  # at most 12 a second
    with pytest.raises(BadInput, match="pace"):
        next(generate_stream(MODEL, PROMPT, pace="slowly"))


def test_a_paced_reader_leaves_the_worker_to_others():
    """While one visitor reads at the readable pace, another's full-speed generation runs to its end: the paced
    row sits steps out (its queue is full), it does not hold the worker."""
    paced = generate_stream(MODEL, PROMPT, max_new_tokens=60, seed=1, ignore_eos=True, owner="paced", pace="readable")
    shown = list(itertools.islice(paced, 3))  # the paced generation is under way: its start and two tokens
    fast = list(generate_stream(MODEL, PROMPT, max_new_tokens=60, seed=2, ignore_eos=True, owner="fast"))
    assert fast[-1]["count"] == 60
    rest = list(paced)
    assert rest[-1]["count"] == 60 and len(shown) + len(rest) == 62  # start, 60 tokens, end
    assert shown[-1]["count"] < 60 < len(shown) + len(rest)  # the fast one ended while the paced one was early on
