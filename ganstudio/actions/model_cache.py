"""The one cache of loaded models, shared by Explore, Attention and Text.

An entry is keyed by what its weights are — the kind ("gan" | "gpt"), the resolved folder and the
weights file's version (modification time and size) — so a run saved again in the same folder loads
afresh, and two names for one folder share an entry. Past each kind's capacity the least recently
used goes first. A visitor's own runs live in their session folder: those entries go when the
session ends. Entries hold torch modules: they are built and run on the engine's worker only, while
lookups (any thread) take the lock.

Hub and bundled names resolve to a folder once per process (a Hub lookup is a network round trip,
too slow for every slider move; pin ``@revision`` for a fixed version): ``folder_for`` remembers them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ganstudio.sessions import SESSIONS, Session
from ganstudio.weights_io import CONFIG_NAME, WEIGHTS_NAME

CAPACITY = {"gan": 4, "gpt": 2}  # bundled GANs are a few MB each; GPT-2 small is ~500 MB in float32
MAX_REMEMBERED_SPECS = 256  # name -> folder lookups kept


@dataclass(frozen=True)
class ModelKey:
    kind: str  # "gan" | "gpt": each kind has its own capacity
    folder: str  # the resolved folder the weights live in
    version: tuple[int, int]  # (mtime_ns, bytes) of the weights file: a model saved again is a new entry

    def __str__(self) -> str:
        return f"{self.kind}:{self.folder}@{self.version[0]}:{self.version[1]}"


def key_of(kind: str, folder: Path) -> ModelKey:
    weights = Path(folder) / WEIGHTS_NAME
    stat = weights.stat() if weights.exists() else None
    return ModelKey(kind, str(Path(folder).resolve()), (stat.st_mtime_ns, stat.st_size) if stat else (0, 0))


class ModelCache:
    def __init__(self, capacity: dict[str, int]):
        self.capacity = dict(capacity)
        self._entries: OrderedDict[ModelKey, Any] = OrderedDict()  # least recently used first
        self._folders: OrderedDict[tuple[str, str], Path] = OrderedDict()  # (kind, name) -> folder
        self._lock = threading.Lock()

    def get(self, key: ModelKey) -> Any | None:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        return None

    def get_or_load(self, key: ModelKey, load: Callable[[], Any]) -> Any:
        """The entry for ``key``, loading it once (call on the engine's worker: visitors who asked together
        queue there, and the first one's load serves the rest)."""
        entry = self.get(key)
        if entry is not None:
            return entry
        entry = load()
        with self._lock:
            for old in [k for k in self._entries if (k.kind, k.folder) == (key.kind, key.folder)]:
                del self._entries[old]  # an earlier version of the same weights: nobody asks for it again
            self._entries[key] = entry
            kind = [k for k in self._entries if k.kind == key.kind]
            for old in kind[: max(0, len(kind) - self.capacity.get(key.kind, 1))]:
                del self._entries[old]
        return entry

    def folder_for(self, kind: str, name: str, resolve: Callable[[], Path]) -> Path:
        """The folder ``name`` resolved to before (while it still holds a model), else ``resolve()`` remembered."""
        with self._lock:
            folder = self._folders.get((kind, name))
        if folder is None or not (folder / CONFIG_NAME).is_file():
            folder = Path(resolve())
            with self._lock:
                self._folders[(kind, name)] = folder
                while len(self._folders) > MAX_REMEMBERED_SPECS:
                    self._folders.popitem(last=False)
        return folder

    def evict_under(self, folder: Path | None) -> int:
        """Forget the entries whose weights live under ``folder`` (a session that ended); how many went."""
        if folder is None:
            return 0
        prefix = str(Path(folder).resolve())
        with self._lock:
            gone = [key for key in self._entries if key.folder == prefix or key.folder.startswith(prefix + "/")]
            for key in gone:
                del self._entries[key]
        return len(gone)

    def keys(self) -> list[ModelKey]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget every entry and name lookup (tests; or to pick up a Hub repo's new main)."""
        with self._lock:
            self._entries.clear()
            self._folders.clear()


MODELS = ModelCache(CAPACITY)


def _forget_session_models(session: Session) -> None:
    """A session ended: its runs (saved in its folder) leave the cache with it."""
    MODELS.evict_under(session.made_folder)
    for run in list(session.runs.values()):
        MODELS.evict_under(run.folder)


SESSIONS.on_end.append(_forget_session_models)
