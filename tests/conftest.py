"""Shared pytest fixtures (keep small). ``hub_server``: a loopback Hugging Face Hub."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import helpers as `from hub_server import ...`

from hub_server import TEST_TOKEN, HubServer, point_huggingface_hub_at  # noqa: E402


@pytest.fixture
def hub_server(tmp_path, monkeypatch):
    """A started loopback Hub that huggingface_hub (and ganstudio.hub) talk to for this test.

    HF_ENDPOINT points at it, HF_HUB_CACHE is ``tmp_path/"hf-cache"``, no token is set (pushes
    pass ``token=TEST_TOKEN``). Add repos with ``hub_server.add_repo(repo_id, {"main": files})``.
    """
    server = HubServer(write_tokens=(TEST_TOKEN,))
    point_huggingface_hub_at(server.start(), tmp_path / "hf-cache", monkeypatch)
    yield server
    server.stop()
