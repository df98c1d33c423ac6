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


@torch.inference_mode()
def attention_maps(model: GPT, ids: list[int]) -> np.ndarray:
    """(layers, heads, T, T) float32 softmax weights for one sequence; row i is query position i."""
    device = model.wte.weight.device
    out = model(torch.tensor([ids], device=device), return_attn=True)
    return torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()


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
