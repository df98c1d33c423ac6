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

from ganstudio.gpt.config import GPTConfig


class GPTOutput(NamedTuple):
    logits: torch.Tensor  # (B, T, vocab), or (B, 1, vocab) with last_only
    attentions: list[torch.Tensor] | None  # per layer (B, nh, T, T_total), only with return_attn


class KVCache:
    """Keys and values of positions already seen, one preallocated buffer per layer."""

    def __init__(self, cfg: GPTConfig, batch: int, device: torch.device, dtype: torch.dtype):
        shape = (batch, cfg.n_head, cfg.n_positions, cfg.head_size)
        self.keys = [torch.empty(shape, device=device, dtype=dtype) for _ in range(cfg.n_layer)]
        self.values = [torch.empty(shape, device=device, dtype=dtype) for _ in range(cfg.n_layer)]
        self.capacity = cfg.n_positions
        self.length = 0  # positions filled, shared by all layers

    def extend(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write this step's k, v (B, nh, T, hs) after the past; return past + new."""
        end = self.length + k.size(2)
        self.keys[layer][:, :, self.length:end] = k
        self.values[layer][:, :, self.length:end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]

    def reset(self) -> None:
        self.length = 0


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
        past = 0
        if cache is not None:
            past = cache.length
            k, v = cache.extend(self.layer, k, v)  # (B, nh, past + T, hs)
        if return_attn:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))  # (B, nh, T, past + T)
            att = att.masked_fill(~causal_mask(T, past, x.device), float("-inf")).softmax(dim=-1)
            y = att @ v
        else:
            att = None
            if T == 1:  # one new token sees every cached position: no mask needed
                y = F.scaled_dot_product_attention(q, k, v)
            elif past == 0:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(T, past, x.device))
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
        h = self.c_fc(x)
        if self.act == "gelu_new":
            h = F.gelu(h, approximate="tanh")
        elif self.act == "gelu":
            h = F.gelu(h)
        else:
            h = F.relu(h)
        return self.dropout(self.c_proj(h))


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
    ) -> GPTOutput:
        """idx (B, T) token ids -> next-token logits; positions continue after the cache."""
        B, T = idx.shape
        past = cache.length if cache is not None else 0
        if past + T > self.config.n_positions:
            raise ValueError(f"sequence of {past + T} exceeds the context of {self.config.n_positions}")
        pos = torch.arange(past, past + T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        attentions = [] if return_attn else None
        for block in self.h:
            x, att = block(x, cache, return_attn)
            if return_attn:
                attentions.append(att)
        if cache is not None:
            cache.length += T
        if last_only:
            x = x[:, -1:]
        logits = self.lm_head(self.ln_f(x))  # (B, T, vocab)
        return GPTOutput(logits, attentions)

    def new_cache(self, batch: int = 1) -> KVCache:
        w = self.wte.weight
        return KVCache(self.config, batch, w.device, w.dtype)

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
