"""The Train tab's words that follow what is chosen: the introduction (2D data or images), what the 2D figures
count, and clearing what belongs to the last run when a new one starts (its download).

Widgets only: the introduction is built here (``build_intro``) and follows the Data menu (``wire_intro``).
"""

from __future__ import annotations

import gradio as gr

INTRO_GAME = ("A GAN is a game: **D** (the discriminator) learns to tell real data from fakes, **G** (the "
              "generator) learns to fool it. ")
INTRO_2D = INTRO_GAME + (
    "On 2D data the view shows both players: the background is D's verdict (green: \"real\", purple: \"fake\"), "
    "**green** points are real, **purple** points are G's, and the grey sheet is how G warps a grid of latent "
    "codes. Pause to step D or G by hand and watch each player move: hollow ghosts show where G's points were, "
    "arrows where G's loss pushes them.")
INTRO_IMAGES = INTRO_GAME + (
    "On images the view shows G's samples from fixed latent codes: the same codes every frame, so you watch G "
    "change. Before Start it shows the real training images.")
# what the counters of the 2D mixtures count (gan/metrics2d.py, the PacGAN protocol)
MODES_NOTE = ("A mode is **captured** when at least one of 2,500 generated samples lies within 3 standard deviations "
              "of it (and nearer to it than to any other mode); **high quality** is the share of the samples that lie "
              "that close to some mode.")


def intro_for(data: str | None, toy: tuple[str, ...]) -> str:
    """The introduction for data set ``data``; ``toy`` names the 2D ones."""
    return INTRO_2D if data in toy else INTRO_IMAGES


def build_intro() -> gr.Markdown:
    return gr.Markdown(INTRO_2D, elem_id="train-intro")


def wire_intro(intro: gr.Markdown, data: gr.Dropdown, toy: tuple[str, ...]) -> None:
    """The introduction follows the Data menu: image data sets do not get the 2D view's description."""
    data.input(lambda choice: intro_for(choice, toy), data, intro, queue=False, show_progress="hidden",
               api_visibility="private")


def wire_fresh_download(view: gr.HTML, download: gr.File) -> None:
    """A new run (the live view gets its token) clears the last run's zip from the download box."""
    view.change(_clear_for_new_run, view, download, queue=False, show_progress="hidden", api_visibility="private")


def _clear_for_new_run(value):
    return None if isinstance(value, dict) and value.get("token") else gr.skip()
