"""The studio's tools for assistants and scripts: one typed function per task, its docstring the description.

``python app.py`` serves them as MCP tools at ``/gradio_api/mcp/`` (``launch(mcp_server=True)``) and as the
public endpoints of the API page. The tabs' own events are "undocumented": gradio_client can still call them
by name, but they are not offered as tools (their inputs and outputs are shaped for the page, not for an assistant).
Each call is its own session: its files, runs and quotas are that session's, like a visitor's.
"""

import secrets
import time
from typing import Literal

import gradio as gr

from ganstudio.actions import attention as attention_actions
from ganstudio.actions import explore as explore_actions
from ganstudio.actions import text as text_actions
from ganstudio.actions import train as train_actions
from ganstudio.actions import visitors
from ganstudio.ui.common import client_address, handled

TOP_ATTENDED = 3  # read_attention: per token, the tokens it attends to most
MATRIX_TOKENS = 48  # read_attention: up to this many tokens the whole matrix comes back too
POLL_S = 0.5  # how often train_gan looks at its run (each look also keeps the run from idling out)
WAIT_S = 240.0  # train_gan gives up on a run that has not finished by then (queued behind others, say)
FINISHED = ("done", "cancelled")  # a run that ended and, once saved, has its picture and figures


def _caller(request: gr.Request | None) -> str:
    """A session of its own for each call: an assistant's calls all arrive through one Gradio client, and must
    not share runs or files (quotas still count the caller's address)."""
    return visitors.visit(f"tool-{secrets.token_hex(8)}", client_address(request))


def _image(path: str, name: str) -> dict:
    """An image result: a file in the caller's session folder (MCP clients get it inline, API clients by URL)."""
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}


@handled
def sample_gan(model: str = "digits-dcgan", n: int = 16, seed: int = 0, truncation: float = 1.0, digit: int = -1,
               request: gr.Request = None) -> dict:
    """Draw a grid of samples from a GAN generator (images, or 2D points for a toy model).

    Args:
        model: a bundled generator (digits-dcgan, digits-sagan, digits-cdcgan), a Hub repo id owner/name (GAN Studio models and HugGAN DCGANs such as huggan/dcgan-mnist), or the name of a model trained in this session
        n: how many samples, 1 to 64
        seed: random seed; the same seed draws the same samples
        truncation: truncation psi between 0.1 and 1; lower values give more typical, less varied samples
        digit: for a class-conditional generator (digits-cdcgan), the class to draw; -1 draws every class in turn

    Returns:
        the sample grid as a PNG image
    """
    paths = explore_actions.export(model, seed=seed, n=n, truncation_psi=truncation,
                                   class_id=None if digit is None or digit < 0 else digit, owner=_caller(request))
    return _image(paths["png_path"], "samples.png")


@handled
def generate_text(prompt: str, model: str = "", max_new_tokens: int = 60, temperature: float = 0.8, top_k: int = 40,
                  seed: int = 0, request: gr.Request = None) -> str:
    """Continue a prompt with a GPT-2-family language model, token by token.

    Args:
        prompt: the text to continue
        model: a bundled model (shakespeare-gpt) or a Hub repo id such as openai-community/gpt2; empty picks the default
        max_new_tokens: how many tokens to add, 1 to 1024
        temperature: 0 always takes the likeliest token; higher values (up to 2) take more risks
        top_k: sample only among the k likeliest tokens (0 = no limit)
        seed: random seed; the same seed and settings give the same text

    Returns:
        the continuation (the prompt itself is not repeated)
    """
    model = model or text_actions.list_text_models()[0]
    end = {}
    for event in text_actions.generate_stream(model, prompt, max_new_tokens=max_new_tokens, temperature=temperature,
                                              top_k=top_k, seed=seed, owner=_caller(request)):
        if event["event"] == "end":
            end = event
    return end.get("continuation", "")


@handled
def read_attention(prompt: str, model: str = "", layer: int = -1, head: int = -1,
                   request: gr.Request = None) -> dict:
    """Read what each token of a prompt attends to in a GPT-2-family model.

    Args:
        prompt: the text to analyse (long prompts keep their last 512 tokens)
        model: a bundled model (shakespeare-gpt) or a Hub repo id such as openai-community/gpt2; empty picks the default
        layer: which layer, from 0; -1 means the last layer
        head: which attention head, from 0; -1 averages the layer's heads

    Returns:
        the tokens; for each token the three tokens it attends to most, with weights; the layer and head read; the model's layer and head counts; and, for prompts of up to 48 tokens, the whole attention matrix (row i: what token i attends to)
    """
    model = model or text_actions.list_text_models()[0]
    data = attention_actions.text_attention(model, prompt, owner=_caller(request))
    layers, heads = data["n_layers"], data["n_heads"]
    layer_i = layers - 1 if layer is None or layer < 0 else attention_actions.clamp_index("layer", layer, layers)
    maps = data["attentions"][layer_i]  # (heads, T, T)
    if head is None or head < 0:
        matrix, head_read = maps.mean(axis=0), "average of all heads"
    else:
        head_i = attention_actions.clamp_index("head", head, heads)
        matrix, head_read = maps[head_i], head_i
    tokens = data["tokens"]
    strongest = []
    for i, row in enumerate(matrix):
        order = row[: i + 1].argsort()[::-1][:TOP_ATTENDED]
        strongest.append({"token": tokens[i], "attends_to": [[tokens[j], round(float(row[j]), 3)] for j in order]})
    result = {"model": data["model"], "layers": layers, "heads": heads, "layer": layer_i, "head": head_read,
              "tokens": tokens, "strongest": strongest, "note": data["note"]}
    if len(tokens) <= MATRIX_TOKENS:
        result["matrix"] = [[round(float(v), 3) for v in row] for row in matrix]
    return result


@handled
def train_gan(data: Literal["ring8", "grid25", "spiral", "moons", "digits"] = "ring8", seconds: float = 15.0,
              request: gr.Request = None) -> tuple[dict, dict]:
    """Train a small GAN for a few seconds and return what it learnt.

    Args:
        data: a 2D toy distribution (ring8, grid25, spiral, moons) or handwritten digits
        seconds: training time, 1 to 60 seconds (the host may allow less)

    Returns:
        a picture of the result (generated points over the real ones, or a grid of generated digits) and the run's final figures (steps, speed, quality metrics)
    """
    who = _caller(request)
    train_actions.start_training(who, {"data": data, "seconds": seconds, "steps": 0})
    deadline = time.monotonic() + WAIT_S
    info = train_actions.poll_training(who)
    while not (info["state"] in FINISHED and info["saved"]):
        if info["state"] == "failed" or time.monotonic() > deadline:
            raise gr.Error(f"the run did not finish: {info['text']}", print_exception=False)
        time.sleep(POLL_S)
        info = train_actions.poll_training(who)
    folder = train_actions.trained_folder(who, info["run"])
    figures = {"run": info["run"], "data": data, "ended_by": info["ended_by"],
               **train_actions.run_figures(who, info["run"])}
    return _image(str(folder / "samples.png"), "samples.png"), figures


TOOLS = (sample_gan, generate_text, read_attention, train_gan)
# Gradio's MCP server hands a queued tool's outputs back as one value; train_gan's two (picture and figures) come
# back as two results only on the direct path. It waits on the engine, not on the device, so it needs no queue slot.
UNQUEUED = (train_gan,)
