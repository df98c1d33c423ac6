"""Run the GAN Studio app for end-to-end tests: in this process, or as `python app.py` in a subprocess.

In-process (``in_process_app``): ``build_demo()`` launched with ``prevent_thread_lock=True`` on a free
loopback port; needed when a test patches this process (the loopback Hub fixture); visitors' session
folders go to a temp folder. Subprocess (``AppProcess``): exactly what a user runs, ``python app.py``
in its DEFAULT configuration — no GANSTUDIO_DATA, Gradio's own temp folder — with only
``GANSTUDIO_PORT`` / ``GANSTUDIO_HOST=127.0.0.1`` / ``HF_HUB_OFFLINE=1`` and one torch thread set, and
HOME pointed at a fresh folder under test-artifacts/ (outside the temp dir, like a real home), so the
data folder is ``~/.cache/ganstudio`` there. ``space=True`` makes it a public Space (SPACE_ID set,
OAuth configured as Hugging Face does). Both are context managers that stop the server on exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
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
SCRATCH_PARTS = {".git", "__pycache__", ".pytest_cache", "test-artifacts", ".gradio", ".ruff_cache", "runs"}


@contextlib.contextmanager
def in_process_app(data_dir: Path) -> Iterator[str]:
    """Launch the demo in this process on a free loopback port; yields its URL.

    Training runs go to ``data_dir`` (the train actions read ``SETTINGS`` when a run starts).
    """
    from ganstudio.sessions import SESSIONS
    from ganstudio.ui import build_demo, launch_kwargs

    with _patched(SESSIONS, "root", Path(data_dir) / "sessions"):
        kwargs = launch_kwargs()
        kwargs.update(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
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


SPACE_ENV = {  # what Hugging Face sets on a Space with `hf_oauth: true` (OAuth itself is never exercised here)
    "SPACE_ID": "ganstudio/test-space",
    "SYSTEM": "spaces",
    "OAUTH_CLIENT_ID": "test-client",
    "OAUTH_CLIENT_SECRET": "test-secret",
    "OAUTH_SCOPES": "openid profile contribute-repos",
    "OPENID_PROVIDER_URL": "http://127.0.0.1:9",  # never contacted: nobody logs in during the tests
}


class AppProcess:
    """`python app.py` on a free loopback port in its default configuration, its output in ``log_path``."""

    def __init__(self, name: str = "app", extra_env: dict[str, str] | None = None, space: bool = False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        ARTIFACTS.mkdir(exist_ok=True)
        self.home = Path(tempfile.mkdtemp(prefix=f"home-{name}-", dir=ARTIFACTS))  # a home outside the temp dir
        self.data_dir = self.home / ".cache" / "ganstudio"  # the default data folder, as a visitor's host has it
        self.log_path = ARTIFACTS / f"{name}-server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GANSTUDIO_", "GRADIO_TEMP_DIR", "SPACE_"))}
        self.env = dict(
            env,
            HOME=str(self.home),
            GANSTUDIO_PORT=str(self.port),
            GANSTUDIO_HOST="127.0.0.1",
            HF_HUB_OFFLINE="1",
            OMP_NUM_THREADS="1",  # a shared 2-core machine: the engine's worker gets one thread
            MKL_NUM_THREADS="1",
            GRADIO_ANALYTICS_ENABLED="False",
            **(SPACE_ENV if space else {}),
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
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> "AppProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def repo_listing(root: Path = REPO_ROOT) -> dict[str, tuple[int, int]]:
    """{relative path: (size, mtime_ns)} of every file in the checkout, caches, test output and virtualenvs (a
    folder holding pyvenv.cfg: CI's .venv-ci, a developer's .venv; tens of thousands of files) left out."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SCRATCH_PARTS and not (Path(dirpath) / d / "pyvenv.cfg").exists()]
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
