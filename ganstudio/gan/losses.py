"""GAN objectives. D outputs raw scores; each loss reads them its own way.

ns:      D: softplus(-D(x)) + softplus(D(G(z)))      G: softplus(-D(G(z)))   (non-saturating)
lsgan:   D: (D(x) - 1)² + D(G(z))²  (halved)          G: (D(G(z)) - 1)²  (halved)
hinge:   D: relu(1 - D(x)) + relu(1 + D(G(z)))        G: -D(G(z))
wgan-gp: D: D(G(z)) - D(x) + λ (‖∇D(x̂)‖ - 1)²          G: -D(G(z))
Optional R1 (any loss but wgan-gp): D += γ/2 · ‖∇D(x)‖² on real x.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind == "ns":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    raise ValueError(kind)


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    if kind == "ns":
        return F.softplus(-fake).mean()
    if kind == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    if kind in ("hinge", "wgan-gp"):
        return -fake.mean()
    raise ValueError(kind)


def interpolate(real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Random points on the lines between real and fake samples (where WGAN-GP penalises)."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    t = torch.rand(shape, device=real.device, generator=generator)
    return (t * real + (1 - t) * fake).requires_grad_(True)


def gradient_penalty(scores: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(‖∇ₓD(x̂)‖₂ - 1)² averaged over D's inputs (packs of `pack` samples); keeps the graph for D's backward."""
    (grad,) = torch.autograd.grad(scores.sum(), points, create_graph=True)
    return ((grad.reshape(scores.shape[0], -1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(scores: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """‖∇ₓD(x)‖² on real data (Mescheder et al. 2018): D stays flat where the data is, so G settles there."""
    (grad,) = torch.autograd.grad(scores.sum(), real, create_graph=True)
    return grad.reshape(scores.shape[0], -1).pow(2).sum(1).mean()


def d_output_meaning(kind: str) -> str:
    """How to read D's mean output in the UI: a probability for ns, a raw score otherwise."""
    return "probability" if kind == "ns" else "score"


def readable(kind: str, scores: torch.Tensor) -> torch.Tensor:
    """Mean D output as shown to the user: sigmoid for ns (D(x) as a probability), raw otherwise."""
    return torch.sigmoid(scores).mean() if kind == "ns" else scores.mean()
