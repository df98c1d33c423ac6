"""How fast a watched run trains: steps per frame of its live view, from one step at a time to full speed.

At full speed a 2D GAN finds all eight modes of the ring in about a second: too fast to follow. So while a page
watches, a run takes at most ``per_frame`` steps for each frame of its live view, then rests until the next frame
is due. Resting is not sleeping: the run tells the engine (``LiveRun.rest_s``) and the worker serves other
visitors meanwhile. An unwatched run (an API call, a closed tab) trains at full speed; the pace changes how fast a
run goes, never what it learns.

The visitor's setting (``ganstudio.jobs.ViewPrefs.pace``) is a number of steps per frame, ``FULL_SPEED``, or
``SLOW_START`` (the default): a 2D run starts at ``SLOW_START_PER_FRAME`` steps a frame and goes full speed from
iteration ``SLOW_START_STEPS`` on.
"""

from __future__ import annotations

import math

FULL_SPEED = 0
SLOW_START = None
SLOW_START_PER_FRAME = 2  # ring8 shows its first modes forming over ~8 s instead of ~0.3 s
SLOW_START_STEPS = 200  # ... until this iteration, where the ring is mostly found: then full speed
PER_FRAME_CHOICES = (1, 3, 10, 30, 100)  # what the Train tab offers between slow start and full speed
MAX_PER_FRAME = 10_000  # a larger setting is refused (BadInput)


class ViewPace:
    """One run's frames: how many steps the current frame has taken and when it began."""

    def __init__(self, frame_s: float, slow_start: bool):
        self.frame_s = frame_s  # how often the live view gets a frame while watched
        self.slow_start = slow_start  # SLOW_START applies (2D runs); elsewhere it means full speed
        self._frame_at = -math.inf  # perf_counter time the current frame's first step was taken
        self._steps = 0  # steps taken in it

    def per_frame(self, setting: int | None, step: int) -> int:
        """Steps per frame under ``setting`` at iteration ``step``; 0 is full speed."""
        if setting is SLOW_START:
            return SLOW_START_PER_FRAME if self.slow_start and step < SLOW_START_STEPS else FULL_SPEED
        return int(setting)

    def stepped(self, now: float) -> None:
        """A step was taken at ``now``: it counts towards the current frame, or begins the next one."""
        if now - self._frame_at >= self.frame_s:
            self._frame_at, self._steps = now, 0
        self._steps += 1

    def rest_s(self, setting: int | None, step: int, now: float) -> float:
        """Seconds to wait before the next step: 0 while the frame has steps left (or at full speed)."""
        limit = self.per_frame(setting, step)
        if limit == FULL_SPEED or self._steps < limit:
            return 0.0
        return max(0.0, self._frame_at + self.frame_s - now)

    def describe(self, setting: int | None, step: int) -> str:
        """The pace in words, for the status line."""
        limit = self.per_frame(setting, step)
        if limit == FULL_SPEED:
            return "full speed"
        rate = f"{limit} step{'s' if limit > 1 else ''} a frame (≤ {limit / self.frame_s:.0f} steps/s)"
        if setting is SLOW_START:
            return f"slow start: {rate}, full speed from step {SLOW_START_STEPS}"
        return rate
