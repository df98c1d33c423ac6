"""Attention → Image on the bundled attention GANs: the view starts on a stroke, reads the query in the digit's own
pixels, and each layer's panel carries its title and colour bar (offline, CPU)."""

from __future__ import annotations

import numpy as np
import torch

from ganstudio.actions.attention import GAN_DISPLAY_SIZE, gan_attention
from ganstudio.gpt.heatmaps import colorize

torch.set_num_threads(1)


def test_the_view_starts_on_a_stroke_and_names_the_digits_pixel():
    for model in ("digits-sagan", "digits-transgan"):
        result = gan_attention(model, seed=0)
        (px, py), (w, h) = result["pixel"], result["digit_size"]
        assert (w, h) == (28, 28) and 0 <= px < 28 and 0 <= py < 28
        digit = np.asarray(result["image"].convert("L").resize((w, h), resample=0))  # the digit at its own size
        assert digit[py, px] >= 128, (model, px, py)  # bright: a stroke, not the background
        x, y = result["query_xy"]
        assert (px, py) == (x * w // GAN_DISPLAY_SIZE, y * h // GAN_DISPLAY_SIZE)


def test_a_clicked_point_is_read_in_the_digits_pixels():
    result = gan_attention("digits-transgan", seed=3, query_xy=(200, 10))
    assert result["query_xy"] == (200, 10) and result["pixel"] == (21, 1)  # 200·28/256 = 21.9, 10·28/256 = 1.1


def test_each_layers_panel_has_its_title_and_colour_bar():
    result = gan_attention("digits-transgan", seed=0, layer=1, head=2)
    (layer,) = result["layers"]
    panel = np.asarray(layer["panel"])
    side = panel.shape[0]
    assert panel.shape == (side, side, 3) and side > GAN_DISPLAY_SIZE  # square, so a gallery's cell shows it whole
    top = (side - GAN_DISPLAY_SIZE) // 2
    assert (panel[:8] == 255).all() and (panel[8:top] < 128).any()  # a white margin, then the title's dark ink
    ramp = colorize(np.linspace(0.0, 1.0, 5, dtype=np.float32), vmax=1.0)  # dark purple ... yellow
    bar_rows = panel[top + GAN_DISPLAY_SIZE:]
    for colour in (ramp[0], ramp[-1]):  # both ends of the colour bar are drawn under the picture
        assert (np.abs(bar_rows.astype(int) - colour).sum(axis=2) < 40).any(), colour
    assert layer["weights"].max() > 1.0 / layer["weights"].size  # the bar's right end: this map's largest weight
