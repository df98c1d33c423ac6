"""Run the GAN Studio app for end-to-end tests: in this process, or as `python app.py` in a subprocess.

In-process (``in_process_app``): ``build_demo()`` launched with ``prevent_thread_lock=True`` on a free
loopback port; needed when a test patches this process (the loopback Hub fixture). Subprocess
(``AppProcess``): exactly what a user runs, ``python app.py`` with ``GANSTUDIO_PORT`` /
``GANSTUDIO_HOST=127.0.0.1`` / ``HF_HUB_OFFLINE=1``, one torch thread, runs and downloads in a temp folder.
Both are context managers that stop the server on exit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from ganstudio.benchmarks.app import free_port, wait_ready
from ganstudio.settings import REPO_ROOT

READY_TIMEOUT_S = 180.0  # a cold start on a loaded 2-core machine has been seen at ~20 s; leave plenty
ARTIFACTS = REPO_ROOT / "test-artifacts"  # git-ignored: screenshots, server logs, load figures
# Everything a test must never leave behind in the checkout; these are caches and test output.
SCRATCH_PARTS = {".git", "__pycache__", ".pytest_cache", "test-artifacts", ".gradio"}


@contextlib.contextmanager
def in_process_app(data_dir: Path) -> Iterator[str]:
    """Launch the demo in this process on a free loopback port; yields its URL.

    Training runs go to ``data_dir`` (the train actions read ``SETTINGS`` when a run starts).
    """
    import ganstudio.actions.train as train_actions
    from ganstudio.ui import build_demo, launch_kwargs

    kwargs = launch_kwargs()
    kwargs.update(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    with _patched(train_actions, "SETTINGS", dataclasses.replace(train_actions.SETTINGS, data_dir=Path(data_dir))):
        demo = build_demo()
        _app, url, _share = demo.launch(**kwargs)
        try:
            yield url
        finally:
            demo.close()


@contextlib.contextmanager
def _patched(module, name: str, value) -> Iterator[None]:
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


class AppProcess:
    """`python app.py` on a free loopback port, its output in ``log_path``."""

    def __init__(self, name: str = "app", extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._tmp = tempfile.TemporaryDirectory(prefix=f"ganstudio-{name}-")
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}-server.log"
        self.env = dict(
            os.environ,
            GANSTUDIO_PORT=str(self.port),
            GANSTUDIO_HOST="127.0.0.1",
            HF_HUB_OFFLINE="1",
            OMP_NUM_THREADS="1",  # a shared 2-core machine: the engine's worker gets one thread
            MKL_NUM_THREADS="1",
            GANSTUDIO_DATA=str(Path(self._tmp.name) / "data"),
            GRADIO_TEMP_DIR=str(Path(self._tmp.name) / "gradio"),
            GRADIO_ANALYTICS_ENABLED="False",
            **(extra_env or {}),
        )
        self.proc: subprocess.Popen | None = None
        self.ready_s: float | None = None

    def start(self) -> "AppProcess":
        started = time.perf_counter()
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "app.py"], cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()  # the child holds its own handle
        try:
            self.ready_s = wait_ready(self.url, self.proc, timeout=READY_TIMEOUT_S) - started
        except Exception:
            self.stop()
            raise RuntimeError(f"app.py did not start; its log:\n{self.log()[-3000:]}") from None
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float:
        """Resident memory of the server process (Linux /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc status")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._tmp.cleanup()

    def __enter__(self) -> "AppProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def repo_listing(root: Path = REPO_ROOT) -> dict[str, tuple[int, int]]:
    """{relative path: (size, mtime_ns)} of every file in the checkout, caches and test output left out."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SCRATCH_PARTS]
        for name in filenames:
            path = Path(dirpath) / name
            if path.suffix == ".pyc":
                continue
            with contextlib.suppress(FileNotFoundError):
                st = path.stat()
                out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def listing_changes(before: dict, after: dict, ignore_prefixes: tuple[str, ...] = ()) -> list[str]:
    """Paths added, removed or rewritten between two listings (except under ``ignore_prefixes``)."""
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return sorted(p for p in changed if not p.startswith(ignore_prefixes))
