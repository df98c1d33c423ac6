"""Text generation with our GPT: which models there are, and a token-by-token stream for the UI and CLI.

Plain types in and out. Models load and run on the engine's worker; loaded models are cached
per spec (a few, least recently used dropped first), so the second request starts at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Callable, Iterator

from ganstudio import checks
from ganstudio.actions.visitors import session_of
from ganstudio.engine import get_engine
from ganstudio.gpt.generate import SamplingConfig, encode_prompt, stream_tokens
from ganstudio.gpt.load import LoadedGPT, load_gpt_folder, resolve_gpt
from ganstudio.hub import bundled_models
from ganstudio.limits import LIMITS
from ganstudio.sessions import SESSIONS, check_client_quota
from ganstudio.settings import SETTINGS

HUB_TEXT_MODELS = ("openai-community/gpt2", "distilbert/distilgpt2")  # load by name when the Hub is reachable
DEFAULT_MODEL = "shakespeare-gpt"
CACHE_MODELS = 2  # GPT-2 small is ~500 MB in float32; keep few
MAX_SEED = LIMITS.max_seed

_cache: OrderedDict[str, LoadedGPT] = OrderedDict()  # touched only on the engine worker


def list_text_models() -> list[str]:
    """Bundled GPT models first (they work offline), then the Hub ones."""
    bundled = sorted(name for name, meta in bundled_models().items() if meta.get("kind") == "gpt")
    if DEFAULT_MODEL in bundled:
        bundled.remove(DEFAULT_MODEL)
        bundled.insert(0, DEFAULT_MODEL)
    return bundled + [name for name in HUB_TEXT_MODELS if name not in bundled]


def loaded_gpt(spec: str, owner: str = "cli", progress: Callable[[str], None] | None = None) -> LoadedGPT:
    """The model for ``spec`` (bundled name, folder or Hub id), loaded once on the worker and cached.

    A Hub download happens here, on the caller's thread (``progress`` gets its lines), so it never
    holds the worker that every session shares. For the actions layer only: the result holds torch
    modules that only the worker may run.
    """
    spec = checks.text("model", spec, LIMITS.max_name_chars,
                       empty="no model given: pick one from the list or type a Hub id such as openai-community/gpt2")
    spec = spec.strip()
    engine = get_engine()
    folder = None if spec in _cache else resolve_gpt(spec, progress, allow_paths=SETTINGS.allow_paths)

    def load() -> LoadedGPT:
        if spec in _cache:
            _cache.move_to_end(spec)
            return _cache[spec]
        loaded = load_gpt_folder(folder, name=spec, device=engine.device)
        _cache[spec] = loaded
        while len(_cache) > CACHE_MODELS:
            _cache.popitem(last=False)
        return loaded

    return engine.run(load, owner=owner)


def sampling_config(max_new_tokens: Any = 100, temperature: Any = 0.8, top_k: Any = 40, top_p: Any = 1.0,
                    repetition_penalty: Any = 1.0, seed: Any = None, ignore_eos: Any = False) -> SamplingConfig:
    """Coerce UI/API values (sliders give floats, an empty seed box gives None) and validate them."""
    return SamplingConfig.from_values(max_new_tokens, temperature, top_k, top_p, repetition_penalty, seed, ignore_eos)


def generate_stream(
    model: str,
    prompt: str,
    max_new_tokens: int = 100,
    temperature: float = 0.8,
    top_k: int = 40,
    top_p: float = 1.0,
    repetition_penalty: float = 1.0,
    seed: int | None = None,
    ignore_eos: bool = False,
    owner: str = "cli",
    progress: Callable[[str], None] | None = None,
) -> Iterator[dict]:
    """Generate a continuation of ``prompt``, yielding the whole state after every token.

    Each state: ``model``, ``prompt``, ``text`` (prompt + continuation so far), ``continuation``,
    ``tokens`` (one dict per new token: ``token_id``, ``text``, ``prob`` (the model's probability
    of it), ``top5`` ([text, prob] pairs, the model's likeliest choices at that step), ``eos``),
    ``note`` (non-empty when the prompt was cut to fit the context), ``done``, ``stop_reason``
    (``"eos"`` | ``"length"`` | ``"stopped"`` once done), ``tokens_per_s``. The first state has no
    tokens yet. Closing the iterator stops the generation on the worker. ``progress`` receives
    download lines when the model comes from the Hub.
    """
    cfg = sampling_config(max_new_tokens, temperature, top_k, top_p, repetition_penalty, seed, ignore_eos)
    prompt = checks.text("prompt", prompt, LIMITS.max_prompt_chars, empty="the prompt is empty: type a few words to continue")
    check_client_quota(SESSIONS, session_of(owner), _live_streams, SETTINGS.streams_per_client, "generations")
    loaded = loaded_gpt(model, owner, progress)
    n_positions = loaded.config.n_positions
    encoded = encode_prompt(loaded.tokenizer, prompt, n_positions)
    note = ""
    if encoded.dropped:
        note = (f"The prompt is {encoded.dropped + len(encoded.ids)} tokens, longer than the model's "
                f"{n_positions}-token context: its first {encoded.dropped} tokens were cut.")
    state: dict = {
        "model": str(model).strip(), "prompt": prompt, "text": prompt, "continuation": "", "tokens": [],
        "prompt_tokens": len(encoded.ids), "note": note, "done": False, "stop_reason": None, "tokens_per_s": 0.0,
    }
    yield dict(state)
    steps = get_engine().stream(lambda: stream_tokens(loaded.model, loaded.tokenizer, encoded.ids, cfg), owner=owner)
    tokens: list[dict] = []
    continuation = ""
    start = time.perf_counter()
    stop_reason = "stopped"
    try:
        for step in steps:
            token = step.as_dict()
            token["top5"] = [[text, prob] for text, prob in token["top5"]]
            tokens.append(token)
            continuation += step.text
            elapsed = time.perf_counter() - start
            state.update(text=prompt + continuation, continuation=continuation, tokens=list(tokens),
                         tokens_per_s=len(tokens) / elapsed if elapsed > 0 else 0.0)
            if step.eos:
                stop_reason = "eos"
            elif len(tokens) == cfg.max_new_tokens:
                stop_reason = "length"
            yield dict(state)
    finally:
        steps.close()
    state.update(done=True, stop_reason=stop_reason)
    yield dict(state)




def _live_streams(session) -> int:
    return sum(1 for job in get_engine().jobs_of(session.id) if job.kind == "stream" and not job.finished)
