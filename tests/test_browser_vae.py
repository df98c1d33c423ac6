# ruff: noqa: F811  (the fixtures imported from test_browser are the tests' arguments)
"""The VAE family in a real browser: choose "VAE", press Start, and watch the decoder's samples and the ELBO's
terms move (the fixtures and helpers are test_browser.py's: one app, one Chromium, a fresh page per test)."""

from __future__ import annotations

import re

import pytest
from test_browser import (  # noqa: F401  (fixtures: app, browser, page)
    ARTIFACTS,
    SLOW_MS,
    UI_MS,
    app,
    browser,
    choose_data,
    expect,
    live_snapshot,
    page,
    screenshot_on_failure,
    watch_frames,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
GAME = ".gs-game"


def game_values(page) -> str:
    """The numbers of the objective's table as the page shows them."""
    return " ".join(page.locator(f"{GAME} td.num").all_inner_texts())


@screenshot_on_failure
def test_a_2d_vae_draws_decoder_samples_and_its_elbo_terms_move(page):
    page.get_by_role("tab", name="Train").click()
    page.locator("#train-family").get_by_text("VAE", exact=True).click()
    page.get_by_text("Hyperparameters").click()
    expect(page.get_by_label("G learning rate")).to_have_value("0.002", timeout=UI_MS)  # the VAE's preset arrived
    before = live_snapshot(page)
    page.locator("#train-start").click()
    expect(page.get_by_text(re.compile(r"running · step \d+"))).to_be_visible(timeout=SLOW_MS)
    watch_frames(page, 10, "2D VAE live view")
    assert live_snapshot(page) != before
    legend = page.locator(".gs-live-legend")
    expect(legend).to_contain_text("decoder's samples, z ~ N(0, I)")
    expect(legend).to_contain_text("no D(x) map")
    expect(legend).to_contain_text("modes captured", timeout=SLOW_MS)
    game = page.locator(GAME)
    expect(game).to_contain_text("The objective", timeout=SLOW_MS)
    for term in ("reconstruction E[log p(x | z)]", "KL(q(z | x) ‖ p(z))", "ELBO = reconstruction − KL"):
        expect(game).to_contain_text(term)
    first = game_values(page)
    page.wait_for_function(  # the table is refreshed every second with the run's current values
        f"before => Array.from(document.querySelectorAll('{GAME} td.num')).map(e => e.innerText).join(' ') !== before",
        arg=first, polling=200, timeout=SLOW_MS)
    expect(page.locator("#train-metrics")).to_contain_text("encoder and decoder together")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#train-live").screenshot(path=str(ARTIFACTS / "vae-2d-view.png"))
    game.screenshot(path=str(ARTIFACTS / "vae-2d-objective.png"))
    page.locator("#train-pause").click()  # paused, a VAE offers the one step it has: Step D+G, not D or G alone
    expect(page.get_by_role("button", name="Step D+G")).to_be_enabled()
    expect(page.locator("#train-step-d")).to_be_disabled()
    expect(page.locator("#train-step-g")).to_be_disabled()
    page.locator("#train-stop").click()
    expect(page.locator("#train-status")).to_contain_text("saved as")


@screenshot_on_failure
def test_a_digits_vae_shows_samples_over_a_strip_of_reconstructions(page):
    page.get_by_role("tab", name="Train").click()
    choose_data(page, re.compile("Handwritten digits"), arch="DCGAN")
    page.locator("#train-family").get_by_text("VAE", exact=True).click()
    page.get_by_text("Hyperparameters").click()
    expect(page.get_by_label("Latent size")).to_have_value("16", timeout=UI_MS)
    page.locator("#train-start").click()
    legend = page.locator(".gs-live-legend")
    expect(legend).to_contain_text("each one's reconstruction", timeout=SLOW_MS)
    watch_frames(page, 2, "digits VAE live view")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#train-live").screenshot(path=str(ARTIFACTS / "vae-digits-view.png"))
    page.locator("#train-stop").click()
    expect(page.locator("#train-status")).to_contain_text("saved as")


@screenshot_on_failure
def test_the_gan_vs_vae_lesson_runs_both_and_states_the_figures(page):
    """One click: the VAE trains, then the GAN for the same steps starts by itself; both figures and the verdict
    appear under the buttons."""
    page.get_by_role("tab", name="Train").click()
    result = page.locator("#lesson-result")
    page.locator("#lesson-versus").click()
    expect(result).to_contain_text("① VAE: training…", timeout=UI_MS)
    expect(result).to_contain_text("② GAN, same steps: next")
    expect(page.locator("#train-family").get_by_label("VAE")).to_be_checked()
    expect(result).to_contain_text(re.compile(r"① VAE: \d+/25 modes captured · [\d.]+ % high quality"),
                                   timeout=3 * SLOW_MS)
    expect(result).to_contain_text("② GAN, same steps: training…", timeout=UI_MS)
    expect(page.locator("#train-family").get_by_label("GAN")).to_be_checked()
    expect(result).to_contain_text(re.compile(r"② GAN, same steps: \d+/25 modes captured"), timeout=3 * SLOW_MS)
    expect(result).to_contain_text("the GAN is sharp and may drop some")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#train-live").screenshot(path=str(ARTIFACTS / "lesson-gan-vs-vae-view.png"))
    result.screenshot(path=str(ARTIFACTS / "lesson-gan-vs-vae.png"))
