"""Sequence-level unlikelihood training: teach a language model not to loop when decoded greedily.

Welleck et al., "Neural Text Generation with Unlikelihood Training" (ICLR 2020): the model continues
prefixes of the training text greedily; every token of a continuation that belongs to a token
n-gram already seen earlier in that continuation is made less likely, with the loss
``-log(1 - p(token | context))``. Interleaved with ordinary maximum-likelihood batches, a short
fine-tune cuts greedy repetition sharply at a small cost in held-out loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganstudio.gpt.model import GPT


@torch.no_grad()
def greedy_batch(model: GPT, prefixes: torch.Tensor, new_tokens: int) -> torch.Tensor:
    """prefixes (B, P) -> (B, P + new_tokens): each row continued greedily, all rows in step."""
    B, P = prefixes.shape
    if P + new_tokens > model.config.n_positions:
        raise ValueError(f"{P} + {new_tokens} tokens exceed the context of {model.config.n_positions}")
    was_training = model.training
    model.eval()
    cache = model.new_cache(B)
    logits = model(prefixes, cache, last_only=True).logits[:, -1]  # (B, vocab)
    out = [prefixes]
    for step in range(new_tokens):
        nxt = logits.argmax(-1, keepdim=True)  # (B, 1)
        out.append(nxt)
        if step < new_tokens - 1:
            logits = model(nxt, cache, last_only=True).logits[:, -1]
    model.train(was_training)
    return torch.cat(out, dim=1)


def repeat_mask(tokens: torch.Tensor, n: int = 4) -> torch.Tensor:
    """tokens (B, K) -> bool (B, K): True on every token of an n-gram that occurred earlier in its row."""
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    for row, ids in enumerate(tokens.tolist()):
        seen = set()
        for j in range(len(ids) - n + 1):
            gram = tuple(ids[j:j + n])
            if gram in seen:
                mask[row, j:j + n] = True
            seen.add(gram)
    return mask


def unlikelihood_loss(model: GPT, seq: torch.Tensor, prefix: int, n: int = 4) -> tuple[torch.Tensor, float]:
    """(loss, share of continuation tokens penalised) for greedy sequences seq (B, prefix + K).

    The loss is the sum of ``-log(1 - p)`` over penalised tokens divided by all B*K continuation
    tokens, so it fades as the model stops repeating itself.
    """
    mask = repeat_mask(seq[:, prefix:], n)  # (B, K)
    logits = model(seq[:, :-1]).logits[:, prefix - 1:]  # (B, K, vocab): predictions of the continuation
    logp = F.log_softmax(logits.float(), dim=-1).gather(-1, seq[:, prefix:].unsqueeze(-1)).squeeze(-1)  # (B, K)
    one_minus_p = (1.0 - logp.exp()).clamp(min=1e-5)
    loss = -(torch.log(one_minus_p) * mask).sum() / mask.numel()
    return loss, mask.float().mean().item()
