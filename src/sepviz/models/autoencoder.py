"""A plain autoencoder, x -> z -> x', the baseline of chapter 2 (autoencoder vs PCA)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sepviz.models import blocks
from sepviz.models.base import ModelConfig, SepvizModel
from sepviz.train import Optimize, Streams


class AutoEncoder(SepvizModel):
    """Encoder E and decoder D: ``reconstruct(x) = D(E(x))``, trained on the squared error

    .. math:: \\mathcal{L}(E, D) = \\lVert D(E(x)) - x \\rVert^2 .

    Built from a :class:`~sepviz.models.base.ModelConfig` (``image_size``, ``latent_dim``,
    ``lr``); ``fit(x)`` needs faces only.
    """

    Config = ModelConfig

    def __init__(self, config: ModelConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        self.encoder = blocks.encoder(self.image_size, self.latent_dim)
        self.decoder = blocks.decoder(self.image_size, self.latent_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = E(x): (N, 3, S, S) in [0, 1] -> (N, latent_dim)."""
        return self.encoder(self.check(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """x' = D(z): (N, latent_dim) -> (N, 3, S, S) in [0, 1]."""
        return self.decoder(self.check_z(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """D(E(x)), same shape as ``x``."""
        return self.decoder(self.encoder(self.check(x)))

    def probe_layers(self, decoder: str | None = None) -> dict[str, nn.Module]:
        return self.layers_of(self.encoder, self.decoder)

    def streams(self, x: torch.Tensor, y: Any = None) -> Streams:
        """Faces x (N, 3, S, S) in [0, 1]; an autoencoder has no target, so ``y`` must be None."""
        if y is not None:
            raise ValueError("an AutoEncoder learns from faces alone: y must be None")
        return {"faces": {"x": self.check(x)}}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"ae": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def training_step(
        self, batch: dict[str, dict[str, torch.Tensor]], step: int, optimize: Optimize
    ) -> dict[str, Any]:
        x = batch["faces"]["x"]
        loss = blocks.mse(self.decoder(self.encoder(x)), x)  # modules: the batch was checked once
        optimize(loss, "ae")
        return {"reconstruction": loss.detach()}
