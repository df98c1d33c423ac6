"""Reproducible recipe for every bundled image model: the digit classifier and the digit GANs.

    python scripts/train_bundled.py classifier          # weights/digit-classifier  (~3 min on 1 CPU thread)

Fixed seeds; the model cards record the recipe and the measured numbers. CPU is enough.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from ganstudio import weights_io  # noqa: E402
from ganstudio.gan.classifier import (  # noqa: E402
    FOLDER_NAME,
    ClassifierConfig,
    DigitClassifier,
    classifier_config_dict,
    digits_split,
    predict_proba,
    to_input,
)
from ganstudio.gan.images import DIGITS_SOURCE, load_images  # noqa: E402
from ganstudio.settings import SETTINGS  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- classifier


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random small rotation, scale, shear and shift of (B, 1, 28, 28) digits in [-1, 1]."""
    b = x.shape[0]
    angle = (torch.rand(b, generator=gen) - 0.5) * math.radians(24)  # ±12°
    scale = 1.0 + (torch.rand(b, generator=gen) - 0.5) * 0.2  # ±10 %
    shear = (torch.rand(b, generator=gen) - 0.5) * 0.3
    shift = (torch.rand(b, 2, generator=gen) - 0.5) * (2 * 2.5 / 14)  # ±2.5 px in [-1, 1] units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin + shear, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1.0, grid, padding_mode="zeros", align_corners=False) - 1.0  # pad with background


def train_classifier(out: Path, epochs: int, seed: int = 0) -> None:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    data = load_images("digits")
    train_idx, test_idx = digits_split(data.labels)
    x_train = to_input(data.x[train_idx])
    y_train = torch.as_tensor(data.labels[train_idx])
    cfg = ClassifierConfig()
    model = DigitClassifier(cfg)
    batch = 64
    steps = epochs * math.ceil(len(x_train) / batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        total, correct = 0.0, 0
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            xb, yb = augment(x_train[idx], gen), y_train[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
        model.eval()
        test_acc = float((predict_proba(model, data.x[test_idx]).argmax(1) == data.labels[test_idx]).mean())
        log(f"epoch {epoch + 1}/{epochs} loss {total / len(x_train):.4f} train acc {correct / len(x_train):.4f} "
            f"test acc {test_acc:.4f} ({time.time() - t0:.0f}s)")
    model.eval()
    probs = predict_proba(model, data.x[test_idx])
    pred, truth = probs.argmax(1), data.labels[test_idx]
    acc = float((pred == truth).mean())
    per_class = [float((pred[truth == c] == c).mean()) for c in range(10)]
    n_params = sum(p.numel() for p in model.parameters())
    card = f"""# Digit classifier (GAN Studio)

A small CNN that recognises 28×28 grayscale digits (inputs scaled to [-1, 1]). GAN Studio uses it to
check what bundled and user-trained digit GANs draw, and its 128-d penultimate features for the
**Fréchet digit distance (classifier features, not FID)**.

- Architecture: 3 × (conv3×3 → BatchNorm → ReLU → max-pool 2) with widths {list(cfg.widths)},
  linear → {cfg.feature_dim}-d features (ReLU), dropout {cfg.dropout}, linear → {cfg.n_classes} logits.
  {n_params:,} parameters (float32).
- Data: the bundled 5,000 MNIST digits ({DIGITS_SOURCE}); 4,500 for training, 500 held out
  (50 per class, `ganstudio.gan.classifier.digits_split`, seed 0).
- Recipe: {epochs} epochs, batch {batch}, AdamW (weight decay 1e-4), one-cycle LR peaking at 3e-3,
  label smoothing 0.05, random affine augmentation (±12° rotation, ±10 % scale, shear, ±2.5 px shift),
  seed {seed}, CPU. Reproduce: `python scripts/train_bundled.py classifier`.

## Results (held-out 500 digits)

- Test accuracy: **{acc * 100:.1f} %**
- Per-class accuracy: {", ".join(f"{c}: {a * 100:.0f} %" for c, a in enumerate(per_class))}

## Limits

Trained on 4,500 digits only; it has never seen letters, photos or noise and will still pick some digit
for them. Read its confidence (max probability), not just the argmax.
"""
    config = classifier_config_dict(cfg)
    config["test_accuracy"] = round(acc, 4)
    weights_io.save_model(out, config, model.state_dict(), card=card)
    log(f"saved {out} — test accuracy {acc:.4f}, {n_params} params, "
        f"{(out / weights_io.WEIGHTS_NAME).stat().st_size / 1024:.0f} KiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["classifier"])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: weights/<name>)")
    parser.add_argument("--epochs", type=int, default=30, help="classifier epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.what == "classifier":
        train_classifier(args.out or SETTINGS.weights_dir / FOLDER_NAME, args.epochs, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
