"""Trained models on demand: train once with a recipe, then load from a cache.

Several chapters study the same model (chapter 3 trains DeepFakes, chapters 6 and 7 probe
it). :func:`trained` trains it the first time with its recipe (:data:`sepviz.recipes.RECIPES`:
which faces, which target) and saves it under ``cache_dir``; later calls with the same
arguments load it in a second. The cache key is every argument plus the sepviz version, so a
changed recipe never loads a stale model. Two processes asking for the same model at once (two
chapters executed side by side) train it once: the second waits on a lock file beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

import sepviz
from sepviz.data.faceset import FaceSet
from sepviz.models.base import SepvizModel
from sepviz.recipes import recipe

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


def training_faces(
    kind: str, size: int, n: int = 4000, seed: int = 0, identities: tuple[str, ...] = ("A", "B")
) -> FaceSet:
    """The synthetic training set of ``kind``'s recipe: ``n`` faces at ``size`` px."""
    return recipe(kind).training_faces(n, size, seed, identities=identities)


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
        kind: one of :data:`sepviz.recipes.KINDS`.
        size: image side (a power of two >= 16).
        steps: training steps.
        seed: seeds the weights, the faces and the batches.
        n_faces: size of the synthetic training set.
        fit: extra arguments for the model's ``fit`` (e.g. ``{"lambda_max": 0.3}``).
        cache: load / save under :func:`cache_dir`; ``False`` always trains.
        progress: show the training progress bar.
        options: constructor arguments (e.g. ``latent_dim=32``, ``identities=["A", "C"]``).

    Returns:
        The model in eval mode; ``model.history`` holds its training History (saved with it
        in the cache).
    """
    entry = recipe(kind)
    fit = dict(fit or {})
    key = json.dumps(
        [sepviz.__version__, kind, size, steps, seed, n_faces, fit, options],
        sort_keys=True,
        default=str,
    )
    path = cache_dir() / f"{kind}-{size}px-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"

    def train() -> SepvizModel:
        torch.manual_seed(seed)
        model = entry.build(size, **options)
        faces = entry.training_faces(n_faces, size, seed, **options)
        entry.fit(model, faces, steps, seed=seed, progress=progress, **fit)
        return model

    if not cache:
        return train()
    with _lock(path):  # another process training this model: wait for it, then load
        if path.exists():
            return SepvizModel.load(path)  # with the History it was trained with
        model = train()
        model.save(path)
    return model


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """Hold ``<path>.lock`` exclusively (POSIX ``flock``; elsewhere no lock, and at worst a
    model is trained twice)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
