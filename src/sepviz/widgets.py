"""Sliders on the attribute y of a FaderNet: a live widget and a static one for the web.

* :func:`fader_slider`: an ipywidgets ``FloatSlider`` on y and an ``Image`` of the relit faces,
  redrawn whenever the slider moves. Needs a live kernel: in the published HTML (no kernel)
  widgets show nothing.
* :func:`static_slider`: the same faces precomputed for a list of y values and embedded as the
  frames of a matplotlib animation (``FuncAnimation.to_jshtml``): its slider works in the
  published book with no kernel. :func:`frames_to_html` does the embedding for any frames.

ipywidgets, IPython, matplotlib and PIL are imported inside the functions.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from sepviz.grids import RelightFn, relight_function, relight_grid
from sepviz.utils import check_images

if TYPE_CHECKING:
    import ipywidgets
    from IPython.display import HTML


def tile(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Lay images out on one canvas with ``pad`` white pixels between them.

    Args:
        images: (N, 3, H, W) in [0, 1] (``nrow`` per row; default all in one row up to 8,
            else about a square) or (R, C, 3, H, W) (R rows of C).

    Returns:
        (H', W', 3) uint8 array.
    """
    check_images(images, data_range=None, grid=True)  # shown clamped to [0, 1]
    x = images.detach().float().cpu().clamp(0, 1)
    if x.ndim == 4:
        n = x.shape[0]
        if nrow is not None and nrow < 1:
            raise ValueError(f"nrow must be >= 1, got {nrow}")
        cols = nrow or (n if n <= 8 else math.ceil(math.sqrt(n)))
        rows = math.ceil(n / cols)
        blank = torch.ones(rows * cols - n, *x.shape[1:])
        x = torch.cat([x, blank]).reshape(rows, cols, *x.shape[1:])
    rows, cols, _, h, w = x.shape
    canvas = torch.ones(3, rows * (h + pad) + pad, cols * (w + pad) + pad)
    for r in range(rows):
        for c in range(cols):
            top, left = pad + r * (h + pad), pad + c * (w + pad)
            canvas[:, top : top + h, left : left + w] = x[r, c]
    return (canvas.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def _png(canvas: np.ndarray, scale: int) -> bytes:
    from PIL import Image

    img = Image.fromarray(canvas)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def fader_slider(
    model: nn.Module | RelightFn,
    images: torch.Tensor,
    values: tuple[float, float] = (-1.5, 1.5),
    step: float = 0.05,
    value: float = 0.0,
    attribute_index: int = 0,
    description: str = "light y",
    nrow: int | None = None,
    scale: int | None = None,
) -> ipywidgets.VBox:
    """A slider on the attribute y that redraws the relit faces (needs a live kernel).

    Args:
        model: a FaderNet-like model (``relight(x, y)``, ``attribute_dim``) or a function
            ``fn(images, value) -> images``.
        images: (N, 3, H, W) in [0, 1], a few faces (each move of the slider relights them).
        values: (min, max) of the slider; y in [-1, 1] is the trained range, beyond it
            exaggerates.
        step: slider step.
        value: initial y.
        attribute_index: which attribute of y the slider sets (the others stay 0).
        description: the slider's label.
        nrow: faces per row (default: one row up to 8).
        scale: integer upscaling of the picture (default: faces at least ~96 px tall).

    Returns:
        ``ipywidgets.VBox([slider, image])``: ``children[0]`` the ``FloatSlider``,
        ``children[1]`` the ``Image`` (PNG bytes) redrawn whenever the slider's value changes.
    """
    import ipywidgets as widgets

    x = check_images(images, convert=True)
    lo, hi = (float(v) for v in values)
    if not lo < hi:
        raise ValueError(f"values must be (min, max) with min < max, got {values}")
    if not lo <= value <= hi:
        raise ValueError(f"value={value} lies outside values={values}")
    fn = relight_function(model, attribute_index)
    scale = scale if scale is not None else max(1, 96 // x.shape[-2])
    cache: dict[float, bytes] = {}

    def render(y: float) -> bytes:
        key = round(float(y), 6)
        if key not in cache:
            with torch.no_grad():
                cache[key] = _png(tile(fn(x, key), nrow=nrow), scale)
            if len(cache) > 64:
                cache.pop(next(iter(cache)))
        return cache[key]

    slider = widgets.FloatSlider(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=description,
        continuous_update=True,
        readout_format="+.2f",
        style={"description_width": "initial"},
        layout=widgets.Layout(width="480px"),
    )
    image = widgets.Image(value=render(value), format="png")

    def redraw(change: dict[str, Any]) -> None:
        image.value = render(change["new"])

    slider.observe(redraw, names="value")
    return widgets.VBox([slider, image])


def frames_to_html(
    frames: Sequence[torch.Tensor],
    labels: Sequence[str],
    title: str = "",
    nrow: int | None = None,
    fps: float = 4.0,
    inches: float = 6.0,
) -> str:
    """Embed precomputed frames in a matplotlib ``to_jshtml`` animation with a slider.

    Each frame is tiled into one picture (see :func:`tile`) under ``title`` with its label;
    the HTML carries every frame as a base64 PNG and a range input (``id="_anim_slider..."``)
    that picks the frame, so it needs no kernel (only the player's icons come from a CDN).

    Args:
        frames: one (N, 3, H, W) or (R, C, 3, H, W) tensor in [0, 1] per frame, all the same
            shape.
        labels: one caption per frame (e.g. ``"y = +0.50"``).
        title: shown above the pictures.
        nrow: faces per row for (N, 3, H, W) frames.
        fps: playback speed of the play button.
        inches: figure width.

    Returns:
        The HTML string (show it with ``IPython.display.HTML``).
    """
    import matplotlib.pyplot as plt
    from matplotlib import animation

    frames = list(frames)
    if not frames:
        raise ValueError("frames is empty: expected at least one frame")
    if len(labels) != len(frames):
        raise ValueError(f"labels has {len(labels)} entries for {len(frames)} frames")
    shapes = {tuple(f.shape) for f in frames}
    if len(shapes) != 1:
        raise ValueError(f"all frames must have the same shape, got {sorted(shapes)}")
    canvases = [tile(f, nrow=nrow) for f in frames]
    h, w = canvases[0].shape[:2]
    fig, ax = plt.subplots(figsize=(inches, inches * h / w + 0.8))
    ax.set_axis_off()
    im = ax.imshow(canvases[0], interpolation="nearest")
    caption = ax.set_title(labels[0], fontsize=11)
    if title:
        fig.suptitle(title)
    fig.tight_layout()

    def update(k: int) -> list[Any]:
        im.set_data(canvases[k])
        caption.set_text(labels[k])
        return [im, caption]

    try:
        anim = animation.FuncAnimation(
            fig, update, frames=len(canvases), interval=1000 / fps, blit=False
        )
        with plt.rc_context({"animation.embed_limit": 200.0}):
            return anim.to_jshtml(fps=fps, default_mode="once")
    finally:
        plt.close(fig)


def static_slider(
    model: nn.Module | RelightFn,
    images: torch.Tensor,
    values: Sequence[float],
    attribute_index: int = 0,
    title: str = "Relit by moving y (drag the slider)",
    label: str = "y",
    show_inputs: bool = True,
    fps: float = 4.0,
) -> HTML:
    """The relit faces for every value of y, precomputed, as a slider that needs no kernel.

    Args:
        model: a FaderNet-like model or ``fn(images, value) -> images`` (as in
            :func:`fader_slider`).
        images: (N, 3, H, W) in [0, 1].
        values: the y values, one frame each (e.g. ``np.linspace(-1.5, 1.5, 13)``).
        attribute_index: which attribute of y to set.
        title: above the pictures.
        label: frame captions read ``f"{label} = {value:+.2f}"``.
        show_inputs: put the unchanged inputs in a first row of every frame.

    Returns:
        ``IPython.display.HTML`` holding :func:`frames_to_html` of one frame per value.
    """
    from IPython.display import HTML

    x = check_images(images, convert=True)
    values = [float(v) for v in values]
    if not values:
        raise ValueError("values is empty: expected at least one y value")
    grid = relight_grid(model, x, values, attribute_index)  # (N, V, 3, H, W)
    frames = []
    for k in range(len(values)):
        relit = grid[:, k]
        frames.append(torch.stack([x.float().cpu(), relit]) if show_inputs else relit)
    labels = [f"{label} = {v:+.2f}" for v in values]
    if show_inputs:
        labels = [f"top: inputs; bottom: relit, {lab}" for lab in labels]
    return HTML(frames_to_html(frames, labels, title=title, fps=fps))
