"""Results a visitor shared by link: they outlive the session that made them, within fixed bounds.

A shared link (Gradio's deep links) restores the page's widgets from a snapshot Gradio writes to disk.
Two things a snapshot cannot hold are kept here: a shared generation's tokens with their probabilities
(the Text tab's view holds only the last few), in memory, the most recent ``MAX_GENERATIONS``; and the
snapshots themselves are pruned, oldest first, to ``MAX_LINK_BYTES`` and ``MAX_LINK_AGE_S``, so links
shared by a script in a loop cannot fill the disk.
"""

from __future__ import annotations

import copy
import shutil
import threading
import time
from collections import OrderedDict
from pathlib import Path

MAX_GENERATIONS = 128  # shared generations kept (each at most ~150 kB: 1,024 tokens with their top-5)
MAX_LINK_BYTES = 200 * 1024 * 1024  # Gradio's deep-link snapshots on disk, all together
MAX_LINK_AGE_S = 7 * 24 * 3600.0  # a shared link lasts a week (and until the server restarts for generations)


class SharedResults:
    def __init__(self) -> None:
        self._generations: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def publish_generation(self, record: dict) -> None:
        """Keep a finished generation (by its secret token) for pages that open a link to it."""
        with self._lock:
            self._generations[record["token"]] = copy.deepcopy(record)
            self._generations.move_to_end(record["token"])
            while len(self._generations) > MAX_GENERATIONS:
                self._generations.popitem(last=False)

    def generation(self, token: str) -> dict | None:
        with self._lock:
            return self._generations.get(token)


def prune_links(folder: Path, max_bytes: int = MAX_LINK_BYTES, max_age_s: float = MAX_LINK_AGE_S,
                now: float | None = None) -> int:
    """Remove deep-link snapshots (one folder each) older than ``max_age_s``, then the oldest until the rest fit
    in ``max_bytes``; returns how many went."""
    if not folder.is_dir():
        return 0
    now = time.time() if now is None else now
    links = []
    for path in folder.iterdir():
        try:
            stat = path.stat()
            size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else stat.st_size
        except OSError:
            continue
        links.append((stat.st_mtime, size, path))
    links.sort()
    total, removed = sum(size for _, size, _ in links), 0
    for mtime, size, path in links:
        if now - mtime <= max_age_s and total <= max_bytes:
            break
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        total -= size
        removed += 1
    return removed


SHARED = SharedResults()
