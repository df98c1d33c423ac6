"""Where real batches come from: a 2D toy distribution or an image set held on the device as uint8."""

from __future__ import annotations

import numpy as np
import torch

from ganstudio.errors import BadInput
from ganstudio.gan.config import IMAGE_SIZES, TrainConfig, is_toy
from ganstudio.gan.data2d import Toy2D, make_toy

DEFAULT_IMAGE_SIZE = {"digits": 28, "mnist": 28, "fashion-mnist": 28, "cifar10": 32}
BUILTIN_CHANNELS = {"digits": 1, "mnist": 1, "fashion-mnist": 1, "cifar10": 3}  # before a set is read (images.py)


def image_size_for(cfg: TrainConfig) -> int:
    return cfg.image_size or DEFAULT_IMAGE_SIZE.get(cfg.data, 32)


def load_training_data(cfg: TrainConfig, workdir=None):
    """The raw data for `cfg` (no tensors on a device yet): a Toy2D or an images.ImageData.

    Safe to call off the engine's worker: it reads files and builds numpy arrays only, within the
    decoding budget of ``images``. An uploaded zip is unpacked in ``workdir`` (then removed).
    """
    if is_toy(cfg.data):
        return make_toy(cfg.data, cfg.custom_points)
    from ganstudio.gan.images import load_images  # image sets: another module's job

    return load_images(cfg.data, image_size=image_size_for(cfg), workdir=workdir)


class ToySource:
    kind = "2d"

    def __init__(self, toy: Toy2D, device: torch.device, generator: torch.Generator):
        self.toy, self.device, self.generator = toy, device, generator
        self.n_classes = toy.n_classes
        self.class_names: list[str] = []  # toy classes (mixture components) have no names
        self.name = toy.name

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """n real points and labels, drawn with the run's generator unless another is given (the live view's)."""
        return self.toy.sample(n, generator or self.generator, self.device)

    def labels(self, n: int) -> torch.Tensor:
        return torch.randint(max(self.n_classes, 1), (n,), generator=self.generator).to(self.device)


class ImageSource:
    """Images kept as uint8 (N, C, H, W) on the device; batches become floats in [-1, 1] on the fly."""

    kind = "image"

    def __init__(self, data, device: torch.device, generator: torch.Generator):
        x = np.asarray(data.x)
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4 or x.dtype != np.uint8 or len(x) < 2:
            raise BadInput(f"{getattr(data, 'name', 'images')}: need at least 2 uint8 images of shape (N, H, W, C)")
        n, h, w, c = x.shape
        if h != w or h not in IMAGE_SIZES:
            raise BadInput(f"images are {h}x{w}; square images of {', '.join(map(str, IMAGE_SIZES))} px are supported")
        if c not in (1, 3):
            raise BadInput(f"images have {c} channels; 1 (grey) or 3 (colour) are supported")
        self.device, self.generator = device, generator
        self.toy = None  # no 2D distribution behind images
        self.images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(device)  # (N, C, H, W) uint8
        labels = getattr(data, "labels", None)
        self.n_classes = int(getattr(data, "n_classes", 0) or 0) if labels is not None else 0
        self.label_tensor = torch.as_tensor(np.asarray(labels), dtype=torch.long).to(device) if self.n_classes else None
        self.class_names = list(getattr(data, "class_names", None) or [str(i) for i in range(self.n_classes)])
        self.name = str(getattr(data, "name", "images"))
        self.channels, self.image_size = c, h

    def __len__(self) -> int:
        return self.images.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n real images and labels, drawn with the run's generator unless another is given (the live view's)."""
        idx = torch.randint(len(self), (n,), generator=generator or self.generator).to(self.device)
        x = self.images[idx].float().div_(127.5).sub_(1.0)  # (n, C, H, W) in [-1, 1]
        y = self.label_tensor[idx] if self.label_tensor is not None else None
        return x, y

    def labels(self, n: int) -> torch.Tensor:
        if self.label_tensor is None:
            return torch.zeros(n, dtype=torch.long, device=self.device)
        idx = torch.randint(len(self), (n,), generator=self.generator).to(self.device)
        return self.label_tensor[idx]  # class frequencies follow the data

    def uint8_sample(self, n: int, seed: int = 0) -> np.ndarray:
        """(n, H, W, C) uint8 real images for FID, drawn without replacement when possible."""
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(self), generator=g)[:n] if n <= len(self) else torch.randint(len(self), (n,), generator=g)
        return self.images[idx.to(self.device)].permute(0, 2, 3, 1).cpu().numpy()


def make_source(data, device: torch.device, generator: torch.Generator):
    return ToySource(data, device, generator) if isinstance(data, Toy2D) else ImageSource(data, device, generator)
