"""G's push on each generated 2D point, as GAN Lab draws it: the way G's loss would move that point.

G's loss reaches its weights only through the points it makes, so the gradient of the loss at each point,
−∂L_G/∂x, is where the next G update tries to move it (the update then moves what G's weights can). Each point's
arrow is the gradient of its own term of the loss (with packing, its pack's term), so arrows do not shrink with
the number of points drawn; the view scales them all by one factor (``arrow_tips``) and says how long the longest
is in data units of gradient.
"""

from __future__ import annotations

import numpy as np
import torch

from ganstudio.gan import losses

ARROW_SHARE = 0.08  # the longest arrow spans this share of the view's width...
FULL_PUSH = 0.1  # ... when its gradient is at least this large (a fresh D gives ~0.03); weaker pushes draw shorter


def g_push(discriminator: torch.nn.Module, fake: torch.Tensor, kind: str, y: torch.Tensor | None = None) -> np.ndarray:
    """(N, 2) −∂ℓᵢ/∂xᵢ for each generated point xᵢ ((N, 2)), ℓᵢ its term of G's loss ``kind`` under D now.

    D is run in eval mode (spectral norm's power iteration is not advanced) and only the points get gradients:
    D's weights, and their ``.grad``, are left as they are."""
    x = fake.detach().float().clone().requires_grad_(True)
    was_training = discriminator.training
    discriminator.eval()
    try:
        with torch.enable_grad():
            scores = discriminator(x, y)  # one score per pack of `pack` points
            loss = losses.g_loss(kind, scores) * scores.shape[0]  # the sum of the terms: each point's own
            (grad,) = torch.autograd.grad(loss, x)
    finally:
        discriminator.train(was_training)
    return (-grad).cpu().numpy()


def arrow_tips(points: np.ndarray, push: np.ndarray, extent) -> tuple[np.ndarray, float]:
    """Where each arrow ends ((N, 2) data coordinates) and the longest push's length (gradient units)."""
    points, push = np.asarray(points, dtype=np.float64), np.nan_to_num(np.asarray(push, dtype=np.float64))
    longest = float(np.linalg.norm(push, axis=1).max()) if len(push) else 0.0
    width = float(extent[1] - extent[0])
    scale = ARROW_SHARE * width / max(longest, FULL_PUSH)
    return points + push * scale, longest
