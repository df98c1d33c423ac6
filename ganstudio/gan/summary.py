"""A GAN's layers before it trains: each net's layers in the order they run, their output shapes and parameters.

The nets are built from the spec on PyTorch's ``meta`` device (``estimate.meta_nets``: shapes only, nothing
allocated, milliseconds even for the largest nets the limits allow) and one forward pass is traced with hooks.
A layer is a module that is not a plain container (``nn.Sequential``, ``nn.ModuleList``): a transformer block
or a self-attention block is one row, a Sequential's members are rows of their own. A parameter the net holds
itself (a transformer's position embedding) is one more row, so the rows add up to the net's total.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ganstudio.admission import count_params
from ganstudio.gan.estimate import meta_labels, meta_latents, meta_nets
from ganstudio.gan.spec import GanSpec

TRACE_BATCH = 2  # samples traced (the shapes shown leave the batch out)
CONTAINERS = (nn.Sequential, nn.ModuleList)


@dataclass
class LayerRow:
    layer: str  # "Linear (body.1)": the layer's class and where it sits in the net
    shape: str  # output per sample, e.g. "1×28×28"; "—" for a layer the forward pass does not call
    params: int  # trainable parameters, its sublayers' included


@dataclass
class NetSummary:
    name: str  # "generator" | "discriminator"
    rows: list[LayerRow]
    total: int  # every parameter of the net (the rows' sum)


def layers_of(net: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """(dotted name, module) of every layer, containers opened up, in definition order."""
    out = []
    for name, child in net.named_children():
        if isinstance(child, CONTAINERS):
            out += layers_of(child, f"{prefix}{name}.")
        else:
            out.append((prefix + name, child))
    return out


def _shape(output) -> str:
    tensor = output[0] if isinstance(output, (tuple, list)) else output
    dims = tuple(tensor.shape[1:])  # (B, ...) -> per sample
    return "×".join(str(d) for d in dims) if dims else "1"


def trace(net: nn.Module, forward) -> list[LayerRow]:
    """The rows of ``net`` after calling ``forward()``: called layers in call order, then uncalled ones with
    parameters, then the parameters the net holds itself."""
    layers = layers_of(net)
    shapes: dict[str, str] = {}  # name -> shape, in first-call order

    def record(name: str):
        def hook(_module, _inputs, output) -> None:  # returns None: the output passes on unchanged
            shapes.setdefault(name, _shape(output))
        return hook

    hooks = [module.register_forward_hook(record(name)) for name, module in layers]
    try:
        with torch.no_grad():
            forward()
    finally:
        for hook in hooks:
            hook.remove()
    by_name = dict(layers)
    order = list(shapes) + [name for name, module in layers if name not in shapes and count_params(module)]
    rows = [LayerRow(f"{type(by_name[name]).__name__} ({name})", shapes.get(name, "—"), count_params(by_name[name]))
            for name in order]
    rows += [LayerRow(f"Parameter ({name})", "×".join(map(str, p.shape)), p.numel())  # e.g. a position embedding
             for name, p in net.named_parameters(recurse=False)]
    return rows


def summarize(spec: GanSpec) -> list[NetSummary]:
    """[generator, discriminator] of ``spec``: their layers, output shapes and parameter counts."""
    G, D = meta_nets(spec)
    G.eval(), D.eval()
    n = TRACE_BATCH * spec.pack  # a packed D judges whole packs
    d_classes = spec.n_classes or spec.z_classes
    g_rows = trace(G, lambda: G(*meta_latents(spec, n)))
    d_rows = trace(D, lambda: D(G(*meta_latents(spec, n)), meta_labels(d_classes, n)))
    return [NetSummary("generator", g_rows, count_params(G)), NetSummary("discriminator", d_rows, count_params(D))]
