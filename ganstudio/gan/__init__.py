"""GANs: 2D toy data and image models, losses, the live trainer, metrics, checkpoints.

Every generator is a `models.Generator` (with the Hub mixin: `Generator.from_pretrained(repo)`) and follows one
interface: `z_dim`, `n_classes`, `out_kind`,
`forward(z, y=None)`, a first layer `z_proj` on the latent code and `first_features(z, y)`.

config.py (TrainConfig + presets) -> trainer.py (GanTrainer: the step, its schedule, a plain report) ->
checkpoint.py (what a checkpoint holds) -> io.py (save_gan, load_gan, load_gan_spec); data2d.py / sources.py
feed batches; evaluation.py scores a generator (metrics2d.py: the PacGAN protocol for 2D runs, fid.py for
images); live_run.py is a visitor's run in the engine and owns its snapshots, which snapshot.py + render.py
draw (with sampling.py's shared helpers); cli.py and ddp.py train headless.
"""

__all__ = ["Discriminator", "Generator"]


def __getattr__(name: str):
    """``from ganstudio.gan import Generator`` without importing torch for every ``ganstudio.gan.*`` user."""
    if name in __all__:
        from ganstudio.gan import models

        return getattr(models, name)
    raise AttributeError(f"module 'ganstudio.gan' has no attribute {name!r}")
