"""Weight I/O, in one place: ``config.json`` + ``model.safetensors`` (+ model card).

Nothing here unpickles: weights are safetensors only. Loading is strict (every key,
every shape) and saving is atomic (write a temp folder, then rename it into place).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganstudio.errors import BadModel
from ganstudio.limits import LIMITS

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
PICKLE_NAMES = ("pytorch_model.bin", "model.pt", "model.pth", "model.ckpt")


def read_config(folder: str | Path, name: str | None = None) -> dict:
    """Parse ``config.json``; a missing, oversized, too deeply nested or malformed file is a one-line BadModel.

    ``name`` is how messages call the model (the spec a person typed); it defaults to the folder's name.
    """
    path = Path(folder) / CONFIG_NAME
    name = name or Path(folder).name
    if not path.is_file():
        raise BadModel(f"{name}: no {CONFIG_NAME} in the model folder")
    size = path.stat().st_size
    if size > LIMITS.max_config_bytes:
        raise BadModel(f"{name}: {CONFIG_NAME} is {size:,} bytes; a model config is far smaller (at most "
                       f"{LIMITS.max_config_bytes:,})")
    raw = path.read_bytes()
    if _nesting(raw) > LIMITS.max_config_depth:
        raise BadModel(f"{name}: malformed {CONFIG_NAME} (nested more than {LIMITS.max_config_depth} levels deep)")
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        where = f" at line {err.lineno}" if isinstance(err, json.JSONDecodeError) else ""
        raise BadModel(f"{name}: malformed {CONFIG_NAME} (not valid JSON{where})") from None
    if not isinstance(config, dict):
        raise BadModel(f"{name}: malformed {CONFIG_NAME} (expected a JSON object)")
    return config


def _nesting(raw: bytes) -> int:
    """Deepest bracket nesting of a JSON text (brackets inside strings counted too: an upper bound)."""
    depth = deepest = 0
    for byte in raw:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


def read_state_dict(folder: str | Path, filename: str = WEIGHTS_NAME, name: str | None = None) -> dict[str, torch.Tensor]:
    """Load tensors from safetensors on CPU. Pickle-only folders are refused, never opened."""
    folder = Path(folder)
    name = name or folder.name
    path = folder / filename
    if not path.is_file():
        pickles = [p for p in PICKLE_NAMES if (folder / p).exists()]
        if pickles:
            raise BadModel(
                f"{name}: only pickle weights ({pickles[0]}); GAN Studio never unpickles files — "
                f"convert them to {WEIGHTS_NAME}"
            )
        raise BadModel(f"{name}: no {filename} in the model folder")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as err:
        raise BadModel(f"{name}: unreadable {filename} ({str(err).splitlines()[0][:120]})") from None


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


def save_tensors(state: Mapping[str, torch.Tensor], path: str | Path) -> None:
    """Write tensors as safetensors (on the CPU, contiguous: channels-last conv weights are not)."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    save_file(tensors, str(path), metadata={"format": "pt"})


def write_folder(folder: str | Path, write: Callable[[Path], None]) -> Path:
    """Atomically create or replace ``folder``: ``write(tmp)`` fills a temporary sibling folder that is then
    renamed into place, so a crash never leaves a half-written model where a loader could find it."""
    folder = Path(folder).resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}-", dir=folder.parent))
    try:
        write(tmp)
        for path in tmp.rglob("*"):  # mkdtemp and safetensors create owner-only modes; models are meant to be shared
            path.chmod(0o755 if path.is_dir() else 0o644)
        tmp.chmod(0o755)
        old = None
        if folder.exists():
            old = folder.with_name(f".old-{folder.name}-{os.getpid()}")
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


def save_model(
    folder: str | Path,
    config: dict,
    state: Mapping[str, torch.Tensor],
    card: str | None = None,
    extra_files: Mapping[str, bytes | str | Path] | None = None,
) -> Path:
    """Write config, safetensors weights, card and extra files atomically into ``folder``."""

    def write(tmp: Path) -> None:
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        save_tensors(state, tmp / WEIGHTS_NAME)
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

    return write_folder(folder, write)


def zip_folder(folder: str | Path, zip_path: str | Path) -> Path:
    """Zip a saved model folder (flat), for download. Written under a temp name, then renamed into place."""
    folder, zip_path = Path(folder), Path(zip_path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{zip_path.stem}-", suffix=".zip", dir=zip_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    archive.write(path, path.relative_to(folder).as_posix())
        tmp.chmod(0o644)
        os.replace(tmp, zip_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return zip_path
