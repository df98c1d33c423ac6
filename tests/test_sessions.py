"""The session registry: what a page's token finds, that finding it does not scan everyone's sessions, and that
an address's quotas hold when it fires many requests at once."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from ganstudio.errors import Busy, StudioError
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


# ---- per-address quotas, when an address fires everything at once ------------------------------------

TOGETHER = 20  # requests one address fires at the same moment
CAP = 2  # what that address may have running


def _fire_together(work) -> list:
    """``work(i)`` in TOGETHER threads released at the same moment; returns what each returned or raised."""
    barrier = threading.Barrier(TOGETHER)
    results: list = [None] * TOGETHER

    def one(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except StudioError as err:
            results[i] = err

    threads = [threading.Thread(target=one, args=(i,)) for i in range(TOGETHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_an_address_firing_generations_together_runs_at_most_its_cap(monkeypatch):
    """Each generation comes from its own session (raw API calls), all from one address. Admitted ones hold on
    to their first token until every request has been answered, so `most` is how many ran at once."""
    from ganstudio.actions import text, visitors

    monkeypatch.setattr(text, "SETTINGS", dataclasses.replace(text.SETTINGS, streams_per_client=CAP))
    text.loaded_gpt("shakespeare-gpt")  # a warm server: the model is loaded already
    answered, everyone_answered = threading.Condition(), threading.Event()
    counts = {"answered": 0, "running": 0, "most": 0}

    def note(running: int) -> None:
        with answered:
            counts["answered"] += 1
            counts["running"] += running
            counts["most"] = max(counts["most"], counts["running"])
            answered.notify_all()

    def generate(i: int) -> str:
        owner = visitors.visit(f"quota-gen-{i}", "10.0.0.7")
        stream = text.generate_stream("shakespeare-gpt", "ROMEO:", max_new_tokens=50, ignore_eos=True, owner=owner)
        try:
            next(stream), next(stream)  # start, then the first token: it runs
        except Busy:
            note(0)
            raise
        note(1)
        everyone_answered.wait(120)
        stream.close()
        return "ran"

    waiter = threading.Thread(target=lambda: (_wait_for(answered, lambda: counts["answered"] == TOGETHER),
                                              everyone_answered.set()))
    waiter.start()
    results = _fire_together(generate)
    waiter.join()
    refused = [str(r) for r in results if isinstance(r, Busy)]
    print(f"most generations running at once from one address: {counts['most']} (cap {CAP})")
    assert 1 <= counts["most"] <= CAP, counts
    assert results.count("ran") == counts["most"] and len(refused) == TOGETHER - counts["most"], results
    assert all(f"(at most {CAP})" in message for message in refused), refused[:2]


def test_an_address_starting_runs_together_gets_at_most_its_cap(monkeypatch):
    from ganstudio.actions import train, visitors

    monkeypatch.setattr(train, "SETTINGS", dataclasses.replace(train.SETTINGS, runs_per_client=CAP))
    params = {**train.default_params("ring8"), "steps": 0, "seconds": 60}
    owners = [visitors.visit(f"quota-run-{i}", "10.0.0.8") for i in range(TOGETHER)]
    try:
        results = _fire_together(lambda i: train.start_training(owners[i], params, replace=False))
        running = [owner for owner in owners if train._live_run(visitors.session_of(owner)) is not None]
        print(f"most training runs running at once from one address: {len(running)} (cap {CAP})")
        assert 1 <= len(running) <= CAP and sum(isinstance(r, str) for r in results) == len(running), results
        assert all(isinstance(r, Busy) for r in results if not isinstance(r, str)), results
    finally:
        for owner in owners:
            visitors.end_session(owner)


def _wait_for(condition: threading.Condition, predicate) -> None:
    with condition:
        assert condition.wait_for(predicate, timeout=120), "not every request was answered"
