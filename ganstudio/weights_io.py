"""Weight I/O, in one place: ``config.json`` + ``model.safetensors`` (+ model card).

Nothing here unpickles: weights are safetensors only. Loading is strict (every key,
every shape) and saving is atomic (write a temp folder, then rename it into place).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganstudio.errors import BadModel

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
PICKLE_NAMES = ("pytorch_model.bin", "model.pt", "model.pth", "model.ckpt")


def read_config(folder: str | Path) -> dict:
    """Parse ``config.json``; a missing or malformed file is a one-line BadModel."""
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        raise BadModel(f"{Path(folder).name}: no {CONFIG_NAME} in the model folder")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadModel(f"{Path(folder).name}: malformed {CONFIG_NAME} ({err.__class__.__name__}: {err})") from None
    if not isinstance(config, dict):
        raise BadModel(f"{Path(folder).name}: malformed {CONFIG_NAME} (expected a JSON object)")
    return config


def read_state_dict(folder: str | Path, filename: str = WEIGHTS_NAME) -> dict[str, torch.Tensor]:
    """Load tensors from safetensors on CPU. Pickle-only folders are refused, never opened."""
    folder = Path(folder)
    path = folder / filename
    if not path.is_file():
        pickles = [name for name in PICKLE_NAMES if (folder / name).exists()]
        if pickles:
            raise BadModel(
                f"{folder.name}: only pickle weights ({pickles[0]}); GAN Studio never unpickles files — "
                f"convert them to {WEIGHTS_NAME}"
            )
        raise BadModel(f"{folder.name}: no {filename} in the model folder")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as err:
        raise BadModel(f"{folder.name}: unreadable {filename} ({str(err).splitlines()[0][:200]})") from None


def load_into(model: torch.nn.Module, state: Mapping[str, torch.Tensor], name: str = "model") -> None:
    """Strict load: every key present, none extra, every shape equal — else one clear line."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} key(s) e.g. {missing[0]}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} key(s) e.g. {unexpected[0]}")
        raise BadModel(f"{name}: weights do not fit the config ({'; '.join(parts)})")
    for key, tensor in own.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise BadModel(
                f"{name}: shape mismatch for {key}: checkpoint {tuple(state[key].shape)}, "
                f"config expects {tuple(tensor.shape)}"
            )
    model.load_state_dict(state, strict=True)


def save_model(
    folder: str | Path,
    config: dict,
    state: Mapping[str, torch.Tensor],
    card: str | None = None,
    extra_files: Mapping[str, bytes | str | Path] | None = None,
) -> Path:
    """Write config, safetensors weights, card and extra files atomically into ``folder``.

    The files are written into a temporary sibling folder that is renamed into place, so a
    crash never leaves a half-written model where a loader could find it.
    """
    folder = Path(folder).resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
        save_file(tensors, str(tmp / WEIGHTS_NAME), metadata={"format": "pt"})
        if card is not None:
            (tmp / CARD_NAME).write_text(card, encoding="utf-8")
        for name, content in (extra_files or {}).items():
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        for path in tmp.rglob("*"):  # mkdtemp and safetensors create owner-only modes; models are meant to be shared
            path.chmod(0o755 if path.is_dir() else 0o644)
        tmp.chmod(0o755)
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old.{os.getpid()}")
            if old.exists():
                shutil.rmtree(old)
            folder.rename(old)
        tmp.rename(folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def zip_folder(folder: str | Path, zip_path: str | Path) -> Path:
    """Zip a saved model folder (flat), for download from the UI."""
    folder, zip_path = Path(folder), Path(zip_path)
    base = str(zip_path.with_suffix(""))
    return Path(shutil.make_archive(base, "zip", root_dir=folder))
