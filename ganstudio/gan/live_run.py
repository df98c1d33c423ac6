"""A visitor's GAN training run as an engine task: built on the worker when its turn comes.

A queued run holds only its settings and its (already decoded) data; the trainer, with its
models and optimisers, is built on the engine's worker when the run first gets the device and is
dropped once the run has ended and been saved. So memory follows the runs that are training,
not the queue.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from ganstudio.gan.config import TrainConfig

WATCH_GRACE_S = 2.0  # a page that asked for a frame this recently is still watching


class LiveRun:
    """Engine task (``step``, ``done``, ``snapshot``) around a lazily built ``GanTrainer``."""

    def __init__(self, cfg: TrainConfig, data: Any, device: torch.device, folder: Path):
        self.cfg, self.device, self.folder = cfg, device, Path(folder)
        self._data = data  # decoded training data (numpy), handed to the trainer when it is built
        self.trainer = None  # GanTrainer once built; only the worker touches it
        self.ended = False
        self.manual = False  # paused and stepped by hand: the view draws G itself, not its slow EMA copy
        self.watched_at = -1e9  # monotonic time a page last asked for this run's frames

    @property
    def snapshot_every_s(self) -> float:
        """How often the engine publishes a snapshot while training: while a page is watching, the 2D view
        (data, cheap) ~12 times a second and image grids (a forward pass and a PNG each) ~2.5 times; unwatched,
        twice a second (the numbers for polls)."""
        if time.monotonic() - self.watched_at > WATCH_GRACE_S:
            return 0.5
        return 0.08 if self.cfg.data_kind == "2d" else 0.4

    # ---- engine task ------------------------------------------------------------------

    def build(self):
        """The trainer, built on first use (call on the worker)."""
        if self.trainer is None and not self.ended:
            from ganstudio.gan.trainer import GanTrainer

            self.trainer = GanTrainer(self.cfg, self.device, data=self._data, out_dir=self.folder)
            self._data = None
        return self.trainer

    @property
    def done(self) -> bool:
        return self.ended or (self.trainer is not None and self.trainer.done)

    def step(self) -> None:
        self.build().step()

    def snapshot(self, force: bool = False) -> dict:
        return {} if self.trainer is None else self.trainer.snapshot(force, raw=self.manual)

    # ---- after the run ----------------------------------------------------------------

    def finish_and_save(self, save: bool = True) -> str | None:
        """On the worker once the run has ended: final metrics, checkpoint, then free the models.

        Returns the saved folder (None when the run never trained, or ``save`` is off: its owner left).
        """
        trainer, self.trainer, self._data, self.ended = self.trainer, None, None, True
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
