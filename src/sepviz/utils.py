"""Small shared helpers: device choice, seeding, atomic checkpoints, checks, batched inference.

* :func:`check_images`: the one image validator of the package ((N, 3, H, W) float in [0, 1]).
* :func:`check_latent`: codes for a decoder, a finite (N, latent_dim) float tensor.
* :func:`check_codes`: codes or features as an (N, D) float64 array, for probes and metrics.
* :func:`batched`: the one eval-mode batching loop (no grad, batches on the module's device,
  float32 CPU result).
"""

from __future__ import annotations

import itertools
import os
import random
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

LabelsLike = torch.Tensor | np.ndarray | Sequence[Any]
"""One value per sample: a tensor, an array or a list."""


DEVICE_TYPES = ("cuda", "mps", "cpu")
"""The devices sepviz runs on, in the order :func:`pick_device` prefers them."""


def pick_device(prefer: str | torch.device | None = None) -> torch.device:
    """Return the best available device: ``cuda``, then ``mps``, then ``cpu``.

    ``prefer`` (e.g. ``"cpu"``) overrides the automatic choice; the environment variable
    ``SEPVIZ_DEVICE`` does the same for a whole run (handy to force the CPU path on a GPU box).

    Raises:
        ValueError: the device asked for (naming ``device`` or ``SEPVIZ_DEVICE``) is not one
            of :data:`DEVICE_TYPES` (``cuda:N`` included), or this machine does not have it.
    """
    if prefer is not None:
        return _checked_device(prefer, "device")
    env = os.environ.get("SEPVIZ_DEVICE")
    if env is not None:
        return _checked_device(env, "SEPVIZ_DEVICE")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _checked_device(choice: str | torch.device, name: str) -> torch.device:
    """``choice`` as a device this machine has, else a ``ValueError`` naming ``name``."""
    allowed = "cuda, cuda:N, mps or cpu"
    try:
        device = torch.device(choice.strip() if isinstance(choice, str) else choice)
    except (RuntimeError, TypeError, ValueError):
        device = None
    if device is None or device.type not in DEVICE_TYPES:
        shown = repr(choice[:40]) if isinstance(choice, str) else repr(choice)
        raise ValueError(f"{name}={shown} is not a device sepviz runs on: use {allowed}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name}={choice!r} was asked for, but CUDA is not available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"{name}={choice!r}: this machine has {torch.cuda.device_count()} CUDA "
                f"device(s), cuda:0 to cuda:{torch.cuda.device_count() - 1}"
            )
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"{name}={choice!r} was asked for, but MPS is not available")
    return device


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

    An interrupted write never leaves a truncated checkpoint behind. The file gets the
    permissions of any file the user writes (``0o666`` less the umask), not the private
    ``0o600`` of the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _umask() -> int:
    """The process's umask (read by setting it and putting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def safe_load(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Any:
    """Load a checkpoint written by :func:`atomic_save` with ``weights_only=True`` (no pickles).

    Its size is bounded first (:data:`sepviz.limits.MAX_CHECKPOINT_BYTES`), and a failure is a
    ``ValueError`` in sepviz's words naming the file (never torch's advice to load with
    ``weights_only=False``): :func:`sepviz.checkpoint.load_weights_only`.
    """
    from sepviz.checkpoint import load_weights_only
    from sepviz.limits import MAX_CHECKPOINT_BYTES

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    size = path.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise ValueError(
            f"{path} is {size:,} bytes, more than any sepviz checkpoint can be "
            f"({MAX_CHECKPOINT_BYTES:,})"
        )
    state = load_weights_only(path.read_bytes(), path)
    if torch.device(map_location).type == "cpu":
        return state
    return _to_device(state, torch.device(map_location))


def _to_device(obj: Any, device: torch.device) -> Any:
    """``obj`` with every tensor inside its dicts and lists moved to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


def check_images(
    images: Any,
    name: str = "images",
    size: int | None = None,
    *,
    data_range: float | None = 1.0,
    grid: bool = False,
    convert: bool = False,
) -> torch.Tensor:
    """Return ``images`` if they are valid images, else raise a ``ValueError`` naming ``name``.

    Valid: a float tensor of shape (N, 3, H, W) (with ``grid`` also (R, C, 3, H, W)), not
    empty, finite, with values in [0, ``data_range``] (a slack of 1e-4).

    Args:
        images: the images to check.
        name: the argument's name, used in the messages.
        size: if given, H == W == ``size`` is required (a model's image size).
        data_range: the largest allowed value; ``None`` allows any finite values (outputs that
            are clamped before display).
        grid: also accept a grid (R, C, 3, H, W) of images (rows by columns).
        convert: also accept a NumPy array (converted to a tensor) or an object with an
            ``images`` tensor, such as a :class:`~sepviz.data.FaceSet` (its images are used).

    Returns:
        The images as a tensor (the object given, when it is a tensor).
    """
    if convert:
        if not isinstance(images, torch.Tensor) and hasattr(images, "images"):
            images = images.images
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(images)
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(images).__name__}")
    within = f" in [0, {data_range:g}]" if data_range is not None else ""
    if not images.is_floating_point():
        raise ValueError(f"{name} must be a float tensor{within}, got dtype {images.dtype}")
    shapes = "(N, 3, H, W) or (R, C, 3, H, W)" if grid else "(N, 3, H, W)"
    if images.ndim not in ((4, 5) if grid else (4,)) or images.shape[-3] != 3:
        raise ValueError(f"{name} must have shape {shapes}, got {tuple(images.shape)}")
    if images.numel() == 0:
        raise ValueError(f"{name} is empty: expected at least one image")
    if size is not None and tuple(images.shape[-2:]) != (size, size):
        raise ValueError(
            f"{name} must be {size}x{size} for this model, got {tuple(images.shape[-2:])}"
        )
    if not torch.isfinite(images).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if data_range is not None:
        lo, hi = float(images.min()), float(images.max())
        if lo < -1e-4 or hi > data_range + 1e-4:
            raise ValueError(f"{name} must lie{within}, got values in [{lo:.3f}, {hi:.3f}]")
    return images


def check_latent(z: Any, latent_dim: int, name: str = "z") -> torch.Tensor:
    """Return ``z`` if it is a finite float tensor (N, latent_dim), else raise a ``ValueError``.

    The messages name the argument ``name`` and the expected width ``latent_dim``.
    """
    if not isinstance(z, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(z).__name__}")
    if z.ndim != 2 or z.shape[1] != latent_dim or z.shape[0] == 0:
        raise ValueError(
            f"{name} must have shape (N, {latent_dim}) (latent_dim = {latent_dim}), "
            f"got {tuple(z.shape)}"
        )
    if not z.is_floating_point():
        raise ValueError(f"{name} must be a float tensor, got dtype {z.dtype}")
    if not torch.isfinite(z).all():
        raise ValueError(f"{name} must be finite: it contains NaN or infinite values")
    return z


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy array from a tensor (detached, on the CPU) or anything ``np.asarray`` takes."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def check_codes(z: Any, name: str = "z") -> np.ndarray:
    """Codes or features as an (N, D) float64 array, else a ``ValueError`` naming ``name``.

    Args:
        z: (N, D) or (N, ...) (flattened to D features) or (N,) (one feature) tensor or array,
            finite and not empty.
        name: the argument's name, used in the messages.

    Returns:
        (N, D) float64 array.
    """
    arr = to_numpy(z)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have shape (N, D), got a scalar")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: got shape {arr.shape}")
    arr = arr.reshape(arr.shape[0], -1).astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def _device_of(module: nn.Module) -> torch.device:
    """The device of the module's first parameter (or buffer); the CPU if it has neither."""
    first = next(itertools.chain(module.parameters(), module.buffers()), None)
    return first.device if first is not None else torch.device("cpu")


def batched(
    module: nn.Module,
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    batch_size: int = 256,
) -> torch.Tensor:
    """``fn`` over the rows of ``x``, ``batch_size`` rows at a time, in eval mode, no grad.

    ``module`` (the network ``fn`` runs, e.g. a model with ``fn = model.encode``) is put in eval
    mode for the loop (BatchNorm uses its running statistics, dropout is off) and back in the
    mode it was in afterwards, even when ``fn`` raises. Each batch is moved to the module's
    device (that of its first parameter or buffer, else the CPU); floating batches are cast to
    float32.

    Args:
        module: the ``nn.Module`` whose mode and device are used.
        fn: (B, ...) tensor -> (B, ...) tensor.
        x: (N, ...) tensor on any device, N >= 1.
        batch_size: rows per call of ``fn``, >= 1.

    Returns:
        (N, ...) float32 CPU tensor: the outputs of every batch, concatenated along dim 0.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if x.shape[0] == 0:
        raise ValueError("x is empty: expected at least one row")
    device = _device_of(module)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = []
            for i in range(0, x.shape[0], batch_size):
                batch = x[i : i + batch_size].to(device)
                if batch.is_floating_point():
                    batch = batch.float()
                out.append(fn(batch).float().cpu())
    finally:
        module.train(was_training)
    return torch.cat(out)


def fit_within(image: torch.Tensor, max_side: int | None) -> tuple[torch.Tensor, float]:
    """``image`` (C, H, W) shrunk (bilinear, anti-aliased) so its longer side is at most
    ``max_side``, and the scale applied (1.0 when it already fits or ``max_side`` is None)."""
    h, w = image.shape[-2:]
    if max_side is None or max(h, w) <= max_side:
        return image, 1.0
    import torch.nn.functional as F

    scale = max_side / max(h, w)
    new = (max(1, round(h * scale)), max(1, round(w * scale)))
    small = F.interpolate(image[None], new, mode="bilinear", align_corners=False, antialias=True)
    return small[0].clamp(0, 1), scale
