"""Closed-form concept erasure: LEACE (Belrose et al. 2023, "LEACE: Perfect linear concept
erasure in closed form", arXiv 2306.03819), written out here from the paper's formula.

Given codes ``z`` (N, D) and a concept (class labels, or one or more numbers per code), LEACE
is the affine map

.. math:: r(z) = z - W^{+} P W (z - \\mu)

with the least change to the codes (in the whitened norm) after which the erased codes have
**no covariance with the concept**, so that no linear read-out of ``r(z)`` beats a constant
at predicting it, on the codes it was fitted on. ``W = Σ_zz^{-1/2}`` whitens the codes (on
their span), ``P`` projects onto the span of ``W Σ_zc`` (at most as many directions as the
concept has values, less one), ``μ`` is the codes' mean.

The guarantee is in-sample: on new codes the erased directions keep a little variance that a
*whitening* read-out scales back up. The FaderNet chapter measures exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from sepviz.utils import to_numpy


@dataclass(frozen=True)
class Eraser:
    """``r(z) = z - (z - mean) @ projection.T``: the fitted LEACE map (float64 inside)."""

    mean: torch.Tensor  # (D,)
    projection: torch.Tensor  # (D, D): W⁺ P W, of rank ``rank``
    rank: int  # directions erased

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """Erase the concept from codes ``z`` (N, D); returns float32 codes of the same shape."""
        z = torch.as_tensor(z)
        if z.ndim != 2 or z.shape[1] != self.mean.shape[0]:
            raise ValueError(f"z must have shape (N, {self.mean.shape[0]}), got {tuple(z.shape)}")
        x = z.double()
        return (x - (x - self.mean) @ self.projection.T).float()


def _concept_matrix(concept: Any, n: int) -> torch.Tensor:
    """(N, K) float64: one-hot columns for class labels, the values themselves for floats."""
    c = torch.as_tensor(to_numpy(concept))
    if c.shape[0] != n or c.ndim not in (1, 2):
        raise ValueError(f"concept must have shape ({n},) or ({n}, K), got {tuple(c.shape)}")
    if c.is_floating_point():
        if not torch.isfinite(c).all():
            raise ValueError("concept must be finite")
        return (c[:, None] if c.ndim == 1 else c).double()
    if c.ndim != 1:
        raise ValueError(f"class labels must have shape ({n},), got {tuple(c.shape)}")
    classes = torch.unique(c, return_inverse=True)[1]
    return torch.nn.functional.one_hot(classes).double()


def fit_leace(z: torch.Tensor, concept: Any, tol: float = 1e-10) -> Eraser:
    """Fit the LEACE eraser of ``concept`` on codes ``z`` (N, D).

    Args:
        z: (N, D) codes, N >= 2.
        concept: (N,) class labels (ints) or values (floats), or (N, K) values.
        tol: eigenvalues (of the codes' covariance) and singular values (of the whitened
            cross-covariance) below ``tol`` times the largest count as zero.

    Returns:
        An :class:`Eraser`; ``eraser(z)`` has zero covariance with ``concept`` (to rounding).
    """
    x = torch.as_tensor(z).double()
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"z must have shape (N, D) with N >= 2, got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("z must be finite")
    c = _concept_matrix(concept, x.shape[0])
    mean = x.mean(0)
    xc, cc = x - mean, c - c.mean(0)
    n = x.shape[0] - 1
    values, vectors = torch.linalg.eigh(xc.T @ xc / n)
    kept = values > tol * values.max().clamp_min(1e-300)
    root = values.clamp_min(0).sqrt()
    inv_root = torch.where(kept, 1 / root.clamp_min(1e-300), torch.zeros_like(root))
    whiten = vectors @ torch.diag(inv_root) @ vectors.T  # W = Σ^{-1/2} on the codes' span
    unwhiten = vectors @ torch.diag(torch.where(kept, root, torch.zeros_like(root))) @ vectors.T
    u, s, _ = torch.linalg.svd(whiten @ (xc.T @ cc / n), full_matrices=False)
    basis = u[:, s > tol * s.max().clamp_min(1e-300)]  # orthonormal span of W Σ_zc
    projection = unwhiten @ (basis @ basis.T) @ whiten
    return Eraser(mean, projection, int(basis.shape[1]))


class LeaceLayer(nn.Module):
    """A LEACE eraser as a layer: ``r(z) = z - (z - mean) @ projection.T`` with the map in
    buffers (saved with the model, exported to ONNX), the identity until :meth:`fit`.

    A FaderNet built with ``eraser="leace"`` ends its encoder with one: it is refitted on the
    remembered codes at every training step and on the final codes after training, so the
    decoder only ever sees codes with no linear trace of the attribute.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("projection", torch.zeros(dim, dim))

    @torch.no_grad()
    def fit(self, z: torch.Tensor, concept: Any) -> Eraser:
        """Fit LEACE (:func:`fit_leace`) on codes ``z`` (N, dim) and keep it; returns it."""
        eraser = fit_leace(z, concept)
        self.mean.copy_(eraser.mean.to(self.mean))
        self.projection.copy_(eraser.projection.to(self.projection))
        return eraser

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z - (z - self.mean) @ self.projection.T
