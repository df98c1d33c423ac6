"""A Text GAN on disk: G at the folder's root, D in ``discriminator/``, each ``config.json`` + ``model.safetensors``.

Written atomically and read strictly through ``ganstudio.weights_io`` (every key and shape checked; nothing is
unpickled). G's ``config.json`` is a Hub GPT-2 config plus what the lesson adds: ``"kind": "textgan"``, the
alphabet (character i is token i), the run's settings and its figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ganstudio.errors import BadModel
from ganstudio.gpt.config import GPTConfig
from ganstudio.gpt.model import GPT
from ganstudio.textgan.config import TextGanConfig
from ganstudio.textgan.nets import CharDiscriminator
from ganstudio.weights_io import CONFIG_NAME, WEIGHTS_NAME, load_into, read_config, read_state_dict, save_tensors, \
    write_folder

KIND = "textgan"
D_FOLDER = "discriminator"
MAX_D_SIZE = 1024  # D's sizes in a config.json are bounded before anything is allocated (the lesson's are <= 72)


@dataclass
class SavedTextGan:
    G: GPT
    D: CharDiscriminator
    alphabet: str  # character i is token i
    settings: TextGanConfig  # what the run was started with
    figures: dict  # steps, seconds, quality at the start and the end


def save_textgan(folder: str | Path, G: GPT, D: CharDiscriminator, alphabet: str, cfg: TextGanConfig,
                 figures: dict) -> Path:
    config = {**G.config.to_hub(), "kind": KIND, "alphabet": alphabet, "settings": cfg.to_dict(), "figures": figures}

    def write(tmp: Path) -> None:
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        save_tensors(G.state_dict(), tmp / WEIGHTS_NAME)
        (tmp / D_FOLDER).mkdir()
        (tmp / D_FOLDER / CONFIG_NAME).write_text(json.dumps(D.config(), indent=2) + "\n", encoding="utf-8")
        save_tensors(D.state_dict(), tmp / D_FOLDER / WEIGHTS_NAME)

    return write_folder(folder, write)


def load_textgan(folder: str | Path, name: str | None = None) -> SavedTextGan:
    """A saved Text GAN, strictly: a folder that is not one, or whose weights do not fit, is one BadModel line."""
    folder = Path(folder)
    name = name or folder.name
    config = read_config(folder, name)
    if config.get("kind") != KIND:
        raise BadModel(f"{name}: not a Text GAN checkpoint (its config.json has no \"kind\": \"{KIND}\")")
    alphabet = config.get("alphabet")
    if not isinstance(alphabet, str) or not alphabet:
        raise BadModel(f"{name}: config.json has no alphabet")
    g_cfg = GPTConfig.from_hub(config, name)
    if g_cfg.vocab_size != len(alphabet):
        raise BadModel(f"{name}: vocab_size {g_cfg.vocab_size} does not match its {len(alphabet)}-character alphabet")
    G = GPT(g_cfg)
    load_into(G, read_state_dict(folder, name=name), name)
    d_raw = read_config(folder / D_FOLDER, f"{name}/{D_FOLDER}")
    sizes = [d_raw.get(key) for key in ("vocab", "width", "embed")]
    if not all(isinstance(n, int) and 0 < n <= MAX_D_SIZE for n in sizes):
        raise BadModel(f"{name}/{D_FOLDER}: config.json needs vocab, width and embed, each 1 to {MAX_D_SIZE}")
    D = CharDiscriminator(*sizes)
    load_into(D, read_state_dict(folder / D_FOLDER, name=f"{name}/{D_FOLDER}"), f"{name}/{D_FOLDER}")
    settings = TextGanConfig.from_params(config.get("settings") or {})
    return SavedTextGan(G.eval(), D.eval(), alphabet, settings, config.get("figures") or {})

