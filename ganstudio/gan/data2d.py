"""2D toy distributions. ring8 and grid25 follow the PacGAN protocol exactly.

ring8: 8 Gaussians with means (cos 2πk/8, sin 2πk/8), std 0.01.
grid25: 25 Gaussians with means {-4, -2, 0, 2, 4}², std 0.05.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ganstudio.errors import BadInput


@dataclass
class Toy2D:
    """A 2D distribution the trainer can draw batches from; labels are the mode / arm / moon index."""

    name: str
    modes: np.ndarray | None  # (M, 2) Gaussian means for mode-counting metrics; None for curves
    std: float  # per-axis std of each mode (or the noise around a curve)
    scale: float  # typical coordinate magnitude; models work in units of it
    extent: tuple[float, float, float, float]  # (xmin, xmax, ymin, ymax) of the view
    n_classes: int  # labels available for conditional training (0 = none)

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """`n` points (n, 2) float32 and their labels (n,) int64, drawn with `generator` (a CPU generator)."""
        x, y = _SAMPLERS[self.name](self, n, generator)
        return x.to(device, non_blocking=True), y.to(device, non_blocking=True)

    def numpy_sample(self, n: int, seed: int = 0) -> np.ndarray:
        return self.sample(n, torch.Generator().manual_seed(seed))[0].numpy()


def _mixture(toy: Toy2D, n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    means = torch.as_tensor(toy.modes, dtype=torch.float32)
    k = torch.randint(len(means), (n,), generator=g)
    return means[k] + toy.std * torch.randn(n, 2, generator=g), k


def _spiral(toy: Toy2D, n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    arm = torch.randint(2, (n,), generator=g)
    t = 0.15 + 0.85 * torch.rand(n, generator=g).sqrt()  # sqrt: even density along the growing arm
    angle = 3 * math.pi * t + math.pi * arm
    x = torch.stack([t * angle.cos(), t * angle.sin()], dim=1)
    return x + toy.std * torch.randn(n, 2, generator=g), arm


def _moons(toy: Toy2D, n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    moon = torch.randint(2, (n,), generator=g)
    theta = math.pi * torch.rand(n, generator=g)
    upper = torch.stack([theta.cos(), theta.sin()], dim=1)
    lower = torch.stack([1 - theta.cos(), 0.5 - theta.sin()], dim=1)
    x = torch.where(moon[:, None] == 0, upper, lower) - torch.tensor([0.5, 0.25])
    return x + toy.std * torch.randn(n, 2, generator=g), moon


_SAMPLERS = {"ring8": _mixture, "grid25": _mixture, "custom": _mixture, "spiral": _spiral, "moons": _moons}


def ring8() -> Toy2D:
    angles = 2 * np.pi * np.arange(8) / 8
    modes = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return Toy2D("ring8", modes, 0.01, 1.0, (-1.5, 1.5, -1.5, 1.5), 8)


def grid25() -> Toy2D:
    ticks = np.arange(-4.0, 4.1, 2.0)
    modes = np.array([(x, y) for x in ticks for y in ticks])
    return Toy2D("grid25", modes, 0.05, 4.0, (-5.5, 5.5, -5.5, 5.5), 25)


def spiral() -> Toy2D:
    return Toy2D("spiral", None, 0.02, 1.0, (-1.3, 1.3, -1.3, 1.3), 2)


def moons() -> Toy2D:
    return Toy2D("moons", None, 0.05, 1.0, (-1.8, 1.8, -1.8, 1.8), 2)


def custom(points) -> Toy2D:
    """Gaussians at the user's points; the jitter grows with the drawing's size."""
    modes = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(modes) == 0:
        raise BadInput("custom data needs at least one point: click on the canvas to add some")
    lo, hi = modes.min(axis=0), modes.max(axis=0)
    span = float(max(hi[0] - lo[0], hi[1] - lo[1], 0.5))
    centre = (lo + hi) / 2
    half = 0.5 * span * 1.3 + 0.1
    extent = (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)
    scale = float(max(np.abs(modes).max(), 0.5))
    return Toy2D("custom", modes, 0.015 * span, scale, extent, 0)


def make_toy(name: str, custom_points=None) -> Toy2D:
    if name == "custom":
        return custom(custom_points or [])
    makers = {"ring8": ring8, "grid25": grid25, "spiral": spiral, "moons": moons}
    if name not in makers:
        raise BadInput(f"unknown 2D data set {name!r}; choose one of ring8, grid25, spiral, moons, custom")
    return makers[name]()
