"""Attention tab: what each token looks at in our GPT, and where each pixel looks in an attention GAN.

Widgets only; every computation is a call into ``ganstudio.actions.attention``.
API endpoints (for gradio_client): ``attention`` (model, prompt, tokens to generate first) -> (the
explorer's data: tokens, every head's thumbnail, layer 0 head 0, a token for more; note), and
``gan_attention`` (model, seed, class, x, y) -> (image, overlays).
"""

from __future__ import annotations

import gradio as gr

from ganstudio.actions import attention as actions
from ganstudio.actions.text import list_text_models
from ganstudio.errors import StudioError
from ganstudio.ui.attention_view import attention_view
from ganstudio.ui.common import DEVICE_WORK, PAGE_API, handled, owner, user_error

DEFAULT_PROMPT = "The king is dead. Long live the king, for the king is wise."
ANY_CLASS = -1

TEXT_HELP = (
    "Row *i* of a heatmap is what token *i* looks at when the model predicts the token after it; brighter = more "
    "attention, every row sums to 1, and a token can only look back (the upper triangle is empty). **Heads "
    "averaged** merges one layer's heads; **rollout** (Abnar & Zuidema, 2020) follows attention through all "
    "layers, counting the residual connection as half of each step. Many models park spare attention on the "
    "first token: tick *discount the first token* to hide it. Let the model **generate** a few tokens first to see "
    "attention over its own continuation too. Click a row to work one query through softmax(q·kᵀ/√dₖ)·V."
)
IMAGE_HELP = (
    "An attention-based generator draws the image from a grid of features that attend to each other. "
    "Click a pixel of the generated image to see, for every attention layer, where that pixel's feature looks."
)

@handled
def on_attention(model, prompt, continue_tokens, request: gr.Request, progress=gr.Progress()):
    """Run the model once (generating ``continue_tokens`` first if asked); the explorer draws the rest."""
    data = actions.explore_attention(model, prompt, owner=owner(request), continue_tokens=continue_tokens,
                                     progress=lambda line: progress(None, desc=line))
    tokens = " ".join(f"{i}:{t!r}" for i, t in enumerate(data["tokens"]))
    note = (data["note"] + "\n\n" if data["note"] else "") + f"**{len(data['tokens'])} tokens** — {tokens}"
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
                                label="Model (bundled name or Hub id)", scale=1)
            prompt = gr.Textbox(DEFAULT_PROMPT, lines=2, label="Prompt", scale=3)
            continue_tokens = gr.Slider(0, actions.MAX_CONTINUATION, value=0, step=1, scale=1,
                                        label="Tokens to generate first")
        show_btn = gr.Button("Show attention", variant="primary", elem_id="attention-show")
        explorer = attention_view(view, explain)
        note = gr.Markdown("")
        show_btn.click(on_attention, [model, prompt, continue_tokens], [explorer, note], api_name="attention",
                       **PAGE_API,
                       **DEVICE_WORK)

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
            overlays = gr.Gallery(label="Where it attends, per layer", columns=2, format="png", object_fit="contain",
                                  height="auto", elem_id="gan-overlays")
        gan_btn.click(on_gan, [gan, seed, cls, qx, qy], [image, overlays, qx, qy], api_name="gan_attention",
                      **PAGE_API, **DEVICE_WORK)
        image.select(on_pick_pixel, [gan, seed, cls], [image, overlays, qx, qy], api_visibility="private", **DEVICE_WORK)
