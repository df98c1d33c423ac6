"""The Text GAN's game, one update at a time: D learns real lines from G's, G learns to fool D.

G writes a line one character at a time, and *choosing* a character is the step a gradient cannot cross: D's
verdict on the chosen characters says nothing about how G's logits should move. The estimator decides what
crosses it (``TextGanConfig.estimator``):

* ``argmax``: G takes its likeliest character and D sees it as a one-hot row. argmax has no gradient, so G's
  loss does not depend on G's weights at all: its gradient is exactly zero (no gradient tensor is even made),
  Adam skips it, and G's weights stay the same to the bit;
* ``gumbel``: Gumbel-softmax. softmax((logits + Gumbel noise) / τ) is a relaxed sample (its argmax is an exact
  sample of G's distribution); D reads it and the gradient flows back through it into G, and through every
  earlier character that G fed itself. Straight-through: D sees the hard one-hot, G gets the relaxed gradient;
* ``reinforce``: G samples characters; D's probability that the line is real is the reward (SeqGAN), and
  G's loss is -(reward - baseline) * log p(line): the score-function gradient, with a moving-average baseline to
  cut its variance. No gradient crosses the sampling step; it goes around it.

Every update draws a batch of real lines; G continues their first 1..``max_prompt_chars`` characters (one prompt
length per batch) to the line's length, so D compares lines that start alike.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

from ganstudio.textgan.config import TextGanConfig
from ganstudio.textgan.corpus import bigram_distance, load_corpus, word_share
from ganstudio.textgan.nets import CharDiscriminator, SoftDecoder, generator, sample_ids

GRAD_CLIP = 5.0  # G's gradient is clipped to this norm before its step (the plotted norm is the one before)
EVAL_LINES = 512  # lines per quality measurement (their bigram distance has ~0.01 of sampling noise)
LINES_SEED = 7  # the draws the shown lines use, the same every time: a line changes only when G does
HISTORY_POINTS = 512  # the curves keep at most this many points (thinned by halves as the run goes on)


def gumbel_noise(shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    u = torch.rand(shape, generator=generator).clamp(1e-9, 1 - 1e-9)
    return -torch.log(-torch.log(u))


class TextGanTrainer:
    """G and D, their optimisers and the run's figures. ``step()`` is one D update and one G update."""

    def __init__(self, cfg: TextGanConfig, device: torch.device | str = "cpu"):
        self.cfg, self.device = cfg, torch.device(device)
        self.corpus = load_corpus(cfg.line_chars)
        V = len(self.corpus.alphabet)
        with torch.random.fork_rng(devices=[]):  # weights follow the seed, without touching anyone else's RNG
            torch.manual_seed(cfg.seed)
            self.G = generator(V, cfg)
            self.G.initialise()
            self.D = CharDiscriminator(V, cfg.width)
        self.G.to(self.device)
        self.D.to(self.device)
        self.rng = torch.Generator().manual_seed(cfg.seed)  # line order, prompt lengths and every sample
        self.real = self.corpus.tensor(list(self.corpus.lines))  # (N, L)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(0.5, 0.999))
        self.g_start = [p.detach().clone() for p in self.G.parameters()]  # to show argmax changes nothing
        self.baseline: float | None = None  # REINFORCE's moving average of the reward
        self.step_count, self.train_time = 0, 0.0
        self.grad_g_max = 0.0  # the largest ‖∇G‖ of the run (exactly 0.0 under argmax)
        self.latest = {"grad_g": 0.0, "d_acc": 0.5, "loss_d": math.nan, "loss_g": math.nan, "d_real": 0.5,
                       "d_fake": 0.5}
        self.history: list[dict] = []  # {step, seconds, grad_g, d_acc}, thinned to HISTORY_POINTS
        self._every = 1  # record every this many steps
        self.quality: list[dict] = []  # {step, seconds, bigram, words}: evaluate()'s figures
        self.stop_requested = False

    @property
    def V(self) -> int:
        return len(self.corpus.alphabet)

    @property
    def done(self) -> bool:
        cfg = self.cfg
        return (self.stop_requested or bool(cfg.steps and self.step_count >= cfg.steps)
                or bool(cfg.seconds and self.train_time >= cfg.seconds))

    # ---- one update -------------------------------------------------------------------------

    def step(self) -> None:
        start = time.perf_counter()
        self.G.train()
        cfg, L = self.cfg, self.cfg.line_chars
        p = int(torch.randint(1, cfg.max_prompt_chars + 1, (1,), generator=self.rng))
        real = self.real[torch.randint(len(self.real), (cfg.batch_size,), generator=self.rng)].to(self.device)
        prompt = self.real[torch.randint(len(self.real), (cfg.batch_size,), generator=self.rng), :p].to(self.device)
        fake = self._fake(prompt, L - p)  # (B, L, V): one-hot rows, relaxed ones for gumbel

        d_real, d_fake = self.D(self._one_hot(real)), self.D(fake.detach())
        loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()  # -log D(real) - log(1 - D(fake))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        self.opt_g.zero_grad(set_to_none=True)
        loss_g = self._g_loss(fake, p)
        loss_g.backward()
        grads = [q.grad for q in self.G.parameters() if q.grad is not None]  # none at all under argmax
        grad_g = float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))) if grads else 0.0
        torch.nn.utils.clip_grad_norm_(self.G.parameters(), GRAD_CLIP)
        self.opt_g.step()  # Adam skips weights without a gradient: under argmax, every one of G's
        self.D.zero_grad(set_to_none=True)  # G's loss also reached D's weights; D learns only from its own loss

        acc = 0.5 * float((d_real > 0).float().mean() + (d_fake < 0).float().mean())
        self.latest = {"grad_g": grad_g, "d_acc": acc, "loss_d": loss_d.item(), "loss_g": loss_g.item(),
                       "d_real": torch.sigmoid(d_real).mean().item(), "d_fake": torch.sigmoid(d_fake).mean().item()}
        self.grad_g_max = max(self.grad_g_max, grad_g)
        self.step_count += 1
        self.train_time += time.perf_counter() - start
        self._record()

    def _one_hot(self, ids: torch.Tensor) -> torch.Tensor:
        return F.one_hot(ids, self.V).float()

    def _fake(self, prompt: torch.Tensor, n: int) -> torch.Tensor:
        """(B, p) prompts -> (B, p + n, V) G's lines as D reads them."""
        cfg = self.cfg
        if cfg.estimator == "gumbel":
            return self._relaxed(prompt, n)
        ids = sample_ids(self.G, prompt, n, greedy=cfg.estimator == "argmax", generator=self.rng)
        return self._one_hot(ids)

    def _relaxed(self, prompt: torch.Tensor, n: int) -> torch.Tensor:
        """Gumbel-softmax lines: each relaxed character is also G's next input, so the gradient reaches back
        through the whole line. (B, p) -> (B, p + n, V)."""
        tau, hard = self.cfg.temperature, self.cfg.straight_through
        x = self._one_hot(prompt)  # (B, p, V)
        decoder = SoftDecoder(self.G)
        for i in range(x.size(1)):
            logits = decoder.step(x[:, i])  # (B, V): after the prompt, the first character's logits
        for _ in range(n):
            y = F.softmax((logits + gumbel_noise(logits.shape, self.rng).to(logits.device)) / tau, dim=-1)
            if hard:  # forward: its argmax as a one-hot; backward: the relaxed sample's gradient
                y = F.one_hot(y.argmax(-1), self.V).float() - y.detach() + y
            x = torch.cat([x, y[:, None]], dim=1)
            if x.size(1) < self.cfg.line_chars:
                logits = decoder.step(y)
        return x

    def _g_loss(self, fake: torch.Tensor, p: int) -> torch.Tensor:
        if self.cfg.estimator != "reinforce":
            return F.softplus(-self.D(fake)).mean()  # -log D(G's line): under argmax, a constant for G
        ids = fake.argmax(-1)  # (B, L) the sampled line
        reward = torch.sigmoid(self.D(fake)).detach()  # (B,) D's probability that it is real
        mean = float(reward.mean())
        decay = self.cfg.baseline_decay
        self.baseline = mean if self.baseline is None else decay * self.baseline + (1 - decay) * mean
        logp = F.log_softmax(self.G(ids[:, :-1]).logits, dim=-1)[:, p - 1:]  # (B, n, V): G's choices after the prompt
        chosen = logp.gather(-1, ids[:, p:, None]).squeeze(-1)  # (B, n)
        return -((reward - self.baseline)[:, None] * chosen).mean()

    def _record(self) -> None:
        if self.step_count % self._every:
            return
        self.history.append({"step": self.step_count, "seconds": round(self.train_time, 2),
                             "grad_g": self.latest["grad_g"], "d_acc": self.latest["d_acc"]})
        if len(self.history) > HISTORY_POINTS:
            self.history, self._every = self.history[1::2], self._every * 2

    # ---- what a person looks at ------------------------------------------------------------------

    @torch.no_grad()
    def lines(self, prompts: list[str], seed: int = LINES_SEED) -> list[dict]:
        """G's continuation of each prompt to a full line (argmax: its likeliest characters; otherwise a sample,
        the same draws every time so a line changes only when G does), with D's P(real) of it."""
        self.G.eval()
        gen = torch.Generator().manual_seed(seed)
        rows = []
        for text in prompts:
            prompt = torch.tensor([self.corpus.encode(text)], device=self.device)
            ids = sample_ids(self.G, prompt, self.cfg.line_chars - prompt.size(1),
                             greedy=self.cfg.estimator == "argmax", generator=gen)
            rows.append({"prompt": text, "line": self.corpus.decode(ids[0]),
                         "d_real": float(torch.sigmoid(self.D(self._one_hot(ids))))})
        return rows

    @torch.no_grad()
    def score_lines(self, lines: list[str]) -> list[float | None]:
        """D's P(real) of other lines (the likelihood GPT's), cut to a line's length; None for a line too short
        or with a character outside the alphabet."""
        out = []
        for line in lines:
            line = line[:self.cfg.line_chars]
            ok = len(line) == self.cfg.line_chars and all(c in self.corpus.alphabet for c in line)
            out.append(float(torch.sigmoid(self.D(self._one_hot(self.corpus.tensor([line]).to(self.device)))))
                       if ok else None)
        return out

    @torch.no_grad()
    def evaluate(self) -> dict:
        """Quality of EVAL_LINES lines that G continues from the first character of corpus lines (the same
        prompts every time): bigram distance and word share (``textgan.corpus``)."""
        self.G.eval()
        gen = torch.Generator().manual_seed(12345)
        prompts = self.real[torch.randint(len(self.real), (EVAL_LINES,), generator=gen), :1].to(self.device)
        ids = sample_ids(self.G, prompts, self.cfg.line_chars - 1, greedy=self.cfg.estimator == "argmax",
                         generator=gen)
        lines = [self.corpus.decode(row) for row in ids]
        figures = {"step": self.step_count, "seconds": round(self.train_time, 2),
                   "bigram": bigram_distance(lines, self.corpus), "words": word_share(lines, self.corpus)}
        self.quality.append(figures)
        return figures

    def weights_changed(self) -> float:
        """The largest |change| of any of G's weights since the start (0.0: the same to the bit)."""
        return max(float((p.detach() - p0).abs().max()) for p, p0 in zip(self.G.parameters(), self.g_start))
