"""The Text GAN lesson for one visitor: start, watch, stop. Plain types in and out; ``owner`` is the session id.

A run trains as an engine job (``ganstudio.textgan.live_run.TextGanRun``) under the visitor's session, with the
Train tab's admission: one training run per session at a time (a Train-tab run and a Text GAN run alike), the
per-address quota, the host's run limits (idle, paused, longest run) and Stop. It is saved in the session's folder
when it ends and goes with the session. Polling reads the job's published snapshot and never waits for the worker.

Beside G's lines the page shows the likelihood-trained GPT's (the bundled shakespeare-gpt, from the one model
cache) on the same prompts, made once when the run starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganstudio.actions.text import loaded_gpt
from ganstudio.actions.train import RUN_START, live_training, progress_text, run_limits
from ganstudio.actions.visitors import session_of
from ganstudio.engine import get_engine
from ganstudio.errors import BadInput
from ganstudio.jobs import DONE
from ganstudio.sessions import SESSIONS, check_client_quota
from ganstudio.settings import SETTINGS
from ganstudio.textgan.config import TextGanConfig

LIKELIHOOD_GPT = "shakespeare-gpt"  # the Text tab's bundled GPT, trained by likelihood on the same plays
GPT_TEMPERATURE = 0.8  # the Text tab's default sampling
WAIT_S = 60.0  # a stop or the GPT's lines wait at most this long for the device


@dataclass
class TextGanSlot:
    """A session's latest Text GAN run."""

    job_id: str
    task: object  # the TextGanRun
    folder: Path  # where it is saved when it ends


def make_config(params: dict) -> TextGanConfig:
    """The run ``params`` ask for, every value checked (one line for the first bad one); the host's limit on
    run length applies as it does to the Train tab's runs."""
    cfg = TextGanConfig.from_params({k: v for k, v in (params or {}).items() if v is not None and v != ""})
    if SETTINGS.max_run_s and not (0 < cfg.seconds <= SETTINGS.max_run_s):
        raise BadInput(f"seconds must be between 1 and {SETTINGS.max_run_s:.0f} on this server, got {cfg.seconds:g}")
    return cfg


def likelihood_lines(prompts: list[str], line_chars: int, owner: str = "cli") -> list[str]:
    """The likelihood GPT's continuation of each prompt, cut at the line's end (one seed per prompt)."""
    from ganstudio.gpt.generate import generate_ids
    from ganstudio.gpt.sampling import SamplingConfig

    loaded = loaded_gpt(LIKELIHOOD_GPT, owner)
    tok = loaded.tokenizer

    def write() -> list[str]:
        lines = []
        for seed, prompt in enumerate(prompts):
            cfg = SamplingConfig(max_new_tokens=line_chars, temperature=GPT_TEMPERATURE, seed=seed).validate()
            ids = generate_ids(loaded.model, tok, tok.encode("\n" + prompt), cfg)
            lines.append((prompt + tok.decode(ids)).split("\n")[0][:line_chars])
        return lines

    return get_engine().run(write, owner=owner, timeout=WAIT_S)


def start(owner: str, params: dict) -> str:
    """Start a Text GAN run for this visitor (its previous one is replaced); returns the job id."""
    from ganstudio.textgan.live_run import TextGanRun

    session = session_of(owner)
    cfg = make_config(params)  # bad settings fail here, before anything is loaded or stopped
    gpt_lines = likelihood_lines(cfg.prompts, cfg.line_chars, owner)
    engine = get_engine()
    with RUN_START:
        current = session.textgan
        mine = current.job_id if current is not None else None
        live = [job.id for job in live_training(session)]
        if any(job_id != mine for job_id in live):
            raise BadInput("a Train-tab run is training in this session: stop it first (one run at a time)")
        if not live:  # replacing its own run takes no new slot
            check_client_quota(SESSIONS, session, lambda s: bool(live_training(s)), SETTINGS.runs_per_client,
                               "training runs")
        if mine is not None:
            engine.stop(mine, "replaced by a new run")
        folder = session.new_path("textgan")
        task = TextGanRun(cfg, engine.device, folder, gpt_lines)
        job = engine.submit_training(task, owner=owner, limits=run_limits(),
                                     on_end=lambda job: task.finish_and_save(save=not session.ending))
        session.textgan = TextGanSlot(job.id, task, folder)
    return job.id


def poll(owner: str) -> dict:
    """The run's state, a progress line and its latest snapshot (plain values). Never waits for the worker."""
    slot = session_of(owner).textgan
    job = get_engine().get(slot.job_id) if slot is not None else None
    if job is None:
        return {"state": "idle", "text": "idle: press Start", "snapshot": {}, "saved": False, "error": None}
    get_engine().touch(job.id)
    snap = job.snapshot or {}
    return {"state": job.state, "text": progress_text(job.state, snap, job.error, job.ended_by), "snapshot": snap,
            "saved": slot.task.saved, "error": job.error, "ending": job.ending}


def stop(owner: str) -> dict:
    """Stop the run and keep what it learnt (saved in the session's folder)."""
    slot = session_of(owner).textgan
    if slot is None:
        raise BadInput("no Text GAN run in this session: press Start first")
    engine = get_engine()
    engine.stop(slot.job_id, "stopped")
    engine.run(lambda: None, owner=owner, timeout=WAIT_S)  # the worker has now run the run's on_end (its save)
    job = engine.get(slot.job_id)
    return {"state": job.state if job else DONE, "saved": slot.task.saved, "snapshot": job.snapshot if job else {},
            "figures": slot.task.figures()}

