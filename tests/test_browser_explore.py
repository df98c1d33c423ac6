"""Explore's direction strips, fitted sliders and interpolation, and Attention → Image's labelled panels, in a real
browser (the fixtures and helpers of test_browser.py; skipped with it where Chromium or Playwright is missing)."""

from __future__ import annotations

import re

import pytest
from test_browser import (  # noqa: F401 - fixtures
    ARTIFACTS,
    SLOW_MS,
    UI_MS,
    app,
    browser,
    expect,
    page,
    screenshot_on_failure,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}


def _inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack)


@screenshot_on_failure
def test_explore_shows_each_directions_strip_before_dragging_and_fits_the_sliders(page):  # noqa: F811
    page.get_by_role("tab", name="Explore").click()
    strips = page.locator("#explore-direction-strips")
    expect(strips.locator("img")).to_have_count(6 * 7, timeout=SLOW_MS)  # six directions, -3σ ... +3σ each
    header = strips.locator("tr").first
    for value in ("−3σ", "−1σ", "0", "+1σ", "+3σ"):
        expect(header).to_contain_text(value)
    expect(strips.locator("tr").nth(1)).to_contain_text("SeFa 1")
    expect(strips).to_contain_text("seed 0")
    slider = page.get_by_label(re.compile(r"^range slider for SeFa 1"))
    expect(slider).to_have_attribute("max", "3")  # ±3σ of its direction, not the old ±10
    expect(slider).to_have_attribute("min", "-3")
    expect(page.get_by_text(re.compile(r"SeFa 1 · gain [\d.]+ · in σ of this direction")).first).to_be_visible()
    first = strips.locator("img").first.get_attribute("src")
    page.screenshot(path=str(ARTIFACTS / "explore-direction-strips.png"), full_page=True)

    seed = page.get_by_label("Seed", exact=True)
    seed.fill("5")
    seed.press("Enter")
    expect(strips).to_contain_text("seed 5", timeout=UI_MS)  # the strips follow the seed
    expect(strips.locator("img").first).not_to_have_attribute("src", first)

    page.get_by_text("Interpolate between two seeds").click()
    page.get_by_role("button", name="Interpolate", exact=True).click()
    frames = page.locator("#explore-strip img")
    expect(frames).to_have_attribute("src", re.compile(r"\S"), timeout=SLOW_MS)
    expect(page.locator("#explore-animation img")).to_have_attribute("src", re.compile(r"\S"))
    frames.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "explore-interpolation.png"), full_page=True)

    page.set_viewport_size(PHONE)
    strips.scroll_into_view_if_needed()
    table, box = strips.locator("table").bounding_box(), strips.bounding_box()
    assert table["width"] <= PHONE["width"] and _inside(table, box), (table, box)  # no sideways overflow on a phone
    page.screenshot(path=str(ARTIFACTS / "explore-direction-strips-phone.png"), full_page=True)


def _panels_whole(view) -> None:
    """Every per-layer panel lies inside the gallery, which grows with them instead of scrolling inside."""
    gallery = view.locator("#gan-overlays")
    box = gallery.bounding_box()
    images = gallery.locator("img")
    for i in range(images.count()):
        assert _inside(images.nth(i).bounding_box(), box), (i, images.nth(i).bounding_box(), box)
    scrolled = view.evaluate("""() => [...document.querySelectorAll('#gan-overlays .grid-wrap')]
        .some(el => el.scrollHeight > el.clientHeight + 2)""")
    assert not scrolled, "the panels scroll inside the gallery: some are cut off"


@screenshot_on_failure
def test_attention_image_panels_are_labelled_whole_and_read_in_digit_pixels(page):  # noqa: F811
    page.get_by_role("tab", name="Attention").click()
    page.get_by_role("tab", name="Image", exact=True).click()
    page.get_by_label("Generator with attention").click()
    page.get_by_role("option", name="digits-transgan").click()
    overlays, note = page.locator("#gan-overlays"), page.locator("#gan-attention-note")
    expect(overlays.locator("img")).to_have_count(4, timeout=SLOW_MS)  # one panel per transformer block
    for block in range(1, 5):
        expect(overlays).to_contain_text(f"block {block}, mean of 4 heads")
    expect(note).to_contain_text(re.compile(r"pixel \(x=\d+, y=\d+\) of the 28×28 digit"))  # starts on a stroke
    start = re.search(r"x=(\d+), y=(\d+)", note.inner_text())
    assert start and (start.group(1), start.group(2)) != ("0", "0")
    expect(page.get_by_text(re.compile(r"colour over the digit is the\s+attention weight"))).to_be_visible()
    square = page.evaluate("""() => [...document.querySelectorAll('#gan-overlays img')]
        .map(img => [img.naturalWidth, img.naturalHeight])""")
    assert all(w == h > 256 for w, h in square), square  # the picture with its title and colour bar around it
    _panels_whole(page)
    page.screenshot(path=str(ARTIFACTS / "attention-image-panels.png"), full_page=True)

    picture = page.locator("#gan-attention-image img")
    box = picture.bounding_box()
    side = min(box["width"], box["height"])  # the square digit, centred in its box
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    page.mouse.click(left + 0.61 * side, top + 0.32 * side)
    expect(note).to_contain_text("pixel (x=17, y=8) of the 28×28 digit", timeout=UI_MS)  # 0.61·28, 0.32·28
    expect(overlays).to_contain_text("block 4, mean of 4 heads")
    _panels_whole(page)

    page.set_viewport_size(PHONE)
    overlays.scroll_into_view_if_needed()
    _panels_whole(page)
    first = overlays.locator("img").first.bounding_box()
    assert first["width"] >= 0.7 * PHONE["width"] - 40, first  # one panel per row: its labels stay legible
    page.screenshot(path=str(ARTIFACTS / "attention-image-panels-phone.png"), full_page=True)
