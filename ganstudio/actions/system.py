"""Studio-wide actions: what the page header shows."""

from __future__ import annotations

from ganstudio.engine import get_engine
from ganstudio.hub import bundled_models


def status() -> dict:
    """Device and bundled models, for the page header."""
    engine = get_engine()
    return {"device": str(engine.device), "bundled": sorted(bundled_models())}
