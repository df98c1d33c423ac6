"""Text generation speed: our GPT vs HF transformers' `generate` on the same checkpoint.

Greedy decoding of the same number of new tokens (end-of-text ignored), same prompt, same
torch threads, best of a few runs, prefill included. When transformers is not installed only
our numbers are reported. `--model` picks the checkpoint (default: the bundled Shakespeare GPT);
`--model gpt2-small-shape` builds a GPT-2-small-shaped one (12 x 768, 50,257 tokens, 124 M parameters,
float32, seeded random weights: speed does not depend on what they learnt) in a temporary folder.

Where the one-token step compiles (``gpt/compiled_decode``: the GPT-2-small shape, a C++ compiler on the PATH),
it is compiled first and timed (``compile_s``); ``ours_eager_tokens_per_s`` is the same decoding kept eager, what a
machine without a compiler gets, timed in turn with the others.

The memory-bandwidth floor is timed in the same run: one matrix-vector product over every weight
matrix a token reads (the blocks' four projections and the tied output layer), i.e. what a token
would cost if nothing else did; `fraction_of_floor` is our rate over the quickest single pass, and
`fraction_of_sustained_floor` over the best run of as many passes as tokens (a run's 200 tokens average over
seconds of memory traffic, a single pass over milliseconds: the second compares like with like).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

from ganstudio.gpt import compiled_decode
from ganstudio.gpt.generate import SamplingConfig, stream_tokens
from ganstudio.gpt.load import OPTIONAL_FILES, REQUIRED_FILES, load_gpt_folder, save_gpt

DEFAULT_MODEL = "shakespeare-gpt"
GPT2_SMALL_SHAPE = "gpt2-small-shape"
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


def _gpt2_small_shape(folder: Path) -> Path:
    """A GPT-2-small-shaped checkpoint with seeded random weights (and the bundled tokenizer: its ids fit)."""
    from ganstudio.gpt.config import GPTConfig
    from ganstudio.gpt.model import GPT
    from ganstudio.settings import SETTINGS

    model = GPT(GPTConfig(eos_token_id=0, bos_token_id=0))
    model.initialise(torch.Generator().manual_seed(0))
    tokenizer_json = (SETTINGS.weights_dir / DEFAULT_MODEL / "tokenizer.json").read_text(encoding="utf-8")
    return save_gpt(folder / GPT2_SMALL_SHAPE, model, tokenizer_json, card="GPT-2-small shape, random weights")


@torch.inference_mode()
def bandwidth_floor(model, passes: int = 1) -> float:
    """Tokens/s if a token cost only one matrix-vector product over every weight matrix it reads: the best of
    a few timings of ``passes`` passes in a row (1: the quickest single pass; as many as a run's tokens: the
    rate the memory sustains over as long as a run, the like-for-like figure)."""
    weights = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]  # lm_head (tied to wte) too
    vectors = [torch.randn(w.shape[1]) for w in weights]
    best = float("inf")
    for _ in range(RUNS * 5 if passes == 1 else RUNS):
        start = time.perf_counter()
        for _ in range(passes):
            for w, v in zip(weights, vectors):
                torch.mv(w, v)
        best = min(best, time.perf_counter() - start)
    return passes / best


def run(args) -> dict:
    from ganstudio.hub import resolve

    spec = getattr(args, "model", None) or DEFAULT_MODEL
    if spec == GPT2_SMALL_SHAPE:
        with tempfile.TemporaryDirectory() as tmp:
            return _run(spec, _gpt2_small_shape(Path(tmp)), engine=False)
    return _run(spec, resolve(spec, files=REQUIRED_FILES, optional=OPTIONAL_FILES), engine=True)


def _run(spec: str, folder: Path, engine: bool) -> dict:
    loaded = load_gpt_folder(folder, name=spec)
    prompt_ids = loaded.tokenizer.encode(PROMPT)
    n = max(1, min(NEW_TOKENS, loaded.config.n_positions - len(prompt_ids)))  # HF refuses to run past the context
    print(f"benchmarking {spec}: {n} new tokens, {torch.get_num_threads()} threads", file=sys.stderr)
    hf_model = _hf_model(folder)
    compiled_decode.start(loaded.model)
    compiled, compile_s = compiled_decode.wait(loaded.model)
    _ours(loaded, prompt_ids, min(n, 8))  # warm-up
    ours, eager, hf = [], [], []
    for _ in range(RUNS):  # interleaved, so a noisy neighbour slows all alike
        ours.append(_ours(loaded, prompt_ids, n))
        if compiled:
            with compiled_decode.eager():
                eager.append(_ours(loaded, prompt_ids, n))
        if hf_model is not None:
            hf.append(_hf(hf_model, prompt_ids, n))
    floor, sustained = bandwidth_floor(loaded.model), bandwidth_floor(loaded.model, passes=n)
    result = {
        "model": spec,
        "new_tokens": n,
        "threads": torch.get_num_threads(),
        "ours_tokens_per_s": round(max(ours), 1),
        "compiled": compiled,
        "compile_s": round(compile_s, 1),
        "ours_eager_tokens_per_s": round(max(eager or ours), 1),
        "floor_tokens_per_s": round(floor, 1),
        "fraction_of_floor": round(max(ours) / floor, 2),
        "sustained_floor_tokens_per_s": round(sustained, 1),
        "fraction_of_sustained_floor": round(max(ours) / sustained, 2),
    }
    if engine:
        result["ours_via_engine_tokens_per_s"] = round(_through_engine(spec, PROMPT, n), 1)
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
