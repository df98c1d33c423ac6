"""The Train tab's "Recipe from the articles": one click sets the form to the tutorial articles' own GAN.

Widgets only; the settings come from ``ganstudio.actions.train.recipe_params`` (the recipe itself is
``ganstudio.gan.config.ARTICLE_PRESET``). The button fills the form and starts nothing: the visitor sees the
settings and the layer summary change, then presses Start. Shown for the 28-pixel grey sets the articles train on.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ganstudio.actions import train as actions
from ganstudio.ui.common import handled

RECIPE_DATA = ("digits", "mnist", "fashion-mnist")  # 28x28 grey images: the articles' 784 pixels
# Measured 2026-12-04 with `python -m ganstudio train --data digits --seconds 120 --threads 1 --seed S` (--preset
# article or the digits preset), each judged by `python -m ganstudio bench digits --model FOLDER`.
RECIPE_HELP = (
    "**Recipe from the articles.** The tutorial articles train a fully connected GAN on MNIST: G turns a latent of "
    "100 numbers into 128, then 256 leaky-ReLU units and 784 tanh pixels (one 28×28 digit); D reads the 784 pixels "
    "through 256 and 128 leaky-ReLU units to one score. Batch 32, Adam with learning rate 2·10⁻⁴ and β₁ 0.5, "
    "and nothing else. The button sets that network and recipe (see the settings and the layers below); press Start."
    "\n\nMeasured after the same 120 s of training, one run at a time on one thread of a shared 2-core CPU (load "
    "3–7), seeds 0 and 1, judged by `python -m ganstudio bench digits` (1,000 samples): **the articles' MLP: 22.3 % "
    "confident digits, Fréchet 20.6 and 21.9** (~20,000 steps; strokes recognisable but noisy) · **the studio's "
    "DCGAN preset: 87.1 and 88.8 % confident, Fréchet 1.34 and 1.32** (2,500–3,600 steps). Real held-out digits "
    "score Fréchet 0.64; lower is closer to real."
)
FORM = ("arch", "loss", "steps", "seconds", "batch_size", "z_dim", "lr_g", "lr_d", "d_steps", "ema", "spectral_norm",
        "diffaug", "conditional", "pack", "r1", "grad_clip", "beta1", "beta2", "family")  # the inputs the recipe sets


@dataclass
class RecipePanel:
    group: gr.Group  # shown for RECIPE_DATA
    button: gr.Button


def form_values(params: dict) -> list:
    """A recipe's settings in FORM order, as the form's inputs hold them (DiffAugment a list, one β per slot)."""
    shown = {**params, "diffaug": [a for a in params["diffaug"].split(",") if a],
             "beta1": params["beta1_g"], "beta2": params["beta2_g"]}
    return [shown[name] for name in FORM]


@handled
def on_recipe(data):
    return form_values(actions.recipe_params("article", data))


def on_data(data):
    return gr.update(visible=data in RECIPE_DATA)


def build_recipe() -> RecipePanel:
    with gr.Group(visible=False, elem_id="recipe-article") as group:
        gr.Markdown(RECIPE_HELP)
        button = gr.Button("Recipe from the articles", size="sm", elem_id="recipe-article-button")
    return RecipePanel(group, button)


def wire_recipe(panel: RecipePanel, data, form: dict):
    """``form``: the tab's inputs by setting name (FORM). Returns the button's event (others follow it with .then)."""
    private_api = {"api_visibility": "private"}
    data.change(on_data, data, panel.group, queue=False, show_progress="hidden", **private_api)
    return panel.button.click(on_recipe, data, [form[name] for name in FORM], **private_api)
