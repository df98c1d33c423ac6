"""Studio-wide actions: what the header shows, and cleaning up after a browser session."""

from __future__ import annotations

import importlib

from ganstudio.engine import get_engine
from ganstudio.hub import bundled_models

# Action modules that keep per-session state expose `forget_session(owner)`.
SESSION_MODULES = ("ganstudio.actions.train", "ganstudio.actions.explore", "ganstudio.actions.text")


def status() -> dict:
    """Device and bundled models, for the page header."""
    engine = get_engine()
    return {"device": str(engine.device), "bundled": sorted(bundled_models())}


def end_session(owner: str) -> int:
    """A browser session ended: cancel its jobs, free its memory and forget its state."""
    cancelled = get_engine().cancel_owner(owner)
    for name in SESSION_MODULES:
        module = importlib.import_module(name)
        forget = getattr(module, "forget_session", None)
        if forget is not None:
            forget(owner)
    return cancelled
