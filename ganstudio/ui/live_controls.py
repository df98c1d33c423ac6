"""The Train tab's controls of how a run is watched: the live view's pace and G's gradient arrows.

Widgets only. Each is its own event (never an input of ``train_start``): it changes the visitor's session
(``ganstudio.actions.train_view.set_pace`` / ``show_arrows``), so it acts on the run that trains now, and on
the next ones, at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from ganstudio.actions import train_view
from ganstudio.errors import StudioError
from ganstudio.ui.common import owner, user_error

PACE_CHOICES = [train_view.SLOW_START, "1", "3", "10", "30", "100", train_view.FULL_SPEED]
PACE_INFO = ("Steps of training per frame of the view (about 12 frames a second). Slow start: 2 steps a frame "
             "until step 200, then full speed. Change it any time; the status line says the pace now.")
ARROWS_INFO = ("An arrow on each of 128 generated points: −∂L_G/∂x, the way G's loss pushes it. Step D and "
               "Step G always draw them, with the points before the step as hollow ghosts.")


@dataclass
class LiveControls:
    pace: gr.Radio
    arrows: gr.Checkbox


def on_pace(pace, request: gr.Request):
    try:
        train_view.set_pace(owner(request), pace)
    except StudioError as err:
        raise user_error(err) from None


def on_arrows(on, request: gr.Request):
    try:
        train_view.show_arrows(owner(request), on)
    except StudioError as err:
        raise user_error(err) from None


def build_live_controls() -> LiveControls:
    pace = gr.Radio(PACE_CHOICES, value=train_view.SLOW_START, label="Pace: steps per frame", info=PACE_INFO,
                    elem_id="train-pace")
    arrows = gr.Checkbox(False, label="Show G's push on each point (arrows) while it trains", info=ARROWS_INFO,
                         elem_id="train-arrows")
    return LiveControls(pace, arrows)


def wire_live_controls(controls: LiveControls) -> None:
    """Not queued: each sets one value in the session, and must act while the run's own events wait."""
    private_api = {"api_visibility": "private"}
    controls.pace.input(on_pace, controls.pace, None, queue=False, show_progress="hidden", **private_api)
    controls.arrows.input(on_arrows, controls.arrows, None, queue=False, show_progress="hidden", **private_api)
