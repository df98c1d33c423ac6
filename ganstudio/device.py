"""The compute device: which one to use, what its errors mean to a person, handing memory back, and how many
CPU threads a block of model work uses (``cpu_threads``).

The engine's worker is the only code that runs models on it; the CLIs use `pick_device` alone.
"""

from __future__ import annotations

import contextlib
import gc

import torch

from ganstudio.errors import StudioError


def pick_device(requested: str = "") -> torch.device:
    """CUDA, else MPS, else CPU; an explicit request (GANSTUDIO_DEVICE) wins."""
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_error(err: BaseException) -> str:
    """One line a person can act on."""
    if isinstance(err, StudioError):
        return str(err)
    if isinstance(err, torch.cuda.OutOfMemoryError):
        return "out of GPU memory — try a smaller batch size or model"
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}"[:300] if text else type(err).__name__


def _malloc_trim():
    """glibc's malloc_trim, or None where there is none (macOS, musl, Windows)."""
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def free_memory(device: torch.device) -> None:
    """Hand freed memory back: Python's cycles, glibc's free lists (Linux), CUDA's cache."""
    gc.collect()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
    if device.type == "cuda":
        torch.cuda.empty_cache()


@contextlib.contextmanager
def cpu_threads(n: int | None):
    """Run a block with `n` intra-op CPU threads (None: leave torch's setting alone)."""
    old = torch.get_num_threads()
    if n is None or n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
