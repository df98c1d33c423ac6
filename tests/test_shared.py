"""Shared links: snapshots on disk stay within their bounds; shared generations outlive their session, within a count."""

import os

from ganstudio import shared
from ganstudio.shared import SharedResults, prune_links


def _link(folder, name, size, mtime):
    path = folder / name
    path.mkdir()
    (path / "state.json").write_bytes(b"x" * size)
    os.utime(path, (mtime, mtime))
    return path


def test_old_and_excess_link_snapshots_are_removed_oldest_first(tmp_path):
    now = 1_000_000.0
    old = _link(tmp_path, "old", 10, now - 8 * 24 * 3600)
    a = _link(tmp_path, "a", 400, now - 300)
    b = _link(tmp_path, "b", 400, now - 200)
    c = _link(tmp_path, "c", 400, now - 100)
    removed = prune_links(tmp_path, max_bytes=900, max_age_s=7 * 24 * 3600, now=now)
    assert removed == 2 and not old.exists() and not a.exists() and b.exists() and c.exists()
    assert prune_links(tmp_path / "missing") == 0


def test_shared_generations_are_copies_kept_up_to_a_count(monkeypatch):
    monkeypatch.setattr(shared, "MAX_GENERATIONS", 3)
    store = SharedResults()
    first = {"token": "t0", "tokens": [["a", 0.5]], "done": True}
    store.publish_generation(first)
    first["tokens"].append(["b", 0.1])  # the session keeps changing its own record; the shared one does not
    assert store.generation("t0")["tokens"] == [["a", 0.5]]
    for i in range(1, 4):
        store.publish_generation({"token": f"t{i}", "tokens": [], "done": True})
    assert store.generation("t0") is None and store.generation("t3") is not None
