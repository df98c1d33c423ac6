"""Loaded GAN generators, shared by Explore and Attention → Image: which there are, and one loaded per model.

A spec is a bundled name, a Hub id, one of this visitor's runs (by its name), or — where the host
allows it — a server folder. Loading goes through the one model cache (``model_cache.MODELS``): keyed by
the weights' version, loaded once on the engine's worker, a visitor's runs dropped when their session
ends. Downloads happen on the caller's thread, never on the worker that every session shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ganstudio import checks
from ganstudio.actions.model_cache import MODELS, ModelKey, key_of
from ganstudio.actions.train import trained_folder, trained_models
from ganstudio.engine import get_engine
from ganstudio.errors import BadModel
from ganstudio.gan import latents
from ganstudio.gan.community import KNOWN, layout_for
from ganstudio.hub import bundled_models
from ganstudio.hub_download import hub_reachable
from ganstudio.limits import LIMITS
from ganstudio.settings import SETTINGS

CLOUD_SIZE = 1024  # background samples that show a 2D generator's distribution
CLOUD_SEED = 1_000_003


@dataclass
class LoadedGenerator:
    """A generator on the engine's device, with what the tabs need from it."""

    key: ModelKey
    generator: Any  # nn.Module; only touched on the worker
    z_dim: int
    n_classes: int
    data_kind: str  # "2d" | "image"
    name: str
    arch: str
    directions: dict[str, np.ndarray] = field(default_factory=dict)  # Explore's method -> (k, z_dim)
    gains: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (k,)
    scales: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (k,) σ of each direction, the sliders' unit
    z_classes: int = 0  # classes read off z[:, :z_classes] (argmax); an interpolation blends them instead
    extent: tuple = (-1.0, 1.0, -1.0, 1.0)  # 2D: (xmin, xmax, ymin, ymax) of the scatter, fixed per model


def list_generators(owner: str = "cli") -> list[str]:
    """Bundled GAN generators, community ones where the Hub answers, then this visitor's saved runs (newest first)."""
    names = sorted(name for name, meta in bundled_models().items() if meta.get("kind") == "gan")
    community = [repo for repo in KNOWN if hub_reachable(repo, layout_for(repo).weights)]
    return names + community + trained_models(owner)


def resolve(spec: Any, owner: str, progress: Callable[[str], None] | None = None) -> tuple[str, Path]:
    """Spec -> (the spec, stripped; its local folder). Downloads happen here, off the engine's worker."""
    from ganstudio.gan.io import resolve_gan

    spec = checks.text("generator", spec, LIMITS.max_name_chars,
                       empty="choose a generator: a bundled name, one of your runs or a Hub id (owner/name[@revision])")
    spec = spec.strip()
    folder = trained_folder(owner, spec)  # a visitor's own run: found by name in their session, never remembered
    if folder is None:
        folder = MODELS.folder_for("gan", spec, lambda: resolve_gan(spec, progress=progress,
                                                                    allow_paths=SETTINGS.allow_paths))
    return spec, folder


def load(spec: Any, owner: str, progress: Callable[[str], None] | None = None) -> LoadedGenerator:
    """The loaded generator for ``spec`` (loaded once, on the worker)."""
    spec, folder = resolve(spec, owner, progress)
    key = key_of("gan", folder)
    loaded = MODELS.get(key)
    if loaded is not None:
        return loaded
    _check_is_gan(folder, spec)
    return get_engine().run(lambda: MODELS.get_or_load(key, lambda: _load_on_worker(key, folder, spec)), owner=owner)


def forward(loaded: LoadedGenerator, z: np.ndarray, y: np.ndarray | None) -> np.ndarray:
    """G(z, y) as float32 numpy: (B, 2) points or (B, C, H, W) images in [-1, 1]. On the worker."""
    import torch

    device = get_engine().device
    with torch.inference_mode():
        zt = torch.from_numpy(np.ascontiguousarray(z)).to(device)
        yt = None if y is None else torch.from_numpy(y).to(device)
        return loaded.generator(zt, yt).float().cpu().numpy()


def _check_is_gan(folder: Path, spec: str) -> None:
    from ganstudio.weights_io import read_config

    model_type = read_config(folder, spec).get("model_type")
    if model_type != "ganstudio-gan":
        raise BadModel(f"{checks.shown(spec)} is not a GAN Studio generator (model_type {checks.shown(model_type)}, "
                       "expected 'ganstudio-gan')")


def _load_on_worker(key: ModelKey, folder: Path, spec: str) -> LoadedGenerator:
    from ganstudio.gan.io import load_gan

    model = load_gan(folder, name=spec)
    toy = model.config.get("toy") or {}
    return _wrap(key, model.generator, spec, model.spec.arch, extent=toy.get("extent"))


def _wrap(key: ModelKey, generator: Any, spec: str, arch: str, extent: Sequence[float] | None = None) -> LoadedGenerator:
    """Move a generator to the engine's device and note what the tabs need. On the worker."""
    import torch

    device = get_engine().device
    generator = generator.to(device).eval()
    if device.type == "cpu" and generator.out_kind == "image":
        # oneDNN's transposed convolutions run ~1.5x faster on NHWC; only the memory layout changes.
        generator = generator.to(memory_format=torch.channels_last)
    loaded = LoadedGenerator(key=key, generator=generator, z_dim=int(generator.z_dim),
                             n_classes=int(generator.n_classes), data_kind=str(generator.out_kind), name=spec, arch=arch,
                             z_classes=int(getattr(generator, "z_classes", 0) or 0))
    if loaded.data_kind == "2d":  # fixed axes, so the picture does not rescale while a slider moves
        if extent is not None and len(extent) == 4:
            loaded.extent = tuple(float(v) for v in extent)
        else:  # the training set's extent is unknown: frame the model's own samples
            cloud = forward(loaded, latents.latents(CLOUD_SIZE, loaded.z_dim, CLOUD_SEED),
                            latents.labels(CLOUD_SIZE, loaded.n_classes))
            half = float(np.quantile(np.abs(cloud[np.isfinite(cloud).all(1)]), 0.995) * 1.15) or 1.0
            loaded.extent = (-half, half, -half, half)
    return loaded
