"""Our GPT against HF transformers' GPT2LMHeadModel on the same Hub-format weights; loading errors."""

from __future__ import annotations

import json

import pytest
import torch
from test_gpt_helpers import make_hub_model

from ganstudio.errors import BadModel
from ganstudio.gpt.generate import SamplingConfig, generate_ids
from ganstudio.gpt.load import load_gpt_folder, ours_to_hub

transformers = pytest.importorskip("transformers")
torch.set_num_threads(1)

IDS = [[5, 17, 42, 99, 3, 250, 7, 1, 64, 128, 200, 11]]


@pytest.mark.parametrize(
    "activation, prefix, n_inner, buffers",
    [
        ("gelu_new", True, None, False),
        ("relu", False, 48, True),
        ("gelu", True, 80, True),
        ("gelu_new", False, None, False),
    ],
)
def test_logits_match_transformers(tmp_path, activation, prefix, n_inner, buffers):
    hf = make_hub_model(tmp_path, activation=activation, prefix=prefix, n_inner=n_inner, buffers=buffers)
    ours = load_gpt_folder(tmp_path).model
    idx = torch.tensor(IDS)
    with torch.no_grad():
        expected = hf(idx).logits
    got = ours(idx).logits
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-4), (got - expected).abs().max()


@pytest.mark.parametrize("penalty", [1.0, 1.3])
def test_greedy_generation_matches_transformers(tmp_path, penalty):
    hf = make_hub_model(tmp_path, seed=3)
    loaded = load_gpt_folder(tmp_path)
    prompt = loaded.tokenizer.encode("To be, or not")
    n = 40  # runs past nothing: context is 64, prompt ~5 tokens
    with torch.no_grad():
        hf_out = hf.generate(torch.tensor([prompt]), max_new_tokens=n, do_sample=False, eos_token_id=None,
                             repetition_penalty=penalty,
                             pad_token_id=0, attention_mask=torch.ones(1, len(prompt), dtype=torch.long))
    ours = generate_ids(loaded.model, loaded.tokenizer, prompt,
                        SamplingConfig(max_new_tokens=n, temperature=0, ignore_eos=True, repetition_penalty=penalty))
    assert ours == hf_out[0, len(prompt):].tolist()


def test_saved_weights_load_in_transformers(tmp_path):
    make_hub_model(tmp_path / "src", activation="gelu_new")
    ours = load_gpt_folder(tmp_path / "src").model
    from safetensors.torch import save_file

    out = tmp_path / "out"
    out.mkdir()
    save_file(ours_to_hub(ours), str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps(ours.config.to_hub()))
    hf = transformers.GPT2LMHeadModel.from_pretrained(out).eval()
    idx = torch.tensor(IDS)
    with torch.no_grad():
        assert torch.allclose(hf(idx).logits, ours(idx).logits, atol=1e-4)


def test_missing_and_unexpected_keys_are_bad_model(tmp_path):
    from safetensors.torch import load_file, save_file

    make_hub_model(tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    state.pop("transformer.h.1.mlp.c_fc.bias")
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(BadModel, match="missing 1 key"):
        load_gpt_folder(tmp_path)
    state["transformer.h.1.mlp.c_fc.bias"] = torch.zeros(128)
    state["transformer.h.9.extra"] = torch.zeros(1)
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(BadModel, match="unexpected 1 key"):
        load_gpt_folder(tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"activation_function": "swish"}, "unsupported activation 'swish'"),
        ({"model_type": "llama"}, "not a GPT-2 model"),
        ({"n_embd": 30}, "shape mismatch|not divisible"),
    ],
)
def test_bad_configs_are_refused(tmp_path, change, message):
    make_hub_model(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg.update(change)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BadModel, match=message):
        load_gpt_folder(tmp_path)


def test_missing_tokenizer_is_bad_model(tmp_path):
    make_hub_model(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    with pytest.raises(BadModel, match="missing tokenizer"):
        load_gpt_folder(tmp_path)


def test_vocab_and_merges_tokenizer_is_accepted(tmp_path):
    make_hub_model(tmp_path)
    from test_gpt_helpers import tiny_tokenizer

    tiny_tokenizer().save_model(str(tmp_path))  # vocab.json + merges.txt
    (tmp_path / "tokenizer.json").unlink()
    loaded = load_gpt_folder(tmp_path)
    assert loaded.tokenizer.decode(loaded.tokenizer.encode("to be or not")) == "to be or not"
    assert loaded.tokenizer.eos_id == 0


def test_loads_by_hub_id_with_its_tokenizer(tmp_path, hub_server):
    from ganstudio.gpt.load import load_gpt

    hf = make_hub_model(tmp_path / "src", prefix=False)
    files = {p.name: p.read_bytes() for p in (tmp_path / "src").iterdir()}
    hub_server.add_repo("community/tiny-gpt2", {"main": files})
    lines: list[str] = []
    loaded = load_gpt("community/tiny-gpt2", progress=lines.append)
    assert (loaded.folder / "tokenizer.json").is_file()
    idx = torch.tensor(IDS)
    with torch.no_grad():
        assert torch.allclose(loaded.model(idx).logits, hf(idx).logits, atol=1e-4)


def test_text_action_downloads_off_the_worker_and_reports_progress(tmp_path, hub_server, monkeypatch):
    import threading

    from ganstudio import hub_transfer
    from ganstudio.actions import text

    monkeypatch.setattr(hub_transfer, "PERCENT_FROM_BYTES", 0)  # report even this tiny model's download

    make_hub_model(tmp_path / "src", prefix=True)
    hub_server.add_repo("community/tiny-gpt2-stream", {"main": {p.name: p.read_bytes() for p in (tmp_path / "src").iterdir()}})
    threads: set[str] = set()
    lines: list[str] = []

    def progress(line):
        threads.add(threading.current_thread().name)
        lines.append(line)

    events = list(text.generate_stream("community/tiny-gpt2-stream", "hello", max_new_tokens=3, temperature=0,
                                       ignore_eos=True, owner="t", progress=progress))
    assert events[-1]["count"] == 3
    assert any("model.safetensors" in line for line in lines)
    assert "ganstudio-engine" not in threads  # a download never holds the shared worker
