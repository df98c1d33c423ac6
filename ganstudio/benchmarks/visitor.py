"""One visitor of `python app.py`, as the server sees a browser tab: Gradio's HTTP API, nothing more.

The load benchmarks run on the same machine as the server they measure. `gradio_client` costs the
harness more CPU than the server it drives (about 1.1 cores against the server's 0.64 with 20 clients on
2 cores, measured), so the figures measured the harness as much as the app. A visitor's browser runs
elsewhere: this client does what the page does over HTTP and little else.

Protocol (Gradio's documented `/call/` API): POST `/gradio_api/call/<api>` with the inputs and this
tab's session hash (so `gr.State` is this visitor's) answers an event id; GET
`/gradio_api/call/<api>/<event id>` streams `generating` / `complete` / `error` events. Files an answer
names (images) are downloaded, as the page would show them. Like a tab, a visitor holds Gradio's
heartbeat stream open while it is there; closing it is leaving (the app's unload clean-up runs).
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any, Callable

import httpx

from ganstudio.errors import StudioError

TIMEOUT_S = 120.0  # one request, queue wait included: far past any healthy latency here


class Visitor:
    """One browser tab: its own session hash and connection pool."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.session_hash = uuid.uuid4().hex[:12]
        self.http = httpx.Client(base_url=f"{self.url}/gradio_api", timeout=TIMEOUT_S)
        self._heartbeat: httpx.Response | None = None
        self._arrived = threading.Event()
        threading.Thread(target=self._stay, daemon=True, name=f"heartbeat-{self.session_hash}").start()
        self._arrived.wait(timeout=10)

    def _stay(self) -> None:
        """Hold the heartbeat stream open until `close()` (the tab is open)."""
        try:
            with httpx.stream("GET", f"{self.url}/gradio_api/heartbeat/{self.session_hash}", timeout=None) as beat:
                self._heartbeat = beat
                self._arrived.set()
                for _ in beat.iter_lines():
                    pass
        except Exception:  # noqa: BLE001 - closed by `close()`, or the server went away: the tab is gone either way
            pass
        finally:
            self._arrived.set()

    def call(self, api: str, *inputs: Any, on_update: Callable[[list], None] | None = None) -> list:
        """Run one event to its end; `on_update` sees each streamed output list. Returns the final outputs."""
        answer = self.http.post(f"/call/{api}", json={"data": list(inputs), "session_hash": self.session_hash})
        answer.raise_for_status()
        event_id = answer.json()["event_id"]
        kind = None
        with self.http.stream("GET", f"/call/{api}/{event_id}") as stream:
            stream.raise_for_status()
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind in ("generating", "complete", "error"):
                    data = json.loads(line[5:])
                    if kind == "error":
                        raise StudioError(_error_text(data))
                    if kind == "generating":
                        if on_update is not None:
                            on_update(data)
                        continue
                    self._fetch_files(data)
                    return data
        raise StudioError(f"{api}: the stream ended without a result")

    def _fetch_files(self, value: Any) -> None:
        """Download every served file an answer names, as the page does to show it."""
        if isinstance(value, dict):
            url = value.get("url")
            if isinstance(url, str) and "/file=" in url:
                self.http.get(url if url.startswith("http") else f"{self.url}{url}").raise_for_status()
            for item in value.values():
                if isinstance(item, (dict, list)):
                    self._fetch_files(item)
        elif isinstance(value, list):
            for item in value:
                self._fetch_files(item)

    def close(self) -> None:
        """Leave: the heartbeat stream closes, so the server ends this visitor's session."""
        if self._heartbeat is not None:
            self._heartbeat.close()
        self.http.close()


def _error_text(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("error") or data.get("message") or data)[:200]
    return str(data)[:200]
