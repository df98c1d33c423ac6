"""Resolving a GanSpec to nets: which generator and discriminator classes build each architecture.

Architecture modules register themselves when imported (``models.py``: mlp, dcgan, sagan; ``fc.py``: fc;
``transformer_g.py``: transformer), and the package's face (``ganstudio/gan/__init__.py``) imports
them, so everything below it — loading a folder, estimating memory, ``from_pretrained`` — builds any
architecture without importing the classes it builds (which themselves depend on loading).
"""

from __future__ import annotations

from typing import Callable

from ganstudio.errors import BadModel
from ganstudio.gan.spec import GanSpec

Builder = Callable[[GanSpec], object]  # spec -> nn.Module

_generators: dict[str, Builder] = {}
_discriminators: dict[str, Builder] = {}


def register(arch: str, generator: Builder, discriminator: Builder) -> None:
    """Make ``arch`` buildable: ``generator(spec)`` and ``discriminator(spec)`` return the nets."""
    _generators[arch] = generator
    _discriminators[arch] = discriminator


def build_generator(spec: GanSpec):
    """A fresh generator for ``spec`` (on the current default device: ``torch.device("meta")`` sizes it)."""
    return _builder(_generators, spec)(spec)


def build_discriminator(spec: GanSpec):
    """A fresh discriminator for ``spec``; D of a z_classes G is class-conditional (``GanSpec.for_discriminator``)."""
    d_spec = spec.for_discriminator()
    return _builder(_discriminators, d_spec)(d_spec)


def _builder(table: dict[str, Builder], spec: GanSpec) -> Builder:
    if spec.arch not in table:
        raise BadModel(f"unknown GAN architecture {spec.arch!r}")
    return table[spec.arch]
