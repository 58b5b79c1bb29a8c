"""``FaceSet``: the one structure every loader returns (synthetic and real faces alike)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch


@dataclass
class FaceSet:
    """Face images with their factors.

    Attributes:
        images: (N, 3, H, W) float32 in [0, 1].
        factors: one (N,) tensor per factor name. Continuous factors are float32, discrete
            ones (``"identity"``, ``"light_class"``) are int64. Synthetic sets hold every
            factor of :mod:`sepviz.data.synthetic`; real sets hold what their source knows.
        names: optional per-image names (file names for real data), length N or empty.
    """

    images: torch.Tensor
    factors: dict[str, torch.Tensor] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = self.images.shape[0]
        for key, value in self.factors.items():
            if value.shape[0] != n:
                raise ValueError(
                    f"factor {key!r} has {value.shape[0]} entries but there are {n} images"
                )
        if self.names and len(self.names) != n:
            raise ValueError(f"names has {len(self.names)} entries but there are {n} images")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int | slice | Sequence[int] | torch.Tensor) -> FaceSet:
        """A new ``FaceSet`` with the selected images (an int keeps the batch dimension)."""
        if isinstance(index, int):
            index = slice(index, index + 1) if index != -1 else slice(-1, None)
        if isinstance(index, torch.Tensor) and index.dtype == torch.bool:
            index = index.nonzero().flatten()
        images = self.images[index]
        factors = {k: v[index] for k, v in self.factors.items()}
        if self.names:
            ids = range(len(self))[index] if isinstance(index, slice) else index
            names = [self.names[int(i)] for i in ids]
        else:
            names = []
        return FaceSet(images, factors, names)

    def where(self, **conditions: int | float) -> FaceSet:
        """The faces whose factors equal the given values, e.g. ``faces.where(identity=0)``."""
        mask = torch.ones(len(self), dtype=torch.bool)
        for key, value in conditions.items():
            if key not in self.factors:
                raise KeyError(f"unknown factor {key!r}; this set has {sorted(self.factors)}")
            mask &= self.factors[key] == value
        return self[mask]

    def to(self, device: torch.device | str) -> FaceSet:
        """Move images and factors to ``device``."""
        return FaceSet(
            self.images.to(device),
            {k: v.to(device) for k, v in self.factors.items()},
            list(self.names),
        )
