"""Fréchet distances between real and generated images.

True FID needs InceptionV3's ImageNet weights. When they are in the torch hub cache, or can be
downloaded quickly, :class:`FrechetScorer` uses them (torchvision's InceptionV3, pool3 2048-d).
Otherwise it falls back to the digit classifier's penultimate features and says so in the
name: that number is *not* FID and must never be labelled as such.
"""

from __future__ import annotations

import hashlib
import socket
import sys
import threading
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganstudio.errors import BadInput
from ganstudio.gan.classifier import load_classifier, to_input

FID_NAME = "FID (torchvision InceptionV3 pool3)"
DIGIT_NAME = "Fréchet digit distance (classifier features, not FID)"
INCEPTION_DOWNLOAD_TIMEOUT_S = 20.0  # connect/read timeout; no network fails at once
_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """‖μ1−μ2‖² + tr(Σ1) + tr(Σ2) − 2·tr((Σ1 Σ2)^½), via symmetric eigendecompositions.

    tr((Σ1 Σ2)^½) = Σ √λ(Σ1^½ Σ2 Σ1^½): that matrix is symmetric PSD, so eigvalsh is stable even
    when the covariances are singular (fewer samples than features). Never negative.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(np.asarray(s1, np.float64)), np.atleast_2d(np.asarray(s2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise BadInput(f"Fréchet distance: mismatched statistics {mu1.shape}/{s1.shape} vs {mu2.shape}/{s2.shape}")
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # Σ1^½
    middle = root1 @ s2 @ root1
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * cross)
    return max(value, 0.0)


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and covariance (F, F) of features (N, F), in float64."""
    f = np.asarray(features, np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def inception_weights_file() -> Path:
    from torchvision.models import Inception_V3_Weights

    url = Inception_V3_Weights.IMAGENET1K_V1.url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


_inception_failed = threading.Event()  # one failed download per process is enough


def _try_inception(device: torch.device) -> torch.nn.Module | None:
    """torchvision InceptionV3 with pool3 output, or None when its weights cannot be had."""
    from torchvision.models import Inception_V3_Weights, inception_v3

    cached = inception_weights_file().is_file()
    if not cached and _inception_failed.is_set():
        return None
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(INCEPTION_DOWNLOAD_TIMEOUT_S)
    try:
        with redirect_stdout(sys.stderr):
            model = inception_v3(weights=Inception_V3_Weights.IMAGENET1K_V1, progress=False)
    except Exception as err:  # urllib/hash/IO errors: no FID today
        print(f"InceptionV3 weights unavailable ({err.__class__.__name__}); using digit features", file=sys.stderr)
        _inception_failed.set()
        return None
    finally:
        socket.setdefaulttimeout(old)
    model.fc = torch.nn.Identity()  # pool3: (B, 2048)
    return model.to(device).eval()


class FrechetScorer:
    """Scores generated images against real ones; real-data statistics are cached by content.

    ``backend``: "auto" (Inception when available, else digit features), "inception" (same,
    but the fallback is still honest), or "classifier" (always digit features: fast, and what the
    bundled model cards report).
    """

    def __init__(self, device: torch.device | str = "cpu", backend: str = "auto", batch_size: int = 100):
        if backend not in {"auto", "inception", "classifier"}:
            raise BadInput(f"unknown Fréchet backend {backend!r} (auto, inception, classifier)")
        self.device = torch.device(device)
        self.batch_size = batch_size
        self._model = None
        self._name = ""
        self._backend = backend
        self._real_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def name(self) -> str:
        self._ensure_model()
        return self._name

    def _ensure_model(self) -> None:
        if self._model is not None:
            return
        if self._backend != "classifier":
            inception = _try_inception(self.device)
            if inception is not None:
                self._model, self._name = inception, FID_NAME
                return
        self._model, self._name = load_classifier(device=self.device), DIGIT_NAME

    @torch.no_grad()
    def features(self, images: np.ndarray) -> np.ndarray:
        """Features (N, F) of uint8 images (N, H, W, C)."""
        self._ensure_model()
        out = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            if self._name == FID_NAME:
                x = _inception_input(chunk).to(self.device)
                out.append(self._model(x).cpu().numpy())
            else:
                x = to_input(chunk).to(self.device)
                out.append(self._model.features(x).cpu().numpy())
        return np.concatenate(out).astype(np.float64)

    def _real_stats(self, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = hashlib.blake2b(real.tobytes(), digest_size=16, person=str(real.shape).encode()[:16]).hexdigest()
        key = f"{self._name}:{key}"
        if key not in self._real_cache:
            self._real_cache[key] = feature_stats(self.features(real))
        return self._real_cache[key]

    def score(self, real: np.ndarray, fake: np.ndarray) -> dict:
        """{"name", "value", "n" (generated images), "n_real"} for uint8 (N, H, W, C) arrays."""
        real, fake = _check_images(real, "real"), _check_images(fake, "generated")
        self._ensure_model()
        mu_r, s_r = self._real_stats(real)
        mu_f, s_f = feature_stats(self.features(fake))
        return {
            "name": self._name,
            "value": frechet_distance(mu_r, s_r, mu_f, s_f),
            "n": int(len(fake)),
            "n_real": int(len(real)),
        }


def _check_images(images: np.ndarray, what: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.dtype != np.uint8:
        raise BadInput(f"{what} images must be uint8 (N, H, W, 1 or 3), got {images.dtype} {images.shape}")
    if len(images) < 2:
        raise BadInput(f"need at least 2 {what} images for a Fréchet distance, got {len(images)}")
    return np.ascontiguousarray(images)


def _inception_input(images: np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255.0  # (B, C, H, W) in [0, 1]
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    return (x - _MEAN) / _STD
