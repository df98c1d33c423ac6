"""App start to ready: seconds from `python app.py` until the page answers on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

from ganstudio.errors import StudioError
from ganstudio.settings import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> float:
    """Poll `url` until it answers 200; returns when it did. Fails if the process dies first."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise StudioError(f"app.py exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.05)
    raise StudioError(f"app.py was not ready within {timeout:.0f} s")


def run(args) -> dict:
    runs = 3
    times = []
    for _ in range(runs):
        port = free_port()
        env = dict(os.environ, GANSTUDIO_PORT=str(port), GANSTUDIO_HOST="127.0.0.1", HF_HUB_OFFLINE="1")
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            times.append(wait_ready(f"http://127.0.0.1:{port}/", proc, timeout=120) - started)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    times.sort()
    return {"app_ready_s_median": round(times[len(times) // 2], 2), "app_ready_s_min": round(times[0], 2), "runs": runs}
