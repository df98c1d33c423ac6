"""Safe to host publicly: the app as a Hugging Face Space, tried by hostile visitors.

One `python app.py` in its default configuration (no GANSTUDIO_DATA; HOME outside the temp dir) with
SPACE_ID set and OAuth configured the way a Space has it, and short limits so their effects show within
seconds. Visitors are raw HTTP calls (no browser session, one new session per call, as a script would
make) and gradio_client sessions; their address is the X-Forwarded-For header, as behind the Space's
proxy. Every refusal must be one clear line, the app must keep serving a bystander throughout, no server
path may reach a visitor, and nothing a session wrote may outlive it.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from app_server import AppProcess
from waiting import HANG_S, wait_until

from ganstudio.benchmarks.visitor import Visitor

gradio_client = pytest.importorskip("gradio_client")
pytestmark = pytest.mark.slow  # a `python app.py` of its own, and limits that take seconds to show
from gradio_client.exceptions import AppError  # noqa: E402

IDLE_S = 6  # GANSTUDIO_IDLE_RUN_S and GANSTUDIO_PAUSED_RUN_S for this app
SESSION_IDLE_S = 20  # GANSTUDIO_SESSION_IDLE_S: silent sessions end (and their files go) after this
LIMITS_ENV = {
    "GANSTUDIO_IDLE_RUN_S": str(IDLE_S),
    "GANSTUDIO_PAUSED_RUN_S": str(IDLE_S),
    "GANSTUDIO_MAX_RUN_S": "60",
    "GANSTUDIO_MAX_TRAIN_JOBS": "2",
    "GANSTUDIO_MAX_QUEUED": "2",
    "GANSTUDIO_SESSION_IDLE_S": str(SESSION_IDLE_S),
    "GANSTUDIO_SESSION_DISK_MB": "40",
    "GANSTUDIO_PAGE_STATES": str(PAGE_STATES := 100),
    "GANSTUDIO_UPLOAD_MB_PER_CLIENT": "3",
}
# the Train tab's train_start inputs: data, upload, arch, loss, steps, seconds, batch, z, lr G, lr D, D steps, EMA,
# spectral norm, DiffAugment, conditional, seed, packing, R1 γ, gradient clipping
RING8 = ["ring8", None, "mlp", "ns", 0, 30, 256, 2, 1e-3, 1e-3, 1, 0.999, False, [], False, 0, 1, 0.0, 0.0, "gan", 0.5, 0.999]


@pytest.fixture(scope="module")
def app():
    with AppProcess("hosting", extra_env=LIMITS_ENV, space=True) as server:
        yield server


def call(url: str, endpoint: str, args: list, address: str = "10.0.0.66", timeout: float = 120,
         session_hash: str | None = None) -> tuple[str, str]:
    """A raw API call (no session unless a made-up ``session_hash``), from ``address``: ("ok", data) or ("error",
    the one-line message)."""
    body = json.dumps({"data": args, **({"session_hash": session_hash} if session_hash else {})}, allow_nan=True).encode()
    headers = {"Content-Type": "application/json", "X-Forwarded-For": address}
    request = urllib.request.Request(f"{url}gradio_api/call/{endpoint}", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        event_id = json.loads(response.read())["event_id"]
    stream_request = urllib.request.Request(f"{url}gradio_api/call/{endpoint}/{event_id}", headers=headers)
    with urllib.request.urlopen(stream_request, timeout=timeout) as response:
        stream = response.read().decode()
    if "event: error" in stream:
        payload = stream.split("event: error", 1)[1].split("data:", 1)[1].strip().splitlines()[0]
        return "error", (json.loads(payload) or {}).get("error") or "Error"
    return "ok", stream.rsplit("data:", 1)[1].strip()


def client(app, address: str) -> "gradio_client.Client":
    return gradio_client.Client(app.url, verbose=False, headers={"X-Forwarded-For": address})


def bystander_sample(app) -> float:
    """Seconds a well-behaved visitor waits for a grid while the others do their worst (it must get one)."""
    start = time.perf_counter()
    status, message = call(app.url, "sample", ["digits-dcgan", 0, 4, 1.0, -1], address="10.9.9.9")
    assert status == "ok", message
    return time.perf_counter() - start


def log_after_start(app) -> str:
    log = app.log()
    return log.split("Running on local URL", 1)[-1]


# ---- what the web may name ----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint, args, index", [
    ("sample", ["/etc", 0, 4, 1.0, -1], 0),
    ("sample", ["../../etc", 0, 4, 1.0, -1], 0),
    ("interpolate", ["~", 0, 1, 4, "slerp", 1.0, -1], 0),
    ("generate", ["/proc/self", "Hi", 3, 0.8, 40, 1.0, 1.0, 0, "full speed"], 0),
    ("attention", ["/etc", "The king", 0, False], 0),
    ("gan_attention", ["/tmp", 0, -1, 10, 10, -1, -1, False], 0),
])
def test_server_folders_cannot_be_named_from_the_web(app, endpoint, args, index):
    status, message = call(app.url, endpoint, args)
    assert status == "error" and "server folders cannot be opened here" in message, message
    assert not re.search(r"(/etc|/proc|/tmp|/root|/home|~)", message.replace("owner/name", "")), message
    assert str(app.home) not in message


def test_training_data_cannot_be_a_server_folder(app):
    status, message = call(app.url, "train_start", ["/etc", *RING8[1:]])
    assert status == "error" and re.search(r"list of choices|unknown data set", message), message


# ---- admission before allocation ----------------------------------------------------------------------


@pytest.mark.parametrize("arch, batch", [("sagan", 8192), ("transformer", 8192), ("dcgan", 8192)])
def test_huge_runs_are_refused_before_anything_is_allocated(app, arch, batch):
    before = app.rss_mb()
    args = ["digits", None, arch, "hinge", 0, 30, batch, 64, 1e-3, 1e-3, 1, 0.999, True, [], False, 0, 1, 0.0, 0.0, "gan", None,
            None]  # no betas: the digits preset's
    status, message = call(app.url, "train_start", args)
    assert status == "error" and "MB of memory" in message and "batch size" in message, message
    assert app.rss_mb() - before < 200, "a refused run still allocated memory"


# ---- fair share: the queue, idle and paused runs, per-address limits ---------------------------------


def test_raw_api_calls_cannot_lock_out_a_new_visitor(app):
    """Twenty scripted starts (each a new session, a week long, from one address), then forged addresses."""
    week = [*RING8[:5], 7 * 24 * 3600, *RING8[6:]]
    answers = [call(app.url, "train_start", week) for _ in range(3)]
    assert all(s == "error" and "seconds must be at most 60" in m for s, m in answers), answers

    results = [call(app.url, "train_start", RING8, address="10.0.0.66") for _ in range(20)]
    accepted = [m for s, m in results if s == "ok"]
    refused = [m for s, m in results if s == "error"]
    assert len(accepted) == 2, results  # GANSTUDIO_RUNS_PER_CLIENT on a Space: 2 per address
    assert all("your address already has 2 training runs" in m for m in refused), refused[:3]

    forged = [call(app.url, "train_start", RING8, address=f"10.1.0.{i}") for i in range(6)]
    busy = [m for s, m in forged if s == "error"]
    assert busy and all("busy" in m for m in busy), forged  # 2 running + 2 queued, then busy

    # served while the scripted runs hold the device; how long it waited is speed (`python -m ganstudio bench hosting`)
    print(f"bystander's grid after {bystander_sample(app):.1f} s")

    # Nobody polls the scripted runs: they end after IDLE_S and the newcomer gets a slot (Start pressed each second).
    newcomer = client(app, "10.5.5.5")
    start = time.monotonic()

    def press_start() -> bool:
        try:
            newcomer.predict(*RING8, api_name="/train_start")
            return True
        except AppError as err:
            assert "busy" in str(err), str(err)
            return False

    wait_until(press_start, "a new visitor stayed locked out", timeout_s=4 * IDLE_S + HANG_S, every_s=1)
    print(f"newcomer locked out for {time.monotonic() - start:.1f} s (idle limit {IDLE_S} s)")
    newcomer.predict(api_name="/train_stop")


def test_a_paused_run_ends_and_frees_its_slot(app):
    visitor = client(app, "10.7.7.7")
    visitor.predict(*RING8, api_name="/train_start")
    wait_until(lambda: visitor.predict(api_name="/train_poll")[0].startswith("running"),  # it may queue first
               "the run to start", every_s=0.5)
    visitor.predict(api_name="/train_pause")
    # polling keeps it from being idle: only the pause ends it
    wait_until(lambda: visitor.predict(api_name="/train_poll")[0].startswith("ended: paused"),
               "a paused run stayed", timeout_s=4 * IDLE_S + HANG_S, every_s=1)


# ---- pushing: the visitor's identity, never the Space's ----------------------------------------------


def test_push_on_a_space_needs_the_visitors_own_login(app):
    status, message = call(app.url, "train_push", ["someone-else/their-model", False])
    assert status == "error" and "sign in with Hugging Face" in message, message


# ---- messages and logs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint, args, expected", [
    ("sample", ["digits-dcgan", "9" * 1_000_000, 4, 1.0, -1], r"seed"),
    ("generate", ["shakespeare-gpt", "Hi", 3, 1e-45, 40, 1.0, 1.0, 0, "full speed"], r"temperature"),
    ("generate", ["shakespeare-gpt", "Hi", 3, 0.8, 40, 1.0, 1.0, 1e30, "full speed"], r"seed"),
    ("generate", [12345, "Hi", 3, 0.8, 40, 1.0, 1.0, 0, "full speed"], r"model"),
    ("sample", [12345, 0, 4, 1.0, -1], r"generator"),
    ("train_start", ["ring8", None, "mlp", "ns", 0, 10, 256, 2, 1e-3, 1e-3, 1, 0.999, "maybe", [], False, 0, 1, 0.0, 0.0, "gan", 0.5, 0.999],
     r"spectral norm must be true or false"),
    ("train_start", ["ring8", None, "mlp", "ns", 0, 10, -5, 2, 1e-3, 1e-3, 1, 0.999, False, [], False, 0, 1, 0.0, 0.0, "gan", 0.5, 0.999],
     r"batch size"),
    # file data that is not a file uploaded here (Gradio refused it before any handler, with no message at all)
    *[("train_start", ["upload", bad, *RING8[2:]], r"^Zip of images.*: expected a file uploaded to this app")
      for bad in ("just a string", 42, "/etc/passwd", "https://example.com/images.zip", [1, 2],
                  {"url": "https://example.com/images.zip", "meta": {"_type": "gradio.FileData"}})],
    ("train_start", ["upload", {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, *RING8[2:]],
     r"^Zip of images.*: that file was not uploaded to this app"),
    ("generate", ["shakespeare-gpt", "Hi \ud800", 3, 0.8, 40, 1.0, 1.0, 0, "full speed"], r"^prompt holds '\\ud800'.*not text"),
    ("attention", ["shakespeare-gpt", "\udfff", 0, False], r"not text"),
    ("sample", ["digits-dcgan", True, 4, 1.0, -1], r"^Seed: must be a number, got True"),  # JSON true is not 1
    ("generate", ["shakespeare-gpt", "Hi", True, 0.8, 40, 1.0, 1.0, 0, "full speed"], r"must be a number, got True"),
    ("train_start", RING8[:17], r"^this call takes 22 values, got 17"),  # Gradio logged a traceback
])
def test_bad_input_is_one_short_line(app, endpoint, args, expected):
    status, message = call(app.url, endpoint, args)
    assert status == "error", message
    assert re.search(expected, message, re.IGNORECASE) and "\n" not in message and len(message) < 300, message
    for internal in ("Traceback", "object has no attribute", "TextInputSequence", "probability tensor", "Overflow"):
        assert internal not in message


def test_the_log_has_no_tracebacks_and_no_long_echoes(app):
    call(app.url, "sample", ["digits-dcgan", "7" * 1_000_000, 4, 1.0, -1])
    log = log_after_start(app)
    assert "Traceback" not in log, log[log.find("Traceback") - 200:][:2000]
    long_lines = [line for line in log.splitlines() if len(line) > 400]
    assert not long_lines, f"{len(long_lines)} lines longer than 400 characters, e.g. {long_lines[0][:200]}…"


# ---- disk ----------------------------------------------------------------------------------------------


def _session_folders(app) -> set[Path]:
    root = app.data_dir / "sessions"
    return set(root.iterdir()) if root.is_dir() else set()


def test_saved_runs_and_downloads_go_when_the_session_does(app):
    visitor = client(app, "10.8.8.8")
    before = _session_folders(app)  # other visitors' (earlier tests'): they go in their own time
    for _ in range(5):
        visitor.predict("ring8", None, "mlp", "ns", 30, 0, 64, 2, 1e-3, 1e-3, 1, 0.999, False, [], False, 0, 1,
                        0.0, 0.0, "gan", 0.5, 0.999, api_name="/train_start")
        wait_until(lambda: visitor.predict(api_name="/train_poll")[0].startswith("done"), "the run to finish",
                   every_s=0.3)
        saved = visitor.predict(api_name="/train_save")
        assert Path(saved).suffix == ".zip"
    mine = _session_folders(app) - before
    assert any(p.is_file() for folder in mine for p in folder.rglob("*")), "the visitor's runs were not kept"

    # The visitor goes quiet: the session ends and its folder (runs, zips) is removed.
    def gone() -> bool:
        call(app.url, "sample", ["digits-dcgan", 0, 1, 1.0, -1], address="10.9.9.9")  # others keep the app busy
        return not any(folder.exists() for folder in mine)

    wait_until(gone, "a silent session's files were never removed", timeout_s=SESSION_IDLE_S + HANG_S, every_s=2)
    leftovers = [p for p in app.data_dir.rglob("*") if p.name.startswith((".tmp-", ".old-"))]
    assert not leftovers, leftovers


def test_page_states_stay_bounded_and_leave_with_their_visitor(app):
    """Gradio keeps a copy of the page for every session hash it sees (~0.3 MB each here). A script inventing
    hashes must not grow that past GANSTUDIO_PAGE_STATES, and a visitor who leaves takes theirs along."""

    def page_states(visitor: Visitor) -> int:
        return visitor.call("engine_stats")[0]["page_states"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: call(app.url, "train_poll", [], session_hash=uuid.uuid4().hex[:12]),
                                range(PAGE_STATES + 20)))
    assert all(status == "ok" for status, _ in answers)
    observer = Visitor(app.url)
    assert page_states(observer) == PAGE_STATES  # full, and no further: the least recently used went first
    leaving = Visitor(app.url)
    leaving.call("train_poll")
    assert page_states(observer) == PAGE_STATES
    leaving.close()
    # Counts stay exact meanwhile: silent sessions are swept only from a visitor's event (here only the one above,
    # before any made-up session was 20 s silent), and the earlier tests' sessions lost their page states already.
    # Gradio notices a closed heartbeat at its next beat (15 s)
    wait_until(lambda: page_states(observer) == PAGE_STATES - 1, "a visitor who left kept their page state",
               every_s=1)
    observer.close()


def test_uploads_are_admitted_by_size_and_address(app):
    """Gradio's upload route takes files from anyone: one address's share (3 MB here) is all it gets."""

    def upload(address: str, nbytes: int) -> httpx.Response:
        return httpx.post(f"{app.url}gradio_api/upload", files={"files": ("data.bin", bytes(nbytes))},
                          headers={"X-Forwarded-For": address}, timeout=60)

    assert upload("10.0.7.1", 2 * 2**20).status_code == 200
    refused = upload("10.0.7.1", 2 * 2**20)
    assert refused.status_code == 429
    assert refused.text == "this address uploaded 2 MB in the last 20 minutes (at most 3 MB): try again later"
    assert upload("10.0.7.2", 2 * 2**20).status_code == 200
