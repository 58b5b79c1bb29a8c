"""Figures: image grids (matplotlib, imported inside the functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def image_grid(
    images: torch.Tensor,
    nrow: int | None = None,
    titles: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    title: str | None = None,
    cell: float = 1.3,
) -> Figure:
    """Show images in a grid.

    Args:
        images: (N, 3, H, W) in [0, 1] laid out ``nrow`` per row, or (R, C, 3, H, W).
        nrow: images per row for a flat batch (default: about a square).
        titles: one small title per image.
        row_labels, col_labels: labels at the left of each row / top of each column.
        title: the figure's title.
        cell: inches per image.
    """
    import matplotlib.pyplot as plt

    if images.ndim == 5:
        rows, cols = images.shape[:2]
        flat = images.reshape(-1, *images.shape[2:])
    elif images.ndim == 4:
        cols = nrow or math.ceil(math.sqrt(images.shape[0]))
        rows = math.ceil(images.shape[0] / cols)
        flat = images
    else:
        raise ValueError(
            f"images must be (N, 3, H, W) or (R, C, 3, H, W), got {tuple(images.shape)}"
        )
    fig, axes = plt.subplots(rows, cols, figsize=(cell * cols, cell * rows + 0.4), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if k < flat.shape[0]:
            ax.imshow(flat[k].detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy())
            if titles is not None and k < len(titles):
                ax.set_title(titles[k], fontsize=8)
    for r, label in enumerate(row_labels or []):
        axes[r, 0].set_ylabel(label, fontsize=8)
    for c, label in enumerate(col_labels or []):
        axes[0, c].set_title(label, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
