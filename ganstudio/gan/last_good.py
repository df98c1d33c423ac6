"""The last weights a run trained without NaN or inf: copied every few training seconds, put back on divergence.

Both trainers (the GAN's and the VAE's) keep one; a step whose numbers are not finite ends the run with the
message ``give_up`` writes, after the nets have their last good weights again.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

EVERY_S = 2.0  # training seconds between copies of the last good weights


class LastGood:
    """A copy of a run's nets (by name) and the step it was taken at."""

    def __init__(self, every_s: float = EVERY_S):
        self.every_s = every_s  # copying costs a state_dict's worth of memory traffic: not every step
        self.state: dict | None = None  # {"step": n, name: state_dict, ...}
        self._at = -math.inf  # training time of the copy

    def keep(self, step: int, train_time: float, nets: dict[str, torch.nn.Module], now: bool = False) -> None:
        """Copy the nets when the last copy is ``every_s`` old (or ``now``: e.g. right after a resume)."""
        if now or self.state is None or train_time - self._at >= self.every_s:
            self.state = {"step": step, **{name: {k: t.detach().clone() for k, t in net.state_dict().items()}
                                           for name, net in nets.items()}}
            self._at = train_time

    def give_up(self, step: int, nets: dict[str, torch.nn.Module], save: Callable[[], object] | None) -> str:
        """The run diverged at ``step``: put the last good weights back, ``save()`` them if given; the message."""
        message = f"training diverged at step {step} (loss became NaN or infinite)"
        if self.state is not None:
            with torch.no_grad():
                for name, net in nets.items():
                    net.load_state_dict(self.state[name])
            message += f"; kept the weights from step {self.state['step']}"
            if save is not None:
                message += f", saved to {save()}"
        return message
