"""Text tab: continue a prompt with our GPT, tokens streaming in, each coloured by how sure the model was.

Widgets only; every computation is a call into ``ganstudio.actions.text``.
API endpoints (for gradio_client): ``generate`` (model, prompt, max_new_tokens, temperature, top_k, top_p,
repetition_penalty, seed, pace: "readable" | "full speed") -> the token view's update, streamed: each holds only the new tokens (``start`` is the
index of the first); the first also the prompt's tail and ``note`` (set when the prompt was cut), the last also
``text`` (the continuation) and ``stop_reason``; ``stop_generation`` ends this session's generation;
``next_token_chart`` (model, prompt, temperature, top_k, top_p, repetition_penalty) -> the chart's bars.
"""

from __future__ import annotations

import random
import time

import gradio as gr

from ganstudio.actions import next_token
from ganstudio.actions import text as actions
from ganstudio.errors import StudioError
from ganstudio.limits import LIMITS
from ganstudio.ui.common import DEVICE_WORK, PAGE_API, handled, owner, share_button
from ganstudio.ui.next_token_view import next_token_view
from ganstudio.ui.token_view import token_view

DEFAULT_PROMPT = "ROMEO.\nBut soft, what light through yonder window breaks?\n"

HELP = (
    "Type a prompt and press **Generate**: the model adds one token at a time. Each new token is shaded by the "
    "probability the model gave it (**green** ≈ 100 %, **yellow** ≈ 3 %, **red** ≤ 0.1 %: a surprise); hover a "
    "token for its top-5 alternatives, or click it to keep the table. **Temperature** 0 always takes the likeliest token; "
    "higher values take more risks. **Top-k** / **top-p** sample only among the likeliest tokens: the chart beside "
    "the text shows what they leave of the next token's chances before you generate. **Pace** *readable* streams "
    "about 12 tokens a second; *full speed* as fast as the model goes. "
    "`shakespeare-gpt` is bundled and works offline; Hub ids such as `openai-community/gpt2` download once."
)

PROMPT_TAIL_CHARS = 2000  # the prompt is shown (once) up to this many last characters: a 1 MB prompt is not sent back
PLAIN_JS = "(prompt, v) => (v && v.text !== undefined) ? prompt + v.text : prompt"  # the Plain text box, at the end
UPDATE_EVERY_S = 0.06  # the page gets at most ~16 updates a second, each with only the tokens that are new


def _payload(token: str, start: int, new: list[dict], count: int, rate: float, done: bool = False,
             stop_reason: str | None = None, prompt_tail: str | None = None) -> dict:
    value = {"token": token, "start": start, "tokens": new, "count": count, "tokens_per_s": rate, "done": done,
             "stop_reason": stop_reason}
    if prompt_tail is not None:
        value["prompt_tail"] = prompt_tail
    return value


@handled
def on_generate(model, prompt, max_new_tokens, temperature, top_k, top_p, repetition_penalty, seed, pace,
                request: gr.Request, progress=gr.Progress()):
    """Stream the token view's updates, each with only the tokens that are new (the first also carries the prompt's
    tail and any note; the last, the text). One output only: Gradio 6 rebuilds a component for every `gr.skip()`
    it is sent, which cost more of the event loop than the tokens themselves under load."""
    events = actions.generate_stream(
        model, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
        repetition_penalty=repetition_penalty, seed=None if seed in (None, "") else seed,
        owner=owner(request), progress=lambda line: progress(None, desc=line), pace=pace,
    )
    token, tail, sent, pending, last = "", "", 0, [], 0.0
    for event in events:
        if event["event"] == "start":
            token = event["token"]
            tail = event["prompt"][-PROMPT_TAIL_CHARS:]
            if len(event["prompt"]) > PROMPT_TAIL_CHARS:
                tail = f"…({len(event['prompt']) - PROMPT_TAIL_CHARS:,} characters before) " + tail
            yield {**_payload(token, 0, [], 0, 0.0, prompt_tail=tail), "note": event["note"]}
        elif event["event"] == "token":
            pending.append(event["token"])
            now = time.monotonic()
            if now - last >= UPDATE_EVERY_S:
                yield _payload(token, sent, pending, event["count"], event["tokens_per_s"])
                sent, pending, last = sent + len(pending), [], now
        else:  # the last update also carries the prompt and the text, for a link that reopens this result
            final = _payload(token, sent, pending, event["count"], event["tokens_per_s"], True, event["stop_reason"],
                             prompt_tail=tail)
            yield {**final, "text": event["continuation"]}


def on_chart(model, prompt, temperature, top_k, top_p, repetition_penalty, request: gr.Request) -> dict:
    """The chart of the prompt's next token under these settings (the model runs once per model and prompt; a
    slider move only re-filters). A mistake (an empty prompt while typing) shows in the chart, not as a pop-up."""
    try:
        return next_token.prompt_chart(model, prompt, temperature, top_k, top_p, repetition_penalty,
                                       owner=owner(request))
    except StudioError as err:
        return {"error": str(err)}


def running(active: bool):
    """Stop is live only while a generation runs."""
    return gr.update(interactive=active)


@handled
def on_stop(request: gr.Request) -> None:
    """Stop this visitor's generation: it ends at its decode group's next step (a fraction of a second)."""
    actions.stop_generation(owner(request))


def on_share(request: gr.Request) -> None:
    """A link to this result is being copied: keep its tokens for whoever opens it, after this session ends too."""
    actions.share_generation(owner(request))


def tokens(args):
    """Server function of the token view: [token, index] -> the generation's tokens from index on."""
    token, index = (list(args) + [None, 0])[:2] if isinstance(args, (list, tuple)) else (None, 0)
    return actions.tokens_since(token, index)


def build_text_tab(state: dict | None = None) -> None:
    """The Text tab's widgets and events; called inside ``with gr.Tab("Text")``."""
    gr.Markdown(HELP)
    models = actions.list_text_models()
    with gr.Row():
        with gr.Column(scale=2):
            model = gr.Dropdown(models, value=models[0] if models else None, allow_custom_value=True,
                                label="Model (bundled name or Hub id)")
            prompt = gr.Textbox(DEFAULT_PROMPT, lines=4, label="Prompt")
            with gr.Row():
                generate_btn = gr.Button("Generate", variant="primary", elem_id="text-generate")
                stop_btn = gr.Button("Stop", variant="secondary", interactive=False, elem_id="text-stop")
            pace = gr.Radio(list(actions.PACES), value="readable", label="Pace", elem_id="text-pace",
                            info="readable: ~12 tokens a second; full speed: as fast as the model goes")
        with gr.Column(scale=1):
            max_new_tokens = gr.Slider(1, LIMITS.max_new_tokens, value=120, step=1, label="Max new tokens")
            temperature = gr.Slider(0.0, 2.0, value=0.8, step=0.05, label="Temperature (0 = greedy)")
            top_k = gr.Slider(0, 200, value=40, step=1, label="Top-k (0 = off)")
            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.01, label="Top-p (1 = off)")
            repetition_penalty = gr.Slider(1.0, 2.0, value=1.0, step=0.05, label="Repetition penalty (1 = off)")
            with gr.Row():
                seed = gr.Number(0, precision=0, label="Seed (same seed, same text)", scale=3)
                dice = gr.Button("Random seed", scale=1, min_width=60)
    with gr.Row():
        with gr.Column(scale=3):
            stream = token_view(tokens)
        with gr.Column(scale=2, min_width=320):
            chart = next_token_view()
    share = share_button()
    with gr.Accordion("Plain text", open=False):
        plain = gr.Textbox(label="Text", lines=6, buttons=["copy"], elem_id="text-plain")

    generate_btn.click(lambda: running(True), None, stop_btn, queue=False, api_visibility="private")
    generation = generate_btn.click(
        on_generate,
        [model, prompt, max_new_tokens, temperature, top_k, top_p, repetition_penalty, seed, pace],
        stream,
        api_name="generate", **PAGE_API,
        show_progress="minimal",
        **DEVICE_WORK,
    )
    generation.success(None, [prompt, stream], plain, js=PLAIN_JS)  # in the page: the server is not asked again
    generation.then(lambda: running(False), None, stop_btn, queue=False, api_visibility="private")
    chart_inputs = [model, prompt, temperature, top_k, top_p, repetition_penalty]
    loads = [state["demo"].load] if state and "demo" in state else []  # the chart is there when the page opens
    gr.on([model.change, prompt.change, temperature.change, top_k.change, top_p.change, repetition_penalty.change,
           *loads],
          on_chart, chart_inputs, chart, api_name="next_token_chart", **PAGE_API, trigger_mode="always_last",
          show_progress="hidden", **DEVICE_WORK)
    stop_btn.click(on_stop, None, None, api_name="stop_generation", queue=False, **PAGE_API)  # not behind anyone
    dice.click(lambda: random.randrange(2**31), None, seed, api_visibility="private")
    share.click(on_share, None, None, queue=False, api_visibility="private")
