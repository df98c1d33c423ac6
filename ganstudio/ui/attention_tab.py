"""Attention tab: what each token looks at in our GPT, and where each pixel looks in an attention GAN.

Widgets only; every computation is a call into ``ganstudio.actions.attention``.
API endpoints (for gradio_client): ``attention`` (model, prompt, tokens to generate first, remove position
embeddings) -> (the explorer's data: tokens, every head's thumbnail, the most focused head and why, the position
embeddings' similarity, the next-token guesses, a token for more; note), and
``gan_attention`` (model, seed, class, x, y, layer, head, attention off; -1 = every layer / mean of heads) ->
(image, overlays, x, y, the attention on / off / difference pictures, a note with SAGAN's γ).
"""

from __future__ import annotations

import gradio as gr

from ganstudio.actions import attention as actions
from ganstudio.actions.text import list_text_models
from ganstudio.errors import StudioError
from ganstudio.ui.attention_view import attention_view
from ganstudio.ui.common import DEVICE_WORK, PAGE_API, handled, owner

DEFAULT_PROMPT = "The king is dead. Long live the king, for the king is wise."
ANY_CLASS = -1

TEXT_HELP = (
    "Row *i* of a heatmap is what token *i* looks at when the model predicts the token after it; brighter = more "
    "attention, every row sums to 1, and a token can only look back (the upper triangle is empty). **Heads "
    "averaged** merges one layer's heads; **rollout** (Abnar & Zuidema, 2020) follows attention through all "
    "layers, counting the residual connection as half of each step. Many models park spare attention on the "
    "first token: tick *discount the first token* to hide it. Let the model **generate** a few tokens first to see "
    "attention over its own continuation too. Click a row to work one query through softmax(q·kᵀ/√dₖ)·V. "
    "Tick **remove position embeddings** to run the same model without them: heads that looked at the previous "
    "token lose their pattern, since nothing tells the model where a token sits any more."
)
IMAGE_HELP = (
    "An attention-based generator draws the image from a grid of features that attend to each other. "
    "Click a pixel of the generated image to see where that pixel's feature looks, in every attention layer or "
    "one, averaged over the heads or one head. Each panel on the right is one attention layer (its title names the "
    "layer and head): the colour over the digit is the **attention weight** of that pixel's feature on each place, "
    "dark = none, yellow = the panel's largest weight (the number at the bar's right end; a layer's weights sum to "
    "1 over its keys). Tick **attention off** to redraw the same sample without attention (SAGAN: its gate γ set to "
    "0; TransGAN: every token attending uniformly) beside the original."
)
# The per-layer panels are square pictures with their own title and colour bar (actions.attention draws them): shown
# whole, the gallery growing with them instead of scrolling inside a fixed height, below its label, one column on a
# phone; the cell captions repeat the titles, so they stay out of the way.
OVERLAYS_CSS = (
    "<style>#gan-overlays .grid-wrap, #gan-overlays .fixed-height {max-height: none !important; "
    "min-height: 0 !important; overflow: visible !important; padding-top: 2.4em}"
    "#gan-overlays .grid-container {grid-auto-rows: auto !important; grid-template-rows: none !important}"
    "#gan-overlays .caption-label {display: none}"
    "@media (max-width: 640px) {#gan-overlays .grid-container {grid-template-columns: 1fr !important}}</style>"
)
NO_PIXEL = -1  # the hidden pixel fields before anyone clicks: the view starts on a stroke of the digit

@handled
def on_attention(model, prompt, continue_tokens, positions_off, request: gr.Request, progress=gr.Progress()):
    """Run the model once (generating ``continue_tokens`` first if asked); the explorer draws the rest."""
    data = actions.explore_attention(model, prompt, owner=owner(request), continue_tokens=continue_tokens,
                                     progress=lambda line: progress(None, desc=line), positions_off=positions_off)
    tokens = " ".join(f"{i}:{t!r}" for i, t in enumerate(data["tokens"]))
    guesses = " · ".join(f"`{t!r}` {p:.1%}" for t, p in data["guesses"])
    how = " **without position embeddings**" if data["positions_off"] else ""
    note = (data["note"] + "\n\n" if data["note"] else "") + (
        f"**Next-token guesses**{how} after the last token: {guesses}\n\n"
        f"**{len(data['tokens'])} tokens** — {tokens}")
    return data, note[:20_000]


def view(args):
    """Server function of the explorer: [token, view, layer, head, discount] -> another matrix."""
    token, view_name, layer, head, discount = (list(args) + [None] * 5)[:5] if isinstance(args, (list, tuple)) else [None] * 5
    try:
        return actions.view_for(token, view_name or "head", layer or 0, head or 0, bool(discount))
    except StudioError:
        return None


def explain(args):
    """Server function of the explorer: [token, layer, head, query] -> self-attention step by step."""
    token, layer, head, query = (list(args) + [None] * 4)[:4] if isinstance(args, (list, tuple)) else [None] * 4
    try:
        return actions.explain_for(token, layer, head, query)
    except StudioError:
        return None


def _class_value(cls):
    return None if cls in (None, "", ANY_CLASS) else int(cls)


def _note(result: dict) -> str:
    """What the learner reads beside the pictures: which pixel is looking (in the digit's own pixels), SAGAN's gate
    γ, and what switching attention off changed."""
    (px, py), (w, h) = result["pixel"], result["digit_size"]
    lines = [(f"**Looking from pixel (x={px}, y={py}) of the {w}×{h} digit** (the red cross; x counts from the left, "
              "y from the top). Click another pixel of the digit to move it.")]
    lines += [f"**γ = {gamma:+.3f}** — the learned gate of {name}: its output is features + γ · attention, and "
             "training started at γ = 0, so |γ| says how much the generator came to rely on attention."
             for name, gamma in result["gammas"]]
    if not result["gammas"]:
        lines.append(f"{len(result['layer_names'])} transformer blocks of {max(result['layer_heads'])} heads each; "
                     "every token (a 4×4 tile) attends to every other, with no gate.")
    if result["changed"] is not None:
        how = "γ = 0" if result["gammas"] else "uniform attention: every token reads the plain mean of all tokens"
        lines.append(f"**Attention off** ({how}): **{result['changed'] * 100:.1f} %** of the pixels move by more than "
                     f"{actions.CHANGED:.0%} of the range — the bright parts of the difference are the strokes that "
                     "depend on far-away pixels.")
    return "\n\n".join(lines)


@handled
def on_gan(spec, seed, cls, x, y, layer, head, attention_off, request: gr.Request):
    """The generated image, where pixel (x, y) attends in the chosen layer(s) and head, γ, and with
    ``attention_off`` the same sample drawn without attention beside it."""
    point = None if x is None or y is None or min(x, y) == NO_PIXEL else (x, y)
    result = actions.gan_attention(spec, seed=seed, class_id=_class_value(cls), query_xy=point, owner=owner(request),
                                   layer=layer, head=head, attention_off=attention_off)
    overlays = [(entry["panel"], f"{entry['name']}, {entry['head']} ({entry['k_grid'][0]}×{entry['k_grid'][1]} keys)")
                for entry in result["layers"]]
    ablation = [] if result["ablated"] is None else [
        (result["image"], "attention on"), (result["ablated"], "attention off"),
        (result["difference"], "difference (brighter = changed more)")]
    qx, qy = result["query_xy"]
    return result["image"], overlays, qx, qy, gr.update(value=ablation, visible=bool(ablation)), _note(result)


def on_new_model(spec, seed, cls, layer, head, attention_off, request: gr.Request):
    """Another generator: its view starts on a stroke of its digit, not on the pixel picked in the last one."""
    return on_gan(spec, seed, cls, None, None, layer, head, attention_off, request)


def on_pick_pixel(spec, seed, cls, layer, head, attention_off, evt: gr.SelectData, request: gr.Request):
    x, y = evt.index[0], evt.index[1]
    return on_gan(spec, seed, cls, x, y, layer, head, attention_off, request)


@handled
def on_layout(spec, layer, head, request: gr.Request):
    """The layer and head lists of the chosen generator (a choice it does not have goes back to "every")."""
    names, heads = actions.attention_layers(spec, owner=owner(request))
    layers = [("every layer", actions.EVERY)] + [(name, i) for i, name in enumerate(names)]
    head_choices = [("mean of heads", actions.EVERY)] + [(f"head {i + 1}", i) for i in range(max(heads))]
    keep_layer = layer if layer in [v for _, v in layers] else actions.EVERY
    keep_head = head if head in [v for _, v in head_choices] else actions.EVERY
    return gr.update(choices=layers, value=keep_layer), gr.update(choices=head_choices, value=keep_head)


def on_open_image(spec, request: gr.Request):
    """The Image tab was opened: list the attention generators again (a run saved meanwhile appears)."""
    return gr.update(choices=actions.list_attention_gans(owner(request)), value=spec)


def build_attention_tab(state: dict | None = None) -> None:
    """The Attention tab's widgets and events; called inside ``with gr.Tab("Attention")``."""
    with gr.Tab("Text"):
        gr.Markdown(TEXT_HELP)
        models = list_text_models()
        with gr.Row():
            model = gr.Dropdown(models, value=models[0] if models else None, allow_custom_value=True,
                                label="Model (bundled name or Hub id)", scale=1)
            prompt = gr.Textbox(DEFAULT_PROMPT, lines=2, label="Prompt", scale=3)
            continue_tokens = gr.Slider(0, actions.MAX_CONTINUATION, value=0, step=1, scale=1,
                                        label="Tokens to generate first")
        with gr.Row():
            show_btn = gr.Button("Show attention", variant="primary", elem_id="attention-show", scale=2)
            positions_off = gr.Checkbox(False, label="Remove position embeddings (redraws without them)", scale=1,
                                        elem_id="attention-positions-off")
        explorer = attention_view(view, explain)
        note = gr.Markdown("", elem_id="attention-note")
        inputs = [model, prompt, continue_tokens, positions_off]
        show_btn.click(on_attention, inputs, [explorer, note], api_name="attention", **PAGE_API, **DEVICE_WORK)
        positions_off.input(on_attention, inputs, [explorer, note], api_visibility="private", **DEVICE_WORK)

    with gr.Tab("Image") as image_page:
        gr.HTML("", head=OVERLAYS_CSS, visible="hidden")
        gr.Markdown(IMAGE_HELP)
        gans = actions.list_attention_gans()
        with gr.Row():
            gan = gr.Dropdown(gans, value=gans[0] if gans else None, allow_custom_value=True, label="Generator with attention",
                              info="bundled, or one of your saved SAGAN / Transformer runs", elem_id="gan-attention-model")
            seed = gr.Number(0, precision=0, minimum=0, label="Seed")
            cls = gr.Number(ANY_CLASS, precision=0, minimum=ANY_CLASS, label="Class (-1 = unconditional / 0)")
            # where the view looks from, on the shown picture (the API's x, y); the page reads it in the note, in the
            # digit's own pixels
            qx = gr.Number(NO_PIXEL, precision=0, label="Pixel x", minimum=NO_PIXEL, visible=False)
            qy = gr.Number(NO_PIXEL, precision=0, label="Pixel y", minimum=NO_PIXEL, visible=False)
        with gr.Row():
            # API callers name a layer or head before this session's lists are filled in: the action checks it
            layer = gr.Dropdown([("every layer", actions.EVERY)], value=actions.EVERY, label="Layer",
                                allow_custom_value=True, elem_id="gan-attention-layer")
            head = gr.Dropdown([("mean of heads", actions.EVERY)], value=actions.EVERY, label="Head",
                               allow_custom_value=True, elem_id="gan-attention-head")
            attention_off = gr.Checkbox(False, label="Attention off: redraw the same sample without it",
                                        elem_id="gan-attention-off")
        gan_btn = gr.Button("Generate", variant="primary", elem_id="gan-attention-generate")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=280):
                image = gr.Image(label="Click a pixel of the digit", type="pil", interactive=False, format="png",
                                 height=300, elem_id="gan-attention-image")
                note = gr.Markdown("", elem_id="gan-attention-note")
            with gr.Column(scale=2, min_width=280):
                overlays = gr.Gallery(label="Where it attends, one panel per layer", columns=2, format="png", object_fit="contain", height="auto",
                                      allow_preview=False, elem_id="gan-overlays")
        ablation = gr.Gallery(label="Attention on / off", columns=3, format="png", object_fit="contain",
                              height="auto", visible=False, elem_id="gan-ablation")
        view_inputs = [layer, head, attention_off]
        outputs = [image, overlays, qx, qy, ablation, note]
        gan_btn.click(on_gan, [gan, seed, cls, qx, qy, *view_inputs], outputs, api_name="gan_attention",
                      **PAGE_API, **DEVICE_WORK).success(on_layout, [gan, layer, head], [layer, head],
                                                      api_visibility="private")
        image.select(on_pick_pixel, [gan, seed, cls, *view_inputs], outputs, api_visibility="private", **DEVICE_WORK)
        gan.change(on_layout, [gan, layer, head], [layer, head], api_visibility="private").success(
            on_new_model, [gan, seed, cls, *view_inputs], outputs, api_visibility="private", **DEVICE_WORK)
        gr.on([layer.input, head.input, attention_off.input], on_gan, [gan, seed, cls, qx, qy, *view_inputs], outputs,
              api_visibility="private", trigger_mode="always_last", **DEVICE_WORK)
        image_page.select(on_open_image, gan, gan, api_visibility="private")
        gr.on([seed.change, cls.change], lambda: (NO_PIXEL, NO_PIXEL), None, [qx, qy], api_visibility="private",
              queue=False)  # another sample: its view starts on a stroke again
