"""What a Text GAN run is: one typed config, checked up front (the page, the API and the CLI alike).

``TextGanConfig.validate`` cleans every value (a slider's 3.0 becomes 3) and checks it with ``ganstudio.checks``
against bounds from ``ganstudio.limits``; a bad value is one line, and nothing has been built yet.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ganstudio import checks
from ganstudio.errors import BadInput
from ganstudio.limits import LIMITS
from ganstudio.textgan.corpus import load_corpus

ESTIMATORS = ("argmax", "gumbel", "reinforce")
DEFAULT_PROMPTS = ("The ", "And ", "What ", "My lord")  # line starts the page continues as it trains


@dataclass
class TextGanConfig:
    """One run of the lesson: G (a tiny character GPT) against D (a character CNN) on lines of Shakespeare."""

    estimator: str = "gumbel"  # how G's gradient crosses the sampling step: argmax | gumbel | reinforce
    temperature: float = 1.0  # Gumbel-softmax τ: low is nearly one-hot (noisy gradients), high is a blur
    straight_through: bool = True  # D sees a hard one-hot, G gets the soft sample's gradient (else D sees the blur)
    seconds: float = 60.0  # training-time budget; 0 = no time limit (a step budget or Stop ends it)
    steps: int = 0  # update budget (one D and one G update each); 0 = no step limit
    batch_size: int = 64  # lines per D and per G update
    lr_g: float = 1e-3  # Adam learning rate of G
    lr_d: float = 5e-4  # Adam learning rate of D
    baseline_decay: float = 0.9  # REINFORCE: the baseline is this moving average of D's reward (variance down)
    seed: int = 0  # weights, line order and every sample follow it
    prompts: list = field(default_factory=lambda: list(DEFAULT_PROMPTS))  # lines shown live (their first chars)
    # ---- sizes: fixed for the lesson (small enough to train live on one CPU thread) ----
    line_chars: int = 24  # characters D judges per line, prompt included
    max_prompt_chars: int = 4  # a training line's prompt is its first 1..this characters (G writes the rest)
    width: int = 64  # G's residual width (n_embd) and D's channels
    layers: int = 2  # G's transformer blocks
    heads: int = 4  # G's attention heads

    def validate(self) -> "TextGanConfig":
        """Every field cleaned and checked; the first bad one is a BadInput naming it."""
        self.estimator = checks.choice("estimator", self.estimator, ESTIMATORS)
        self.temperature = checks.number("temperature", self.temperature, LIMITS.textgan_min_temperature,
                                         LIMITS.textgan_max_temperature)
        self.straight_through = checks.boolean("straight-through", self.straight_through)
        self.seconds = checks.number("seconds", self.seconds, 0, LIMITS.textgan_max_seconds)
        self.steps = checks.integer("steps", self.steps, 0, LIMITS.max_train_steps)
        self.batch_size = checks.integer("batch size", self.batch_size, 2, 1024)
        self.lr_g = checks.number("G learning rate", self.lr_g, 1e-7, LIMITS.max_learning_rate)
        self.lr_d = checks.number("D learning rate", self.lr_d, 1e-7, LIMITS.max_learning_rate)
        self.baseline_decay = checks.number("baseline decay", self.baseline_decay, 0.0, LIMITS.max_adam_beta)
        self.seed = checks.integer("seed", self.seed, 0, LIMITS.max_seed)
        for name, (value, low, high) in {"line_chars": (self.line_chars, 8, 64), "max_prompt_chars": (
                self.max_prompt_chars, 1, 8), "width": (self.width, 8, 512), "layers": (self.layers, 1, 8),
                "heads": (self.heads, 1, 16)}.items():
            setattr(self, name, checks.integer(name, value, low, high))
        if self.width % self.heads:
            raise BadInput(f"width {self.width} is not divisible by heads {self.heads}")
        if isinstance(self.prompts, str):
            self.prompts = self.prompts.split("\n")
        if not isinstance(self.prompts, (list, tuple)) or not 1 <= len(self.prompts) <= LIMITS.textgan_max_prompts:
            raise BadInput(f"prompts: give 1 to {LIMITS.textgan_max_prompts} line starts, one per line")
        self.prompts = [checks.text(f"prompt {i + 1}", p, LIMITS.textgan_max_prompt_chars,
                                    empty=f"prompt {i + 1} is empty: type the start of a line, e.g. 'The '")
                        for i, p in enumerate(self.prompts)]
        corpus = load_corpus(self.line_chars)
        self.prompts = [corpus.check_prompt(f"prompt {i + 1}", p) for i, p in enumerate(self.prompts)]
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_params(cls, params: dict) -> "TextGanConfig":
        """A config from plain values (the page, the API, a saved config.json): unknown names are refused."""
        if not isinstance(params, dict):
            raise BadInput("settings must be a mapping of names to values")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise BadInput(f"unknown Text GAN setting {checks.shown(unknown[0])}")
        return cls(**{k: v for k, v in params.items() if v is not None}).validate()
