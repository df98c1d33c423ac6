"""A small CNN that recognises 28×28 digits: judges generated digits and supplies Fréchet features.

Trained by ``scripts/train_bundled.py classifier`` on the bundled digits minus a fixed held-out
split (:func:`digits_split`); shipped in ``weights/digit-classifier``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganstudio import weights_io
from ganstudio.errors import BadModel
from ganstudio.settings import SETTINGS

MODEL_TYPE = "ganstudio-classifier"
FOLDER_NAME = "digit-classifier"


@dataclass(frozen=True)
class ClassifierConfig:
    n_classes: int = 10  # digits 0-9
    image_size: int = 28  # MNIST geometry; other sizes are resized to this
    widths: tuple[int, int, int] = (32, 64, 64)  # conv channels per stage: enough for >97% on MNIST, < 1 MB
    feature_dim: int = 128  # penultimate width: the Fréchet feature space
    dropout: float = 0.3  # only 4,500 training digits; regularise the head


class DigitClassifier(nn.Module):
    """conv-bn-relu-pool ×3 → linear → features (B, F) → linear → logits (B, 10). Inputs in [-1, 1]."""

    def __init__(self, cfg: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.cfg = cfg
        c1, c2, c3 = cfg.widths
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),  # (B, c1, 14, 14)
            nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),  # (B, c2, 7, 7)
            nn.Conv2d(c2, c3, 3, padding=1), nn.BatchNorm2d(c3), nn.ReLU(), nn.MaxPool2d(2),  # (B, c3, 3, 3)
        )
        self.embed = nn.Linear(c3 * 3 * 3, cfg.feature_dim)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.feature_dim, cfg.n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)  # (B, c3, 3, 3)
        return F.relu(self.embed(h.flatten(1)))  # (B, F)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))  # (B, n_classes)


def to_input(images: np.ndarray | torch.Tensor, size: int = 28) -> torch.Tensor:
    """uint8 (N, H, W, C) images -> float (N, 1, size, size) in [-1, 1]: luminance, area-resized."""
    x = torch.as_tensor(np.asarray(images))
    if x.ndim == 3:
        x = x[..., None]
    x = x.permute(0, 3, 1, 2).float() / 255.0  # (N, C, H, W) in [0, 1]
    if x.shape[1] == 3:
        x = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    elif x.shape[1] != 1:
        x = x[:, :1]
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x * 2.0 - 1.0


def digits_split(labels: np.ndarray, per_class_test: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fixed (train, test) index split of the bundled digits: ``per_class_test`` held out per class."""
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        test.extend(rng.choice(idx, size=per_class_test, replace=False).tolist())
    test_idx = np.sort(np.array(test))
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return train_idx, test_idx


def default_folder() -> Path:
    return SETTINGS.weights_dir / FOLDER_NAME


def load_classifier(folder: str | Path | None = None, device: torch.device | str = "cpu") -> DigitClassifier:
    """The shipped digit classifier (or one saved like it), in eval mode on ``device``."""
    folder = Path(folder) if folder is not None else default_folder()
    config = weights_io.read_config(folder)
    if config.get("model_type") != MODEL_TYPE:
        raise BadModel(f"{folder.name}: model_type is {config.get('model_type')!r}, expected {MODEL_TYPE!r}")
    try:
        cfg = ClassifierConfig(
            n_classes=int(config["n_classes"]),
            image_size=int(config["image_size"]),
            widths=tuple(int(w) for w in config["widths"]),
            feature_dim=int(config["feature_dim"]),
            dropout=float(config.get("dropout", 0.0)),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BadModel(f"{folder.name}: config.json lacks a valid {err}") from None
    model = DigitClassifier(cfg)
    weights_io.load_into(model, weights_io.read_state_dict(folder), folder.name)
    return model.to(device).eval()


def classifier_config_dict(cfg: ClassifierConfig) -> dict:
    return {"model_type": MODEL_TYPE, **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}}


@torch.no_grad()
def predict_proba(model: DigitClassifier, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Class probabilities (N, n_classes) for uint8 images (N, H, W, C)."""
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        x = to_input(images[start : start + batch_size], model.cfg.image_size).to(device)
        out.append(F.softmax(model(x), dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.cfg.n_classes), np.float32)
