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


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    return raw in {"1", "true", "yes", "on"} if raw else default


@dataclass(frozen=True)
class Settings:
    device: str = ""  # GANSTUDIO_DEVICE: force "cpu", "cuda", "cuda:1", "mps"; empty = best available
    threads: int = 0  # GANSTUDIO_THREADS: torch CPU threads for the worker; 0 = torch's default (one per core)
    # On 2 cores or fewer the default is 1: the web server needs a core, and small nets gain little from a second.
    weights_dir: Path = REPO_ROOT / "weights"  # GANSTUDIO_WEIGHTS: where bundled models live
    max_train_jobs: int = 4  # GANSTUDIO_MAX_TRAIN_JOBS: concurrent training runs sharing the device
    max_queued_train_jobs: int = 16  # GANSTUDIO_MAX_QUEUED: waiting runs before "busy" turns into a refusal
    slice_ms: float = 75.0  # GANSTUDIO_SLICE_MS: a training slice; bounds how long interactive work waits
    data_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "ganstudio")  # GANSTUDIO_DATA: datasets, sessions
    max_upload_mb: int = 200  # GANSTUDIO_MAX_UPLOAD_MB: cap on an uploaded image archive
    port: int = 7860  # GANSTUDIO_PORT (or GRADIO_SERVER_PORT): where `python app.py` listens
    host: str = "127.0.0.1"  # GANSTUDIO_HOST: 0.0.0.0 on a Space (SPACE_ID set) so the proxy can reach us
    on_space: bool = False  # SPACE_ID is set by Hugging Face Spaces
    # ---- hosting: what one visitor may cost the others (defaults sized for a 16 GB CPU Space) ----
    allow_paths: bool = True  # GANSTUDIO_ALLOW_PATHS: the web may name server folders; default off on a Space
    max_model_mb: int = 2048  # GANSTUDIO_MAX_MODEL_MB: estimated peak memory of one model build or training run
    max_run_s: float = 0.0  # GANSTUDIO_MAX_RUN_S: wall-clock cap of a visitor's run; 0 = none (600 on a Space)
    idle_run_s: float = 120.0  # GANSTUDIO_IDLE_RUN_S: a visitor's run nobody polled for this long ends
    paused_run_s: float = 600.0  # GANSTUDIO_PAUSED_RUN_S: a visitor's run paused this long ends
    runs_per_client: int = 0  # GANSTUDIO_RUNS_PER_CLIENT: live runs per client address; 0 = no cap (2 on a Space)
    streams_per_client: int = 0  # GANSTUDIO_STREAMS_PER_CLIENT: generations at once per address; 0 = no cap (2 on a Space)
    session_disk_mb: int = 300  # GANSTUDIO_SESSION_DISK_MB: a visitor's saved runs, exports and uploads together
    session_idle_s: float = 3600.0  # GANSTUDIO_SESSION_IDLE_S: a session silent this long is ended and its files go
    download_timeout_s: float = 300.0  # GANSTUDIO_DOWNLOAD_TIMEOUT_S: one model's whole Hub download, at most
    # A Hub that accepts the connection and then sends nothing would hold a visitor until that whole deadline:
    # huggingface_hub retries its own read timeouts (HF_HUB_DOWNLOAD_TIMEOUT, 10 s) for a minute and more; this one
    # replaces them for model downloads and is never retried.
    hub_read_timeout_s: float = 15.0  # GANSTUDIO_HUB_READ_TIMEOUT_S: silence mid-request that ends a download
    client_header: str = ""  # GANSTUDIO_CLIENT_HEADER: header naming the visitor's address behind a proxy
    # Gradio keeps a copy of the page's state per session (~0.3 MB for ours) until this many exist, dropping the least
    # recently used; its own default, 10,000, lets a script of new sessions hold ~3 GB. Ended sessions drop theirs at once.
    page_states: int = 1000  # GANSTUDIO_PAGE_STATES
    disk_reserve_mb: int = 1024  # GANSTUDIO_DISK_RESERVE_MB: uploads and saves are refused rather than leave less disk free
    # Gradio's upload endpoint takes files from anyone and keeps them ~20 min: one address's share of that.
    upload_mb_per_client: int = 0  # GANSTUDIO_UPLOAD_MB_PER_CLIENT: 0 = no cap (1000 on a Space)


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
        allow_paths=_flag("GANSTUDIO_ALLOW_PATHS", not on_space),
        max_model_mb=_int("GANSTUDIO_MAX_MODEL_MB", 2048),
        max_run_s=_float("GANSTUDIO_MAX_RUN_S", 600.0 if on_space else 0.0),
        idle_run_s=_float("GANSTUDIO_IDLE_RUN_S", 120.0),
        paused_run_s=_float("GANSTUDIO_PAUSED_RUN_S", 600.0),
        runs_per_client=_int("GANSTUDIO_RUNS_PER_CLIENT", 2 if on_space else 0),
        streams_per_client=_int("GANSTUDIO_STREAMS_PER_CLIENT", 2 if on_space else 0),
        session_disk_mb=_int("GANSTUDIO_SESSION_DISK_MB", 300),
        session_idle_s=_float("GANSTUDIO_SESSION_IDLE_S", 3600.0),
        download_timeout_s=_float("GANSTUDIO_DOWNLOAD_TIMEOUT_S", 300.0),
        hub_read_timeout_s=_float("GANSTUDIO_HUB_READ_TIMEOUT_S", 15.0),
        client_header=env.get("GANSTUDIO_CLIENT_HEADER", "x-forwarded-for" if on_space else "").strip().lower(),
        page_states=_int("GANSTUDIO_PAGE_STATES", 1000),
        disk_reserve_mb=_int("GANSTUDIO_DISK_RESERVE_MB", 1024),
        upload_mb_per_client=_int("GANSTUDIO_UPLOAD_MB_PER_CLIENT", 1000 if on_space else 0),
    )


def hub_offline() -> bool:
    """True when the user asked huggingface_hub to stay offline."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


SETTINGS = load_settings()
