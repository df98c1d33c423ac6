"""Text tab: continue a prompt with our GPT, tokens streaming in, each coloured by how sure the model was.

Widgets only; every computation is a call into ``ganstudio.actions.text``.
API endpoint (for gradio_client): ``generate`` (model, prompt, max_new_tokens, temperature, top_k,
top_p, repetition_penalty, seed) -> (text, coloured HTML, note, top-5 HTML, stats), streamed.
"""

from __future__ import annotations

import html
import math
import random

import gradio as gr

from ganstudio.actions import text as actions
from ganstudio.errors import StudioError
from ganstudio.ui.common import DEVICE_WORK, owner, user_error

DEFAULT_PROMPT = "ROMEO.\nBut soft, what light through yonder window breaks?\n"
SLIDER_MAX_TOKENS = 1024  # the API accepts up to the engine's cap; the slider stops here

HELP = (
    "Type a prompt and press **Generate**: the model adds one token at a time. Each new token is shaded by the "
    "probability the model gave it (**green** ≈ 100 %, **yellow** ≈ 3 %, **red** ≤ 0.1 %: a surprise); hover a "
    "token for its top-5 alternatives, or pick a step below. **Temperature** 0 always takes the likeliest token; "
    "higher values take more risks. **Top-k** / **top-p** sample only among the likeliest tokens. "
    "`shakespeare-gpt` is bundled and works offline; Hub ids such as `openai-community/gpt2` download once."
)

CSS = """
.gs-tokens {white-space: pre-wrap; font-family: ui-monospace, monospace; line-height: 1.7; font-size: 0.95em}
.gs-tokens .gs-prompt {color: var(--body-text-color-subdued)}
.gs-tokens .gs-tok {border-radius: 3px; color: #111}
.gs-top5 table {border-collapse: collapse} .gs-top5 td {padding: 2px 10px; font-family: ui-monospace, monospace}
"""


def _colour(prob: float) -> str:
    """Red (p <= 0.1%) through yellow (~3%) to green (p = 1), on a log scale: most tokens are far below 50%."""
    level = (math.log10(max(prob, 1e-3)) + 3) / 3
    return f"hsl({int(120 * max(0.0, min(1.0, level)))}, 75%, 72%)"


def _show(text: str) -> str:
    """A token's text as HTML; a bare newline would be invisible, so show a return symbol before it."""
    return html.escape(text).replace("\n", "↵\n")


def tokens_html(prompt: str, tokens: list[dict]) -> str:
    """The prompt in grey, then every token on its probability's colour, with top-5 in the tooltip."""
    parts = [f"<div class='gs-tokens'><span class='gs-prompt'>{html.escape(prompt)}</span>"]
    for i, token in enumerate(tokens):
        alternatives = " | ".join(f"{alt!r} {p:.1%}" for alt, p in token["top5"])
        tip = html.escape(f"step {i + 1}: p = {token['prob']:.1%}\ntop 5: {alternatives}", quote=True)
        shown = "⏹" if token.get("eos") else _show(token["text"])
        parts.append(f"<span class='gs-tok' style='background:{_colour(token['prob'])}' title=\"{tip}\">{shown}</span>")
    parts.append("</div>")
    return "".join(parts)


def top5_html(tokens: list[dict], step: int | None) -> str:
    """The model's five likeliest next tokens at `step` (1-based), the chosen one marked."""
    if not tokens:
        return "<div class='gs-top5'><em>No tokens yet.</em></div>"
    index = len(tokens) - 1 if step is None else max(0, min(len(tokens) - 1, int(step) - 1))
    token = tokens[index]
    chosen = "end of text" if token.get("eos") else repr(token["text"])
    rows = "".join(
        f"<tr><td>{'▶' if abs(p - token['prob']) < 1e-9 and alt == token['text'] else ''}</td>"
        f"<td>{html.escape(repr(alt))}</td><td>{p:.2%}</td></tr>"
        for alt, p in token["top5"]
    )
    return (f"<div class='gs-top5'><b>Step {index + 1}</b>: chose {html.escape(chosen)} "
            f"(p = {token['prob']:.2%})<table>{rows}</table></div>")


def _stats(state: dict) -> str:
    if not state["tokens"]:
        return "Loading the model and reading the prompt…"
    reason = {"eos": "reached end-of-text", "length": "reached max new tokens", "stopped": "stopped"}
    tail = f" · {reason.get(state['stop_reason'], '')}" if state["done"] else ""
    return f"{len(state['tokens'])} tokens · {state['tokens_per_s']:.1f} tokens/s{tail}"


def on_generate(model, prompt, max_new_tokens, temperature, top_k, top_p, repetition_penalty, seed,
                request: gr.Request, progress=gr.Progress()):
    """Stream (plain text, coloured HTML, note, top-5 of the latest step, stats, step slider, tokens)."""
    yield prompt, "", "", top5_html([], None), "Loading the model…", gr.update(), []
    try:
        stream = actions.generate_stream(
            model, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
            repetition_penalty=repetition_penalty, seed=None if seed in (None, "") else seed,
            owner=owner(request), progress=lambda line: progress(None, desc=line),
        )
        for state in stream:
            tokens = state["tokens"]
            yield (
                state["text"],
                tokens_html(state["prompt"], tokens),
                state["note"],
                top5_html(tokens, None),
                _stats(state),
                gr.update(maximum=max(2, len(tokens)), value=max(1, len(tokens)), interactive=bool(tokens)),
                tokens,
            )
    except StudioError as err:
        raise user_error(err) from None


def on_pick_step(tokens, step):
    return top5_html(tokens or [], step)


def build_text_tab(state: dict | None = None) -> None:
    """The Text tab's widgets and events; called inside ``with gr.Tab("Text")``."""
    gr.Markdown(HELP)
    models = actions.list_text_models()
    with gr.Row():
        with gr.Column(scale=2):
            model = gr.Dropdown(models, value=models[0] if models else None, allow_custom_value=True,
                                label="Model (bundled name, folder or Hub id)")
            prompt = gr.Textbox(DEFAULT_PROMPT, lines=4, label="Prompt")
            with gr.Row():
                generate_btn = gr.Button("Generate", variant="primary")
                stop_btn = gr.Button("Stop", variant="stop")
        with gr.Column(scale=1):
            max_new_tokens = gr.Slider(1, SLIDER_MAX_TOKENS, value=120, step=1, label="Max new tokens")
            temperature = gr.Slider(0.0, 2.0, value=0.8, step=0.05, label="Temperature (0 = greedy)")
            top_k = gr.Slider(0, 200, value=40, step=1, label="Top-k (0 = off)")
            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.01, label="Top-p (1 = off)")
            repetition_penalty = gr.Slider(1.0, 2.0, value=1.0, step=0.05, label="Repetition penalty (1 = off)")
            with gr.Row():
                seed = gr.Number(0, precision=0, minimum=0, label="Seed (same seed, same text)", scale=3)
                dice = gr.Button("Random seed", scale=1, min_width=60)
    note = gr.Markdown("")
    coloured = gr.HTML("", label="Generated text", css_template=CSS)
    stats = gr.Markdown("")
    with gr.Row():
        step = gr.Slider(1, 2, value=1, step=1, label="Inspect step", interactive=False)
        top5 = gr.HTML(top5_html([], None), css_template=CSS)
    with gr.Accordion("Plain text", open=False):
        plain = gr.Textbox(label="Text", lines=6, buttons=["copy"])
    tokens_state = gr.State([])

    event = generate_btn.click(
        on_generate,
        [model, prompt, max_new_tokens, temperature, top_k, top_p, repetition_penalty, seed],
        [plain, coloured, note, top5, stats, step, tokens_state],
        api_name="generate",
        **DEVICE_WORK,
    )
    stop_btn.click(None, None, None, cancels=[event])
    dice.click(lambda: random.randrange(2**31), None, seed, api_visibility="private")
    step.input(on_pick_step, [tokens_state, step], top5, api_visibility="private")
