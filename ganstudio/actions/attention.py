"""What attention looks at, for text (our GPT) and for images (attention-based GAN generators).

Plain types in and out: numpy arrays, PIL images, lists, dicts. Forward passes run on the
engine's worker; the pictures are drawn here with numpy + PIL (``ganstudio.gpt.heatmaps``).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from PIL import Image

from ganstudio.actions import generators
from ganstudio.actions.text import loaded_gpt
from ganstudio.actions.train import trained_folder, trained_models
from ganstudio.actions.visitors import session_of
from ganstudio.checks import boolean, integer, shown, text
from ganstudio.engine import get_engine
from ganstudio.errors import BadInput, BadModel
from ganstudio.gan import latents
from ganstudio.gpt import attention as gpt_attention
from ganstudio.gpt import heatmaps
from ganstudio.gpt.generate import SamplingConfig, encode_prompt, generate_ids
from ganstudio.limits import LIMITS
from ganstudio.sessions import SESSIONS

MAX_ATTENTION_TOKENS = LIMITS.max_attention_tokens
GAN_DISPLAY_SIZE = 256  # the generated image is shown (and clicked) at this size
CACHE_GAN_RESULTS = 8  # (model, seed, class, attention off) forward passes kept, so clicking around is instant
MAX_SEED = LIMITS.max_seed
ATTENTION_ARCHS = ("sagan", "transformer")  # GAN generators that have attention layers to show

_gan_results: OrderedDict[tuple, tuple] = OrderedDict()  # (model key, seed, class, off) -> (pixels, layers, ablated)
_gan_results_lock = threading.Lock()


# ---- text ------------------------------------------------------------------------------


MAX_CONTINUATION = 64  # tokens the model may add before its attention is shown
GUESSES = 5  # next-token guesses shown under the explorer


def text_attention(model: str, prompt: str, owner: str = "cli", continue_tokens: int = 0,
                   progress=None, positions_off: bool = False) -> dict:
    """Attention weights of every layer and head over ``prompt`` and, if asked, its greedy continuation.

    Returns ``tokens`` (list[str], how each token reads), ``ids``, ``attentions`` (float32
    (layers, heads, T, T); row i is what token i looks at, rows sum to 1, zero above the
    diagonal), ``guesses`` ([[token, probability]]: the model's five likeliest tokens after the last one),
    ``prompt_len`` (tokens of the prompt; the rest were generated), ``n_layers``,
    ``n_heads``, ``model``, ``positions_off`` and ``note`` (non-empty when the prompt was cut from the left to fit
    ``MAX_ATTENTION_TOKENS`` or the model's context). ``positions_off``: the attention and the guesses of the
    same model run without its position embeddings (a forward argument; the cached model is not changed); the
    continuation, if any, is still the normal model's.
    """
    prompt = text("prompt", prompt, LIMITS.max_prompt_chars,
                  empty="the prompt is empty: type a sentence to see what attends to what")
    continue_tokens = integer("tokens to generate first", continue_tokens or 0, 0, MAX_CONTINUATION)
    positions_off = boolean("remove position embeddings", False if positions_off is None else positions_off)
    loaded = loaded_gpt(model, owner, progress)
    limit = min(loaded.config.n_positions, MAX_ATTENTION_TOKENS)
    encoded = encode_prompt(loaded.tokenizer, prompt, limit - continue_tokens)

    def work():
        ids = list(encoded.ids)
        if continue_tokens:
            greedy = SamplingConfig(max_new_tokens=continue_tokens, temperature=0.0)
            ids += [i for i in generate_ids(loaded.model, loaded.tokenizer, ids, greedy) if i != loaded.tokenizer.eos_id]
        attentions, logits = gpt_attention.attention_and_logits(loaded.model, ids, positions=not positions_off)
        similarity = gpt_attention.position_similarity(loaded.model, len(ids))
        return ids, attentions, logits, similarity

    ids, attentions, logits, similarity = get_engine().run(work, owner=owner)
    note = ""
    if encoded.dropped:
        note = (f"The prompt is {encoded.dropped + len(encoded.ids)} tokens; only the last {len(encoded.ids)} are "
                f"shown (its first {encoded.dropped} were cut).")
    top = logits.softmax(-1).topk(GUESSES)
    return {
        "model": str(model).strip(),
        "ids": ids,
        "tokens": loaded.tokenizer.token_strings(ids),
        "attentions": attentions,
        "guesses": [[loaded.tokenizer.piece(int(i)), float(p)] for i, p in zip(top.indices, top.values)],
        "positions": similarity,
        "positions_off": positions_off,
        "prompt_len": len(encoded.ids),
        "n_layers": int(attentions.shape[0]),
        "n_heads": int(attentions.shape[1]),
        "note": note,
    }


def explore_attention(model: str, prompt: str, owner: str = "cli", continue_tokens: int = 0, progress=None,
                      positions_off: bool = False) -> dict:
    """Analyse a prompt and keep the result in the visitor's session; returns what the page's explorer
    draws first: tokens, the layers x heads overview, the most focused head (``opening``: which and why), the
    position embeddings' similarity, the next-token guesses, and the ``token`` it asks for more with."""
    data = text_attention(model, prompt, owner, continue_tokens, progress, positions_off)
    token = SESSIONS.new_token(session_of(owner))
    session_of(owner).attention = {"token": token, **{k: data[k] for k in ("model", "ids", "tokens", "attentions",
                                                                            "prompt_len", "positions_off")}}
    opening = gpt_attention.focused_head(data["attentions"])
    return {"token": token, "model": data["model"], "tokens": data["tokens"], "prompt_len": data["prompt_len"],
            "n_layers": data["n_layers"], "n_heads": data["n_heads"], "note": data["note"],
            "guesses": data["guesses"], "positions_off": data["positions_off"],
            "positions": heatmaps.signed_payload(data["positions"]),
            "opening": {**opening, "why": opening_reason(opening)},
            "overview": heatmaps.overview_payload(data["attentions"]),
            "view": view_payload(data["attentions"], "head", opening["layer"], opening["head"], False)}


def opening_reason(opening: dict) -> str:
    """Why the explorer opens on this head, in a line the learner reads above it."""
    left = (f"; {opening['left_out']} head(s) that mostly look at the first token or at the token itself were left "
            "out") if opening["left_out"] else ""
    return (f"Opened on layer {opening['layer']}, head {opening['head']}: the most focused head (its attention "
            f"rows are the least spread out, {opening['spread']:.0%} of evenly spread on average){left}.")


def view_payload(attentions: np.ndarray, view: str = "head", layer: int = 0, head: int = 0,
                 discount_first_token: bool = False) -> dict:
    """One matrix for the explorer (see ``attention_view``), compact: ``heatmaps.matrix_payload`` plus its title."""
    shown = attention_view(attentions, [], view, layer, head, discount_first_token, size=0)
    return {**heatmaps.matrix_payload(shown["matrix"]), "title": shown["title"], "view": view,
            "layer": shown["layer"], "head": shown["head"]}


def view_for(token: Any, view: Any, layer: Any, head: Any, discount: Any) -> dict | None:
    """The explorer asks for another matrix of the analysis ``token`` names (server function)."""
    analysis = SESSIONS.attention_with_token(token) if isinstance(token, str) else None
    if analysis is None:
        return None
    return view_payload(analysis["attentions"], view, layer, head, boolean("discount first token", discount))


def explain_for(token: Any, layer: Any, head: Any, query: Any) -> dict | None:
    """Self-attention step by step for one head and one query token of the analysis ``token`` names."""
    from ganstudio.gpt.explain import explain_head

    analysis = SESSIONS.attention_with_token(token) if isinstance(token, str) else None
    if analysis is None:
        return None
    n_layers, n_heads, T = analysis["attentions"].shape[:3]
    layer = integer("layer", layer, 0, n_layers - 1)
    head = integer("head", head, 0, n_heads - 1)
    query = integer("query token", query, 0, T - 1)
    loaded = loaded_gpt(analysis["model"])
    positions = not analysis["positions_off"]
    return get_engine().run(lambda: explain_head(loaded.model, loaded.tokenizer, analysis["ids"], layer, head, query,
                                                 positions))


def head_average(attentions: np.ndarray) -> np.ndarray:
    """(layers, heads, T, T) -> (layers, T, T): each layer's heads averaged."""
    return gpt_attention.head_average(np.asarray(attentions))


def attention_rollout(attentions: np.ndarray, discount_first_token: bool = False) -> np.ndarray:
    """(T, T) attention rollout (Abnar & Zuidema 2020): how much each position draws on each input token.

    ``discount_first_token`` removes attention to token 0 first, which many models use as a
    resting place for attention they do not need.
    """
    return gpt_attention.rollout(np.asarray(attentions), discard_first=discount_first_token)


def clamp_index(name: str, value, count: int) -> int:
    """A layer or head number from the UI, checked (NaN, text -> BadInput) and clamped to the model's `count`."""
    return min(integer(name, 0 if value is None else value, 0, 10**6), count - 1)


def attention_view(attentions: np.ndarray, tokens: list[str], view: str = "head", layer: int = 0, head: int = 0,
                   discount_first_token: bool = False, size: int = 512) -> dict:
    """The matrix the Attention tab shows, with its picture and hover data.

    ``view``: ``"head"`` (one layer's one head), ``"average"`` (one layer, heads averaged) or
    ``"rollout"`` (all layers). Returns ``matrix`` (T, T), ``image`` (PIL), ``hover`` (see
    ``heatmaps.hover_payload``) and ``title``.
    """
    attentions = np.asarray(attentions)
    n_layers, n_heads = attentions.shape[:2]
    layer = integer("layer", layer, 0, n_layers - 1)
    head = integer("head", head, 0, n_heads - 1)
    if view == "head":
        matrix, title = attentions[layer, head], f"layer {layer}, head {head}"
    elif view == "average":
        matrix, title = attentions[layer].mean(axis=0), f"layer {layer}, average of {n_heads} heads"
    elif view == "rollout":
        matrix = attention_rollout(attentions, discount_first_token)
        title = "rollout over all layers" + (" (first token discounted)" if discount_first_token else "")
    else:
        raise BadInput(f"view must be 'head', 'average' or 'rollout', got {shown(view)}")
    out = {"matrix": matrix, "title": title, "layer": layer, "head": head}
    if size:
        out.update(image=heatmaps.heatmap_image(matrix, size), hover=heatmaps.hover_payload(matrix, tokens, size))
    return out


def overview_image(attentions: np.ndarray, thumb: int = 64) -> Image.Image:
    """Every layer (rows) and head (columns) at a glance."""
    return heatmaps.overview_image(np.asarray(attentions), thumb)


# ---- images ----------------------------------------------------------------------------


EVERY = -1  # layer: every attention layer; head: the mean of a layer's heads
CHANGED = 0.1  # a pixel "depends on attention" when switching it off moves it by more than 10 % of the range


def list_attention_gans(owner: str = "") -> list[str]:
    """Bundled GAN generators with attention layers (self-attention or transformer blocks), then this visitor's
    saved runs that have them (newest first): what Attention → Image lists, so nobody has to type a name."""
    from ganstudio.hub import bundled_models
    from ganstudio.weights_io import read_config

    bundled = sorted(name for name, meta in bundled_models().items()
                     if meta.get("kind") == "gan" and meta.get("arch") in ATTENTION_ARCHS)
    own = [name for name in trained_models(owner)
           if read_config(trained_folder(owner, name), name).get("arch") in ATTENTION_ARCHS]
    return bundled + own


def attention_layers(model_spec: str, owner: str = "cli") -> tuple[list[str], list[int]]:
    """The attention layers' names and head counts of a generator, read off its structure (no forward pass)."""
    from ganstudio.gan.attention import layer_layout

    loaded = generators.load(model_spec, owner)
    layout = layer_layout(loaded.generator) if loaded.data_kind == "image" else []
    if not layout:
        raise BadModel(f"{loaded.name} has no attention layers: pick an attention-based generator such as digits-sagan")
    return [name for name, _ in layout], [heads for _, heads in layout]


def gan_attention(model_spec: str, seed: int = 0, class_id: int | None = None,
                  query_xy: tuple[float, float] | None = None, owner: str = "cli", layer: int = EVERY,
                  head: int = EVERY, attention_off: bool = False) -> dict:
    """Where one pixel of a generated image attends, in the generator's attention layers.

    The image for ``seed`` is the Explore tab's first sample for that seed. ``query_xy`` is a
    pixel of the returned ``image`` (``GAN_DISPLAY_SIZE`` square); None means a stroke near its centre.
    ``layer``: one layer's index or ``EVERY``; ``head``: one head's index or ``EVERY`` (their mean).
    ``attention_off``: also draw the same sample with the attention branch removed (SAGAN: γ = 0; Transformer:
    uniform attention), the model itself untouched.
    Returns ``image`` (PIL), ``query_xy`` (on ``image``), ``pixel`` ((x, y) of the same point in the generated
    picture's own pixels, ``digit_size`` (width, height) of it), ``layers``: one dict per chosen layer with ``name``,
    ``head`` (its title), ``heads`` (how many the layer has), ``weights`` (float32 (hk, wk), the query's attention
    over the key grid, sums to 1), ``q_grid``, ``k_grid``, ``overlay`` (PIL: the weights over the image) and
    ``panel`` (the overlay titled, with its colour bar: dark = 0, yellow = the map's largest weight);
    ``layer_names`` and ``layer_heads`` (every layer's name and head count), ``gammas`` ([(layer name, γ)] of a
    SAGAN), and with ``attention_off``: ``ablated`` (PIL), ``difference`` (PIL: where the two differ) and
    ``changed`` (share of pixels moved by more than ``CHANGED`` of the range), else None for those three.
    """
    seed = integer("seed", seed, 0, MAX_SEED)
    text("model", model_spec, LIMITS.max_name_chars,
         empty="no GAN model given: pick an attention-based generator such as digits-sagan")
    layer = integer("layer", EVERY if layer is None else layer, EVERY, LIMITS.gan_max_depth)
    head = integer("head", EVERY if head is None else head, EVERY, LIMITS.gan_max_heads)
    attention_off = boolean("attention off", False if attention_off is None else attention_off)
    point = None if query_xy is None else _point(query_xy)
    loaded = generators.load(model_spec, owner)  # the model cache's entry: keyed by the weights' version
    cls = None if class_id is None else integer("class", class_id, 0, LIMITS.gan_max_classes)
    key = (str(loaded.key), seed, cls, attention_off)
    with _gan_results_lock:
        cached = _gan_results.get(key)
    if cached is None:
        cached = get_engine().run(lambda: _gan_forward(loaded, seed, cls, attention_off), owner=owner)
    with _gan_results_lock:
        _gan_results[key] = cached
        _gan_results.move_to_end(key)
        while len(_gan_results) > CACHE_GAN_RESULTS:
            _gan_results.popitem(last=False)
    pixels, layers, ablated = cached
    chosen = _chosen_layers(layers, layer, head)
    image = _display(pixels)
    x, y = _stroke_pixel(pixels) if point is None else point
    h, w = pixels.shape[:2]
    px, py = min(w - 1, int(x * w / GAN_DISPLAY_SIZE)), min(h - 1, int(y * h / GAN_DISPLAY_SIZE))  # the digit's own
    out = []
    for entry in chosen:
        (hq, wq), (hk, wk) = entry["q_grid"], entry["k_grid"]
        row = min(hq - 1, int(y * hq / GAN_DISPLAY_SIZE)) * wq + min(wq - 1, int(x * wq / GAN_DISPLAY_SIZE))
        maps, n_heads = entry["heads"], len(entry["heads"])  # (nh, Nq, Nk)
        weights = (maps.mean(0) if head == EVERY else maps[head])[row].reshape(hk, wk)
        title = (f"mean of {n_heads} heads" if n_heads > 1 else "its one head") if head == EVERY else f"head {head + 1}"
        overlay = heatmaps.overlay(image, weights, (int(x), int(y)))
        panel = heatmaps.legend_panel(overlay, [f"{entry['name']}, {title}",
                                                f"where pixel ({px}, {py}) looks: {hk}x{wk} keys"],
                                      float(weights.max()), reference=f"uniform would be {1 / (hk * wk):.3f} per key")
        out.append({"name": entry["name"], "head": title, "heads": n_heads, "weights": weights,
                    "q_grid": (hq, wq), "k_grid": (hk, wk), "overlay": overlay, "panel": panel})
    result = {"image": image, "query_xy": (int(x), int(y)), "pixel": (px, py), "digit_size": (w, h), "layers": out,
              "layer_names": [entry["name"] for entry in layers], "layer_heads": [len(entry["heads"]) for entry in layers],
              "gammas": [(entry["name"], entry["gamma"]) for entry in layers if entry["gamma"] is not None],
              "ablated": None, "difference": None, "changed": None}
    if ablated is not None:
        moved = np.abs(pixels.astype(np.float32) - ablated.astype(np.float32)).max(axis=2) / 255.0  # (H, W) in [0, 1]
        heat = heatmaps.colorize(moved, vmax=max(float(moved.max()), CHANGED))  # (H, W, 3) uint8
        result.update(ablated=_display(ablated), changed=float((moved > CHANGED).mean()),
                      difference=_display(heat))
    return result


def _chosen_layers(layers: list[dict], layer: int, head: int) -> list[dict]:
    """The layers a view shows, checked: a layer or head the generator does not have is one clear line."""
    if layer != EVERY and layer >= len(layers):
        raise BadInput(f"layer {layer + 1} does not exist: this generator has {len(layers)} attention layer(s)")
    chosen = layers if layer == EVERY else [layers[layer]]
    most = max(len(entry["heads"]) for entry in chosen)
    if head != EVERY and head >= most:
        raise BadInput(f"head {head + 1} does not exist: {chosen[0]['name']} has {most} head(s)")
    return [entry for entry in chosen if head == EVERY or head < len(entry["heads"])]


def _display(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(pixels).resize((GAN_DISPLAY_SIZE, GAN_DISPLAY_SIZE), Image.NEAREST)


def _stroke_pixel(pixels: np.ndarray) -> tuple[float, float]:
    """Where the view starts when nobody clicked yet: the bright pixel nearest the centre (a stroke of the
    digit, not the empty background), in display coordinates."""
    grey = pixels.astype(np.float32).mean(axis=2)  # (H, W)
    h, w = grey.shape
    if float(grey.max() - grey.min()) < 32:  # a flat picture has no stroke to start on
        return GAN_DISPLAY_SIZE / 2, GAN_DISPLAY_SIZE / 2
    ys, xs = np.nonzero(grey >= max(128.0, float(grey.max()) * 0.6))
    if not len(xs):
        return GAN_DISPLAY_SIZE / 2, GAN_DISPLAY_SIZE / 2
    i = int(np.argmin((ys - (h - 1) / 2) ** 2 + (xs - (w - 1) / 2) ** 2))
    scale = GAN_DISPLAY_SIZE / w
    return (xs[i] + 0.5) * scale, (ys[i] + 0.5) * scale


def _point(query_xy) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in query_xy)
    except (TypeError, ValueError):
        raise BadInput(f"query point must be (x, y) pixel coordinates, got {shown(query_xy)}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise BadInput(f"query point must be finite pixel coordinates, got {shown(query_xy)}")
    if not (0 <= x < GAN_DISPLAY_SIZE and 0 <= y < GAN_DISPLAY_SIZE):
        raise BadInput(f"query point ({x:g}, {y:g}) is outside the {GAN_DISPLAY_SIZE}x{GAN_DISPLAY_SIZE} image")
    return x, y


def _gan_forward(loaded, seed: int, class_id: int | None, attention_off: bool):
    """On the worker: the image (uint8 HWC), every attention layer's (heads, Nq, Nk) weights as numpy, and with
    ``attention_off`` the same sample drawn without attention (uint8 HWC; else None)."""
    import torch

    from ganstudio.gan.attention import attention_maps

    engine = get_engine()
    spec = loaded.name
    if loaded.data_kind != "image":
        raise BadModel(f"{spec} generates 2D points, not images: pick an image generator with attention")
    if class_id is not None and loaded.n_classes and class_id >= loaded.n_classes:
        raise BadInput(f"class must be between 0 and {loaded.n_classes - 1} for {spec}, got {class_id}")
    z = latents.latents(1, loaded.z_dim, seed)  # (1, z_dim): Explore's sample 0 of `seed`
    y = latents.labels(1, loaded.n_classes, class_id)  # class 0 unless one is asked for, as in Explore
    with torch.inference_mode():
        z_t = torch.from_numpy(z).to(engine.device)
        y_t = None if y is None else torch.from_numpy(y).to(engine.device)
        image, layers = attention_maps(loaded.generator, z_t, y_t)
        ablated = attention_maps(loaded.generator, z_t, y_t, attn_off=True)[0] if attention_off else None
    if not layers:
        raise BadModel(f"{spec} has no attention layers: pick an attention-based generator such as digits-sagan")
    plain = [{"name": str(l["name"]), "heads": l["heads"].float().cpu().numpy(), "q_grid": tuple(l["q_grid"]),
              "k_grid": tuple(l["k_grid"]), "gamma": l["gamma"]} for l in layers]
    return _rgb(image), plain, None if ablated is None else _rgb(ablated)


def _rgb(image) -> np.ndarray:
    """(1, C, H, W) in [-1, 1] -> uint8 (H, W, 3)."""
    pixels = ((image[0].float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels

