"""VAEs, the Train tab's second model family: an encoder q(z|x) and a decoder p(x|z) trained on the ELBO.

The decoder is a GAN Studio generator built from the same ``GanSpec`` (``ganstudio.gan.registry``), so a saved
VAE opens in Explore as a generator and samples follow the one latent convention. model.py: the encoders;
objective.py: the ELBO's terms and how the live view writes them; trainer.py: ``VaeTrainer``, which reports
like ``GanTrainer`` (a ``TrainReport`` and ``Players``) so the engine's live run, snapshots, quotas and saving
apply unchanged; families.py: which trainer a ``TrainConfig`` asks for.
"""
