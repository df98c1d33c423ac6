"""The VAE's objective, the ELBO, term by term, and how the live view writes it out.

ELBO(x) = E_q(z|x)[log p(x|z)] − KL(q(z|x) ‖ p(z)), maximised; the loss minimised is −ELBO. With a Gaussian
decoder of fixed std σ, log p(x|z) = −‖x − x̂‖² / (2σ²) up to a constant (left out: it does not move), and for
q = N(μ, diag σ_q²) against p(z) = N(0, I) the KL has a closed form. Both are summed over a sample's
coordinates (or pixels) and averaged over the batch, in nats per sample.
"""

from __future__ import annotations

import torch

GAME = ("maximise the ELBO = E[log p(x | z)] − KL(q(z | x) ‖ p(z)): the encoder q maps x to a cloud of codes, "
        "the decoder p maps a code back to x, and the KL keeps every cloud near the prior N(0, I) "
        "so that codes drawn from the prior decode to data")


def reconstruction(x: torch.Tensor, x_hat: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B,) log p(x | z) up to a constant: −‖x − x̂‖² / (2σ²), summed over coordinates or pixels."""
    return -((x - x_hat) ** 2).flatten(1).sum(1) / (2 * sigma**2)


def kl_to_prior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """(B,) KL(N(μ, diag e^logvar) ‖ N(0, I)) = ½ Σ (μ² + σ² − 1 − log σ²)."""
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)


def elbo_parts(encoder, decoder, x: torch.Tensor, sigma: float, unit: float,
               noise: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One pass through the VAE: (B,) reconstruction and KL terms, and the (B, ...) reconstructions x̂.

    z = μ + σ_q·ε (the reparameterisation trick: gradients flow through μ and σ_q); ``unit`` is the data's
    scale (2D) or 1 (images), so σ is measured in it; ``noise`` draws ε (the run's own generator)."""
    mu, logvar = encoder(x)  # (B, z_dim) each
    eps = torch.randn(mu.shape, device=mu.device, generator=noise)
    x_hat = decoder(mu + (0.5 * logvar).exp() * eps)  # (B, 2) or (B, C, H, W)
    return reconstruction(x / unit, x_hat / unit, sigma), kl_to_prior(mu, logvar), x_hat


def terms(recon: float, kl: float) -> dict:
    """The objective written out with this run's current values (the live view's table, the GAN's "game")."""
    rows = [["reconstruction E[log p(x | z)] = −E[‖x − x̂‖²] / (2σ²)", recon,
             "how well a real sample comes back through encoder and decoder; both push it up"],
            ["KL(q(z | x) ‖ p(z))", kl, "how far the encoder's code clouds stray from the prior; pushed down"],
            ["ELBO = reconstruction − KL", recon - kl, "a lower bound on log p(x): the one number both nets raise"]]
    return {"title": "The objective", "game": GAME, "rows": rows,
            "footer": f"Loss now −ELBO = {kl - recon:.3f} nats per sample (on a fresh batch of 128 real samples)"}
