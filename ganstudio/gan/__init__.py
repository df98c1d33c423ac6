"""GANs: 2D toy data and image models, losses, the live trainer, metrics, checkpoints.

Every generator is a `models.Generator` (with the Hub mixin: `Generator.from_pretrained(repo)`) and follows one
interface: `z_dim`, `n_classes`, `out_kind`,
`forward(z, y=None)`, a first layer `z_proj` on the latent code and `first_features(z, y)`.

spec.py (GanSpec) -> registry.py (spec -> nets; models.py and transformer_g.py register their architectures,
imported here so that every architecture is buildable as soon as any part of the package is used) ->
folder.py (read a saved GAN strictly) / estimate.py (memory before allocation) -> io.py (save_gan, load_gan,
load_gan_spec); latents.py is the one seed convention. config.py (TrainConfig + presets) -> trainer.py
(GanTrainer: the step, its schedule, a plain report) -> checkpoint.py (what a checkpoint holds) -> io.py;
data2d.py / sources.py feed batches; evaluation.py scores a generator (metrics2d.py: the PacGAN protocol for 2D
runs, fid.py for images); live_run.py is a visitor's run in the engine and owns its snapshots, which snapshot.py
+ render.py draw (with sampling.py's shared helpers); cli.py and ddp.py train headless.
"""

from ganstudio.gan import fc, models, transformer_g  # noqa: F401  (registers mlp, dcgan, sagan, transformer, fc)
from ganstudio.gan.models import Discriminator, Generator

__all__ = ["Discriminator", "Generator"]
