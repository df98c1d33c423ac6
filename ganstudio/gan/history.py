"""Training curves kept small: per-step values are averaged into at most MAX_POINTS points.

When the curve fills up, neighbouring points merge and each new point averages twice as many
steps, so a long run still plots its whole history cheaply.
"""

from __future__ import annotations

SERIES = ("loss_d", "loss_g", "d_real", "d_fake", "grad_d", "grad_g")  # a GAN's curves (a VAE names its own)
MAX_POINTS = 400


class History:
    def __init__(self, series: tuple[str, ...] = SERIES):
        self.series = series  # the curves kept, by name
        self.every = 1  # steps averaged into one point
        self.points: dict[str, list[float]] = {"step": [], **{name: [] for name in series}}
        self.latest: dict[str, float] = {}
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._pending_steps = 0

    def add(self, step: int, values: dict[str, float]) -> None:
        """Record one iteration's values (any subset of the series)."""
        for name, value in values.items():
            self._sums[name] = self._sums.get(name, 0.0) + value
            self._counts[name] = self._counts.get(name, 0) + 1
            self.latest[name] = value
        self._pending_steps += 1
        if self._pending_steps >= self.every:
            self._flush(step)

    def _flush(self, step: int) -> None:
        self.points["step"].append(step)
        for name in self.series:
            count = self._counts.get(name, 0)
            last = self.points[name][-1] if self.points[name] else None
            self.points[name].append(self._sums[name] / count if count else last)
        self._sums, self._counts, self._pending_steps = {}, {}, 0
        if len(self.points["step"]) > MAX_POINTS:
            self._merge()

    def _merge(self) -> None:
        for name, values in self.points.items():
            if name == "step":
                self.points[name] = values[1::2] if len(values) % 2 == 0 else values[0:1] + values[2::2]
                continue
            merged = [_mean(values[i], values[i + 1]) for i in range(len(values) % 2, len(values), 2)]
            self.points[name] = values[:1] + merged if len(values) % 2 else merged
        self.every *= 2

    def as_dict(self) -> dict[str, list]:
        return {name: list(values) for name, values in self.points.items()}


def _mean(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return b if a is None else a
    return (a + b) / 2
