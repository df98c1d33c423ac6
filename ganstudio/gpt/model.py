"""A GPT-2 language model, nanoGPT style, with the Hub's module names.

Module names follow GPT-2 (``wte``, ``h.0.attn.c_attn``, ``ln_f`` ...) so a Hub checkpoint maps
onto it by stripping ``transformer.`` and transposing the Conv1D weights (see ``load.py``).
Attention weights come out only when asked for (``return_attn=True``); the fast path uses
``F.scaled_dot_product_attention`` and a preallocated key/value cache.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from ganstudio.gpt import compiled_decode
from ganstudio.gpt.config import GPTConfig


class GPTOutput(NamedTuple):
    logits: torch.Tensor  # (B, T, vocab), or (B, 1, vocab) with last_only
    attentions: list[torch.Tensor] | None  # per layer (B, nh, T, T_total), only with return_attn


class KVCache:
    """Keys and values of the positions already seen, for a batch of sequences of their own lengths.

    One buffer per layer, (B, nh, capacity, hs); ``lens`` counts each row's filled positions (plain
    ints: reading them never waits for the device). A single sequence is B = 1. ``step(layer, k, v)``
    writes this step's keys and values after each row's past and returns what attention needs;
    ``advance(T, rows)`` moves only the rows that really took the step (a skipped row's write is
    overwritten next time).
    """

    def __init__(self, cfg: GPTConfig, batch: int, device: torch.device, dtype: torch.dtype, capacity: int | None = None):
        self.capacity = min(capacity or cfg.n_positions, cfg.n_positions)
        shape = (batch, cfg.n_head, self.capacity, cfg.head_size)
        # zeros, not empty: a short row's unused positions are masked out of the softmax, but their values
        # are still multiplied by those zero weights, and 0 x NaN (stale memory) would poison the row
        self.keys = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.n_layer)]
        self.values = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.n_layer)]
        self.device = device
        self.lens = [0] * batch  # filled positions per row
        self._index: tuple | None = None  # (rows, lengths) tensors for the ragged path, built once per step

    @property
    def length(self) -> int:
        """The longest row (all rows, for a single sequence)."""
        return max(self.lens, default=0)

    @property
    def uniform(self) -> bool:
        return len(set(self.lens)) <= 1

    def positions(self, T: int) -> torch.Tensor:
        """(B, T) position ids of the next T tokens of every row."""
        if self.uniform:
            return torch.arange(self.length, self.length + T, device=self.device)[None]
        return torch.tensor(self.lens, device=self.device)[:, None] + torch.arange(T, device=self.device)

    def step(self, layer: int, k: torch.Tensor, v: torch.Tensor):
        """Write k, v (B, nh, T, hs) after each row's past; return (keys, values, mask) to attend with.

        The mask is None when the new token may see every key (one token, rows of equal length), else a
        bool (B, 1, T, Tk) hiding each row's padding and, for T > 1, the future.
        """
        T = k.size(2)
        if self.uniform:
            start = self.length
            end = start + T
            self.keys[layer][:, :, start:end] = k
            self.values[layer][:, :, start:end] = v
            mask = None if T == 1 else causal_mask(T, start, k.device)
            return self.keys[layer][:, :, :end], self.values[layer][:, :, :end], mask
        if T != 1:
            raise ValueError("rows of different lengths take one token at a time")
        if self._index is None:
            self._index = (torch.arange(len(self.lens), device=k.device), torch.tensor(self.lens, device=k.device))
        rows, lengths = self._index
        self.keys[layer][rows, :, lengths] = k[:, :, 0]
        self.values[layer][rows, :, lengths] = v[:, :, 0]
        end = self.length + 1
        mask = torch.arange(end, device=k.device)[None, :] <= lengths[:, None]  # (B, Tk): its past and itself
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end], mask[:, None, None]

    def advance(self, T: int, rows: list[bool] | None = None) -> None:
        """Count T new positions for every row, or only for the rows marked True."""
        self.lens = [n + T if rows is None or rows[i] else n for i, n in enumerate(self.lens)]
        self._index = None

    def reset(self) -> None:
        self.lens = [0] * len(self.lens)
        self._index = None


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig, layer: int, dropout: float = 0.0):
        super().__init__()
        self.layer, self.n_head = layer, cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.resid_dropout = nn.Dropout(dropout)  # training only; an identity in eval mode

    def forward(self, x: torch.Tensor, cache: KVCache | None, return_attn: bool):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if cache is not None:
            k, v, mask = cache.step(self.layer, k, v)  # (B, nh, past + T, hs); mask None or (B, 1, T, past + T)
        else:
            mask = None if T == 1 else causal_mask(T, 0, x.device)
        if return_attn:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))  # (B, nh, T, past + T)
            if mask is not None:
                att = att.masked_fill(~mask, float("-inf"))
            att = att.softmax(dim=-1)
            y = att @ v
        else:
            att = None
            if mask is None:  # one new token that may see every cached position
                y = F.scaled_dot_product_attention(q, k, v)
            elif cache is None or cache.length == 0:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.resid_dropout(self.c_proj(y)), att


def causal_mask(T: int, past: int, device: torch.device) -> torch.Tensor:
    """(T, past + T) bool: query i (at position past + i) may look at keys 0 .. past + i."""
    rows = torch.arange(T, device=device).unsqueeze(1) + past
    cols = torch.arange(past + T, device=device).unsqueeze(0)
    return cols <= rows


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig, dropout: float = 0.0):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, cfg.inner)
        self.c_proj = nn.Linear(cfg.inner, cfg.n_embd)
        self.act = cfg.activation_function
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.activation(self.c_fc(x))))

    def activation(self, h: torch.Tensor) -> torch.Tensor:
        if self.act == "gelu_new":
            return F.gelu(h, approximate="tanh")
        if self.act == "gelu":
            return F.gelu(h)
        return F.relu(h)


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig, layer: int, dropout: float = 0.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = CausalSelfAttention(cfg, layer, dropout)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = MLP(cfg, dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None, return_attn: bool):
        a, att = self.attn(self.ln_1(x), cache, return_attn)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, att


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig, dropout: float = 0.0):
        """``dropout``: residual and embedding dropout while training (GPT-2's resid/embd_pdrop); it adds
        no weights, so checkpoints load the same with or without it."""
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList(Block(cfg, i, dropout) for i in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.wte.weight

    def forward(
        self,
        idx: torch.Tensor,
        cache: KVCache | None = None,
        return_attn: bool = False,
        last_only: bool = False,
        advance_rows: list[bool] | None = None,
        positions: bool = True,
    ) -> GPTOutput:
        """idx (B, T) token ids -> next-token logits; each row's positions continue after its cache.

        ``advance_rows`` (with a cache) marks the rows whose new tokens count; the others' are placeholders.
        ``positions=False`` leaves the position embeddings (wpe) out of the input, the weights untouched: the
        Attention tab's "remove position embeddings" shows what the model does without knowing where tokens sit.
        """
        B, T = idx.shape
        past = cache.length if cache is not None else 0
        if past + T > (cache.capacity if cache is not None else self.config.n_positions):
            raise ValueError(f"sequence of {past + T} exceeds the context of {self.config.n_positions}")
        if (cache is not None and B == T == 1 and not return_attn and not self.training and positions
                and advance_rows in (None, [True])):
            return GPTOutput(self._decode_one(idx, cache)[None, None], None)  # one token of one sequence
        pos = cache.positions(T) if cache is not None else torch.arange(T, device=idx.device)  # (B, T) or (T,)
        x = self.wte(idx) + self.wpe(pos) if positions else self.wte(idx)  # (B, T, C)
        x = self.drop(x)
        attentions = [] if return_attn else None
        for block in self.h:
            x, att = block(x, cache, return_attn)
            if return_attn:
                attentions.append(att)
        if cache is not None:
            cache.advance(T, advance_rows)
        if last_only:
            x = x[:, -1:]
        logits = self.lm_head(self.ln_f(x))  # (B, T, vocab)
        return GPTOutput(logits, attentions)

    def _decode_one(self, idx: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """forward() for one new token of one sequence: logits (vocab,).

        Decoding reads every weight matrix once per token; through nn.Linear (a one-row matmul), SDPA on 4-D views
        and module calls a GPT-2-small-shaped token cost ~30 % more than those reads alone on the 2-core CPU. This
        is the same arithmetic as matrix-vector products, compiled into one kernel where that pays
        (``compiled_decode``; ``bench generate --model gpt2-small-shape``).
        """
        t = cache.length  # the new token's position
        logits = compiled_decode.step(self, idx[0, 0], t + 1, [k[0] for k in cache.keys], [v[0] for v in cache.values])
        cache.advance(1)
        return logits

    def new_cache(self, batch: int = 1, capacity: int | None = None) -> KVCache:
        w = self.wte.weight
        return KVCache(self.config, batch, w.device, w.dtype, capacity)

    @torch.no_grad()
    def initialise(self, generator: torch.Generator | None = None) -> None:
        """GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2 * n_layer)."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.normal_(0.0, 0.02, generator=generator)
            if isinstance(module, (nn.Linear, nn.LayerNorm)) and module.bias is not None:
                module.bias.zero_()
            if isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
        for block in self.h:  # keeps the residual stream's variance flat with depth
            for proj in (block.attn.c_proj, block.mlp.c_proj):
                proj.weight.mul_(1.0 / math.sqrt(2 * self.config.n_layer))
