"""Text GAN tab: a character GAN on lines of Shakespeare, trained live, with a choice of how G's gradient crosses
the sampling step (argmax, Gumbel-softmax, REINFORCE).

Widgets only; every computation is a call into ``ganstudio.actions.textgan``; the table and the charts are drawn
by ``textgan_view`` from the run's snapshot, polled once a second.
API endpoints (for gradio_client): ``textgan_start`` (estimator, temperature, straight-through, seconds, seed,
prompts) -> status, ``textgan_poll`` -> status, figures, lines table, charts, ``textgan_stop`` -> status.
"""

from __future__ import annotations

import gradio as gr

from ganstudio.actions import textgan as actions
from ganstudio.limits import LIMITS
from ganstudio.textgan.config import DEFAULT_PROMPTS, TextGanConfig
from ganstudio.ui.common import DEVICE_WORK, PAGE_API, handled, owner
from ganstudio.ui.textgan_view import CSS, charts_html, figures_md, lines_html

ESTIMATOR_CHOICES = [("argmax: no gradient crosses", "argmax"), ("Gumbel-softmax: a relaxed sample", "gumbel"),
                     ("REINFORCE: D's score as a reward (SeqGAN)", "reinforce")]
LIVE = ("queued", "running", "paused")
POLL_S = 1.0

HELP = (
    "**A GAN on text.** G, a tiny character-level GPT (two of the Text tab's transformer blocks), writes lines of "
    "24 characters; D, a small convolutional net, learns to tell them from lines of Shakespeare. G picks each "
    "character by *sampling*, and D's verdict cannot flow back through that choice. Pick how it gets across: "
    "**argmax** (it does not: ‖∇G‖ = 0 and G never changes), **Gumbel-softmax** (a relaxed, differentiable "
    "sample; the temperature τ sets how relaxed; straight-through shows D the hard character) or **REINFORCE** "
    "(D's probability of *real* is a reward; the gradient goes around the sample, noisily). Each run starts from "
    "the same random G and trains on this machine's CPU."
)
WHY_LIKELIHOOD = (
    "**Why the Text tab's GPT is trained by likelihood instead.** Likelihood training gives every position of real "
    "text an exact gradient — raise the probability of the character that really came next — with no sampling "
    "step to cross and no opponent to keep in balance. A GAN's G learns only from D's verdict on what it sampled, "
    "which, as this lesson shows, never reaches it (argmax), reaches it through an approximation (Gumbel-softmax) "
    "or through a noisy estimate (REINFORCE): slower and less stable, so language models are trained by likelihood."
)


def _controls(state: str) -> list:
    live = state in LIVE
    return [gr.update(interactive=not live), gr.update(interactive=live)]


@handled
def on_start(estimator, temperature, straight_through, seconds, seed, prompts, request: gr.Request):
    who = owner(request)
    actions.start(who, {"estimator": estimator, "temperature": temperature, "straight_through": straight_through,
                        "seconds": seconds, "seed": seed, "prompts": (prompts or "").strip("\n").split("\n")})
    # the last run's lines and figures go: a new run's page shows only the new run
    # shown_state "starting" (no poll says that): the next change of it reads the new run, whatever a poll that left
    # before Start brings back
    return ["starting…", figures_md({}), lines_html({}), charts_html({}), gr.update(active=True), "starting",
            *_controls("queued")]


def on_estimator(estimator: str) -> list:
    """τ and straight-through belong to Gumbel-softmax: the other estimators grey them out."""
    return [gr.update(interactive=estimator == "gumbel")] * 2


def on_poll(request: gr.Request):
    """Plain values only (Gradio 6 rebuilds a component for every update object it is sent)."""
    info = actions.poll(owner(request))
    snap = info["snapshot"]
    text = info["text"] + (" · saved" if info["saved"] else "")
    return [text, figures_md(snap), lines_html(snap), charts_html(snap), _shown(info)]


def _shown(info: dict) -> str:
    return "saving" if info.get("ending") else info["state"]


def on_state(shown: str, request: gr.Request):
    """The shown state changed: the timer and the buttons follow the run as it is now. A poll that left before
    Start may land after it with the old run's "done"; trusting it would stop the timer on a live run."""
    state = _shown(actions.poll(owner(request)))
    return [gr.update(active=state in LIVE + ("saving",)), *_controls(state)]


@handled
def on_stop(request: gr.Request):
    result = actions.stop(owner(request))
    return [f"stopped · step {result['snapshot'].get('step', 0)}" + (" · saved" if result["saved"] else ""),
            *_controls("done")]


def build_textgan_tab(state: dict | None = None) -> None:
    """The tab's widgets and events; called inside ``with gr.Tab("Text GAN")``."""
    defaults = TextGanConfig()
    gr.Markdown(HELP)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            estimator = gr.Radio(ESTIMATOR_CHOICES, value=defaults.estimator, label="How the gradient crosses sampling",
                                 elem_id="textgan-estimator")
            temperature = gr.Slider(LIMITS.textgan_min_temperature, 5.0, value=defaults.temperature, step=0.05,
                                    label="Gumbel-softmax temperature τ")
            straight = gr.Checkbox(defaults.straight_through, label="Straight-through (D sees the hard character)")
            with gr.Row():
                seconds = gr.Number(defaults.seconds, label="Seconds", minimum=0)
                seed = gr.Number(defaults.seed, label="Seed", precision=0, minimum=0)
            prompts = gr.Textbox("\n".join(DEFAULT_PROMPTS), lines=4, label="Prompts: line starts, one per line")
            with gr.Row():
                start = gr.Button("Start", variant="primary", elem_id="textgan-start")
                stop = gr.Button("Stop", variant="stop", interactive=False, elem_id="textgan-stop")
        with gr.Column(scale=2, min_width=320):
            status = gr.Markdown("idle: press Start", elem_id="textgan-status")
            figures = gr.Markdown(figures_md({}), elem_id="textgan-figures")
            table = gr.HTML(lines_html({}), elem_id="textgan-lines", css_template=CSS)
            charts = gr.HTML(charts_html({}), elem_id="textgan-charts")
    gr.Markdown(WHY_LIKELIHOOD)
    shown_state = gr.State("idle")
    timer = gr.Timer(POLL_S, active=False)
    private = {"api_visibility": "private"}

    start.click(on_start, [estimator, temperature, straight, seconds, seed, prompts],
                [status, figures, table, charts, timer, shown_state, start, stop],
                api_name="textgan_start", show_progress="minimal", **PAGE_API, **DEVICE_WORK)
    estimator.change(on_estimator, estimator, [temperature, straight], queue=False, show_progress="hidden", **private)
    poll_outputs = [status, figures, table, charts, shown_state]
    timer.tick(on_poll, None, poll_outputs, show_progress="hidden", concurrency_id="poll", concurrency_limit=None,
               **private)
    shown_state.change(on_state, shown_state, [timer, start, stop], queue=False, show_progress="hidden", **private)
    poll_btn = gr.Button("Refresh", visible=False)
    poll_btn.click(on_poll, None, poll_outputs, api_name="textgan_poll", queue=False, **PAGE_API)
    stop.click(on_stop, None, [status, start, stop], api_name="textgan_stop", show_progress="minimal", **PAGE_API)
