"""The blog's idea 2: one shared encoder and one decoder per lighting class (left / centre /
right). Relighting = decoding a face's latent with another class's decoder, DeepFakes-style."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from sepviz.models.deepfakes import SharedEncoderModel
from sepviz.train import History


class MultiDecoder(SharedEncoderModel):
    """``shared_encoder`` and ``decoders[c]`` for each light class c.

    Args:
        classes: decoder names in label order: label k trains ``decoders[classes[k]]``.
        image_size: side of the square faces, a power of two >= 16.
        latent_dim: length of the shared latent vector z.
        lr: Adam learning rate.
    """

    def __init__(
        self,
        classes: Sequence[str] = ("left", "centre", "right"),
        image_size: int = 32,
        latent_dim: int = 64,
        lr: float = 1e-3,
    ) -> None:
        super().__init__(classes, image_size, latent_dim, lr)
        self.config = {"classes": list(self.names), **self.config}

    @property
    def classes(self) -> list[str]:
        return self.names

    def fit(self, x: torch.Tensor, labels: torch.Tensor, steps: int = 1500, **kw: Any) -> History:
        """Train decoder k on the faces with label k.

        Args:
            x: (N, 3, S, S) in [0, 1].
            labels: (N,) int class indices in [0, len(classes)), e.g. ``light_class``.
            kw: passed to :func:`sepviz.train.fit`.
        """
        labels = torch.as_tensor(labels)
        if labels.ndim != 1 or labels.shape[0] != len(x) or labels.is_floating_point():
            raise ValueError(
                f"labels must be (N,) ints with N = {len(x)} images, got {tuple(labels.shape)} "
                f"{labels.dtype}"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.names)):
            raise ValueError(f"labels must lie in [0, {len(self.names)}), got {labels.unique()}")
        groups = {name: x[labels == k] for k, name in enumerate(self.names)}
        return self._fit_groups(groups, steps, **kw)

    def relight(self, x: torch.Tensor, to: str) -> torch.Tensor:
        """Faces ``x`` decoded by ``decoders[to]``: relit to class ``to``; CPU (N, 3, S, S)."""
        return self.transfer(x, to)
