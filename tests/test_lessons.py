"""The Train tab's lessons keep their promise: each half trained headless, by steps, over five seeds."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ganstudio.gan.lessons import HALVES, LESSONS, fix_wins, lesson_config, mode_figures
from ganstudio.gan.snapshot import SnapshotRenderer
from ganstudio.gan.trainer import GanTrainer
from gan_helpers import tiny_toy_config

torch.set_num_threads(1)
SEEDS = range(5)


def _train(cfg) -> GanTrainer:
    trainer = GanTrainer(cfg)
    while not trainer.done:
        trainer.step()
    return trainer


def _figures(half: str, seed: int) -> dict:
    return mode_figures(_train(lesson_config(half, seed)).metrics)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", [name for name, (before, _) in HALVES.items() if before == "collapse"])
def test_the_fix_captures_more_modes_at_higher_quality_on_every_seed(lesson):
    before, after = HALVES[lesson]
    table = {seed: (_figures(before, seed), _figures(after, seed)) for seed in SEEDS}
    for seed, (b, a) in table.items():
        print(f"{lesson} seed {seed}: {before} {b['modes']}/{b['total']} {100 * b['high_quality']:.1f}% -> "
              f"{after} {a['modes']}/{a['total']} {100 * a['high_quality']:.1f}%")
    assert all(fix_wins(b, a) for b, a in table.values()), table


def _g_grad_norm(trainer: GanTrainer) -> float:
    return float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in trainer.nets()["G"].parameters()])))


def _g_steps(trainer: GanTrainer, n: int) -> list[float]:
    """‖∇G‖ after each of the next n iterations."""
    norms = []
    for _ in range(n):
        trainer.step()
        norms.append(_g_grad_norm(trainer))
    return norms


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_after_d_s_head_start_the_saturating_loss_leaves_g_almost_no_gradient(seed):
    """From the same head start, log(1 − D(G(z))) gives G a gradient over 100 times smaller than −log D(G(z)),
    and switching the live run to the latter raises it at once."""
    before, after = HALVES["vanishing gradients"]
    head_start = LESSONS[before]["d_head_start"]
    runs = {}
    for half in (before, after):
        cfg = dataclasses.replace(lesson_config(half, seed), steps=head_start + 200)
        runs[half] = GanTrainer(cfg)
        for _ in range(head_start):
            runs[half].step()
    saturated, steep = _g_steps(runs[before], 100), _g_steps(runs[after], 100)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    assert mean(saturated) * 100 < mean(steep), (mean(saturated), mean(steep))
    runs[before].set_loss(LESSONS[after]["loss"])
    switched = _g_steps(runs[before], 20)
    assert mean(switched) > 100 * mean(saturated[-20:]), (mean(saturated[-20:]), mean(switched))


def test_drawing_the_live_view_does_not_change_the_run():
    """A page that watches (snapshots between steps) gets the same run as nobody watching: a lesson's
    outcome must not depend on how fast the machine draws."""
    cfg = tiny_toy_config("grid25", steps=12, seed=3)
    quiet = _train(cfg)
    watched = GanTrainer(tiny_toy_config("grid25", steps=12, seed=3))
    renderer = SnapshotRenderer(watched.cfg, watched.spec, watched.device, watched.source.toy)
    while not watched.done:
        watched.step()
        renderer.snapshot(watched.report(), watched.players(), force=True)
    for a, b in zip(quiet.G.parameters(), watched.G.parameters()):
        assert torch.equal(a, b)


def test_each_half_states_its_figures_when_it_ends(monkeypatch):
    """The page's record gets a half's figures from the run's final scores, once that run is done."""
    from ganstudio.actions import lessons, train

    polls = iter([
        {"job_id": "j1", "state": "running", "snapshot": {"metrics": {"modes": 3, "total_modes": 25}}},
        {"job_id": "j1", "state": "done", "snapshot": {"metrics": {"modes": 1, "total_modes": 25,
                                                                   "high_quality": 0.004}}},
        {"job_id": "j2", "state": "done", "snapshot": {"metrics": {"modes": 20, "total_modes": 25,
                                                                   "high_quality": 0.19}}},
    ])
    monkeypatch.setattr(train, "poll_training", lambda owner: next(polls))
    record = {"half": "collapse", "job": "j1", "figures": {}}
    record, text = lessons.lesson_outcome("me", record)
    assert record["figures"] == {} and "① Collapse: training…" in text
    record, text = lessons.lesson_outcome("me", record)
    assert "① Collapse: **1/25** modes captured · **0.4 %** high quality" in text and "Modes captured" in text
    record, text = lessons.lesson_outcome("me", {**record, "half": "fix", "job": "j2"})
    assert "② Fix: **20/25** modes captured · **19.0 %** high quality" in text
    assert "+19 modes" in text


@pytest.mark.slow
def test_gan_vs_vae_the_vae_covers_the_modes_and_the_gan_is_sharper_on_every_seed():
    """After the same steps the VAE captures at least as many modes as the GAN, and the GAN puts a larger share of
    its points on a mode: what the lesson's text promises, on five seeds out of five (the same counter for both)."""
    from ganstudio.gan.families import make_trainer
    from ganstudio.gan.lessons import vae_covers_gan_sharpens

    def figures(half: str, seed: int) -> dict:
        trainer = make_trainer(lesson_config(half, seed))
        while not trainer.done:
            trainer.step()
        return mode_figures(trainer.metrics)

    vae, gan = HALVES["gan vs vae"]
    assert LESSONS[vae]["steps"] == LESSONS[gan]["steps"] and not LESSONS[vae]["seconds"]  # by steps, not seconds
    table = {seed: (figures(vae, seed), figures(gan, seed)) for seed in SEEDS}
    for seed, (v, g) in table.items():
        print(f"gan vs vae seed {seed}: VAE {v['modes']}/25 {100 * v['high_quality']:.1f}% -> "
              f"GAN {g['modes']}/25 {100 * g['high_quality']:.1f}%")
    assert all(vae_covers_gan_sharpens(v, g) for v, g in table.values()), table


def test_gan_vs_vae_runs_the_gan_once_the_vae_has_ended(monkeypatch):
    """One click: the VAE's record says the GAN comes next; its figures arrive, the GAN starts with the same steps,
    and both figures and the verdict are shown. A stopped VAE starts nothing."""
    from ganstudio.actions import lessons, train

    started = []
    monkeypatch.setattr(train, "start_training", lambda owner, params, replace: started.append(params) or "j2")
    polls = iter([{"job_id": "j1", "state": "done", "ended_by": None,
                   "snapshot": {"metrics": {"modes": 25, "total_modes": 25, "high_quality": 0.5}}}] * 2 +
                 [{"job_id": "j2", "state": "done", "ended_by": None,
                   "snapshot": {"metrics": {"modes": 20, "total_modes": 25, "high_quality": 0.65}}}])
    monkeypatch.setattr(train, "poll_training", lambda owner: next(polls))
    record = {"half": "vae", "job": "j1", "figures": {}, "then": "gan"}
    assert "② GAN, same steps: next" in lessons.outcome_text(record)
    record, _ = lessons.lesson_outcome("me", record)
    params, record = lessons.next_half("me", record)
    assert params["family"] == "gan" and params["steps"] == LESSONS["vae"]["steps"] == started[0]["steps"]
    assert record["half"] == "gan" and "then" not in record and lessons.next_half("me", record) is None
    record, text = lessons.lesson_outcome("me", record)
    assert "① VAE: **25/25** modes captured · **50.0 %** high quality" in text
    assert "② GAN, same steps: **20/25** modes" in text and "the GAN is sharp and may drop some" in text
    stopped = {"half": "vae", "job": "j1", "figures": {"vae": {"modes": 3, "total": 25, "high_quality": 0.1}},
               "then": "gan"}
    monkeypatch.setattr(train, "poll_training", lambda owner: {"job_id": "j1", "ended_by": "stopped"})
    assert lessons.next_half("me", stopped) is None
