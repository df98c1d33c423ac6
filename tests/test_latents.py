"""One latent convention: a seed shows the same images in Explore, Attention → Image, the CLI, the MCP tool and
``Generator.sample`` (before, Explore and Attention drew z with numpy and the rest with torch: different digits)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ganstudio.settings import SETTINGS

MODEL = "digits-sagan"  # bundled, and it has attention, so every surface can draw it
SEED, N, SIDE, PAD = 5, 4, 28, 2


def _tiles(picture: Image.Image, n: int = N, per_row: int = 2, factor: int = 1) -> np.ndarray:
    """(n, 28, 28) grey digits cut out of a grid drawn by ``render.image_grid`` (pad 2), shrunk by ``factor``."""
    grey = np.asarray(picture.convert("L"))[::factor, ::factor]
    return np.stack([grey[PAD + r * (SIDE + PAD): PAD + r * (SIDE + PAD) + SIDE,
                          PAD + c * (SIDE + PAD): PAD + c * (SIDE + PAD) + SIDE]
                     for r, c in (divmod(i, per_row) for i in range(n))])


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal to within one grey level in a few pixels (a channels-last or batched forward differs in the last bit)."""
    difference = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return a.shape == b.shape and difference.max() <= 1 and (difference > 0).mean() < 0.01


def test_a_seed_draws_the_same_digits_on_every_surface(tmp_path):
    from ganstudio.actions import explore
    from ganstudio.actions.attention import GAN_DISPLAY_SIZE, gan_attention
    from ganstudio.cli import main
    from ganstudio.gan import Generator
    from ganstudio.ui import tools

    reference = Generator.from_pretrained(str(SETTINGS.weights_dir / MODEL)).sample(N, seed=SEED)[..., 0]  # (N, 28, 28)

    explored = _tiles(explore.sample_grid(MODEL, seed=SEED, n=N)["image"])
    assert _close(explored, reference)

    assert main(["sample", "--model", MODEL, "--n", str(N), "--seed", str(SEED), "--out", str(tmp_path / "s.npy")]) == 0
    assert _close(np.load(tmp_path / "s.npy")[..., 0], reference)

    png = Image.open(tools.sample_gan(model=MODEL, n=N, seed=SEED)["path"])
    grid_side = 2 * (SIDE + PAD) + PAD
    assert _close(_tiles(png, factor=png.width // grid_side), reference)

    shown = np.asarray(gan_attention(MODEL, seed=SEED)["image"].convert("L"))  # sample 0, enlarged to 256 px
    centres = ((np.arange(SIDE) + 0.5) * GAN_DISPLAY_SIZE / SIDE).astype(int)
    assert _close(shown[np.ix_(centres, centres)], reference[0])


def test_sample_i_of_a_seed_does_not_depend_on_how_many_are_drawn():
    from ganstudio.gan.latents import labels, latents

    assert np.array_equal(latents(3, 16, seed=9), latents(10, 16, seed=9)[:3])
    assert latents(2, 8, seed=1).dtype == np.float32
    assert labels(5, 3).tolist() == [0, 1, 2, 0, 1] and labels(2, 3, class_id=2).tolist() == [2, 2]
    assert labels(4, 0) is None
