"""Visitors and their sessions: who is asking, what they may still do, and cleaning up after them.

The UI calls ``visit(session_hash, address)`` on every event; actions find the visitor's
``Session`` with ``session_of(owner)``. Ending a session (the tab closed, or it fell silent)
cancels its engine jobs and removes its files.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ganstudio.engine import get_engine
from ganstudio.sessions import SESSIONS, Session, sweep_temp_leftovers
from ganstudio.settings import SETTINGS
from ganstudio.shared import prune_links


def visit(owner: str, client: str | None = None) -> str:
    """Note that ``owner`` (a session id) is active, from ``client`` (an address); returns the owner."""
    SESSIONS.get(owner, client)
    return owner


def session_of(owner: str) -> Session:
    return SESSIONS.get(owner)


def end_session(owner: str) -> int:
    """The visitor left: cancel its jobs, free its memory and remove its files. Returns how many jobs were live."""
    live = sum(1 for job in get_engine().jobs_of(owner) if not job.finished)
    SESSIONS.end(owner)
    return live


SESSIONS.on_end.append(lambda session: get_engine().cancel_owner(session.id))


_link_folders: set[Path] = set()  # shared-link folders whose pruning is already scheduled


def start_up(shared_links: Path | None = None) -> dict:
    """Once per app start: remove what earlier processes left behind (old sessions, half-written files); from
    then on, every sweep also keeps ``shared_links`` (the web server's snapshots of shared links) within bounds."""
    if shared_links is not None and shared_links not in _link_folders:
        _link_folders.add(shared_links)
        SESSIONS.on_sweep.append(lambda: prune_links(shared_links))
        prune_links(shared_links)
    removed = SESSIONS.sweep_leftovers()
    removed += sweep_temp_leftovers(Path(SETTINGS.data_dir))
    legacy = Path(SETTINGS.data_dir) / "runs"  # run folders of earlier versions, never cleaned by them
    if legacy.is_dir():
        for path in legacy.iterdir():
            if time.time() - path.stat().st_mtime > SETTINGS.session_idle_s:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return {"removed": removed}
