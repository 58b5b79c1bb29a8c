"""Grids of model outputs: every input through every decoder, layer swaps, relit sweeps.

* :func:`decoder_swap_grid`: each input decoded by each decoder of a multi-decoder model
  (DeepFakes: swapped to each identity; MultiDecoder: relit to each light class).
* :func:`layer_swap_grid`: decoder ``target`` with its first k blocks taken from decoder
  ``source``, k = 0..L: at which block does the identity (or light) change?
* :func:`relight_grid`: each input relit to each value of a FaderNet's attribute y;
  :func:`relight_function` turns a model into ``fn(images, value) -> images``.

Every grid is a (rows, columns, 3, H, W) float32 CPU tensor, rows the inputs, ready for
:func:`sepviz.viz.swap_grid`. Models are run in eval mode without gradients
(:func:`sepviz.utils.batched`) and left as they were.

What these functions need of a model is written once, in one small helper each:
:func:`decoder_names` (the decoders of a multi-decoder model), :func:`decoder` (decode codes
with one of them), ``_decoder_blocks`` (its blocks, for layer swaps) and ``_relight``
(FaderNet's ``relight(x, y)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from sepviz.limits import MAX_Y
from sepviz.utils import batched, check_images

RelightFn = Callable[[torch.Tensor, float], torch.Tensor]
"""``fn(images, value) -> images``: (N, 3, H, W) in [0, 1] relit to the attribute ``value``."""


# -- what a model must offer ---------------------------------------------------------------
def decoder_names(model: nn.Module, required: bool = True) -> list[str]:
    """The decoder names of a model with one decoder per name (``model.names``: DeepFakes,
    MultiDecoder), in label order. A model without them has no decoders: ``[]``, or a
    ``ValueError`` when ``required``.
    """
    names = getattr(model, "names", None)
    if names:
        return [str(n) for n in names]
    if required:
        raise ValueError(
            f"model ({type(model).__name__}) has no decoders: a DeepFakes- or MultiDecoder-like "
            "model with names, decoders and decode(z, name) is needed"
        )
    return []


def decoder(
    model: nn.Module, name: str, arg: str = "decoder"
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``z -> model.decode(z, name)``: codes (N, D) decoded by decoder ``name``.

    Raises a ``ValueError`` naming the argument ``arg`` unless ``name`` is one of
    :func:`decoder_names`.
    """
    valid = decoder_names(model)
    if name not in valid:
        raise ValueError(f"{arg}={name!r} is not a decoder of this model; valid names: {valid}")
    return lambda z: model.decode(z, name)


def _decoder_blocks(model: nn.Module, name: str) -> list[nn.Module]:
    """The blocks of decoder ``name``, in order (``model.decoders[name]``, an nn.Sequential)."""
    return list(model.decoders[name])


def _relight(model: nn.Module, x: torch.Tensor, value: float, attribute_index: int) -> Any:
    """``model.relight(x, y)`` with y (N, attribute_dim) zeros but column ``attribute_index``
    set to ``value`` (just the float ``value`` when the model has no ``attribute_dim``)."""
    dim = getattr(model, "attribute_dim", None)
    if dim is None:
        return model.relight(x, float(value))
    if not 0 <= attribute_index < dim:
        raise ValueError(f"attribute_index must be in [0, {dim}), got {attribute_index}")
    y = torch.zeros(x.shape[0], dim, device=x.device)
    y[:, attribute_index] = value
    return model.relight(x, y)


def check_y_values(values: Any, name: str = "values") -> list[float]:
    """``values`` (any iterable of real numbers) as a non-empty list of floats, each finite and
    within ``±MAX_Y`` (:data:`sepviz.limits.MAX_Y`, 10 times the trained range [-1, 1]); else
    a ``ValueError`` naming ``name``, the value and the bound."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a list of y values, got a string")
    try:
        items = list(values)
    except TypeError:
        raise ValueError(
            f"{name} must be a list of y values, got {type(values).__name__}"
        ) from None
    if not items:
        raise ValueError(f"{name} is empty: expected at least one y value")
    checked = []
    for value in items:
        try:
            number = float(value) if not isinstance(value, (bool, str, bytes)) else math.nan
        except (TypeError, ValueError, RuntimeError):
            number = math.nan
        if not math.isfinite(number) or abs(number) > MAX_Y:
            raise ValueError(
                f"{name} must hold finite numbers from {-MAX_Y:g} to {MAX_Y:g} (the model "
                f"learnt y in [-1, 1]), got {value!r}"
            )
        checked.append(number)
    return checked


# -- grids ---------------------------------------------------------------------------------
def decoder_swap_grid(
    model: nn.Module,
    images: torch.Tensor,
    names: Sequence[str] | None = None,
    batch_size: int = 256,
) -> torch.Tensor:
    """Every input decoded by every decoder: rows are inputs, columns decoders.

    Column k is ``model.decode(model.encode(x), names[k])``: with DeepFakes decoders named by
    identity it is the face swapped to identity k; with one decoder per light class it is the
    face relit to class k.

    Args:
        model: a model with ``encode``, ``decode(z, name)`` and ``decoders``.
        images: (R, 3, H, W) in [0, 1] (or a FaceSet).
        names: decoders to use, in column order (default: :func:`decoder_names`, i.e.
            ``model.names``, ``model.identities``, ``model.classes`` or the keys of
            ``model.decoders``).
        batch_size: images per forward pass.

    Returns:
        (R, len(names), 3, H', W') float32 CPU tensor.
    """
    x = check_images(images, convert=True)
    names = list(names) if names is not None else decoder_names(model)
    if not names:
        raise ValueError("names is empty: expected at least one decoder name")
    decoders = [decoder(model, name, "names") for name in names]

    def all_decoders(batch: torch.Tensor) -> torch.Tensor:
        z = model.encode(batch)
        return torch.stack([decode(z) for decode in decoders], dim=1)

    return batched(model, all_decoders, x, batch_size)


def layer_swap_grid(
    model: nn.Module,
    images: torch.Tensor,
    source: str,
    target: str,
    batch_size: int = 256,
) -> torch.Tensor:
    """Decoder ``target`` with its first k blocks taken from decoder ``source``, k = 0..L.

    Shows at which layers ``source``'s identity (or light) appears: column 0 is the plain
    ``target`` decoding, column L the plain ``source`` decoding (all L blocks swapped).

    How: ``model.decode(z, source)`` is run once with hooks recording the output of each of
    its blocks; then, for each k >= 1, ``model.decode(z, target)`` runs with a temporary
    forward hook on ``target``'s block k that replaces its output with ``source``'s block-k
    output. So blocks 1..k are in effect ``source``'s and k+1..L ``target``'s, while whatever
    ``decode`` does around the blocks is kept, and the model is left unchanged.

    Args:
        model: a model with ``encode``, ``decode(z, name)`` and ``decoders`` (name ->
            ``nn.Sequential`` of L blocks, the same structure for every name).
        images: (R, 3, H, W) in [0, 1] (or a FaceSet).
        source, target: decoder names.
        batch_size: images per forward pass.

    Returns:
        (R, L + 1, 3, H', W') float32 CPU tensor.
    """
    x = check_images(images, convert=True)
    decode_source = decoder(model, source, "source")
    decode_target = decoder(model, target, "target")
    src_blocks = _decoder_blocks(model, source)
    tgt_blocks = _decoder_blocks(model, target)
    if len(src_blocks) != len(tgt_blocks):
        raise ValueError(
            f"decoders {source!r} and {target!r} differ in depth: "
            f"{len(src_blocks)} vs {len(tgt_blocks)} blocks"
        )
    n_blocks = len(tgt_blocks)

    def hybrids(batch: torch.Tensor) -> torch.Tensor:
        z = model.encode(batch)
        recorded: list[torch.Tensor] = []
        handles = [
            b.register_forward_hook(lambda _m, _i, out, rec=recorded: rec.append(out))
            for b in src_blocks
        ]
        try:
            decode_source(z)
        finally:
            for h in handles:
                h.remove()
        if len(recorded) != n_blocks:
            raise ValueError(
                f"decode(z, {source!r}) ran {len(recorded)} blocks, expected {n_blocks}"
            )
        cols = [decode_target(z)]
        for k in range(1, n_blocks + 1):
            handle = tgt_blocks[k - 1].register_forward_hook(
                lambda _m, _i, _out, k=k, rec=recorded: rec[k - 1]
            )
            try:
                cols.append(decode_target(z))
            finally:
                handle.remove()
        return torch.stack(cols, dim=1)

    return batched(model, hybrids, x, batch_size)


def relight_function(
    model_or_fn: nn.Module | RelightFn,
    attribute_index: int = 0,
) -> RelightFn:
    """``fn(images, value) -> images`` for a FaderNet-like model, or ``model_or_fn`` itself.

    For a model with ``relight(x, y)``: y is a (N, attribute_dim) tensor of zeros with column
    ``attribute_index`` set to ``value`` (just the float when the model has no
    ``attribute_dim``); the model runs in eval mode without gradients, inputs go to its
    device, outputs come back on the CPU as float32.
    """
    if isinstance(model_or_fn, nn.Module):
        model = model_or_fn
        if not callable(getattr(model, "relight", None)):
            raise ValueError(f"model ({type(model).__name__}) has no relight(x, y) method")
        if decoder_names(model, required=False) and not hasattr(model, "attribute_dim"):
            raise ValueError(
                f"model ({type(model).__name__}) has one decoder per class, not an attribute y: "
                "use decoder_swap_grid(model, images) for its relit faces"
            )

        def fn(images: torch.Tensor, value: float) -> torch.Tensor:
            return batched(model, lambda x: _relight(model, x, value, attribute_index), images)

        return fn
    if callable(model_or_fn):
        return model_or_fn
    raise ValueError(f"model_or_fn must be a model or a callable, got {type(model_or_fn)}")


def relight_grid(
    model_or_fn: nn.Module | RelightFn,
    images: torch.Tensor,
    values: Sequence[float],
    attribute_index: int = 0,
) -> torch.Tensor:
    """Every input relit to every value of the attribute y: rows inputs, columns values.

    Args:
        model_or_fn: a FaderNet-like model (``relight(x, y)``) or ``fn(images, value)``.
        images: (R, 3, H, W) in [0, 1] (or a FaceSet).
        values: y values (in [-1, 1]; beyond exaggerates).
        attribute_index: which attribute of y to set (the others stay 0).

    Returns:
        (R, len(values), 3, H, W) float32 CPU tensor.

    Raises:
        ValueError: no values, or one that is not a finite number within
            ``±MAX_Y`` (:data:`sepviz.limits.MAX_Y`).
    """
    x = check_images(images, convert=True)
    values = check_y_values(values)
    fn = relight_function(model_or_fn, attribute_index)
    with torch.no_grad():
        return torch.stack([fn(x, float(v)).float().cpu() for v in values], dim=1)
