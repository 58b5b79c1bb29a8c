"""The models of the book: an autoencoder, a VAE, DeepFakes, FaderNet, one decoder per class.

All take and return images as float32 tensors (N, 3, H, W) in [0, 1]. Each is built from a
config dataclass (``FaderNet(FaderNetConfig(...))`` or ``FaderNet(latent_dim=32)``), trains
with ``model.fit(x, y, steps=...)`` (which returns the model, its losses on ``model.history``)
and decodes with another decoder through one verb, ``swap(x, to)``; FaderNet's slider is
``relight(x, y)``. :mod:`sepviz.recipes` says which faces and targets each model learns from.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "SepvizModel": "base",
    "ModelConfig": "base",
    "DeepFakesConfig": "deepfakes",
    "FaderNetConfig": "fadernet",
    "MultiDecoderConfig": "multidecoder",
    "VAEConfig": "vae",
    "AutoEncoder": "autoencoder",
    "DeepFakes": "deepfakes",
    "FaderNet": "fadernet",
    "ErasedFaderNet": "fadernet",
    "MultiDecoder": "multidecoder",
    "VAE": "vae",
    "PCA": "pca",
    "block_table": "base",
}

__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    # Lazy: `from sepviz.models import FaderNet` imports only fadernet.py.
    if name in _WHERE:
        return getattr(importlib.import_module(f"sepviz.models.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'sepviz.models' has no attribute {name!r}")
