"""What every tab shares: who is asking, and how model work is scheduled."""

from __future__ import annotations

import gradio as gr

from ganstudio.actions import visitors
from ganstudio.settings import SETTINGS

# Events that run model work share one concurrency group: the engine serialises device work
# itself, so this only bounds how many such requests hold a server thread at once.
DEVICE_WORK = {"concurrency_id": "device", "concurrency_limit": 16}


def client_address(request: gr.Request | None) -> str:
    """The visitor's address as Gradio reports it; behind a proxy, the first entry of the configured header."""
    if request is None:
        return ""
    if SETTINGS.client_header:
        forwarded = (request.headers.get(SETTINGS.client_header) or "").split(",")[0].strip()
        if forwarded:
            return forwarded[:64]
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "")[:64]


def owner(request: gr.Request | None) -> str:
    """The visitor's session id (Gradio's session hash), noted as active, from its address."""
    sid = (getattr(request, "session_hash", None) if request is not None else None) or "api"
    return visitors.visit(sid, client_address(request))
