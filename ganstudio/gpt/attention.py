"""What the model attends to: raw attention maps, head averages and attention rollout.

Rollout follows Abnar & Zuidema (2020), "Quantifying Attention Flow in Transformers": the
residual connection is modelled as A' = 0.5 A + 0.5 I per layer (heads averaged, rows
renormalised) and the layers are multiplied through, R = A'_L ... A'_1, so R[i, j] says how
much output position i draws on input token j.
"""

from __future__ import annotations

import numpy as np
import torch

from ganstudio.gpt.model import GPT

SINK_SHARE = 0.5  # a head that gives the first token (or each token itself) more than this share, on average, is a
# resting place for attention, not a pattern: the opening head is chosen among the others


@torch.inference_mode()
def attention_maps(model: GPT, ids: list[int], positions: bool = True) -> np.ndarray:
    """(layers, heads, T, T) float32 softmax weights for one sequence; row i is query position i.
    ``positions=False``: as the model attends without its position embeddings (see ``GPT.forward``)."""
    return attention_and_logits(model, ids, positions)[0]


@torch.inference_mode()
def attention_and_logits(model: GPT, ids: list[int], positions: bool = True) -> tuple[np.ndarray, torch.Tensor]:
    """``attention_maps`` and the next-token logits (vocab,) after the last token, from the same forward."""
    device = model.wte.weight.device
    out = model(torch.tensor([ids], device=device), return_attn=True, positions=positions)
    return torch.stack([a[0] for a in out.attentions]).float().cpu().numpy(), out.logits[0, -1].float().cpu()


@torch.inference_mode()
def position_similarity(model: GPT, n: int) -> np.ndarray:
    """(n, n) float32 cosine similarity of the position embeddings of positions 0 .. n-1 (rows of wpe)."""
    rows = model.wpe.weight[:n].float()  # (n, C)
    unit = rows / rows.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return (unit @ unit.T).cpu().numpy()


def focused_head(attn: np.ndarray) -> dict:
    """The head whose attention is most focused over a sequence, for the explorer to open on.

    attn (layers, heads, T, T). Focus is the mean over query rows 1 .. T-1 (row 0 can only look at itself) of each
    row's entropy divided by its largest possible, log(i + 1): 0 = all on one token, 1 = spread evenly. Heads that
    give the first token, or each token itself, more than ``SINK_SHARE`` on average are left out (if every head
    does, none is). Returns ``layer``, ``head``, ``spread`` (that mean, 0 .. 1) and ``left_out`` (how many heads).
    """
    T = attn.shape[2]
    if T < 2:
        return {"layer": 0, "head": 0, "spread": 0.0, "left_out": 0}
    rows = attn[:, :, 1:, :].astype(np.float64)  # (L, H, T-1, T)
    entropy = -(rows * np.log(np.clip(rows, 1e-12, None))).sum(-1)  # (L, H, T-1) nats
    spread = (entropy / np.log(np.arange(2, T + 1))).mean(-1)  # (L, H)
    first = rows[..., 0].mean(-1)  # (L, H): mean attention on the first token
    itself = np.diagonal(attn[:, :, 1:, 1:], axis1=2, axis2=3).mean(-1)  # (L, H): on the query itself
    sink = (first > SINK_SHARE) | (itself > SINK_SHARE)
    candidates = np.where(sink, np.inf, spread) if not sink.all() else spread
    layer, head = np.unravel_index(int(np.argmin(candidates)), spread.shape)
    return {"layer": int(layer), "head": int(head), "spread": float(spread[layer, head]),
            "left_out": int(sink.sum()) if not sink.all() else 0}


def head_average(attn: np.ndarray) -> np.ndarray:
    """(layers, heads, T, T) -> (layers, T, T)."""
    return attn.mean(axis=1)


def discount_first_token(attn: np.ndarray) -> np.ndarray:
    """Remove attention to token 0 (a common "sink" that soaks up unused attention) and renormalise.

    Row 0 can only look at token 0, so it is left as it is.
    """
    out = attn.astype(np.float64, copy=True)
    out[..., 1:, 0] = 0.0
    return (out / out.sum(axis=-1, keepdims=True)).astype(attn.dtype)


def rollout(attn: np.ndarray, discard_first: bool = False) -> np.ndarray:
    """(layers, heads, T, T) or (layers, T, T) -> (T, T) attention rollout."""
    layers = head_average(attn) if attn.ndim == 4 else attn
    layers = layers.astype(np.float64)
    if discard_first:
        layers = discount_first_token(layers)
    eye = np.eye(layers.shape[-1])
    result = eye
    for a in layers:  # first layer first: R = A'_L ... A'_2 A'_1
        mixed = 0.5 * a + 0.5 * eye
        mixed /= mixed.sum(axis=-1, keepdims=True)
        result = mixed @ result
    return result.astype(np.float32)
