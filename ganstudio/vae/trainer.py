"""The VAE trainer: one ``.step()`` at a time (an encoder-and-decoder update on the negative ELBO), reported
exactly like the GAN's.

``report()`` returns the same ``TrainReport`` (ganstudio.gan.progress) and ``players()`` the same ``Players``
(the decoder as the generator, the encoder besides, no discriminator), so ``LiveRun`` drives it as an engine
task, the snapshot renderer draws it, the CLI trains it, and Stop, Save and quotas apply unchanged. Its
samples are scored by the GAN's own ``Evaluator`` (the PacGAN mode counter on 2D sets), so the two families'
figures compare. A NaN/inf loss stops it with Diverged after putting back the last good weights.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import torch

from ganstudio.device import cpu_threads
from ganstudio.errors import BadInput, Diverged
from ganstudio.gan.config import TrainConfig
from ganstudio.gan.ddp import SINGLE, DistContext
from ganstudio.gan.evaluation import Evaluator
from ganstudio.gan.history import History
from ganstudio.gan.last_good import LastGood
from ganstudio.gan.progress import Pace, RunBudget, TrainReport
from ganstudio.gan.registry import build_generator
from ganstudio.gan.sampling import Players, eval_forward
from ganstudio.gan.sources import load_training_data, make_source
from ganstudio.gan.spec import GanSpec
from ganstudio.gan.trainer import grad_norm
from ganstudio.vae import objective
from ganstudio.vae.model import build_encoder

SERIES = ("recon", "kl", "elbo", "grad_enc", "grad_dec")  # the VAE's curves (the live view's charts name them)
LOG_EVERY = 10  # iterations between reads of the step's numbers (a host sync on a GPU), as the GAN's


class VaeTrainer(RunBudget):
    """Trains one VAE on ``cfg`` (family "vae"); ``data`` may be given (a Toy2D or an images.ImageData)."""

    family = "vae"

    def __init__(self, cfg: TrainConfig, device: str | torch.device = "cpu", *, data=None,
                 out_dir: str | Path | None = None, dist: DistContext = SINGLE):
        self.cfg = cfg.validate()
        if dist.active:
            raise BadInput("a VAE trains in one process: run it without torchrun")
        self.device = torch.device(device)
        self.dist = dist
        self.out_dir = Path(out_dir) if out_dir else None
        raw = data if data is not None else load_training_data(cfg)
        self.z_gen = torch.Generator(device=self.device).manual_seed(cfg.seed)  # ε of the reparameterisation
        self.data_gen = torch.Generator().manual_seed(cfg.seed + 1)
        self._view_gen = torch.Generator().manual_seed(cfg.seed + 2)  # the live view's real samples (as the GAN's)
        self.source = make_source(raw, self.device, self.data_gen)
        self.data_kind = self.source.kind
        if self.data_kind == "2d":
            spec = GanSpec.for_training(cfg, 0, scale=self.source.toy.scale)
        else:
            spec = GanSpec.for_training(cfg, 0, self.source.channels, self.source.image_size)
        # the decoder is an unconditional generator; D's settings (packing, spectral norm) describe no net here
        self.spec = dataclasses.replace(spec, n_classes=0, z_classes=0, pack=1, spectral_norm=False)
        self.unit = float(self.spec.scale) if self.data_kind == "2d" else 1.0  # σ is measured in the data's scale
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)  # the same initial weights on every run
            self.decoder = build_generator(self.spec).to(self.device)
            self.encoder = build_encoder(self.spec).to(self.device)
        self._params = [*self.encoder.parameters(), *self.decoder.parameters()]
        self.opt = torch.optim.Adam(self._params, lr=cfg.lr_g, betas=(cfg.beta1_g, cfg.beta2_g), foreach=True)
        self._lr_f = None

        self.step_count = 0  # completed updates (each moves encoder and decoder together)
        self.train_time = 0.0  # seconds inside step(); pauses don't count
        self.history = History(SERIES)
        self.metrics: dict = {}
        self.saved_to: str | None = None
        self.diverged: str | None = None
        self.stop_requested = False
        self._last: dict[str, torch.Tensor] = {}
        self._pace = Pace()
        self._last_good = LastGood()  # put back if a step's numbers stop being finite
        self._finished = False
        self.step_threads = 1 if self.device.type == "cpu" and self.data_kind == "2d" else None  # as the GAN's
        self._evaluator = Evaluator(cfg, self.spec, self.source, self.device)

    # ---- one update -------------------------------------------------------------------------

    def step(self) -> None:
        """One update of encoder and decoder on a batch: minimise −ELBO."""
        if self.diverged:
            raise Diverged(self.diverged)
        start = time.perf_counter()
        self._set_lr()
        with cpu_threads(self.step_threads):
            self._update()
        self.train_time += time.perf_counter() - start
        self.step_count += 1
        if self.step_count % LOG_EVERY == 0 or self.step_count == 1 or self.done:
            self._check_and_record()
        if self.done and not self._finished:
            self.finish()

    def step_d(self) -> None:
        raise BadInput("a VAE has no discriminator: Step D+G takes one step of its encoder and decoder")

    step_g = step_d

    def set_loss(self, kind: str) -> None:
        raise BadInput("a VAE has one objective (the ELBO): its loss cannot be switched")

    def _set_lr(self) -> None:
        f = self.lr_factor()
        if f != self._lr_f:
            self._lr_f = f
            for group in self.opt.param_groups:
                group["lr"] = self.cfg.lr_g * f

    def _update(self) -> None:
        x, _ = self.source.sample(self.cfg.batch_size)  # (B, 2) points or (B, C, H, W) in [-1, 1]
        recon, kl, _ = objective.elbo_parts(self.encoder, self.decoder, x, self.cfg.vae_sigma, self.unit, self.z_gen)
        loss = (kl - recon).mean()  # −ELBO, nats per sample
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self._params, self.cfg.grad_clip, foreach=True)
        self.opt.step()
        self._last = {"recon": recon.detach().mean(), "kl": kl.detach().mean()}

    # ---- bookkeeping ------------------------------------------------------------------------

    def _check_and_record(self) -> None:
        """Read the last update's numbers (the only host sync), stop on NaN/inf, add a history point."""
        tensors = {**self._last, "grad_enc": grad_norm(self.encoder), "grad_dec": grad_norm(self.decoder)}
        values = dict(zip(tensors, torch.stack([t.float() for t in tensors.values()]).tolist()))
        if not all(math.isfinite(v) for v in values.values()):
            self._diverge()
        values["elbo"] = values["recon"] - values["kl"]
        self.history.add(self.step_count, values)
        self._pace.mark(self.train_time, self.step_count)
        self._last_good.keep(self.step_count, self.train_time, self.nets())

    def _diverge(self) -> None:
        self.diverged = self._last_good.give_up(self.step_count, self.nets(),
                                                (lambda: self.save(self.out_dir)) if self.out_dir is not None else None)
        raise Diverged(self.diverged)

    def nets(self) -> dict[str, torch.nn.Module]:
        """The trained nets by name: "decoder" (the generator samples come from) and "encoder"."""
        return {"decoder": self.decoder, "encoder": self.encoder}

    def report(self) -> TrainReport:
        """Where the run stands, in the GAN's record: every update moves both nets (``g_updates``), D has none."""
        cfg = self.cfg
        return TrainReport(
            step=self.step_count, d_updates=0, g_updates=self.step_count, seconds=self.train_time,
            progress=self.progress, steps_per_s=self._pace.steps_per_second(),
            eta_s=self._pace.eta_seconds(self.step_count, self.train_time, cfg.steps, cfg.seconds),
            lr_factor=self.lr_factor(), done=self.done, diverged=self.diverged,
            saved_to=self.saved_to, metrics=dict(self.metrics), history=self.history,
        )

    # ---- sampling, metrics, finishing -------------------------------------------------------

    @property
    def sampler(self) -> torch.nn.Module:
        """The generator samples come from: the decoder, fed z from the prior."""
        return self.decoder

    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None, raw: bool = False) -> torch.Tensor:
        return eval_forward(self.decoder, z, None)

    def players(self, raw: bool = False) -> Players:
        """What the live view draws with: the decoder as the generator, the encoder for reconstructions."""
        return Players(generator=self.decoder, online=self.decoder, discriminator=None,
                       real_batch=lambda n: self.source.sample(n, self._view_gen), smoothed=False,
                       encoder=self.encoder)

    def evaluate(self, final: bool = False) -> dict:
        """Score the decoder's samples with the GAN's evaluator (2D: PacGAN modes; images: a Fréchet distance);
        a failing score is kept as ``metric_error``, never raised."""
        try:
            self.metrics = {**self._evaluator.score(self.decoder, self.metrics, final), "step": self.step_count}
        except Exception as err:  # noqa: BLE001 - a metric must not stop training or lose the trained model
            self.metrics = {**self.metrics, "metric_error": str(err)[:200]}
        return self.metrics

    def finish(self, evaluate: bool = True) -> None:
        """The budget is spent (or Stop was pressed): final metrics, then save when there is an out_dir."""
        if self._finished:
            return
        self._finished = True
        if evaluate:
            self.evaluate(final=True)
        if self.out_dir is not None:
            self.save(self.out_dir)

    def resume_from(self, folder: str | Path) -> None:
        raise BadInput("resuming is for GAN runs: a VAE run starts afresh")

    def save(self, folder: str | Path, card_extra: dict | None = None) -> Path:
        """Write the folder a GAN's would be, the decoder as its generator and the encoder beside it."""
        from ganstudio.vae.checkpoint import save_vae

        path = save_vae(folder, self.cfg, self.spec, self.source, self.nets(), self.metrics, self.step_count,
                        self.train_time, card_extra)
        self.saved_to = str(path)
        return path

