"""The Train tab's lessons: one click fills the form with a half's settings and starts it; its figures
appear under the buttons when it ends.

Widgets only; the settings, the record of what each half showed and its text come from
``ganstudio.actions.lessons``. The Train tab builds the panel (``build_lessons``) and wires it to its form
and live view (``wire_lessons``): a lesson's run is an ordinary run, so the buttons and the timer follow it
through the tab's run state (``shown_state``) as they follow Start.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ganstudio.actions import lessons as actions
from ganstudio.actions import train
from ganstudio.errors import StudioError
from ganstudio.ui.common import owner, user_error

LESSON_HELP = (
    "**Lesson: mode collapse.** ① trains a GAN whose G learns 4× faster than D on the 25-mode grid: D cannot keep "
    "up, so G piles its points into one clump and chases D around (red dashed circles are modes nobody generates). "
    "② applies the fix — a D that learns 4× faster than G (TTUR), an averaged G (EMA) and a decaying learning "
    "rate — and the modes come back. Each half runs 2,500 steps, so it ends the same on any machine."
)
SATURATION_HELP = (
    "**Lesson: vanishing gradients.** ① gives D a 500-step head start on the ring, then trains G with the original "
    "game's loss log(1 − D(G(z))): D already rejects every fake, the loss is flat there, so ‖∇G‖ (in the numbers "
    "below) sinks to ~0.00001 and the purple points stand still while D's map keeps filling in. ② switches the "
    "running game to the non-saturating −log D(G(z)), steepest exactly where D wins: ‖∇G‖ jumps and G moves again. "
    "(G uses plain SGD here, as in the original paper: Adam rescales each step and would hide the effect.)"
)
VERSUS_HELP = (
    "**Lesson: GAN vs VAE.** One click trains a VAE on the 25-mode grid, then a GAN for the same 4,000 steps. The "
    "VAE's decoder is a smooth map from the whole prior N(0, I): it reaches every mode but also draws points "
    "between them (blur). The GAN puts its points on the modes and may leave some out. On seeds 0–4 the VAE caught "
    "25/25 modes every time at 50–60 % high quality, the GAN 19–25 modes at 65–87 %."
)
FORM = ("data", "loss", "steps", "seconds", "batch_size", "lr_g", "lr_d", "ema", "pack",
        "family")  # form fields a lesson sets


@dataclass
class LessonPanel:
    group: gr.Group  # hidden for image data sets
    collapse: gr.Button
    fix: gr.Button
    saturate: gr.Button
    switch: gr.Button
    versus: gr.Button  # GAN vs VAE: the VAE, then the GAN
    record: gr.State  # the page's lesson record (actions.lessons)
    result: gr.Markdown  # each ended half's figures
    plot: gr.Image  # G's two losses against D(G(z)), where each vanishing-gradients half stood


def on_lesson(half: str, record, request: gr.Request):
    """Start a lesson's half (replacing a live run) and fill the form with its settings."""
    who = owner(request)
    try:
        params, record = actions.start_lesson(who, half, record)
        value = train.live_value(who)
    except StudioError as err:
        raise user_error(err) from None
    return [*(params[name] for name in FORM), record, actions.outcome_text(record), actions.loss_picture(record),
            f"lesson {actions.TITLES[half]}: starting…", value, ("queued", False)]


def on_collapse(record, request: gr.Request):
    return on_lesson("collapse", record, request)


def on_fix(record, request: gr.Request):
    return on_lesson("fix", record, request)


def on_saturate(record, request: gr.Request):
    return on_lesson("saturate", record, request)


def on_switch(record, request: gr.Request):
    """Switch ①'s live run to the non-saturating loss (or run ② afresh once ① has ended)."""
    who = owner(request)
    try:
        params, record = actions.switch_to_non_saturating(who, record)
        value = train.live_value(who) if params is not None else None
    except StudioError as err:
        raise user_error(err) from None
    if params is None:  # switched in place: of the form, only the loss changed
        loss = actions.lesson_params("nonsat")["loss"]
        return [*(loss if name == "loss" else gr.skip() for name in FORM), record, actions.outcome_text(record),
                actions.loss_picture(record), f"lesson {actions.TITLES['nonsat']}: switched", gr.skip(), gr.skip()]
    return [*(params[name] for name in FORM), record, actions.outcome_text(record), actions.loss_picture(record),
            f"lesson {actions.TITLES['nonsat']}: starting…", value, ("queued", False)]


def on_versus(record, request: gr.Request):
    """GAN vs VAE: start the VAE; the GAN follows once it has ended (``on_next``)."""
    who = owner(request)
    try:
        params, record = actions.start_lesson(who, "vae", record, then="gan")
        value = train.live_value(who)
    except StudioError as err:
        raise user_error(err) from None
    return [*(params[name] for name in FORM), record, actions.outcome_text(record), actions.loss_picture(record),
            f"lesson {actions.TITLES['vae']}: starting…", value, ("queued", False)]


def on_next(record, request: gr.Request):
    """After a half's figures arrived: start the half it was to be followed by, if any (else change nothing)."""
    who = owner(request)
    try:
        started = actions.next_half(who, record)
        if started is None:
            return [gr.skip()] * (len(FORM) + 6)
        params, record = started
        value = train.live_value(who)
    except StudioError as err:
        raise user_error(err) from None
    return [*(params[name] for name in FORM), record, actions.outcome_text(record), actions.loss_picture(record),
            f"lesson {actions.TITLES[record['half']]}: starting…", value, ("queued", False)]


def on_outcome(record, request: gr.Request):
    """The run's state changed: a half that has just ended adds its figures."""
    record, text = actions.lesson_outcome(owner(request), record)
    return [record, text, actions.loss_picture(record) if record else gr.skip()]


def build_lessons() -> LessonPanel:
    record = gr.State(None)
    with gr.Group(visible=True, elem_id="lessons") as group:
        gr.Markdown(LESSON_HELP)
        with gr.Row():
            collapse = gr.Button("① Watch it collapse", size="sm", elem_id="lesson-collapse")
            fix = gr.Button("② Apply the fix", size="sm", elem_id="lesson-fix")
        gr.Markdown(SATURATION_HELP)
        with gr.Row():
            saturate = gr.Button("① Head start for D, saturating loss", size="sm", elem_id="lesson-saturate")
            switch = gr.Button("② Switch to non-saturating", size="sm", elem_id="lesson-switch")
        gr.Markdown(VERSUS_HELP)
        with gr.Row():
            versus = gr.Button("Train a VAE, then a GAN (4,000 steps each)", size="sm", elem_id="lesson-versus")
        with gr.Row():
            result = gr.Markdown("", elem_id="lesson-result")
            plot = gr.Image(actions.loss_picture(None), label="G's losses against D(G(z))", type="pil",
                            interactive=False, height=220, elem_id="lesson-plot", show_label=True)
    return LessonPanel(group, collapse, fix, saturate, switch, versus, record, result, plot)


def wire_lessons(panel: LessonPanel, form: dict, status, view, shown_state) -> None:
    """``form``: the tab's inputs by setting name (FORM); ``shown_state``: the run's (state, saved)."""
    outputs = [*(form[name] for name in FORM), panel.record, panel.result, panel.plot, status, view, shown_state]
    private_api = {"api_visibility": "private"}
    panel.collapse.click(on_collapse, panel.record, outputs, **private_api)
    panel.fix.click(on_fix, panel.record, outputs, **private_api)
    panel.saturate.click(on_saturate, panel.record, outputs, **private_api)
    panel.switch.click(on_switch, panel.record, outputs, **private_api)
    panel.versus.click(on_versus, panel.record, outputs, **private_api)
    shown_state.change(on_outcome, panel.record, [panel.record, panel.result, panel.plot], queue=False,
                       show_progress="hidden", **private_api).then(on_next, panel.record, outputs,  # queued: its
                                                                    show_progress="hidden", **private_api)  # shown_state redraws the buttons
