"""The Train tab's layer summary: G's and D's layers, output shapes and parameters for the form's choices.

Widgets only; the rows come from ``ganstudio.actions.layer_summary`` (nets built on the meta device, no
training). The Train tab places the panel (``build_layer_summary``) and wires it to its inputs
(``wire_layer_summary``): it follows the data set, the architecture, the latent size and the two switches
that change the nets (class-conditional, spectral norm).
"""

from __future__ import annotations

from html import escape

import gradio as gr

from ganstudio.actions import layer_summary as actions
from ganstudio.ui.common import handled, owner

TITLES = {"generator": "Generator G", "discriminator": "Discriminator D"}
SUMMARY_CSS = """
.gs-layers {display: flex; flex-wrap: wrap; align-items: flex-start; gap: 18px; font-size: 0.9em}
.gs-layers table {border-collapse: collapse} .gs-layers caption {text-align: left; font-weight: 600; padding: 2px 0}
.gs-layers th, .gs-layers td {padding: 2px 10px; border-bottom: 1px solid #e3e3e3; text-align: left}
.gs-layers td.num, .gs-layers th.num {text-align: right; font-family: ui-monospace, monospace}
.gs-layers tfoot td {font-weight: 600; border-bottom: none}
"""


def summary_html(summary: dict) -> str:
    """One table per net (layer, output shape, parameters; the total underneath) and the note under them."""
    tables = []
    for net in summary["nets"]:
        rows = "".join(f"<tr><td>{escape(layer)}</td><td class='num'>{escape(shape)}</td>"
                       f"<td class='num'>{n:,}</td></tr>" for layer, shape, n in net["rows"])
        tables.append(f"<table class='gs-net' data-net='{net['name']}'><caption>{TITLES[net['name']]}</caption>"
                      "<thead><tr><th>layer</th><th class='num'>output shape</th><th class='num'>parameters</th></tr>"
                      f"</thead><tbody>{rows}</tbody><tfoot><tr><td>total</td><td></td>"
                      f"<td class='num'>{net['total']:,}</td></tr></tfoot></table>")
    return (f"<div class='gs-layers'>{''.join(tables)}</div>"
            f"<div class='gs-layers-note'><em>{escape(summary['note'])}</em></div>")


@handled
def on_change(data, arch, z_dim, conditional, sn, request: gr.Request):
    return summary_html(actions.layer_summary(data, arch, z_dim, conditional, sn, owner=owner(request)))


def build_layer_summary(data: str, arch: str, z_dim: int) -> gr.HTML:
    """The panel, drawn for the form's first choices."""
    with gr.Accordion("Layers of G and D", open=True, elem_id="layer-summary"):
        return gr.HTML(summary_html(actions.layer_summary(data, arch, z_dim)), css_template=SUMMARY_CSS)


def wire_layer_summary(panel: gr.HTML, settled: list, data, arch, z_dim, conditional, sn) -> None:
    """Redraw the tables when the visitor edits an input that shapes the nets, and after each event in ``settled``
    (choosing a data set, a recipe) has filled the form. Not on every change of the form: a change that fires
    while such an event is still filling it sends the last data set's architecture, which the new data set's
    menu no longer offers, and Gradio refuses the call."""
    inputs = [data, arch, z_dim, conditional, sn]
    private = {"show_progress": "hidden", "api_visibility": "private"}
    gr.on([c.input for c in inputs[1:]], on_change, inputs, panel, trigger_mode="always_last", **private)
    for event in settled:
        event.then(on_change, inputs, panel, **private)
