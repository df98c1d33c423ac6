"""A visitor's training run (a GAN or a VAE: ``families.make_trainer``) as an engine task, from its first step to its saved folder.

A queued run holds only its settings and its (already decoded) data; the trainer, with its
models and optimisers, is built on the engine's worker when the run first gets the device and is
dropped once the run has ended and been saved. So memory follows the runs that are training,
not the queue.

The run owns its snapshots: it decides when the generator is scored again (live metrics), asks the
trainer for its plain ``report()`` and ``players()``, and has ``SnapshotRenderer`` draw them. The Train
actions reach the trainer only through it (manual steps, saving now, the size of a checkpoint).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from ganstudio.device import cpu_threads
from ganstudio.gan.config import TrainConfig
from ganstudio.gan.live_pace import ViewPace
from ganstudio.jobs import ViewPrefs

WATCH_GRACE_S = 2.0  # a page that asked for a frame this recently is still watching
FRAME_2D_S = 0.08  # while watched, a 2D run (data, cheap to send) publishes a frame this often
FRAME_IMAGE_S = 0.4  # ... and an image run (a forward pass and a PNG each) this often
UNWATCHED_S = 0.5  # unwatched, twice a second (the numbers for polls)
METRICS_EVERY_S = 1.0  # 2D mode metrics (2,500 samples) at most this often
METRICS_SHARE = 20  # ... and a 2D score that takes c s waits METRICS_SHARE * c for the next (~5% of the time)
CHECKPOINT_OVERHEAD_BYTES = 500_000  # a checkpoint's card, config and sample picture, besides the weights


class LiveRun:
    """Engine task (``step``, ``done``, ``snapshot``) around a lazily built ``GanTrainer`` or ``VaeTrainer``."""

    def __init__(self, cfg: TrainConfig, data: Any, device: torch.device, folder: Path,
                 prefs: ViewPrefs | None = None):
        self.cfg, self.device, self.folder = cfg, device, Path(folder)
        self.prefs = prefs if prefs is not None else ViewPrefs()  # the watcher's; read at every step, never copied
        self._pace = ViewPace(self._frame_s, slow_start=cfg.data_kind == "2d")
        self._data = data  # decoded training data (numpy), handed to the trainer when it is built
        self.trainer = None  # GanTrainer or VaeTrainer once built; only the worker touches it
        self._renderer = None  # its SnapshotRenderer, built with it
        self.ended = False
        self.manual = False  # paused and stepped by hand: the view draws G itself, not its slow EMA copy
        self.watched_at = -1e9  # monotonic time a page last asked for this run's frames
        self._scored_at = -1e9  # perf_counter time of the last live 2D score
        self._score_cost = 0.0  # how long it took
        self._fid_at = 0.0  # training seconds at the last live image score

    @property
    def _frame_s(self) -> float:
        return FRAME_2D_S if self.cfg.data_kind == "2d" else FRAME_IMAGE_S

    @property
    def watched(self) -> bool:
        return time.monotonic() - self.watched_at <= WATCH_GRACE_S

    @property
    def snapshot_every_s(self) -> float:
        """How often the engine publishes a snapshot while training: a frame of the live view while a page is
        watching, else twice a second (the numbers for polls). A paced run's frame is published when its steps
        are made (``rest_s``), so the clock publishes one only when they take longer than two frames."""
        if not self.watched:
            return UNWATCHED_S
        paced = self.trainer is not None and self._pace.per_frame(self.prefs.pace, self.trainer.step_count) > 0
        return self._frame_s * (2 if paced else 1)

    def rest_s(self) -> float:
        """Seconds this run leaves the device to others before its next step: the watcher's pace (live_pace.py)."""
        if self.trainer is None or not self.watched:
            return 0.0
        return self._pace.rest_s(self.prefs.pace, self.trainer.step_count, time.perf_counter())

    def pace_text(self) -> str | None:
        """The pace in words while a page watches (None otherwise: it trains at full speed)."""
        if self.trainer is None or not self.watched:
            return None
        return self._pace.describe(self.prefs.pace, self.trainer.step_count)

    # ---- engine task ------------------------------------------------------------------

    def build(self):
        """The trainer, built on first use (call on the worker)."""
        if self.trainer is None and not self.ended:
            from ganstudio.gan.families import make_trainer
            from ganstudio.gan.snapshot import SnapshotRenderer

            self.trainer = t = make_trainer(self.cfg, self.device, data=self._data, out_dir=self.folder)
            self._renderer = SnapshotRenderer(t.cfg, t.spec, t.device, t.source.toy)
            self._data = None
        return self.trainer

    @property
    def done(self) -> bool:
        return self.ended or (self.trainer is not None and self.trainer.done)

    def step(self) -> None:
        self.build().step()
        self._pace.stepped(time.perf_counter())

    def snapshot(self, force: bool = False) -> dict:
        """Plain-type view of the run for the UI (snapshot.py) and its pace in words; cheap unless ``force``."""
        return {} if self.trainer is None else self._snapshot(force, raw=self.manual)

    def _snapshot(self, force: bool, raw: bool, before=None) -> dict:
        trainer = self.trainer
        with cpu_threads(trainer.step_threads):
            self._maybe_score(trainer)
            snap = self._renderer.snapshot(trainer.report(), trainer.players(raw), force, arrows=self.prefs.arrows,
                                           before=before)
        return {**snap, "pace": self.pace_text()}

    def _maybe_score(self, trainer) -> None:
        """Score the generator again when it is due: 2D runs at most ~5% of the time, image runs every
        ``metric_every_s`` training seconds (a Fréchet distance is slow). Never after the final score."""
        if trainer.finished:
            return
        now = time.perf_counter()
        if trainer.data_kind == "2d":
            if now - self._scored_at >= max(METRICS_EVERY_S, METRICS_SHARE * self._score_cost) and trainer.step_count:
                trainer.evaluate()
                self._score_cost, self._scored_at = time.perf_counter() - now, now
            return
        every = self.cfg.metric_every_s
        if every and trainer.train_time - self._fid_at >= every:
            self._fid_at = trainer.train_time
            trainer.evaluate()

    # ---- by hand, while paused (on the worker) ------------------------------------------

    def step_by_hand(self, which: str) -> dict:
        """One manual update: "d" (discriminator), "g" (generator) or "both" (an iteration); returns the fresh
        snapshot, drawn with G itself so that the step shows, with the 2D view's state before it (ghosts) and G's
        push on each point."""
        trainer = self.build()
        with cpu_threads(trainer.step_threads):
            before = self._renderer.before_step(trainer.players(raw=True), which)
        {"d": trainer.step_d, "g": trainer.step_g, "both": trainer.step}[which]()
        return self._snapshot(force=True, raw=True, before=before)

    def switch_loss(self, loss: str) -> dict:
        """Change G's loss without restarting (a lesson's switch, on the worker); returns the curves up to now."""
        trainer = self.build()
        history = trainer.report().history.as_dict()
        trainer.set_loss(loss)
        return history

    def save_now(self) -> None:
        """Write the current weights to the run's folder (also while it trains); nothing before its first step."""
        if self.trainer is not None and self.trainer.step_count:
            self.trainer.save(self.folder)

    def checkpoint_bytes(self) -> int:
        """About how many bytes a checkpoint of this run takes (0 before it is built)."""
        if self.trainer is None:
            return 0
        weights = sum(p.numel() * 4 for net in self.trainer.nets().values() for p in net.parameters())
        return weights + CHECKPOINT_OVERHEAD_BYTES

    # ---- after the run ----------------------------------------------------------------

    def finish_and_save(self, save: bool = True) -> str | None:
        """On the worker once the run has ended: final metrics, checkpoint, then free the models.

        Returns the saved folder (None when the run never trained, or ``save`` is off: its owner left).
        """
        trainer, self.trainer, self._renderer, self._data, self.ended = self.trainer, None, None, None, True
        if trainer is None or trainer.step_count == 0 or not save:
            return None
        trainer.request_stop()
        if not trainer.finished:
            trainer.finish(evaluate=trainer.data_kind == "2d")  # image FID is slow: the last live score stands
        if trainer.saved_to is None:
            trainer.save(self.folder)
        return trainer.saved_to

    @property
    def saved(self) -> bool:
        return (self.folder / "config.json").is_file()
