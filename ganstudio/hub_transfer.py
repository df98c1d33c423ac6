"""How Hub transfers are bounded in time and reported: a deadline on every download, progress lines.

``within(deadline, what, work)`` runs a download in its own thread with a deadline that the HTTP
layer itself enforces: huggingface_hub's shared HTTP client gets a transport (installed once, see
``install_deadline_transport``) that shortens every socket timeout to the time left and cancels the
body at the first bytes past the deadline. So a Hub that trickles a byte every two seconds, or stalls
half-way, costs its caller at most the deadline and leaves no thread behind for long.

Silence is bounded separately: every socket read waits ``SETTINGS.hub_read_timeout_s`` at most (in place of
huggingface_hub's own read timeouts), and a read that times out ends the download at once (``HubSilent``). huggingface_hub 2.4 would retry it: a GET whose
read times out (``HF_HUB_DOWNLOAD_TIMEOUT``, 10 s) is tried again up to five times, and a HEAD that times out
is asked again with a 60 s timeout and backoff, so a Hub that accepts a connection and then says nothing
cost a minute and more before the deadline ended it.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable

import httpx2
from huggingface_hub import close_session, get_session, set_client_factory
from tqdm.std import tqdm

from ganstudio import settings
from ganstudio.errors import StudioError

Progress = Callable[[str], None]
PERCENT_FROM_BYTES = 1_000_000  # smaller files arrive at once: no progress lines for them

_deadline = threading.local()  # .value: monotonic deadline of the download running in this thread


class DownloadCancelled(Exception):
    """A download outlived its deadline (raised inside it, so huggingface_hub does not retry it)."""


class HubSilent(Exception):
    """The Hub sent nothing for ``seconds`` in the middle of a request (raised inside the download, so
    huggingface_hub does not retry it)."""

    def __init__(self, seconds: float):
        super().__init__(f"the Hub sent nothing for {seconds:.0f} s")
        self.seconds = seconds


def within(deadline: float, what: str, work: Callable[[], str]) -> str:
    """``work()`` in a helper thread under ``deadline``; past it, a one-line StudioError for ``what``."""
    result: dict = {}

    def target() -> None:
        _deadline.value = deadline
        try:
            result["value"] = work()
        except BaseException as err:  # handed to the caller
            result["error"] = err

    thread = threading.Thread(target=target, name="ganstudio-download", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()) + 0.5)  # the transport itself gives up at the deadline
    late = StudioError(f"{what} failed: it took longer than the {settings.SETTINGS.download_timeout_s:.0f} s "
                       "allowed (GANSTUDIO_DOWNLOAD_TIMEOUT_S)")
    err = result.get("error")
    if thread.is_alive() or _caused_by(err, DownloadCancelled):
        raise late
    if _caused_by(err, (httpx2.TimeoutException, HubSilent)) and time.monotonic() >= deadline - 0.05:
        raise late  # the last read ran into the deadline we gave it
    silent = _caused_by(err, HubSilent)
    if silent:
        raise StudioError(f"{what} failed: {silent} (GANSTUDIO_HUB_READ_TIMEOUT_S); try again later") from None
    if err is not None:
        raise err
    return result["value"]


def _caused_by(err: BaseException | None, kind: type | tuple[type, ...]) -> BaseException | None:
    """The first exception of ``kind`` in ``err``'s chain, if any."""
    while err is not None:
        if isinstance(err, kind):
            return err
        err = err.__cause__ or err.__context__
    return None


# ---- the deadline, inside the HTTP client ---------------------------------------------------------


class _DeadlineStream(httpx2.SyncByteStream):
    def __init__(self, inner: httpx2.SyncByteStream, deadline: float, read_timeout: float):
        self.inner, self.deadline, self.read_timeout = inner, deadline, read_timeout

    def __iter__(self):
        chunks = iter(self.inner)
        while True:
            try:
                chunk = next(chunks)  # one socket read: a trickled byte each, checked as it comes
            except StopIteration:
                return
            except httpx2.ReadTimeout:
                raise HubSilent(self.read_timeout) from None
            if time.monotonic() > self.deadline:
                raise DownloadCancelled("deadline passed")
            yield chunk

    def close(self) -> None:
        self.inner.close()


class _DeadlineTransport(httpx2.BaseTransport):
    """Requests made by a thread with a deadline get socket timeouts no longer than the time left, and reads
    that wait ``hub_read_timeout_s`` at most; a read that times out is HubSilent (not retried)."""

    def __init__(self, inner: httpx2.BaseTransport):
        self.inner = inner

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        deadline = getattr(_deadline, "value", None)
        if deadline is None:
            return self.inner.handle_request(request)
        left = deadline - time.monotonic()
        if left <= 0:
            raise DownloadCancelled("deadline passed")
        timeouts = dict(request.extensions.get("timeout") or {})
        for key in ("connect", "write", "pool"):
            timeouts[key] = min(timeouts.get(key) or left, left)
        timeouts["read"] = min(settings.SETTINGS.hub_read_timeout_s, left)  # in place of the library's own
        request.extensions["timeout"] = timeouts
        try:
            response = self.inner.handle_request(request)  # waits for the status line and headers
        except httpx2.ReadTimeout:
            raise HubSilent(timeouts["read"]) from None
        response.stream = _DeadlineStream(response.stream, deadline, timeouts["read"])
        return response

    def close(self) -> None:
        self.inner.close()


_installed = False
_install_lock = threading.Lock()


def install_deadline_transport() -> None:
    """Give huggingface_hub's shared client the deadline transport (keeping its own event hooks). Idempotent."""
    global _installed
    with _install_lock:
        if _installed:
            return
        hooks = get_session().event_hooks  # the library's own (offline mode, request ids)

        def factory() -> httpx2.Client:
            return httpx2.Client(event_hooks=hooks, follow_redirects=True, timeout=None,
                                 transport=_DeadlineTransport(httpx2.HTTPTransport()))

        set_client_factory(factory)
        close_session()  # the next request builds the client from the factory
        _installed = True


# ---- progress lines --------------------------------------------------------------------------------


class _ReportingBar(tqdm):
    """A tqdm that draws nothing and reports "downloading name (12 MB)…" then "name: 40%" lines (every
    10%) for files of a megabyte or more, through a callback.

    Subclassed per file by ``bar_class`` with ``report`` and ``label`` set. ``update_transfer``
    makes huggingface_hub use a single bar for xet downloads too.
    """

    report: Progress = staticmethod(lambda line: None)
    label = ""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.pop("name", None)
        kwargs.update(disable=False, file=_NullFile(), mininterval=3600)
        super().__init__(*args, **kwargs)
        self._last_step = 0
        if self.total and self.total >= PERCENT_FROM_BYTES:  # small files arrive at once: nothing to watch
            self.report(f"downloading {self.label} ({human_size(self.total)})…")

    def update(self, n: float | None = 1) -> bool | None:
        result = super().update(n)
        if self.total and self.total >= PERCENT_FROM_BYTES:
            step = min(10, int(10 * self.n / self.total))
            if step > self._last_step:
                self._last_step = step
                self.report(f"{self.label}: {10 * step}%")
        return result

    def update_transfer(self, n: float) -> None:
        pass

    def set_transfer_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass


class _NullFile:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def terminal_progress(stream=None) -> Progress:
    """Download progress for a person at a terminal: lines on stderr when it is a TTY, nothing otherwise
    (scripts and CI read one `error: ...` line when something goes wrong, not a download log before it)."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return lambda line: None
    return lambda line: print(line, file=stream, flush=True)


def bar_class(label: str, report: Progress) -> type[_ReportingBar]:
    return type("_FileBar", (_ReportingBar,), {"report": staticmethod(report), "label": label})


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"
