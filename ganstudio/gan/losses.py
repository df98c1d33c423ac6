"""GAN objectives. D outputs raw scores; each loss reads them its own way.

ns:      D: softplus(-D(x)) + softplus(D(G(z)))      G: softplus(-D(G(z)))   (non-saturating)
minimax: D: as ns                                     G: -softplus(D(G(z))) = log(1 - D(G(z)))  (saturating: the
         original game's G loss, whose gradient vanishes once D rejects the fakes confidently)
lsgan:   D: (D(x) - 1)² + D(G(z))²  (halved)          G: (D(G(z)) - 1)²  (halved)
hinge:   D: relu(1 - D(x)) + relu(1 + D(G(z)))        G: -D(G(z))
wgan-gp: D: D(G(z)) - D(x) + λ (‖∇D(x̂)‖ - 1)²          G: -D(G(z))
Optional R1 (any loss but wgan-gp): D += γ/2 · ‖∇D(x)‖² on real x.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


PROBABILITY_LOSSES = ("ns", "minimax")  # D's score is a logit: sigmoid(score) = D(x), the probability "real"


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind in PROBABILITY_LOSSES:
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    raise ValueError(kind)


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    if kind == "ns":
        return F.softplus(-fake).mean()
    if kind == "minimax":
        return -F.softplus(fake).mean()  # E[log(1 - D(G(z)))]: G minimises what D maximises
    if kind == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    if kind in ("hinge", "wgan-gp"):
        return -fake.mean()
    raise ValueError(kind)


def interpolate(real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Random points on the lines between real and fake samples (where WGAN-GP penalises)."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    t = torch.rand(shape, device=real.device, generator=generator)
    return (t * real + (1 - t) * fake).requires_grad_(True)


def gradient_penalty(scores: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(‖∇ₓD(x̂)‖₂ - 1)² averaged over D's inputs (packs of `pack` samples); keeps the graph for D's backward."""
    (grad,) = torch.autograd.grad(scores.sum(), points, create_graph=True)
    return ((grad.reshape(scores.shape[0], -1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(scores: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """‖∇ₓD(x)‖² on real data (Mescheder et al. 2018): D stays flat where the data is, so G settles there."""
    (grad,) = torch.autograd.grad(scores.sum(), real, create_graph=True)
    return grad.reshape(scores.shape[0], -1).pow(2).sum(1).mean()


def d_output_meaning(kind: str) -> str:
    """How to read D's mean output in the UI: a probability for ns, a raw score otherwise."""
    return "probability" if kind in PROBABILITY_LOSSES else "score"


def readable(kind: str, scores: torch.Tensor) -> torch.Tensor:
    """Mean D output as shown to the user: sigmoid for ns (D(x) as a probability), raw otherwise."""
    return torch.sigmoid(scores).mean() if kind in PROBABILITY_LOSSES else scores.mean()


def terms(kind: str, real: torch.Tensor, fake: torch.Tensor) -> dict:
    """The objective of ``kind`` written out, with the current value of each term.

    ``real`` and ``fake`` are D's raw scores on a batch of real and generated samples. Returns
    ``{"game": what D and G play, "rows": [[term, value, who wants it how]], "d_loss", "g_loss"}``.
    """
    if kind in PROBABILITY_LOSSES:
        log_d_real = F.logsigmoid(real).mean()  # E[log D(x)], D(x) = sigmoid(score)
        log_1m_d_fake = F.logsigmoid(-fake).mean()  # E[log(1 - D(G(z)))]
        value = log_d_real + log_1m_d_fake
        rows = [["E[log D(x)]", log_d_real, "D pushes it up to 0 (D(x) → 1)"],
                ["E[log(1 − D(G(z)))]", log_1m_d_fake, "D pushes it up (D(G(z)) → 0); G pushes it down"],
                ["V(D, G) = the sum", value, "D maximises it; G minimises it"]]
        if kind == "ns":
            rows.append(["G's non-saturating loss −E[log D(G(z))]", F.softplus(-fake).mean(),
                         "what G minimises instead: strong gradients while D wins"])
        else:
            rows.append(["G's loss E[log(1 − D(G(z)))]", log_1m_d_fake,
                         "the original game: its gradient vanishes while D rejects the fakes"])
        game = "min over G, max over D of V(D, G) = E[log D(x)] + E[log(1 − D(G(z)))]"
    elif kind == "lsgan":
        rows = [["½E[(D(x) − 1)²]", 0.5 * ((real - 1) ** 2).mean(), "D pulls its score on real data to 1"],
                ["½E[D(G(z))²]", 0.5 * (fake**2).mean(), "D pulls its score on fakes to 0"],
                ["G: ½E[(D(G(z)) − 1)²]", 0.5 * ((fake - 1) ** 2).mean(), "G pulls D's score on its fakes to 1"]]
        game = "least squares: D regresses real → 1, fake → 0; G wants its fakes scored 1"
    elif kind == "hinge":
        rows = [["E[max(0, 1 − D(x))]", F.relu(1 - real).mean(), "D wants real scores above 1"],
                ["E[max(0, 1 + D(G(z)))]", F.relu(1 + fake).mean(), "D wants fake scores below −1"],
                ["G: −E[D(G(z))]", -fake.mean(), "G raises D's score on its fakes"]]
        game = "hinge: D keeps a margin of 1 around real and fake; G raises its fakes' scores"
    elif kind == "wgan-gp":
        rows = [["E[D(x)]", real.mean(), "the critic scores real data high"],
                ["E[D(G(z))]", fake.mean(), "…and fakes low"],
                ["E[D(x)] − E[D(G(z))]", real.mean() - fake.mean(), "estimates the Wasserstein distance"],
                ["G: −E[D(G(z))]", -fake.mean(), "G raises the critic's score on its fakes"]]
        game = "Wasserstein: the critic maximises E[D(x)] − E[D(G(z))] − λ·E[(‖∇D(x̂)‖ − 1)²]"
    else:
        raise ValueError(kind)
    return {"game": game, "rows": [[name, float(v), note] for name, v, note in rows],
            "d_loss": float(d_loss(kind, real, fake)), "g_loss": float(g_loss(kind, fake))}
