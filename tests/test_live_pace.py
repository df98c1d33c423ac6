"""The Train tab's pace and what a manual step shows: steps per frame follow the visitor's setting (the run rests
between frames instead of holding the worker), G's push on a point is the descent direction of G's loss, a manual
step sends the state before it, run numbers and download names agree, and the digits preview shows every class."""

from __future__ import annotations

import itertools
import tempfile
import time
import zipfile

import numpy as np
import pytest
import torch
from gan_helpers import tiny_toy_config
from waiting import HANG_S, wait_until

from ganstudio.actions import train as actions
from ganstudio.actions import train_view
from ganstudio.actions.visitors import end_session, session_of
from ganstudio.engine import Engine
from ganstudio.errors import BadInput
from ganstudio.gan import losses
from ganstudio.gan.gradient_field import arrow_tips, g_push
from ganstudio.gan.images import load_images
from ganstudio.gan.live_pace import SLOW_START_PER_FRAME, SLOW_START_STEPS, ViewPace
from ganstudio.gan.live_run import FRAME_2D_S, LiveRun
from ganstudio.gan.sources import load_training_data
from ganstudio.jobs import RUNNING, EngineConfig, Job, ViewPrefs
from ganstudio.turns import TrainTurn

torch.set_num_threads(1)
SMALL = {"batch_size": 32, "hidden": 16, "depth": 2, "seconds": 0}


def _watched_run(pace, steps: int = 0, data: str = "ring8") -> LiveRun:
    cfg = tiny_toy_config(data, steps=steps)
    run = LiveRun(cfg, load_training_data(cfg), torch.device("cpu"), tempfile.mkdtemp(), prefs=ViewPrefs(pace=pace))
    run.build()
    run.watched_at = time.monotonic()
    return run


# ---- the pace --------------------------------------------------------------------------------------


@pytest.mark.parametrize("pace", [1, 3, 10])
def test_a_slice_of_a_watched_run_takes_as_many_steps_as_its_pace_then_leaves_the_worker(pace):
    run = _watched_run(pace)
    turn, job = TrainTurn(run, 0.5), Job(id="train-1", owner="me", state=RUNNING)
    for _ in range(3):
        before = run.trainer.step_count
        run.watched_at = time.monotonic()
        turn.run_slice(job, time.perf_counter() + HANG_S, lambda: False)  # a deadline far away: the pace ends it
        assert run.trainer.step_count - before == pace
        assert job.snapshot["step"] == run.trainer.step_count, "the frame's steps are shown as soon as they are made"
        assert not turn.wants_turn(job), "a resting run must leave the worker to others"
        assert 0 < turn.wake_in(job) <= FRAME_2D_S
        wait_until(lambda: turn.wants_turn(job), "the next frame never came due")


def test_full_speed_and_unwatched_runs_never_rest():
    run = _watched_run(0)
    for _ in range(30):
        run.step()
        assert run.rest_s() == 0.0
    run.prefs.pace = 1  # slowed down mid-run: the next step waits for the next frame
    run.step()
    run.step()
    assert run.rest_s() > 0
    run.watched_at = -1e9  # nobody watches (a closed tab, an API call): full speed
    assert run.rest_s() == 0.0 and run.pace_text() is None


def test_slow_start_is_slow_for_the_first_steps_of_a_2d_run_only():
    pace = ViewPace(FRAME_2D_S, slow_start=True)
    assert pace.per_frame(None, 0) == SLOW_START_PER_FRAME
    assert pace.per_frame(None, SLOW_START_STEPS) == 0
    assert "slow start" in pace.describe(None, 0) and pace.describe(None, SLOW_START_STEPS) == "full speed"
    assert pace.per_frame(5, 10_000) == 5  # a chosen pace holds all run long
    assert ViewPace(0.4, slow_start=False).per_frame(None, 0) == 0  # image runs start at full speed


def test_a_paced_run_in_the_engine_shows_every_frame_with_exactly_its_steps():
    """Through the real worker: each published frame is `pace` steps after the last, and an interactive call is
    answered while the run rests."""
    engine = Engine(device="cpu", config=EngineConfig(slice_ms=60, snapshot_every_s=0.5))
    try:
        run = _watched_run(2)
        job = engine.submit_training(run, owner="pace")
        seen: list[int] = []

        def frames() -> bool:
            run.watched_at = time.monotonic()
            step = (job.snapshot or {}).get("step")
            if step and (not seen or step != seen[-1]):
                seen.append(step)
            return len(seen) >= 7

        wait_until(frames, "the paced run stopped publishing frames")
        later = seen[1:]  # the first frame comes with the run's first step (nothing shown yet)
        assert {b - a for a, b in itertools.pairwise(later)} == {2}, seen
        assert engine.run(lambda: "served", timeout=HANG_S) == "served"
    finally:
        engine.shutdown()


def test_the_pace_setting_is_the_sessions_and_reaches_the_live_run():
    owner = "test-pace"
    try:
        assert train_view.set_pace(owner, "3") == "3 steps per frame"
        actions.start_training(owner, {"data": "ring8", "steps": 0, **SMALL})
        run = session_of(owner).current
        assert run.task.prefs is session_of(owner).view_prefs and run.task.prefs.pace == 3
        assert train_view.set_pace(owner, "full speed") == "full speed" and run.task.prefs.pace == 0
        assert train_view.set_pace(owner, "slow start") == "slow start" and run.task.prefs.pace is None
        assert train_view.show_arrows(owner, True) and run.task.prefs.arrows
        for bad in ("fast", "0", "-2", "1.5"):
            with pytest.raises(BadInput, match="pace"):
                train_view.set_pace(owner, bad)
    finally:
        end_session(owner)


# ---- G's push on each point ------------------------------------------------------------------------


class TinyD(torch.nn.Module):
    """A two-layer D on 2D points (y ignored), small enough to check by hand."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))

    def forward(self, x, y=None):
        return self.net(x).squeeze(1)


@pytest.mark.parametrize("kind", ["ns", "minimax", "lsgan", "hinge", "wgan-gp"])
def test_g_push_is_minus_the_gradient_of_each_points_own_loss(kind):
    d = TinyD()
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    push = g_push(d, x, kind)
    for i in range(len(x)):  # autograd, one point at a time
        xi = x[i:i + 1].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(losses.g_loss(kind, d(xi)), xi)
        np.testing.assert_allclose(push[i], -grad[0].numpy(), rtol=1e-5, atol=1e-7)
    assert all(p.grad is None for p in d.parameters()), "D's weights must not collect gradients"
    step = torch.from_numpy(push).float() * 1e-3  # a small move along the arrows lowers G's loss
    assert losses.g_loss(kind, d(x + step)) < losses.g_loss(kind, d(x))


def test_g_push_on_a_linear_d_points_along_its_weights():
    """ns loss, D(x) = w·x + b: −∂softplus(−D)/∂x = sigmoid(−D(x)) w, towards "real" for every point."""
    d = torch.nn.Linear(2, 1)
    with torch.no_grad():
        d.weight.copy_(torch.tensor([[2.0, -1.0]]))
        d.bias.fill_(0.5)
    x = torch.tensor([[0.0, 0.0], [1.0, 2.0], [-3.0, 1.0]])
    push = g_push(_Wrap(d), x, "ns")
    expected = torch.sigmoid(-(x @ d.weight.T + d.bias)) * d.weight
    np.testing.assert_allclose(push, expected.detach().numpy(), rtol=1e-5)
    tips, longest = arrow_tips(x.numpy(), push, (-4, 4, -4, 4))
    along = tips - x.numpy()
    cross = along[:, 0] * push[:, 1] - along[:, 1] * push[:, 0]
    assert np.allclose(cross, 0, atol=1e-9) and ((along * push).sum(1) > 0).all(), "arrows keep the push's direction"
    assert longest == pytest.approx(np.linalg.norm(push, axis=1).max())


class _Wrap(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, y=None):
        return self.net(x).squeeze(1)


def test_a_manual_step_sends_the_points_and_ds_map_from_before_it():
    run = _watched_run(None)
    for _ in range(20):
        run.step()
    run.manual = True
    view = run.step_by_hand("g")["view"]
    assert view["ghost"] and view["heat_before"] and view["arrows"]
    assert view["ghost"] != view["fake"], "Step G moved no point"
    assert view["heat_before"] == view["heat"], "Step G changed D"
    assert view["change"].startswith("Step G moved the generated points by")
    view = run.step_by_hand("d")["view"]
    assert view["heat_before"] != view["heat"] and view["ghost"] == view["fake"]
    assert view["change"].startswith("Step D changed D's verdict by up to")
    run.manual = False
    run.step()
    live = run.snapshot(force=True)["view"]
    assert "ghost" not in live and "arrows" not in live, "the ghosts are for the step that made them"
    run.prefs.arrows = True
    run.step()
    assert run.snapshot(force=True)["view"]["arrows"]


# ---- nothing stale ---------------------------------------------------------------------------------


def test_run_numbers_count_runs_and_downloads_carry_them():
    owner = "test-numbers"
    try:
        names = []
        for data in ("ring8", "moons", "ring8"):
            actions.start_training(owner, {"data": data, "steps": 3, **SMALL})
            wait_until(lambda: actions.poll_training(owner)["state"] == "done" and session_of(owner).current.task.saved,
                       "the run did not end")
            names.append(actions.poll_training(owner)["run"])
            zip_path = actions.save_checkpoint(owner)
            number = len(names)
            assert zip_path.endswith(f"gan-mlp-{data}-run{number}.zip"), (names[-1], zip_path)
            assert zipfile.ZipFile(zip_path).namelist()
        assert [name.split(" · ")[0] for name in names] == ["run 1", "run 2", "run 3"]
    finally:
        end_session(owner)


def test_a_class_conditional_run_says_so_in_its_name():
    owner = "test-conditional"
    try:
        actions.start_training(owner, {"data": "ring8", "steps": 0, "conditional": True, **SMALL})
        assert actions.poll_training(owner)["run"] == "run 1 · ring8 · mlp · class-conditional"
        assert actions.live_value(owner)["title"].endswith("class-conditional")
    finally:
        end_session(owner)


def test_the_digits_preview_shows_every_class_in_rows():
    labels = load_images("digits").labels
    assert (labels[:64] == labels[0]).all(), "the bundled file is sorted by class (why the first 64 were all zeros)"
    order = train_view.fair_sample(labels, 6)
    rows = labels[order].reshape(6, -1)
    assert rows.shape[1] == 10 and all((row == np.arange(10)).all() for row in rows)
    preview = train_view.preview("digits")
    assert preview["png"].startswith("data:image/png;base64,") and "every class" in preview["title"]
