"""A training run's full state on disk, so a long CPU run survives being stopped.

One file, ``ckpt.pt``, rewritten atomically (temporary file, then rename): a run killed while
saving still has its previous checkpoint. It holds everything the next step depends on: weights,
optimizer moments, step, the batch sampler's and dropout's random states, the tokenizer, the
settings it was started with, and the figures logged so far.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

CKPT_NAME = "ckpt.pt"


@dataclass
class RunState:
    step: int = 0  # optimizer steps done
    seconds: float = 0.0  # training wall time so far, over every resumed session
    smoothed_loss: float = float("nan")  # exponential moving average of the training loss
    history: list[dict] = field(default_factory=list)  # one entry per evaluation, for the log and the card


def save_checkpoint(folder: str | Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    batch_rng: torch.Generator, state: RunState, settings: dict, tokenizer_json: str) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CKPT_NAME
    tmp = folder / (CKPT_NAME + ".tmp")
    torch.save({
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "batch_rng": batch_rng.get_state(),
        "torch_rng": torch.get_rng_state(),  # dropout masks
        "state": vars(state),
        "settings": settings,
        "tokenizer_json": tokenizer_json,
    }, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(folder: str | Path) -> dict | None:
    """The saved dict, or None when the folder has no checkpoint."""
    path = Path(folder) / CKPT_NAME
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def restore(ckpt: dict, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            batch_rng: torch.Generator) -> RunState:
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    batch_rng.set_state(ckpt["batch_rng"])
    torch.set_rng_state(ckpt["torch_rng"])
    return RunState(**ckpt["state"])
