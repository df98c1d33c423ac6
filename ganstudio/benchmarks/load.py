"""`python -m ganstudio bench load`: several people using `python app.py` at once.

N concurrent sessions (one `Visitor` each: a browser tab's HTTP calls and file downloads) on loopback,
for a bounded time. Each session trains its own 2D GAN (a different toy data set per session) and, while it
trains, keeps sampling a grid, moving a latent slider, generating a few tokens and polling its run.
Session 0 stops its run early, so its neighbours show that one session's Stop is its own.

Reported: request latency per kind (p50 / p95 / max, seconds, client side), request and error counts,
and the server's resident memory before, at its peak, and after every session is done.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ganstudio.benchmarks.visitor import Visitor
from ganstudio.errors import StudioError

TOY_DATA = ("ring8", "grid25", "spiral", "moons")  # one per session, so each run is recognisably its own
GENERATOR = "digits-dcgan"
TEXT_MODEL = "shakespeare-gpt"
PROMPT = "ROMEO.\n"
SETTLE_S = 60.0  # after the load, how long memory may take to come back within 10 % of its start


@dataclass
class LoadConfig:
    sessions: int = 4  # concurrent sessions; the engine trains at most 4 runs side by side by default
    seconds: float = 25.0  # how long the sessions keep sending requests
    stop_first_after_s: float = 8.0  # session 0 stops its training run this far in
    train_seconds: float = 60.0  # each run's own time budget: longer than the test, so runs end by Stop
    grid: int = 4  # samples per Explore grid
    new_tokens: int = 30  # tokens per generation (the 30-token generation)


@dataclass
class Poll:
    at_s: float  # since the load started
    state: str  # first word of the status line: running, queued, cancelled, done...
    step: int
    total_modes: int | None  # from "Modes captured: a/b" (mode-based toy sets only)


@dataclass
class SessionReport:
    index: int
    data: str
    latencies: dict[str, list[float]] = field(default_factory=dict)  # kind -> seconds per request
    errors: list[str] = field(default_factory=list)
    polls: list[Poll] = field(default_factory=list)
    stopped_at_s: float | None = None
    partial_outputs: list[int] = field(default_factory=list)  # streamed updates per generation


def _status(outputs, started: float) -> Poll:
    text = str(outputs[0])
    step = re.search(r"step (\d+)", text)
    modes = re.search(r"Modes captured:\*\* \d+/(\d+)", str(outputs[2]))
    return Poll(time.monotonic() - started, text.split(" ", 1)[0].strip(":"), int(step.group(1)) if step else -1,
                int(modes.group(1)) if modes else None)


def _train_inputs(data: str, seconds: float) -> tuple:
    # the Train tab's inputs: data, upload, arch, loss, steps, seconds, batch, z, lr G, lr D, D steps, EMA, SN,
    # DiffAugment, conditional, seed, packing, R1, gradient clipping, model family, Adam β1, Adam β2
    return (data, None, "mlp", "ns", 0, seconds, 256, 2, 1e-3, 1e-3, 1, 0.999, False, [], False, 0, 1, 0.0, 0.0, "gan", 0.5, 0.999)


def _session(url: str, index: int, cfg: LoadConfig, started: float, go: threading.Barrier) -> SessionReport:
    report = SessionReport(index, TOY_DATA[index % len(TOY_DATA)])
    rng = random.Random(index)

    def timed(kind: str, call: Callable):
        begin = time.perf_counter()
        try:
            return call()
        except Exception as err:  # noqa: BLE001 - every failure is a finding, reported, never raised
            report.errors.append(f"{kind}: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}")
            return None
        finally:
            report.latencies.setdefault(kind, []).append(time.perf_counter() - begin)

    def generate():
        begin = time.perf_counter()
        updates = 0
        first_token = None  # seconds until the first update with a token: what the visitor waits to see move

        def update(outputs: list) -> None:
            nonlocal updates, first_token
            updates += 1
            if first_token is None and outputs[0].get("tokens"):
                first_token = time.perf_counter() - begin
                report.latencies.setdefault("first_token", []).append(first_token)

        final = client.call("generate", TEXT_MODEL, PROMPT, cfg.new_tokens, 0.8, 40, 1.0, 1.0, rng.randrange(1000), "full speed",
                            on_update=update)
        report.partial_outputs.append(updates)
        if not final[0].get("text"):
            raise StudioError(f"generation did not grow the prompt: {str(final[0])[:200]!r}")
        return final

    def poll() -> None:
        outputs = timed("train_poll", lambda: client.call("train_poll"))
        if outputs is not None:
            report.polls.append(_status(outputs, started))

    client = Visitor(url)
    try:
        go.wait(timeout=120)
        begin = time.monotonic()
        timed("train_start", lambda: client.call("train_start", *_train_inputs(report.data, cfg.train_seconds)))
        stopped = False
        while True:  # one round at least: a warm-up loads every model a round uses, as a first visitor would
            seed = rng.randrange(10_000)
            timed("sample", lambda: client.call("sample", GENERATOR, seed, cfg.grid, 1.0, -1))
            poll()
            alpha = round(rng.uniform(-3, 3), 1)
            timed("explore", lambda: client.call("explore", GENERATOR, seed, cfg.grid, 1.0, -1, "sefa", alpha,
                                                 0, 0, 0, 0, 0))
            poll()
            timed("generate", generate)
            poll()
            if index == 0 and not stopped and time.monotonic() - begin >= cfg.stop_first_after_s:
                timed("train_stop", lambda: client.call("train_stop"))
                stopped, report.stopped_at_s = True, time.monotonic() - started
            if time.monotonic() - begin >= cfg.seconds:
                break
        poll()
        if not stopped:
            timed("train_stop", lambda: client.call("train_stop"))
    finally:
        client.close()
    return report


def run_load(url: str, cfg: LoadConfig | None = None) -> list[SessionReport]:
    """Drive `cfg.sessions` concurrent sessions against the app at `url`; one report per session."""
    cfg = cfg or LoadConfig()
    go = threading.Barrier(cfg.sessions)
    reports: list[SessionReport | None] = [None] * cfg.sessions
    started = time.monotonic()

    def work(i: int) -> None:
        reports[i] = _session(url, i, cfg, started, go)

    threads = [threading.Thread(target=work, args=(i,), name=f"load-session-{i}") for i in range(cfg.sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    missing = [i for i, r in enumerate(reports) if r is None]
    if missing:
        raise StudioError(f"load sessions {missing} crashed before reporting")
    return reports  # type: ignore[return-value]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarise(reports: list[SessionReport]) -> dict:
    """Latency figures per request kind (seconds) and totals, all sessions together."""
    kinds: dict[str, list[float]] = {}
    for report in reports:
        for kind, values in report.latencies.items():
            kinds.setdefault(kind, []).extend(values)
    latency = {
        kind: {"n": len(v), "p50_s": round(percentile(v, 50), 3), "p95_s": round(percentile(v, 95), 3),
               "max_s": round(max(v), 3)}
        for kind, v in sorted(kinds.items())
    }
    return {
        "sessions": len(reports),
        "requests": sum(len(v) for v in kinds.values()),
        "errors": [e for r in reports for e in r.errors],
        "latency": latency,
        "train_steps_per_session": {r.data: max((p.step for p in r.polls), default=-1) for r in reports},
    }


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise StudioError(f"no resident memory figure for process {pid}")


def cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) a process has used: the server's by pid, or this process's own."""
    if pid is None:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args) -> dict:
    import subprocess
    import sys
    import tempfile

    from ganstudio.benchmarks.app import free_port, wait_ready
    from ganstudio.settings import REPO_ROOT

    cfg = LoadConfig(seconds=float(args.seconds) if getattr(args, "seconds", None) else LoadConfig.seconds,
                     sessions=int(getattr(args, "sessions", None) or LoadConfig.sessions))
    port = free_port()
    (REPO_ROOT / "runs").mkdir(exist_ok=True)  # git-ignored; the app's home lies outside the temp dir, as a host's
    with tempfile.TemporaryDirectory(prefix="bench-load-", dir=REPO_ROOT / "runs") as tmp:
        env = dict(os.environ, GANSTUDIO_PORT=str(port), GANSTUDIO_HOST="127.0.0.1", HF_HUB_OFFLINE="1", HOME=tmp)
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_ready(url, proc, timeout=180)
            warm = LoadConfig(sessions=1, seconds=1.0, stop_first_after_s=0.0)
            run_load(url, warm)  # loads the models once, as the first visitor would
            before = rss_mb(proc.pid)
            peak = [before]
            done = threading.Event()

            def watch() -> None:
                while not done.wait(0.25):
                    peak.append(rss_mb(proc.pid))

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            stats_client = Visitor(url)
            stats_before = stats_client.call("engine_stats")[0]
            cpu_before, harness_before, load_began = cpu_s(proc.pid), cpu_s(), time.monotonic()
            reports = run_load(url, cfg)
            load_s = time.monotonic() - load_began
            cpu = {"server_cpu_cores": round((cpu_s(proc.pid) - cpu_before) / load_s, 2),
                   "harness_cpu_cores": round((cpu_s() - harness_before) / load_s, 2)}
            stats_after = stats_client.call("engine_stats")[0]
            stats_client.close()
            done.set()
            watcher.join()
            left = time.monotonic()  # the visitors have left: how long until memory is back within 10 %?
            after = rss_mb(proc.pid)
            while after > 1.1 * before and time.monotonic() - left < SETTLE_S:
                time.sleep(0.5)
                after = rss_mb(proc.pid)
            settle_s = time.monotonic() - left
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    figures = summarise(reports)
    flat = {f"{kind}_{q}_s": v[f"{q}_s"] for kind, v in figures["latency"].items() for q in ("p50", "p95", "max")}
    return {"sessions": cfg.sessions, "seconds": cfg.seconds, "requests": figures["requests"],
            "errors": len(figures["errors"]), **flat, "rss_mb_before": round(before), "rss_mb_peak": round(max(peak)),
            "rss_mb_after": round(after), "rss_settle_s": round(settle_s, 1), **cpu, **sharing(stats_before, stats_after)}


def sharing(before: dict, after: dict) -> dict:
    """How many requests shared each forward pass during the load (the engine's own counters)."""
    def ratio(num: str, den: str) -> float:
        d = after[den] - before[den]
        return round((after[num] - before[num]) / d, 2) if d else 0.0

    return {"sample_calls_per_forward": ratio("calls", "batches"),
            "generations_per_decode_step": ratio("decode_rows", "decode_forwards")}
