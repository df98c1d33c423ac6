"""A training run's checkpoint: what it is made of (``parts``, written by ``ganstudio.gan.io.save_gan``) and the
weights a run resumes from (``resume_weights``). The trainer passes its nets and numbers in; nothing here
reaches into it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import nn

from ganstudio.errors import BadInput
from ganstudio.gan.config import TrainConfig
from ganstudio.gan.folder import load_online_generator
from ganstudio.gan.io import GanParts, load_gan
from ganstudio.gan.spec import GanSpec


def parts(cfg: TrainConfig, spec: GanSpec, source, nets: dict[str, nn.Module], metrics: dict, steps: int,
          seconds: float):
    """The checkpoint of a run whose nets are ``nets`` ("G", "D" and, with EMA, "G_ema")."""
    toy = source.toy
    toy_info = None if toy is None else {"extent": list(toy.extent), "scale": toy.scale, "std": toy.std,
                                         "modes": None if toy.modes is None else np.asarray(toy.modes).tolist()}
    ema = nets.get("G_ema")
    return GanParts(
        spec=spec, generator=ema if ema is not None else nets["G"], discriminator=nets["D"],
        generator_online=nets["G"] if ema is not None else None,
        data=cfg.data if toy is not None else source.name, data_kind=source.kind,
        loss=cfg.loss, train=cfg.to_dict(), metrics=dict(metrics), steps=steps,
        seconds=round(seconds, 2), class_names=list(source.class_names), toy=toy_info,
    )


def resume_weights(folder: str | Path, spec: GanSpec) -> dict[str, dict]:
    """State dicts ("G", "D", "G_ema") of a saved checkpoint of the same model, to continue training from."""
    model = load_gan(folder)
    if model.spec != spec:
        raise BadInput(f"{Path(folder).name} was trained with different model settings; cannot resume from it")
    if model.discriminator is None:
        raise BadInput(f"{Path(folder).name} has no discriminator weights; cannot resume from it")
    online = load_online_generator(folder, spec)
    return {"D": model.discriminator.state_dict(), "G": (online or model.generator).state_dict(),
            "G_ema": model.generator.state_dict()}
