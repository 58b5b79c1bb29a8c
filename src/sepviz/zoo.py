"""Trained models on demand: train once with a standard recipe, then load from a cache.

Several chapters study the same model (chapter 3 trains DeepFakes, chapters 5 and 6 probe
it). :func:`trained` trains it the first time with the recipe below and saves it under
``cache_dir``; later calls with the same arguments load it in a second. The cache key is
every argument plus the sepviz version, so a changed recipe never loads a stale model.

Recipes (synthetic faces, :func:`training_faces`):

- ``"autoencoder"``: 8 random people, random expressions and lights.
- ``"deepfakes"``: the named people (default A and B), one decoder each.
- ``"fadernet"``: 8 random people; y = azimuth / 60 in [-1, 1] (continuous).
- ``"multidecoder"``: 8 random people lit by the lamps of :func:`class_azimuths` (left /
  centre / right), one decoder per light class.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

import sepviz
from sepviz.data.faceset import FaceSet
from sepviz.data.synthetic import LIGHT_CLASSES, class_azimuths, make_faces
from sepviz.models.base import SepvizModel

KINDS = ("autoencoder", "deepfakes", "fadernet", "multidecoder")
DEFAULT_CACHE = Path(__file__).resolve().parents[2] / "data" / "cache" / "models"


def cache_dir() -> Path:
    """Where trained models are kept: ``$SEPVIZ_CACHE`` or ``data/cache/models`` of the repo
    (``~/.cache/sepviz/models`` when sepviz is installed without the repository)."""
    if os.environ.get("SEPVIZ_CACHE"):
        return Path(os.environ["SEPVIZ_CACHE"])
    if DEFAULT_CACHE.parent.parent.is_dir():
        return DEFAULT_CACHE
    return Path.home() / ".cache" / "sepviz" / "models"


SETTINGS: dict[str, dict[str, int]] = {
    # quick: 2 CPU cores, a few minutes per chapter; full: a Colab GPU
    "quick": {"size": 32, "steps": 1500, "n_faces": 4000},
    "full": {"size": 64, "steps": 8000, "n_faces": 20000},
}


def settings(budget: str) -> dict[str, int]:
    """Image size, training steps and training-set size of a budget (``"quick"``/``"full"``),
    as keyword arguments for :func:`trained`. Chapters that pass the same settings share one
    trained model through the cache."""
    if budget not in SETTINGS:
        raise ValueError(f"budget must be one of {sorted(SETTINGS)}, got {budget!r}")
    return dict(SETTINGS[budget])


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def training_faces(
    kind: str, size: int, n: int = 4000, seed: int = 0, identities: tuple[str, ...] = ("A", "B")
) -> FaceSet:
    """The synthetic training set of a recipe (see the module docstring): ``n`` faces."""
    _check_kind(kind)
    if kind == "deepfakes":
        return make_faces(n, size=size, identities=list(identities), seed=seed)
    if kind == "multidecoder":
        return make_faces(n, size=size, identities=8, seed=seed, azimuths=class_azimuths())
    return make_faces(n, size=size, identities=8, seed=seed)


def build(kind: str, size: int, **options: Any) -> SepvizModel:
    """An untrained model of ``kind`` at ``size`` px; ``options`` go to its constructor."""
    _check_kind(kind)
    from sepviz import models

    if kind == "autoencoder":
        return models.AutoEncoder(image_size=size, **options)
    if kind == "deepfakes":
        return models.DeepFakes(image_size=size, **options)
    if kind == "fadernet":
        return models.FaderNet(image_size=size, **options)
    return models.MultiDecoder(classes=LIGHT_CLASSES, image_size=size, **options)


def fit_recipe(model: SepvizModel, kind: str, faces: FaceSet, steps: int, **fit_kwargs: Any) -> Any:
    """Train ``model`` on ``faces`` the way recipe ``kind`` does; returns the History."""
    if kind == "deepfakes":
        groups = {name: faces.where(identity=i).images for i, name in enumerate(model.identities)}
        return model.fit(groups, steps=steps, **fit_kwargs)
    if kind == "fadernet":
        y = (faces.factors["azimuth"] / 60).unsqueeze(1)
        return model.fit(faces.images, y, steps=steps, **fit_kwargs)
    if kind == "multidecoder":
        return model.fit(faces.images, faces.factors["light_class"], steps=steps, **fit_kwargs)
    return model.fit(faces.images, steps=steps, **fit_kwargs)


def trained(
    kind: str,
    size: int = 32,
    steps: int = 1500,
    seed: int = 0,
    n_faces: int = 4000,
    fit: dict[str, Any] | None = None,
    cache: bool = True,
    progress: bool = True,
    **options: Any,
) -> SepvizModel:
    """A model of ``kind`` trained with its recipe, loaded from the cache when it is there.

    Args:
        kind: one of :data:`KINDS`.
        size: image side (a power of two >= 16).
        steps: training steps.
        seed: seeds the weights, the faces and the batches.
        n_faces: size of the synthetic training set.
        fit: extra arguments for the model's ``fit`` (e.g. ``{"lambda_max": 0.3}``).
        cache: load / save under :func:`cache_dir`; ``False`` always trains.
        progress: show the training progress bar.
        options: constructor arguments (e.g. ``latent_dim=32``, ``identities=["A", "C"]``).

    Returns:
        The model in eval mode; ``model.history`` holds the training History when it was
        trained in this call, ``None`` when it was loaded.
    """
    _check_kind(kind)
    fit = dict(fit or {})
    key = json.dumps(
        [sepviz.__version__, kind, size, steps, seed, n_faces, fit, options],
        sort_keys=True,
        default=str,
    )
    path = cache_dir() / f"{kind}-{size}px-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"
    if cache and path.exists():
        model = SepvizModel.load(path)
        model.history = None
        return model
    torch.manual_seed(seed)
    model = build(kind, size, **options)
    identities = tuple(options.get("identities", ("A", "B")))
    faces = training_faces(kind, size, n_faces, seed, identities)
    model.history = fit_recipe(model, kind, faces, steps, seed=seed, progress=progress, **fit)
    if cache:
        model.save(path)
    return model
