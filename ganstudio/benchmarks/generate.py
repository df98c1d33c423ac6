"""Text generation speed: our GPT vs HF transformers' `generate` on the same checkpoint.

Greedy decoding of the same number of new tokens (end-of-text ignored), same prompt, same
torch threads, best of a few runs, prefill included. When transformers is not installed only
our numbers are reported. `--model` picks the checkpoint (default: the bundled Shakespeare GPT).
"""

from __future__ import annotations

import sys
import time

import torch

from ganstudio.gpt.generate import SamplingConfig, stream_tokens
from ganstudio.gpt.load import OPTIONAL_FILES, REQUIRED_FILES, load_gpt_folder

DEFAULT_MODEL = "shakespeare-gpt"
PROMPT = "ROMEO.\nBut soft, what light through yonder window breaks?"
NEW_TOKENS = 200  # long enough that per-token cost dominates, short enough for a 256-token context
RUNS = 3


def _ours(loaded, prompt_ids: list[int], n: int) -> float:
    cfg = SamplingConfig(max_new_tokens=n, temperature=0.0, ignore_eos=True)
    start = time.perf_counter()
    count = sum(1 for _ in stream_tokens(loaded.model, loaded.tokenizer, prompt_ids, cfg))
    elapsed = time.perf_counter() - start
    assert count == n
    return n / elapsed


def _through_engine(spec: str, prompt: str, n: int) -> float:
    from ganstudio.actions.text import generate_stream, loaded_gpt

    loaded_gpt(spec, owner="bench")  # loading is not generation: cache the model first
    start, last = time.perf_counter(), None
    for last in generate_stream(spec, prompt, max_new_tokens=n, temperature=0.0, ignore_eos=True, owner="bench"):
        pass
    return last["count"] / (time.perf_counter() - start)


def _hf_model(folder):
    try:
        import transformers
    except ImportError:
        return None
    transformers.logging.set_verbosity_error()
    # float32 like ours, whatever the file holds (the bundled one stores float16)
    model = transformers.GPT2LMHeadModel.from_pretrained(folder, dtype=torch.float32).eval()
    model.generation_config.eos_token_id = None  # the same fixed length as ours
    model.generation_config.pad_token_id = 0
    return model


def _hf(model, prompt_ids: list[int], n: int) -> tuple[float, list[int]]:
    ids = torch.tensor([prompt_ids])
    with torch.inference_mode():
        start = time.perf_counter()
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n,
                             do_sample=False)
        rate = n / (time.perf_counter() - start)
    return rate, out[0, len(prompt_ids):].tolist()


def run(args) -> dict:
    from ganstudio.hub import resolve

    spec = getattr(args, "model", None) or DEFAULT_MODEL
    folder = resolve(spec, files=REQUIRED_FILES, optional=OPTIONAL_FILES)
    loaded = load_gpt_folder(folder, name=spec)
    prompt_ids = loaded.tokenizer.encode(PROMPT)
    n = max(1, min(NEW_TOKENS, loaded.config.n_positions - len(prompt_ids)))  # HF refuses to run past the context
    print(f"benchmarking {spec}: {n} new tokens, {torch.get_num_threads()} threads", file=sys.stderr)
    hf_model = _hf_model(folder)
    _ours(loaded, prompt_ids, min(n, 8))  # warm-up
    ours, hf = [], []
    for _ in range(RUNS):  # interleaved, so a noisy neighbour slows both alike
        ours.append(_ours(loaded, prompt_ids, n))
        if hf_model is not None:
            hf.append(_hf(hf_model, prompt_ids, n))
    result = {
        "model": spec,
        "new_tokens": n,
        "threads": torch.get_num_threads(),
        "ours_tokens_per_s": round(max(ours), 1),
        "ours_via_engine_tokens_per_s": round(_through_engine(spec, PROMPT, n), 1),
    }
    if hf:
        hf_rate = max(rate for rate, _ in hf)
        greedy = [s.token_id for s in stream_tokens(loaded.model, loaded.tokenizer, prompt_ids,
                                                    SamplingConfig(max_new_tokens=n, temperature=0.0, ignore_eos=True))]
        result.update(
            hf_tokens_per_s=round(hf_rate, 1),
            ratio_ours_to_hf=round(max(ours) / hf_rate, 2),
            same_greedy_tokens=greedy == hf[0][1],
        )
    return result
