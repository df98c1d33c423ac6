"""Self-attention, step by step, with the model's real numbers: softmax(Q Kᵀ / √dₖ + mask) V.

For one layer, one head and one query position i of a prompt:

    x      = ln_1(residual stream entering the block)          (T, C)
    q_i    = (x W_q + b_q)[i, head]                            (dₖ,)
    k_j    = (x W_k + b_k)[j, head]   for every key j           (T, dₖ)
    s_j    = q_i · k_j                                          raw scores
    s_j/√dₖ, then −∞ for j > i (the causal mask), softmax → w_j
    o_i    = Σ_j w_j v_j                                        the head's output (dₖ,)

then how the block's output turns into next-token probabilities: the residual stream after this
block read through the final layer norm and the output layer ("logit lens"), next to the model's
own prediction after all its layers.
"""

from __future__ import annotations

import math

import torch

from ganstudio.gpt.model import GPT
from ganstudio.gpt.tokenizer import GPTTokenizer

TOP = 5  # candidates shown for the next token
DIGITS = 4  # decimals kept of each vector component sent to the page (every component is sent)


@torch.inference_mode()
def explain_head(model: GPT, tokenizer: GPTTokenizer, ids: list[int], layer: int, head: int, query: int,
                 positions: bool = True) -> dict:
    """Every intermediate number of head ``head`` of layer ``layer`` for query position ``query``: ``x`` (the
    query token's layer-normed input, C numbers), ``q``, each key's ``k`` and ``v`` (d_k numbers each), the scores,
    weights and output. ``positions=False``: the same without position embeddings (``GPT.forward``)."""
    cfg = model.config
    T, hs = len(ids), cfg.head_size
    device = model.wte.weight.device
    captured: dict[str, torch.Tensor] = {}
    block = model.h[layer]

    def keep(name):
        def hook(_module, _inputs, output):
            captured[name] = (output[0] if isinstance(output, tuple) else output).detach()  # a block returns (x, att)
        return hook

    handles = [block.ln_1.register_forward_hook(keep("ln_1")), block.register_forward_hook(keep("block_out"))]
    try:
        logits = model(torch.tensor([ids], device=device), positions=positions).logits[0]  # (T, vocab)
    finally:
        for handle in handles:
            handle.remove()
    x = captured["ln_1"][0]  # (T, C): the layer-normed residual stream the head reads
    C = cfg.n_embd
    w, b = block.attn.c_attn.weight, block.attn.c_attn.bias  # (3C, C), (3C,)
    part = slice(head * hs, (head + 1) * hs)
    q = x @ w[:C][part].T + b[:C][part]  # (T, hs)
    k = x @ w[C:2 * C][part].T + b[C:2 * C][part]
    v = x @ w[2 * C:][part].T + b[2 * C:][part]
    scores = k @ q[query]  # (T,) raw q_i · k_j
    scaled = scores / math.sqrt(hs)
    masked = scaled.masked_fill(torch.arange(T, device=device) > query, float("-inf"))
    weights = masked.softmax(-1)  # (T,)
    output = weights @ v  # (hs,)
    residual = captured["block_out"][0]  # (T, C): the residual stream after this block
    lens = model.lm_head(model.ln_f(residual[query]))  # what the stream after this block already "says"
    pieces = tokenizer.token_strings(ids)
    return {
        "layer": layer, "head": head, "query": query, "d_k": hs, "scale": math.sqrt(hs),
        "tokens": pieces, "x": _numbers(x[query]),
        "q": _numbers(q[query]), "q_norm": float(q[query].norm()),
        "keys": [{"token": pieces[j], "k": _numbers(k[j]), "v": _numbers(v[j]), "k_norm": float(k[j].norm()),
                  "score": float(scores[j]),
                  "scaled": float(scaled[j]), "masked": j > query, "weight": float(weights[j]),
                  "contribution": float((weights[j] * v[j]).norm())} for j in range(T)],
        "output": _numbers(output), "output_norm": float(output.norm()),
        "after_layer": _top(lens, tokenizer), "final": _top(logits[query], tokenizer),
    }


def _numbers(vector: torch.Tensor) -> list[float]:
    return [round(x, DIGITS) for x in vector.float().tolist()]


def _top(logits: torch.Tensor, tokenizer: GPTTokenizer) -> list[list]:
    probs = logits.float().softmax(-1)
    top = torch.topk(probs, TOP)
    return [[tokenizer.piece(int(i)), float(p)] for i, p in zip(top.indices, top.values)]
