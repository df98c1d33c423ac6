"""The Text tab and Attention → Text in a real browser: the next-token chart before and while generating, the
prompt shown with the output, Stop live only while generating; the position embeddings' similarity and the switch
that removes them; the head Attention → Text opens on. Screenshots land in test-artifacts/ for a person to look at."""

from __future__ import annotations

import re

import pytest
from test_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    SLOW_MS,
    UI_MS,
    app,
    browser,
    expect,
    page,
    screenshot_on_failure,
    wait_for_change,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BARS = "() => document.querySelector('#text-next-token .gs-nt')?.dataset.bars"


def set_number(page, label: str, value: str) -> None:
    box = page.get_by_label(f"number input for {label}")
    box.fill(value)
    box.press("Enter")


@screenshot_on_failure
def test_the_next_token_chart_follows_the_sliders_then_the_stream(page):
    page.get_by_role("tab", name="Text", exact=True).click()
    chart = page.locator("#text-next-token .gs-nt")
    expect(chart).to_have_attribute("data-mode", "prompt", timeout=SLOW_MS)  # before anything is generated
    expect(page.locator("#text-stop")).to_be_disabled()
    expect(page.locator("#text-next-token .gs-nt-axis-label")).to_have_text("probability")
    assert page.locator("#text-next-token .gs-nt-row").count() == 10
    before = page.evaluate(BARS)
    set_number(page, "Temperature (0 = greedy)", "0.2")
    wait_for_change(page, BARS, before, "chart after a temperature change")
    expect(page.locator("#text-next-token .gs-nt-title")).to_contain_text("temperature 0.2")
    set_number(page, "Top-k (0 = off)", "3")
    expect(page.locator("#text-next-token .gs-nt-row.cut")).to_have_count(7)  # greyed: cut by top-k
    expect(page.locator("#text-next-token .gs-nt-title")).to_contain_text("3 of")
    page.screenshot(path=str(ARTIFACTS / "text-chart-before.png"), full_page=True)

    set_number(page, "Max new tokens", "40")
    page.locator("#text-generate").click()
    expect(page.locator("#text-stop")).to_be_enabled()  # live while it generates (40 tokens at a readable pace)
    expect(chart).to_have_attribute("data-mode", "step", timeout=SLOW_MS)  # each new token's distribution
    box = page.locator("#text-stream .gs-tokens")
    expect(box).to_have_attribute("data-done", "1", timeout=SLOW_MS)
    expect(page.locator("#text-stop")).to_be_disabled()
    prompt = page.get_by_label("Prompt").input_value()
    expect(page.locator("#text-stream .gs-prompt").first).to_have_text(prompt)  # the prompt, then the output
    assert page.locator("#text-stream .gs-new .gs-tok").count() == 40
    expect(page.locator("#text-stream .gs-stats")).to_contain_text(re.compile(r"40 tokens"))
    page.screenshot(path=str(ARTIFACTS / "text-chart-after.png"), full_page=True)


@screenshot_on_failure
def test_full_speed_is_one_click_away(page):
    page.get_by_role("tab", name="Text", exact=True).click()
    expect(page.locator("#text-pace input[value='readable']")).to_be_checked()
    page.locator("#text-pace").get_by_text("full speed", exact=True).click()
    set_number(page, "Max new tokens", "30")
    page.locator("#text-generate").click()
    expect(page.locator("#text-stream .gs-tokens")).to_have_attribute("data-done", "1", timeout=SLOW_MS)
    assert page.locator("#text-stream .gs-new .gs-tok").count() == 30
