"""A Text GAN run as an engine task (``jobs.TrainingTask``: ``step``, ``done``, ``snapshot``), from its first
update to its saved folder. The command line steps the same object in a plain loop.

Like the Train tab's ``gan.live_run.LiveRun``, a queued run holds only its settings: the trainer (G, D and their
optimisers) is built on the engine's worker at the first step, and dropped once the run has ended and been saved.
The run decides when the quality figures are measured again, and its snapshot is what the page shows: the lines
G writes now with D's verdict on each, the likelihood GPT's lines on the same prompts, and the curves.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganstudio.textgan.config import TextGanConfig

QUALITY_EVERY_S = 5.0  # training seconds between quality measurements (each ~2 % of a step budget's time)


class TextGanRun:
    """Engine task around a lazily built ``TextGanTrainer``; ``gpt_lines`` are the likelihood GPT's lines for
    the same prompts (made before the run starts, or empty where there is none: the command line)."""

    snapshot_every_s = 0.5  # lines decoded and scored twice a second, for the page's one-second poll

    def __init__(self, cfg: TextGanConfig, device: torch.device | str, folder: Path, gpt_lines: list[str] = ()):
        self.cfg, self.device, self.folder = cfg, device, Path(folder)
        self.gpt_lines = list(gpt_lines)
        self.trainer = None  # TextGanTrainer once built; only the worker touches it
        self.ended = False
        self.final: dict = {}  # figures() of the run once it has ended and been saved

    def build(self):
        if self.trainer is None and not self.ended:
            from ganstudio.textgan.trainer import TextGanTrainer

            self.trainer = TextGanTrainer(self.cfg, self.device)
            self.trainer.evaluate()  # the figures at the start, before any update
        return self.trainer

    @property
    def done(self) -> bool:
        return self.ended or (self.trainer is not None and self.trainer.done)

    def step(self) -> None:
        trainer = self.build()
        trainer.step()
        if trainer.train_time - trainer.quality[-1]["seconds"] >= QUALITY_EVERY_S or trainer.done:
            trainer.evaluate()

    def snapshot(self) -> dict:
        """Plain values for the page and the API."""
        t = self.trainer
        if t is None:
            return {}
        cfg = self.cfg
        budget = cfg.seconds or 0.0
        progress = max(t.train_time / budget if budget else 0.0, t.step_count / cfg.steps if cfg.steps else 0.0)
        gpt_scores = t.score_lines(self.gpt_lines)
        return {
            "estimator": cfg.estimator, "temperature": cfg.temperature, "straight_through": cfg.straight_through,
            "step": t.step_count, "seconds": round(t.train_time, 1), "budget_seconds": budget,
            "progress": min(progress, 1.0), "steps_per_s": t.step_count / t.train_time if t.train_time else 0.0,
            "latest": dict(t.latest), "grad_g_max": t.grad_g_max, "g_max_change": t.weights_changed(),
            "history": list(t.history), "quality": list(t.quality),
            "lines": t.lines(cfg.prompts),
            "gpt_lines": [{"prompt": p, "line": line, "d_real": d}
                          for p, line, d in zip(cfg.prompts, self.gpt_lines, gpt_scores)],
        }

    def figures(self) -> dict:
        """What the run achieved, for its checkpoint and the command line's JSON line ({} before it trains)."""
        return self.final if self.trainer is None else _figures(self.trainer, self.cfg)

    def finish_and_save(self, save: bool = True) -> str | None:
        """On the worker once the run has ended: a last measurement, the checkpoint, then the models go.
        Returns the folder (None when the run never trained, or ``save`` is off: its owner left)."""
        from ganstudio.textgan.checkpoint import save_textgan

        t, self.trainer, self.ended = self.trainer, None, True
        if t is None or t.step_count == 0 or not save:
            return None
        if t.quality[-1]["step"] != t.step_count:
            t.evaluate()
        self.final = _figures(t, self.cfg)
        save_textgan(self.folder, t.G, t.D, t.corpus.alphabet, self.cfg, self.final)
        return str(self.folder)

    @property
    def saved(self) -> bool:
        return (self.folder / "config.json").is_file()


def _figures(t, cfg: TextGanConfig) -> dict:
    first, last = t.quality[0], t.quality[-1]
    return {"estimator": cfg.estimator, "steps": t.step_count, "seconds": round(t.train_time, 2),
            "bigram_distance_start": first["bigram"], "bigram_distance_end": last["bigram"],
            "word_share_start": first["words"], "word_share_end": last["words"],
            "grad_g_max": t.grad_g_max, "g_max_change": t.weights_changed()}
