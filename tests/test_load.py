"""Several people at once: concurrent gradio_client sessions against `python app.py` on loopback.

Four sessions for ~15 s, each training its own 2D GAN (a different data set each) while sampling, moving a
slider, generating a few tokens and polling. Checked: no request fails, latency stays bounded (generous:
a shared 2-core CPU), every session sees its own run (its data set's mode count, its own step counter),
session 0's Stop leaves the others running, and the server's memory returns near where it started.
The figures are printed (pytest -s) and written to test-artifacts/load.json; `python -m ganstudio bench
load` reports the same numbers.
"""

from __future__ import annotations

import json
import time

import pytest

from app_server import ARTIFACTS, AppProcess

pytest.importorskip("gradio_client")
pytestmark = pytest.mark.slow  # a `python app.py` under ~15 s of load

from ganstudio.benchmarks.load import LoadConfig, run_load, sharing, summarise  # noqa: E402

CONFIG = LoadConfig(sessions=4, seconds=15.0, stop_first_after_s=5.0)
LATENCY_P95_BOUND_S = 20.0  # per request kind; healthy runs here are ~0.1-3 s, so this only catches hangs
MEMORY_GROWTH_BOUND_MB = 400.0  # after the sessions end, over the warmed-up baseline
MODES = {"ring8": 8, "grid25": 25}  # what the Train tab's metrics line reports for these data sets


@pytest.fixture(scope="module")
def load_run():
    """Warm the server up (the first visitor loads the models), then run the load; report and memory."""
    with AppProcess("load") as app:
        run_load(app.url, LoadConfig(sessions=1, seconds=1.0, stop_first_after_s=0.0))
        baseline = app.rss_mb()
        peak = baseline
        reports = None
        import threading

        done = threading.Event()
        samples: list[float] = []

        def watch():
            while not done.wait(0.25):
                samples.append(app.rss_mb())

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        from gradio_client import Client

        stats = Client(app.url, verbose=False)
        stats_before = stats.predict(api_name="/engine_stats")
        try:
            reports = run_load(app.url, CONFIG)
        finally:
            done.set()
            watcher.join()
        stats_after = stats.predict(api_name="/engine_stats")
        peak = max([baseline, *samples])
        after = _settled_rss(app, baseline)
        figures = summarise(reports)
        figures.update(rss_mb_baseline=round(baseline), rss_mb_peak=round(peak), rss_mb_after=round(after),
                       seconds=CONFIG.seconds, **sharing(stats_before, stats_after))
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "load.json").write_text(json.dumps(figures, indent=2))
        print("\nload figures:", json.dumps(figures, indent=2))
        yield reports, figures


def _settled_rss(app: AppProcess, baseline: float, timeout_s: float = 15.0) -> float:
    """Server RSS once it is back within the bound, or the last reading after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        rss = app.rss_mb()
        if rss <= baseline + MEMORY_GROWTH_BOUND_MB or time.monotonic() > deadline:
            return rss
        time.sleep(0.5)


def test_no_request_fails(load_run):
    reports, figures = load_run
    assert not figures["errors"], figures["errors"][:5]
    for kind in ("sample", "explore", "generate", "train_poll", "train_start", "train_stop"):
        assert figures["latency"][kind]["n"] >= CONFIG.sessions, f"too few {kind} requests: {figures['latency']}"
    assert all(n >= 2 for r in reports for n in r.partial_outputs), "a generation did not stream"


def test_concurrent_generations_decode_together(load_run):
    """The sessions' generations overlap, and the engine runs overlapping ones as one batch per step."""
    _, figures = load_run
    assert figures["generations_per_decode_step"] > 1.0, figures


def test_latency_is_bounded(load_run):
    _, figures = load_run
    slow = {k: v for k, v in figures["latency"].items() if v["p95_s"] > LATENCY_P95_BOUND_S}
    assert not slow, f"p95 latency over {LATENCY_P95_BOUND_S} s: {slow}"


def test_each_session_sees_its_own_run(load_run):
    reports, _ = load_run
    for report in reports:
        running = [p.step for p in report.polls if p.state == "running"]
        moving = 1 if report.index == 0 else 2  # session 0 stops early: it may be polled running only once
        assert len(set(running)) >= moving and running == sorted(running), f"{report.data}: steps {running}"
        modes = {p.total_modes for p in report.polls if p.total_modes is not None}
        if report.data in MODES:
            assert modes == {MODES[report.data]}, f"{report.data} session shows another data set: {modes}"
        else:
            assert not modes, f"{report.data} has no modes, yet its session showed {modes}"


def test_one_session_stopping_leaves_the_others_running(load_run):
    reports, _ = load_run
    first = reports[0]
    assert first.stopped_at_s is not None, "session 0 never stopped"
    after = [p for p in first.polls if p.at_s > first.stopped_at_s]
    assert after and all(p.state in ("stopped", "done") for p in after), [(p.state, p.step) for p in after]
    assert len({p.step for p in after}) == 1, "session 0's run kept training after Stop"
    for other in reports[1:]:
        later = [p.step for p in other.polls if p.at_s > first.stopped_at_s and p.state == "running"]
        assert len(set(later)) >= 2, f"{other.data} stopped training when session 0 pressed Stop: {later}"


def test_memory_returns_near_baseline(load_run):
    _, figures = load_run
    growth = figures["rss_mb_after"] - figures["rss_mb_baseline"]
    assert growth <= MEMORY_GROWTH_BOUND_MB, f"server memory grew {growth} MB: {figures}"
