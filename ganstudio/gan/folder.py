"""Reading a saved GAN's folder: its config checked, its nets built and strictly loaded (old layouts too).

The Hub's layout (``PyTorchModelHubMixin``), one net per folder:
  config.json        the generator's spec, flat ({"arch", "z_dim", ...}), plus "model_type": "ganstudio-gan",
                     data, loss, train settings, metrics, steps, ...
  model.safetensors  the generator (the EMA copy when EMA was on)
  discriminator/     config.json + model.safetensors: D, for resuming training
  generator_online/  config.json + model.safetensors: the raw G when `generator` is an EMA copy
Checkpoints from before this layout (one model.safetensors with generator./discriminator./generator_online.
prefixes and the spec under config["model"]) are read here and nowhere else. Every config is type- and
range-checked and its nets' memory estimated before anything is built; weights load strictly.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganstudio.admission import check_file_size
from ganstudio.checks import shown
from ganstudio.errors import BadModel
from ganstudio.gan.estimate import check_checkpoint
from ganstudio.gan.registry import build_discriminator, build_generator
from ganstudio.gan.spec import GanSpec
from ganstudio.weights_io import WEIGHTS_NAME, load_into, read_config, read_state_dict

GENERATOR_TYPE = "ganstudio-gan"  # config.json's model_type of a GAN Studio generator (and of a whole GAN)
DISCRIMINATOR_TYPE = "ganstudio-discriminator"
D_FOLDER, ONLINE_FOLDER = "discriminator", "generator_online"
LEGACY_PREFIXES = ("generator.", "discriminator.", "generator_online.")


def check_gan_config(folder: str | Path, name: str, kinds: tuple[str, ...] = (GENERATOR_TYPE,)) -> tuple[dict, GanSpec]:
    """The folder's config.json, checked: a GAN Studio net (``kinds``) that fits the memory budget."""
    config = read_config(folder, name)
    if config.get("model_type") not in kinds:
        what = "generator" if kinds == (GENERATOR_TYPE,) else "net"
        raise BadModel(f"{name}: not a GAN Studio {what} (model_type {shown(config.get('model_type'))})")
    spec = spec_of(config, name)
    check_checkpoint(spec, name)
    return config, spec


def spec_of(config: dict, name: str) -> GanSpec:
    """The GanSpec a config.json describes (flat, or under "model" in the old layout)."""
    if is_legacy(config):
        return GanSpec.from_dict(config["model"], name)
    return GanSpec.from_dict({k: config[k] for k in GanSpec.__dataclass_fields__ if k in config}, name)


def is_legacy(config: dict) -> bool:
    """Saved before the Hub layout: the spec under "model", every net in one prefixed weights file."""
    return isinstance(config.get("model"), dict)


def load_generator(folder: str | Path, name: str | None = None, checked: tuple[dict, GanSpec] | None = None) -> nn.Module:
    """The generator of a checkpoint folder, strictly loaded (train mode; callers pick eval)."""
    folder = Path(folder)
    name = name or folder.name
    config, spec = checked or check_gan_config(folder, name)
    generator = build_generator(spec)
    load_into(generator, _weights(folder, name, config, "generator."), f"{name} generator")
    return generator


def load_discriminator(folder: str | Path, name: str | None = None,
                       checked: tuple[dict, GanSpec] | None = None) -> nn.Module | None:
    """The discriminator of a GAN's folder (None when it was saved without one), or of a folder holding a
    discriminator alone (``Discriminator.save_pretrained``)."""
    folder = Path(folder)
    name = name or folder.name
    config, spec = checked or check_gan_config(folder, name, (GENERATOR_TYPE, DISCRIMINATOR_TYPE))
    if config.get("model_type") == DISCRIMINATOR_TYPE:
        state = _weights(folder, name, config, "")
    elif is_legacy(config):
        state = _weights(folder, name, config, "discriminator.")
    elif (folder / D_FOLDER / WEIGHTS_NAME).is_file():
        sub_config, _ = check_gan_config(folder / D_FOLDER, f"{name} discriminator", (DISCRIMINATOR_TYPE,))
        state = _weights(folder / D_FOLDER, name, sub_config, "")
    else:
        state = {}
    if not state:
        return None
    discriminator = build_discriminator(spec)
    load_into(discriminator, state, f"{name} discriminator")
    return discriminator


def load_online_generator(folder: str | Path, spec: GanSpec) -> nn.Module | None:
    """The raw (non-EMA) generator of a checkpoint, for resuming; None when it was saved without EMA."""
    folder = Path(folder)
    config = read_config(folder)
    if is_legacy(config):
        state = _weights(folder, folder.name, config, "generator_online.")
    elif (folder / ONLINE_FOLDER / WEIGHTS_NAME).is_file():
        state = _weights(folder / ONLINE_FOLDER, folder.name, {}, "")
    else:
        return None
    if not state:
        return None
    generator = build_generator(spec)
    load_into(generator, state, "generator_online")
    return generator


def _weights(folder: Path, name: str, config: dict, prefix: str) -> dict[str, torch.Tensor]:
    """One net's tensors: a legacy file's ``prefix`` part, or the whole file of a one-net folder."""
    weights = folder / WEIGHTS_NAME
    if weights.is_file():
        check_file_size(weights.stat().st_size, name)
    state = read_state_dict(folder, name=name)
    if not is_legacy(config):
        return state
    stray = [k for k in state if not k.startswith(LEGACY_PREFIXES)]
    if stray:
        raise BadModel(f"{name}: unexpected weight {shown(stray[0])} (not generator/discriminator)")
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
