"""A visitor's state in one object: its runs, files, quotas and clean-up.

Every browser tab (and every API client) is a ``Session`` keyed by Gradio's session hash. The
session owns

* its training runs (the live one, and the names of finished ones, which Explore can open);
* a private folder (``mkdtemp`` under ``SETTINGS.data_dir/sessions``) for saved models, exports
  and unpacked uploads, with a disk budget checked before anything is written;
* the client address it came from, so per-address quotas hold even for raw API calls that make
  a new session each time.

``SESSIONS`` is the one registry. A session ends when the browser leaves (``demo.unload``), or when
it has been silent for ``session_idle_s`` (raw API sessions never say goodbye); ending cancels its
engine jobs and removes its folder. At start-up, folders left by a previous process are swept.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ganstudio.errors import BadInput, Busy
from ganstudio.jobs import ViewPrefs
from ganstudio.settings import SETTINGS

MB = 1024 * 1024
SWEEP_EVERY_S = 30.0  # how often idle sessions are looked for
STALE_TEMP_S = 3600.0  # leftover temp files ('.model.*', '*.part') older than this are removed at start-up


@dataclass
class Run:
    """One training run of a session: live while its engine job runs, a saved folder afterwards."""

    name: str  # how the UI names it ("run 2 · grid25 · mlp"); Explore opens it by this name
    job_id: str
    task: Any  # the engine task (owns the trainer); dropped once the run is over and saved
    folder: Path  # where the run's checkpoint is saved, inside the session folder
    params: dict  # the settings it was started with, as plain values
    token: str = ""  # unguessable: the page's live view asks for this run's frames with it
    preview: dict = field(default_factory=dict)  # what the live view shows before the first frame (the real data)
    number: int = 0  # its number in the session ("run 3"); its download is named after it (…-run3.zip)
    started: float = field(default_factory=time.time)


class Session:
    """Everything one visitor owns. Methods are safe to call from any thread."""

    def __init__(self, sid: str, client: str, root: Path):
        self.id = sid
        self.client = client or "unknown"
        self.created = self.last_seen = time.time()
        self._root = root
        self._folder: Path | None = None
        self._lock = threading.RLock()
        self._counter = 0  # files made (new_path)
        self._run_count = 0  # Train runs started: their numbers, which their files' names repeat
        self.view_prefs = ViewPrefs()  # how this visitor watches their Train runs (pace, arrows): every run reads it
        self.runs: OrderedDict[str, Run] = OrderedDict()  # name -> run, oldest first
        self.tokens: set[str] = set()  # the secrets its pages poll with (SessionRegistry.new_token), forgotten at its end
        self.current: Run | None = None  # the run the Train tab shows
        self.generation: dict | None = None  # the Text tab's latest generation: token, tokens so far, how it ended
        self.attention: dict | None = None  # the Attention tab's latest analysis: token, ids, weights (layers, heads, T, T)
        self.next_token: dict | None = None  # the Text tab's prompt logits: key (model, prompt), ids, logits (vocab,)
        self.textgan: Any = None  # the Text GAN lesson's latest run (ganstudio.actions.textgan.TextGanSlot)
        self.ending = False  # set before the end callbacks run: nothing new is saved into the folder
        self.closed = False

    # ---- files -------------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        """The session's private folder, created (owner-only) on first use."""
        with self._lock:
            if self.closed:
                raise BadInput("this session has ended: reload the page")
            if self._folder is None:
                self._root.mkdir(parents=True, exist_ok=True)
                self._folder = Path(tempfile.mkdtemp(prefix="s-", dir=self._root))
            return self._folder

    @property
    def made_folder(self) -> Path | None:
        """The session's folder if one was made (never makes one): what clean-ups look under."""
        return self._folder

    def new_path(self, stem: str, suffix: str = "") -> Path:
        """A fresh path inside the session folder (nothing is created)."""
        with self._lock:
            self._counter += 1
            safe = re.sub(r"[^A-Za-z0-9._-]", "-", stem)[:60] or "file"
            return self.folder / f"{safe}-{self._counter}{suffix}"

    def disk_used(self) -> int:
        return _folder_bytes(self._folder) if self._folder is not None else 0

    def reserve(self, nbytes: int, what: str) -> None:
        """Refuse a write of ``nbytes`` that would take the session past its disk budget (BadInput), or the
        machine's disk below its reserve (Busy: many sessions together can fill it)."""
        if not disk_has_room(self._root, nbytes):
            raise Busy(f"{what}: the server's disk is nearly full, try again later")
        budget = SETTINGS.session_disk_mb * MB
        used = self.disk_used()
        if used + nbytes > budget:
            raise BadInput(
                f"{what} needs {max(nbytes, 1) / MB:.1f} MB but this session already keeps {used / MB:.0f} MB of its "
                f"{SETTINGS.session_disk_mb} MB: remove old runs (Reset) or reload the page"
            )

    # ---- runs --------------------------------------------------------------------------

    def next_run_name(self, data: str, arch: str, kind: str = "") -> tuple[int, str]:
        """The next run's number (1, 2, 3, ... in this session, on their own: files have another counter) and
        name; ``kind`` ("class-conditional") ends the name when given."""
        with self._lock:
            self._run_count += 1
            short = re.sub(r"[^A-Za-z0-9_-]", "", Path(str(data)).stem)[:20] or "images"
            return self._run_count, " · ".join([f"run {self._run_count}", short, arch] + ([kind] if kind else []))

    def add_run(self, run: Run) -> None:
        with self._lock:
            self.runs[run.name] = run
            self.current = run

    def run_named(self, name: str) -> Run | None:
        with self._lock:
            return self.runs.get(name)

    def run_with_token(self, token: str) -> Run | None:
        with self._lock:
            return next((r for r in self.runs.values() if r.token and r.token == token), None)

    def saved_runs(self) -> list[Run]:
        """Runs with a saved checkpoint, newest first."""
        with self._lock:
            return [r for r in reversed(self.runs.values()) if (r.folder / "config.json").is_file()]

    def forget_run(self, run: Run) -> None:
        with self._lock:
            self.runs.pop(run.name, None)
            if self.current is run:
                self.current = None
        shutil.rmtree(run.folder, ignore_errors=True)

    # ---- life -------------------------------------------------------------------------

    def touch(self, client: str | None = None) -> None:
        self.last_seen = time.time()
        if client:
            self.client = client

    def close(self) -> None:
        """Forget everything and remove the session's files (jobs are cancelled by the registry)."""
        with self._lock:
            self.closed = True
            self.runs.clear()
            self.current = None
            self.generation = None
            self.attention = None
            self.next_token = None
            self.textgan = None
            folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


class SessionRegistry:
    """The one owner of every visitor's Session."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else Path(SETTINGS.data_dir) / "sessions"
        self._sessions: dict[str, Session] = {}
        self._by_token: dict[str, str] = {}  # token -> the id of the session it was issued to
        self._lock = threading.Lock()
        self._swept_at = time.monotonic()
        self._held: dict[tuple[str, str], int] = {}  # (client address, what) -> slots held now (client_slot)
        self.on_end: list[Callable[[Session], None]] = []  # called when a session ends (cancel jobs, drop caches)
        self.on_sweep: list[Callable[[], None]] = []  # called by every periodic sweep (other clean-ups that are due)

    def get(self, sid: str, client: str | None = None) -> Session:
        """The session for ``sid`` (created on first sight); marks it as seen."""
        sid = (sid or "anonymous")[:100]
        self._maybe_sweep()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None or session.closed:
                session = self._sessions[sid] = Session(sid, client or "", self.root)
        session.touch(client)
        return session

    def find(self, sid: str) -> Session | None:
        with self._lock:
            return self._sessions.get(sid)

    def all(self) -> list[Session]:
        with self._lock:
            return list(self._sessions.values())

    def new_token(self, session: Session) -> str:
        """A secret naming one of ``session``'s runs or results, for its page to poll with. Tokens are indexed,
        so a poll finds its session at once, however many sessions (a script's included) exist."""
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._by_token[token] = session.id
            session.tokens.add(token)
        return token

    def generation_with_token(self, token: str) -> dict | None:
        """The generation a page's token names (tokens are secrets, not names)."""
        return self._result_with_token("generation", token)

    def attention_with_token(self, token: str) -> dict | None:
        """The attention analysis a page's token names."""
        return self._result_with_token("attention", token)

    def run_with_token(self, token: str) -> Run | None:
        """The run a live view's token names, whoever's session holds it."""
        session = self._session_with_token(token)
        return session.run_with_token(token) if session is not None else None

    def _result_with_token(self, kind: str, token: str) -> dict | None:
        result = getattr(self._session_with_token(token), kind, None)
        return result if result is not None and result.get("token") == token else None

    def _session_with_token(self, token) -> Session | None:
        with self._lock:
            sid = self._by_token.get(token) if isinstance(token, str) else None
            return self._sessions.get(sid) if sid is not None else None

    def of_client(self, client: str) -> list[Session]:
        with self._lock:
            return [s for s in self._sessions.values() if s.client == client and not s.closed]

    @contextmanager
    def client_slot(self, session: Session, what: str, limit: int) -> Iterator[None]:
        """Hold one of the ``limit`` ``what`` that ``session``'s client address may have at once, for the with-block
        (0 = no cap); Busy when all are held. Checked and taken in one step, under one lock: requests an address
        fires together cannot all read a count with room in it before any of them is counted."""
        key = (session.client, what)
        with self._lock:
            held = self._held.get(key, 0)
            if 0 < limit <= held:
                raise Busy(quota_message(held, what, limit))
            self._held[key] = held + 1
        try:
            yield
        finally:
            with self._lock:
                self._held[key] -= 1
                if not self._held[key]:
                    del self._held[key]

    def end(self, sid: str) -> bool:
        """End a session: callbacks first (cancel its jobs), then its files. False if it was unknown."""
        with self._lock:
            session = self._sessions.pop(sid, None)
            for token in session.tokens if session is not None else ():
                self._by_token.pop(token, None)
        if session is None:
            return False
        session.ending = True
        for callback in self.on_end:
            try:
                callback(session)
            except Exception:  # one failing clean-up must not keep the files
                pass
        session.close()
        return True

    def sweep(self, now: float | None = None, is_busy: Callable[[Session], bool] = lambda s: False) -> int:
        """End sessions silent for ``session_idle_s`` (and not busy); returns how many ended."""
        now = time.time() if now is None else now
        idle = [s for s in self.all() if now - s.last_seen > SETTINGS.session_idle_s and not is_busy(s)]
        for session in idle:
            self.end(session.id)
        for callback in self.on_sweep:
            try:
                callback()
            except Exception:  # a clean-up that fails now is tried again at the next sweep
                pass
        return len(idle)

    def _maybe_sweep(self) -> None:
        if time.monotonic() - self._swept_at < SWEEP_EVERY_S:
            return
        self._swept_at = time.monotonic()
        threading.Thread(target=self.sweep, name="ganstudio-session-sweep", daemon=True).start()

    def sweep_leftovers(self, max_age_s: float | None = None) -> int:
        """At start-up: remove session folders of earlier processes older than ``max_age_s``."""
        max_age_s = SETTINGS.session_idle_s if max_age_s is None else max_age_s
        if not self.root.is_dir():
            return 0
        removed = 0
        now = time.time()
        for path in self.root.iterdir():
            try:
                age = now - path.stat().st_mtime
            except OSError:
                continue
            if age > max_age_s and path.name not in self._live_folders():
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _live_folders(self) -> set[str]:
        return {s.made_folder.name for s in self.all() if s.made_folder is not None}


def sweep_temp_leftovers(root: Path, max_age_s: float = STALE_TEMP_S) -> int:
    """Remove half-written files a crash can leave under ``root``: '.model.*' folders and '*.part' files."""
    if not root.is_dir():
        return 0
    removed = 0
    now = time.time()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in list(dirnames):
            path = Path(dirpath) / name
            if is_temp_name(name) and _older(path, now, max_age_s):
                shutil.rmtree(path, ignore_errors=True)
                dirnames.remove(name)
                removed += 1
        for name in filenames:
            path = Path(dirpath) / name
            if (name.endswith(".part") or is_temp_name(name)) and _older(path, now, max_age_s):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def is_temp_name(name: str) -> bool:
    """Names of half-written things: weights_io's '.tmp-*' / '.old-*' and the older '.model.*' folders."""
    return name.startswith((".tmp-", ".old-", ".model."))


def _older(path: Path, now: float, age: float) -> bool:
    try:
        return now - path.stat().st_mtime > age
    except OSError:
        return False


def disk_has_room(path: Path, nbytes: int) -> bool:
    """Writing ``nbytes`` under ``path`` leaves at least ``disk_reserve_mb`` free on its disk."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return shutil.disk_usage(path).free - max(nbytes, 0) >= SETTINGS.disk_reserve_mb * MB


def _folder_bytes(folder: Path | None) -> int:
    total = 0
    if folder is None:
        return 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def check_client_quota(registry: SessionRegistry, session: Session, count: Callable[[Session], int], limit: int,
                       what: str) -> None:
    """Refuse (Busy) when the sessions of this client address already hold ``limit`` of something."""
    if limit <= 0:
        return
    held = sum(count(s) for s in registry.of_client(session.client))
    if held >= limit:
        raise Busy(quota_message(held, what, limit))


def quota_message(held: int, what: str, limit: int) -> str:
    return f"your address already has {held} {what} running (at most {limit}): wait for one to finish"


SESSIONS = SessionRegistry()
