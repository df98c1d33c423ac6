"""Disk a visitor may cost the machine: uploads (Gradio keeps anyone's for ~20 min) and session writes are
refused, with one line, before they would leave less than the reserve free or pass an address's share."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import time

import pytest

from ganstudio import sessions
from ganstudio.errors import Busy
from ganstudio.ui import common, upload_guard
from ganstudio.ui.upload_guard import UploadGuard

MB = 1024 * 1024


def with_settings(monkeypatch, **changes) -> None:
    new = dataclasses.replace(sessions.SETTINGS, **changes)
    for module in (sessions, common, upload_guard):
        monkeypatch.setattr(module, "SETTINGS", new)


def post_upload(guard: UploadGuard, size: int | None, address: str = "10.0.0.1") -> tuple[int, str, bool]:
    """One POST to Gradio's upload route through ``guard``: (status, body, whether Gradio saw it)."""
    seen, sent = [], []
    headers = [(b"x-forwarded-for", address.encode())] + ([(b"content-length", str(size).encode())] if size else [])

    async def app(scope, receive, send):
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"[]"})

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    guard.app = app
    scope = {"type": "http", "method": "POST", "path": "/gradio_api/upload", "headers": headers,
             "client": ("127.0.0.1", 5000)}
    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], sent[-1]["body"].decode(), bool(seen)


def test_an_upload_that_would_fill_the_disk_is_refused_unread(tmp_path, monkeypatch):
    free_mb = shutil.disk_usage(tmp_path).free // MB  # others' writes during the test stay well within 500 MB
    with_settings(monkeypatch, disk_reserve_mb=free_mb - 500, client_header="x-forwarded-for")
    guard = UploadGuard(None, tmp_path, window_s=1200)
    assert post_upload(guard, 1 * MB)[0] == 200
    status, message, reached_gradio = post_upload(guard, 5000 * MB)
    assert (status, reached_gradio) == (507, False)
    assert message == "the server's disk is nearly full: try the upload again later"


def test_each_address_has_its_share_of_uploads(tmp_path, monkeypatch):
    with_settings(monkeypatch, disk_reserve_mb=0, upload_mb_per_client=3, client_header="x-forwarded-for")
    guard = UploadGuard(None, tmp_path, window_s=1200)
    assert post_upload(guard, 2 * MB, "10.0.0.1")[0] == 200
    status, message, reached_gradio = post_upload(guard, 2 * MB, "10.0.0.1")
    assert (status, reached_gradio) == (429, False)
    assert message == "this address uploaded 2 MB in the last 20 minutes (at most 3 MB): try again later"
    assert post_upload(guard, 2 * MB, "10.0.0.2")[0] == 200  # someone else is not held back
    assert post_upload(guard, None)[:2] == (411, "an upload must state its size (Content-Length)")
    assert post_upload(guard, 4 * MB, "10.0.0.3")[:2] == (413, "an upload of 4.0 MB is more than one address may "
                                                                "upload (3 MB)")


def test_an_upload_share_frees_up_when_its_files_are_gone(tmp_path, monkeypatch):
    with_settings(monkeypatch, disk_reserve_mb=0, upload_mb_per_client=3, client_header="x-forwarded-for")
    guard = UploadGuard(None, tmp_path, window_s=0.2)  # Gradio's cache would have removed them by now
    assert post_upload(guard, 2 * MB)[0] == 200
    assert post_upload(guard, 2 * MB)[0] == 429
    time.sleep(0.3)
    assert post_upload(guard, 2 * MB)[0] == 200


def test_a_session_write_is_refused_before_the_disk_fills(tmp_path, monkeypatch):
    free_mb = shutil.disk_usage(tmp_path).free // MB
    with_settings(monkeypatch, disk_reserve_mb=free_mb - 500)
    session = sessions.Session("visitor", "10.0.0.1", tmp_path / "sessions")  # its folder does not exist yet
    session.reserve(1 * MB, "saving this run")
    with pytest.raises(Busy, match=r"^saving this run: the server's disk is nearly full, try again later$"):
        session.reserve(5000 * MB, "saving this run")


def test_a_refused_upload_is_read_to_its_end_so_the_browser_gets_the_line(tmp_path, monkeypatch):
    """Answered mid-upload, a browser sees a reset connection instead of the refusal: the body is read and dropped."""
    with_settings(monkeypatch, disk_reserve_mb=0, upload_mb_per_client=1, client_header="")
    chunks = [{"type": "http.request", "body": bytes(MB // 2), "more_body": i < 3} for i in range(4)]
    sent = []

    async def receive():
        return chunks.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/gradio_api/upload", "client": ("127.0.0.1", 5000),
             "headers": [(b"content-length", str(2 * MB).encode())]}
    asyncio.run(UploadGuard(None, tmp_path, window_s=1200)(scope, receive, send))
    assert sent[0]["status"] == 413 and chunks == []
