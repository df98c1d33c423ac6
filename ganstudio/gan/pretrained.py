"""``save_pretrained`` / ``from_pretrained`` / ``push_to_hub`` for GAN Studio's nets, the Hub's way.

Every generator and discriminator class inherits huggingface_hub's ``PyTorchModelHubMixin``
through ``Pretrained``: config.json holds the constructor's spec (flat, so any tool reads it),
model.safetensors the weights, README.md a ``ModelCard``. On top of the mixin, GAN Studio's rules:

* loading is strict — every key and shape — where the mixin defaults to non-strict;
* config.json is size- and depth-bounded and type-checked, and the nets' memory is estimated,
  before anything is built; weights are safetensors only (the mixin would fall back to a pickle);
* tensors are written contiguous (channels-last conv nets train faster on a CPU).

    from ganstudio.gan import Generator
    G = Generator.from_pretrained("user/repo")  # any architecture: its config.json says which
    images = G.sample(16)                       # uint8 (16, H, W, C)
"""

from __future__ import annotations

import os
from pathlib import Path

from huggingface_hub import ModelCard, PyTorchModelHubMixin, hf_hub_download

from ganstudio.errors import BadInput, BadModel
from ganstudio.gan.card import LIBRARY, LICENSE, model_card
from ganstudio.gan.folder import DISCRIMINATOR_TYPE, GENERATOR_TYPE, load_discriminator, load_generator
from ganstudio.weights_io import WEIGHTS_NAME, save_tensors


class Pretrained(PyTorchModelHubMixin, library_name=LIBRARY, license=LICENSE, tags=["gan", LIBRARY]):
    """The Hub side of a GAN Studio net; the net keeps the ``GanSpec`` it was built from in ``spec``."""

    role = "generator"  # or "discriminator": what from_pretrained builds

    def hub_config(self) -> dict:
        """config.json of a bare ``save_pretrained()``: the spec, flat, and what kind of net it is."""
        return {**self.spec.to_dict(), "model_type": GENERATOR_TYPE if self.role == "generator" else DISCRIMINATOR_TYPE}

    def save_pretrained(self, save_directory, *, config: dict | None = None, model_card_kwargs: dict | None = None,
                        **kwargs):
        """The mixin's save, with the spec as the default config and the card drawn from that config."""
        config = config or self.hub_config()
        card = {"config": config, **(model_card_kwargs or {})}
        return super().save_pretrained(save_directory, config=config, model_card_kwargs=card, **kwargs)

    def _save_pretrained(self, save_directory: Path) -> None:
        save_tensors(self.state_dict(), Path(save_directory) / WEIGHTS_NAME)

    def generate_model_card(self, *args, config: dict | None = None, repo_id: str | None = None, **kwargs) -> ModelCard:
        return card_for(config or self.hub_config(), repo_id)

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision: str | None, cache_dir, force_download: bool,
                         local_files_only: bool, token, map_location: str = "cpu", strict: bool = True, **unused):
        """Strict, checked load from a folder or a Hub repo; the net comes back in eval mode."""
        if not strict:
            raise BadInput("GAN Studio loads weights strictly: every key and shape must match (strict=False is refused)")
        if os.path.isdir(model_id):
            folder = Path(model_id)
        else:
            folder = Path(hf_hub_download(model_id, WEIGHTS_NAME, revision=revision, cache_dir=cache_dir,
                                          force_download=force_download, token=token,
                                          local_files_only=local_files_only)).parent
        load = load_generator if cls.role == "generator" else load_discriminator
        net = load(folder, name=model_id)
        if not isinstance(net, cls):
            raise BadModel(f"{model_id} holds a {type(net).__name__}, not a {cls.__name__}")
        return net.to(map_location).eval()


def card_for(config: dict, repo_id: str | None = None) -> ModelCard:
    """The model card of a saved net's config, tagged like every PyTorchModelHubMixin model."""
    return model_card(config, repo_id, tags=Pretrained._hub_mixin_info.model_card_data.tags)
