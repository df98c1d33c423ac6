"""What the UI sees of a training run: plain numbers, curves, the game's terms and a compact live view.

The engine asks for a snapshot several times a second (``LiveRun.snapshot_every_s``). It holds

* the numbers (step, updates of each player, speed, budget), refreshed every time;
* ``view``: what the browser draws. 2D runs send data, not pictures — the generated points, D's
  decision grid and the warped latent sheet as base64 int16/uint8 arrays (a few KB), plus each
  mode's state (captured or missed), and on request G's push on each point (gradient_field.py); after a
  manual step also the state before it (``Before``: the points and D's grid), so the page shows what moved;
  image runs send the fixed-latent sample grid as a small PNG that the browser enlarges pixel-sharp;
* ``history`` (curves), ``metrics`` and ``terms`` (the chosen loss written out with the current
  value of each term), the curves and terms refreshed about twice a second.

It is given everything it shows: the run's settings once, then with each snapshot the trainer's plain
``TrainReport`` (progress.py) and the ``Players`` to draw with (sampling.py). It never scores the run (the
live run decides when, ``live_run.py``) and never touches the trainer.

A VAE (``Players.encoder`` set) is drawn the same way with its decoder as the generator: no D map, an image
grid with a strip of reconstructions under it, and the ELBO's terms (``ganstudio.vae.objective``) as its game.
"""

from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass

import numpy as np
import torch

from ganstudio.gan import losses, render
from ganstudio.gan.config import TrainConfig
from ganstudio.gan.data2d import Toy2D
from ganstudio.gan.gradient_field import arrow_tips, g_push
from ganstudio.gan.progress import TrainReport
from ganstudio.gan.sampling import Players, eval_forward, eval_labels
from ganstudio.gan.spec import GanSpec

HEAT_RESOLUTION = 48  # D is evaluated on an R x R grid for the 2D decision map
SHOWN_POINTS = 512  # generated (and real) points the 2D view draws
ARROW_POINTS = 128  # of them, the first this many get an arrow (G's push): more would hide the picture
IMAGE_GRID = 64  # samples in the fixed-z image grid
CURVES_EVERY_S = 0.5  # history and terms are copied at most this often (they change slowly)
TERMS_BATCH = 128  # real and generated samples D judges for the live loss terms
QUANT = 32767  # int16 range used for coordinates in the view's extent
IMAGE_EVERY_S = 0.3  # image grids are redrawn at most this often (and at most 10% of the time)
REAL_SEED_OFFSET = 5  # the real points shown are drawn with seed cfg.seed + this (the preview matches)
RECON_SHOWN = 8  # VAE: real images in the reconstruction strip, each above its reconstruction
STRIP_GAP = 6  # pixels between the sample grid and the strip


@dataclass(frozen=True)
class Before:
    """The 2D view's state before a manual step: what the page draws as ghosts to show the step."""

    fake: np.ndarray  # (N, 2) the generated points (the fixed latents through G)
    heat: np.ndarray  # (R, R) D's verdict over the view, in [0, 1]
    which: str  # the step that followed: "d", "g" or "both"


class SnapshotRenderer:
    """Builds one run's snapshots; ``toy`` is the 2D distribution it learns (None for images)."""

    def __init__(self, cfg: TrainConfig, spec: GanSpec, device: torch.device, toy: Toy2D | None):
        self.cfg, self.spec, self.device, self.toy = cfg, spec, device, toy
        self._curves_at = -1e9
        self._view: dict = {}
        self._views = 0  # views built so far: the page asks for anything newer than the one it has
        self._view_step = -1
        self._view_drawn = None  # the generator the view was drawn with (G itself or its EMA copy)
        self._curves: dict = {"history": {}, "latest": {}, "terms": {}, "curves_version": 0}
        self._curves_version = 0
        self._image_cost = 0.0
        self._image_at = -1e9
        g = torch.Generator(device=device).manual_seed(cfg.seed + 3)
        if toy is not None:
            n = SHOWN_POINTS
            self.lines = render.latent_grid_lines()  # (L, P, 2) in latent coordinates
        else:
            k = spec.n_classes
            n = k * (IMAGE_GRID // k) if 0 < k <= 16 else IMAGE_GRID
        self.fixed_z = torch.randn(n, cfg.z_dim, device=device, generator=g)
        self.fixed_y = eval_labels(n, spec.n_classes, device)
        self._recon_real: torch.Tensor | None = None  # VAE: the real images of the strip, drawn once

    # ---- public ---------------------------------------------------------------------------

    def snapshot(self, report: TrainReport, players: Players, force: bool = False, arrows: bool = False,
                 before: Before | None = None) -> dict:
        """The run as ``report`` describes it, drawn with ``players``; cheap unless ``force``. 2D views draw G's
        push on each point with ``arrows``, and what a manual step changed with ``before`` (``before_step``)."""
        cfg = self.cfg
        now = time.perf_counter()
        self._maybe_view(report, players, now, force, arrows, before)
        if force or now - self._curves_at >= CURVES_EVERY_S:
            self._curves_version += 1
            history = report.history
            self._curves = {"history": history.as_dict(), "latest": dict(history.latest),
                            "terms": self._terms(report, players), "curves_version": self._curves_version}
            self._curves_at = now
        return {
            "kind": "2d" if self.toy is not None else "image",
            "family": cfg.family,
            "data": cfg.data,
            "arch": cfg.arch,
            "loss": cfg.loss if cfg.family == "gan" else "VAE",
            "step": report.step,
            "d_updates": report.d_updates,
            "g_updates": report.g_updates,
            "total_steps": cfg.steps or None,
            "seconds": round(report.seconds, 3),
            "budget_seconds": cfg.seconds or None,
            "progress": report.progress,
            "steps_per_s": round(report.steps_per_s, 2),
            "eta_s": None if report.eta_s is None else round(report.eta_s, 1),
            "lr_factor": round(report.lr_factor, 3),
            "d_output": losses.d_output_meaning(cfg.loss),
            "view": self._view,
            "metrics": report.metrics,
            "done": report.done,
            "diverged": report.diverged,
            "saved_to": report.saved_to,
            **self._curves,
        }

    # ---- the live view --------------------------------------------------------------------

    @torch.no_grad()
    def before_step(self, players: Players, which: str) -> Before | None:
        """The 2D view's points and D's grid now, before a manual step ``which`` (None for images and for a VAE)."""
        if self.toy is None or players.discriminator is None:
            return None
        fake = eval_forward(players.generator, self.fixed_z, self.fixed_y).float().cpu().numpy()
        view = render.ViewTransform(self.toy.extent, HEAT_RESOLUTION)
        return Before(fake, self._heat(view.grid(HEAT_RESOLUTION), players.discriminator), which)

    def _maybe_view(self, report: TrainReport, players: Players, now: float, force: bool, arrows: bool = False,
                    before: Before | None = None) -> None:
        drawn = players.generator
        moved = report.step != self._view_step or drawn is not self._view_drawn or not self._view
        if not (moved or force):
            return
        if self.toy is not None:
            self._view = self._view_2d(report, players, arrows or before is not None, before)
        elif force or report.done or now - self._image_at >= max(IMAGE_EVERY_S, 10 * self._image_cost):
            start = time.perf_counter()  # image grids cost more: a grid that takes r s waits 10 r for the next
            self._view = self._view_images(report, players)
            self._image_cost, self._image_at = time.perf_counter() - start, now
        else:
            return
        self._views += 1
        self._view["version"] = self._views
        self._view_step, self._view_drawn = report.step, drawn

    @torch.no_grad()
    def _view_2d(self, report: TrainReport, players: Players, arrows: bool, before: Before | None) -> dict:
        toy = self.toy
        fake_t = eval_forward(players.generator, self.fixed_z, self.fixed_y).float()
        fake = fake_t.cpu().numpy()
        view = render.ViewTransform(toy.extent, HEAT_RESOLUTION)
        heat = None if players.discriminator is None else self._heat(view.grid(HEAT_RESOLUTION), players.discriminator)
        manifold = self._manifold(players.generator)
        modes = None
        per_mode = report.metrics.get("per_mode")
        if toy.modes is not None:
            captured = per_mode if per_mode is not None else [None] * len(toy.modes)
            modes = [[round(float(x), 4), round(float(y), 4), None if c is None else bool(c)]
                     for (x, y), c in zip(np.asarray(toy.modes), captured)]
        return {
            "step": report.step,
            "kind": "2d",
            "family": self.cfg.family,
            "fake": pack_points(fake, toy.extent),
            "heat": "" if heat is None else _heat_bytes(heat),
            "heat_n": HEAT_RESOLUTION,
            "lines": pack_points(manifold.reshape(-1, 2), toy.extent) if manifold is not None else "",
            "line_shape": list(manifold.shape[:2]) if manifold is not None else [0, 0],
            "modes": modes,
            "drawn": players.drawn,
            **(self._arrows(fake_t, players) if arrows and heat is not None else {}),  # G's push needs a D
            **(_before_view(before, fake, heat, toy.extent) if before is not None else {}),
        }

    def _arrows(self, fake: torch.Tensor, players: Players) -> dict:
        """G's push on the first ARROW_POINTS drawn points (gradient_field.py), as arrow tips packed like them."""
        shown = min(ARROW_POINTS, len(fake))
        usable = shown - shown % self.spec.pack  # D judges whole packs
        y = self.fixed_y[:usable] if self.spec.n_classes else None
        push = np.zeros((shown, 2))
        push[:usable] = g_push(players.discriminator, fake[:usable], self.cfg.loss, y)
        tips, longest = arrow_tips(fake[:shown].cpu().numpy(), push, self.toy.extent)
        return {"arrows": pack_points(tips, self.toy.extent), "arrow_longest": round(longest, 6)}

    def _heat(self, grid: np.ndarray, discriminator: torch.nn.Module) -> np.ndarray:
        """D's opinion over the view, as a probability-like value in [0, 1] (row 0 = top)."""
        points = torch.from_numpy(grid).to(self.device).repeat_interleave(self.spec.pack, 0)  # packs of copies
        scores = eval_forward(discriminator, points, None).float()
        kind = self.cfg.loss
        if kind in losses.PROBABILITY_LOSSES:
            prob = torch.sigmoid(scores)
        elif kind == "lsgan":
            prob = scores.clamp(0, 1)
        elif kind == "hinge":
            prob = (scores.clamp(-1, 1) + 1) / 2
        else:  # wgan-gp: scores have no fixed scale; centre and squash them
            centred = scores - scores.median()
            prob = torch.sigmoid(4 * centred / (centred.abs().max() + 1e-6))
        return prob.view(HEAT_RESOLUTION, HEAT_RESOLUTION).cpu().numpy()

    def _manifold(self, generator: torch.nn.Module) -> np.ndarray | None:
        """G applied to a grid in the first two latent dimensions (others 0): the warped sheet, (L, P, 2)."""
        if self.cfg.z_dim < 2:
            return None
        lines, device = self.lines, self.device
        z = torch.zeros(lines.shape[0] * lines.shape[1], self.cfg.z_dim, device=device)
        z[:, :2] = torch.from_numpy(lines.reshape(-1, 2)).to(device)
        y = torch.zeros(z.shape[0], dtype=torch.long, device=device) if self.spec.n_classes else None
        return eval_forward(generator, z, y).float().cpu().numpy().reshape(lines.shape[0], lines.shape[1], 2)

    @torch.no_grad()
    def _view_images(self, report: TrainReport, players: Players) -> dict:
        images = eval_forward(players.generator, self.fixed_z, self.fixed_y).clamp(-1, 1).float().cpu().numpy()
        k = self.spec.n_classes
        cols = k if 0 < k <= 16 else int(np.ceil(np.sqrt(len(images))))
        picture = render.image_grid(render.to_uint8_images(images), nrow=cols, min_side=0)
        if players.encoder is not None:
            picture = self._with_reconstructions(picture, players)
        if images.shape[1] == 1:
            picture = picture.convert("L")
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG", optimize=False, compress_level=1)
        return {
            "step": report.step,
            "kind": "image",
            "family": self.cfg.family,
            "png": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
            "width": picture.width,
            "height": picture.height,
            "cell": int(images.shape[-1]),
            "drawn": players.drawn,
            **({"legend": VAE_IMAGE_LEGEND} if players.encoder is not None else {}),
        }

    def _with_reconstructions(self, grid, players: Players):
        """The sample grid with a VAE's strip under it: RECON_SHOWN real images, each above its reconstruction
        (the decoder applied to the encoder's mean code μ(x))."""
        from PIL import Image

        if self._recon_real is None:
            self._recon_real = players.real_batch(RECON_SHOWN)[0]
        real = self._recon_real
        mu, _ = eval_forward(players.encoder, real)
        recon = eval_forward(players.generator, mu, None).clamp(-1, 1).float().cpu().numpy()
        pair = np.concatenate([real.float().cpu().numpy(), recon])  # (2 n, C, H, W): reals, then reconstructions
        strip = render.image_grid(render.to_uint8_images(pair), nrow=RECON_SHOWN, min_side=0)
        out = Image.new("RGB", (max(grid.width, strip.width), grid.height + STRIP_GAP + strip.height), (255, 255, 255))
        out.paste(grid, (0, 0))
        out.paste(strip, (0, grid.height + STRIP_GAP))
        return out

    # ---- numbers that change slowly ---------------------------------------------------------

    @torch.no_grad()
    def _terms(self, report: TrainReport, players: Players) -> dict:
        """The chosen loss written out, with each term's current value on a fresh batch (see losses.terms; a
        VAE's: its ELBO, vae.objective.terms)."""
        if report.step == 0:
            return {}
        real, y_real = players.real_batch(TERMS_BATCH)
        if players.encoder is not None:
            return self._vae_terms(real, players)
        z = torch.randn(TERMS_BATCH, self.cfg.z_dim, device=self.device)
        y = y_real if self.spec.n_classes else None
        fake = eval_forward(players.online, z, y)
        s_real = eval_forward(players.discriminator, real, y)
        s_fake = eval_forward(players.discriminator, fake, y)
        return losses.terms(self.cfg.loss, s_real.float(), s_fake.float())


    def _vae_terms(self, real: torch.Tensor, players: Players) -> dict:
        from ganstudio.vae import objective

        unit = float(self.spec.scale) if self.toy is not None else 1.0
        encoder, decoder = players.encoder, players.generator
        was = encoder.training, decoder.training
        encoder.eval(), decoder.eval()
        try:
            recon, kl, _ = objective.elbo_parts(encoder, decoder, real, self.cfg.vae_sigma, unit)
        finally:
            encoder.train(was[0]), decoder.train(was[1])
        return objective.terms(float(recon.mean()), float(kl.mean()))


VAE_IMAGE_LEGEND = ("Top: the decoder's samples from fixed codes z ~ N(0, I), the same z every frame. Under the gap, "
                    "two rows: real images (upper) and each one's reconstruction through encoder and decoder (lower).")


def _before_view(before: Before, fake: np.ndarray, heat: np.ndarray, extent) -> dict:
    """What a manual step changed, for the page: the points and D's grid before it, and the change in words."""
    moved = np.linalg.norm(fake - before.fake, axis=1)
    shift = np.abs(np.nan_to_num(heat, nan=0.5) - np.nan_to_num(before.heat, nan=0.5))
    name = {"d": "Step D", "g": "Step G", "both": "Step D+G"}[before.which]
    parts = []
    if before.which != "d":
        parts.append(f"moved the generated points by {moved.mean():.3g} on average (at most {moved.max():.3g})")
    if before.which != "g":
        parts.append(f"changed D's verdict by up to {shift.max():.3f} (on average {shift.mean():.3f})")
    else:
        parts.append("left D as it was")
    return {
        "ghost": pack_points(before.fake, extent),
        "heat_before": _heat_bytes(before.heat),
        "change": f"{name} {' and '.join(parts)}",
    }


def _heat_bytes(heat: np.ndarray) -> str:
    """(R, R) values in [0, 1] -> base64 uint8 (0..255), row 0 at the top."""
    return base64.b64encode(np.round(np.nan_to_num(heat, nan=0.5) * 255).astype(np.uint8).tobytes()).decode()


def pack_points(points: np.ndarray, extent) -> str:
    """(N, 2) data coordinates -> base64 int16 pairs, -QUANT..QUANT spanning the view (clipped outside)."""
    x0, x1, y0, y1 = extent
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = np.where(np.isfinite(pts), pts, 0.0)
    u = (pts[:, 0] - x0) / (x1 - x0) * 2 - 1
    v = (pts[:, 1] - y0) / (y1 - y0) * 2 - 1
    packed = np.stack([u, v], axis=1).clip(-1.5, 1.5) * (QUANT / 1.5)
    return base64.b64encode(np.round(packed).astype("<i2").tobytes()).decode()

