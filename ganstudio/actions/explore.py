"""Explore pretrained generators: sample grids, latent sliders, interpolations, downloads.

Plain types in and out (str, int, float, list, numpy, PIL). Model work runs on the engine's
worker; generators are loaded once through the shared model cache (``generators.py``), with their
slider directions, so a slider move costs one small forward pass.

Latents follow the one convention of ``ganstudio.gan.latents``: sample i of seed s is row i of
``numpy.random.default_rng(s).standard_normal((n, z_dim))``, so ``sample_grid(seed, n=1)`` shows the
first sample of ``sample_grid(seed, n=16)`` and the CLI, Attention and ``Generator.sample`` agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image

from ganstudio import checks
from ganstudio.actions import generators
from ganstudio.actions.generators import CLOUD_SEED, CLOUD_SIZE, LoadedGenerator
from ganstudio.actions.visitors import session_of
from ganstudio.engine import get_engine
from ganstudio.errors import BadInput
from ganstudio.gan import interpolate as interp
from ganstudio.gan import latents, render
from ganstudio.gan.directions import METHODS
from ganstudio.limits import LIMITS

MAX_SAMPLES = LIMITS.max_samples
MAX_DIRECTIONS = LIMITS.max_directions  # sliders the API accepts; the UI shows fewer
ALPHA_LIMIT = LIMITS.max_slider  # |strength| per slider the API accepts, in σ of that direction
FIT_SIGMAS = 3.0  # the sliders and the strips run to ±3σ of their direction: the moved samples stay digits
STRIP_VALUES = np.linspace(-FIT_SIGMAS, FIT_SIGMAS, 7).astype(np.float32)  # a direction's strip: -3σ, -2σ ... +3σ
PSI_RANGE = (0.0, 1.5)  # truncation: 0 = the mean sample, 1 = the prior, >1 = wilder samples
MAX_SEED = LIMITS.max_seed
MAX_STEPS = LIMITS.max_interp_steps  # interpolation frames
KEEP_FILES = 24  # downloads kept per session before the oldest are removed
GANSPACE_SEED = 0  # directions are a property of the model, not of the grid's seed


# ---- validation ------------------------------------------------------------------------


_number = checks.number
_whole = checks.integer


def _class_id(loaded: LoadedGenerator, class_id: Any) -> int | None:
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


def _directions(loaded: LoadedGenerator, method: str, k: int, owner: str) -> np.ndarray:
    """(k, z_dim) directions for ``method``, computed once per model (on the worker), with their gains and σ."""
    if k > loaded.z_dim:
        raise BadInput(f"{loaded.name} has a {loaded.z_dim}-dimensional latent: at most {loaded.z_dim} sliders")
    if method not in loaded.directions:

        def compute() -> None:  # on the worker: of the visitors who asked together, the first computes for all
            from ganstudio.gan.directions import (
                direction_gains,
                direction_scales,
                directions,
            )

            if method not in loaded.directions:
                dirs = directions(loaded.generator, method, min(MAX_DIRECTIONS, loaded.z_dim), seed=GANSPACE_SEED)
                loaded.gains[method] = direction_gains(loaded.generator, dirs)
                loaded.scales[method] = direction_scales(dirs)
                loaded.directions[method] = dirs

        get_engine().run(compute, owner=owner)
    return loaded.directions[method][:k]


def _steps(loaded: LoadedGenerator, method: str, k: int, owner: str) -> np.ndarray:
    """(k, z_dim) latent steps of one σ along each of the first k directions: σᵢ dᵢ."""
    dirs = _directions(loaded, method, k, owner)
    return dirs * loaded.scales[method][:k, None]


# ---- latents and forward passes ----------------------------------------------------------


def _cloud_latents(loaded: LoadedGenerator, psi: float) -> np.ndarray:
    return latents.latents(CLOUD_SIZE, loaded.z_dim, CLOUD_SEED, psi)


def _labels(loaded: LoadedGenerator, n: int, class_id: int | None) -> np.ndarray | None:
    return latents.labels(n, loaded.n_classes, class_id)


MAX_BATCH_ROWS = 512  # latents in one forward pass when several visitors' requests are merged


def _forward_many(loaded: LoadedGenerator, requests: list[tuple[np.ndarray, np.ndarray | None]]) -> list[np.ndarray]:
    """Several visitors' (z, y) in one forward pass (split again per request). On the worker."""
    sizes = [len(z) for z, _ in requests]
    z = np.concatenate([z for z, _ in requests])
    y = None if requests[0][1] is None else np.concatenate([y for _, y in requests])  # one kind per batch key
    out = np.concatenate([generators.forward(loaded, z[i:i + MAX_BATCH_ROWS], None if y is None else y[i:i + MAX_BATCH_ROWS])
                          for i in range(0, len(z), MAX_BATCH_ROWS)])
    return np.split(out, np.cumsum(sizes)[:-1])


def _generate(loaded: LoadedGenerator, z: np.ndarray, y: np.ndarray | None, owner: str) -> np.ndarray:
    """G(z, y) on the worker, batched with whatever other requests for the same generator are waiting (and whose
    classes are of the same kind: (B,) class ids, (B, k) class blends, or none)."""
    kind = "none" if y is None else f"{y.dtype.kind}{y.ndim}"
    return get_engine().batched(("gan", str(loaded.key), kind), (z, y), lambda items: _forward_many(loaded, items),
                                owner=owner)


def _render(loaded: LoadedGenerator, z: np.ndarray, y: np.ndarray | None, owner: str, offset: np.ndarray | None = None,
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
    loaded = generators.load(spec, owner)
    cid = _class_id(loaded, class_id)
    z = latents.latents(n, loaded.z_dim, seed, psi)
    return {"image": _render(loaded, z, _labels(loaded, n, cid), owner, psi=psi), "latents": z}


def sample_strip(spec: str, seed: int = 0, n: int = 8, owner: str = "cli") -> Image.Image:
    """The first ``n`` samples of ``seed`` in one row: the same latents as the first ``n`` of ``sample_grid``."""
    seed, n, _ = _grid_params(seed, n, 1.0)
    loaded = generators.load(spec, owner)
    if loaded.data_kind != "image":
        raise BadInput(f"{loaded.name} draws 2D points, not images: a strip needs an image generator")
    z = latents.latents(n, loaded.z_dim, seed)
    return _grid(_generate(loaded, z, _labels(loaded, n, None), owner), nrow=n)


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
    """The grid of :func:`sample_grid` with every latent moved by Σ αᵢ σᵢ dᵢ (dᵢ: the method's directions, σᵢ their
    scale: a slider's value is in σ of its direction)."""
    return _edited(spec, seed, n, truncation_psi, class_id, method, slider_values, owner, draw=True)["image"]


def direction_labels(spec: str, method: str = "sefa", k: int = 6, owner: str = "cli") -> list[str]:
    """One label per usable slider (at most z_dim): index, and how strongly the first layer responds
    to a unit step along that direction (||W d||)."""
    return [s["label"] for s in direction_sliders(spec, method, k, owner)]


def direction_sliders(spec: str, method: str = "sefa", k: int = 6, owner: str = "cli") -> list[dict]:
    """One slider per usable direction (at most z_dim): ``{"label", "limit", "sigma", "gain"}``. A slider's value
    is in σ of its direction (``sigma``: the spread of latents along it, in z's units) and runs to ±``limit``."""
    method = _method(method)
    k = _whole("number of sliders", k, 1, MAX_DIRECTIONS)
    loaded = generators.load(spec, owner)
    k_avail = min(k, loaded.z_dim)
    _directions(loaded, method, k_avail, owner)
    title = _TITLES[method]
    return [{"label": f"{title} {i + 1} · gain {g:.2f} · in σ of this direction (σ = {s:.2f} in z)",
             "limit": FIT_SIGMAS, "sigma": float(s), "gain": float(g)}
            for i, (g, s) in enumerate(zip(loaded.gains[method][:k_avail], loaded.scales[method][:k_avail]))]


_TITLES = {"sefa": "SeFa", "ganspace": "GANSpace", "z": "z axis"}


def direction_strips(spec: str, seed: int = 0, method: str = "sefa", k: int = 6, truncation_psi: float = 1.0,
                     class_id: int | None = None, owner: str = "cli") -> dict:
    """What each direction does before a slider moves: the first sample of ``seed`` moved along each of the first
    ``k`` directions by every value of ``STRIP_VALUES`` (σ of that direction), all in one forward pass.

    Returns ``{"values": [-3.0 ... 3.0], "rows": [{"name", "frames": [PIL, one per value]}]}`` (image generators;
    a 2D generator's rows are empty, its scatter shows the move)."""
    seed, _, psi = _grid_params(seed, 1, truncation_psi)
    method = _method(method)
    k = _whole("number of sliders", k, 1, MAX_DIRECTIONS)
    loaded = generators.load(spec, owner)
    cid = _class_id(loaded, class_id)
    values = [float(v) for v in STRIP_VALUES]
    if loaded.data_kind != "image":
        return {"values": values, "rows": []}
    k = min(k, loaded.z_dim)
    steps = _steps(loaded, method, k, owner)  # (k, z_dim)
    z0 = latents.latents(1, loaded.z_dim, seed, psi)  # (1, z_dim): the grid's first sample
    z = (z0[None] + STRIP_VALUES[None, :, None] * steps[:, None, :]).reshape(-1, loaded.z_dim)  # (k * 7, z_dim)
    y = _labels(loaded, len(z), 0 if (cid is None and loaded.n_classes) else cid)
    images = _generate(loaded, z.astype(np.float32), y, owner)  # (k * 7, C, H, W)
    images = images.reshape(k, len(values), *images.shape[1:])  # (k, 7, C, H, W)
    return {"values": values, "rows": [
        {"name": f"{_TITLES[method]} {i + 1}", "frames": [_grid(frame[None]) for frame in images[i]]}
        for i in range(k)]}


def model_info(spec: str, owner: str = "cli", progress: Callable[[str], None] | None = None) -> dict:
    """What the UI needs to lay itself out: ``{"z_dim", "n_classes", "data_kind"}``.

    The first call for a Hub id downloads it; ``progress`` receives the download lines."""
    loaded = generators.load(spec, owner, progress)
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
    loaded = generators.load(spec, owner)
    cid = _class_id(loaded, class_id)
    za = latents.latents(1, loaded.z_dim, seed_a, psi)[0]
    zb = latents.latents(1, loaded.z_dim, seed_b, psi)[0]
    path = interp.latent_path(za, zb, steps, mode)  # (steps, z_dim)
    y = _labels(loaded, steps, 0 if (cid is None and loaded.n_classes) else cid)
    if loaded.z_classes:  # the class is argmax z[:k]: a hard switch on the way; blend the two ends' classes instead
        y = interp.class_blend(za[: loaded.z_classes].argmax(), zb[: loaded.z_classes].argmax(), steps,
                               loaded.z_classes)  # (steps, k) float32
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
    loaded = generators.load(spec, owner)
    cid = _class_id(loaded, class_id)
    z = latents.latents(n, loaded.z_dim, seed, psi)
    if alphas.size > loaded.z_dim and not np.any(alphas[loaded.z_dim :]):
        alphas = alphas[: loaded.z_dim]  # the UI's spare sliders for a small latent, left at 0
    offset = None
    if alphas.size and np.any(alphas):
        offset = (alphas @ _steps(loaded, method, alphas.size, owner)).astype(np.float32)  # (z_dim,), α in σ
        z = z + offset
    image = _render(loaded, z, _labels(loaded, n, cid), owner, offset, psi) if draw else None
    return {"image": image, "latents": z, "seed": seed}


def _prune(folder: Path) -> None:
    """Keep the session's newest downloads only (its run folders are not downloads)."""
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix in (".png", ".npy", ".gif", ".mp4")),
                   key=lambda p: p.stat().st_mtime)
    for old in files[:-KEEP_FILES]:
        old.unlink(missing_ok=True)

