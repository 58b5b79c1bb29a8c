"""Small shared helpers: device choice, seeding, atomic checkpoint files, image checks."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch


def pick_device(prefer: str | torch.device | None = None) -> torch.device:
    """Return the best available device: ``cuda``, then ``mps``, then ``cpu``.

    ``prefer`` (e.g. ``"cpu"``) overrides the automatic choice; the environment variable
    ``SEPVIZ_DEVICE`` does the same for a whole run (handy to force the CPU path on a GPU box).
    """
    choice = prefer if prefer is not None else os.environ.get("SEPVIZ_DEVICE")
    if choice is not None:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={choice!r} was asked for, but CUDA is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def budget(device: torch.device | None = None) -> str:
    """The book's compute budget: ``"full"`` on a GPU, ``"quick"`` otherwise.

    ``SEPVIZ_BUDGET=quick|full`` overrides it (the tests use ``quick``).
    """
    forced = os.environ.get("SEPVIZ_BUDGET")
    if forced is not None:
        if forced not in ("quick", "full"):
            raise ValueError(f"SEPVIZ_BUDGET must be 'quick' or 'full', got {forced!r}")
        return forced
    device = device if device is not None else pick_device()
    return "full" if device.type == "cuda" else "quick"


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU ``torch.Generator`` seeded with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeds the global state others use)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def atomic_save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save`` to a temporary file in the same folder, then rename it over ``path``.

    An interrupted write never leaves a truncated checkpoint behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def safe_load(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Any:
    """Load a checkpoint written by :func:`atomic_save` with ``weights_only=True`` (no pickles)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # a text file, a truncated file, a pickle of arbitrary objects
        raise ValueError(f"{path} is not a readable sepviz checkpoint: {error}") from error


def check_images(images: torch.Tensor, name: str = "images", size: int | None = None) -> None:
    """Raise ``ValueError`` unless ``images`` is float (N, 3, H, W) in [0, 1] (H == W == size)."""
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(images).__name__}")
    if images.dtype not in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        raise ValueError(f"{name} must be a float tensor in [0, 1], got dtype {images.dtype}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"{name} must have shape (N, 3, H, W), got {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise ValueError(f"{name} is empty: expected at least one image")
    if size is not None and tuple(images.shape[-2:]) != (size, size):
        raise ValueError(
            f"{name} must be {size}x{size} for this model, got {tuple(images.shape[-2:])}"
        )
    if not torch.isfinite(images).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-4 or hi > 1 + 1e-4:
        raise ValueError(f"{name} must lie in [0, 1], got values in [{lo:.3f}, {hi:.3f}]")
