"""One seed, three generators: the same latents drawn through the bundled DCGAN, SAGAN and TransGAN, each shown
with the figures measured when it was trained (its config.json's metrics, the ones on its model card).

The three read the digit's class off their latent (``class_from_z``: argmax of z[:10]) from the same 64-d z, so
one seed asks each for the same digits and what differs is how each architecture draws them. Latents follow the
one convention (``ganstudio.gan.latents``): sample i of a seed is the same row for every generator.
"""

from __future__ import annotations

from ganstudio.actions import explore
from ganstudio.checks import integer
from ganstudio.errors import BadModel
from ganstudio.limits import LIMITS

COMPARED = (  # bundled name -> what it is, convolutions to attention
    ("digits-dcgan", "DCGAN: convolutions only"),
    ("digits-sagan", "SAGAN: convolutions and one self-attention layer"),
    ("digits-transgan", "TransGAN: a Transformer over 7×7 patch tokens, no convolution"),
)
MAX_STRIP = 16  # samples per generator: one readable row each
FIGURES = ("confident", "smallest_class", "frechet_vs_real", "train_seconds")  # config.json metrics shown


def compare_generators(seed: int = 0, n: int = 8, owner: str = "cli") -> dict:
    """The first ``n`` samples of ``seed`` from each compared generator.

    Returns ``seed``, ``n`` and ``rows``: per generator ``model``, ``what``, ``image`` (PIL, one row of ``n``
    digits), ``steps`` (training steps) and ``figures`` (``FIGURES`` from its config.json, None where missing).
    """
    from ganstudio.hub import bundled_models
    from ganstudio.weights_io import read_config

    seed = integer("seed", seed, 0, LIMITS.max_seed)
    n = integer("samples per generator", n, 1, MAX_STRIP)
    bundled = bundled_models()
    missing = [name for name, _ in COMPARED if name not in bundled]
    if missing:
        raise BadModel(f"{', '.join(missing)} is not among the bundled models (is the weights folder complete?)")
    rows = []
    for name, what in COMPARED:
        config = read_config(bundled[name]["path"], name)
        metrics = config.get("metrics") or {}
        rows.append({"model": name, "what": what, "image": explore.sample_strip(name, seed, n, owner),
                     "steps": config.get("steps"), "figures": {key: metrics.get(key) for key in FIGURES}})
    return {"seed": seed, "n": n, "rows": rows}
