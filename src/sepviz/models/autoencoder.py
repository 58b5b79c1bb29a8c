"""A plain autoencoder, x -> z -> x', the baseline of chapter 2 (autoencoder vs PCA)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sepviz.models import blocks
from sepviz.models.base import SepvizModel
from sepviz.train import History, Optimize


class AutoEncoder(SepvizModel):
    """Encoder E and decoder D: ``reconstruct(x) = D(E(x))``, trained on the squared error.

    Args:
        image_size: side of the square input, a power of two >= 16.
        latent_dim: length of the latent vector z.
        lr: Adam learning rate.
    """

    def __init__(self, image_size: int = 32, latent_dim: int = 64, lr: float = 1e-3) -> None:
        super().__init__(image_size=image_size, latent_dim=latent_dim, lr=lr)
        self.encoder = blocks.encoder(image_size, latent_dim)
        self.decoder = blocks.decoder(image_size, latent_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = E(x): (N, 3, S, S) in [0, 1] -> (N, latent_dim)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """x' = D(z): (N, latent_dim) -> (N, 3, S, S) in [0, 1]."""
        return self.decoder(z)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """D(E(x)), same shape as ``x``."""
        return self.decoder(self.encoder(x))

    def probe_layers(self, decoder: str | None = None) -> dict[str, nn.Module]:
        return self.layers_of(self.encoder, self.decoder)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"ae": torch.optim.Adam(self.parameters(), lr=self.config["lr"])}

    def training_step(
        self, batch: dict[str, dict[str, torch.Tensor]], step: int, optimize: Optimize
    ) -> dict[str, Any]:
        x = batch["faces"]["x"]
        loss = blocks.mse(self.reconstruct(x), x)
        optimize(loss, "ae")
        return {"reconstruction": loss.detach()}

    def fit(self, x: torch.Tensor, steps: int = 1000, **fit_kwargs: Any) -> History:
        """Train on images x (N, 3, S, S) in [0, 1]; ``fit_kwargs`` go to :func:`sepviz.train.fit`
        (``batch_size``, ``seed``, ``checkpoint_dir``, ``resume``, ``callbacks``, ...)."""
        return self.train_on({"faces": {"x": self.check(x)}}, steps, **fit_kwargs)
