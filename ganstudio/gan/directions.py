"""Interpretable directions in a generator's latent space, for the Explore sliders.

Three families, all returned as numpy float32 arrays of shape (k, z_dim) with orthonormal rows:

* SeFa (Shen & Zhou, "Closed-Form Factorization of Latent Semantics in GANs", 2021): the
  directions n that the first layer y = A z + b stretches most, argmax ||A n||. They are the
  top right-singular vectors of A (eigenvectors of AᵀA) after every output unit's weight
  vector is scaled to unit length, as the SeFa code does, so no single unit dominates.
* GANSpace (Härkönen et al., 2020): PCA of the first layer's activations over random z, carried
  back to z by least-squares regression of z on the PCA coordinates, then orthonormalised.
* raw z: the coordinate axes, the baseline that shows why the other two are useful.

A direction's scale σ is the spread of the latents along it (the standard deviation of z·d over sampled z,
:func:`direction_scales`): the sliders and the strips move in that unit, and their ±3σ ends stay near the region
the generator was trained on (99.7 % of latents lie within 3σ along any one direction), where ±10 left it.

Every function reads the generator and changes nothing. Call them on the engine's worker.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ganstudio.errors import BadInput

METHODS = ("sefa", "ganspace", "z")


def z_weight(generator: nn.Module) -> torch.Tensor:
    """The part of the first layer's weight that acts on z: (F, z_dim)."""
    return generator.z_proj.weight[:, : generator.z_dim].detach().float().cpu()


def _check_k(generator: nn.Module, k: int) -> int:
    if not 1 <= int(k) <= generator.z_dim:
        raise BadInput(f"number of directions must be between 1 and z_dim={generator.z_dim}, got {k}")
    return int(k)


def _fix_signs(rows: np.ndarray) -> np.ndarray:
    """Directions are defined up to sign; make each row's largest entry positive so a slider's
    meaning does not flip between runs or machines."""
    pivots = rows[np.arange(len(rows)), np.abs(rows).argmax(axis=1)]
    return rows * np.where(pivots < 0, -1.0, 1.0)[:, None]


def _orthonormal_rows(rows: np.ndarray) -> np.ndarray:
    """Gram-Schmidt in row order (via QR), keeping each row's orientation: (k, d) -> (k, d)."""
    q, r = np.linalg.qr(rows.T.astype(np.float64))  # q: (d, k), r: (k, k)
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)
    return (q * signs).T


def sefa_directions(generator: nn.Module, k: int) -> np.ndarray:
    """Top-k SeFa directions: (k, z_dim), orthonormal rows, strongest first."""
    k = _check_k(generator, k)
    a = z_weight(generator).double().numpy()  # (F, z_dim)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)  # every output unit's weights -> unit length
    eigvals, eigvecs = np.linalg.eigh(a.T @ a)  # (z_dim, z_dim): cheap however wide the layer is
    top = eigvecs[:, np.argsort(eigvals)[::-1][:k]].T  # (k, z_dim), strongest first
    return _fix_signs(top).astype(np.float32)


@torch.no_grad()
def ganspace_directions(
    generator: nn.Module, k: int, n_samples: int = 1024, seed: int = 0, class_id: int | None = None
) -> np.ndarray:
    """Top-k GANSpace directions: (k, z_dim), orthonormal rows, largest activation variance first.

    Conditional generators use one class for every sample (``class_id``, default 0): the label
    only shifts the first layer's output, so the variance PCA sees is z's alone.
    """
    k = _check_k(generator, k)
    if n_samples < 2 * k:
        raise BadInput(f"GANSpace needs at least {2 * k} samples for {k} directions, got {n_samples}")
    device = generator.z_proj.weight.device
    rng = np.random.default_rng(seed)
    z = torch.from_numpy(rng.standard_normal((n_samples, generator.z_dim), dtype=np.float32))  # (N, z_dim)
    y = None
    if generator.n_classes:
        y = torch.full((n_samples,), int(class_id or 0), dtype=torch.long, device=device)
    feats = generator.first_features(z.to(device), y).reshape(n_samples, -1).float().cpu()  # (N, F)

    centred = feats - feats.mean(dim=0, keepdim=True)
    q = min(k + 8, *centred.shape)  # a few spare components make the randomised SVD accurate
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _, _, v = torch.pca_lowrank(centred, q=q, center=False, niter=4)  # v: (F, q)
    coords = (centred @ v[:, :k]).double()  # (N, k) PCA coordinates of every sample

    # Regress z on the coordinates: z ≈ coords @ m; row i of m is the z-step that moves along component i.
    zc = z.double() - z.double().mean(dim=0, keepdim=True)
    m = torch.linalg.lstsq(coords, zc).solution.numpy()  # (k, z_dim)
    return _fix_signs(_orthonormal_rows(m)).astype(np.float32)


def z_axis_directions(z_dim: int, k: int) -> np.ndarray:
    """The first k coordinate axes of z: (k, z_dim)."""
    if not 1 <= int(k) <= z_dim:
        raise BadInput(f"number of directions must be between 1 and z_dim={z_dim}, got {k}")
    return np.eye(int(k), z_dim, dtype=np.float32)


@torch.no_grad()
def direction_gains(generator: nn.Module, dirs: np.ndarray) -> np.ndarray:
    """How far the first layer's output moves per unit step along each direction: ||W d||, (k,)."""
    w = z_weight(generator).double()  # (F, z_dim)
    return torch.linalg.vector_norm(torch.from_numpy(dirs).double() @ w.T, dim=1).numpy().astype(np.float32)


def direction_scales(dirs: np.ndarray) -> np.ndarray:
    """σ of each direction, (k,): the standard deviation of z·d over the latents of the one convention
    (``latents.py``: z ~ N(0, I)), which is ‖d‖ exactly (1 for the orthonormal directions here). Truncation ψ
    narrows the latents, not this unit."""
    return np.linalg.norm(np.asarray(dirs, np.float64), axis=1).astype(np.float32)


def directions(generator: nn.Module, method: str, k: int, seed: int = 0) -> np.ndarray:
    """Dispatch on ``method`` ("sefa" | "ganspace" | "z"): (k, z_dim) orthonormal rows."""
    if method == "sefa":
        return sefa_directions(generator, k)
    if method == "ganspace":
        return ganspace_directions(generator, k, seed=seed)
    if method == "z":
        return z_axis_directions(generator.z_dim, k)
    raise BadInput(f"unknown direction method {method!r}: choose one of {', '.join(METHODS)}")
