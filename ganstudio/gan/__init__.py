"""GANs: 2D toy data and image models, losses, the live trainer, metrics, checkpoints.

Every generator follows one interface (see `models.py`): `z_dim`, `n_classes`, `out_kind`,
`forward(z, y=None)`, a first layer `z_proj` on the latent code and `first_features(z, y)`.
"""
