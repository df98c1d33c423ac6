"""Gradio's upload endpoint, fenced: it takes files from anyone, session or not, and keeps them until
``delete_cache`` removes them (~20 min), so without a fence one script could fill the disk.

``UploadGuard`` is ASGI middleware in front of ``/gradio_api/upload``. It admits an upload by its
declared size before a byte is written: refused when the disk would fall below its reserve, or when the
sender's address has already uploaded its share within the files' lifetime. A refusal is one plain line.
"""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path

from ganstudio.sessions import MB, disk_has_room
from ganstudio.settings import SETTINGS
from ganstudio.ui.common import address_from


MIN_CHARGE = 64 * 1024  # bytes an upload counts as at least: a flood of tiny files still costs its sender
MAX_UPLOADS = 100_000  # uploads admitted within the window, from everyone: bounds this ledger and the files


class UploadGuard:
    """Admits POSTs to Gradio's upload route by their Content-Length; everything else passes untouched."""

    def __init__(self, app, folder: Path, window_s: float):
        self.app = app
        self.folder = Path(folder)  # where Gradio writes uploads: the disk whose room counts
        self.window_s = window_s  # how long Gradio keeps an upload: an address's share is counted over this
        self._recent: collections.deque = collections.deque()  # (time, address, bytes) admitted within the window
        self._held: collections.Counter = collections.Counter()  # address -> bytes in _recent
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith("/gradio_api/upload"):
            headers = dict(scope.get("headers") or [])
            size = _declared_size(headers)
            header = headers.get(SETTINGS.client_header.encode()) if SETTINGS.client_header else None
            address = address_from(header.decode("latin-1") if header else None, (scope.get("client") or ("",))[0])
            refusal = self.admit(size, address)
            if refusal is not None:
                status, message = refusal
                if size is not None and size <= 2 * SETTINGS.max_upload_mb * MB:  # a size a page may send
                    await _discard_body(receive)
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body", "body": message.encode()})
                return
        await self.app(scope, receive, send)

    def admit(self, size: int | None, address: str) -> tuple[int, str] | None:
        """None to let an upload of ``size`` bytes from ``address`` through (and count it), else (HTTP status, the
        one-line reason)."""
        if size is None:
            return 411, "an upload must state its size (Content-Length)"
        if not disk_has_room(self.folder, size):
            return 507, "the server's disk is nearly full: try the upload again later"
        cap = SETTINGS.upload_mb_per_client * MB
        now = time.monotonic()
        size = max(size, MIN_CHARGE)  # every upload is a file on disk, however small
        with self._lock:
            while self._recent and now - self._recent[0][0] > self.window_s:
                _, who, n = self._recent.popleft()
                self._held[who] -= n
                if self._held[who] <= 0:
                    del self._held[who]
            if len(self._recent) >= MAX_UPLOADS:
                return 429, "too many uploads in the last minutes: try again later"
            held = self._held[address]
            if cap and held + size > cap:
                minutes, most = self.window_s / 60, SETTINGS.upload_mb_per_client
                if size > cap:
                    return 413, f"an upload of {size / MB:.1f} MB is more than one address may upload ({most} MB)"
                return 429, (f"this address uploaded {held / MB:.0f} MB in the last {minutes:.0f} minutes "
                             f"(at most {most} MB): try again later")
            self._recent.append((now, address, size))
            self._held[address] += size
        return None


def _declared_size(headers: dict) -> int | None:
    try:
        return int(headers.get(b"content-length", b""))
    except ValueError:
        return None


async def _discard_body(receive) -> None:
    """Read a refused upload and drop it, so the sender's browser reads our line (answered mid-upload, the
    connection is reset instead). Only sizes a page may send are read: past them the connection just closes."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return
