"""The two players of the Text GAN: G, a tiny character GPT built from the project's GPT blocks, and D, a
character CNN. Both read characters as one-hot rows, so a *relaxed* character (a Gumbel-softmax sample, a blend
of one-hots) goes through them unchanged, and the gradient can flow back through it to G.

* ``generator(corpus, cfg)``: ``ganstudio.gpt.model.GPT`` over the corpus's alphabet (untied output layer);
* ``SoftDecoder(G).step(x)``: G's next-character logits for a one-hot row x (B, V), not an id: ``x @ wte`` is the
  embedding lookup of a one-hot row, exactly, and a differentiable one of a relaxed row;
* ``sample_ids(G, prompt, n, ...)``: n more characters per row without gradients (argmax or sampled; KV cache);
* ``CharDiscriminator``: (B, T, V) one-hot rows -> a logit per line, "real" when positive.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ganstudio.gpt.config import GPTConfig
from ganstudio.gpt.model import GPT


def generator(vocab: int, cfg) -> GPT:
    """G: a GPT over ``vocab`` characters, as long as a line, with its own output layer (no tied weights: a
    checkpoint is then plain safetensors, which refuses shared storage)."""
    gpt_cfg = GPTConfig(vocab_size=vocab, n_positions=cfg.line_chars, n_embd=cfg.width, n_layer=cfg.layers,
                        n_head=cfg.heads, tie_word_embeddings=False)
    return GPT(gpt_cfg)


class SoftDecoder:
    """G's forward one (relaxed) character at a time, differentiably: the keys and values of the characters so far
    are kept in lists and concatenated, never written into a buffer in place (``gpt.model.KVCache`` does, which
    autograd cannot go back through). Each step runs G's own blocks' layers on the newest position only."""

    def __init__(self, G: GPT):
        self.G = G
        self.keys: list[list[torch.Tensor]] = [[] for _ in G.h]  # per layer: (B, nh, 1, hs) per position
        self.values: list[list[torch.Tensor]] = [[] for _ in G.h]
        self.t = 0  # positions seen

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, V): the next character as a one-hot (or relaxed) row -> (B, V) logits of the one after it."""
        G = self.G
        B, C, nh = x.size(0), G.config.n_embd, G.config.n_head
        h = (x @ G.wte.weight + G.wpe.weight[self.t])[:, None]  # (B, 1, C): a one-hot row picks its embedding
        for i, block in enumerate(G.h):
            q, k, v = block.attn.c_attn(block.ln_1(h)).split(C, dim=2)
            q, k, v = (t.view(B, 1, nh, C // nh).transpose(1, 2) for t in (q, k, v))  # (B, nh, 1, hs)
            self.keys[i].append(k)
            self.values[i].append(v)
            y = F.scaled_dot_product_attention(q, torch.cat(self.keys[i], 2), torch.cat(self.values[i], 2))
            h = h + block.attn.c_proj(y.transpose(1, 2).reshape(B, 1, C))  # the newest position sees all before it
            h = h + block.mlp(block.ln_2(h))
        self.t += 1
        return G.lm_head(G.ln_f(h))[:, 0]  # (B, V)


@torch.no_grad()
def sample_ids(G: GPT, prompt: torch.Tensor, n: int, greedy: bool, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> torch.Tensor:
    """(B, p) prompt ids -> (B, p + n) ids: G's n next characters, each its argmax (greedy) or a sample."""
    cache = G.new_cache(prompt.size(0), capacity=prompt.size(1) + n)
    logits = G(prompt, cache, last_only=True).logits[:, -1]  # (B, V)
    out = [prompt]
    for i in range(n):
        if greedy:
            nxt = logits.argmax(-1, keepdim=True)  # (B, 1)
        else:
            probs = F.softmax(logits.float() / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
        out.append(nxt)
        if i + 1 < n:
            logits = G(nxt, cache).logits[:, -1]
    return torch.cat(out, dim=1)


class CharDiscriminator(nn.Module):
    """Lines of one-hot characters -> one logit each: a linear embedding (so relaxed characters blend their
    embeddings), three convolutions over the line, max- and mean-pooled, then a linear read-out; spectral norm
    on all but the embedding."""

    def __init__(self, vocab: int, width: int = 64, embed: int = 32):
        super().__init__()
        self.vocab, self.width, self.embed_dim = vocab, width, embed
        self.embed = nn.Linear(vocab, embed, bias=False)
        sn = nn.utils.parametrizations.spectral_norm  # a Lipschitz D: without it, D wins within ~20 s and G's
        self.convs = nn.Sequential(  # gradient explodes (measured: bigram distance back up from 0.55 to 0.77)
            sn(nn.Conv1d(embed, width, 3, padding=1)), nn.LeakyReLU(0.2),
            sn(nn.Conv1d(width, width, 3, padding=2, dilation=2)), nn.LeakyReLU(0.2),
            sn(nn.Conv1d(width, width, 3, padding=4, dilation=4)), nn.LeakyReLU(0.2),
        )
        self.head = sn(nn.Linear(2 * width, 1))

    def config(self) -> dict:
        return {"vocab": self.vocab, "width": self.width, "embed": self.embed_dim}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(self.embed(x).transpose(1, 2))  # (B, width, T)
        return self.head(torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1)).squeeze(1)  # (B,)
