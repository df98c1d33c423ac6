"""Attention pictures with numpy + PIL: colour map, token x token heatmap, layers x heads overview, overlays.

Plain types only (numpy in, PIL / dict out), so the UI can call these without touching torch.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Viridis, sampled at 0, 1/4, 1/2, 3/4, 1: dark = little attention, yellow = a lot; reads in greyscale too.
_ANCHORS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float32)
GAP = 2  # pixels between thumbnails in the overview
GAP_COLOUR = (255, 255, 255)


def colorize(values: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """(..., ) floats -> (..., 3) uint8 through the colour map; 0 -> dark, vmax (default: max) -> yellow."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    top = float(values.max()) if vmax is None else float(vmax)
    scaled = np.clip(values / top if top > 0 else values * 0, 0.0, 1.0) * (len(_ANCHORS) - 1)
    low = np.minimum(scaled.astype(np.int64), len(_ANCHORS) - 2)
    frac = (scaled - low)[..., None]
    return (_ANCHORS[low] * (1 - frac) + _ANCHORS[low + 1] * frac).round().astype(np.uint8)


def heatmap_image(matrix: np.ndarray, size: int = 512) -> Image.Image:
    """A (T, T) matrix as a square picture, each cell an equal block of pixels (rows = queries)."""
    t = matrix.shape[0]
    cell = max(1, size // max(1, t))
    pixels = np.repeat(np.repeat(colorize(matrix), cell, axis=0), cell, axis=1)
    return Image.fromarray(pixels, "RGB")


def overview_image(attentions: np.ndarray, thumb: int = 64) -> Image.Image:
    """(layers, heads, T, T) -> a grid picture: one row per layer, one column per head."""
    layers, heads, t, _ = attentions.shape
    side = t * max(1, thumb // max(1, t)) if t <= thumb else thumb  # whole pixels per cell, or shrunk to thumb
    width, height = heads * (side + GAP) - GAP, layers * (side + GAP) - GAP
    canvas = Image.new("RGB", (width, height), GAP_COLOUR)
    for layer in range(layers):
        for head in range(heads):
            matrix = attentions[layer, head].astype(np.float32)
            if t > side:  # average blocks first: colouring 144 full 512x512 maps would take seconds
                small = np.asarray(Image.fromarray(matrix, "F").resize((side, side), Image.BOX))
                tile = Image.fromarray(colorize(small, vmax=float(matrix.max())), "RGB")
            else:
                tile = Image.fromarray(colorize(matrix), "RGB").resize((side, side), Image.NEAREST)
            canvas.paste(tile, (head * (side + GAP), layer * (side + GAP)))
    return canvas


def overlay(image: Image.Image, weights: np.ndarray, point: tuple[int, int] | None = None,
            strength: float = 0.6) -> Image.Image:
    """Blend a (h, w) attention map, stretched smoothly to the image's size, over the image; mark `point`."""
    base = image.convert("RGB")
    heat = Image.fromarray(colorize(weights), "RGB").resize(base.size, Image.BILINEAR)
    out = Image.blend(base, heat, strength)
    if point is not None:
        x, y = point
        draw = ImageDraw.Draw(out)
        r = max(3, base.size[0] // 40)
        draw.line([(x - r, y), (x + r, y)], fill=(255, 40, 40), width=2)
        draw.line([(x, y - r), (x, y + r)], fill=(255, 40, 40), width=2)
    return out


PANEL_INK = (20, 20, 20)
PANEL_FAINT = (90, 90, 90)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow's scalable built-in font (needs FreeType)
    except (TypeError, OSError, ImportError):  # an older Pillow or no FreeType: its small bitmap font
        return ImageFont.load_default()


def legend_panel(picture: Image.Image, title: list[str], vmax: float, unit: str = "attention weight",
                 reference: str = "") -> Image.Image:
    """A square panel: the ``title`` lines, ``picture`` (centred), and a colour bar under it, dark = 0 and yellow =
    ``vmax``, in ``unit``; ``reference`` (a short line, e.g. what uniform attention would be) under the bar. Square,
    so a gallery's square cells show all of it."""
    big, small = _font(15), _font(13)
    pad, line, bar_h = 8, 19, 12
    top, bottom = pad + line * len(title) + 4, pad + bar_h + 4 + line * (2 if reference else 1)
    side = max(picture.width + 2 * pad, top + picture.height + bottom)
    out = Image.new("RGB", (side, side), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    for i, text in enumerate(title):
        draw.text((pad, pad + i * line), text, fill=PANEL_INK, font=big)
    out.paste(picture.convert("RGB"), ((side - picture.width) // 2, top))
    y = top + picture.height + pad
    ramp = np.repeat(np.linspace(0.0, 1.0, side - 2 * pad, dtype=np.float32)[None], bar_h, axis=0)  # (bar_h, w)
    out.paste(Image.fromarray(colorize(ramp, vmax=1.0), "RGB"), (pad, y))
    y += bar_h + 4
    draw.text((pad, y), "0", fill=PANEL_INK, font=small)
    draw.text((side - pad, y), f"{vmax:.3f}", fill=PANEL_INK, font=small, anchor="ra")
    draw.text((side // 2, y), unit, fill=PANEL_FAINT, font=small, anchor="ma")
    if reference:
        draw.text((side // 2, y + line), reference, fill=PANEL_FAINT, font=small, anchor="ma")
    return out


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def hover_payload(matrix: np.ndarray, tokens: list[str], size: int = 512) -> dict:
    """What the hover view needs: the heatmap as a data URL, the tokens, and the values in thousandths."""
    return {
        "src": png_data_url(heatmap_image(matrix, size)),
        "tokens": list(tokens),
        "n": int(matrix.shape[0]),
        "milli": np.rint(np.asarray(matrix, dtype=np.float64) * 1000).astype(np.int32).ravel().tolist(),
    }


# ---- compact payloads for pictures the browser draws itself (the Attention tab's explorer) ----------

OVERVIEW_SIDE = 24  # cells per side of each head's thumbnail in the overview (long prompts are block-averaged)


def matrix_payload(matrix: np.ndarray) -> dict:
    """A (T, T) matrix as uint8 (0 = nothing, 255 = its largest value) plus that value, base64-encoded."""
    matrix = np.nan_to_num(np.asarray(matrix, dtype=np.float32))
    vmax = float(matrix.max()) if matrix.size else 0.0
    cells = np.rint(matrix / vmax * 255).astype(np.uint8) if vmax > 0 else np.zeros(matrix.shape, np.uint8)
    return {"n": int(matrix.shape[0]), "vmax": vmax, "cells": base64.b64encode(cells.tobytes()).decode("ascii")}


def signed_payload(matrix: np.ndarray) -> dict:
    """A (n, n) matrix of values in [-1, 1] (cosine similarities) as uint8, -1 -> 0, 0 -> 128, 1 -> 255, base64."""
    values = np.clip(np.nan_to_num(np.asarray(matrix, dtype=np.float32)), -1.0, 1.0)
    cells = np.rint((values + 1.0) * 127.5).astype(np.uint8)
    return {"n": int(values.shape[0]), "cells": base64.b64encode(cells.tobytes()).decode("ascii")}


def overview_payload(attentions: np.ndarray, side: int = OVERVIEW_SIDE) -> dict:
    """Every layer's every head as a small thumbnail (block-averaged to ``side`` cells, each scaled to its own
    largest value): ``{"layers", "heads", "side", "cells": base64 uint8 (layers, heads, side, side)}``."""
    layers, heads, t, _ = attentions.shape
    side = min(side, t)
    edges = np.linspace(0, t, side + 1).round().astype(int)
    thumbs = np.zeros((layers, heads, side, side), np.float32)
    for r in range(side):
        for c in range(side):
            block = attentions[:, :, edges[r]:edges[r + 1], edges[c]:edges[c + 1]]
            thumbs[:, :, r, c] = block.mean(axis=(2, 3)) if block.size else 0.0
    top = thumbs.max(axis=(2, 3), keepdims=True)
    cells = np.rint(np.divide(thumbs, top, out=np.zeros_like(thumbs), where=top > 0) * 255).astype(np.uint8)
    return {"layers": int(layers), "heads": int(heads), "side": int(side),
            "cells": base64.b64encode(cells.tobytes()).decode("ascii")}
