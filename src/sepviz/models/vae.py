r"""The variational autoencoder (Kingma & Welling 2014, arXiv 1312.6114), with the β of β-VAE
(Higgins et al. 2017): the autoencoder whose latent is held to a prior, so it can generate.

The encoder gives each face a Gaussian over codes, :math:`q(z \mid x) = \mathcal{N}(\mu(x),
\mathrm{diag}\,\sigma^2(x))`; the decoder draws the face back from a code sampled from it. The
loss is the negative evidence lower bound (ELBO), with the decoder's pixels Gaussian of a fixed
noise ``sigma``:

.. math::
    \mathcal{L} = \frac{\lVert x - D(z) \rVert^2}{2\,\sigma_x^2}
    + \beta\, \mathrm{KL}\big(q(z \mid x) \,\Vert\, \mathcal{N}(0, I)\big), \qquad
    z = \mu(x) + \sigma(x) \odot \varepsilon,\ \varepsilon \sim \mathcal{N}(0, I).

The sampled :math:`z` (the reparameterisation trick) lets the gradient reach :math:`\mu` and
:math:`\sigma`. The KL term pulls every code towards the prior, so that a code drawn from the
prior decodes to a face: what the blog means by "a constraint on the latent makes it
generative". β = 1 is the ELBO; β > 1 pulls harder (fewer units carry information, each
perhaps one factor); β = 0 is an autoencoder with noisy codes.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import nn

from sepviz.models import blocks
from sepviz.models.base import ModelConfig, Part, SepvizModel, positive_number
from sepviz.train import Optimize, Streams


def kl_to_prior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per unit, in nats: (N, d), (N, d) -> (N, d), >= 0.

    Each unit's term is ``(mu^2 + var - logvar - 1) / 2``: zero exactly at the prior
    (mu = 0, logvar = 0)."""
    return 0.5 * (mu.float() ** 2 + logvar.float().exp() - logvar.float() - 1)


@dataclasses.dataclass(frozen=True)
class VAEConfig(ModelConfig):
    """A :class:`~sepviz.models.base.ModelConfig` plus the weight of the prior.

    Args:
        latent_dim: units of z (default 16).
        beta: weight of the KL term, >= 0 (1: the ELBO; 0: no prior).
        sigma: the decoder's pixel noise, > 0: the squared error is weighted by
            1 / (2 sigma^2). Smaller trusts the pixels more (sharper faces, a looser prior).
    """

    latent_dim: int = 16
    beta: float = 1.0
    sigma: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        beta = self.beta
        is_number = isinstance(beta, (int, float)) and not isinstance(beta, bool)
        if not (is_number and math.isfinite(beta) and beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
        if not positive_number(self.sigma):
            raise ValueError(f"sigma must be a finite number > 0, got {self.sigma!r}")


class VAE(SepvizModel):
    """Encoder to (mu, logvar), reparameterised sample, decoder; ``sample(n)`` draws faces
    from the prior. ``encode`` returns the posterior mean mu (what the probes read)."""

    Config = VAEConfig

    def __init__(self, config: VAEConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        # the encoder gives the posterior's mean; a second head on its last feature map, the
        # log-variance (so `encoder` ends in mu, the code the probes read, as in AutoEncoder)
        self.encoder = blocks.encoder(self.image_size, self.latent_dim)
        features = blocks.channels(self.image_size)[-1] * 16  # the 4 x 4 maps, flattened
        self.log_variance = nn.Linear(features, self.latent_dim)
        self.decoder = blocks.decoder(self.image_size, self.latent_dim)

    # -- the model ----------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | x): faces (N, 3, S, S) in [0, 1] -> (mu, logvar), each (N, latent_dim)."""
        return self._posterior(self.check(x))

    def _posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder[:-1](x)  # (N, C, 4, 4)
        return self.encoder[-1](features), self.log_variance(features.flatten(1))  # (N, d) x 2

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean mu(x): (N, 3, S, S) in [0, 1] -> (N, latent_dim)."""
        return self.encoder(self.check(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """D(z): codes (N, latent_dim) -> faces (N, 3, S, S) in [0, 1]."""
        return self.decoder(self.check_z(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """D(mu(x)), same shape as ``x`` (the mean code: no sampling noise)."""
        return self.decoder(self.encode(x))

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` new faces: codes drawn from the prior N(0, I), decoded; (n, 3, S, S) in [0, 1]
        on the CPU. The same ``seed`` gives the same faces; ``None`` draws fresh ones."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        z = torch.randn(n, self.latent_dim, generator=generator)
        return self.batched(self.decoder, z)

    def export_parts(self) -> dict[str, Part]:
        """The decoder, ``z`` -> faces: what the page's sliders and "sample" button run."""
        return {"decoder": (self.decoder, (torch.randn(2, self.latent_dim),), ["z"])}

    def probe_layers(self, decoder: str | None = None) -> dict[str, nn.Module]:
        return self.layers_of(self.encoder, self.decoder)

    # -- training -----------------------------------------------------------------------
    def streams(self, x: torch.Tensor, y: Any = None) -> Streams:
        """Faces x (N, 3, S, S) in [0, 1]; a VAE learns from faces alone, so ``y`` is None."""
        if y is not None:
            raise ValueError("a VAE learns from faces alone: y must be None")
        return {"faces": {"x": self.check(x)}}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"vae": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def training_step(
        self, batch: dict[str, dict[str, torch.Tensor]], step: int, optimize: Optimize
    ) -> dict[str, Any]:
        x = batch["faces"]["x"]  # (N, 3, S, S)
        mu, logvar = self._posterior(x)  # (N, d) each
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)  # reparameterised sample
        squared_error = ((self.decoder(z).float() - x) ** 2).flatten(1).sum(1)  # (N,)
        kl = kl_to_prior(mu, logvar).sum(1)  # (N,) nats
        sigma, beta = self.config.sigma, self.config.beta
        loss = (squared_error / (2 * sigma**2) + beta * kl).mean()  # -ELBO per face
        optimize(loss, "vae")
        pixels = x[0].numel()
        return {"reconstruction": squared_error.mean().detach() / pixels, "kl": kl.mean().detach()}
