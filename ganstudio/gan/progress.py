"""How far a training run is: its budget (``RunBudget``), its pace (steps per second, time left) and the plain
record it reports.

``GanTrainer.report()`` (and a VAE's, ``ganstudio.vae.trainer``) returns a ``TrainReport``; the live view
(``snapshot.py``), the CLI's progress bar and the engine's run (``live_run.py``) read that record, never the
trainer's insides.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganstudio.gan.history import History

RATE_WINDOW_S = 2.0  # the speed shown is measured over about this many seconds of training
MAX_MARKS = 400  # (seconds, steps) marks kept; the older half is dropped when full


class RunBudget:
    """A trainer's budget, shared by every model family: the larger of steps and seconds used, when it is done,
    and the learning-rate schedule's tail. The trainer keeps ``cfg`` (steps, seconds, lr_decay), ``step_count``,
    ``train_time``, ``stop_requested``, ``diverged`` and ``_finished``."""

    @property
    def progress(self) -> float | None:
        """Fraction of the budget used (the larger of steps and seconds), None without a budget."""
        parts = []
        if self.cfg.steps:
            parts.append(self.step_count / self.cfg.steps)
        if self.cfg.seconds:
            parts.append(self.train_time / self.cfg.seconds)
        return min(max(parts), 1.0) if parts else None

    @property
    def done(self) -> bool:
        return self.stop_requested or self.diverged is not None or (self.progress or 0.0) >= 1.0

    @property
    def finished(self) -> bool:
        """`finish()` has run: final metrics taken and, with an output folder, the checkpoint saved."""
        return self._finished

    def lr_factor(self) -> float:
        """1 until the last `lr_decay` of the budget, then linearly down to 0.1 (sharper samples)."""
        p, tail = self.progress, self.cfg.lr_decay
        if p is None or tail <= 0 or p < 1 - tail:
            return 1.0
        return 1.0 - 0.9 * (p - (1 - tail)) / tail

    def request_stop(self) -> None:
        self.stop_requested = True


class Pace:
    """Steps per training second over the last ~2 s, and the time left under a step or time budget."""

    def __init__(self):
        self._marks: list[tuple[float, int]] = [(0.0, 0)]  # (training seconds, iterations) at each log

    def mark(self, seconds: float, steps: int) -> None:
        self._marks.append((seconds, steps))
        if len(self._marks) > MAX_MARKS:
            del self._marks[:MAX_MARKS // 2]

    def steps_per_second(self) -> float:
        t1, s1 = self._marks[-1]
        for t0, s0 in reversed(self._marks[:-1]):
            if t1 - t0 >= RATE_WINDOW_S:
                break
        else:
            t0, s0 = self._marks[0]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

    def eta_seconds(self, steps: int, seconds: float, budget_steps: int, budget_seconds: float) -> float | None:
        """Seconds left: the sooner of the step and the time budget (None without a budget)."""
        rate, left = self.steps_per_second(), []
        if budget_steps and rate > 0:
            left.append((budget_steps - steps) / rate)
        if budget_seconds:
            left.append(budget_seconds - seconds)
        return max(min(left), 0.0) if left else None


@dataclass(frozen=True)
class TrainReport:
    """A run's numbers at one moment, in plain types (plus its curves, to read only)."""

    step: int  # completed iterations (each ends with a G update)
    d_updates: int  # discriminator updates, manual ones included
    g_updates: int  # generator updates, manual ones included
    seconds: float  # training seconds; pauses don't count
    progress: float | None  # fraction of the budget used, None without a budget
    steps_per_s: float  # over the last ~2 s of training
    eta_s: float | None  # seconds left, None without a budget
    lr_factor: float  # the learning rates' current share of their set values (the end-of-run decay)
    done: bool  # the budget is spent, Stop was pressed, or it diverged
    diverged: str | None  # why it stopped on a NaN/inf loss, in words
    saved_to: str | None  # the folder it was last saved to
    metrics: dict  # the last scores (a copy): 2D mode metrics or a Fréchet distance, with their step
    history: History  # the loss curves, owned by the trainer: read, never written
