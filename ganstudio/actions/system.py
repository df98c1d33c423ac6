"""Studio-wide actions: what the page header shows."""

from __future__ import annotations

from ganstudio.engine import get_engine
from ganstudio.hub import bundled_models


def status() -> dict:
    """Device and bundled models, for the page header."""
    engine = get_engine()
    return {"device": str(engine.device), "bundled": sorted(bundled_models())}


def engine_stats() -> dict:
    """How much work shared a forward pass: interactive batches and decode-group steps (numbers only)."""
    engine = get_engine()
    return {**engine.batch_stats, **{f"decode_{k}": v for k, v in engine.decode_stats().items()},
            "live_generations": engine.live_streams()}
