"""The benchmarks' yardsticks: the plain training loop runs every setting, the digit judge is calibrated on real digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from gan_helpers import tiny_image_config, tiny_images, tiny_toy_config
from ganstudio.benchmarks.digits import DigitJudge
from ganstudio.benchmarks.train import compare, plain_loop
from ganstudio.gan.trainer import GanTrainer

torch.set_num_threads(1)


@pytest.mark.parametrize(
    "cfg",
    [
        tiny_toy_config("grid25", loss="ns"),
        tiny_toy_config("ring8", loss="wgan-gp", pack=2),
        tiny_image_config("dcgan", "hinge", r1=1.0, g_out="convT", conditional=True),
        tiny_image_config("sagan", "lsgan", class_from_z=True),
        tiny_image_config("transformer", "wgan-gp"),
    ],
    ids=["mlp", "mlp-wgan-pack", "dcgan-r1-cond", "sagan-class-from-z", "transformer-wgan"],
)
def test_plain_loop_trains_the_same_nets(cfg):
    data = tiny_images() if cfg.data_kind == "image" else None
    trainer = GanTrainer(cfg, data=data)
    step = plain_loop(trainer)
    step()
    step()  # two plain steps run; the engine's own nets are untouched
    assert trainer.step_count == 0
    result = compare(cfg, data, torch.device("cpu"), seconds=0.06)
    assert set(result) == {"engine_steps_per_s", "plain_steps_per_s", "ratio"} and result["ratio"] > 0


class RealDigits(nn.Module):
    """A stand-in 'generator' that returns real digits (of the requested class when conditional)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.n_classes, self.out_kind = 4, n_classes, "image"
        self.register_buffer("x", torch.as_tensor(images).permute(0, 3, 1, 2).float() / 127.5 - 1)
        self.labels = torch.as_tensor(labels)
        self.anchor = nn.Parameter(torch.zeros(()))  # sample_array reads the device off a parameter
        self.taken: dict[int, int] = {}  # digits handed out so far, per class (-1: any)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The next len(z) digits in turn (of class y[i] for row i when y is given)."""
        if y is None:
            y = torch.full((len(z),), -1)
        out = []
        for c in y.tolist():
            pool = torch.arange(len(self.x)) if c < 0 else torch.nonzero(self.labels == c).squeeze(1)
            out.append(self.x[pool[self.taken.get(c, 0) % len(pool)]])
            self.taken[c] = self.taken.get(c, 0) + 1
        return torch.stack(out)


@pytest.fixture(scope="module")
def judge():
    return DigitJudge()


def test_real_digits_meet_every_goal(judge):
    real = judge.report(RealDigits(judge.heldout, np.zeros(len(judge.heldout))), n=500)
    assert real["confident"] > 0.9 and real["smallest_class"] > 0.05
    assert real["frechet_vs_real"] < 2.0  # the goal is met by real digits the GAN never saw
    labelled = judge.report(RealDigits(judge.real, judge.real_labels, n_classes=10), n=500)
    assert labelled["recognised"] > 0.98 and 0.8 < labelled["within_class_diversity"] < 1.2


def test_a_collapsed_generator_fails(judge):
    ones = judge.real[judge.real_labels == 1][:1]  # one digit, drawn every time
    report = judge.report(RealDigits(ones, np.ones(1)), n=200)
    assert report["smallest_class"] == 0.0 and report["frechet_vs_real"] > 20
