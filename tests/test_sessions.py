"""The session registry: what a page's token finds, and that finding it does not scan everyone's sessions."""

from __future__ import annotations

from pathlib import Path

from ganstudio.sessions import Run, Session, SessionRegistry


def test_a_token_finds_its_own_sessions_results_until_the_session_ends(tmp_path):
    registry = SessionRegistry(tmp_path)
    mine, other = registry.get("tab-1", "10.0.0.1"), registry.get("tab-2", "10.0.0.2")
    run_token, gen_token, att_token = (registry.new_token(mine) for _ in range(3))
    mine.add_run(Run(name="run 1", job_id="train-1", task=None, folder=Path(tmp_path), params={}, token=run_token))
    mine.generation, mine.attention = {"token": gen_token}, {"token": att_token}
    other.generation = {"token": registry.new_token(other)}

    assert registry.run_with_token(run_token).name == "run 1"
    assert registry.generation_with_token(gen_token) is mine.generation
    assert registry.attention_with_token(att_token) is mine.attention
    assert registry.generation_with_token(att_token) is None  # a token names one thing only
    assert registry.run_with_token("made-up") is None and registry.generation_with_token(None) is None

    registry.end("tab-1")
    assert registry.run_with_token(run_token) is None and registry.generation_with_token(gen_token) is None
    assert registry.generation_with_token(other.generation["token"]) is other.generation


def test_a_live_view_poll_looks_at_one_session_however_many_exist(tmp_path, monkeypatch):
    """A script inventing session ids must not make every visitor's ten polls a second scan all of them."""
    registry = SessionRegistry(tmp_path)
    for i in range(20_000):
        registry.get(f"script-{i}", "10.6.6.6")
    watcher = registry.get("tab-1", "10.0.0.1")
    token = registry.new_token(watcher)
    watcher.add_run(Run(name="run 1", job_id="train-1", task=None, folder=Path(tmp_path), params={}, token=token))
    looked_at = []
    original = Session.run_with_token
    monkeypatch.setattr(Session, "run_with_token", lambda self, t: looked_at.append(self.id) or original(self, t))

    assert registry.run_with_token(token).name == "run 1"
    assert looked_at == ["tab-1"]
