"""Every environment variable GAN Studio reads, read here and nowhere else.

Hugging Face variables (HF_ENDPOINT, HF_HUB_OFFLINE, HF_HUB_CACHE, HF_TOKEN) are
read by huggingface_hub itself; we only look at them to word messages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    device: str = ""  # GANSTUDIO_DEVICE: force "cpu", "cuda", "cuda:1", "mps"; empty = best available
    threads: int = 0  # GANSTUDIO_THREADS: torch CPU threads for the worker; 0 = torch's default (one per core)
    # On 2 cores or fewer the default is 1: the web server needs a core, and small nets gain little from a second.
    weights_dir: Path = REPO_ROOT / "weights"  # GANSTUDIO_WEIGHTS: where bundled models live
    max_train_jobs: int = 4  # GANSTUDIO_MAX_TRAIN_JOBS: concurrent training runs sharing the device
    max_queued_train_jobs: int = 16  # GANSTUDIO_MAX_QUEUED: waiting runs before "busy" turns into a refusal
    slice_ms: float = 75.0  # GANSTUDIO_SLICE_MS: a training slice; bounds how long interactive work waits
    data_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "ganstudio")  # GANSTUDIO_DATA: datasets, runs
    max_upload_mb: int = 200  # GANSTUDIO_MAX_UPLOAD_MB: cap on an uploaded image archive
    port: int = 7860  # GANSTUDIO_PORT (or GRADIO_SERVER_PORT): where `python app.py` listens
    host: str = "127.0.0.1"  # GANSTUDIO_HOST: 0.0.0.0 on a Space (SPACE_ID set) so the proxy can reach us
    on_space: bool = False  # SPACE_ID is set by Hugging Face Spaces


def load_settings() -> Settings:
    env = os.environ
    on_space = bool(env.get("SPACE_ID"))
    return Settings(
        device=env.get("GANSTUDIO_DEVICE", "").strip(),
        threads=_int("GANSTUDIO_THREADS", 1 if (os.cpu_count() or 1) <= 2 else 0),
        weights_dir=Path(env.get("GANSTUDIO_WEIGHTS") or REPO_ROOT / "weights"),
        max_train_jobs=_int("GANSTUDIO_MAX_TRAIN_JOBS", 4),
        max_queued_train_jobs=_int("GANSTUDIO_MAX_QUEUED", 16),
        slice_ms=_float("GANSTUDIO_SLICE_MS", 75.0),
        data_dir=Path(env.get("GANSTUDIO_DATA") or Path.home() / ".cache" / "ganstudio"),
        max_upload_mb=_int("GANSTUDIO_MAX_UPLOAD_MB", 200),
        port=_int("GANSTUDIO_PORT", _int("GRADIO_SERVER_PORT", 7860)),
        host=env.get("GANSTUDIO_HOST") or ("0.0.0.0" if on_space else "127.0.0.1"),
        on_space=on_space,
    )


def hub_offline() -> bool:
    """True when the user asked huggingface_hub to stay offline."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


SETTINGS = load_settings()
