"""GPT-2 hyper-parameters, read from and written to the Hub's ``config.json``."""

from __future__ import annotations

from dataclasses import dataclass

from ganstudio.checks import shown
from ganstudio.errors import BadModel
from ganstudio.limits import LIMITS

ACTIVATIONS = ("gelu_new", "gelu", "relu")


@dataclass
class GPTConfig:
    vocab_size: int = 50257  # rows of the token embedding (and of the tied output layer)
    n_positions: int = 1024  # context length: rows of the position embedding
    n_embd: int = 768  # width of the residual stream
    n_layer: int = 12  # transformer blocks
    n_head: int = 12  # attention heads per block; n_embd must divide evenly
    n_inner: int | None = None  # MLP hidden width; None means 4 * n_embd, as in GPT-2
    activation_function: str = "gelu_new"  # GPT-2 uses the tanh approximation of GELU
    layer_norm_epsilon: float = 1e-5  # must match training or logits drift
    tie_word_embeddings: bool = True  # GPT-2 shares wte with the output layer
    bos_token_id: int | None = None  # kept only to write it back out
    eos_token_id: int | None = None  # end-of-text id; None -> ask the tokenizer

    @property
    def inner(self) -> int:
        return self.n_inner or 4 * self.n_embd

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    @classmethod
    def from_hub(cls, raw: dict, name: str = "model") -> "GPTConfig":
        """Validate a Hub GPT-2 ``config.json``; anything we cannot run is a one-line BadModel."""
        model_type = raw.get("model_type")
        if model_type not in (None, "gpt2"):
            raise BadModel(f"{name}: model_type {shown(model_type)} is not a GPT-2 model (need 'gpt2')")
        if model_type is None and "n_embd" not in raw:
            raise BadModel(f"{name}: config.json is not a GPT-2 config (no model_type, no n_embd)")
        if raw.get("scale_attn_by_inverse_layer_idx") or raw.get("scale_attn_weights") is False:
            raise BadModel(f"{name}: unsupported attention scaling option in config.json")
        try:
            cfg = cls(
                vocab_size=int(raw.get("vocab_size", 50257)),
                n_positions=int(raw.get("n_positions", raw.get("n_ctx", 1024))),
                n_embd=int(raw.get("n_embd", 768)),
                n_layer=int(raw.get("n_layer", 12)),
                n_head=int(raw.get("n_head", 12)),
                n_inner=None if raw.get("n_inner") is None else int(raw["n_inner"]),
                activation_function=str(raw.get("activation_function", "gelu_new")),
                layer_norm_epsilon=float(raw.get("layer_norm_epsilon", 1e-5)),
                tie_word_embeddings=bool(raw.get("tie_word_embeddings", True)),
                bos_token_id=_optional_int(raw.get("bos_token_id")),
                eos_token_id=_optional_int(raw.get("eos_token_id")),
            )
        except (TypeError, ValueError, OverflowError) as err:
            raise BadModel(f"{name}: malformed GPT-2 config ({shown(str(err), 80)})") from None
        cfg.check(name)
        return cfg

    def check(self, name: str = "model") -> None:
        """Every size bounded (``ganstudio.limits``) before anything is computed from it."""
        if self.activation_function not in ACTIVATIONS:
            raise BadModel(
                f"{name}: unsupported activation {shown(self.activation_function)} (supported: {', '.join(ACTIVATIONS)})"
            )
        sizes = dict(vocab_size=(self.vocab_size, LIMITS.gpt_max_vocab),
                     n_positions=(self.n_positions, LIMITS.gpt_max_positions),
                     n_embd=(self.n_embd, LIMITS.gpt_max_embd), n_layer=(self.n_layer, LIMITS.gpt_max_layers),
                     n_head=(self.n_head, LIMITS.gpt_max_heads), n_inner=(self.inner, LIMITS.gpt_max_inner))
        for key, (value, high) in sizes.items():
            if not 0 < value <= high:
                raise BadModel(f"{name}: config.json has {key} = {shown(value, 30)} (must be between 1 and {high:,})")
        if not 0 < self.layer_norm_epsilon < 1:
            raise BadModel(f"{name}: config.json has layer_norm_epsilon = {self.layer_norm_epsilon:g}")
        if self.n_embd % self.n_head:
            raise BadModel(f"{name}: n_embd {self.n_embd} is not divisible by n_head {self.n_head}")

    def to_hub(self) -> dict:
        """The Hub GPT-2 ``config.json`` that HF transformers' GPT2LMHeadModel also reads."""
        return {
            "model_type": "gpt2",
            "architectures": ["GPT2LMHeadModel"],
            "vocab_size": self.vocab_size,
            "n_positions": self.n_positions,
            "n_ctx": self.n_positions,
            "n_embd": self.n_embd,
            "n_layer": self.n_layer,
            "n_head": self.n_head,
            "n_inner": self.n_inner,
            "activation_function": self.activation_function,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "tie_word_embeddings": self.tie_word_embeddings,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "resid_pdrop": 0.0,
            "embd_pdrop": 0.0,
            "attn_pdrop": 0.0,
            "initializer_range": 0.02,
        }


def _optional_int(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, list):  # some configs list several end ids; the first is end-of-text
        return int(value[0]) if value else None
    return int(value)
