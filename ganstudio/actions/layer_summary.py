"""The Train tab's layer summary: G's and D's layers for the form's choices, as plain rows, before any run.

The nets are built on the meta device by ``ganstudio.gan.summary``, on the engine's worker.
"""

from __future__ import annotations

from ganstudio.engine import get_engine
from ganstudio.errors import BadInput
from ganstudio.gan.config import TrainConfig
from ganstudio.gan.estimate import ESTIMATE_CHANNELS, ESTIMATE_CLASSES
from ganstudio.gan.sources import BUILTIN_CHANNELS, image_size_for
from ganstudio.gan.spec import GanSpec
from ganstudio.gan.summary import summarize

SUMMARY_TIMEOUT_S = 30.0  # the worker answers ahead of training; this bounds a wait behind another visitor's call
UPLOAD = "uploaded-images"  # what the form's "upload" choice is sized as before the zip is read


def summary_spec(data: str, arch: str, z_dim, conditional: bool = False, spectral_norm: bool = False) -> GanSpec:
    """The nets a run of these settings would build, sized as its data will make them (a built-in set's channels,
    colour for an upload, 10 classes when conditional); BadInput when the settings do not make a run."""
    data = UPLOAD if data == "upload" else data
    cfg = TrainConfig.defaults_for(data, arch=arch, z_dim=z_dim, conditional=conditional,
                                   spectral_norm=spectral_norm).validate()
    n_classes = ESTIMATE_CLASSES if cfg.conditional else 0
    if cfg.data_kind == "2d":
        return GanSpec.for_training(cfg, n_classes)
    return GanSpec.for_training(cfg, n_classes, channels=BUILTIN_CHANNELS.get(data, ESTIMATE_CHANNELS),
                                image_size=image_size_for(cfg))


def layer_summary(data: str, arch: str, z_dim, conditional: bool = False, spectral_norm: bool = False,
                  owner: str = "cli") -> dict:
    """{"nets": [{"name", "rows": [[layer, output shape, parameters], ...], "total"}, ...] (G then D), "note"}.

    Settings that do not make a run (a form half-way through switching data sets) give no nets and the reason as
    the note: the summary follows the form, so what it cannot show is said in its place rather than raised."""
    try:
        spec = summary_spec(data, arch, z_dim, conditional, spectral_norm)
    except BadInput as err:
        return {"nets": [], "note": str(err)}
    nets = get_engine().run(lambda: summarize(spec), owner=owner, timeout=SUMMARY_TIMEOUT_S)
    shape = f"{spec.channels}×{spec.image_size}×{spec.image_size} images" if spec.image_size else "2D points"
    classes = f", {spec.n_classes} classes" if spec.n_classes else ""
    return {"nets": [{"name": net.name, "rows": [[r.layer, r.shape, r.params] for r in net.rows], "total": net.total}
                     for net in nets],
            "note": f"{spec.arch} for {shape}, latent size {spec.z_dim}{classes}; shapes per sample"}
