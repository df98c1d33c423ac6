"""Explore pretrained generators: sample grids, latent sliders, interpolations, downloads.

Plain types in and out (str, int, float, list, numpy, PIL). Model work runs on the engine's
worker; loaded generators and their slider directions are cached per model spec, so a slider
move costs one small forward pass.

Latents: sample i of seed s is row i of ``numpy.random.default_rng(s).standard_normal((n, z_dim))``
— the same on every machine and device, and the first rows do not depend on ``n``, so
``sample_grid(seed, n=1)`` shows the first sample of ``sample_grid(seed, n=16)``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image

from ganstudio import checks
from ganstudio.actions.visitors import session_of
from ganstudio.engine import get_engine
from ganstudio.errors import BadInput, BadModel
from ganstudio.gan import interpolate as interp
from ganstudio.gan import render
from ganstudio.gan.directions import METHODS
from ganstudio.limits import LIMITS
from ganstudio.settings import SETTINGS

MAX_SAMPLES = LIMITS.max_samples
MAX_DIRECTIONS = LIMITS.max_directions  # sliders the API accepts; the UI shows fewer
ALPHA_LIMIT = LIMITS.max_slider  # |strength| per slider, in units of z's standard deviation
PSI_RANGE = (0.0, 1.5)  # truncation: 0 = the mean sample, 1 = the prior, >1 = wilder samples
MAX_SEED = LIMITS.max_seed
MAX_STEPS = LIMITS.max_interp_steps  # interpolation frames
CACHE_MODELS = 4  # loaded generators kept warm (bundled ones are a few MB each)
KEEP_FILES = 24  # downloads kept per session before the oldest are removed
GANSPACE_SEED = 0  # directions are a property of the model, not of the grid's seed
CLOUD_SIZE = 1024  # background samples that show a 2D generator's distribution
CLOUD_SEED = 1_000_003

MAX_REMEMBERED_SPECS = 256  # spec -> folder lookups kept

# Loaded generators are shared by every visitor (a bundled model is loaded once); a visitor's own
# run is evicted when its session ends (``evict_folder``).
_cache: OrderedDict[str, "_Loaded"] = OrderedDict()  # folder@mtime -> loaded generator, least recent first
_folders: dict[str, Path] = {}  # Hub/bundled spec -> resolved local folder
_cache_lock = threading.Lock()


@dataclass
class _Loaded:
    """A generator on the engine's device, with what the sliders need from it."""

    key: str
    generator: Any  # nn.Module; only touched on the worker
    z_dim: int
    n_classes: int
    data_kind: str  # "2d" | "image"
    name: str
    directions: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (k, z_dim)
    gains: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (k,)
    extent: tuple = (-1.0, 1.0, -1.0, 1.0)  # 2D: (xmin, xmax, ymin, ymax) of the scatter, fixed per model


# ---- validation ------------------------------------------------------------------------


_number = checks.number
_whole = checks.integer


def _class_id(loaded: _Loaded, class_id: Any) -> int | None:
    """None / -1 / "any" mean every class in turn; unconditional generators take no class."""
    if class_id is None or (isinstance(class_id, str) and class_id.strip().lower() in ("", "any", "all")):
        return None
    cid = _whole("class", class_id, -1, 1_000_000)
    if cid == -1:
        return None
    if not loaded.n_classes:
        raise BadInput(f"{loaded.name} is unconditional: leave the class at 'any'")
    if cid >= loaded.n_classes:
        raise BadInput(f"class must be between 0 and {loaded.n_classes - 1} for {loaded.name}, got {cid}")
    return cid


def _sliders(values: Any) -> np.ndarray:
    if values is None:
        return np.zeros(0, np.float32)
    if not isinstance(values, (list, tuple, np.ndarray)):
        raise BadInput(f"slider values must be a list of numbers, got {checks.shown(values)}")
    if len(values) > MAX_DIRECTIONS:
        raise BadInput(f"at most {MAX_DIRECTIONS} slider values, got {len(values)}")
    return np.array(
        [_number(f"slider {i + 1}", v, -ALPHA_LIMIT, ALPHA_LIMIT) for i, v in enumerate(values)], np.float32
    )


def _method(method: Any) -> str:
    key = str(method or "").strip().lower().replace(" ", "")
    key = {"rawz": "z", "raw": "z", "z-axes": "z"}.get(key, key)
    if key not in METHODS:
        raise BadInput(f"unknown direction method {checks.shown(method)}: choose sefa, ganspace or z")
    return key


# ---- models ----------------------------------------------------------------------------


def list_generators(owner: str = "cli") -> list[str]:
    """Bundled GAN generators, community ones where the Hub answers, then this visitor's saved runs (newest first)."""
    from ganstudio.actions.train import trained_models
    from ganstudio.gan.community import KNOWN, layout_for
    from ganstudio.hub import bundled_models, hub_reachable

    names = sorted(name for name, meta in bundled_models().items() if meta.get("kind") == "gan")
    community = [repo for repo in KNOWN if hub_reachable(repo, layout_for(repo).weights)]
    return names + community + trained_models(owner)


def _resolve(spec: Any, owner: str, progress: Callable[[str], None] | None) -> tuple[str, Path]:
    """Spec -> (cache key, local folder). Downloads happen here, off the engine's worker.

    A spec is a bundled name, a Hub id, one of this visitor's runs (by its name), or — where the
    host allows it — a server folder. A Hub spec is resolved once per process (a Hub lookup is a
    network round trip, too slow for every slider move; pin ``@revision`` for a fixed version). The
    key carries the weights' mtime, so a model saved again in the same folder is loaded afresh.
    """
    from ganstudio.actions.train import trained_folder

    spec = checks.text("generator", spec, LIMITS.max_name_chars,
                       empty="choose a generator: a bundled name, one of your runs or a Hub id (owner/name[@revision])")
    spec = spec.strip()
    folder = trained_folder(owner, spec)
    if folder is None:
        folder = _folders.get(spec)
        if folder is None or not (folder / "config.json").is_file():
            from ganstudio.gan.io import resolve_gan

            folder = Path(resolve_gan(spec, progress=progress, allow_paths=SETTINGS.allow_paths))
            _folders[spec] = folder
            while len(_folders) > MAX_REMEMBERED_SPECS:
                _folders.pop(next(iter(_folders)))
    weights = folder / "model.safetensors"
    stamp = weights.stat().st_mtime_ns if weights.exists() else 0
    return f"{folder.resolve()}@{stamp}", folder


def _load(spec: Any, owner: str, progress: Callable[[str], None] | None = None) -> _Loaded:
    key, folder = _resolve(spec, owner, progress)
    spec = spec.strip()
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    _check_is_gan(folder, spec)
    return get_engine().run(lambda: _load_on_worker(key, folder, spec), owner=owner)


def _check_is_gan(folder: Path, spec: str) -> None:
    from ganstudio.weights_io import read_config

    model_type = read_config(folder, spec).get("model_type")
    if model_type != "ganstudio-gan":
        raise BadModel(f"{checks.shown(spec)} is not a GAN Studio generator (model_type {checks.shown(model_type)}, "
                       "expected 'ganstudio-gan')")


def _load_on_worker(key: str, folder: Path, spec: str) -> _Loaded:
    """Load once: visitors who asked together queue on the worker, and the first one's load serves the rest
    (twenty arrivals at once had loaded the same generator twenty times, 5 s of the worker)."""
    from ganstudio.gan.io import load_gan

    with _cache_lock:
        if key in _cache:
            return _cache[key]
    model = load_gan(folder, name=spec)
    toy = model.config.get("toy") or {}
    loaded = _wrap(key, model.generator, spec, extent=toy.get("extent"))
    with _cache_lock:
        _cache[key] = loaded
        _cache.move_to_end(key)
        while len(_cache) > CACHE_MODELS:
            _cache.popitem(last=False)
    return loaded


def _wrap(key: str, generator: Any, spec: str, extent: Sequence[float] | None = None) -> _Loaded:
    """Move a generator to the engine's device and note what the sliders need. On the worker."""
    import torch

    device = get_engine().device
    generator = generator.to(device).eval()
    if device.type == "cpu" and generator.out_kind == "image":
        # oneDNN's transposed convolutions run ~1.5x faster on NHWC; only the memory layout changes.
        generator = generator.to(memory_format=torch.channels_last)
    loaded = _Loaded(
        key=key,
        generator=generator,
        z_dim=int(generator.z_dim),
        n_classes=int(generator.n_classes),
        data_kind=str(generator.out_kind),
        name=spec,
    )
    if loaded.data_kind == "2d":  # fixed axes, so the picture does not rescale while a slider moves
        if extent is not None and len(extent) == 4:
            loaded.extent = tuple(float(v) for v in extent)
        else:  # the training set's extent is unknown: frame the model's own samples
            cloud = _forward(loaded, _cloud_latents(loaded, 1.0), _labels(loaded, CLOUD_SIZE, None))
            half = float(np.quantile(np.abs(cloud[np.isfinite(cloud).all(1)]), 0.995) * 1.15) or 1.0
            loaded.extent = (-half, half, -half, half)
    return loaded


def _directions(loaded: _Loaded, method: str, k: int, owner: str) -> np.ndarray:
    """(k, z_dim) directions for ``method``, computed once per model (on the worker)."""
    if k > loaded.z_dim:
        raise BadInput(f"{loaded.name} has a {loaded.z_dim}-dimensional latent: at most {loaded.z_dim} sliders")
    if method not in loaded.directions:

        def compute() -> None:  # on the worker: of the visitors who asked together, the first computes for all
            from ganstudio.gan.directions import direction_gains, directions

            if method not in loaded.directions:
                dirs = directions(loaded.generator, method, min(MAX_DIRECTIONS, loaded.z_dim), seed=GANSPACE_SEED)
                loaded.gains[method] = direction_gains(loaded.generator, dirs)
                loaded.directions[method] = dirs

        get_engine().run(compute, owner=owner)
    return loaded.directions[method][:k]


# ---- latents and forward passes ----------------------------------------------------------


def _latents(z_dim: int, seed: int, n: int, psi: float) -> np.ndarray:
    """(n, z_dim) float32; truncation scales z towards its mean (0)."""
    return (psi * np.random.default_rng(seed).standard_normal((n, z_dim), dtype=np.float32)).astype(np.float32)


def _cloud_latents(loaded: _Loaded, psi: float) -> np.ndarray:
    return _latents(loaded.z_dim, CLOUD_SEED, CLOUD_SIZE, psi)


def _labels(loaded: _Loaded, n: int, class_id: int | None) -> np.ndarray | None:
    """(n,) int64 labels for conditional generators: one class, or 0, 1, 2, ... in turn."""
    if not loaded.n_classes:
        return None
    if class_id is not None:
        return np.full(n, class_id, dtype=np.int64)
    return np.arange(n, dtype=np.int64) % loaded.n_classes


def _forward(loaded: _Loaded, z: np.ndarray, y: np.ndarray | None) -> np.ndarray:
    """G(z, y) as float32 numpy: (B, 2) points or (B, C, H, W) images in [-1, 1]. On the worker."""
    import torch

    device = get_engine().device
    with torch.inference_mode():
        zt = torch.from_numpy(np.ascontiguousarray(z)).to(device)
        yt = None if y is None else torch.from_numpy(y).to(device)
        return loaded.generator(zt, yt).float().cpu().numpy()


MAX_BATCH_ROWS = 512  # latents in one forward pass when several visitors' requests are merged


def _forward_many(loaded: _Loaded, requests: list[tuple[np.ndarray, np.ndarray | None]]) -> list[np.ndarray]:
    """Several visitors' (z, y) in one forward pass (split again per request). On the worker."""
    sizes = [len(z) for z, _ in requests]
    z = np.concatenate([z for z, _ in requests])
    y = None if loaded.n_classes == 0 else np.concatenate([y for _, y in requests])
    out = np.concatenate([_forward(loaded, z[i:i + MAX_BATCH_ROWS], None if y is None else y[i:i + MAX_BATCH_ROWS])
                          for i in range(0, len(z), MAX_BATCH_ROWS)])
    return np.split(out, np.cumsum(sizes)[:-1])


def _generate(loaded: _Loaded, z: np.ndarray, y: np.ndarray | None, owner: str) -> np.ndarray:
    """G(z, y) on the worker, batched with whatever other requests for the same generator are waiting."""
    return get_engine().batched(("gan", loaded.key), (z, y), lambda items: _forward_many(loaded, items), owner=owner)


def _render(loaded: _Loaded, z: np.ndarray, y: np.ndarray | None, owner: str, offset: np.ndarray | None = None,
            psi: float = 1.0) -> Image.Image:  # fmt: skip
    """Run G on the worker, draw outside it: an image grid, or a 2D scatter over the model's cloud."""
    if loaded.data_kind == "2d":
        cloud_z = _cloud_latents(loaded, psi) + (0 if offset is None else offset)
        cloud_y = _labels(loaded, CLOUD_SIZE, None)
        return _scatter(_generate(loaded, z, y, owner), _generate(loaded, cloud_z, cloud_y, owner), loaded.extent)
    return _grid(_generate(loaded, z, y, owner))


# ---- public actions --------------------------------------------------------------------


def sample_grid(
    spec: str, seed: int = 0, n: int = 16, truncation_psi: float = 1.0, class_id: int | None = None, owner: str = "cli"
) -> dict:
    """A grid of ``n`` samples: ``{"image": PIL grid (or 2D scatter), "latents": (n, z_dim) float32}``."""
    seed, n, psi = _grid_params(seed, n, truncation_psi)
    loaded = _load(spec, owner)
    cid = _class_id(loaded, class_id)
    z = _latents(loaded.z_dim, seed, n, psi)
    return {"image": _render(loaded, z, _labels(loaded, n, cid), owner, psi=psi), "latents": z}


def explore(
    spec: str,
    seed: int = 0,
    n: int = 16,
    truncation_psi: float = 1.0,
    class_id: int | None = None,
    method: str = "sefa",
    slider_values: Sequence[float] = (),
    owner: str = "cli",
) -> Image.Image:
    """The grid of :func:`sample_grid` with every latent moved by Σ αᵢ dᵢ (dᵢ: the method's directions)."""
    return _edited(spec, seed, n, truncation_psi, class_id, method, slider_values, owner, draw=True)["image"]


def direction_labels(spec: str, method: str = "sefa", k: int = 6, owner: str = "cli") -> list[str]:
    """One label per usable slider (at most z_dim): index, and how strongly the first layer responds
    to a unit step along that direction (||W d||)."""
    method = _method(method)
    k = _whole("number of sliders", k, 1, MAX_DIRECTIONS)
    loaded = _load(spec, owner)
    k_avail = min(k, loaded.z_dim)
    _directions(loaded, method, k_avail, owner)
    gains = loaded.gains[method][:k_avail]
    title = {"sefa": "SeFa", "ganspace": "GANSpace", "z": "z axis"}[method]
    return [f"{title} {i + 1} · gain {g:.2f}" for i, g in enumerate(gains)]


def model_info(spec: str, owner: str = "cli", progress: Callable[[str], None] | None = None) -> dict:
    """What the UI needs to lay itself out: ``{"z_dim", "n_classes", "data_kind"}``.

    The first call for a Hub id downloads it; ``progress`` receives the download lines."""
    loaded = _load(spec, owner, progress)
    return {"z_dim": loaded.z_dim, "n_classes": loaded.n_classes, "data_kind": loaded.data_kind}


def interpolate(
    spec: str,
    seed_a: int = 0,
    seed_b: int = 1,
    steps: int = 10,
    mode: str = "slerp",
    class_id: int | None = None,
    owner: str = "cli",
    truncation_psi: float = 1.0,
    fps: float = 10.0,
) -> dict:
    """Walk from seed_a's first sample to seed_b's: ``{"strip": PIL, "frames": [PIL], "gif_path": str,
    "mp4_path": str | None}``. MP4 needs an ffmpeg executable; the GIF is always written."""
    seed_a = _whole("seed A", seed_a, 0, MAX_SEED)
    seed_b = _whole("seed B", seed_b, 0, MAX_SEED)
    steps = _whole("steps", steps, 2, MAX_STEPS)
    psi = _number("truncation ψ", truncation_psi, *PSI_RANGE)
    fps = _number("frames per second", fps, 1, 60)
    if mode not in interp.MODES:
        raise BadInput(f"unknown interpolation mode {mode!r}: choose slerp or lerp")
    loaded = _load(spec, owner)
    cid = _class_id(loaded, class_id)
    za = _latents(loaded.z_dim, seed_a, 1, psi)[0]
    zb = _latents(loaded.z_dim, seed_b, 1, psi)[0]
    path = interp.latent_path(za, zb, steps, mode)  # (steps, z_dim)
    y = _labels(loaded, steps, 0 if (cid is None and loaded.n_classes) else cid)
    if loaded.data_kind == "2d":
        frames = [_render(loaded, path[i : i + 1], None if y is None else y[i : i + 1], owner, psi=psi)
                  for i in range(steps)]  # fmt: skip
    else:
        images = _generate(loaded, path.astype(np.float32), y, owner)
        frames = [_grid(images[i : i + 1]) for i in range(steps)]  # each frame = that latent's 1-sample grid
    session = session_of(owner)
    big = [_enlarged(f) for f in frames]
    session.reserve(2 * sum(f.width * f.height for f in big), "the animation")  # GIF / MP4 stay below raw pixels x2
    stem = f"interp-{seed_a}-{seed_b}-{mode}"
    gif = interp.encode_gif(big, session.new_path(stem, ".gif"), fps=fps)
    mp4 = interp.encode_mp4(big, session.new_path(stem, ".mp4"), fps=fps)
    _prune(session.folder)
    strip = interp.strip(frames) if loaded.data_kind == "2d" else _grid(images, nrow=steps, min_side=STRIP_SIDE)
    return {"strip": strip, "frames": frames, "gif_path": str(gif), "mp4_path": str(mp4) if mp4 else None}


def export(
    spec: str,
    seed: int = 0,
    n: int = 16,
    truncation_psi: float = 1.0,
    class_id: int | None = None,
    method: str = "sefa",
    slider_values: Sequence[float] = (),
    owner: str = "cli",
) -> dict:
    """Both downloads in one go: ``{"png_path": str, "npy_path": str}``."""
    edited = _edited(spec, seed, n, truncation_psi, class_id, method, slider_values, owner, draw=True)
    session = session_of(owner)
    picture = _enlarged(edited["image"])
    session.reserve(edited["latents"].nbytes + 4 * picture.width * picture.height, "the download")
    stem = f"grid-seed{edited['seed']}"
    npy = session.new_path(stem, ".npy")
    np.save(npy, edited["latents"])
    png = session.new_path(stem, ".png")
    picture.save(png, format="PNG")
    _prune(session.folder)
    return {"png_path": str(png), "npy_path": str(npy)}


def evict_folder(folder: Path) -> int:
    """Forget loaded generators whose weights live under ``folder`` (a session that ended)."""
    prefix = str(Path(folder).resolve())
    with _cache_lock:
        gone = [key for key in _cache if key.startswith(prefix)]
        for key in gone:
            del _cache[key]
    return len(gone)


def clear_cache() -> None:
    """Forget every cached generator and spec lookup (tests; or to pick up a Hub repo's new main)."""
    with _cache_lock:
        _cache.clear()
        _folders.clear()


# ---- drawing (numpy -> PIL, off the worker) -------------------------------------------

SCREEN_SIDE = 0  # grids for the screen stay at the images' own size: quick to PNG-encode, the browser enlarges them
FILE_SIDE = 512  # downloaded PNGs, GIFs and MP4s are enlarged (nearest) to about this, so they read well offline
STRIP_SIDE = 1200  # the strip of all interpolation frames, likewise
SCATTER_PX = 360  # side of a 2D generator's picture


def _grid(images: np.ndarray, nrow: int | None = None, min_side: int = SCREEN_SIDE) -> Image.Image:
    """(B, C, H, W) in [-1, 1] -> one picture, the same way the Train tab draws its samples."""
    picture = render.image_grid(render.to_uint8_images(images), nrow=nrow, min_side=min_side)
    return picture.convert("L") if images.shape[1] == 1 else picture  # grey PNGs encode ~2x faster


def _enlarged(picture: Image.Image, side: int = FILE_SIDE) -> Image.Image:
    """Nearest-neighbour enlargement by a whole factor until the long side reaches about ``side``."""
    factor = max(1, side // max(picture.size))
    return picture.resize((picture.width * factor, picture.height * factor), Image.NEAREST) if factor > 1 else picture


def _scatter(points: np.ndarray, cloud: np.ndarray, box: tuple) -> Image.Image:
    """A 2D generator's samples (large dots) over its distribution (small dots), on fixed axes."""
    from PIL import ImageDraw

    picture = render.toy_view(box, fake=cloud, size=SCATTER_PX, point_radius=1.2)
    draw = ImageDraw.Draw(picture)
    for x, y in render.ViewTransform(box, SCATTER_PX)(points):
        if np.isfinite(x) and np.isfinite(y):
            draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=(240, 140, 20), outline=(60, 30, 0))
    return picture


# ---- helpers ---------------------------------------------------------------------------


def _grid_params(seed: Any, n: Any, psi: Any) -> tuple[int, int, float]:
    return (
        _whole("seed", seed, 0, MAX_SEED),
        _whole("number of samples", n, 1, MAX_SAMPLES),
        _number("truncation ψ", psi, *PSI_RANGE),
    )


def _edited(spec, seed, n, psi, class_id, method, slider_values, owner, draw: bool) -> dict:
    seed, n, psi = _grid_params(seed, n, psi)
    method = _method(method)
    alphas = _sliders(slider_values)
    loaded = _load(spec, owner)
    cid = _class_id(loaded, class_id)
    z = _latents(loaded.z_dim, seed, n, psi)
    if alphas.size > loaded.z_dim and not np.any(alphas[loaded.z_dim :]):
        alphas = alphas[: loaded.z_dim]  # the UI's spare sliders for a small latent, left at 0
    offset = None
    if alphas.size and np.any(alphas):
        offset = (alphas @ _directions(loaded, method, alphas.size, owner)).astype(np.float32)  # (z_dim,)
        z = z + offset
    image = _render(loaded, z, _labels(loaded, n, cid), owner, offset, psi) if draw else None
    return {"image": image, "latents": z, "seed": seed}


def _prune(folder: Path) -> None:
    """Keep the session's newest downloads only (its run folders are not downloads)."""
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix in (".png", ".npy", ".gif", ".mp4")),
                   key=lambda p: p.stat().st_mtime)
    for old in files[:-KEEP_FILES]:
        old.unlink(missing_ok=True)

