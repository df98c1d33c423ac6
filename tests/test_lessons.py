"""The Train tab's lessons keep their promise: each half trained headless, by steps, over five seeds."""

from __future__ import annotations

import pytest
import torch

from ganstudio.gan.lessons import HALVES, fix_wins, lesson_config, mode_figures
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
