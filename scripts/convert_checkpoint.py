"""Rewrite a GAN checkpoint saved before the Hub layout (one prefixed weights file, spec under "model") in
today's layout: root config.json + model.safetensors for the generator, ``discriminator/`` and
``generator_online/`` beside it, and a model card from ``ganstudio.gan.card``.

    python scripts/convert_checkpoint.py weights/digits-dcgan [more folders]

The tensors are copied unchanged (the script checks that the converted folder samples the same images);
the old card's "## How it was trained" section is kept. Old checkpoints load without conversion too; this
is for folders that are shipped or pushed again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ganstudio.gan.folder import is_legacy, load_online_generator
from ganstudio.gan.io import GanParts, load_gan, save_gan
from ganstudio.weights_io import CARD_NAME, read_config

NOTES = "\n## How it was trained"
KEEP = ("ema", "bundled_recipe")  # config entries outside GanParts that the card and the app read
OLD_SHIPPED = "Only the EMA generator (`generator.*`) and the discriminator are shipped."
NEW_SHIPPED = ("Only the EMA generator (`model.safetensors`) and the discriminator (`discriminator/`) are shipped; "
               "the raw generator, needed only to resume training, is left out.")


def convert(folder: Path) -> None:
    config = read_config(folder)
    if not is_legacy(config):
        print(f"{folder}: already in the Hub layout")
        return
    old_card = (folder / CARD_NAME).read_text(encoding="utf-8") if (folder / CARD_NAME).is_file() else ""
    model = load_gan(folder)
    before = model.sample(16, seed=3)
    parts = GanParts(
        spec=model.spec, generator=model.generator, discriminator=model.discriminator,
        generator_online=load_online_generator(folder, model.spec), data=config.get("data", ""),
        data_kind=model.data_kind, loss=config.get("loss", ""), train=config.get("train", {}),
        metrics=config.get("metrics", {}), steps=config.get("steps", 0), seconds=config.get("seconds", 0.0),
        class_names=config.get("class_names", []), toy=config.get("toy"),
    )
    save_gan(folder, parts, card_extra={k: config[k] for k in KEEP if k in config})
    if NOTES in old_card:
        card = folder / CARD_NAME
        notes = old_card[old_card.index(NOTES):].replace(OLD_SHIPPED, NEW_SHIPPED)
        card.write_text(card.read_text(encoding="utf-8").rstrip("\n") + "\n" + notes, encoding="utf-8")
    after = load_gan(folder).sample(16, seed=3)
    if not np.array_equal(before, after):
        raise SystemExit(f"error: {folder} samples differently after conversion")
    print(f"{folder}: converted")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    for folder in parser.parse_args(argv).folders:
        convert(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
