"""The Text tab's next-token chart: what the model expects after the prompt, as the sampling settings reshape it.

The prompt's logits are computed once on the engine's worker and kept in the visitor's session, keyed by the
model (its weights' version) and the prompt; moving temperature, top-k or top-p then only re-filters them here,
with the sampler's own functions (``gpt.sampling.next_token_chart``), without another model call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ganstudio import checks
from ganstudio.actions.model_cache import key_of
from ganstudio.actions.text import loaded_gpt, sampling_config
from ganstudio.actions.visitors import session_of
from ganstudio.engine import get_engine
from ganstudio.gpt.generate import encode_prompt
from ganstudio.gpt.sampling import (
    apply_repetition_penalty,
    next_token_chart,
    sampling_logits,
)
from ganstudio.limits import LIMITS

CHART_TOKENS = 10  # bars in the chart: the model's likeliest next tokens


def prompt_chart(model: str, prompt: str, temperature: Any = 0.8, top_k: Any = 40, top_p: Any = 1.0,
                 repetition_penalty: Any = 1.0, owner: str = "cli",
                 progress: Callable[[str], None] | None = None) -> dict:
    """The next token after ``prompt`` as the sampler would draw it: ``rows`` (see ``next_token_chart``, the
    ``CHART_TOKENS`` likeliest by the model), ``kept`` (how many tokens of the whole vocabulary survive top-k
    and top-p), ``vocab``, ``prompt_tokens`` and ``settings`` (the checked values, echoed for the title)."""
    cfg = sampling_config(1, temperature, top_k, top_p, repetition_penalty)
    prompt = checks.text("prompt", prompt, LIMITS.max_prompt_chars, empty="the prompt is empty: type a few words to continue")
    loaded = loaded_gpt(model, owner, progress)
    session = session_of(owner)
    key = (key_of("gpt", loaded.folder), prompt)
    cached = session.next_token
    if cached is None or cached["key"] != key:
        encoded = encode_prompt(loaded.tokenizer, prompt, loaded.config.n_positions)

        def last_logits() -> torch.Tensor:  # on the worker: one forward over the prompt
            device = loaded.model.wte.weight.device
            with torch.inference_mode():
                out = loaded.model(torch.tensor([encoded.ids], device=device), last_only=True)
            return out.logits[0, -1].float().cpu()  # (vocab,)

        cached = {"key": key, "ids": list(encoded.ids), "logits": get_engine().run(last_logits, owner=owner)}
        session.next_token = cached
    logits = cached["logits"]
    if cfg.repetition_penalty != 1.0:  # as the decoder does: the prompt's tokens count as seen
        seen = torch.zeros_like(logits, dtype=torch.bool)
        seen[torch.tensor(cached["ids"])] = True
        logits = apply_repetition_penalty(logits, seen, cfg.repetition_penalty)
    rows = next_token_chart(logits, cfg, loaded.tokenizer.piece, CHART_TOKENS)
    kept = 1 if cfg.temperature == 0 else int(sampling_logits(logits, cfg).isfinite().sum())
    return {"rows": rows, "kept": kept, "vocab": int(logits.numel()), "prompt_tokens": len(cached["ids"]),
            "settings": {"temperature": cfg.temperature, "top_k": cfg.top_k, "top_p": cfg.top_p,
                         "repetition_penalty": cfg.repetition_penalty}}
