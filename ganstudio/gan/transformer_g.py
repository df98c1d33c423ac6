"""A small TransGAN-style generator: z -> a grid of patch tokens -> transformer blocks -> pixels.

Each token becomes a PATCH x PATCH tile. With g_out "patch" a per-token linear map draws the tile's pixels
and G has no convolution at all (the bundled digits-transgan); any other g_out (checkpoints saved before
"patch" existed) draws PIXEL_CH feature pixels per tile and a 3x3 conv smooths the tile seams.
Attention comes out only through `forward(..., return_attn=True)`; `attn_off=True` replaces every head's
attention by a uniform average over the tokens (the ablation the Attention tab shows), changing nothing stored.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.gan.models import ConvDiscriminator, Generator
from ganstudio.gan.registry import register
from ganstudio.gan.spec import GanSpec

PATCH = 4  # pixels per token side: 28 px -> 7x7 tokens, 32 px -> 8x8
PIXEL_CH = 16  # feature channels per output pixel before the final conv


class TokenAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, return_attn: bool = False, attn_off: bool = False):
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)  # 3 x (B, nh, T, hs)
        if attn_off:  # every query reads the plain mean of the values: no token looks anywhere in particular
            attn = torch.full((B, self.heads, T, T), 1.0 / T, dtype=x.dtype, device=x.device)
            out = v.mean(2, keepdim=True).expand(B, self.heads, T, v.shape[-1])  # (B, nh, T, hs)
        elif return_attn:
            attn = F.softmax(q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5), dim=-1)  # (B, nh, T, T)
            out = attn @ v
        else:
            attn, out = None, F.scaled_dot_product_attention(q, k, v)  # (B, nh, T, hs)
        out = self.proj(out.transpose(1, 2).reshape(B, T, C))  # (B, T, C)
        return out, attn


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = TokenAttention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, return_attn: bool = False, attn_off: bool = False):
        a, attn = self.attn(self.norm1(x), return_attn, attn_off)
        x = x + a
        x = x + self.mlp(self.norm2(x))
        return x, attn


class TransformerGenerator(Generator):
    def __init__(self, spec: GanSpec):
        super().__init__()
        self.grid = spec.image_size // PATCH
        self.dim = spec.width
        tokens = self.grid * self.grid
        self._init_latent(spec, tokens * self.dim)
        self.pos = nn.Parameter(0.02 * torch.randn(1, tokens, self.dim))
        self.blocks = nn.ModuleList(Block(self.dim, spec.heads) for _ in range(spec.depth))
        self.norm = nn.LayerNorm(self.dim)
        self.patch_head = spec.g_out == "patch"  # a token's linear map draws its tile: no conv in G
        self.pixel_ch = spec.channels if self.patch_head else PIXEL_CH
        self.to_pixels = nn.Linear(self.dim, PATCH * PATCH * self.pixel_ch)
        self.to_image = (None if self.patch_head else  # the older head: a 3x3 conv over the tile seams
                         nn.Sequential(nn.GELU(), nn.Conv2d(PIXEL_CH, spec.channels, 3, 1, 1)))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, return_attn: bool = False,
                attn_off: bool = False):
        B, g, ch = z.shape[0], self.grid, self.pixel_ch
        x = self.first_features(z, y).view(B, g * g, self.dim) + self.pos  # (B, T, D)
        maps = []
        for block in self.blocks:
            x, attn = block(x, return_attn, attn_off)
            if return_attn:
                maps.append(attn)  # (B, nh, T, T)
        tiles = self.to_pixels(self.norm(x))  # (B, T, P*P*ch)
        tiles = tiles.view(B, g, g, PATCH, PATCH, ch).permute(0, 5, 1, 3, 2, 4)  # (B, ch, g, P, g, P)
        pixels = tiles.reshape(B, ch, g * PATCH, g * PATCH)  # (B, ch, H, W)
        img = torch.tanh(pixels if self.patch_head else self.to_image(pixels))  # (B, C, H, W)
        return (img, maps) if return_attn else img


register("transformer", TransformerGenerator, ConvDiscriminator)  # D: the DCGAN discriminator
