"""The compiled one-token step: the tokens eager decoding gives, eager decoding where no compiler is found, and
no compiling for a small model, in a one-off generation, or on a visitor's token."""

from __future__ import annotations

import pytest
import torch
from test_gpt_helpers import make_hub_model

from ganstudio.gpt import compiled_decode
from ganstudio.gpt.batch_decode import DecodeBatch
from ganstudio.gpt.generate import generate_ids
from ganstudio.gpt.load import load_gpt_folder
from ganstudio.gpt.sampling import SamplingConfig

pytest.importorskip("transformers")  # make_hub_model builds its random checkpoint with it
GREEDY = SamplingConfig(max_new_tokens=40, temperature=0, ignore_eos=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-gpt")
    make_hub_model(folder, seed=3)
    return folder


def test_a_small_model_or_a_one_off_generation_never_starts_compiling(folder):
    loaded = load_gpt_folder(folder)
    DecodeBatch(loaded.model, loaded.tokenizer)  # a long-lived group, but 2 x 32 is far below the bar
    generate_ids(loaded.model, loaded.tokenizer, [5, 6, 7], GREEDY)
    assert compiled_decode.wait(loaded.model) == (False, 0.0)


@pytest.mark.slow  # compiling even a tiny model takes 10-40 s of CPU on 2 cores (less once inductor's cache holds it)
@pytest.mark.skipif(not compiled_decode.compiler_available(), reason="no C++ compiler for inductor")
def test_without_a_compiler_decoding_stays_eager_with_the_compiled_tokens(folder, monkeypatch):
    compiled, eager = load_gpt_folder(folder), load_gpt_folder(folder)  # the same weights twice
    compiled_decode.start(compiled.model, force=True)  # a tiny model compiles in seconds
    assert compiled_decode.wait(compiled.model, timeout=120)[0]
    monkeypatch.setattr(compiled_decode, "compiler_available", lambda: False)
    compiled_decode.start(eager.model, force=True)
    assert compiled_decode.wait(eager.model) == (False, 0.0)

    graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    for prompt in ([5, 6, 7], list(range(10, 30))):  # two lengths and cache sizes: one kernel serves both
        assert generate_ids(compiled.model, compiled.tokenizer, prompt, GREEDY) == \
            generate_ids(eager.model, eager.tokenizer, prompt, GREEDY)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == graphs  # nothing compiled on a token

    with torch.inference_mode():
        cfg, token = compiled.model.config, torch.tensor(9)
        buffers = [[torch.randn(cfg.n_head, 16, cfg.n_embd // cfg.n_head) for _ in range(cfg.n_layer)] for _ in range(2)]
        fast = compiled_decode.step(compiled.model, token, 12, *buffers)
        slow = compiled_decode.step(eager.model, token, 12, *buffers)
    assert torch.allclose(fast, slow, rtol=1e-4, atol=1e-5)
