"""What the Train tab's live view shows: the real data before Start, then the run's frames, at the visitor's pace.

Plain types in and out. ``preview`` is computed from the data set alone (numpy, no model); frames
are read from the run's published snapshot and never wait for the training worker. ``set_pace`` and
``show_arrows`` change how this visitor's runs are watched (their session's ``ViewPrefs``), the live one included.
"""

from __future__ import annotations

import base64
import io
import time
from functools import lru_cache

import numpy as np

from ganstudio import checks
from ganstudio.actions.visitors import session_of
from ganstudio.engine import get_engine
from ganstudio.errors import StudioError
from ganstudio.limits import LIMITS
from ganstudio.sessions import SESSIONS

PREVIEW_PER_CLASS = 6  # real images of each class shown before an image run starts (a row per class's turn)
PREVIEW_IMAGES = 64  # ... or this many, for a data set without classes
SLOW_START, FULL_SPEED = "slow start", "full speed"  # the pace's two words (else a number of steps per frame)

TOY_TITLES = {"ring8": "8 Gaussians on a ring", "grid25": "25 Gaussians on a grid", "spiral": "a two-arm spiral",
              "moons": "two moons", "custom": "your points"}


def preview(data: str, points: list | None = None, seed: int = 0) -> dict:
    """The live view's value before a run: the real data (2D points and modes, or a grid of real images)."""
    from ganstudio.gan.config import TOY_SETS

    data = checks.text("data", data, LIMITS.max_name_chars).strip()
    seed = checks.integer("seed", seed or 0, 0, LIMITS.max_seed)
    if data in TOY_SETS:
        return _toy_preview(data, points, seed)
    if data == "digits":
        return {"kind": "image", "token": None, "title": "Real digits, every class (the training data): press Start",
                "png": _digits_png()}
    return {"kind": "image", "token": None, "title": "Press Start: the samples appear here as G learns", "png": None}


def _toy_preview(data: str, points: list | None, seed: int) -> dict:
    from ganstudio.gan.data2d import make_toy
    from ganstudio.gan.snapshot import REAL_SEED_OFFSET, SHOWN_POINTS, pack_points

    if data == "custom" and not points:
        return {"kind": "2d", "token": None, "title": "Click the canvas on the left to draw your data",
                "extent": [-1.0, 1.0, -1.0, 1.0], "real": "", "modes": None}
    try:
        toy = make_toy(data, points or [])
    except StudioError:
        return {"kind": "2d", "token": None, "title": "Draw some points first", "extent": [-1, 1, -1, 1], "real": ""}
    real = toy.numpy_sample(SHOWN_POINTS, seed=seed + REAL_SEED_OFFSET)
    modes = None if toy.modes is None else [[round(float(x), 4), round(float(y), 4), None] for x, y in toy.modes]
    return {"kind": "2d", "token": None, "title": f"Real data: {TOY_TITLES.get(data, data)}",
            "extent": [float(v) for v in toy.extent], "real": pack_points(real, toy.extent), "modes": modes}


@lru_cache(maxsize=1)
def _digits_png() -> str:
    from PIL import Image

    from ganstudio.gan import render
    from ganstudio.gan.images import load_images

    data = load_images("digits")  # x: (N, 28, 28, 1) uint8; the file is sorted by class
    order = fair_sample(data.labels, PREVIEW_PER_CLASS) if data.labels is not None else np.arange(PREVIEW_IMAGES)
    columns = data.n_classes or 8
    picture = render.image_grid(data.x[order], nrow=columns, min_side=0).convert("L")
    buffer = io.BytesIO()
    Image.Image.save(picture, buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def fair_sample(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of ``per_class`` images of every class, in rows of one image per class (0, 1, …, 0, 1, …): a fair
    picture of a data set however its file is sorted. The first of each class are taken (the same every time)."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    picks = [np.flatnonzero(labels == c)[:per_class] for c in classes]
    rows = min(len(p) for p in picks)
    return np.stack([p[:rows] for p in picks], axis=1).reshape(-1)


def run_value(run, title: str) -> dict:
    """The live view's value for a started run: its preview (the real data) plus the token frames are asked with."""
    return {**run.preview, "token": run.token, "title": title}


def _job_of(token, watching: bool = False):
    if not isinstance(token, str) or not 8 <= len(token) <= 64:
        return None
    run = SESSIONS.run_with_token(token)
    if run is None:
        return None
    if watching:
        run.task.watched_at = time.monotonic()  # the run publishes frames at full rate while a page watches
    return get_engine().get(run.job_id)


def _version(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def live_curves(token, version) -> dict | None:
    """The run's training curves (history, at most a few hundred points each) if newer than ``version``."""
    job = _job_of(token)
    snap = (job.snapshot or {}) if job is not None else {}
    if not snap.get("history") or snap.get("curves_version", 0) <= _version(version):
        return None
    return {"token": token, "version": snap["curves_version"], "history": snap["history"],
            "d_output": snap.get("d_output"), "loss": snap.get("loss")}


def live_frame(token, version) -> dict | None:
    """The run's latest view if it is newer than ``version`` (None when nothing changed or the token is unknown).

    Asking counts as watching: a run whose page still asks for frames is not idle.
    """
    job = _job_of(token, watching=True)
    if job is None:
        return None
    get_engine().touch(job.id)
    view = (job.snapshot or {}).get("view") or {}
    if not view or view.get("version", 0) <= _version(version):
        return None
    return {"token": token, "version": view["version"], "view": view}


# ---- how the visitor watches -------------------------------------------------------------------


def set_pace(owner: str, pace) -> str:
    """The live view's pace for this visitor's runs, the live one at once: "slow start" (2D runs start slowly),
    "full speed", or a number of steps per frame. Returns the pace as set, in words."""
    from ganstudio.gan import live_pace

    word = checks.text("pace", str(pace), LIMITS.max_name_chars).strip().lower()
    if word == SLOW_START:
        value = live_pace.SLOW_START
    elif word == FULL_SPEED:
        value = live_pace.FULL_SPEED
    else:
        value = checks.integer("pace (steps per frame)", word, 1, live_pace.MAX_PER_FRAME)
    session_of(owner).view_prefs.pace = value
    return word if word in (SLOW_START, FULL_SPEED) else f"{value} steps per frame"


def show_arrows(owner: str, on) -> bool:
    """Draw G's push on each generated point while this visitor's runs train (manual steps always draw it)."""
    session_of(owner).view_prefs.arrows = on = checks.boolean("arrows", on)
    return on
