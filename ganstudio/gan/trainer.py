"""The GAN trainer: one small `.step()` at a time (D updates, then a G update), its learning-rate schedule,
and the NaN/inf guard.

It reports through plain values: ``report()`` returns a ``TrainReport`` (progress.py) and ``players()`` the
nets a live view draws with (sampling.py), so no caller reads its insides. Scoring lives in evaluation.py,
the checkpoint's make-up in checkpoint.py, the live view in snapshot.py; ``live_run.LiveRun`` drives it as an
engine task, the CLI drives it directly (with DDP under torchrun). A NaN/inf loss stops it with Diverged,
after putting back the last good weights (and saving them when it has an output folder).
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import torch

from ganstudio.device import cpu_threads
from ganstudio.errors import BadInput, Diverged
from ganstudio.gan import checkpoint, losses
from ganstudio.gan.config import TrainConfig
from ganstudio.gan.ddp import SINGLE, DistContext
from ganstudio.gan.diffaug import diff_augment
from ganstudio.gan.evaluation import Evaluator
from ganstudio.gan.history import History
from ganstudio.gan.last_good import LastGood
from ganstudio.gan.models import classes_from_z
from ganstudio.gan.progress import Pace, RunBudget, TrainReport
from ganstudio.gan.registry import build_discriminator, build_generator
from ganstudio.gan.sampling import Players, eval_forward
from ganstudio.gan.spec import GanSpec
from ganstudio.gan.sources import load_training_data, make_source

# Iterations between reads of the step's numbers (nanoGPT's log_interval): only then are losses, D outputs and
# grad norms turned into Python floats (a host sync on a GPU), checked for NaN/inf and added to the history.
# The first iteration, manual steps and the last iteration are always read.
LOG_EVERY = 10


class GanTrainer(RunBudget):
    """Trains one GAN. `data` may be given (a Toy2D or an images.ImageData) to skip loading."""

    def __init__(
        self,
        cfg: TrainConfig,
        device: str | torch.device = "cpu",
        *,
        data=None,
        out_dir: str | Path | None = None,
        dist: DistContext = SINGLE,
    ):
        self.cfg = cfg.validate()
        self.device = torch.device(device)
        self.dist = dist
        self.out_dir = Path(out_dir) if out_dir else None
        raw = data if data is not None else load_training_data(cfg)
        seed = cfg.seed + 1000 * dist.rank  # each rank draws its own batches
        self.z_gen = torch.Generator(device=self.device).manual_seed(seed)
        self.data_gen = torch.Generator().manual_seed(seed + 1)
        # real batches the live view judges draw from their own generator: however often a page is drawn, the
        # run's own draws (and so its result) stay the same, which is what lets a lesson run by steps anywhere
        self._view_gen = torch.Generator().manual_seed(seed + 2)
        self.source = make_source(raw, self.device, self.data_gen)
        self.data_kind = self.source.kind
        n_classes = self.source.n_classes if cfg.conditional or cfg.class_from_z else 0
        if (cfg.conditional or cfg.class_from_z) and not n_classes:
            raise BadInput(f"{self.source.name} has no class labels: turn off class-conditional training")
        if cfg.class_from_z and n_classes > cfg.z_dim:
            raise BadInput(f"class from z needs a latent size of at least {n_classes} (the classes), got {cfg.z_dim}")
        if self.data_kind == "2d":
            self.spec = GanSpec.for_training(cfg, n_classes, scale=self.source.toy.scale)
        else:
            self.spec = GanSpec.for_training(cfg, n_classes, self.source.channels, self.source.image_size)
        self.d_classes = self.spec.n_classes or self.spec.z_classes  # D is class-conditional when > 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)  # identical initial weights on every rank and every run
            self.G = build_generator(self.spec).to(self.device)
            self.D = build_discriminator(self.spec).to(self.device)
        if self.device.type == "cpu" and self.spec.arch in ("dcgan", "sagan"):
            # NHWC weights make oneDNN keep the conv activations NHWC: ~20% more steps/s (2-core AVX-512, batch 64)
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False) if cfg.ema > 0 else None
        self.G_train, self.D_train = dist.wrap(self.G, self.device), dist.wrap(self.D, self.device)
        self.opt_g = (_adam(self.G, cfg.lr_g, (cfg.beta1_g, cfg.beta2_g)) if cfg.g_optimizer == "adam" else
                      torch.optim.SGD(self.G.parameters(), lr=cfg.lr_g, momentum=cfg.beta1_g, foreach=True))
        self.opt_d = _adam(self.D, cfg.lr_d, (cfg.beta1_d, cfg.beta2_d))
        self._g_params = list(self.G.parameters())
        self._ema_params = (list(self.G_ema.parameters()), self._g_params) if self.G_ema is not None else None
        self._ema_buffers = (list(self.G_ema.buffers()), list(self.G.buffers())) if self.G_ema is not None else None
        self._noise = torch.empty(cfg.batch_size, cfg.z_dim, device=self.device)  # refilled in place every update
        self._kept: tuple[torch.Tensor, torch.Tensor | None] | None = None  # (fake, labels) shared by D and G updates
        self._lr_f = None  # learning-rate factor last written into the optimisers
        self.augment = cfg.augment_list() if self.data_kind == "image" else []

        self.step_count = 0  # completed iterations (each ends with a G update)
        self.d_updates = 0  # discriminator updates, manual ones included
        self.g_updates = 0  # generator updates, manual ones included
        self.train_time = 0.0  # seconds spent inside step()/step_d()/step_g(); pauses don't count
        self.history = History()
        self.metrics: dict = {}
        self.saved_to: str | None = None
        self.diverged: str | None = None
        self.stop_requested = False
        self._last: dict[str, torch.Tensor] = {}  # this iteration's tensors (losses, D outputs), read when logging
        self._updated: set[str] = set()  # "d" / "g": which nets updated since the last read
        self._pace = Pace()
        self._last_good = LastGood()  # put back if a step's numbers stop being finite
        self._finished = False
        # 2D nets are tiny: one CPU thread is as fast alone and far faster when the CPU is shared.
        self.step_threads = 1 if self.device.type == "cpu" and self.data_kind == "2d" else None
        self._evaluator = Evaluator(cfg, self.spec, self.source, self.device)

    # ---- budget (progress, done, finished, lr_factor: progress.RunBudget) -------------------

    def _set_lr(self) -> None:
        f = self.lr_factor()
        if f == self._lr_f:
            return
        self._lr_f = f
        for opt, lr in ((self.opt_d, self.cfg.lr_d), (self.opt_g, self.cfg.lr_g)):
            for group in opt.param_groups:
                group["lr"] = lr * f

    # ---- one iteration --------------------------------------------------------------------

    def step(self) -> None:
        """One iteration: `d_steps` D updates, then one G update."""
        self._timed(self._iteration)

    def step_d(self) -> None:
        """A single D update (manual stepping while paused)."""
        self._timed(self._d_update, count=False, log=True)

    def step_g(self) -> None:
        """A single G update (manual stepping while paused); counts as an iteration."""
        self._timed(self._g_update, log=True)

    def _iteration(self) -> None:
        self._kept = None
        if self.step_count < self.cfg.d_head_start:  # D's head start: D alone learns, G stands still
            self._d_update()
            return
        for i in range(self.cfg.d_steps):
            self._d_update(keep_fake=i == self.cfg.d_steps - 1)
        self._g_update()

    def _timed(self, work, count: bool = True, log: bool = False) -> None:
        if self.diverged:
            raise Diverged(self.diverged)
        start = time.perf_counter()
        self._set_lr()
        if not self.G_train.training:  # a snapshot or generate() may have left it in eval mode
            self.G_train.train()
        with cpu_threads(self.step_threads):
            work()
        self.train_time += time.perf_counter() - start
        if count:
            self.step_count += 1
        if log or self.step_count % LOG_EVERY == 0 or self.step_count == 1 or self.done:
            self._check_and_record(count)
        if self.done and not self._finished:
            self.finish()

    def _z(self, n: int) -> torch.Tensor:
        """(n, z_dim) standard normal latents. The batch-sized buffer is refilled in place: each iteration's
        G backward (which reads z) runs before the next iteration draws again."""
        if n != self._noise.shape[0]:
            return torch.randn(n, self.cfg.z_dim, device=self.device, generator=self.z_gen)
        return self._noise.normal_(generator=self.z_gen)

    def _fake(self, n: int, grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n fakes (with G's graph when `grad`) and the labels D judges them under (None: D is unconditional)."""
        z = self._z(n)
        if self.spec.z_classes:  # unconditional G; its class is read off z
            y_g, y_d = None, classes_from_z(z, self.spec.z_classes)
        else:
            y_g = y_d = self.source.labels(n) if self.spec.n_classes else None
        with torch.set_grad_enabled(grad):
            return self.G_train(z, y_g), y_d

    def _aug(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.augment, self.z_gen) if self.augment else x

    def _d_update(self, keep_fake: bool = False) -> None:
        """One D step on a real and a fake batch. `keep_fake`: G's forward keeps its graph for the G update
        that follows (one G forward per iteration instead of two, as in PyTorch's DCGAN example)."""
        B, kind = self.cfg.batch_size, self.cfg.loss
        real, y_real = self.source.sample(B)  # (B, 2) points or (B, C, H, W) in [-1, 1]
        y_real = y_real if self.d_classes else None
        fake, y_fake = self._fake(B, grad=keep_fake)
        if keep_fake:
            self._kept = (fake, y_fake)
            fake = fake.detach()
        real_in, fake_in = self._aug(real), self._aug(fake)
        r1 = self.cfg.r1 > 0 and kind != "wgan-gp"
        if r1:
            real_in = real_in.detach().requires_grad_(True)
        batch = [real_in, fake_in]
        if kind == "wgan-gp":
            points = losses.interpolate(real_in, fake_in, self.z_gen)
            batch.append(points)
        labels = None if y_real is None else torch.cat([y_real, y_fake] + ([y_real] if kind == "wgan-gp" else []))
        scores = self.D_train(torch.cat(batch), labels)  # one D pass over real, fake (and interpolates)
        n = B // self.cfg.pack  # scores per part: D judges packs of `pack` samples
        s_real, s_fake = scores[:n], scores[n:2 * n]
        loss = losses.d_loss(kind, s_real, s_fake)
        if kind == "wgan-gp":
            loss = loss + self.cfg.gp_weight * losses.gradient_penalty(scores[2 * n:], points)
        if r1:
            loss = loss + 0.5 * self.cfg.r1 * losses.r1_penalty(s_real, real_in)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self._clip(self.D, "grad_d")
        self.opt_d.step()
        self.d_updates += 1
        self._last.update(loss_d=loss.detach(), s_real=s_real.detach(), s_fake=s_fake.detach())
        self._updated.add("d")

    def _g_update(self) -> None:
        B, kind = self.cfg.batch_size, self.cfg.loss
        kept, self._kept = self._kept, None
        fake, y = kept if kept is not None else self._fake(B, grad=True)  # (B, ...) with G's graph
        scores = self.D(self._aug(fake), y)  # the plain D: its DDP wrapper would wait for D gradients
        loss = losses.g_loss(kind, scores)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward(inputs=self._g_params)  # G's gradients only: D's weights get none and keep their own
        self._clip(self.G, "grad_g")
        self.opt_g.step()
        self.g_updates += 1
        self._update_ema()
        self._last["loss_g"] = loss.detach()
        self._updated.add("g")

    def _clip(self, net: torch.nn.Module, name: str) -> None:
        """Clip ``net``'s gradient norm to ``grad_clip`` (when on), keeping the norm before clipping to show."""
        if self.cfg.grad_clip > 0:
            self._last[name] = torch.nn.utils.clip_grad_norm_(net.parameters(), self.cfg.grad_clip, foreach=True)

    def set_loss(self, kind: str) -> None:
        """Change G's loss mid-run (a lesson's switch), between losses that share D's objective: ns and minimax."""
        if {kind, self.cfg.loss} - set(losses.PROBABILITY_LOSSES):
            raise BadInput(f"a run can switch only between the losses {' and '.join(losses.PROBABILITY_LOSSES)}")
        self.cfg.loss = kind

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.G_ema is None:
            return
        decay = min(self.cfg.ema, (1 + self.step_count) / (10 + self.step_count))  # warm-up: early EMA follows G
        torch._foreach_lerp_(*self._ema_params, 1.0 - decay)
        if self._ema_buffers[0]:
            torch._foreach_copy_(*self._ema_buffers)  # BatchNorm statistics follow G

    # ---- bookkeeping ----------------------------------------------------------------------

    def _check_and_record(self, count: bool) -> None:
        """Read the last iteration's numbers (the only host sync), stop on NaN/inf, add a history point."""
        kind, last = self.cfg.loss, self._last
        tensors: dict[str, torch.Tensor] = {}
        clipped = self.cfg.grad_clip > 0  # the norms before clipping were kept; the grads now hold clipped ones
        if "d" in self._updated:
            tensors.update(loss_d=last["loss_d"], grad_d=last["grad_d"] if clipped else grad_norm(self.D),
                           d_real=losses.readable(kind, last["s_real"]), d_fake=losses.readable(kind, last["s_fake"]))
        if "g" in self._updated:
            tensors.update(loss_g=last["loss_g"], grad_g=last["grad_g"] if clipped else grad_norm(self.G))
        self._updated = set()
        values = torch.stack([t.float() for t in tensors.values()]).tolist() if tensors else []
        if not all(math.isfinite(v) for v in values):
            self._diverge()
        self.history.add(self.step_count, dict(zip(tensors, values)))
        if count:
            self._pace.mark(self.train_time, self.step_count)
        self._last_good.keep(self.step_count, self.train_time, self.nets())

    def nets(self) -> dict[str, torch.nn.Module]:
        """The trained nets by name: "G", "D" and, with EMA, "G_ema" (read them; train through step())."""
        return {"G": self.G, "D": self.D, **({"G_ema": self.G_ema} if self.G_ema is not None else {})}

    def _diverge(self) -> None:
        keep = self.out_dir is not None and self.dist.is_main
        self.diverged = self._last_good.give_up(self.step_count, self.nets(),
                                                (lambda: self.save(self.out_dir)) if keep else None)
        raise Diverged(self.diverged)

    def report(self) -> TrainReport:
        """Where the run stands, as a plain record (what the live view and the CLI's progress bar show)."""
        cfg = self.cfg
        return TrainReport(
            step=self.step_count, d_updates=self.d_updates, g_updates=self.g_updates, seconds=self.train_time,
            progress=self.progress, steps_per_s=self._pace.steps_per_second(),
            eta_s=self._pace.eta_seconds(self.step_count, self.train_time, cfg.steps, cfg.seconds),
            lr_factor=self.lr_factor(), done=self.done, diverged=self.diverged,
            saved_to=self.saved_to, metrics=dict(self.metrics), history=self.history,
        )

    # ---- sampling, metrics, finishing ----------------------------------------------------

    @property
    def sampler(self) -> torch.nn.Module:
        """The generator samples are drawn from: the EMA copy when there is one."""
        return self.G_ema if self.G_ema is not None else self.G

    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None, raw: bool = False) -> torch.Tensor:
        """G(z, y) in eval mode, without gradients: the EMA copy (``sampler``), or G itself with ``raw``."""
        return eval_forward(self.G if raw else self.sampler, z, y)

    def players(self, raw: bool = False) -> Players:
        """The nets a live view draws with; ``raw`` draws G itself rather than its EMA copy (manual stepping)."""
        drawn = self.G if raw else self.sampler
        return Players(generator=drawn, online=self.G, discriminator=self.D,
                       real_batch=lambda n: self.source.sample(n, self._view_gen),
                       smoothed=drawn is not self.G)

    def evaluate(self, final: bool = False) -> dict:
        """Score the sampler (evaluation.py) and keep the result in ``metrics``. 2D: PacGAN mode metrics on
        2,500 samples; images: a Fréchet distance (slow: call rarely). A failing score is kept as
        ``metric_error``, never raised: a metric must not stop training or lose the trained model."""
        try:
            self.metrics = {**self._evaluator.score(self.sampler, self.metrics, final), "step": self.step_count}
        except Exception as err:
            self.metrics = {**self.metrics, "metric_error": str(err)[:200]}
        return self.metrics

    def finish(self, evaluate: bool = True) -> None:
        """The budget is spent (or Stop was pressed): final metrics, then save when there is an out_dir."""
        if self._finished:
            return
        self._finished = True
        if self.dist.is_main:
            if evaluate:
                self.evaluate(final=True)
            if self.out_dir is not None:
                self.save(self.out_dir)

    def resume_from(self, folder: str | Path) -> None:
        """Continue from a saved checkpoint of the same model (weights only; optimiser state starts afresh)."""
        states = checkpoint.resume_weights(folder, self.spec)
        with torch.no_grad():
            for name, net in self.nets().items():
                net.load_state_dict(states[name])
        self._last_good.keep(self.step_count, self.train_time, self.nets(), now=True)

    def save(self, folder: str | Path, card_extra: dict | None = None) -> Path:
        """Write the checkpoint (checkpoint.parts) to ``folder``; returns where it went."""
        from ganstudio.gan.io import save_gan

        parts = checkpoint.parts(self.cfg, self.spec, self.source, self.nets(), self.metrics, self.step_count,
                                 self.train_time)
        path = save_gan(folder, parts, card_extra)
        self.saved_to = str(path)
        return path


def _adam(module: torch.nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    params = list(module.parameters())
    try:  # fused Adam: one kernel per step instead of a dozen per tensor (matters for small nets)
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


def grad_norm(module: torch.nn.Module) -> torch.Tensor:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))

