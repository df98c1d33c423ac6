"""Hub GPT-2 checkpoints <-> our ``GPT``: key names, Conv1D transposes, tied output layer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import torch

from ganstudio.errors import BadModel
from ganstudio.gpt.config import GPTConfig
from ganstudio.gpt.model import GPT
from ganstudio.gpt.tokenizer import TOKENIZER_FILES, GPTTokenizer
from ganstudio.weights_io import load_into, read_config, read_state_dict, save_model

HUB_PREFIX = "transformer."
# HF's Conv1D stores weights as (in, out); nn.Linear wants (out, in).
CONV1D_SUFFIXES = (".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight")
# Causal-mask buffers older checkpoints carry; they hold no learned values.
IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")
REQUIRED_FILES = ("config.json", "model.safetensors")
OPTIONAL_FILES = TOKENIZER_FILES + ("README.md",)


@dataclass
class LoadedGPT:
    name: str  # the spec it was loaded by, for messages
    model: GPT
    tokenizer: GPTTokenizer
    folder: Path

    @property
    def config(self) -> GPTConfig:
        return self.model.config


def hub_to_ours(state: Mapping[str, torch.Tensor], cfg: GPTConfig) -> dict[str, torch.Tensor]:
    """Hub GPT-2 keys (with or without ``transformer.``) -> ``GPT.state_dict()`` keys, as float32."""
    ours: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        name = key[len(HUB_PREFIX):] if key.startswith(HUB_PREFIX) else key
        if name.endswith(IGNORED_SUFFIXES):
            continue
        if name == "lm_head.weight" and cfg.tie_word_embeddings:
            continue  # tied: the output layer is wte itself
        tensor = tensor.float()
        if name.endswith(CONV1D_SUFFIXES) and tensor.dim() == 2:
            tensor = tensor.t()
        ours[name] = tensor.contiguous()
    if cfg.tie_word_embeddings and "wte.weight" in ours:
        ours["lm_head.weight"] = ours["wte.weight"]
    return ours


def ours_to_hub(model: GPT, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """``GPT`` weights under the Hub's names and layouts (``transformer.`` prefix, Conv1D (in, out))."""
    hub: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            if model.config.tie_word_embeddings:
                continue  # HF re-ties it on load; safetensors refuses shared storage anyway
            hub[name] = tensor.to(dtype or tensor.dtype).clone()
            continue
        if name.endswith(CONV1D_SUFFIXES):
            tensor = tensor.t()
        hub[HUB_PREFIX + name] = tensor.to(dtype or tensor.dtype).contiguous().clone()
    return hub


def load_gpt_folder(folder: str | Path, name: str | None = None, device: torch.device | str = "cpu") -> LoadedGPT:
    """Build the model described by a local Hub-format folder; strict on every key and shape.

    The config is bounded and the model's memory estimated before anything is allocated.
    """
    from ganstudio.admission import check_file_size

    folder = Path(folder)
    name = name or folder.name
    cfg = check_gpt_config(folder, name)
    weights = folder / REQUIRED_FILES[1]
    if weights.is_file():
        check_file_size(weights.stat().st_size, name)
    tokenizer = GPTTokenizer.from_folder(folder, cfg.eos_token_id, name)
    if tokenizer.vocab_size > cfg.vocab_size:
        raise BadModel(f"{name}: tokenizer has {tokenizer.vocab_size} tokens but the model only {cfg.vocab_size}")
    model = GPT(cfg)
    state = hub_to_ours(read_state_dict(folder, name=name), cfg)
    check_finite(state, name)
    load_into(model, state, name)
    model.to(device).eval().requires_grad_(False)
    return LoadedGPT(name=name, model=model, tokenizer=tokenizer, folder=folder)


def check_finite(state: Mapping[str, torch.Tensor], name: str) -> None:
    """Refuse weights holding NaN or ±inf (one pass over them): sampling from them would fail deep in torch."""
    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise BadModel(f"{name}: weight {key} holds NaN or infinite values; the model cannot generate")


def check_gpt_config(folder: str | Path, name: str) -> GPTConfig:
    """The folder's config.json as a GPTConfig: bounded, and the model's memory within the budget."""
    from ganstudio.admission import check_gpt

    cfg = GPTConfig.from_hub(read_config(folder, name), name)
    check_gpt(cfg, name)
    return cfg


def resolve_gpt(spec: str, progress: Callable[[str], None] | None = None, allow_paths: bool = True) -> Path:
    """The local folder of a GPT spec (bundled, folder or Hub id); the config is checked before the weights come."""
    from ganstudio.hub import (
        resolve,  # the Hub layer decides bundled / local / cached / download
    )

    return resolve(spec, files=REQUIRED_FILES, optional=OPTIONAL_FILES, progress=progress, allow_paths=allow_paths,
                   validate=lambda folder: check_gpt_config(folder, spec))


def load_gpt(spec: str, device: torch.device | str = "cpu",
             progress: Callable[[str], None] | None = None) -> LoadedGPT:
    """Load by spec: a bundled name, a local folder, or a Hub repo id (downloaded when online)."""
    return load_gpt_folder(resolve_gpt(spec, progress), name=spec, device=device)


def save_gpt(folder: str | Path, model: GPT, tokenizer_json: str, card: str,
             dtype: torch.dtype | None = None) -> Path:
    """Write a Hub GPT-2 folder that both we and HF transformers can load (weights in ``dtype``, default as is)."""
    return save_model(folder, model.config.to_hub(), ours_to_hub(model, dtype), card=card,
                      extra_files={"tokenizer.json": tokenizer_json})
