"""The Train tab's "Model family" choice: a GAN (G against D) or a VAE (an encoder and a decoder on the ELBO).

Widgets only. Choosing a family loads its preset for the chosen data set into the form
(``ganstudio.actions.train.default_params``); the run itself is an ordinary run of the tab, drawn by the same
live view (a VAE's decoder samples where a GAN's fakes go, its ELBO's terms where the game's go).
"""

from __future__ import annotations

import gradio as gr

from ganstudio.actions import train as actions

FAMILY_CHOICES = [("GAN", "gan"), ("VAE", "vae")]
FAMILY_INFO = ("VAE: an encoder and a decoder trained on the ELBO. It uses the budget, batch size, latent size, "
               "G's learning rate (for both nets) and the seed, and ignores the GAN-only settings (loss, D's rate "
               "and steps, EMA, packing, R1, spectral norm, DiffAugment, class-conditional).")
PRESET_FIELDS = ("steps", "seconds", "batch_size", "z_dim", "lr_g", "beta1_g", "beta2_g")  # what a family's preset changes in the form


def build_family() -> gr.Radio:
    return gr.Radio(FAMILY_CHOICES, value="gan", label="Model family", info=FAMILY_INFO, elem_id="train-family")


def on_family(family, data):
    """The chosen family's preset for the chosen data set, in the form's PRESET_FIELDS."""
    p = actions.default_params("uploaded-images" if data == "upload" else data, family)
    return [p[name] for name in PRESET_FIELDS]


def wire_family(family: gr.Radio, data: gr.Dropdown, form: dict) -> None:
    """``form``: the tab's inputs by setting name (PRESET_FIELDS)."""
    family.input(on_family, [family, data], [form[name] for name in PRESET_FIELDS], api_visibility="private")
