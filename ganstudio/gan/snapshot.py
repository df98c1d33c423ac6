"""What the UI sees of a training run: plain numbers, curves and one picture, rendered sparingly.

The engine asks for a snapshot a few times a second; pictures are redrawn at most every
RENDER_EVERY_S (and only when training moved), 2D metrics at most every METRICS_EVERY_S, and
image FID only every `metric_every_s` training seconds.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from ganstudio.gan import losses, render

if TYPE_CHECKING:
    from ganstudio.gan.trainer import GanTrainer

RENDER_EVERY_S = 0.3  # at least; a render that takes r seconds waits 10·r for the next (≤ 10% overhead)
METRICS_EVERY_S = 1.0
HEAT_RESOLUTION = 48  # D is evaluated on an R x R grid for the 2D heatmap
SHOWN_POINTS = 512
IMAGE_GRID = 64  # samples in the fixed-z image grid


class SnapshotRenderer:
    def __init__(self, trainer: "GanTrainer"):
        self.t = trainer
        self.image: Image.Image | None = None
        self._rendered_step = -1
        self._rendered_at = -1e9
        self._render_cost = 0.0
        self._metrics_at = -1e9
        self._fid_at = 0.0
        g = torch.Generator(device=trainer.device).manual_seed(trainer.cfg.seed + 3)
        if trainer.data_kind == "2d":
            n = SHOWN_POINTS
            self.real = trainer.source.toy.numpy_sample(n, seed=trainer.cfg.seed + 5)
            self.lines = render.latent_grid_lines()
        else:
            n = self._grid_size()
        self.fixed_z = torch.randn(n, trainer.cfg.z_dim, device=trainer.device, generator=g)
        self.fixed_y = trainer._eval_labels(n)

    def _grid_size(self) -> int:
        k = self.t.spec.n_classes
        return k * (IMAGE_GRID // k) if 0 < k <= 16 else IMAGE_GRID

    # ---- public ---------------------------------------------------------------------------

    def snapshot(self, force: bool = False) -> dict:
        """`force` redraws even if the last picture is recent (manual steps, the final snapshot)."""
        t = self.t
        now = time.perf_counter()
        moved = t.step_count != self._rendered_step or self.image is None
        due = now - self._rendered_at >= max(RENDER_EVERY_S, 10 * self._render_cost)
        if moved and (due or force or t.done):
            self.image = self._render()
            self._render_cost = time.perf_counter() - now  # slow renders (big images on a CPU) happen less often
            self._rendered_step, self._rendered_at = t.step_count, now
        self._maybe_metrics(now)
        rate = t.steps_per_second()
        return {
            "kind": t.data_kind,
            "data": t.cfg.data,
            "arch": t.cfg.arch,
            "loss": t.cfg.loss,
            "step": t.step_count,
            "total_steps": t.cfg.steps or None,
            "seconds": round(t.train_time, 3),
            "budget_seconds": t.cfg.seconds or None,
            "progress": t.progress,
            "steps_per_s": round(rate, 2),
            "eta_s": None if t.eta_seconds() is None else round(t.eta_seconds(), 1),
            "lr_factor": round(t.lr_factor(), 3),
            "history": t.history.as_dict(),
            "latest": dict(t.history.latest),
            "d_output": losses.d_output_meaning(t.cfg.loss),
            "image": self.image,
            "metrics": dict(t.metrics),
            "done": t.done,
            "diverged": t.diverged,
            "saved_to": t.saved_to,
        }

    # ---- internals ------------------------------------------------------------------------

    def _maybe_metrics(self, now: float) -> None:
        t = self.t
        if t.data_kind == "2d":
            if now - self._metrics_at >= METRICS_EVERY_S and t.step_count > 0 and not t._finished:
                t.evaluate()
                self._metrics_at = now
            return
        every = t.cfg.metric_every_s
        if every and t.train_time - self._fid_at >= every and not t._finished:
            self._fid_at = t.train_time
            try:
                t.evaluate()
            except Exception as err:  # a metric failure must not stop training
                t.metrics = {**t.metrics, "metric_error": str(err)[:200]}

    def _render(self) -> Image.Image:
        return self._render_toy() if self.t.data_kind == "2d" else self._render_images()

    @torch.no_grad()
    def _render_images(self) -> Image.Image:
        images = self.t.generate(self.fixed_z, self.fixed_y).clamp(-1, 1).cpu().numpy()
        k = self.t.spec.n_classes
        nrow = k if 0 < k <= 16 else None
        return render.image_grid(render.to_uint8_images(images), nrow=nrow)

    @torch.no_grad()
    def _render_toy(self) -> Image.Image:
        t = self.t
        toy = t.source.toy
        view = render.ViewTransform(toy.extent, 360)
        fake = t.generate(self.fixed_z, self.fixed_y).cpu().numpy()
        heat = self._heat(view)
        manifold = self._manifold()
        return render.toy_view(toy.extent, real=self.real, fake=fake, heat=heat, manifold=manifold)

    def _heat(self, view: render.ViewTransform) -> np.ndarray:
        t = self.t
        grid = torch.from_numpy(view.grid(HEAT_RESOLUTION)).to(t.device)
        t.D.eval()
        try:
            scores = t.D(grid.repeat_interleave(t.spec.pack, 0), None).float()  # a pack of identical points
        finally:
            t.D.train()
        kind = t.cfg.loss
        if kind == "ns":
            prob = torch.sigmoid(scores)
        elif kind == "lsgan":
            prob = scores.clamp(0, 1)
        elif kind == "hinge":
            prob = (scores.clamp(-1, 1) + 1) / 2
        else:  # wgan-gp: scores have no fixed scale; centre and squash them
            centred = scores - scores.median()
            prob = torch.sigmoid(4 * centred / (centred.abs().max() + 1e-6))
        return prob.view(HEAT_RESOLUTION, HEAT_RESOLUTION).cpu().numpy()

    def _manifold(self) -> list[np.ndarray]:
        """G applied to a grid in the first two latent dimensions (others 0): the warped sheet."""
        t = self.t
        if t.cfg.z_dim < 2:
            return []
        lines = self.lines  # (L, P, 2)
        z = torch.zeros(lines.shape[0] * lines.shape[1], t.cfg.z_dim, device=t.device)
        z[:, :2] = torch.from_numpy(lines.reshape(-1, 2)).to(t.device)
        y = t._eval_labels(z.shape[0]) if t.spec.n_classes else None
        if y is not None:
            y = torch.zeros_like(y)  # one class's sheet; the others look alike
        out = t.generate(z, y).cpu().numpy().reshape(lines.shape[0], lines.shape[1], 2)
        return list(out)
