"""The Train tab's lessons: one click sets up a run that shows one thing, a second click shows the fix.

Every lesson runs by steps, never by seconds: a seed and its settings give the same run however fast or
loaded the machine is (the live view and the scores draw their own random numbers, never the run's), so a
learner sees what the lesson promises on any machine. Each lesson's settings were tuned until its effect
showed on five seeds out of five; tests/test_lessons.py trains both halves of each headless and checks it.
"""

from __future__ import annotations

from ganstudio.gan.config import TrainConfig

# Mode collapse on grid25, 2,500 iterations each half (batch 64: ~6-15 s on a shared 2-core CPU).
# ① a G that learns 4x faster than D (Adam 2e-3 vs 5e-4): D cannot keep up, so G keeps jumping to wherever D
#   is weakest and piles its points into one clump (0-3 of 25 modes, under 2 % high quality on seeds 0-4).
# ② the fix reverses the balance (TTUR: D 4x faster than G), samples an average of G's recent weights (EMA)
#   and decays both rates over the last half (18-21 modes, 17-22 % high quality). PacGAN packing is left out:
#   at this length it kept G's points spread evenly (2-5 % high quality; the PacGAN paper trains far longer).
MODE_COLLAPSE = dict(data="grid25", steps=2500, seconds=0.0, batch_size=64, pack=1)
LESSONS: dict[str, dict] = {
    "collapse": dict(MODE_COLLAPSE, lr_g=2e-3, lr_d=5e-4, ema=0.0, lr_decay=0.0),
    "fix": dict(MODE_COLLAPSE, lr_g=5e-4, lr_d=2e-3, ema=0.99, lr_decay=0.5),
}
HALVES: dict[str, tuple[str, str]] = {"mode collapse": ("collapse", "fix")}  # lesson -> (① its problem, ② its fix)


def mode_figures(metrics: dict) -> dict | None:
    """A finished half's figures from its final PacGAN scores: modes captured (of all) and the high-quality
    share; None when the run was not scored on modes."""
    if "modes" not in metrics:
        return None
    return {"modes": int(metrics["modes"]), "total": int(metrics["total_modes"]),
            "high_quality": float(metrics["high_quality"])}


def fix_wins(before: dict, after: dict) -> bool:
    """The promised effect: the fix captures more modes, at a higher high-quality share, than the collapse."""
    return after["modes"] > before["modes"] and after["high_quality"] > before["high_quality"]


def lesson_config(half: str, seed: int = 0) -> TrainConfig:
    """The run one half of a lesson starts ("collapse", "fix", ...): its data set's preset with its settings."""
    settings = dict(LESSONS[half])
    return TrainConfig.defaults_for(settings.pop("data"), seed=seed, **settings)
