"""What the UI sees of a training run: plain numbers, curves, the game's terms and a compact live view.

The engine asks for a snapshot several times a second (``LiveRun.snapshot_every_s``). It holds

* the numbers (step, updates of each player, speed, budget), refreshed every time;
* ``view``: what the browser draws. 2D runs send data, not pictures — the generated points, D's
  decision grid and the warped latent sheet as base64 int16/uint8 arrays (a few KB), plus each
  mode's state (captured or missed); image runs send the fixed-latent sample grid as a small PNG
  that the browser enlarges pixel-sharp;
* ``history`` (curves), ``metrics`` and ``terms`` (the chosen loss written out with the current
  value of each term), refreshed about twice and once a second.

Only the trainer's public surface is used (``ganstudio.gan.trainer.GanTrainer``).
"""

from __future__ import annotations

import base64
import io
import time
from typing import TYPE_CHECKING

import numpy as np
import torch

from ganstudio.gan import losses, render

if TYPE_CHECKING:
    from ganstudio.gan.trainer import GanTrainer

HEAT_RESOLUTION = 48  # D is evaluated on an R x R grid for the 2D decision map
SHOWN_POINTS = 512  # generated (and real) points the 2D view draws
IMAGE_GRID = 64  # samples in the fixed-z image grid
CURVES_EVERY_S = 0.5  # history and terms are copied at most this often (they change slowly)
METRICS_EVERY_S = 1.0  # 2D mode metrics (2,500 samples) at most this often
TERMS_BATCH = 128  # real and generated samples D judges for the live loss terms
QUANT = 32767  # int16 range used for coordinates in the view's extent
IMAGE_EVERY_S = 0.3  # image grids are redrawn at most this often (and at most 10% of the time)
REAL_SEED_OFFSET = 5  # the real points shown are drawn with seed cfg.seed + this (the preview matches)


class SnapshotRenderer:
    def __init__(self, trainer: "GanTrainer"):
        self.t = trainer
        self._curves_at = -1e9
        self._metrics_at = -1e9
        self._metrics_cost = 0.0
        self._fid_at = 0.0
        self._view: dict = {}
        self._views = 0  # views built so far: the page asks for anything newer than the one it has
        self._view_step = -1
        self._view_raw = None
        self._curves: dict = {"history": {}, "latest": {}, "terms": {}, "curves_version": 0}
        self._curves_version = 0
        self._image_cost = 0.0
        self._image_at = -1e9
        g = torch.Generator(device=trainer.device).manual_seed(trainer.cfg.seed + 3)
        if trainer.data_kind == "2d":
            n = SHOWN_POINTS
            self.real = trainer.toy.numpy_sample(n, seed=trainer.cfg.seed + REAL_SEED_OFFSET)
            self.lines = render.latent_grid_lines()  # (L, P, 2) in latent coordinates
        else:
            n = self._grid_size()
        self.fixed_z = torch.randn(n, trainer.cfg.z_dim, device=trainer.device, generator=g)
        self.fixed_y = trainer.eval_labels(n)

    def _grid_size(self) -> int:
        k = self.t.spec.n_classes
        return k * (IMAGE_GRID // k) if 0 < k <= 16 else IMAGE_GRID

    # ---- public ---------------------------------------------------------------------------

    def snapshot(self, force: bool = False, raw: bool = False) -> dict:
        """``raw`` draws the generator itself instead of its EMA copy (manual stepping shows each step)."""
        t = self.t
        now = time.perf_counter()
        self._maybe_view(now, force, raw)
        self._maybe_metrics(now)
        if force or now - self._curves_at >= CURVES_EVERY_S:
            self._curves_version += 1
            self._curves = {"history": t.history.as_dict(), "latest": dict(t.history.latest), "terms": self._terms(),
                            "curves_version": self._curves_version}
            self._curves_at = now
        rate, eta = t.steps_per_second(), t.eta_seconds()
        return {
            "kind": t.data_kind,
            "data": t.cfg.data,
            "arch": t.cfg.arch,
            "loss": t.cfg.loss,
            "step": t.step_count,
            "d_updates": t.d_updates,
            "g_updates": t.g_updates,
            "total_steps": t.cfg.steps or None,
            "seconds": round(t.train_time, 3),
            "budget_seconds": t.cfg.seconds or None,
            "progress": t.progress,
            "steps_per_s": round(rate, 2),
            "eta_s": None if eta is None else round(eta, 1),
            "lr_factor": round(t.lr_factor(), 3),
            "d_output": losses.d_output_meaning(t.cfg.loss),
            "view": self._view,
            "metrics": dict(t.metrics),
            "done": t.done,
            "diverged": t.diverged,
            "saved_to": t.saved_to,
            **self._curves,
        }

    # ---- the live view --------------------------------------------------------------------

    def _maybe_view(self, now: float, force: bool, raw: bool) -> None:
        t = self.t
        moved = t.step_count != self._view_step or raw != self._view_raw or not self._view
        if not (moved or force):
            return
        if t.data_kind == "2d":
            self._view = self._view_2d(raw)
        elif force or t.done or now - self._image_at >= max(IMAGE_EVERY_S, 10 * self._image_cost):
            start = time.perf_counter()  # image grids cost more: a grid that takes r s waits 10 r for the next
            self._view = self._view_images(raw)
            self._image_cost, self._image_at = time.perf_counter() - start, now
        else:
            return
        self._views += 1
        self._view["version"] = self._views
        self._view_step, self._view_raw = t.step_count, raw

    @torch.no_grad()
    def _view_2d(self, raw: bool) -> dict:
        t = self.t
        toy = t.toy
        fake = t.generate(self.fixed_z, self.fixed_y, raw=raw).float().cpu().numpy()
        view = render.ViewTransform(toy.extent, HEAT_RESOLUTION)
        heat = self._heat(view.grid(HEAT_RESOLUTION))
        manifold = self._manifold(raw)
        modes = None
        per_mode = t.metrics.get("per_mode")
        if toy.modes is not None:
            captured = per_mode if per_mode is not None else [None] * len(toy.modes)
            modes = [[round(float(x), 4), round(float(y), 4), None if c is None else bool(c)]
                     for (x, y), c in zip(np.asarray(toy.modes), captured)]
        return {
            "step": t.step_count,
            "kind": "2d",
            "fake": pack_points(fake, toy.extent),
            "heat": base64.b64encode(np.round(np.nan_to_num(heat, nan=0.5) * 255).astype(np.uint8).tobytes()).decode(),
            "heat_n": HEAT_RESOLUTION,
            "lines": pack_points(manifold.reshape(-1, 2), toy.extent) if manifold is not None else "",
            "line_shape": list(manifold.shape[:2]) if manifold is not None else [0, 0],
            "modes": modes,
            "drawn": "G itself (each manual step shows)" if raw or t.G_ema is None else "EMA of G (smoothed)",
        }

    def _heat(self, grid: np.ndarray) -> np.ndarray:
        """D's opinion over the view, as a probability-like value in [0, 1] (row 0 = top)."""
        t = self.t
        scores = t.discriminate(torch.from_numpy(grid).to(t.device), repeat=t.spec.pack).float()
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

    def _manifold(self, raw: bool) -> np.ndarray | None:
        """G applied to a grid in the first two latent dimensions (others 0): the warped sheet, (L, P, 2)."""
        t = self.t
        if t.cfg.z_dim < 2:
            return None
        lines = self.lines
        z = torch.zeros(lines.shape[0] * lines.shape[1], t.cfg.z_dim, device=t.device)
        z[:, :2] = torch.from_numpy(lines.reshape(-1, 2)).to(t.device)
        y = torch.zeros(z.shape[0], dtype=torch.long, device=t.device) if t.spec.n_classes else None
        return t.generate(z, y, raw=raw).float().cpu().numpy().reshape(lines.shape[0], lines.shape[1], 2)

    @torch.no_grad()
    def _view_images(self, raw: bool) -> dict:
        t = self.t
        images = t.generate(self.fixed_z, self.fixed_y, raw=raw).clamp(-1, 1).float().cpu().numpy()
        k = t.spec.n_classes
        cols = k if 0 < k <= 16 else int(np.ceil(np.sqrt(len(images))))
        picture = render.image_grid(render.to_uint8_images(images), nrow=cols, min_side=0)
        if images.shape[1] == 1:
            picture = picture.convert("L")
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG", optimize=False, compress_level=1)
        return {
            "step": t.step_count,
            "kind": "image",
            "png": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
            "width": picture.width,
            "height": picture.height,
            "cell": int(images.shape[-1]),
            "drawn": "G itself (each manual step shows)" if raw or t.G_ema is None else "EMA of G (smoothed)",
        }

    # ---- numbers that change slowly ---------------------------------------------------------

    def _maybe_metrics(self, now: float) -> None:
        t = self.t
        if t.finished:
            return
        if t.data_kind == "2d":
            if now - self._metrics_at >= max(METRICS_EVERY_S, 20 * self._metrics_cost) and t.step_count > 0:
                t.evaluate()  # at most ~5% of the time: an evaluation that takes c s waits 20 c for the next
                self._metrics_cost = time.perf_counter() - now
                self._metrics_at = now
            return
        every = t.cfg.metric_every_s
        if every and t.train_time - self._fid_at >= every:
            self._fid_at = t.train_time
            try:
                t.evaluate()
            except Exception as err:  # a metric failure must not stop training
                t.metrics = {**t.metrics, "metric_error": str(err)[:200]}

    @torch.no_grad()
    def _terms(self) -> dict:
        """The chosen loss written out, with each term's current value on a fresh batch (see losses.terms)."""
        t = self.t
        if t.step_count == 0:
            return {}
        real, y_real = t.real_batch(TERMS_BATCH)
        z = torch.randn(TERMS_BATCH, t.cfg.z_dim, device=t.device)
        y = y_real if t.spec.n_classes else None
        fake = t.generate(z, y, raw=True)
        s_real = t.discriminate(real, y)
        s_fake = t.discriminate(fake, y)
        return losses.terms(t.cfg.loss, s_real.float(), s_fake.float())


def pack_points(points: np.ndarray, extent) -> str:
    """(N, 2) data coordinates -> base64 int16 pairs, -QUANT..QUANT spanning the view (clipped outside)."""
    x0, x1, y0, y1 = extent
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = np.where(np.isfinite(pts), pts, 0.0)
    u = (pts[:, 0] - x0) / (x1 - x0) * 2 - 1
    v = (pts[:, 1] - y0) / (y1 - y0) * 2 - 1
    packed = np.stack([u, v], axis=1).clip(-1.5, 1.5) * (QUANT / 1.5)
    return base64.b64encode(np.round(packed).astype("<i2").tobytes()).decode()

