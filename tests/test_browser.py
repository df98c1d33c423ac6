"""The app in a real browser: Debian's Chromium, headless, driven by Playwright against `python app.py`.

One server and one browser for the module; each test opens the app in a fresh page (its own Gradio session, so
no test sees another's settings, runs or tab) and does what a person would: press Start and watch the picture and
the curves move, drag a latent slider, watch tokens stream in, hover a heatmap. Assertions wait for what the page
shows (Playwright's expect and wait_for_function); nothing sleeps a fixed time, and no assertion counts on the
machine's speed (frame rates are printed, not asserted). On failure a screenshot lands in test-artifacts/.

Locally the module is skipped when /usr/bin/chromium (or playwright) is missing; with
GANSTUDIO_REQUIRE_BROWSER=1 (CI) that is a failure instead.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from pathlib import Path

import pytest

from app_server import ARTIFACTS, AppProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
REQUIRED = os.environ.get("GANSTUDIO_REQUIRE_BROWSER", "").strip() == "1"
SLOW_MS = 90_000  # the first model load / training step on a loaded 2-core machine
UI_MS = 30_000  # an ordinary UI update

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"GANSTUDIO_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


if not CHROMIUM.exists():
    _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
try:
    from playwright.sync_api import Page, expect, sync_playwright
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:
    _unavailable("playwright is not installed")


# ---- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app():
    with AppProcess("browser") as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(app, browser):
    """A fresh page of the app (a new Gradio session) for each test; closing it ends the session and its runs."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UI_MS)
    page.goto(app.url)
    expect(page.get_by_role("tab", name="Train")).to_be_visible()
    yield page
    context.close()


def screenshot_on_failure(test):
    """Save the page as test-artifacts/<test>.png when the test fails."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        except BaseException:
            page = kwargs.get("page")
            if page is not None:
                ARTIFACTS.mkdir(exist_ok=True)
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{test.__name__}.png"), full_page=True)
                except Exception:  # the page may be gone; the original failure matters more
                    pass
            raise

    return run


# ---- helpers -----------------------------------------------------------------------------------------


def block(page: Page, label: str):
    """A component's box, found by its visible label (Gradio renders no stable id without elem_id)."""
    return page.locator("div.block").filter(has=page.locator("[data-testid=block-label]", has_text=label))


def wait_for_change(page: Page, read_js: str, before, what: str, timeout_ms: float = UI_MS) -> None:
    """Wait until the page's ``read_js`` (a function of no arguments) gives something other than ``before``."""
    try:
        page.wait_for_function(f"before => {{ const now = ({read_js})(); return now != null && now !== before; }}",
                               arg=before, polling=100, timeout=timeout_ms)
    except PlaywrightTimeout:
        pytest.fail(f"the {what} did not change within {timeout_ms / 1000:.0f} s", pytrace=False)


def read_until_changed(read, before, what: str, timeout_s: float = UI_MS / 1000):
    """Re-read ``read()`` (a Python function of the page) until it gives something other than ``before``; return it."""
    deadline = time.monotonic() + timeout_s
    while (now := read()) is None or now == before:
        assert time.monotonic() < deadline, f"the {what} did not change within {timeout_s:.0f} s"
        time.sleep(0.1)
    return now


def status_step(page: Page) -> int:
    """The step number in the Train tab's status line, -1 before one shows."""
    text = page.locator("[data-testid=markdown]").filter(has_text=re.compile(r"· step \d+")).first
    if not text.count():
        return -1
    found = re.search(r"step (\d+)", text.inner_text())
    return int(found.group(1)) if found else -1


# ---- the five tabs ---------------------------------------------------------------------------------


def choose_data(page: Page, option, arch: str | None = None) -> None:
    """Pick a data set in the Train tab's Data menu (``option``: its label, or a pattern of it); with ``arch``, wait
    until the form shows the architecture the data set's preset brings (its settings have arrived)."""
    page.get_by_label("Data").click()
    page.get_by_role("option", name=option).click()
    if arch is not None:
        expect(page.get_by_label("Architecture")).to_have_value(arch, timeout=UI_MS)


LIVE_PIXELS_JS = "() => document.querySelector('#train-live canvas.gs-live').toDataURL()"
FRAMES_JS = "() => Number(document.querySelector('#train-live canvas.gs-live').dataset.frames || 0)"


def frames_drawn(page: Page) -> int:
    return page.evaluate(FRAMES_JS)


def watch_frames(page: Page, frames: int, what: str) -> None:
    """Wait until the live view has drawn ``frames`` more frames (each a new one from the run); print the rate seen
    (speed, not behaviour: never asserted)."""
    first, start = frames_drawn(page), time.monotonic()
    page.wait_for_function(f"n => ({FRAMES_JS})() >= n", arg=first + frames, polling=100, timeout=SLOW_MS)
    print(f"{what}: {(frames_drawn(page) - first) / (time.monotonic() - start):.1f} frames/s")


def live_snapshot(page: Page) -> str:
    """The live view's pixels, as the page drew them (a data URL of the canvas)."""
    return page.evaluate(LIVE_PIXELS_JS)


@screenshot_on_failure
def test_train_a_2d_gan_watch_it_move_stop_save_and_open_it_in_explore(page, app):
    """Start -> the view changes many times a second -> Stop -> Save gives a zip -> Open in Explore shows it."""
    page.get_by_role("tab", name="Train").click()
    expect(page.locator(".gs-live-title")).to_have_text(re.compile("Real data"))  # the data before Start
    before_start = live_snapshot(page)
    start = page.locator("#train-start")
    start.click()
    expect(page.get_by_text(re.compile(r"running · step \d+"))).to_be_visible(timeout=SLOW_MS)
    expect(start).to_be_disabled()  # no second Start while this one trains
    watch_frames(page, 10, "2D live view")  # it keeps moving (>= 10 frames/s on an idle 2-core machine)
    assert live_snapshot(page) != before_start
    canvas = page.locator("#train-live canvas.gs-live")
    box = canvas.bounding_box()
    assert box and box["width"] >= 480, box
    canvas.hover(position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})
    expect(page.locator(".gs-live-tip")).to_have_text(re.compile(r"D\(x\) = \d\.\d\d"))
    expect(page.locator(".gs-live-legend")).to_contain_text("modes captured")

    page.locator("#train-stop").click()
    expect(page.locator("#train-status")).to_contain_text("stopped")
    expect(page.locator("#train-status")).to_contain_text("saved as")
    page.locator("#train-save").click()
    link = page.locator("#train-download a").first
    expect(link).to_be_visible(timeout=SLOW_MS)
    expect(link).to_have_attribute("download", re.compile(r"gan-mlp-ring8.*\.zip"))
    assert "InvalidPath" not in app.log()
    page.locator("#train-explore").click()
    expect(page.get_by_role("tab", name="Explore", selected=True)).to_be_visible()
    expect(page.locator("#explore-model input")).to_have_value(re.compile(r"run \d+ · ring8 · mlp"))
    expect(page.locator("#explore-grid img")).to_have_attribute("src", re.compile(r"\S"), timeout=SLOW_MS)


@screenshot_on_failure
def test_manual_steps_move_the_drawn_generator(page):
    page.get_by_role("tab", name="Train").click()
    start = page.locator("#train-start")
    start.click()
    expect(page.get_by_text(re.compile(r"running · step \d+"))).to_be_visible(timeout=SLOW_MS)
    page.locator("#train-pause").click()
    expect(page.locator("#train-status")).to_contain_text("paused")
    expect(page.locator(".gs-live-drawn")).to_contain_text("G itself")  # the paused run's last frame is drawn
    step_g = page.locator("#train-step-g")
    expect(step_g).to_be_enabled()
    before = live_snapshot(page)
    step_g.click()
    wait_for_change(page, LIVE_PIXELS_JS, before, "drawn generator after Step G")
    metrics_js = "() => document.querySelector('#train-metrics').innerText"
    updates_before = page.evaluate(metrics_js)
    page.locator("#train-step-d").click()
    wait_for_change(page, metrics_js, updates_before, "D update counter after Step D")
    page.locator("#train-stop").click()
    expect(start).to_be_enabled()


@screenshot_on_failure
def test_an_image_run_shows_its_samples_enlarged_and_moving(page):
    """Digits: the sample grid updates while it trains, each pixel drawn at least 2 x 2 on the page."""
    page.get_by_role("tab", name="Train").click()
    choose_data(page, re.compile("Handwritten digits"), arch="DCGAN")
    start = page.locator("#train-start")
    expect(start).to_be_enabled()
    start.click()
    canvas = page.locator("#train-live canvas.gs-live")
    expect(canvas).to_have_attribute("data-zoom", re.compile(r"\d"), timeout=SLOW_MS)
    expect(page.get_by_text(re.compile(r"running · step \d+"))).to_be_visible(timeout=SLOW_MS)
    watch_frames(page, 3, "image live view")  # the grid keeps moving (>= 2 frames/s on an idle 2-core machine)
    zoom = int(canvas.get_attribute("data-zoom"))
    shown = canvas.bounding_box()["width"] / canvas.evaluate("c => c.width") * zoom
    assert shown >= 2, f"each generated pixel is shown {shown:.2f} x its size"
    page.locator("#train-stop").click()
    expect(start).to_be_enabled()
    choose_data(page, re.compile("8 Gaussians"))
    expect(page.locator(".gs-live-title")).to_have_text(re.compile("Real data"))


BLANK = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return false;
  return true; }"""


@screenshot_on_failure
def test_choosing_an_upload_clears_the_last_data_sets_picture(page):
    """Before a zip is chosen there is nothing to show: the view is blank, not ring8's points under an image title."""
    page.get_by_role("tab", name="Train").click()
    choose_data(page, re.compile("8 Gaussians"))
    canvas = page.locator("#train-live canvas.gs-live")
    expect(page.locator(".gs-live-title")).to_have_text(re.compile("Real data"))
    assert not canvas.evaluate(BLANK)
    choose_data(page, "Upload a zip of images")
    expect(page.locator(".gs-live-title")).to_have_text(re.compile("Press Start"))
    assert canvas.evaluate(BLANK), "the view still shows the previous data set"
    expect(page.locator(".gs-live-legend")).to_have_text("")
    choose_data(page, re.compile("8 Gaussians"))
    expect(page.locator(".gs-live-title")).to_have_text(re.compile("Real data"))


@screenshot_on_failure
def test_the_mode_collapse_lesson_states_its_figures_when_each_half_ends(page):
    """① collapses (few modes) and says so with its figures; ② ends with more modes, said beside ①'s."""
    page.get_by_role("tab", name="Train").click()
    choose_data(page, re.compile("8 Gaussians"))
    result = page.locator("#lesson-result")
    page.locator("#lesson-collapse").click()
    expect(result).to_contain_text("① Collapse: training…", timeout=UI_MS)
    expect(result).to_contain_text(re.compile(r"① Collapse: \d+/25 modes captured · [\d.]+ % high quality"),
                                   timeout=SLOW_MS)
    expect(result).to_contain_text("Modes captured: how many of the 25 Gaussians")
    page.locator("#lesson-fix").click()
    expect(result).to_contain_text(re.compile(r"② Fix: \d+/25 modes captured"), timeout=SLOW_MS)
    expect(result).to_contain_text("The fix found +")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#train-live").screenshot(path=str(ARTIFACTS / "lesson-mode-collapse-view.png"))
    result.screenshot(path=str(ARTIFACTS / "lesson-mode-collapse.png"))
    expect(page.locator("#train-start")).to_be_enabled()


def g_gradient(page: Page) -> float | None:
    """‖∇G‖ as the Train tab's numbers show it now (None before G's first step)."""
    found = re.search(r"‖∇G‖ ([0-9.e+-]+)", page.locator("#train-metrics").inner_text())
    return float(found.group(1)) if found else None


@screenshot_on_failure
def test_the_saturating_loss_lesson_stalls_g_until_the_switch(page):
    """① D's head start then log(1 − D(G(z))): ‖∇G‖ near zero; ② the switch, mid-run: ‖∇G‖ rises."""
    page.get_by_role("tab", name="Train").click()
    choose_data(page, re.compile("8 Gaussians"))
    page.locator("#lesson-saturate").click()
    head_start = 500
    deadline = time.monotonic() + SLOW_MS / 1000
    while status_step(page) < head_start + 200:  # G has trained a while under the saturating loss
        assert time.monotonic() < deadline, "the lesson's run did not get past D's head start"
        time.sleep(0.2)
    stalled = read_until_changed(lambda: g_gradient(page), None, what="‖∇G‖")
    assert stalled < 1e-2, f"‖∇G‖ {stalled} under the saturating loss"
    switched_at = status_step(page)
    page.locator("#lesson-switch").click()
    result = page.locator("#lesson-result")
    expect(result).to_contain_text(re.compile(r"① Saturating loss .*‖∇G‖ \d"))
    expect(result).to_contain_text("② Non-saturating loss −log D(G(z)): training…")
    deadline = time.monotonic() + UI_MS / 1000
    while (g_gradient(page) or 0) < 100 * stalled:
        assert time.monotonic() < deadline, f"‖∇G‖ stayed at {g_gradient(page)} after the switch"
        time.sleep(0.2)
    assert status_step(page) > switched_at, "the run restarted instead of switching its loss"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#train-live").screenshot(path=str(ARTIFACTS / "lesson-saturating-view.png"))
    page.locator("#train-metrics").screenshot(path=str(ARTIFACTS / "lesson-saturating-metrics.png"))
    expect(page.locator("#lesson-plot img")).to_be_visible()
    page.locator("#lessons").first.screenshot(path=str(ARTIFACTS / "lesson-saturating.png"))
    page.locator("#train-stop").click()
    expect(page.locator("#train-start")).to_be_enabled()


@screenshot_on_failure
def test_on_a_phone_the_view_is_right_under_start(browser, app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    phone = context.new_page()
    try:
        phone.goto(app.url)
        start = phone.locator("#train-start")
        view = phone.locator("#train-live canvas.gs-live")
        expect(view).to_be_visible(timeout=UI_MS)
        start_box, view_box = start.bounding_box(), view.bounding_box()
        gap = view_box["y"] - (start_box["y"] + start_box["height"])
        assert 0 <= gap < 400, f"the view is {gap:.0f} px below Start"
        phone.screenshot(path=str(ARTIFACTS / "train-phone.png"))
    finally:
        context.close()


@screenshot_on_failure
def test_explore_slider_changes_the_grid(page):
    page.get_by_role("tab", name="Explore").click()
    grid = page.locator("#explore-grid img")
    expect(grid).to_have_attribute("src", re.compile(r"\S"), timeout=SLOW_MS)
    slider = page.get_by_label(re.compile(r"^range slider for SeFa 1"))
    expect(slider).to_be_visible(timeout=SLOW_MS)  # labels switch from "direction 1" once SeFa is computed
    before = grid.get_attribute("src")
    slider.focus()
    for _ in range(15):  # arrow keys are how a keyboard user moves it; each press is an input event
        page.keyboard.press("ArrowRight")
    expect(page.get_by_label(re.compile(r"^number input for SeFa 1"))).to_have_value("1.5")
    expect(grid).not_to_have_attribute("src", before, timeout=UI_MS)


@screenshot_on_failure
def test_text_streams_in_token_by_token_and_stops(page):
    page.get_by_role("tab", name="Text", exact=True).click()
    tokens = page.get_by_label("number input for Max new tokens")
    tokens.fill("1000")
    tokens.press("Enter")
    # Record the number of tokens shown every time it changes, to see them arrive a few at a time.
    page.evaluate("""() => {
        window.__counts = [];
        setInterval(() => {
            const box = document.querySelector('#text-stream .gs-tokens');
            const n = box ? Number(box.dataset.count || 0) : 0, seen = window.__counts;
            if (!seen.length || seen[seen.length - 1][1] !== n) seen.push([performance.now(), n]);
        }, 10);
    }""")
    page.locator("#text-generate").click()
    box = page.locator("#text-stream .gs-tokens")
    # Stop once a hundred tokens are on the page: the bundled model makes ~300/s alone, so most of the 1,000 are
    # still to come even when a busy machine delays the page.
    page.wait_for_function("() => Number(document.querySelector('#text-stream .gs-tokens')?.dataset.count || 0) >= 100",
                           timeout=SLOW_MS)
    page.evaluate("""() => document.querySelector('#text-stop').addEventListener(
        'click', () => { window.__stopAt = performance.now(); }, {capture: true})""")
    page.locator("#text-stop").click()
    expect(box).to_have_attribute("data-done", "1", timeout=UI_MS)
    expect(page.locator("#text-stream .gs-stats")).to_contain_text("stopped")
    counts, clicked = page.evaluate("window.__counts"), page.evaluate("window.__stopAt")
    shown = [n for _, n in counts if n > 0]
    # arriving in pieces, the text only growing (how many pieces depends on the machine's speed)
    assert len(shown) >= 2 and shown == sorted(shown), shown[:20]
    late = [t - clicked for t, n in counts if t > clicked]
    print(f"{len(shown)} updates; last tokens shown {max(late, default=0):.0f} ms after the Stop click")
    assert shown[-1] < 1000  # Stop ended it early
    page.locator("#text-stream .gs-tok").nth(2).click()  # a token's top-5 table
    expect(page.locator("#text-stream .gs-top5 table")).to_be_visible()
    page.get_by_text("Plain text").click()  # prompt and continuation, to copy
    prompt, plain = page.get_by_label("Prompt").input_value(), page.locator("#text-plain textarea")
    expect(plain).to_have_value(re.compile("^" + re.escape(prompt) + r"(.|\n){50}"))  # 100+ tokens: 50+ characters


@screenshot_on_failure
def test_attention_explorer_labels_scale_and_click_through(page):
    page.get_by_role("tab", name="Attention").click()
    page.get_by_label("number input for Tokens to generate first").fill("5")
    page.get_by_label("number input for Tokens to generate first").press("Enter")
    page.locator("#attention-show").click()
    heatmap = page.locator("#attention-explorer .gs-ax-map")
    expect(heatmap).to_have_attribute("data-n", re.compile(r"^\d+$"), timeout=SLOW_MS)
    expect(page.locator("#attention-explorer .gs-ax-title")).to_contain_text(re.compile(r"layer \d+, head \d+"))
    expect(page.locator("#attention-explorer .gs-ax-title")).to_contain_text("generated")  # prompt + continuation
    expect(page.locator("#attention-explorer .gs-ax-scale .hi")).to_have_text(re.compile(r"^\d\.\d{3}$"))
    box = heatmap.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 200
    heatmap.hover(position={"x": box["width"] - 12, "y": box["height"] - 12})  # the last token, looking back
    expect(page.locator("#attention-explorer .gs-ax-tip")).to_have_text(re.compile(r"^\d+ .+ → \d+ .+: \d\.\d{3}$"))
    overview = page.locator("#attention-explorer .gs-ax-over")
    geometry = json.loads(overview.get_attribute("data-geometry"))
    ratio = overview.bounding_box()["width"] / float(overview.evaluate("c => c.width"))
    x = (geometry["left"] + 2 * (geometry["side"] + geometry["gap"]) + geometry["side"] / 2) * ratio
    y = (geometry["top"] + 1 * (geometry["side"] + geometry["gap"]) + geometry["side"] / 2) * ratio
    overview.click(position={"x": x, "y": y})  # layer 1, head 2
    expect(page.locator("#attention-explorer .gs-ax-title")).to_contain_text("layer 1, head 2")
    heatmap.click(position={"x": box["width"] - 12, "y": box["height"] - 12})
    steps = page.locator("#attention-explorer .gs-ax-steps")
    expect(steps).to_contain_text("softmax(q·kᵀ / √dₖ + mask)")
    expect(steps).to_contain_text("the model's own prediction for the next token")
    page.screenshot(path=str(ARTIFACTS / "attention-explorer.png"), full_page=True)



def textgan_g_lines(page: Page) -> list[str]:
    """G's lines in the Text GAN table (its first column), as shown now."""
    return page.locator("#textgan-lines tr td:nth-child(1)").all_inner_texts()


def textgan_step(page: Page) -> int:
    return int(page.locator("#textgan-lines .gs-tg-lines").get_attribute("data-step") or 0)


@screenshot_on_failure
def test_text_gan_lesson_streams_lines_and_shows_the_gradient_of_each_estimator(page):
    """argmax: lines stream in with D's scores, ‖∇G‖ = 0 and G's lines never change; Gumbel-softmax: ‖∇G‖ > 0 and
    the lines move; REINFORCE starts and streams too. Each estimator is a visible choice; the charts are labelled."""
    page.get_by_role("tab", name="Text GAN").click()
    estimator = page.locator("#textgan-estimator")
    for name in ("argmax", "Gumbel-softmax", "REINFORCE"):
        expect(estimator.get_by_text(re.compile("^" + name))).to_be_visible()
    expect(page.get_by_label("number input for Gumbel-softmax temperature τ")).to_be_visible()
    start, stop, figures = page.locator("#textgan-start"), page.locator("#textgan-stop"), page.locator("#textgan-figures")

    tau = page.get_by_label("number input for Gumbel-softmax temperature τ")
    estimator.get_by_text(re.compile("^argmax")).click()
    expect(tau).to_be_disabled()  # τ is Gumbel-softmax's alone
    start.click()
    expect(page.locator("#textgan-lines .gs-tg-lines")).to_have_attribute("data-step", re.compile(r"^[1-9]"),
                                                                         timeout=SLOW_MS)
    expect(figures).to_contain_text("‖∇G‖ = 0 (largest so far 0)")
    expect(figures).to_contain_text("unchanged since the start, to the bit")
    step, lines = textgan_step(page), textgan_g_lines(page)
    assert len(lines) == 4 and all(len(line) == 24 for line in lines), lines
    expect(page.locator("#textgan-lines td.num").first).to_have_text(re.compile(r"^\d\.\d\d$"))  # D's P(real)
    read_until_changed(lambda: textgan_step(page), step, what="update number")
    assert textgan_g_lines(page) == lines, "argmax moved G"
    charts = page.locator("#textgan-charts svg")
    expect(charts.first).to_contain_text("‖∇G‖ (L2 norm)")
    expect(charts.nth(1)).to_contain_text("accuracy (%)")
    expect(charts.first).to_contain_text("update")
    stop.click()
    expect(start).to_be_enabled()

    estimator.get_by_text(re.compile("^Gumbel-softmax")).click()
    expect(tau).to_be_enabled()
    start.click()
    expect(figures).to_contain_text(re.compile(r"‖∇G‖ = (?!0 )\d"), timeout=SLOW_MS)
    expect(figures).to_contain_text("G's weights have moved")
    read_until_changed(lambda: textgan_g_lines(page), textgan_g_lines(page), timeout_s=SLOW_MS / 1000,
                    what="G's lines under Gumbel-softmax")
    page.screenshot(path=str(ARTIFACTS / "textgan.png"), full_page=True)
    stop.click()
    expect(start).to_be_enabled()

    estimator.get_by_text(re.compile("^REINFORCE")).click()
    start.click()
    expect(figures).not_to_contain_text("G's weights have moved")  # the Gumbel run's figures went with it
    expect(figures).to_contain_text(re.compile(r"‖∇G‖ = (?!0 )\d"), timeout=SLOW_MS)
    stop.click()
    expect(start).to_be_enabled()


@screenshot_on_failure
def test_attention_image_layer_head_and_attention_off_for_the_bundled_attention_gans(page):
    page.get_by_role("tab", name="Attention").click()
    page.get_by_role("tab", name="Image", exact=True).click()
    page.get_by_label("Generator with attention").click()
    page.get_by_role("option", name="digits-transgan").click()  # from the list: nothing to type
    layer, head = page.get_by_label("Layer", exact=True), page.get_by_label("Head", exact=True)
    overlays = page.locator("#gan-overlays")
    expect(overlays).to_contain_text("block 4, mean of 4 heads", timeout=SLOW_MS)  # every layer, heads averaged
    expect(page.locator("#gan-attention-note")).to_contain_text(re.compile(r"pixel \(x=\d+, y=\d+\) of the 28×28"))
    layer.click()
    page.get_by_role("option", name="block 2").click()
    head.click()
    page.get_by_role("option", name="head 3").click()
    expect(overlays).to_contain_text("block 2, head 3")
    expect(overlays).not_to_contain_text("block 4")
    page.locator("#gan-attention-off input").check()
    ablation = page.locator("#gan-ablation")
    expect(ablation).to_contain_text("attention off", timeout=SLOW_MS)
    expect(ablation.locator("img")).to_have_count(3)  # on, off and their difference, side by side
    note = page.locator("#gan-attention-note")
    expect(note).to_contain_text(re.compile(r"Attention off \(uniform attention.*\d+\.\d % of the pixels"))
    page.screenshot(path=str(ARTIFACTS / "attention-image-transgan.png"), full_page=True)
    page.get_by_label("Generator with attention").click()
    page.get_by_role("option", name="digits-sagan").click()
    expect(note).to_contain_text(re.compile(r"γ = [+-]\d\.\d{3}"), timeout=SLOW_MS)  # SAGAN's learned gate
    expect(note).to_contain_text("Attention off (γ = 0)")
    expect(overlays).to_contain_text("self-attention 1, its one head")  # the transformer's choices were reset
    page.screenshot(path=str(ARTIFACTS / "attention-image-sagan.png"), full_page=True)


@screenshot_on_failure
def test_explore_draws_one_seed_through_dcgan_sagan_and_transgan(page):
    page.get_by_role("tab", name="Explore").click()
    page.get_by_text("One seed, three generators").click()
    page.locator("#explore-compare-seed input").fill("7")
    page.locator("#explore-compare-draw").click()
    strips = page.locator("#explore-compare-strips")
    expect(strips.locator("img")).to_have_count(3, timeout=SLOW_MS)  # one row of digits per generator
    for i in range(3):
        expect(strips.locator("img").nth(i)).to_have_attribute("src", re.compile(r"\S"))
    figures = page.locator("#explore-compare-figures")
    for name in ("digits-dcgan", "digits-sagan", "digits-transgan"):
        expect(strips).to_contain_text(name)
        row = figures.locator("tr", has_text=name)  # its measured figures: confident, smallest class, Fréchet ÷ real
        expect(row).to_contain_text(re.compile(r"\d+\.\d %.*\d+\.\d %.*\d\.\d\d×.*steps", re.S))
    expect(figures).to_contain_text("seed 7's first 8 samples")
    page.get_by_text("One seed, three generators").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "explore-one-seed-three-generators.png"), full_page=True)


def test_shared_links_reopen_an_explore_grid_and_a_generation(app, browser):
    """Share from Explore and from Text, close the sharer's page (its session ends), open both links as a
    stranger: the same tab, settings and results, the grid drawn again and the text still shaded by probability."""
    sharer = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["clipboard-read", "clipboard-write"])
    page = sharer.new_page()
    page.set_default_timeout(UI_MS)
    page.goto(app.url)

    def share() -> str:
        button = page.locator("button:visible").filter(has_text=re.compile("Share this result|Link copied"))
        button.click()
        page.wait_for_function("async () => (await navigator.clipboard.readText()).includes('deep_link=')",
                               timeout=UI_MS)
        expect(button).to_have_text(re.compile("Share this result"))  # "Link copied" for a second, then back
        link = page.evaluate("navigator.clipboard.readText()")
        page.evaluate("navigator.clipboard.writeText('')")
        return link

    page.get_by_role("tab", name="Explore").click()
    grid = page.locator("#explore-grid img")
    expect(grid).to_have_attribute("src", re.compile(r"\S"), timeout=SLOW_MS)
    before = grid.get_attribute("src")
    seed = page.get_by_label("Seed", exact=True)
    seed.fill("7")
    seed.press("Enter")
    expect(grid).not_to_have_attribute("src", before, timeout=UI_MS)
    explore_link = share()
    page.get_by_role("tab", name="Text", exact=True).click()
    page.locator("#text-generate").click()
    box = page.locator("#text-stream .gs-tokens")
    expect(box).to_have_attribute("data-done", "1", timeout=SLOW_MS)
    count = box.get_attribute("data-count")
    text_link = share()
    sharer.close()

    stranger = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = stranger.new_page()
    opened.set_default_timeout(UI_MS)
    opened.goto(explore_link)
    expect(opened.get_by_role("tab", name="Explore", selected=True)).to_be_visible()
    expect(opened.get_by_label("Seed", exact=True)).to_have_value("7")
    expect(opened.locator("#explore-grid img")).to_have_attribute("src", re.compile(r"\S"), timeout=SLOW_MS)
    opened.goto(text_link)
    expect(opened.get_by_role("tab", name="Text", exact=True, selected=True)).to_be_visible()
    restored = opened.locator("#text-stream .gs-tokens")
    expect(restored).to_have_attribute("data-count", count, timeout=UI_MS)
    assert opened.locator("#text-stream .gs-tok").count() == int(count)  # shaded tokens, not plain text
    opened.screenshot(path=str(ARTIFACTS / "shared-text.png"))
    stranger.close()
