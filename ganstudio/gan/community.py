"""Community GANs from the Hub: known architectures of other people's generators, made GAN Studio ones.

The HugGAN sprint's DCGANs (``huggan/dcgan-mnist`` and its siblings) are ``pytorch_model.bin`` state
dicts of ``Generator(num_channels, latent_dim, hidden_size)``: ``model`` is a Sequential of
ConvT(latent -> 8h, 4, 1, 0), BN, ReLU, three [ConvT 4/2/1, BN, ReLU] halving the channels, and
ConvT(h -> channels, 4/2/1), Tanh; the latent is (N, latent, 1, 1) and images are 64 x 64 in [-1, 1].

That is exactly a GAN Studio DCGAN whose last transposed conv draws the pixels (``g_out="convT"``,
width h/2): the first ConvT on a 1 x 1 input is a linear map of z (``z_proj``), the rest maps one to
one. So a registered repo is converted once — read with ``torch.load(weights_only=True)`` (tensors
only: a pickle that asks for anything else fails to load and runs nothing), checked key by key and
shape by shape against the layout, written as a GAN Studio checkpoint — and then samples, steers
(SeFa, GANSpace) and interpolates like any bundled model. Repos outside the registry, or files that
do not match their layout exactly, are refused; a pickle is never opened for anything else.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

import torch

from ganstudio.checks import shown
from ganstudio.errors import BadModel
from ganstudio.gan.estimate import check_checkpoint
from ganstudio.gan.folder import GENERATOR_TYPE
from ganstudio.gan.registry import build_generator
from ganstudio.gan.spec import GanSpec
from ganstudio.hub import parse_repo_spec, resolve
from ganstudio.limits import LIMITS
from ganstudio.settings import SETTINGS
from ganstudio.weights_io import CONFIG_NAME, load_into, write_folder

MB = 1024 * 1024
_REPO = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?")


@dataclass(frozen=True)
class Layout:
    """A known architecture of someone else's generator and how it becomes a GAN Studio one."""

    name: str  # how messages and cards call it
    weights: str  # the file its repos keep the state dict in
    max_bytes: int  # a larger file is not this layout: refused from its announced size, before any download
    convert: Callable[[Mapping[str, torch.Tensor], str], tuple[GanSpec, dict[str, torch.Tensor]]]


def _huggan_dcgan(state: Mapping[str, torch.Tensor], name: str) -> tuple[GanSpec, dict[str, torch.Tensor]]:
    """HugGAN DCGAN tensors -> (spec, state dict of a GAN Studio DCGAN with g_out="convT")."""
    convs, norms = (0, 3, 6, 9, 12), (1, 4, 7, 10)
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    expected = {f"model.{i}.weight" for i in convs} | {f"model.{i}.{p}" for i in norms for p in bn}
    if set(state) != expected:
        odd = sorted(set(state) ^ expected)[0]
        raise BadModel(f"{name}: not the HugGAN DCGAN layout ({'unexpected' if odd in state else 'missing'} "
                       f"tensor {shown(odd)})")
    w0, w_out = state["model.0.weight"], state["model.12.weight"]  # (latent, 8h, 4, 4), (h, channels, 4, 4)
    if w0.dim() != 4 or w_out.dim() != 4 or tuple(w0.shape[2:]) != (4, 4):
        raise BadModel(f"{name}: not the HugGAN DCGAN layout (first layer {tuple(w0.shape)})")
    z_dim, c0, hidden, channels = int(w0.shape[0]), int(w0.shape[1]), int(w_out.shape[0]), int(w_out.shape[1])
    if c0 != 8 * hidden or hidden % 2 or not 2 <= hidden <= LIMITS.gan_max_width or channels not in (1, 3):
        raise BadModel(f"{name}: not the HugGAN DCGAN layout (hidden size {hidden}, {channels} channels)")
    spec = GanSpec(arch="dcgan", z_dim=z_dim, channels=channels, image_size=64, width=hidden // 2, g_out="convT")
    try:
        spec.validate()
    except Exception as err:
        raise BadModel(f"{name}: a generator GAN Studio cannot build ({err})") from None
    ours = {
        # ConvT(latent -> c0, 4) on a 1x1 input: out[c, i, j] = sum_k z[k] W[k, c, i, j], i.e. a linear map of z
        "z_proj.weight": w0.permute(1, 2, 3, 0).reshape(c0 * 16, z_dim),  # (c0 * 4 * 4, latent)
        "z_proj.bias": torch.zeros(c0 * 16),
        "to_image.weight": w_out,
        "to_image.bias": torch.zeros(channels),
    }
    for ours_prefix, i in (("stem.0", 1), ("ups.0.1", 4), ("ups.1.1", 7), ("ups.2.1", 10)):
        ours.update({f"{ours_prefix}.{p}": state[f"model.{i}.{p}"] for p in bn})
    ours.update({f"ups.{b}.0.weight": state[f"model.{i}.weight"] for b, i in enumerate((3, 6, 9))})
    return spec, ours


HUGGAN_DCGAN = Layout("HugGAN DCGAN", "pytorch_model.bin", 64 * MB, _huggan_dcgan)
KNOWN = ("huggan/dcgan-mnist",)  # offered in Explore's list where the Hub answers


def layout_for(repo_id: str) -> Layout | None:
    """The registered layout of a Hub repo: the HugGAN sprint's DCGANs (``huggan/dcgan-*``); else None."""
    owner, _, name = repo_id.partition("/")
    return HUGGAN_DCGAN if owner == "huggan" and name.startswith("dcgan-") else None


_converting = threading.Lock()  # conversions are rare; one at a time, so two visitors never both do the work


def resolve_community(spec: str, progress=None) -> Path | None:
    """The GAN Studio checkpoint folder of a registered community repo ``owner/name[@rev]`` (downloaded and
    converted once, off the engine's worker); None when ``spec`` is not a registered repo."""
    if not isinstance(spec, str) or not _REPO.fullmatch(spec.strip()):
        return None
    repo_id, _ = parse_repo_spec(spec.strip())
    layout = layout_for(repo_id)
    if layout is None:
        return None
    snapshot = resolve(spec.strip(), files=(layout.weights,), optional=(), progress=progress, allow_paths=False,
                       max_bytes={layout.weights: layout.max_bytes})
    out = Path(SETTINGS.data_dir) / "community" / f"{repo_id.replace('/', '--')}--{snapshot.name}"
    with _converting:
        if not (out / CONFIG_NAME).is_file():
            convert(snapshot / layout.weights, layout, repo_id, snapshot.name, out)
    return out


def convert(weights: Path, layout: Layout, repo_id: str, commit: str, out: Path) -> Path:
    """Read ``weights`` safely, check them against ``layout`` and write a GAN Studio checkpoint at ``out``."""
    size = weights.stat().st_size
    if size > layout.max_bytes:
        raise BadModel(f"{repo_id}: {layout.weights} is {size / MB:,.0f} MB, larger than any {layout.name}")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # a forbidden global, a truncated or non-zip file: nothing in it ran
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise BadModel(f"{repo_id}: {layout.weights} is not a plain file of tensors, refused ({reason})") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise BadModel(f"{repo_id}: {layout.weights} does not hold a state dict of tensors")
    spec, tensors = layout.convert(state, repo_id)
    check_checkpoint(spec, repo_id)
    generator = build_generator(spec)
    load_into(generator, {k: v if k.endswith("num_batches_tracked") else v.float() for k, v in tensors.items()},
              repo_id)
    data = repo_id.split("/", 1)[1].removeprefix("dcgan-")
    config = {**spec.to_dict(), "model_type": GENERATOR_TYPE, "data": data, "data_kind": "image",
              "image_shape": [spec.channels, spec.image_size, spec.image_size], "class_names": [],
              "source": f"{repo_id}@{commit}", "layout": layout.name, "metrics": {}, "train": {}}
    return write_folder(out, lambda tmp: generator.save_pretrained(tmp, config=config))
