"""Live GAN training for one browser session: start, watch, pause, step, stop, save, push.

Plain types in and out. The trainer runs as an engine training job; only the engine's worker
touches its models (construction, manual steps, saving go through `engine.run`). Polling
reads the job's latest published snapshot and never waits for the worker.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganstudio.engine import CANCELLED, DONE, FAILED, PAUSED, QUEUED, RUNNING, get_engine
from ganstudio.errors import BadInput, StudioError
from ganstudio.settings import SETTINGS
from ganstudio.weights_io import zip_folder

STEP_TIMEOUT_S = 60.0  # a manual step or a save waits at most this long for the device


@dataclass
class _Run:
    job_id: str
    trainer: Any  # GanTrainer; touched only on the engine's worker
    run_dir: Path
    params: dict


_runs: dict[str, _Run] = {}
_last_model: dict[str, str] = {}
_lock = threading.Lock()


# ---- parameters ---------------------------------------------------------------------------


def default_params(data: str) -> dict:
    """The preset for `data` as plain values (what the UI shows after choosing a data set)."""
    from ganstudio.gan.config import TrainConfig

    return TrainConfig.defaults_for(data).to_dict()


def make_config(params: dict):
    """TrainConfig from UI/API params: the data set's preset, overridden by the given values."""
    from ganstudio.gan.config import TrainConfig

    if not isinstance(params, dict) or not params.get("data"):
        raise BadInput("choose a data set to train on")
    raw = dict(params)
    data = str(raw.pop("data")).strip()
    raw = {k: v for k, v in raw.items() if v is not None and v != ""}
    for key in ("steps", "batch_size", "z_dim", "d_steps", "hidden", "depth", "width", "heads", "image_size", "seed"):
        if key in raw and isinstance(raw[key], float) and raw[key].is_integer():
            raw[key] = int(raw[key])  # sliders and number boxes send floats
    if "custom_points" in raw:
        raw["custom_points"] = [[float(x), float(y)] for x, y in raw["custom_points"]]
    try:
        cfg = TrainConfig.defaults_for(data, **raw)
    except TypeError as err:
        raise BadInput(f"unknown training setting ({err})") from None
    return cfg.validate()


def _run_dir(owner: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_-]", "", owner)[:24] or "session"
    return Path(SETTINGS.data_dir) / "runs" / f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}" / "model"


# ---- the custom-points canvas --------------------------------------------------------------

CANVAS_EXTENT = (-1.0, 1.0, -1.0, 1.0)  # data coordinates of the drawing canvas
CANVAS_PX = 320
MAX_CUSTOM_POINTS = 500


def custom_canvas(points: list | None = None):
    """The drawing canvas (PIL): the points drawn so far over an empty square."""
    from ganstudio.gan import render

    pts = [[float(x), float(y)] for x, y in (points or [])]
    return render.toy_view(CANVAS_EXTENT, real=pts if pts else None, size=CANVAS_PX, point_radius=4)


def add_custom_point(points: list | None, px: float, py: float) -> tuple[list, Any]:
    """A click at pixel (px, py) of the canvas adds a point; returns (points, canvas)."""
    from ganstudio.gan import render

    pts = [list(p) for p in (points or [])]
    if len(pts) >= MAX_CUSTOM_POINTS:
        raise BadInput(f"at most {MAX_CUSTOM_POINTS} custom points")
    x, y = render.ViewTransform(CANVAS_EXTENT, CANVAS_PX).to_data(float(px), float(py))
    pts.append([round(x, 4), round(y, 4)])
    return pts, custom_canvas(pts)


# ---- lifecycle ----------------------------------------------------------------------------


def start_training(owner: str, params: dict) -> str:
    """Start a run for this session (replacing its previous one); returns the job id."""
    from ganstudio.gan.sources import load_training_data
    from ganstudio.gan.trainer import GanTrainer

    cfg = make_config(params)  # bad settings fail here, before anything is loaded
    data = load_training_data(cfg)  # numpy only: fine off the worker
    _cancel_current(owner)
    engine = get_engine()
    run_dir = _run_dir(owner)
    trainer = engine.run(lambda: GanTrainer(cfg, engine.device, data=data, out_dir=run_dir), owner=owner)
    job = engine.submit_training(trainer, owner=owner)
    with _lock:
        _runs[owner] = _Run(job.id, trainer, run_dir, cfg.to_dict())
    return job.id


def _cancel_current(owner: str) -> None:
    engine = get_engine()
    with _lock:
        run = _runs.pop(owner, None)
    if run is not None:
        engine.cancel(run.job_id)
        engine.forget(run.job_id)
    for job in engine.jobs_of(owner):  # anything else this session left running
        if job.kind == "train" and not job.finished:
            engine.cancel(job.id)


def _current(owner: str) -> _Run:
    with _lock:
        run = _runs.get(owner)
    if run is None:
        raise BadInput("no training run in this session: press Start first")
    return run


def poll_training(owner: str) -> dict:
    """Latest snapshot, job state and a progress line. Never waits for the worker."""
    with _lock:
        run = _runs.get(owner)
    if run is None:
        return {"state": "idle", "error": None, "snapshot": {}, "progress": 0.0, "text": "idle: press Start"}
    job = get_engine().get(run.job_id)
    if job is None:
        return {"state": "idle", "error": None, "snapshot": {}, "progress": 0.0, "text": "idle: press Start"}
    snap = job.snapshot or {}
    if job.state == DONE and snap.get("saved_to"):
        _last_model[owner] = snap["saved_to"]
    return {
        "state": job.state,
        "error": job.error,
        "snapshot": snap,
        "progress": float(snap.get("progress") or 0.0),
        "text": progress_text(job.state, snap, job.error),
        "job_id": job.id,
    }


def progress_text(state: str, snap: dict, error: str | None = None) -> str:
    if state == QUEUED:
        return f"queued (position {snap.get('queue_position', '?')}): other runs are using the device"
    if state == FAILED:
        return f"stopped: {error}"
    if not snap:
        return f"{state}: starting…"
    parts = [f"{state}", f"step {snap.get('step', 0)}" + (f"/{snap['total_steps']}" if snap.get("total_steps") else "")]
    parts.append(f"{snap.get('seconds', 0):.0f} s" + (f"/{snap['budget_seconds']:.0f} s" if snap.get("budget_seconds") else ""))
    parts.append(f"{snap.get('steps_per_s', 0):.0f} steps/s")
    if state == RUNNING and snap.get("eta_s") is not None:
        parts.append(f"ETA {snap['eta_s']:.0f} s")
    return " · ".join(parts)


def stop_training(owner: str) -> dict:
    """Stop the run and keep what it learnt (saved as a model folder)."""
    run = _current(owner)
    engine = get_engine()
    job = engine.get(run.job_id)
    if job is not None and not job.finished:
        engine.cancel(run.job_id)
    state = job.state if job is not None else CANCELLED
    saved = None
    if run.trainer.diverged is None:
        saved = engine.run(lambda: _stop_and_save(run), owner=owner, timeout=STEP_TIMEOUT_S)
        _last_model[owner] = saved
    return {"state": state, "saved_to": saved, "snapshot": engine.run(lambda: run.trainer.snapshot(force=True), owner=owner)}


def _stop_and_save(run: _Run) -> str:
    trainer = run.trainer
    trainer.request_stop()
    if not trainer._finished:
        trainer.finish(evaluate=trainer.data_kind == "2d")  # image FID is slow: the last live score stands
    if trainer.saved_to is None:
        trainer.save(run.run_dir)
    return trainer.saved_to


def pause_training(owner: str) -> dict:
    run = _current(owner)
    get_engine().pause(run.job_id)
    return poll_training(owner)


def resume_training(owner: str) -> dict:
    run = _current(owner)
    engine = get_engine()
    job = engine.get(run.job_id)
    if job is not None and job.state == PAUSED:
        engine.resume(run.job_id)
    return poll_training(owner)


def single_step(owner: str, which: str = "both") -> dict:
    """One manual update while paused: "d" (discriminator), "g" (generator) or "both" (an iteration)."""
    if which not in ("d", "g", "both"):
        raise BadInput(f"step must be 'd', 'g' or 'both', not {which!r}")
    run = _current(owner)
    engine = get_engine()
    job = engine.get(run.job_id)
    if job is not None and job.state in (RUNNING, QUEUED):
        raise BadInput("pause training before stepping by hand")
    trainer = run.trainer
    action = {"d": trainer.step_d, "g": trainer.step_g, "both": trainer.step}[which]

    def work() -> dict:
        action()
        return trainer.snapshot(force=True)

    snap = engine.run(work, owner=owner, timeout=STEP_TIMEOUT_S)
    if job is not None:
        job.snapshot = snap  # the published snapshot is replaced whole, never mutated
    return {"state": job.state if job else PAUSED, "snapshot": snap, "progress": float(snap.get("progress") or 0.0),
            "text": progress_text(job.state if job else PAUSED, snap), "error": None}


def reset(owner: str) -> dict:
    """Cancel and forget this session's run."""
    _cancel_current(owner)
    return poll_training(owner)


# ---- results ------------------------------------------------------------------------------


def save_checkpoint(owner: str) -> str:
    """Save the current weights (any time, also while training) and return the path of a zip."""
    run = _current(owner)
    engine = get_engine()
    folder = engine.run(lambda: str(run.trainer.save(run.run_dir)), owner=owner, timeout=STEP_TIMEOUT_S)
    _last_model[owner] = folder
    return str(zip_folder(folder, Path(folder).parent / f"gan-{run.params['data']}-{run.params['arch']}.zip"))


def push_checkpoint(owner: str, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Save and upload the model to the Hub repo `owner/name`; returns its URL."""
    from ganstudio.hub import push_to_hub

    if not repo_id or not str(repo_id).strip():
        raise BadInput("enter a Hub repo id like your-name/my-gan")
    save_checkpoint(owner)
    return push_to_hub(_last_model[owner], str(repo_id).strip(), token=token or None, private=private)


def last_trained_model(owner: str) -> str | None:
    """Folder of this session's latest saved model (for Explore), or None."""
    poll_training(owner)  # notices a run that finished and saved itself
    path = _last_model.get(owner)
    return path if path and Path(path).is_dir() else None


def forget_session(owner: str) -> None:
    """The browser session ended (its jobs were cancelled by the engine)."""
    with _lock:
        _runs.pop(owner, None)
    _last_model.pop(owner, None)


pause = pause_training
resume = resume_training

__all__ = [
    "default_params", "make_config", "start_training", "poll_training", "stop_training", "pause_training",
    "resume_training", "single_step", "reset", "save_checkpoint", "push_checkpoint", "last_trained_model",
    "forget_session", "StudioError",
]
