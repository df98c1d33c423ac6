"""Pictures of a GAN, as numpy/PIL: image sample grids and the 2D view (GAN Lab style).

The 2D view draws, bottom to top: D's decision heatmap (green = "real", purple = "fake"),
G's warped latent grid (the manifold), real points (green) and generated points (purple).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

REAL_RGB = (27, 120, 55)
FAKE_RGB = (118, 42, 131)
REAL_BG = np.array([166, 219, 160], dtype=np.float32)
FAKE_BG = np.array([194, 165, 207], dtype=np.float32)
MID_BG = np.array([247, 247, 247], dtype=np.float32)


def to_uint8_images(images: np.ndarray) -> np.ndarray:
    """(B, C, H, W) floats in [-1, 1] -> (B, H, W, C) uint8."""
    images = np.clip((np.asarray(images, dtype=np.float32) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return images.transpose(0, 2, 3, 1)


def image_grid(images: np.ndarray, nrow: int | None = None, pad: int = 2, min_side: int = 320) -> Image.Image:
    """Tile (N, H, W, C) uint8 images into one picture, upscaled (nearest) so small digits stay visible."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    ncol_rows = int(math.ceil(n / nrow))
    canvas = np.full((ncol_rows * (h + pad) + pad, nrow * (w + pad) + pad, c), 32, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        canvas[pad + r * (h + pad): pad + r * (h + pad) + h, pad + col * (w + pad): pad + col * (w + pad) + w] = images[i]
    picture = Image.fromarray(canvas[..., 0] if c == 1 else canvas, mode="L" if c == 1 else "RGB").convert("RGB")
    factor = max(1, min_side // max(picture.size))
    if factor > 1:
        picture = picture.resize((picture.width * factor, picture.height * factor), Image.NEAREST)
    return picture


def heat_colours(prob: np.ndarray) -> np.ndarray:
    """(R, R) values in [0, 1] (1 = D says real) -> (R, R, 3) uint8 background colours."""
    p = np.clip(np.nan_to_num(np.asarray(prob, dtype=np.float32), nan=0.5), 0, 1)[..., None]
    toward_real = MID_BG + (REAL_BG - MID_BG) * np.clip(2 * p - 1, 0, 1)
    toward_fake = MID_BG + (FAKE_BG - MID_BG) * np.clip(1 - 2 * p, 0, 1)
    return np.where(p >= 0.5, toward_real, toward_fake).astype(np.uint8)


class ViewTransform:
    """Data coordinates <-> pixels of a square view."""

    def __init__(self, extent: tuple[float, float, float, float], size: int):
        self.xmin, self.xmax, self.ymin, self.ymax = extent
        self.size = size

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        px = (points[:, 0] - self.xmin) / (self.xmax - self.xmin) * (self.size - 1)
        py = (self.ymax - points[:, 1]) / (self.ymax - self.ymin) * (self.size - 1)
        return np.stack([px, py], axis=1)

    def to_data(self, px: float, py: float) -> tuple[float, float]:
        x = self.xmin + px / (self.size - 1) * (self.xmax - self.xmin)
        y = self.ymax - py / (self.size - 1) * (self.ymax - self.ymin)
        return float(x), float(y)

    def grid(self, resolution: int) -> np.ndarray:
        """(R*R, 2) cell centres, row-major from the top-left, for evaluating D as a heatmap."""
        xs = np.linspace(self.xmin, self.xmax, resolution)
        ys = np.linspace(self.ymax, self.ymin, resolution)
        gx, gy = np.meshgrid(xs, ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def toy_view(
    extent: tuple[float, float, float, float],
    real: np.ndarray | None = None,
    fake: np.ndarray | None = None,
    heat: np.ndarray | None = None,
    manifold: list[np.ndarray] | None = None,
    size: int = 360,
    point_radius: float = 1.6,
) -> Image.Image:
    """The 2D picture; every array is in data coordinates except `heat` ((R, R) in [0, 1])."""
    to_px = ViewTransform(extent, size)
    if heat is not None:
        base = Image.fromarray(heat_colours(heat), "RGB").resize((size, size), Image.BILINEAR)
    else:
        base = Image.new("RGB", (size, size), (250, 250, 250))
    overlay = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for line in manifold or []:
        pts = to_px(line)
        ok = np.isfinite(pts).all(1)
        if ok.sum() >= 2:
            draw.line([tuple(p) for p in pts[ok]], fill=(90, 90, 90, 90), width=1)
    for points, rgb in ((real, REAL_RGB), (fake, FAKE_RGB)):
        if points is None:
            continue
        pts = to_px(points)
        pts = pts[np.isfinite(pts).all(1)]
        r = point_radius
        for x, y in pts:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=rgb + (190,))
    picture = Image.alpha_composite(base.convert("RGBA"), overlay).convert("RGB")
    ImageDraw.Draw(picture).rectangle((0, 0, size - 1, size - 1), outline=(160, 160, 160))
    return picture


def latent_grid_lines(lines: int = 11, points: int = 40, limit: float = 2.5) -> np.ndarray:
    """(2 * lines, points, 2) latent coordinates: horizontal then vertical lines over [-limit, limit]²."""
    ticks = np.linspace(-limit, limit, lines)
    along = np.linspace(-limit, limit, points)
    horizontal = np.stack([np.broadcast_to(along, (lines, points)), np.broadcast_to(ticks[:, None], (lines, points))], -1)
    vertical = horizontal[..., ::-1]
    return np.concatenate([horizontal, vertical]).astype(np.float32)


def g_loss_plot(marks: dict[str, float], size: tuple[int, int] = (360, 220)) -> Image.Image:
    """G's two losses against D(G(z)) in (0, 1): the saturating log(1 − D) (flat where D rejects the fakes) and
    the non-saturating −log D (steepest there), each ``marks`` label -> D(G(z)) drawn as a labelled line."""
    w, h = size
    left, right, top, bottom = 34, 10, 10, 30
    y_lo, y_hi = -5.0, 5.0  # both losses run off to infinity at one end; the plot shows where they differ

    def at(d: float, y: float) -> tuple[float, float]:
        y = min(max(y, y_lo), y_hi)
        return left + d * (w - left - right), top + (y_hi - y) / (y_hi - y_lo) * (h - top - bottom)

    picture = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(picture)
    draw.rectangle([left, top, w - right, h - bottom], outline=(170, 170, 170))
    draw.line([at(0, 0), at(1, 0)], fill=(210, 210, 210))
    for y in (y_hi, 0, y_lo):
        draw.text((4, at(0, y)[1] - 6), f"{y:+.0f}", fill=(90, 90, 90))
    draw.text((left, h - bottom + 4), "0", fill=(90, 90, 90))
    draw.text((w - right - 6, h - bottom + 4), "1", fill=(90, 90, 90))
    draw.text((left + 60, h - bottom + 12), "D(G(z)), D's verdict on the fakes", fill=(60, 60, 60))
    d = np.linspace(1e-4, 1 - 1e-4, 200)
    curves = {"log(1 - D): saturating": (np.log1p(-d), (200, 80, 30)),  # PIL's built-in font is ASCII only
              "-log D: non-saturating": (-np.log(d), (40, 90, 200))}
    for row, (label, (loss, colour)) in enumerate(curves.items()):
        draw.line([at(float(x), float(y)) for x, y in zip(d, loss)], fill=colour, width=2)
        draw.text((left + 120, top + 4 + 13 * row), label, fill=colour)
    for label, value in marks.items():
        x = at(min(max(value, 0.0), 1.0), 0)[0]
        draw.line([(x, top), (x, h - bottom)], fill=(118, 42, 131), width=1)
        draw.text((x + 3, h - bottom - 14), label, fill=(118, 42, 131))
    return picture
