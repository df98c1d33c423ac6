"""The Text tab and Attention → Text in a real browser: the next-token chart before and while generating, the
prompt shown with the output, Stop live only while generating; the position embeddings' similarity and the switch
that removes them; the head Attention → Text opens on. Screenshots land in test-artifacts/ for a person to look at."""

from __future__ import annotations

import re

import pytest
from test_browser import (
    ARTIFACTS,
    SLOW_MS,
    app,
    browser,
    expect,
    page,
    screenshot_on_failure,
    wait_for_change,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FIXTURES = (app, browser, page)  # test_browser's fixtures, used here by name

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
    assert page.locator("#text-next-token .gs-nt-bars .gs-nt-row").count() == 10
    before = page.evaluate(BARS)
    set_number(page, "Temperature (0 = greedy)", "0.2")
    wait_for_change(page, BARS, before, "chart after a temperature change")
    expect(page.locator("#text-next-token .gs-nt-title")).to_contain_text("temperature 0.2")
    set_number(page, "Top-k (0 = off)", "3")
    expect(page.locator("#text-next-token .gs-nt-bars .gs-nt-row.cut")).to_have_count(7)  # greyed: cut by top-k
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


def positions_similarity(page) -> str:
    return page.evaluate("() => document.querySelector('#attention-explorer .gs-ax-pos')?.dataset.n")


@screenshot_on_failure
def test_attention_opens_on_a_focused_head_and_shows_positions_with_and_without(page):
    page.get_by_role("tab", name="Attention").click()
    page.locator("#attention-show").click()
    explorer = page.locator("#attention-explorer")
    heatmap = explorer.locator(".gs-ax-map")
    expect(heatmap).to_have_attribute("data-n", re.compile(r"^\d+$"), timeout=SLOW_MS)
    why = explorer.locator(".gs-ax-why")
    expect(why).to_contain_text("the most focused head")  # the rule, said on screen
    match = re.search(r"layer (\d+), head (\d+)", why.inner_text())
    assert match and match.group(0) != "layer 0, head 0", why.inner_text()  # the rule did not pick the first head
    expect(explorer.locator(".gs-ax-title")).to_contain_text(match.group(0))
    n = int(heatmap.get_attribute("data-n"))
    expect(explorer.locator(".gs-ax-pos")).to_have_attribute("data-n", str(n))  # one row per position of the prompt
    expect(explorer.locator(".gs-ax-pos-title")).to_contain_text("position embeddings")
    expect(explorer.locator(".gs-ax-scale .unit").last).to_contain_text("cosine similarity")
    pos = explorer.locator(".gs-ax-pos")
    box = pos.bounding_box()
    pos.hover(position={"x": box["width"] - 20, "y": 20})
    expect(explorer.locator(".gs-ax-pos-tip")).to_have_text(re.compile(r"^position \d+ · position \d+: cosine similarity"))
    # the step-through starts from x and shows whole vectors
    heatmap.click(position={"x": heatmap.bounding_box()["width"] - 8, "y": heatmap.bounding_box()["height"] - 8})
    steps = explorer.locator(".gs-ax-steps")
    expect(steps).to_contain_text("residual stream entering this layer, after layer norm")
    expect(steps).to_contain_text("256 numbers")  # all of x, not the first 8
    expect(steps).to_contain_text("64 numbers")
    page.screenshot(path=str(ARTIFACTS / "attention-text-opening.png"), full_page=True)

    checksum, note = heatmap.get_attribute("data-checksum"), page.locator("#attention-note").inner_text()
    page.locator("#attention-positions-off input").check()
    expect(why).to_contain_text("Position embeddings removed", timeout=SLOW_MS)
    expect(explorer.locator(".gs-ax-title")).to_contain_text(match.group(0))  # the same head, to compare
    expect(heatmap).not_to_have_attribute("data-checksum", checksum)  # its pattern changed
    expect(page.locator("#attention-note")).to_contain_text("without position embeddings")
    assert page.locator("#attention-note").inner_text() != note  # other next-token guesses
    page.screenshot(path=str(ARTIFACTS / "attention-text-no-positions.png"), full_page=True)
