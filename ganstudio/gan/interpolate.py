"""Latent paths between two points, and the animations made from them.

Gaussian latents live near a sphere of radius ~sqrt(z_dim); a straight line between two of them
dips towards the origin, where samples look washed out. Spherical interpolation (slerp) follows
the great circle instead. Both paths hit their endpoints exactly, so the first and last frames
are the two seeds' own samples. A generator that reads its class off z (argmax of z's first values) would jump
between classes on the way, through whichever class wins the middle of the path (seed 0 -> 1 of the bundled
digits-dcgan: a 9, ten frames of 0, then a 3); :func:`class_blend` gives it the two ends' classes blended instead.

Encoding: animated GIF with Pillow (always available); MP4 only when an ffmpeg executable can be
found (imageio-ffmpeg's bundled one, or ``ffmpeg`` on PATH) — GAN Studio adds no dependency for it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ganstudio.errors import BadInput

MODES = ("slerp", "lerp")


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Straight line: (1-t)·a + t·b."""
    return (1.0 - t) * a + t * b


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Great-circle interpolation between two vectors (norms interpolated along the way).

    Falls back to lerp when a and b are (anti)parallel, where the great circle is undefined.
    """
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    cos = np.dot(a64, b64) / max(np.linalg.norm(a64) * np.linalg.norm(b64), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lerp(a64, b64, t).astype(np.asarray(a).dtype)
    out = (np.sin((1.0 - t) * omega) * a64 + np.sin(t * omega) * b64) / np.sin(omega)
    return out.astype(np.asarray(a).dtype)


def latent_path(a: np.ndarray, b: np.ndarray, steps: int, mode: str = "slerp") -> np.ndarray:
    """``steps`` points from a to b inclusive: (steps, z_dim). Endpoints are a and b exactly."""
    if mode not in MODES:
        raise BadInput(f"unknown interpolation mode {mode!r}: choose slerp or lerp")
    if steps < 2:
        raise BadInput(f"an interpolation needs at least 2 steps, got {steps}")
    step = slerp if mode == "slerp" else lerp
    path = np.stack([step(a, b, t) for t in np.linspace(0.0, 1.0, steps)]).astype(np.float32)
    path[0], path[-1] = a, b  # exact, whatever the rounding on the way
    return path


def class_blend(class_a: int, class_b: int, steps: int, n_classes: int) -> np.ndarray:
    """(steps, n_classes) float32 weights from class a to class b, linear in t: a generator that reads its class
    off z (argmax of its first values) would switch class in one jump on the way, through whatever class wins the
    middle; given these weights it blends the two classes' embeddings and the digit morphs."""
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]  # (steps, 1)
    eye = np.eye(n_classes, dtype=np.float32)
    return ((1.0 - t) * eye[int(class_a)] + t * eye[int(class_b)]).astype(np.float32)


def strip(frames: Sequence[Image.Image], gap: int = 2, background: int = 255) -> Image.Image:
    """Frames side by side, left to right, with a thin gap."""
    width = sum(f.width for f in frames) + gap * (len(frames) - 1)
    height = max(f.height for f in frames)
    out = Image.new("RGB", (width, height), (background,) * 3)
    x = 0
    for frame in frames:
        out.paste(frame.convert("RGB"), (x, 0))
        x += frame.width + gap
    return out


def encode_gif(frames: Sequence[Image.Image], path: str | Path, fps: float = 10.0, bounce: bool = True) -> Path:
    """Animated, looping GIF. ``bounce`` plays the path forth then back so the loop has no jump."""
    seq = list(frames) + (list(frames[-2:0:-1]) if bounce else [])
    seq = [f.convert("RGB") for f in seq]
    path = Path(path)
    seq[0].save(path, save_all=True, append_images=seq[1:], duration=int(round(1000 / fps)), loop=0, optimize=False)
    return path


def ffmpeg_executable() -> str | None:
    """An ffmpeg binary if one is installed (imageio-ffmpeg's or the system's), else None."""
    try:
        import imageio_ffmpeg  # optional; never a dependency

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # not installed, or its binary is missing
        return shutil.which("ffmpeg")


def encode_mp4(frames: Sequence[Image.Image], path: str | Path, fps: float = 10.0, bounce: bool = True) -> Path | None:
    """H.264 MP4 via an ffmpeg executable; None when there is none (the GIF is always made)."""
    exe = ffmpeg_executable()
    if exe is None:
        return None
    seq = list(frames) + (list(frames[-2:0:-1]) if bounce else [])
    # yuv420p wants even sides; pad with white rather than resample the frames.
    w, h = seq[0].size
    ew, eh = w + w % 2, h + h % 2
    raw = b"".join(_padded(f, ew, eh).tobytes() for f in seq)
    path = Path(path)
    cmd = [
        exe, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{ew}x{eh}",
        "-r", f"{fps:g}", "-i", "-", "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
        str(path),
    ]  # fmt: skip
    try:
        subprocess.run(cmd, input=raw, check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None  # an ffmpeg without libx264, say: the GIF still stands
    return path


def _padded(frame: Image.Image, width: int, height: int) -> Image.Image:
    if frame.size == (width, height):
        return frame.convert("RGB")
    out = Image.new("RGB", (width, height), (255, 255, 255))
    out.paste(frame.convert("RGB"), (0, 0))
    return out
