"""Live GAN training for one visitor: start, watch, pause, step, stop, save, push.

Plain types in and out; ``owner`` is the visitor's session id. The run belongs to the visitor's
``Session`` (``ganstudio.sessions``) and trains as an engine job (``ganstudio.gan.live_run.LiveRun``, the only
way in to its trainer); only the engine's worker touches its models. Polling reads the job's latest published
snapshot and never waits for the worker.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from ganstudio import checks
from ganstudio.actions import train_view
from ganstudio.actions.visitors import session_of
from ganstudio.engine import get_engine
from ganstudio.errors import BadInput, StudioError
from ganstudio.gan.config import FAMILIES, FIELD_RULES, IMAGE_SETS, PRESETS, TOY_SETS, TrainConfig, check_points
from ganstudio.jobs import CANCELLED, DONE, FAILED, PAUSED, QUEUED, RUNNING, RunLimits
from ganstudio.limits import LIMITS
from ganstudio.sessions import SESSIONS, Run, check_client_quota
from ganstudio.settings import SETTINGS
from ganstudio.weights_io import zip_folder

STEP_TIMEOUT_S = 60.0  # a manual step or a save waits at most this long for the device
RUN_START = threading.Lock()  # a session's runs (the Train tab's, the Text GAN lesson's) start one at a time, quotas taken atomically


# ---- parameters ---------------------------------------------------------------------------


def default_params(data: str, family: str = "gan") -> dict:
    """The preset for `data` as plain values (what the UI shows after choosing a data set), for the model
    ``family`` ("gan" or "vae")."""

    family = checks.choice("model family", family or "gan", FAMILIES)
    return TrainConfig.defaults_for(data, family=family).to_dict()


def recipe_params(name: str, data: str) -> dict:
    """A named recipe (``PRESETS``, e.g. "article": the tutorial articles' fully connected GAN) on ``data``, as
    plain values for the form; the run starts from the form, as any other."""
    recipe = PRESETS[checks.choice("recipe", name, PRESETS)]
    return TrainConfig.defaults_for("uploaded-images" if data == "upload" else data, **recipe).to_dict()


def make_config(params: dict, upload: str | None = None):
    """TrainConfig from UI/API params: the data set's preset, overridden by the given values.

    ``data`` names a built-in set; a visitor's own images come as ``upload`` (the path of a file
    Gradio received). Server folders are accepted only where the host allows paths.
    """

    if not isinstance(params, dict) or not params.get("data"):
        raise BadInput("choose a data set to train on")
    raw = dict(params)
    data = checks.text("data", raw.pop("data"), LIMITS.max_name_chars).strip()
    if upload:
        data = str(upload)
    elif data not in TOY_SETS + IMAGE_SETS and not SETTINGS.allow_paths:
        raise BadInput(f"unknown data set {checks.shown(data)}: choose one of {', '.join(TOY_SETS + IMAGE_SETS)} "
                       "or upload a zip of images")
    raw = {k: v for k, v in raw.items() if v is not None and v != ""}
    unknown = sorted(set(raw) - set(FIELD_RULES))
    if unknown:
        raise BadInput(f"unknown training setting {checks.shown(unknown[0])}")
    cfg = TrainConfig.defaults_for(data, **raw).validate()  # every value cleaned and checked: the CLI's path too
    if SETTINGS.max_run_s:
        if not cfg.seconds and not cfg.steps:
            raise BadInput(f"seconds: runs here last at most {SETTINGS.max_run_s:.0f} s; give a time or step budget")
        if cfg.seconds > SETTINGS.max_run_s:
            raise BadInput(f"seconds must be at most {SETTINGS.max_run_s:.0f} on this server, got {cfg.seconds:g}")
    return cfg


# ---- the custom-points canvas --------------------------------------------------------------

CANVAS_EXTENT = (-1.0, 1.0, -1.0, 1.0)  # data coordinates of the drawing canvas
CANVAS_PX = 320


def custom_canvas(points: list | None = None):
    """The drawing canvas (PIL): the points drawn so far over an empty square."""
    from ganstudio.gan import render

    pts = check_points("custom points", points or [])
    return render.toy_view(CANVAS_EXTENT, real=pts if pts else None, size=CANVAS_PX, point_radius=4)


def add_custom_point(points: list | None, px: float, py: float) -> tuple[list, Any]:
    """A click at pixel (px, py) of the canvas adds a point; returns (points, canvas)."""
    from ganstudio.gan import render

    pts = check_points("custom points", points or [])
    if len(pts) >= LIMITS.max_custom_points:
        raise BadInput(f"at most {LIMITS.max_custom_points} custom points")
    px = checks.number("x", px, 0, CANVAS_PX)
    py = checks.number("y", py, 0, CANVAS_PX)
    x, y = render.ViewTransform(CANVAS_EXTENT, CANVAS_PX).to_data(px, py)
    pts.append([round(x, 4), round(y, 4)])
    return pts, custom_canvas(pts)


# ---- lifecycle ----------------------------------------------------------------------------


def run_limits() -> RunLimits:
    """How long a visitor's run may hold its slot (settings; the CLI's runs have none)."""
    return RunLimits(idle_s=SETTINGS.idle_run_s, paused_s=SETTINGS.paused_run_s, max_s=SETTINGS.max_run_s)


def start_training(owner: str, params: dict, upload: str | None = None, replace: bool = True) -> str:
    """Start a run for this visitor; returns the job id.

    A live run is replaced when ``replace`` (the UI asks the visitor first), else refused.
    """
    from ganstudio.gan.estimate import check_training
    from ganstudio.gan.live_run import LiveRun
    from ganstudio.gan.sources import load_training_data

    session = session_of(owner)
    cfg = make_config(params, upload)  # bad settings fail here, before anything is loaded
    live = _live_run(session)
    if live is not None and not replace:
        raise BadInput("a run is already training: stop it first (or confirm that Start replaces it)")
    check_training(cfg)  # estimated memory, before anything is allocated
    engine = get_engine()
    with RUN_START:
        if any(job.id != (live.job_id if live else None) for job in live_training(session)):
            raise BadInput("a Text GAN run is training in this session: stop it first (one run at a time)")
        if live is None:
            check_client_quota(SESSIONS, session, lambda s: bool(live_training(s)), SETTINGS.runs_per_client,
                               "training runs")
        data = load_training_data(cfg, workdir=session.folder)  # numpy only, bounded; off the worker
        _end_current(session)
        number, name = session.next_run_name(cfg.data if cfg.data_kind == "2d" else Path(cfg.data).stem, cfg.arch,
                                             kind=run_kind(cfg))
        folder = session.new_path("run")
        task = LiveRun(cfg, data, engine.device, folder, prefs=session.view_prefs)
        job = engine.submit_training(task, owner=owner, limits=run_limits(),
                                     on_end=lambda job: task.finish_and_save(save=not session.ending))
        shown_data = cfg.data if cfg.data_kind == "2d" or cfg.data in IMAGE_SETS else "upload"
        session.add_run(Run(name=name, number=number, job_id=job.id, task=task, folder=folder, params=cfg.to_dict(),
                            token=SESSIONS.new_token(session),
                            preview=train_view.preview(shown_data, cfg.custom_points, cfg.seed)))
    return job.id


def run_kind(cfg: TrainConfig) -> str:
    """What sets the run apart, for its name: its classes ("" for a plain GAN)."""
    return "class-conditional" if cfg.conditional else "class read off z" if cfg.class_from_z else ""


def live_training(session) -> list:
    """The session's training jobs that have not ended: a Train-tab run, a Text GAN run (what quotas count)."""
    return [job for job in get_engine().jobs_of(session.id) if not job.finished]


def _live_run(session) -> Run | None:
    run = session.current
    if run is None:
        return None
    job = get_engine().get(run.job_id)
    return run if job is not None and not job.finished else None


def _end_current(session) -> None:
    """Stop this session's live run (it is saved by its on_end callback)."""
    run = session.current
    if run is not None:
        get_engine().stop(run.job_id, "replaced by a new run")


def _current(owner: str) -> Run:
    run = session_of(owner).current
    if run is None:
        raise BadInput("no training run in this session: press Start first")
    return run


def poll_training(owner: str) -> dict:
    """Latest snapshot, job state, a progress line and whether the run is saved. Never waits for the worker."""
    run = session_of(owner).current
    job = get_engine().get(run.job_id) if run is not None else None
    if job is None:
        return {"state": "idle", "error": None, "snapshot": {}, "progress": 0.0, "text": "idle: press Start",
                "ended_by": None, "run": None, "saved": False}
    get_engine().touch(job.id)
    snap = job.snapshot or {}
    text = progress_text(job.state, snap, job.error, job.ended_by)
    if job.finished and run.task.saved:  # a poll that lands after Stop's answer must not hide where the run went
        text += f" · saved as **{run.name}**"
    return {
        "saved": run.task.saved,
        "state": job.state,
        "error": job.error,
        "snapshot": snap,
        "progress": float(snap.get("progress") or 0.0),
        "text": text,
        "job_id": job.id,
        "ended_by": job.ended_by,
        "ending": job.ending,  # finished, still being saved: its buttons are not settled yet
        "run": run.name,
        "family": run.params.get("family", "gan"),  # a VAE has no D: the page offers no Step D / Step G
    }


def progress_text(state: str, snap: dict, error: str | None = None, ended_by: str | None = None) -> str:
    if state == QUEUED:
        return f"queued (position {snap.get('queue_position', '?')}): other runs are using the device"
    if state == FAILED:
        return f"stopped: {error}"
    if not snap:
        return f"{state}: starting…"
    shown = ended_by if state == DONE and ended_by else state
    parts = [shown, f"step {snap.get('step', 0)}" + (f"/{snap['total_steps']}" if snap.get("total_steps") else "")]
    parts.append(f"{snap.get('seconds', 0):.0f} s" + (f"/{snap['budget_seconds']:.0f} s" if snap.get("budget_seconds") else ""))
    parts.append(f"{snap.get('steps_per_s', 0):.0f} steps/s")
    if state == RUNNING and snap.get("eta_s") is not None:
        parts.append(f"ETA {snap['eta_s']:.0f} s")
    if state == RUNNING and snap.get("pace"):
        parts.append(f"pace: {snap['pace']}")
    return " · ".join(parts)


def stop_training(owner: str) -> dict:
    """Stop the run and keep what it learnt (saved in the session, ready for Save and Explore)."""
    run = _current(owner)
    engine = get_engine()
    job = engine.get(run.job_id)
    if job is not None and not job.finished:
        engine.stop(run.job_id, "stopped")
    engine.run(lambda: None, owner=owner, timeout=STEP_TIMEOUT_S)  # the worker has now run the run's on_end (save)
    job = engine.get(run.job_id)
    return {"state": job.state if job else DONE, "saved": run.task.saved, "run": run.name,
            "snapshot": job.snapshot if job else {}}


def pause_training(owner: str) -> dict:
    """Pause the run; while paused the view draws G itself, so each manual step shows."""
    run = _current(owner)
    run.task.manual = True
    get_engine().pause(run.job_id)
    return poll_training(owner)


def resume_training(owner: str) -> dict:
    run = _current(owner)
    engine = get_engine()
    job = engine.get(run.job_id)
    if job is not None and job.state == PAUSED:
        run.task.manual = False
        engine.resume(run.job_id)
    return poll_training(owner)


def single_step(owner: str, which: str = "both") -> dict:
    """One manual update while paused: "d" (discriminator), "g" (generator) or "both" (an iteration)."""
    if which not in ("d", "g", "both"):
        raise BadInput(f"step must be 'd', 'g' or 'both', not {checks.shown(which)}")
    run = _current(owner)
    engine = get_engine()
    job = engine.get(run.job_id)
    if job is None or job.state != PAUSED:
        raise BadInput("pause the run before stepping by hand" if job is not None and not job.finished
                       else "this run has ended: press Start for a new one")

    snap = engine.run(lambda: run.task.step_by_hand(which), owner=owner, timeout=STEP_TIMEOUT_S)
    job.snapshot = snap  # the published snapshot is replaced whole, never mutated
    return {"state": job.state, "snapshot": snap, "progress": float(snap.get("progress") or 0.0),
            "text": progress_text(job.state, snap), "error": None, "ended_by": None, "run": run.name}


def reset(owner: str) -> dict:
    """End and forget this session's current run (its saved files go too)."""
    session = session_of(owner)
    run = session.current
    if run is not None:
        get_engine().cancel(run.job_id)
        get_engine().forget(run.job_id)
        session.forget_run(run)
    return poll_training(owner)


def live_value(owner: str) -> dict:
    """The live view's value for this visitor's current run (its real data, title and frame token)."""
    run = _current(owner)
    return train_view.run_value(run, f"{run.name}")


# ---- results ------------------------------------------------------------------------------


def save_checkpoint(owner: str) -> str:
    """Save the current weights (any time, also while training) and return the path of a zip to download."""
    session = session_of(owner)
    run = _current(owner)
    engine = get_engine()
    job = engine.get(run.job_id)
    if job is not None and not job.finished:
        session.reserve(run.task.checkpoint_bytes() * 2, "saving this run")
        engine.run(run.task.save_now, owner=owner, timeout=STEP_TIMEOUT_S)
    if not run.task.saved:
        raise BadInput("nothing to save yet: let the run train for a moment first")
    target = session.folder / zip_name(run)
    if target.is_file() and target.stat().st_mtime_ns >= (run.folder / "model.safetensors").stat().st_mtime_ns:
        return str(target)  # unchanged weights: the same file (Gradio serves its cached copy again)
    for old in [*session.folder.glob("gan-*.zip"), *session.folder.glob("vae-*.zip")]:  # one download per session
        old.unlink(missing_ok=True)
    session.reserve(_folder_bytes(run.folder), "the checkpoint zip")
    return str(zip_folder(run.folder, target))


def zip_name(run: Run) -> str:
    """A run's download: its family, model, data and number, "gan-mlp-ring8-run3.zip" for "run 3 · ring8 · mlp"."""
    data = re.sub(r"[^A-Za-z0-9._-]", "-", Path(str(run.params["data"])).stem)[:40] or "images"
    return f"{run.params.get('family', 'gan')}-{run.params['arch']}-{data}-run{run.number}.zip"


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def push_checkpoint(owner: str, repo_id: str, token: str | None = None, private: bool = False) -> str:
    """Save and upload this visitor's model to the Hub repo ``owner/name``; returns its URL.

    ``token`` is the visitor's own (from "Sign in with Hugging Face"). On a Space it is required:
    the server's token is never used for a visitor. Locally, without one, the login of the person
    running the app is used.
    """
    from ganstudio.hub_push import push_to_hub

    repo_id = checks.text("repo id", repo_id, LIMITS.max_name_chars, empty="enter a Hub repo id like your-name/my-gan")
    private = checks.boolean("private", private)
    if SETTINGS.on_space and not token:
        raise BadInput("sign in with Hugging Face (the button above the Push box) to push to your own account")
    from ganstudio.gan.io import write_card

    run = _current(owner)
    save_checkpoint(owner)
    write_card(run.folder, repo_id.strip())  # the card's "how to load it" names the repo it goes to
    return push_to_hub(run.folder, repo_id.strip(), token=token or None, private=private,
                       use_login=not SETTINGS.on_space)


def open_latest(owner: str) -> str:
    """The name of this visitor's run to open in Explore: the current one (saved now if it is still
    training), else the newest saved one."""
    run = session_of(owner).current
    if run is not None:
        job = get_engine().get(run.job_id)
        if job is not None and not job.finished:
            save_checkpoint(owner)
        if run.task.saved:
            return run.name
    name = latest_trained(owner)
    if name is None:
        raise BadInput("nothing to open yet: train a model first (Start), then Open in Explore")
    return name


def trained_models(owner: str) -> list[str]:
    """Names of this visitor's saved runs, newest first (what Explore lists)."""
    return [run.name for run in session_of(owner).saved_runs()]


def trained_folder(owner: str, name: str) -> Path | None:
    """The checkpoint folder of this visitor's run ``name`` (None if it is not theirs or not saved)."""
    run = session_of(owner).run_named(name)
    return run.folder if run is not None and run.task.saved else None


def run_figures(owner: str, name: str) -> dict:
    """A saved run's final figures from its checkpoint: steps, seconds of training, metrics."""
    from ganstudio.weights_io import read_config

    folder = trained_folder(owner, name)
    if folder is None:
        raise BadInput(f"no saved run named {name!r} in this session")
    config = read_config(folder, name)
    return {"steps": config.get("steps"), "seconds": config.get("seconds"), "metrics": config.get("metrics") or {}}


def latest_trained(owner: str) -> str | None:
    """The name of this visitor's most recent saved run (Open in Explore shows it)."""
    names = trained_models(owner)
    return names[0] if names else None


pause = pause_training
resume = resume_training

__all__ = [
    "default_params", "make_config", "start_training", "poll_training", "stop_training", "pause_training",
    "resume_training", "single_step", "reset", "save_checkpoint", "push_checkpoint", "trained_models",
    "trained_folder", "run_figures", "latest_trained", "StudioError", "CANCELLED",
]
