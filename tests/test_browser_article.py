"""The articles' recipe in a real browser: choose the digits, click the recipe, see its settings and its layers,
Start, watch the articles' fully connected GAN train, stop it and open it in Explore."""

from __future__ import annotations

import re

import pytest
from app_server import ARTIFACTS
from test_browser import (  # noqa: F401  (fixtures and the module's skip logic come with the import)
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


@screenshot_on_failure
def test_the_articles_recipe_sets_the_form_shows_its_layers_and_trains(page, app):  # noqa: F811  (the fixtures)
    page.get_by_role("tab", name="Train").click()
    layers = page.locator("#layer-summary")
    expect(layers.locator("table[data-net=generator]")).to_contain_text("Linear (z_proj)")  # ring8's MLP first
    choose_data(page, re.compile("Handwritten digits"), arch="DCGAN")
    expect(layers.locator("table[data-net=generator]")).to_contain_text("ConvTranspose2d", timeout=UI_MS)
    recipe = page.locator("#recipe-article").first
    expect(recipe).to_contain_text("Measured after the same 120 s")
    page.get_by_text("Hyperparameters").click()  # the settings the recipe sets, in view
    expect(page.get_by_label("Adam β1 of G and D (momentum)")).to_have_value("0")  # the digits preset's betas
    expect(page.get_by_label("Adam β2 of G and D")).to_have_value("0.9")
    page.locator("#recipe-article-button").click()
    expect(page.get_by_label("Architecture")).to_have_value("MLP (the articles')", timeout=UI_MS)
    expect(page.get_by_label("Batch size")).to_have_value("32")
    expect(page.get_by_label("Latent size")).to_have_value("100")
    expect(page.get_by_label("G learning rate")).to_have_value("0.0002")
    expect(page.get_by_label("D learning rate")).to_have_value("0.0002")
    expect(page.get_by_label("Adam β1 of G and D (momentum)")).to_have_value("0.5")
    expect(page.get_by_label("Adam β2 of G and D")).to_have_value("0.999")
    g, d = layers.locator("table[data-net=generator]"), layers.locator("table[data-net=discriminator]")
    expect(g).not_to_contain_text("ConvTranspose2d", timeout=UI_MS)  # the summary followed the recipe's architecture
    # G: 100 -> 128 -> 256 -> 784 -> 1x28x28; D: 784 -> 256 -> 128 -> 1 (article 003's sizes)
    for layer, shape, params in [("Linear (z_proj)", "128", "12,928"), ("Linear (body.1)", "256", "33,024"),
                                 ("Linear (body.3)", "784", "201,488"), ("Unflatten (body.5)", "1×28×28", "0")]:
        expect(g.locator("tr", has_text=layer).locator("td")).to_have_text([layer, shape, params])
    for layer, shape, params in [("Linear (body.1)", "256", "200,960"), ("Linear (body.3)", "128", "32,896"),
                                 ("Projection (head)", "1", "129")]:
        expect(d.locator("tr", has_text=layer).locator("td")).to_have_text([layer, shape, params])
    expect(g.locator("tfoot")).to_contain_text("247,440")
    expect(d.locator("tfoot")).to_contain_text("233,985")
    ARTIFACTS.mkdir(exist_ok=True)
    layers.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "article_recipe_set.png"), full_page=True)
    assert "refused" not in app.log()  # no step of the way raised an error (the summary follows the form quietly)

    start = page.locator("#train-start")
    start.click()
    expect(page.get_by_text(re.compile(r"running · step \d+"))).to_be_visible(timeout=SLOW_MS)
    expect(page.locator(".gs-live-title")).to_contain_text("digits · fc")  # the articles' net is what trains
    page.screenshot(path=str(ARTIFACTS / "article_recipe_training.png"), full_page=True)
    page.locator("#train-stop").click()
    expect(page.locator("#train-status")).to_contain_text("saved as", timeout=SLOW_MS)
    expect(start).to_be_enabled()
    page.locator("#train-explore").click()  # the articles' GAN opens in Explore like any other
    expect(page.get_by_role("tab", name="Explore", selected=True)).to_be_visible()
    expect(page.locator("#explore-model input")).to_have_value(re.compile(r"run \d+ · digits · fc"))
    expect(page.locator("#explore-grid img")).to_have_attribute("src", re.compile(r"\S"), timeout=SLOW_MS)
    page.screenshot(path=str(ARTIFACTS / "article_recipe_in_explore.png"), full_page=True)
