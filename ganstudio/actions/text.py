"""Text generation with our GPT: which models there are, and a token-by-token stream for the UI and CLI.

Plain types in and out. Models load and run on the engine's worker; loaded models live in the one
model cache (``model_cache.MODELS``, keyed by the weights' version), so the second request starts at once.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

from ganstudio import checks
from ganstudio.actions.model_cache import MODELS, key_of
from ganstudio.actions.visitors import session_of
from ganstudio.engine import get_engine
from ganstudio.gpt.batch_decode import DecodeBatch
from ganstudio.gpt.generate import SamplingConfig, encode_prompt
from ganstudio.gpt.load import LoadedGPT, load_gpt_folder, resolve_gpt
from ganstudio.hub import bundled_models
from ganstudio.hub_download import hub_reachable
from ganstudio.limits import LIMITS
from ganstudio.sessions import SESSIONS
from ganstudio.shared import SHARED
from ganstudio.settings import SETTINGS

HUB_TEXT_MODELS = ("openai-community/gpt2", "distilbert/distilgpt2")  # load by name when the Hub is reachable
DEFAULT_MODEL = "shakespeare-gpt"
MAX_SEED = LIMITS.max_seed
PACES = {"readable": 12.0, "full speed": 0.0}  # tokens a second the reader takes (0 = as fast as they come); 12: a pace
# a person can read along with. The decode group only steps a row whose reader has room (backpressure), so a paced
# reader never holds the worker: other visitors' rows decode in the meantime.


def list_text_models() -> list[str]:
    """GPT-2 first where the Hub answers (a Space, or any machine online): it downloads once, with progress.
    Offline, the bundled model first: it works without a network."""
    bundled = sorted(name for name, meta in bundled_models().items() if meta.get("kind") == "gpt")
    if DEFAULT_MODEL in bundled:
        bundled.remove(DEFAULT_MODEL)
        bundled.insert(0, DEFAULT_MODEL)
    hub = [name for name in HUB_TEXT_MODELS if name not in bundled]
    return hub + bundled if hub_reachable(HUB_TEXT_MODELS[0]) else bundled + hub


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
    folder = MODELS.folder_for("gpt", spec, lambda: resolve_gpt(spec, progress, allow_paths=SETTINGS.allow_paths))
    key = key_of("gpt", folder)
    loaded = MODELS.get(key)
    if loaded is not None:
        return loaded
    return engine.run(lambda: MODELS.get_or_load(key, lambda: load_gpt_folder(folder, name=spec, device=engine.device)),
                      owner=owner)


def sampling_config(max_new_tokens: Any = 100, temperature: Any = 0.8, top_k: Any = 40, top_p: Any = 1.0,
                    repetition_penalty: Any = 1.0, seed: Any = None, ignore_eos: Any = False) -> SamplingConfig:
    """Coerce UI/API values (sliders give floats, an empty seed box gives None) and validate them."""
    return SamplingConfig(max_new_tokens, temperature, top_k, top_p, repetition_penalty, seed, ignore_eos).validate()


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
    pace: Any = "full speed",
) -> Iterator[dict]:
    """Generate a continuation of ``prompt``, as events that carry only what is new:

    * ``{"event": "start", "model", "prompt", "prompt_tokens", "note"}`` — ``note`` is non-empty when the
      prompt was cut to fit the context;
    * ``{"event": "token", "token": {"token_id", "text", "prob", "top5": [[text, prob], ...], "eos"}, "count",
      "tokens_per_s"}`` — one per new token, as the model makes it (``prob``: the model's probability of it,
      ``top5``: its likeliest choices at that step);
    * ``{"event": "end", "stop_reason": "eos" | "length" | "stopped", "count", "tokens_per_s", "continuation"}``.

    The generation decodes in its model's decode group, batched with everyone else's (continuous
    batching). Closing the iterator, or ``stop_generation(owner)``, ends it at the group's next step.
    ``progress`` receives download lines when the model comes from the Hub. ``pace`` (a ``PACES`` name) is how fast
    tokens are handed out: "readable" takes them at ~12 a second, "full speed" as the model makes them.
    """
    cfg = sampling_config(max_new_tokens, temperature, top_k, top_p, repetition_penalty, seed, ignore_eos)
    per_s = PACES[checks.choice("pace", pace, PACES)]
    prompt = checks.text("prompt", prompt, LIMITS.max_prompt_chars, empty="the prompt is empty: type a few words to continue")
    with SESSIONS.client_slot(session_of(owner), "generations", SETTINGS.streams_per_client):  # until it ends
        yield from _generate(model, prompt, cfg, owner, progress, per_s)


def _generate(model: str, prompt: str, cfg: SamplingConfig, owner: str,
              progress: Callable[[str], None] | None, per_s: float) -> Iterator[dict]:
    loaded = loaded_gpt(model, owner, progress)
    n_positions = loaded.config.n_positions
    encoded = encode_prompt(loaded.tokenizer, prompt, n_positions)
    note = ""
    if encoded.dropped:
        note = (f"The prompt is {encoded.dropped + len(encoded.ids)} tokens, longer than the model's "
                f"{n_positions}-token context: its first {encoded.dropped} tokens were cut.")
    record = {"token": SESSIONS.new_token(session_of(owner)), "tokens": [], "done": False, "stop_reason": None,
              "tokens_per_s": 0.0, "note": note}  # this visitor's latest generation, for the page to catch up from
    session_of(owner).generation = record
    yield {"event": "start", "model": str(model).strip(), "prompt": prompt, "prompt_tokens": len(encoded.ids),
           "note": note, "token": record["token"]}
    engine = get_engine()
    row = engine.decode(("gpt", str(model).strip(), id(loaded.model)),
                        lambda: DecodeBatch(loaded.model, loaded.tokenizer, name=loaded.name), encoded.ids, cfg,
                        owner)
    count, stop_reason, pieces = 0, "stopped", []
    start = time.perf_counter()
    try:
        for step in row.tokens():
            if per_s:  # the reader waits here, not the worker: the row sits out steps once its queue is full
                time.sleep(max(0.0, start + count / per_s - time.perf_counter()))
            count += 1
            token = step.as_dict()
            token["top5"] = [[text, prob] for text, prob in token["top5"]]
            pieces.append(step.text)
            if step.eos:
                stop_reason = "eos"
            elif count == cfg.max_new_tokens:
                stop_reason = "length"
            record["tokens"].append(token)
            record["tokens_per_s"] = _rate(count, start)
            yield {"event": "token", "token": token, "count": count, "tokens_per_s": record["tokens_per_s"]}
    finally:
        row.close()
        record.update(done=True, stop_reason=stop_reason)
    yield {"event": "end", "stop_reason": stop_reason, "count": count, "tokens_per_s": _rate(count, start),
           "continuation": "".join(pieces)}


def tokens_since(token: Any, index: Any) -> dict | None:
    """A page catching up: the tokens of the generation ``token`` names from ``index`` on, and whether it ended."""
    if not isinstance(token, str) or not 8 <= len(token) <= 64:
        return None
    record = SESSIONS.generation_with_token(token) or SHARED.generation(token)
    if record is None:
        return None
    try:
        index = max(0, int(index))
    except (TypeError, ValueError):
        index = 0
    return {"token": token, "start": index, "tokens": record["tokens"][index:], "done": record["done"],
            "stop_reason": record["stop_reason"], "count": len(record["tokens"]),
            "tokens_per_s": record["tokens_per_s"]}


def share_generation(owner: str) -> bool:
    """The visitor shares a link to their result: keep their finished generation for pages that open it (after
    their session ends too). False when there is none to keep."""
    record = session_of(owner).generation
    if record is None or not record["done"]:
        return False
    SHARED.publish_generation(record)
    return True


def stop_generation(owner: str) -> int:
    """End this visitor's generations at their decode group's next step; returns how many were live."""
    live = get_engine().live_streams(owner)
    get_engine().stop_streams(owner)
    return live


def _rate(count: int, start: float) -> float:
    elapsed = time.perf_counter() - start
    return count / elapsed if elapsed > 0 else 0.0
