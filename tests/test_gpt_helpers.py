"""Tiny random GPT-2 checkpoints in Hub format, for the tests/test_gpt_*.py files."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import ByteLevelBPETokenizer

TEXT = (
    "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer "
    "the slings and arrows of outrageous fortune, or to take arms against a sea of troubles "
    "and by opposing end them. To die, to sleep, no more; and by a sleep to say we end the "
    "heart-ache and the thousand natural shocks that flesh is heir to. Café naïve — ünïcödé."
)


def tiny_tokenizer() -> ByteLevelBPETokenizer:
    tok = ByteLevelBPETokenizer(add_prefix_space=False)
    tok.train_from_iterator([TEXT] * 4, vocab_size=300, min_frequency=1, special_tokens=["<|endoftext|>"],
                            show_progress=False)
    return tok


def hub_config(vocab_size: int, activation: str = "gelu_new", n_inner: int | None = None, **extra) -> dict:
    cfg = {
        "model_type": "gpt2", "vocab_size": vocab_size, "n_positions": 64, "n_embd": 32, "n_layer": 2,
        "n_head": 4, "n_inner": n_inner, "activation_function": activation, "layer_norm_epsilon": 1e-5,
        "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, "eos_token_id": 0, "bos_token_id": 0,
    }
    cfg.update(extra)
    return cfg


def make_hub_model(folder: Path, activation: str = "gelu_new", prefix: bool = True, n_inner: int | None = None,
                   seed: int = 0, buffers: bool = False, **extra):
    """Write a random HF GPT2LMHeadModel as config.json + model.safetensors + tokenizer.json.

    prefix=False stores the GPT2Model layout (no ``transformer.``, no lm_head); buffers=True adds the
    old ``attn.bias`` / ``attn.masked_bias`` buffers. Returns the HF model (eval mode).
    """
    transformers = __import__("transformers")
    tok = tiny_tokenizer()
    cfg = hub_config(extra.pop("vocab_size", tok.get_vocab_size()), activation, n_inner, **extra)
    torch.manual_seed(seed)
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(**cfg)).eval()
    with torch.no_grad():  # non-trivial layer norms and biases, so a mapping slip cannot hide
        for name, p in hf.named_parameters():
            if name.endswith("bias") or ".ln_" in name or name.startswith("transformer.ln_f"):
                p.add_(torch.randn_like(p) * 0.1)
    state = {k: v.contiguous() for k, v in hf.state_dict().items() if k != "lm_head.weight"}
    if not prefix:
        state = {k.removeprefix("transformer."): v for k, v in state.items()}
    if buffers:
        for i in range(cfg["n_layer"]):
            key = f"{'transformer.' if prefix else ''}h.{i}.attn."
            n = cfg["n_positions"]
            state[key + "bias"] = torch.tril(torch.ones(n, n, dtype=torch.bool)).view(1, 1, n, n)
            state[key + "masked_bias"] = torch.tensor(-1e4)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(state, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "tokenizer.json").write_text(tok._tokenizer.to_str())
    return hf
