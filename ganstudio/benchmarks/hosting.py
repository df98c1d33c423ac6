"""`python -m ganstudio bench hosting`: the app as a public Space under hostile visitors, in figures.

Starts `python app.py` as a Space would run it (SPACE_ID set, default data folder under a fresh home,
short run limits so they show within the benchmark) and, while a bystander keeps sampling a grid:

1. hostile requests: absurd model sizes, a week-long run, twenty scripted starts from one address,
   then starts from forged addresses, and megabyte-long values in number fields;
2. a newcomer who keeps pressing Start until a slot frees;
3. ``--cycles`` (default 100) train / stop / save cycles of one visitor, then that visitor goes quiet;
4. a script inventing a new session hash for each of 2,000 calls (Gradio keeps a page state per hash);
5. 10 MB uploads from one address until they are refused (Gradio keeps anyone's uploads ~20 min).

Reported: the server's peak resident memory (VmHWM) against its idle baseline, the bystander's waits
(p50 / p95 / max), how long the newcomer was locked out, the disk the visitor's session held after
its cycles, what was left once its session ended, what Gradio's own download cache still holds
(copies it makes of served files, removed by ``delete_cache`` after 15 minutes), the page states and
memory growth the invented sessions left, and how much one address could upload.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ganstudio.benchmarks.app import free_port, wait_ready
from ganstudio.errors import StudioError
from ganstudio.settings import REPO_ROOT

IDLE_S = 6  # run limits of the Space under test
SESSION_IDLE_S = 20
RING8 = ["ring8", None, "mlp", "ns", 40, 0, 64, 2, 1e-3, 1e-3, 1, 0.999, False, [], False, 0, 1, 0.0, 0.0, "gan", 0.5, 0.999]
WEEK = ["ring8", None, "mlp", "ns", 0, 7 * 24 * 3600, 256, 2, 1e-3, 1e-3, 1, 0.999, False, [], False, 0, 1, 0.0, 0.0, "gan", 0.5, 0.999]
MADE_UP_SESSIONS = 2000  # twice the page states a Space keeps (GANSTUDIO_PAGE_STATES)
UPLOAD_MB = 10  # one scripted upload


def call(url: str, endpoint: str, args: list, address: str, timeout: float = 180,
         session_hash: str | None = None) -> tuple[str, str]:
    """A raw API call from ``address`` (X-Forwarded-For, as behind the Space's proxy), in no session or a made-up one."""
    headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
    body = json.dumps({"data": args, **({"session_hash": session_hash} if session_hash else {})}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{url}gradio_api/call/{endpoint}", data=body,
                                                       headers=headers), timeout=timeout) as response:
        event = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(urllib.request.Request(f"{url}gradio_api/call/{endpoint}/{event}", headers=headers),
                                timeout=timeout) as response:
        stream = response.read().decode()
    return ("error", stream.split("event: error", 1)[1][:300]) if "event: error" in stream else ("ok", stream)


def _upload(url: str, mb: int, address: str) -> str:
    """POST ``mb`` MB to Gradio's upload route as the page does (multipart); "" if taken, else the refusal."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n")
    body = head.encode() + os.urandom(mb * 2**20) + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{url}gradio_api/upload", data=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Forwarded-For": address})
    try:
        with urllib.request.urlopen(request, timeout=120):
            return ""
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code}: {err.read().decode()[:200]}"


def _status(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    raise StudioError(f"no {field} for process {pid}")


def _folder_mb(folder: Path) -> float:
    if not folder.is_dir():
        return 0.0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(args) -> dict:
    try:
        from gradio_client import Client
    except ImportError:
        raise StudioError("bench hosting needs gradio_client (pip install -r requirements-dev.txt)") from None
    cycles = int(getattr(args, "cycles", None) or 100)
    (REPO_ROOT / "runs").mkdir(exist_ok=True)  # git-ignored; a home outside the temp dir, like a real host's
    home = Path(tempfile.mkdtemp(prefix="bench-home-", dir=REPO_ROOT / "runs"))
    gradio_tmp = Path(tempfile.mkdtemp(prefix="bench-gradio-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANSTUDIO_")}
    env.update(HOME=str(home), GANSTUDIO_PORT=str(port), GANSTUDIO_HOST="127.0.0.1", HF_HUB_OFFLINE="1",
               GRADIO_TEMP_DIR=str(gradio_tmp), SPACE_ID="bench/hosting", SYSTEM="spaces",
               OAUTH_CLIENT_ID="bench", OAUTH_CLIENT_SECRET="bench", OAUTH_SCOPES="openid profile contribute-repos",
               OPENID_PROVIDER_URL="http://127.0.0.1:9", GANSTUDIO_IDLE_RUN_S=str(IDLE_S),
               GANSTUDIO_PAUSED_RUN_S=str(IDLE_S), GANSTUDIO_MAX_RUN_S="60", GANSTUDIO_SESSION_IDLE_S=str(SESSION_IDLE_S))
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    data_dir = home / ".cache" / "ganstudio"
    try:
        wait_ready(url, proc, timeout=180)
        call(url, "sample", ["digits-dcgan", 0, 4, 1.0, -1], "10.9.9.9")  # the bystander's model, loaded once
        baseline = _status(proc.pid, "VmRSS:")
        waits: list[float] = []
        stop = threading.Event()

        def bystander() -> None:
            while not stop.is_set():
                start = time.perf_counter()
                call(url, "sample", ["digits-dcgan", int(start) % 1000, 16, 1.0, -1], "10.9.9.9")
                waits.append(time.perf_counter() - start)
                stop.wait(0.5)

        watcher = threading.Thread(target=bystander, daemon=True)
        watcher.start()
        for arch in ("sagan", "transformer", "dcgan"):  # absurd sizes
            call(url, "train_start", ["digits", None, arch, "hinge", 0, 30, 8192, 64, 1e-3, 1e-3, 1, 0.999, True, [],
                                      False, 0, 1], "10.0.0.66")
        call(url, "train_start", WEEK, "10.0.0.66")
        scripted = [call(url, "train_start", [*RING8[:4], 0, 30, *RING8[6:]], "10.0.0.66") for _ in range(20)]
        forged = [call(url, "train_start", [*RING8[:4], 0, 30, *RING8[6:]], f"10.1.0.{i}") for i in range(6)]
        for _ in range(10):
            call(url, "sample", ["digits-dcgan", "9" * 1_000_000, 4, 1.0, -1], "10.0.0.67")
        newcomer = Client(url, verbose=False, headers={"X-Forwarded-For": "10.5.5.5"})
        locked_from = time.monotonic()
        while True:
            try:
                newcomer.predict(*RING8, api_name="/train_start")
                break
            except Exception as err:  # "busy": try again, as a person would
                if "busy" not in str(err) or time.monotonic() - locked_from > 300:
                    raise
                time.sleep(0.5)
        lockout = time.monotonic() - locked_from

        visitor = Client(url, verbose=False, headers={"X-Forwarded-For": "10.8.8.8"})
        for _ in range(cycles):
            visitor.predict(*RING8, api_name="/train_start")
            while not visitor.predict(api_name="/train_poll")[0].startswith("done"):
                time.sleep(0.1)
            visitor.predict(api_name="/train_save")
        held = _folder_mb(data_dir / "sessions")
        gradio_cache_after_cycles = _folder_mb(gradio_tmp)
        before_made_up = _status(proc.pid, "VmRSS:")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: call(url, "train_poll", [], "10.0.0.68", session_hash=uuid.uuid4().hex[:12]),
                          range(MADE_UP_SESSIONS)))
        made_up_growth = _status(proc.pid, "VmRSS:") - before_made_up
        stats = call(url, "engine_stats", [], "10.9.9.9")[1].rsplit("data:", 1)[1]
        uploaded_mb, upload_refusal = 0, ""
        while not upload_refusal and uploaded_mb < 10_000:
            upload_refusal = _upload(url, UPLOAD_MB, "10.0.0.69")
            uploaded_mb += 0 if upload_refusal else UPLOAD_MB
        deadline = time.monotonic() + SESSION_IDLE_S + 120
        while _folder_mb(data_dir / "sessions") > 0 and time.monotonic() < deadline:
            time.sleep(2)  # the bystander's requests keep the app (and its session sweep) going
        stop.set()
        watcher.join(timeout=60)
        figures = {
            "rss_mb_baseline": round(baseline),
            "rss_mb_peak": round(_status(proc.pid, "VmHWM:")),
            "bystander_waits": len(waits),
            "bystander_wait_p50_s": round(_percentile(waits, 0.5), 3),
            "bystander_wait_p95_s": round(_percentile(waits, 0.95), 3),
            "bystander_wait_max_s": round(max(waits), 3),
            "scripted_starts_accepted": sum(1 for s, _ in scripted if s == "ok"),
            "forged_starts_accepted": sum(1 for s, _ in forged if s == "ok"),
            "newcomer_locked_out_s": round(lockout, 1),
            "save_stop_cycles": cycles,
            "session_disk_mb_after_cycles": round(held, 2),
            "session_disk_mb_after_session_ended": round(_folder_mb(data_dir / "sessions"), 2),
            "data_dir_mb_after": round(_folder_mb(data_dir), 2),
            "gradio_cache_mb_after_cycles": round(gradio_cache_after_cycles, 2),
            "made_up_sessions": MADE_UP_SESSIONS,
            "page_states_after_made_up_sessions": json.loads(stats)[0]["page_states"],
            "rss_mb_growth_made_up_sessions": round(made_up_growth),
            "upload_mb_accepted_from_one_address": uploaded_mb,
            "upload_refusal": upload_refusal,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(gradio_tmp, ignore_errors=True)
    return figures
