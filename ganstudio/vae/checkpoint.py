"""A VAE run's checkpoint: the folder a GAN's would be (``ganstudio.gan.io.save_gan``), with the decoder as the
generator (so Explore, ``load_gan`` and ``Generator.from_pretrained`` sample from it unchanged) and the encoder
in ``encoder/`` beside it. config.json says ``"family": "vae"`` and the loss ``"elbo"``; it has no
discriminator. Written atomically, safetensors only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import nn

from ganstudio.gan.config import TrainConfig
from ganstudio.gan.io import GanParts, save_gan
from ganstudio.gan.spec import GanSpec

ENCODER_FOLDER = "encoder"


def save_vae(folder: str | Path, cfg: TrainConfig, spec: GanSpec, source, nets: dict[str, nn.Module], metrics: dict,
             steps: int, seconds: float, card_extra: dict | None = None) -> Path:
    """Write the checkpoint of a VAE whose nets are ``nets`` ("decoder", "encoder"); returns where it went."""
    toy = source.toy
    toy_info = None if toy is None else {"extent": list(toy.extent), "scale": toy.scale, "std": toy.std,
                                         "modes": None if toy.modes is None else np.asarray(toy.modes).tolist()}
    parts = GanParts(
        spec=spec, generator=nets["decoder"], data=cfg.data if toy is not None else source.name,
        data_kind=source.kind, loss="elbo", train=cfg.to_dict(), metrics=dict(metrics), steps=steps,
        seconds=round(seconds, 2), toy=toy_info, extra={ENCODER_FOLDER: nets["encoder"]},
    )
    return save_gan(folder, parts, {"family": "vae", **(card_extra or {})})
