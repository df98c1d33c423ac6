"""The one set of limits every layer checks against (UI widgets, actions, CLI, model loading).

These are properties of the product, not of a deployment; what a host may tune (memory budget,
run length, quotas) lives in ``ganstudio.settings``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    # ---- values a person types ----
    max_seed: int = 2**32 - 1  # numpy's and torch's generators take it everywhere; the same range in every tab
    max_custom_points: int = 500  # points clicked on the 2D canvas; more teaches a small GAN nothing new
    max_samples: int = 64  # Explore's grid: 8 x 8 stays readable and quick on a CPU
    max_cli_samples: int = 10_000  # `sample --n` writes arrays; bounded so a typo cannot fill memory
    max_directions: int = 16  # latent slider directions the API accepts (the UI shows 6)
    max_slider: float = 10.0  # |strength| of one slider, in standard deviations of z
    max_interp_steps: int = 64  # frames of an interpolation; a GIF longer than this is no clearer
    max_new_tokens: int = 1024  # tokens one generation may add: about a page, and bounded device time
    max_prompt_chars: int = 200_000  # longer prompts are cut to the context anyway; this bounds tokenizing
    max_attention_tokens: int = 512  # layers x heads x T x T floats: GPT-2 small at 512 tokens is ~150 MB
    max_temperature: float = 5.0  # past this sampling is uniform noise
    min_temperature: float = 0.01  # below this (but above 0, which means greedy) logits / T overflow to inf
    max_top_k: int = 100_000  # larger than any vocabulary we load
    max_repetition_penalty: float = 10.0  # past this every seen token is effectively banned
    max_name_chars: int = 200  # model specs, repo ids and run names a visitor types
    max_path_chars: int = 4096  # a file path (an upload's, or a server folder where the host allows them)

    # ---- files a model folder or a Hub repo brings ----
    max_config_bytes: int = 1_000_000  # a config.json larger than this is not a model config
    max_config_depth: int = 20  # nesting of a config.json; deeper is hostile (json recursion)

    # ---- GPT-2 configs, bounded before any arithmetic on them (memory is checked after, in admission) ----
    gpt_max_layers: int = 128
    gpt_max_embd: int = 16_384
    gpt_max_heads: int = 256
    gpt_max_vocab: int = 1_000_000
    gpt_max_positions: int = 65_536
    gpt_max_inner: int = 65_536

    # ---- GAN model settings (a training form and a loaded config.json obey the same bounds) ----
    gan_max_z_dim: int = 1024
    gan_max_hidden: int = 4096  # MLP width (2D)
    gan_max_depth: int = 12  # MLP hidden layers / transformer blocks
    gan_max_width: int = 1024  # conv base channels / transformer token width
    gan_max_heads: int = 16
    gan_max_classes: int = 1000
    gan_max_pack: int = 16
    gan_max_batch: int = 8192
    gan_max_d_steps: int = 20  # D updates per G update; WGAN-GP wants ~5, more only slows G down

    # ---- a GAN training run (the Train form, the API and `train` on the command line alike) ----
    max_train_steps: int = 10_000_000  # a run's step budget; hosts cap run time separately (settings)
    max_train_seconds: float = 7 * 24 * 3600  # a run's time budget: a week
    max_learning_rate: float = 1.0  # Adam past this diverges at once
    max_adam_beta: float = 0.99999  # momentum (and EMA decay) of 1 never forgets: no learning
    max_penalty_weight: float = 1000.0  # gradient-penalty and R1 weights
    max_grad_clip: float = 1e6  # a gradient-norm clip past this never acts (0 turns clipping off)
    max_fid_samples: int = 50_000  # generated images per evaluation, the FID paper's own count
    vae_min_sigma: float = 1e-3  # a VAE decoder's std: below this the reconstruction term dwarfs the KL (and overflows)
    vae_max_sigma: float = 10.0  # above this (in the data's own units) the decoder ignores its input

    # ---- the Text GAN lesson (ganstudio/textgan): the page, the API and `textgan` on the command line alike ----
    textgan_min_temperature: float = 0.05  # Gumbel-softmax τ below this: logits / τ overflow and gradients explode
    textgan_max_temperature: float = 10.0  # τ above this relaxes every character to a near-uniform blur
    textgan_max_seconds: float = 3600.0  # a lesson run's time budget: an hour shows all it has to show
    textgan_max_prompts: int = 8  # lines shown as it trains; each is a decode per snapshot
    textgan_max_prompt_chars: int = 12  # a prompt is the start of a line (lines are 24 characters)


LIMITS = Limits()
