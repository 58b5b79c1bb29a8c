"""The blog's ideas, made runnable: idea 1, relighting a person by a face swap.

Idea 1: to relight person A, photograph person B under every light. For a wanted light, take
B's photograph under that light whose expression is nearest A's (retrieved in the shared latent
space of a DeepFakes model) and swap it to A with decoder A.

* :func:`light_candidates`: which bank images carry the wanted light.
* :func:`retrieve_by_latent`: for each face of A, the nearest bank image (in latent space)
  among those candidates.
* :func:`relight_by_swap`: the whole idea: retrieve, then decode with ``decoders[to]``.

How "the wanted light" is matched is decided by the dtype of ``bank_light``:

- integer labels (e.g. ``light_class``: 0 left, 1 centre, 2 right) are light *classes*:
  a bank image is a candidate when its label equals ``target_light`` exactly;
- floating values are *azimuths* in degrees (negative = light from the image's left): a bank
  image is a candidate when ``|azimuth - target_light| <= tolerance``. A bank shot under a
  few fixed lamps (``make_faces(..., azimuths=class_azimuths())``) and a target at one of the
  lamps then matches that lamp exactly; a dense bank (random azimuths) matches a window
  ``tolerance`` degrees wide on each side, so retrieval still has several expressions to choose
  from.

Nearest means the Euclidean distance between flattened codes ``model.encode(x)``, computed on
the model's own device; ties go to the lowest bank index.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
from torch import nn

from sepviz import grids
from sepviz.probes import extract_latents
from sepviz.utils import batched, check_images


def _as_bank_light(bank_light: Any, n: int | None = None) -> torch.Tensor:
    """(M,) CPU tensor of light labels; ``n``: the number of bank images it must match."""
    light = torch.as_tensor(bank_light).detach().cpu()
    if light.ndim == 2 and light.shape[1] == 1:
        light = light[:, 0]
    if light.ndim != 1:
        raise ValueError(f"bank_light must have shape (M,), got {tuple(light.shape)}")
    if light.shape[0] == 0:
        raise ValueError("bank_light is empty: the bank needs at least one image")
    if n is not None and light.shape[0] != n:
        raise ValueError(f"bank_light has {light.shape[0]} entries but the bank has {n} images")
    if light.dtype == torch.bool or light.is_complex():
        raise ValueError(f"bank_light must be int classes or float azimuths, got {light.dtype}")
    if light.is_floating_point() and not torch.isfinite(light).all():
        raise ValueError("bank_light holds NaN or infinite values")
    return light


def _as_number(target_light: Any) -> float:
    if isinstance(target_light, torch.Tensor) and target_light.numel() == 1:
        target_light = target_light.item()
    if isinstance(target_light, bool) or not isinstance(target_light, numbers.Real):
        raise ValueError(
            f"target_light must be a number (class index or azimuth), got {target_light!r}"
        )
    if not math.isfinite(float(target_light)):
        raise ValueError(f"target_light must be finite, got {target_light!r}")
    return float(target_light)


def light_candidates(
    bank_light: torch.Tensor, target_light: int | float, tolerance: float = 10.0
) -> torch.Tensor:
    """Which bank images are lit by ``target_light``.

    Args:
        bank_light: (M,) int64 light classes, or float azimuths in degrees.
        target_light: a class index (int) for class labels, an azimuth (degrees) for azimuths.
        tolerance: for azimuths, the largest ``|azimuth - target_light|`` (degrees, >= 0) that
            still counts as the wanted light; ignored for classes.

    Returns:
        (M,) bool mask of the candidates (at least one is True).

    Raises:
        ValueError: empty bank, a bad ``target_light`` or ``tolerance``, or no bank image with
            that light (the message lists the lights the bank has).
    """
    light = _as_bank_light(bank_light)
    target = _as_number(target_light)
    if light.is_floating_point():
        if not (isinstance(tolerance, (int, float)) and tolerance >= 0):
            raise ValueError(f"tolerance must be a number >= 0 (degrees), got {tolerance!r}")
        distance = (light.double() - target).abs()
        mask = distance <= float(tolerance) + 1e-6
        if not mask.any():
            nearest = float(light[distance.argmin()])
            raise ValueError(
                f"target_light={target_light!r}: no bank image within {tolerance:g} degrees "
                f"(the nearest bank azimuth is {nearest:.1f}); widen tolerance or add images"
            )
        return mask
    if not target.is_integer():
        raise ValueError(
            f"target_light={target_light!r}: bank_light holds integer classes, so target_light "
            "must be a class index (give float azimuths as bank_light to match by angle)"
        )
    mask = light == int(target)
    if not mask.any():
        have = sorted({int(v) for v in light.tolist()})
        raise ValueError(
            f"target_light={target_light!r}: no bank image has it; the bank has {have}"
        )
    return mask


def _check_model(model: nn.Module, to: str | None = None) -> None:
    for method in ("encode", "decode"):
        if not callable(getattr(model, method, None)):
            raise ValueError(
                f"model ({type(model).__name__}) has no {method}() method: a DeepFakes-like model "
                "with encode(x), decode(z, name) and decoders is needed"
            )
    if to is not None:
        grids.decoder(model, to, "to")  # a ValueError unless `to` names a decoder


def _retrieve(
    model: nn.Module,
    x_a: torch.Tensor,
    bank_images: torch.Tensor,
    bank_light: Any,
    target_light: int | float,
    tolerance: float,
    batch_size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices (N,) into the bank, codes (N, D) of the retrieved bank images)."""
    check_images(x_a, "x_a")
    check_images(bank_images, "bank_images", x_a.shape[-1])
    light = _as_bank_light(bank_light, bank_images.shape[0])
    index = light_candidates(light, target_light, tolerance).nonzero().flatten()
    z_a = extract_latents(model, x_a, batch_size)
    z_bank = extract_latents(model, bank_images[index], batch_size)
    nearest = torch.cdist(z_a.double(), z_bank.double()).argmin(dim=1)
    return index[nearest], z_bank[nearest]


def retrieve_by_latent(
    model: nn.Module,
    x_a: torch.Tensor,
    bank_images: torch.Tensor,
    bank_light: torch.Tensor,
    target_light: int | float,
    tolerance: float = 10.0,
    batch_size: int = 256,
) -> torch.Tensor:
    """For each face of A, the bank image under ``target_light`` nearest it in latent space.

    Args:
        model: a model with ``encode(x)`` (the shared encoder of DeepFakes), on any device.
        x_a: (N, 3, S, S) float in [0, 1], the faces to relight.
        bank_images: (M, 3, S, S) float in [0, 1], the bank (person B under many lights).
        bank_light: (M,) int64 light classes or float azimuths (degrees) of the bank images.
        target_light: the wanted light (a class index, or an azimuth; see the module docstring).
        tolerance: azimuth window in degrees (float ``bank_light`` only).
        batch_size: images per forward pass.

    Returns:
        (N,) int64 indices into the bank, each a candidate of :func:`light_candidates`.
    """
    _check_model(model)
    return _retrieve(model, x_a, bank_images, bank_light, target_light, tolerance, batch_size)[0]


def relight_by_swap(
    model: nn.Module,
    x_a: torch.Tensor,
    bank_images: torch.Tensor,
    bank_light: torch.Tensor,
    target_light: int | float,
    to: str = "A",
    tolerance: float = 10.0,
    batch_size: int = 256,
) -> torch.Tensor:
    """Idea 1: relight A's faces by swapping B's nearest face under the wanted light to A.

    For each face of ``x_a``, :func:`retrieve_by_latent` picks the bank image lit by
    ``target_light`` whose code ``model.encode`` is nearest the face's own code; that code is
    decoded by ``model.decode(z, to)``.

    Args:
        model: a DeepFakes-like model (``encode``, ``decode(z, name)``, ``decoders``).
        x_a: (N, 3, S, S) float in [0, 1], faces of the person to relight.
        bank_images: (M, 3, S, S) float in [0, 1], another person under many lights.
        bank_light: (M,) int64 light classes or float azimuths in degrees, one per bank image.
        target_light: the wanted light: a class index, or an azimuth in degrees.
        to: the decoder that renders the result (the identity of ``x_a``).
        tolerance: azimuth window in degrees for float ``bank_light``.
        batch_size: images per forward pass.

    Returns:
        (N, 3, S, S) float32 CPU tensor in [0, 1] (whatever range the decoder gives).

    Raises:
        ValueError: an empty bank, no bank image with that light, an unknown decoder ``to``,
            images of the wrong shape or range, or ``bank_light`` not one per bank image.
    """
    _check_model(model, to)
    _, z = _retrieve(model, x_a, bank_images, bank_light, target_light, tolerance, batch_size)
    return batched(model, grids.decoder(model, to, "to"), z, batch_size)
