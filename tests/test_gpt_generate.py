"""Generation: KV cache, sliding window, sampling filters, seeds, bad input; the text action and CLI."""

from __future__ import annotations

import math

import pytest
import torch
from test_gpt_helpers import make_hub_model

from ganstudio.errors import BadInput, BadModel, StudioError
from ganstudio.gpt.generate import encode_prompt, generate_ids, stream_tokens
from ganstudio.gpt.load import load_gpt_folder
from ganstudio.gpt.sampling import MAX_NEW_TOKENS_CAP, SamplingConfig, filter_top_k, filter_top_p

pytest.importorskip("transformers")  # the fixtures build their random checkpoints with it
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-gpt")
    make_hub_model(folder, seed=1)
    return folder


@pytest.fixture(scope="module")
def loaded(tiny):
    return load_gpt_folder(tiny)


def test_kv_cache_decoding_equals_full_recomputation(loaded):
    model = loaded.model
    ids = torch.tensor([[3, 14, 15, 92, 65, 35, 89, 79, 32, 38]])
    full = model(ids).logits[0]
    cache = model.new_cache()
    first = model(ids[:, :4], cache).logits[0]  # a prefill of 4, then one token at a time
    assert torch.allclose(first, full[:4], atol=1e-5)
    for t in range(4, ids.size(1)):
        step = model(ids[:, t:t + 1], cache).logits[0, -1]
        assert torch.allclose(step, full[t], atol=1e-5)
    chunk_cache = model.new_cache()  # a prefill, then a chunk of several tokens (explicit offset mask)
    model(ids[:, :3], chunk_cache)
    assert torch.allclose(model(ids[:, 3:], chunk_cache).logits[0], full[3:], atol=1e-5)


def test_attention_path_gives_the_same_logits(loaded):
    ids = torch.tensor([[7, 8, 9, 10, 11, 12]])
    fast = loaded.model(ids).logits
    slow = loaded.model(ids, return_attn=True)
    assert torch.allclose(fast, slow.logits, atol=1e-5)
    assert len(slow.attentions) == loaded.config.n_layer


def test_generation_slides_past_the_context(loaded):
    n = loaded.config.n_positions * 2 + 5  # the cache fills and slides twice
    cfg = SamplingConfig(max_new_tokens=n, temperature=1.0, seed=0, ignore_eos=True)
    steps = list(stream_tokens(loaded.model, loaded.tokenizer, [5, 6, 7], cfg))
    assert len(steps) == n
    assert all(0 <= s.token_id < loaded.config.vocab_size for s in steps)


def test_sampling_is_reproducible_with_a_seed(loaded):
    prompt = loaded.tokenizer.encode("To be")
    cfg = SamplingConfig(max_new_tokens=30, temperature=1.0, top_k=50, top_p=0.95, seed=1234, ignore_eos=True)
    a = generate_ids(loaded.model, loaded.tokenizer, prompt, cfg)
    b = generate_ids(loaded.model, loaded.tokenizer, prompt, cfg)
    c = generate_ids(loaded.model, loaded.tokenizer, prompt, SamplingConfig(**{**cfg.__dict__, "seed": 99}))
    assert a == b
    assert a != c


def test_steps_report_model_probabilities_and_top5(loaded):
    prompt = loaded.tokenizer.encode("the mind")
    steps = list(stream_tokens(loaded.model, loaded.tokenizer, prompt,
                               SamplingConfig(max_new_tokens=5, temperature=0, ignore_eos=True)))
    for s in steps:
        assert len(s.top) == 5
        probs = [p for _, p in s.top]
        assert probs == sorted(probs, reverse=True)
        assert math.isclose(s.prob, probs[0], rel_tol=1e-6)  # greedy picks the likeliest
        assert s.text == loaded.tokenizer.decode([s.token_id]) or s.text == ""
    text = "".join(s.text for s in steps)
    assert text == loaded.tokenizer.decode([s.token_id for s in steps])


def test_stops_at_end_of_text_unless_told_not_to(tiny):
    fresh = load_gpt_folder(tiny)
    model, eos = fresh.model, fresh.tokenizer.eos_id
    with torch.no_grad():  # push the final hidden state towards end-of-text's (tied) embedding
        model.ln_f.bias.copy_(model.wte.weight[eos] * 5000)
    steps = list(stream_tokens(model, fresh.tokenizer, [5, 6], SamplingConfig(max_new_tokens=10, temperature=0)))
    assert len(steps) == 1 and steps[0].eos and steps[0].text == ""
    steps = list(stream_tokens(model, fresh.tokenizer, [5, 6],
                               SamplingConfig(max_new_tokens=10, temperature=0, ignore_eos=True)))
    assert len(steps) == 10 and not any(s.eos for s in steps)


def test_top_k_keeps_exactly_the_k_largest():
    logits = torch.tensor([1.0, 5.0, 3.0, 4.0, 2.0])
    kept = filter_top_k(logits, 2)
    assert torch.isfinite(kept).tolist() == [False, True, False, True, False]
    assert torch.equal(filter_top_k(logits, 0), logits)


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = probs.log()
    assert torch.isfinite(filter_top_p(logits, 0.5)).tolist() == [True, False, False, False]
    assert torch.isfinite(filter_top_p(logits, 0.7)).tolist() == [True, True, False, False]
    assert torch.isfinite(filter_top_p(logits, 0.81)).tolist() == [True, True, True, False]
    assert torch.isfinite(filter_top_p(logits, 0.01)).tolist() == [True, False, False, False]
    assert torch.equal(filter_top_p(logits, 1.0), logits)


def test_filtered_sampling_never_leaves_the_allowed_set(loaded):
    prompt = [5, 6, 7]
    model, tok = loaded.model, loaded.tokenizer
    with torch.no_grad():
        allowed = set(torch.topk(model(torch.tensor([prompt])).logits[0, -1], 3).indices.tolist())
    for seed in range(20):
        first = generate_ids(model, tok, prompt, SamplingConfig(max_new_tokens=1, temperature=2.0, top_k=3, seed=seed))
        assert first[0] in allowed


@pytest.mark.parametrize(
    "change, message",
    [
        ({"temperature": float("nan")}, "temperature must be a finite number"),
        ({"temperature": -0.5}, "temperature must be between 0 and 5"),
        ({"temperature": 1e-45}, "temperature must be 0 \\(greedy\\) or at least 0.01"),
        ({"top_p": 0.0}, "top_p must be greater than 0"),
        ({"top_p": 1.5}, "top_p must be between 0 and 1"),
        ({"top_k": -1}, "top_k must be between 0 and"),
        ({"max_new_tokens": MAX_NEW_TOKENS_CAP + 1}, f"max_new_tokens must be between 1 and {MAX_NEW_TOKENS_CAP}"),
        ({"max_new_tokens": 0}, "max_new_tokens must be between 1"),
        ({"repetition_penalty": 0.0}, "repetition_penalty must be greater than 0"),
        ({"seed": 10**30}, "seed must be between 0 and 4294967295"),
        ({"ignore_eos": "false-ish"}, "ignore_eos must be true or false"),
    ],
)
def test_bad_sampling_settings_are_refused(change, message):
    with pytest.raises(BadInput, match=message):
        SamplingConfig(**change).validate()


def test_settings_from_a_page_are_cleaned_and_default_as_the_cli_does():
    from ganstudio.cli import build_parser

    cleaned = SamplingConfig(max_new_tokens=12.0, temperature="0.5", top_k=3.0, seed="").validate()  # slider floats, empty seed box
    assert (cleaned.max_new_tokens, cleaned.temperature, cleaned.top_k, cleaned.seed) == (12, 0.5, 3, None)
    cli = build_parser().parse_args(["generate", "--prompt", "x"])
    assert SamplingConfig() == SamplingConfig(cli.max_new_tokens, cli.temperature, cli.top_k, cli.top_p,
                                              cli.repetition_penalty, cli.seed, cli.ignore_eos)


def test_empty_prompt_is_refused(loaded):
    with pytest.raises(BadInput, match="prompt is empty"):
        encode_prompt(loaded.tokenizer, "", 64)


def test_long_prompt_is_cut_from_the_left(loaded):
    text = "to be or not to be " * 40
    prompt = encode_prompt(loaded.tokenizer, text, loaded.config.n_positions)
    full = loaded.tokenizer.encode(text)
    assert prompt.dropped == len(full) - loaded.config.n_positions > 0
    assert prompt.ids == full[prompt.dropped:]


# ---- the action and the CLI (through the engine) ---------------------------------------


def test_generate_stream_action_sends_each_token_once(tiny):
    from ganstudio.actions.text import generate_stream

    events = list(generate_stream(str(tiny), "To be", max_new_tokens=8, temperature=0.7, seed=5, ignore_eos=True))
    start, *tokens, end = events
    assert start["event"] == "start" and start["prompt"] == "To be" and start["token"]
    assert [e["event"] for e in tokens] == ["token"] * 8 and [e["count"] for e in tokens] == list(range(1, 9))
    assert end["event"] == "end" and end["stop_reason"] == "length"
    assert end["continuation"] == "".join(e["token"]["text"] for e in tokens)
    token = tokens[0]["token"]
    assert set(token) >= {"token_id", "text", "prob", "top5"} and len(token["top5"]) == 5
    again = list(generate_stream(str(tiny), "To be", max_new_tokens=8, temperature=0.7, seed=5, ignore_eos=True))
    assert again[-1]["continuation"] == end["continuation"]


def test_generate_stream_reports_a_cut_prompt(tiny):
    from ganstudio.actions.text import generate_stream

    first = next(generate_stream(str(tiny), "to be or not to be " * 40, max_new_tokens=2))
    assert "were cut" in first["note"]


def test_batched_generations_match_each_alone(tiny):
    """Continuous batching: rows of other prompts, lengths and settings decode together, token for token as alone."""
    from ganstudio.gpt.batch_decode import END, DecodeBatch

    loaded = load_gpt_folder(tiny)
    model, tok = loaded.model, loaded.tokenizer
    asks = [("To be", SamplingConfig(max_new_tokens=12, temperature=0, ignore_eos=True)),
            ("or not to be, that is", SamplingConfig(max_new_tokens=7, temperature=0.9, top_k=20, seed=1,
                                                      ignore_eos=True)),
            ("a", SamplingConfig(max_new_tokens=15, temperature=1.2, top_p=0.9, repetition_penalty=1.3, seed=2,
                                 ignore_eos=True))]
    alone = [[(s.token_id, s.prob) for s in stream_tokens(model, tok, tok.encode(p), c)] for p, c in asks]
    batch = DecodeBatch(model, tok)
    rows = [batch.add(tok.encode(p), c) for p, c in asks[:2]]
    got: list[list] = [[], [], []]
    batch.step()
    rows.append(batch.add(tok.encode(asks[2][0]), asks[2][1]))  # joins while the others decode
    while not batch.done:
        batch.step()
        for i, row in enumerate(rows):
            while not row.out.empty():
                item = row.out.get()
                if item is not END:
                    got[i].append((item.token_id, item.prob))
    assert [[t for t, _ in g] for g in got] == [[t for t, _ in a] for a in alone]
    for g, a in zip(got, alone):
        assert max(abs(p - q) for (_, p), (_, q) in zip(g, a)) < 1e-4
    assert batch.rows_stepped > batch.steps  # several rows per forward: it really batched


def _poisoned(tiny, dest, key: str, value: float):
    """A copy of the tiny model with Hub weight ``key`` filled with ``value``."""
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(tiny, dest)
    state = load_file(str(dest / "model.safetensors"))
    state[key] = torch.full_like(state[key], value)
    save_file(state, str(dest / "model.safetensors"))
    return dest


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_weights_that_are_not_finite_are_refused_at_load(tiny, tmp_path, value):
    folder = _poisoned(tiny, tmp_path / "poisoned-gpt", "transformer.h.0.attn.c_attn.weight", value)
    with pytest.raises(BadModel, match=r"^poisoned-gpt: weight h\.0\.attn\.c_attn\.weight holds NaN or infinite"):
        load_gpt_folder(folder)


def test_activations_that_overflow_end_the_generation_in_one_line(tiny, tmp_path, capsys):
    """Finite weights whose logits overflow to inf: the visitor's generation ends with one line naming the model
    (it was `RuntimeError: probability tensor contains either inf, nan or element < 0`)."""
    from ganstudio.actions.text import generate_stream
    from ganstudio.cli import main

    folder = _poisoned(tiny, tmp_path / "overflowing-gpt", "transformer.ln_f.weight", 3e38)
    for temperature in (0.8, 0):
        with pytest.raises(StudioError, match=r"^\S+overflowing-gpt computed NaN or infinite values"):
            list(generate_stream(str(folder), "To be", max_new_tokens=4, temperature=temperature))
    assert list(generate_stream(str(tiny), "To be", max_new_tokens=2))[-1]["count"] == 2  # others decode on
    assert main(["generate", "--model", str(folder), "--prompt", "To be", "--max-new-tokens", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "overflowing-gpt computed NaN or infinite values" in err[0], err


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"prompt": ""}, "prompt is empty"),
        ({"max_new_tokens": 2.5}, "max_new_tokens must be a whole number"),
        ({"seed": 1e30}, "seed must be between"),
        ({"prompt": 7}, "prompt must be text"),
        ({"seed": -1}, "seed must be between"),
        ({"temperature": "hot"}, "temperature must be a number"),
    ],
)
def test_generate_stream_bad_input(tiny, kwargs, message):
    from ganstudio.actions.text import generate_stream

    args = {"model": str(tiny), "prompt": "hi", **kwargs}
    with pytest.raises(BadInput, match=message):
        list(generate_stream(**args))


def test_cli_generate_prints_prompt_then_continuation(tiny, capsys):
    from ganstudio.cli import main

    code = main(["generate", "--model", str(tiny), "--prompt", "To be", "--max-new-tokens", "6",
                 "--temperature", "0", "--ignore-eos"])
    out = capsys.readouterr().out
    loaded = load_gpt_folder(tiny)
    ids = generate_ids(loaded.model, loaded.tokenizer, loaded.tokenizer.encode("To be"),
                       SamplingConfig(max_new_tokens=6, temperature=0, ignore_eos=True))
    assert code == 0
    assert out == "To be" + loaded.tokenizer.decode(ids) + "\n"


def test_cli_generate_bad_input_is_one_line(tiny, capsys):
    from ganstudio.cli import main

    assert main(["generate", "--model", str(tiny), "--prompt", "x", "--top-p", "2"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: top_p must be between 0 and 1, got 2"
