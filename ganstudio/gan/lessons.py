"""The Train tab's lessons: one click sets up a run that shows one thing, a second click shows the fix (or, GAN vs
VAE, one click trains a VAE and then a GAN for the same number of steps).

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
# Vanishing gradients on ring8: D learns alone for 500 iterations (its scores on G's first guess reach about -12,
# D(G(z)) ~ 1e-5), then G trains with the original game's loss log(1 - D(G(z))), whose gradient is D(G(z)) times
# D's slope: ‖∇G‖ ~ 1e-5 and G stands still while D's map keeps filling in. The switch to -log D(G(z)) gives G
# gradients ~1e5 times larger at once, and it moves. G uses plain SGD here (as the original GAN paper did): Adam
# rescales every step to its learning rate, so G escaped the saturated loss within 5 steps.
SATURATING = dict(data="ring8", steps=4500, seconds=0.0, d_head_start=500, g_optimizer="sgd", lr_g=0.05,
                  ema=0.0, lr_decay=0.0)
LESSONS.update(saturate=dict(SATURATING, loss="minimax"), nonsat=dict(SATURATING, loss="ns"))
# GAN vs VAE on grid25, 4,000 iterations each at batch 256 (~10-25 s each on a shared 2-core CPU): ① a VAE (its
# preset: decoder std σ = 0.1 of the grid's scale, i.e. 0.4 where the modes are 2 apart and 0.05 wide), then ② the
# GAN of the grid's preset (TTUR, EMA, a decaying rate) for the same number of steps. The decoder is a smooth map
# from the whole prior N(0, I), so the VAE reaches every mode but also draws points between them; the GAN puts its
# points on the modes and may leave some out. Measured on seeds 0-4 (metrics2d's PacGAN counter, as every lesson):
# VAE 25/25 modes every time at 50.4-59.6 % high quality; GAN 19-25 modes at 65.2-86.5 % high quality.
GAN_VS_VAE = dict(data="grid25", steps=4000, seconds=0.0, batch_size=256)
LESSONS.update(vae=dict(GAN_VS_VAE, family="vae"), gan=dict(GAN_VS_VAE, family="gan"))
HALVES: dict[str, tuple[str, str]] = {  # lesson -> (① its problem, ② its fix); GAN vs VAE: (① VAE, ② GAN)
    "mode collapse": ("collapse", "fix"),
    "vanishing gradients": ("saturate", "nonsat"),  # ② switches ①'s live run to ns, or runs ns from the head start
    "gan vs vae": ("vae", "gan"),
}
RECENT_POINTS = 5  # a half's ‖∇G‖ is the mean of the last few points of its curve


def mode_figures(metrics: dict) -> dict | None:
    """A finished half's figures from its final PacGAN scores: modes captured (of all) and the high-quality
    share; None when the run was not scored on modes."""
    if "modes" not in metrics:
        return None
    return {"modes": int(metrics["modes"]), "total": int(metrics["total_modes"]),
            "high_quality": float(metrics["high_quality"])}


def gradient_figures(history: dict) -> dict | None:
    """G's recent gradient norm and D's verdict on its fakes, from a run's curves (None before G's first step)."""
    grads = [g for g in history.get("grad_g") or [] if g is not None][-RECENT_POINTS:]
    fakes = [d for d in history.get("d_fake") or [] if d is not None][-RECENT_POINTS:]
    if not grads:
        return None
    return {"grad_g": sum(grads) / len(grads), "d_fake": sum(fakes) / len(fakes) if fakes else None}


def figures_of(half: str, metrics: dict, history: dict) -> dict | None:
    """What a half reports when it ends: mode figures for the mode lessons, gradient figures for the others."""
    return gradient_figures(history) if half in HALVES["vanishing gradients"] else mode_figures(metrics)


def fix_wins(before: dict, after: dict) -> bool:
    """The promised effect: the fix captures more modes at a higher high-quality share than the collapse, or
    (vanishing gradients) gives G a gradient at least 100 times larger."""
    if "grad_g" in before:
        return after["grad_g"] > 100 * before["grad_g"]
    return after["modes"] > before["modes"] and after["high_quality"] > before["high_quality"]


def vae_covers_gan_sharpens(vae: dict, gan: dict) -> bool:
    """GAN vs VAE's promise: the VAE captures at least as many modes as the GAN, and the GAN puts a larger share
    of its points on a mode (it is sharper)."""
    return vae["modes"] >= gan["modes"] and gan["high_quality"] > vae["high_quality"]


def lesson_config(half: str, seed: int = 0) -> TrainConfig:
    """The run one half of a lesson starts ("collapse", "fix", ...): its data set's preset with its settings."""
    settings = dict(LESSONS[half])
    return TrainConfig.defaults_for(settings.pop("data"), seed=seed, **settings)
