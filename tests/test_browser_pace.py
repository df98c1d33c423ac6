"""The Train tab's pace, its manual steps' before-and-after, and nothing stale, in a real browser.

Shares test_browser.py's server, browser and helpers (and its skip rules). Assertions wait on what the page shows;
the pace is checked by what a frame holds (steps between two drawn frames), never by a time.
"""

from __future__ import annotations

import re

import pytest
from test_browser import (  # noqa: F401  (app, browser and page are fixtures)
    ARTIFACTS,
    SLOW_MS,
    UI_MS,
    app,
    browser,
    choose_data,
    expect,
    page,
    screenshot_on_failure,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CANVAS = "#train-live canvas.gs-live"
DRAWN_JS = """() => { const c = document.querySelector('#train-live canvas.gs-live');
  const t = document.querySelector('#train-live .gs-live-title').textContent.match(/step (\\d+)/);
  return [Number(c.dataset.frames || 0), t ? Number(t[1]) : -1, Number(c.dataset.version || 0)]; }"""


def steps_per_frame(page, frames: int = 8) -> float:  # noqa: F811
    """Steps the run made per frame it published, over the next ``frames`` frames the page drew (what the pace
    sets). Counted by the frames' version numbers, not the page's draws: a slow page skips frames, never steps."""
    first_frames, first_step, first_version = page.evaluate(DRAWN_JS)
    page.wait_for_function(f"() => ({DRAWN_JS})()[0] >= {first_frames + frames}", polling=50, timeout=SLOW_MS)
    _, last_step, last_version = page.evaluate(DRAWN_JS)
    return (last_step - first_step) / max(1, last_version - first_version)


def choose_pace(page, label: str) -> None:  # noqa: F811
    page.locator("#train-pace").get_by_label(label, exact=True).check()
    expect(page.locator("#train-status")).to_contain_text(
        "pace: " + ("full speed" if label == "full speed" else f"{label} step"), timeout=UI_MS)


def start_and_wait(page) -> None:  # noqa: F811
    page.get_by_role("tab", name="Train").click()
    page.locator("#train-start").click()
    expect(page.get_by_text(re.compile(r"running · step \d+"))).to_be_visible(timeout=SLOW_MS)


@screenshot_on_failure
def test_the_pace_slows_and_speeds_the_step_counter_while_it_trains(page):  # noqa: F811  (fixtures from test_browser)
    start_and_wait(page)
    expect(page.locator("#train-status")).to_contain_text("pace: slow start", timeout=UI_MS)  # the 2D default
    choose_pace(page, "1")
    slow = steps_per_frame(page)
    assert slow <= 2, f"{slow:.1f} steps a frame at one step a frame"
    choose_pace(page, "full speed")
    fast = steps_per_frame(page)
    assert fast > 2 * max(slow, 1), f"full speed: {fast:.1f} steps a frame, against {slow:.1f} at one a frame"
    page.locator("#train-arrows input").check()  # G's push, live
    expect(page.locator(CANVAS)).not_to_have_attribute("data-arrows", re.compile(r"^0?$"), timeout=UI_MS)
    expect(page.locator(".gs-live-legend")).to_contain_text("G's push on each point")
    top, bottom = page.locator("#train-status").bounding_box(), page.locator("#train-arrows").bounding_box()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pace-controls.png"), clip={
        "x": bottom["x"] - 8, "y": top["y"] - 8, "width": bottom["width"] + 16,
        "height": bottom["y"] + bottom["height"] - top["y"] + 16})
    page.locator("#train-live").screenshot(path=str(ARTIFACTS / "pace-live-arrows.png"))
    page.locator("#train-stop").click()
    expect(page.locator("#train-start")).to_be_enabled()


@screenshot_on_failure
def test_step_g_and_step_d_show_the_points_before_and_gs_push(page):  # noqa: F811  (fixtures from test_browser)
    start_and_wait(page)
    page.locator("#train-pause").click()
    expect(page.locator("#train-status")).to_contain_text("paused")
    canvas, legend = page.locator(CANVAS), page.locator(".gs-live-legend")
    page.locator("#train-step-g").click()
    expect(legend).to_contain_text("Step G moved the generated points by", timeout=UI_MS)
    expect(canvas).to_have_attribute("data-ghosts", "512")
    expect(canvas).to_have_attribute("data-arrows", "128")
    expect(legend).to_contain_text("generated points before the step")
    expect(legend).to_contain_text("−∂LG/∂x")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#train-live").screenshot(path=str(ARTIFACTS / "pace-step-g.png"))
    page.locator("#train-step-d").click()
    expect(legend).to_contain_text("Step D changed D's verdict by up to", timeout=UI_MS)
    expect(canvas).to_have_attribute("data-boundary", "1")
    expect(legend).to_contain_text("solid now, dashed before the step")
    page.locator("#train-live").screenshot(path=str(ARTIFACTS / "pace-step-d.png"))
    page.locator("#train-stop").click()
    expect(page.locator("#train-start")).to_be_enabled()


@screenshot_on_failure
def test_the_digits_preview_shows_every_class_and_the_2d_intro_goes(page):  # noqa: F811  (fixtures from test_browser)
    page.get_by_role("tab", name="Train").click()
    intro = page.locator("#train-intro")
    expect(intro).to_contain_text("On 2D data the view shows both players")
    choose_data(page, re.compile("Handwritten digits"), arch="DCGAN")
    expect(intro).not_to_contain_text("On 2D data")
    expect(intro).to_contain_text("On images the view shows G's samples")
    expect(page.locator(".gs-live-title")).to_contain_text("every class")
    canvas = page.locator(CANVAS)
    expect(canvas).to_have_attribute("data-zoom", re.compile(r"\d"))
    width, height = canvas.evaluate("c => [c.width, c.height]")
    assert width > 1.4 * height, "not the grid of ten classes across"
    page.locator("#train-live").screenshot(path=str(ARTIFACTS / "pace-digits-preview.png"))
    choose_data(page, re.compile("8 Gaussians"))
    expect(intro).to_contain_text("On 2D data the view shows both players")


@screenshot_on_failure
def test_a_new_run_drops_the_last_runs_zip_and_names_agree(page):  # noqa: F811  (fixtures from test_browser)
    start_and_wait(page)
    page.locator("#train-stop").click()
    expect(page.locator("#train-status")).to_contain_text("saved as run 1 ·")
    page.locator("#train-save").click()
    link = page.locator("#train-download a").first
    expect(link).to_have_attribute("download", "gan-mlp-ring8-run1.zip", timeout=SLOW_MS)
    page.locator("#train-start").click()
    expect(page.locator(".gs-live-title")).to_contain_text("run 2 · ring8 · mlp")
    expect(page.locator("#train-download a")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"running · step \d+"))).to_be_visible(timeout=SLOW_MS)
    page.locator("#train-stop").click()
    page.locator("#train-save").click()
    expect(link).to_have_attribute("download", "gan-mlp-ring8-run2.zip", timeout=SLOW_MS)
    page.locator("#train-reset").click()  # the run is gone: so is its zip
    expect(page.locator("#train-download a")).to_have_count(0)


INSIDE_JS = """el => { const box = el.getBoundingClientRect();
  return box.left >= 0 && box.right <= document.documentElement.clientWidth + 0.5; }"""


@screenshot_on_failure
def test_on_a_phone_the_game_keeps_its_notes_and_the_heatmaps_every_column(browser, app):  # noqa: F811  (fixtures from test_browser)
    """390 px: the game's table (its notes column too) and the live view fit the screen, nothing needs a sideways
    scroll; the Attention tab's heatmap shows every column and every head of its overview."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    phone = context.new_page()
    phone.set_default_timeout(UI_MS)
    try:
        phone.goto(app.url)
        phone.locator("#train-start").click()
        game = phone.locator(".gs-game table")
        expect(game).to_be_visible(timeout=SLOW_MS)
        phone.locator("#train-pause").click()
        for what, part in (("the game", game), ("its notes", game.locator("tr").first.locator("td").last),
                           ("the live view", phone.locator(CANVAS)), ("the metrics", phone.locator("#train-metrics"))):
            assert part.evaluate(INSIDE_JS), f"{what} runs off the screen"
        assert phone.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        ARTIFACTS.mkdir(exist_ok=True)
        phone.locator(".gs-game").screenshot(path=str(ARTIFACTS / "pace-phone-game.png"))
        phone.locator("#train-stop").click()

        phone.get_by_role("button", name="More tabs").click()
        phone.locator("button:visible", has_text=re.compile("^Attention$")).last.click()
        phone.locator("#attention-show").click()
        heatmap = phone.locator(".gs-ax-map")
        expect(heatmap).to_have_attribute("data-n", re.compile(r"\d+"), timeout=SLOW_MS)
        scroll = phone.locator(".gs-ax-scroll")
        assert scroll.evaluate("s => s.scrollWidth <= s.clientWidth"), "the heatmap's last columns are cut off"
        assert phone.locator(".gs-ax-over").evaluate(INSIDE_JS), "the overview's last heads are cut off"
        phone.locator(".gs-ax-body").screenshot(path=str(ARTIFACTS / "pace-phone-attention.png"))
    finally:
        context.close()
