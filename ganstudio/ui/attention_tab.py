"""Attention tab: what each token looks at in our GPT, and where each pixel looks in an attention GAN.

Widgets only; every computation is a call into ``ganstudio.actions.attention``.
API endpoints (for gradio_client): ``attention`` (model, prompt, view, layer, head, discount_first)
-> (heatmap data, overview image, note), and ``gan_attention`` (model, seed, class, x, y) -> (image, overlays).
"""

from __future__ import annotations

import gradio as gr

from ganstudio.actions import attention as actions
from ganstudio.actions.text import list_text_models
from ganstudio.errors import StudioError
from ganstudio.ui.common import DEVICE_WORK, owner, user_error

DEFAULT_PROMPT = "The king is dead. Long live the king, for the king is wise."
VIEWS = [("Single head", "head"), ("Head average", "average"), ("Rollout (all layers)", "rollout")]
HEATMAP_PIXELS = 512
ANY_CLASS = -1

TEXT_HELP = (
    "Row *i* of a heatmap is what token *i* looks at when the model predicts the token after it; brighter = more "
    "attention, every row sums to 1, and a token can only look back (the upper triangle is empty). **Head "
    "average** merges one layer's heads; **rollout** (Abnar & Zuidema, 2020) follows attention through all "
    "layers, counting the residual connection as half of each step. Many models park spare attention on the "
    "first token: tick *discount first token* to hide it. Hover a cell for its value."
)
IMAGE_HELP = (
    "An attention-based generator draws the image from a grid of features that attend to each other. "
    "Click a pixel of the generated image to see, for every attention layer, where that pixel's feature looks."
)

HEATMAP_TEMPLATE = """
${value && value.src
  ? '<div class="gs-att"><div class="gs-att-title">' + value.title + '</div>'
    + '<img class="gs-att-img" src="' + value.src + '" draggable="false"/>'
    + '<div class="gs-att-tip">Hover a cell: row = token looking, column = token looked at.</div></div>'
  : '<p class="gs-att-empty">Press <b>Show attention</b>.</p>'}
"""
HEATMAP_CSS = """
.gs-att-img {image-rendering: pixelated; width: 100%; max-width: 560px; cursor: crosshair; display: block}
.gs-att-tip {font-family: ui-monospace, monospace; min-height: 1.6em; margin-top: 4px}
.gs-att-title {font-weight: 600; margin-bottom: 4px}
"""
# Works out the hovered cell from the picture's size; values travel as thousandths (see hover_payload).
HEATMAP_JS = """
element.addEventListener('mousemove', (event) => {
  const img = element.querySelector('.gs-att-img');
  const tip = element.querySelector('.gs-att-tip');
  const v = props.value;
  if (!img || !tip || !v || event.target !== img) return;
  const box = img.getBoundingClientRect();
  const col = Math.floor((event.clientX - box.left) / box.width * v.n);
  const row = Math.floor((event.clientY - box.top) / box.height * v.n);
  if (row < 0 || col < 0 || row >= v.n || col >= v.n) return;
  const value = v.milli[row * v.n + col] / 1000;
  const token = (i) => `${i} ${JSON.stringify(v.tokens[i])}`;
  tip.textContent = `${token(row)} \u2192 ${token(col)}: ${value.toFixed(3)}`;
});
"""


def _view_payload(data: dict, view: str, layer, head, discount: bool) -> dict:
    shown = actions.attention_view(data["attentions"], data["tokens"], view=view, layer=layer, head=head,
                                   discount_first_token=bool(discount), size=HEATMAP_PIXELS)
    return {**shown["hover"], "title": shown["title"]}


def on_attention(model, prompt, view, layer, head, discount, request: gr.Request):
    """Run the model once; return the heatmap, the layers x heads overview, the note, sliders and the data."""
    try:
        data = actions.text_attention(model, prompt, owner=owner(request))
        layer = actions.clamp_index("layer", layer, data["n_layers"])
        head = actions.clamp_index("head", head, data["n_heads"])
        payload = _view_payload(data, view, layer, head, discount)
    except StudioError as err:
        raise user_error(err) from None
    tokens = " ".join(f"{i}:{t!r}" for i, t in enumerate(data["tokens"]))
    note = (data["note"] + "\n\n" if data["note"] else "") + f"**{len(data['tokens'])} tokens** — {tokens}"
    return (
        payload,
        actions.overview_image(data["attentions"]),
        note,
        gr.update(maximum=max(1, data["n_layers"] - 1), value=layer),
        gr.update(maximum=max(1, data["n_heads"] - 1), value=head),
        {"attentions": data["attentions"], "tokens": data["tokens"]},
    )


def on_view(data, view, layer, head, discount):
    """Redraw from the stored weights: no model work."""
    if not data:
        return gr.update()
    try:
        return _view_payload(data, view, layer, head, discount)
    except StudioError as err:
        raise user_error(err) from None


def _class_value(cls):
    return None if cls in (None, "", ANY_CLASS) else int(cls)


def on_gan(spec, seed, cls, x, y, request: gr.Request):
    """The generated image and, per attention layer, where pixel (x, y) attends."""
    try:
        point = None if x is None or y is None else (x, y)
        result = actions.gan_attention(spec, seed=seed, class_id=_class_value(cls), query_xy=point,
                                       owner=owner(request))
    except StudioError as err:
        raise user_error(err) from None
    overlays = [(layer["overlay"], f"{layer['name']} ({layer['k_grid'][0]}×{layer['k_grid'][1]} keys)")
                for layer in result["layers"]]
    qx, qy = result["query_xy"]
    return result["image"], overlays, qx, qy


def on_pick_pixel(spec, seed, cls, evt: gr.SelectData, request: gr.Request):
    x, y = evt.index[0], evt.index[1]
    return on_gan(spec, seed, cls, x, y, request)


def build_attention_tab(state: dict | None = None) -> None:
    """The Attention tab's widgets and events; called inside ``with gr.Tab("Attention")``."""
    with gr.Tab("Text"):
        gr.Markdown(TEXT_HELP)
        models = list_text_models()
        with gr.Row():
            model = gr.Dropdown(models, value=models[0] if models else None, allow_custom_value=True,
                                label="Model (bundled name, folder or Hub id)", scale=1)
            prompt = gr.Textbox(DEFAULT_PROMPT, lines=2, label="Prompt", scale=3)
        show_btn = gr.Button("Show attention", variant="primary")
        with gr.Row():
            view = gr.Radio(VIEWS, value="head", label="View")
            layer = gr.Slider(0, 3, value=0, step=1, label="Layer")
            head = gr.Slider(0, 3, value=0, step=1, label="Head")
            discount = gr.Checkbox(False, label="Discount first token (rollout)")
        with gr.Row():
            heatmap = gr.HTML(None, html_template=HEATMAP_TEMPLATE, css_template=HEATMAP_CSS, js_on_load=HEATMAP_JS)
            overview = gr.Image(label="All layers (rows) × heads (columns)", type="pil", interactive=False,
                                format="png")
        note = gr.Markdown("")
        data = gr.State(None)
        show_btn.click(on_attention, [model, prompt, view, layer, head, discount],
                       [heatmap, overview, note, layer, head, data], api_name="attention", **DEVICE_WORK)
        for control in (view, layer, head, discount):
            control.input(on_view, [data, view, layer, head, discount], heatmap, api_visibility="private")

    with gr.Tab("Image"):
        gr.Markdown(IMAGE_HELP)
        gans = actions.list_attention_gans()
        with gr.Row():
            gan = gr.Dropdown(gans, value=gans[0] if gans else None, allow_custom_value=True,
                              label="Generator with attention (bundled name, folder or Hub id)")
            seed = gr.Number(0, precision=0, minimum=0, label="Seed")
            cls = gr.Number(ANY_CLASS, precision=0, minimum=ANY_CLASS, label="Class (-1 = unconditional / 0)")
            qx = gr.Number(None, precision=0, label="Pixel x", minimum=0)
            qy = gr.Number(None, precision=0, label="Pixel y", minimum=0)
        gan_btn = gr.Button("Generate", variant="primary")
        with gr.Row():
            image = gr.Image(label="Click a pixel", type="pil", interactive=False, format="png")
            overlays = gr.Gallery(label="Where it attends, per layer", columns=3, format="png")
        gan_btn.click(on_gan, [gan, seed, cls, qx, qy], [image, overlays, qx, qy], api_name="gan_attention", **DEVICE_WORK)
        image.select(on_pick_pixel, [gan, seed, cls], [image, overlays, qx, qy], api_visibility="private", **DEVICE_WORK)
