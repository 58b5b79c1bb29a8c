"""Sliders on the attribute y of a FaderNet (in a kernel, precomputed, live in the page) and on
the units of a VAE's z (live in the page).

* :func:`fader_slider`: an ipywidgets ``FloatSlider`` on y and an ``Image`` of the relit faces,
  redrawn whenever the slider moves. Needs a live kernel: in the published HTML (no kernel)
  widgets show nothing.
* :func:`static_slider`: the same faces precomputed for a list of y values and embedded as the
  frames of a matplotlib animation (``FuncAnimation.to_jshtml``): its slider works in the
  published book with no kernel. :func:`frames_to_html` does the embedding for any frames.
* :func:`live_slider` and :func:`photo_relighter`: the FaderNet itself in the published page.
  Its decoder (and encoder) are embedded as ONNX and run by onnxruntime-web in the reader's
  browser: y moves continuously, any of the given faces, or the reader's own photo, which
  never leaves their machine. Without scripts or WebAssembly they show a note instead. A
  FaderNet with two faders (light and yaw) gets a slider each; :func:`static_slider` shows
  it as one slider with the other fader across the columns.
* :func:`live_traversal`: a VAE's decoder in the published page, the same way: one slider per
  informative unit of z, the faces to start from, and a "sample" button that draws z from the
  prior N(0, I) in the page.

ipywidgets, IPython, matplotlib and PIL are imported inside the functions.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from sepviz.grids import RelightFn, check_y_values, relight_function, relight_grid
from sepviz.limits import MAX_FPS, MAX_FRAMES, MAX_PICTURE_PIXELS, MAX_SCALE
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


def _check_scale(scale: Any) -> int:
    """``scale`` an int from 1 to :data:`sepviz.limits.MAX_SCALE`, else a ``ValueError``."""
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be an integer from 1 to {MAX_SCALE}, got {scale!r}")
    return scale


def _check_fps(fps: Any) -> float:
    """``fps`` a finite number in (0, :data:`sepviz.limits.MAX_FPS`], else a ``ValueError``."""
    ok = isinstance(fps, (int, float)) and not isinstance(fps, bool) and math.isfinite(fps)
    if not ok or not 0 < fps <= MAX_FPS:
        raise ValueError(f"fps must be a number above 0 and at most {MAX_FPS:g}, got {fps!r}")
    return float(fps)


def _png(canvas: np.ndarray, scale: int) -> bytes:
    from PIL import Image

    h, w = canvas.shape[:2]
    if h * w * scale * scale > MAX_PICTURE_PIXELS:
        raise ValueError(
            f"the picture would be {w * scale:,} x {h * scale:,} pixels at scale={scale}, more "
            f"than {MAX_PICTURE_PIXELS:,}; pass a smaller scale or fewer images"
        )
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
        scale: integer upscaling of the picture, 1 to :data:`sepviz.limits.MAX_SCALE`
            (default: faces at least ~96 px tall); the picture stays within
            :data:`sepviz.limits.MAX_PICTURE_PIXELS`.

    Returns:
        ``ipywidgets.VBox([slider, image])``: ``children[0]`` the ``FloatSlider``,
        ``children[1]`` the ``Image`` (PNG bytes) redrawn whenever the slider's value changes.

    Raises:
        ValueError: ``values`` not (min, max) within ``±MAX_Y``, ``value`` outside them, a
            ``step`` that is not a positive number, a ``scale`` out of bounds.
    """
    import ipywidgets as widgets

    x = check_images(images, convert=True)
    if len(tuple(values)) != 2:
        raise ValueError(f"values must be (min, max), got {values!r}")
    lo, hi = check_y_values(values, "values")
    if not lo < hi:
        raise ValueError(f"values must be (min, max) with min < max, got {values}")
    (value,) = check_y_values([value], "value")
    if not lo <= value <= hi:
        raise ValueError(f"value={value} lies outside values={values}")
    (step,) = check_y_values([step], "step")
    if not 0 < step <= hi - lo:
        raise ValueError(f"step must be above 0 and at most max - min = {hi - lo:g}, got {step}")
    scale = _check_scale(scale if scale is not None else max(1, 96 // x.shape[-2]))
    fn = relight_function(model, attribute_index)
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
        fps: playback speed of the play button, above 0 and at most
            :data:`sepviz.limits.MAX_FPS`.
        inches: figure width, above 0 and at most 50.

    Returns:
        The HTML string (show it with ``IPython.display.HTML``).

    Raises:
        ValueError: no frames or more than :data:`sepviz.limits.MAX_FRAMES`, labels that do
            not match them, frames of several shapes, ``fps`` or ``inches`` out of bounds.
    """
    import matplotlib.pyplot as plt
    from matplotlib import animation

    fps = _check_fps(fps)
    if not (isinstance(inches, (int, float)) and math.isfinite(inches) and 0 < inches <= 50):
        raise ValueError(f"inches must be a number above 0 and at most 50, got {inches!r}")
    frames = list(frames)
    if not frames:
        raise ValueError("frames is empty: expected at least one frame")
    if len(frames) > MAX_FRAMES:
        raise ValueError(f"frames has {len(frames)} frames, more than {MAX_FRAMES}")
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


SLIDER_VALUES = tuple(round(-1.5 + 0.25 * k, 2) for k in range(13))
"""The y of :func:`static_slider`'s frames by default: -1.5 to +1.5 in steps of 0.25 (beyond
[-1, 1] exaggerates the light, as in the FaderNetworks paper)."""

OTHER_VALUES = (-1.0, -0.5, 0.0, 0.5, 1.0)
"""With two faders, the other attribute's values in :func:`static_slider`'s columns: the
trained range [-1, 1] in 5 steps."""


def static_slider(
    model: nn.Module | RelightFn,
    images: torch.Tensor,
    values: Sequence[float] = SLIDER_VALUES,
    attribute_index: int = 0,
    title: str = "Relit by moving y (drag the slider)",
    label: str = "y",
    show_inputs: bool = True,
    fps: float = 4.0,
    other_values: Sequence[float] = OTHER_VALUES,
    other_label: str = "the other y",
) -> HTML:
    """The relit faces for every value of y, precomputed, as a slider that needs no kernel.

    For a FaderNet with two faders (``attribute_dim`` 2) every frame is a grid: rows the
    faces, columns the *other* attribute of y at each of ``other_values`` (after a first
    column of inputs, with ``show_inputs``): the slider moves one fader, the columns show the
    other, so the page holds both without a kernel.

    Args:
        model: a FaderNet-like model or ``fn(images, value) -> images`` (as in
            :func:`fader_slider`).
        images: (N, 3, H, W) in [0, 1].
        values: the y values, one frame each (default :data:`SLIDER_VALUES`).
        attribute_index: which attribute of y to set.
        title: above the pictures.
        label: frame captions read ``f"{label} = {value:+.2f}"``.
        show_inputs: put the unchanged inputs in a first row of every frame (a first column
            with two faders).
        fps: playback speed of the play button, above 0 and at most
            :data:`sepviz.limits.MAX_FPS`.
        other_values: with two faders, the other attribute's values, one column each.
        other_label: with two faders, its name in the captions.

    Returns:
        ``IPython.display.HTML`` holding :func:`frames_to_html` of one frame per value.

    Raises:
        ValueError: no values, more than :data:`sepviz.limits.MAX_FRAMES`, one beyond
            ``±MAX_Y``, ``fps`` out of bounds, a model with more than two attributes, or
            ``attribute_index`` not one of its attributes (all checked before any face is
            relit).
    """
    from IPython.display import HTML

    x = check_images(images, convert=True)
    values = check_y_values(values)
    if len(values) > MAX_FRAMES:
        raise ValueError(f"values has {len(values)} y values, more than {MAX_FRAMES} frames")
    _check_fps(fps)
    dims = getattr(model, "attribute_dim", 1) if isinstance(model, nn.Module) else 1
    if dims == 2:
        return HTML(
            _two_fader_frames(
                model,
                x,
                values,
                attribute_index,
                other_values,
                title,
                label,
                other_label,
                show_inputs,
                fps,
            )
        )
    if dims > 2:
        raise ValueError(f"static_slider shows 1 or 2 attributes of y, got attribute_dim {dims}")
    grid = relight_grid(model, x, values, attribute_index)  # (N, V, 3, H, W)
    frames = []
    for k in range(len(values)):
        relit = grid[:, k]
        frames.append(torch.stack([x.float().cpu(), relit]) if show_inputs else relit)
    labels = [f"{label} = {v:+.2f}" for v in values]
    if show_inputs:
        labels = [f"top: inputs; bottom: relit, {lab}" for lab in labels]
    return HTML(frames_to_html(frames, labels, title=title, fps=fps))


def _two_fader_frames(
    model: nn.Module,
    x: torch.Tensor,
    values: list[float],
    index: Any,
    other_values: Sequence[float],
    title: str,
    label: str,
    other_label: str,
    show_inputs: bool,
    fps: float,
) -> str:
    """:func:`static_slider`'s frames for two faders: frame v is a grid (N, W, 3, H, W) of the
    faces with y[index] = v and the other attribute at each of ``other_values``."""
    if isinstance(index, bool) or index not in (0, 1):
        raise ValueError(f"attribute_index must be 0 or 1 for two faders, got {index!r}")
    others = check_y_values(other_values, "other_values")
    frames = []
    with torch.no_grad():
        for v in values:
            columns = []
            for w in others:
                y = torch.tensor([v, w] if index == 0 else [w, v])  # (2,) for every face
                columns.append(model.relight(x, y).float().cpu())  # type: ignore[operator]
            grid = torch.stack(columns, 1)  # (N, W, 3, H, W)
            frames.append(torch.cat([x.float().cpu()[:, None], grid], 1) if show_inputs else grid)
    span = f"{other_label} from {others[0]:+.2f} (left) to {others[-1]:+.2f} (right)"
    first = "inputs, then " if show_inputs else ""
    labels = [f"{label} = {v:+.2f}; columns: {first}{span}" for v in values]
    return frames_to_html(frames, labels, title=title, fps=fps)


# -- the model in the published page: onnxruntime-web runs the decoder in the reader's browser --
ORT_URL = "../ort/"
"""Where the pages find onnxruntime-web, relative to a chapter page in ``book/``:
``tools/fetch_ort.py`` puts it in ``_extra/ort/``, which Sphinx copies to the site's root as
``ort/`` (``html_extra_path``; not ``_static/``, whose scripts every page would load)."""
ORT_FOLDER = "../_extra/ort"
"""The same files on disk, from a chapter's working directory (``book/``)."""

UNAVAILABLE = (
    "Live slider unavailable here; the precomputed slider on this page works without scripts."
)


def _asset(name: str) -> str:
    """A file of the live widgets (``sepviz/live/``: their script and style)."""
    from importlib.resources import files

    return files("sepviz").joinpath("live", name).read_text(encoding="utf-8")


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def _check_live_model(model: nn.Module, dims: tuple[int, ...] = (1,)) -> Any:
    """``model`` if it is a FaderNet whose ``attribute_dim`` is one of ``dims``, else a
    ``ValueError`` naming what it got."""
    from sepviz.models.fadernet import FaderNet

    if not isinstance(model, FaderNet) or model.attribute_dim not in dims:
        got = type(model).__name__
        if isinstance(model, FaderNet):
            got += f" with attribute_dim {model.attribute_dim}"
        allowed = " or ".join(str(d) for d in dims)
        raise ValueError(f"the live widgets run a FaderNet with attribute_dim {allowed}, got {got}")
    return model


def _ort_present(ort_url: str, ort_folder: str | Path | None) -> bool:
    """Whether onnxruntime-web is where the page will look: ``ort_folder``, by default
    ``ort_url`` read from the working directory (a chapter runs in ``book/``, as its page
    lies in the site's ``book/``)."""
    folder = Path(ort_folder if ort_folder is not None else ORT_FOLDER)
    return (folder / "ort.wasm.min.js").is_file()


def _y_controls(
    body: str,
    values_range: tuple[float, float],
    value: float | Sequence[float],
    labels: Sequence[str] | None = None,
    attribute_dim: int = 1,
) -> str:
    """``body`` and one slider per attribute of a FaderNet's y (``data-attribute="k"``),
    checked: ``values_range`` (min, max) within ``±MAX_Y``, ``value`` (one number, or one
    per attribute) inside it, ``labels`` one per attribute (default ``"y"``, or ``"y0"``,
    ``"y1"``, ...), else a ``ValueError`` naming the argument."""
    import html

    if len(tuple(values_range)) != 2:
        raise ValueError(f"values_range must be (min, max), got {values_range!r}")
    lo, hi = check_y_values(values_range, "values_range")
    if not lo < hi:
        raise ValueError(f"values_range must be (min, max) with min < max, got {values_range}")
    one = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    values = check_y_values([value] * attribute_dim if one else value, "value")
    if len(values) != attribute_dim:
        raise ValueError(
            f"value must be one number or {attribute_dim} (one per attribute of y), got {value!r}"
        )
    for v in values:
        if not lo <= v <= hi:
            raise ValueError(f"value={v} lies outside values_range={values_range}")
    if labels is None:
        labels = ["y"] if attribute_dim == 1 else [f"y{k}" for k in range(attribute_dim)]
    if isinstance(labels, (str, bytes)) or len(labels) != attribute_dim:
        raise ValueError(
            f"labels must hold one name per attribute of y ({attribute_dim}), got {labels!r}"
        )
    sliders = " ".join(
        f'<label>{html.escape(str(name))} <input type="range" class="sepviz-y" '
        f'data-attribute="{k}" data-role="y" min="{lo:g}" max="{hi:g}" step="0.01" '
        f'value="{v:g}"></label> '
        f'<output class="sepviz-y-value" data-attribute="{k}">{v:+.2f}</output>'
        for k, (name, v) in enumerate(zip(labels, values))
    )
    return f'<div class="sepviz-controls" hidden>{body}{sliders}</div>'


def _face_buttons(x: torch.Tensor) -> str:
    """One button per face of ``x`` (N, 3, S, S), its picture at least 48 px; face 0 pressed."""
    scale = max(1, 48 // x.shape[-1])
    buttons = "".join(
        f'<button type="button" data-face="{k}" aria-pressed="{str(k == 0).lower()}" '
        f'title="face {k}"><img alt="face {k}" src="data:image/png;base64,'
        f'{_b64(_png(tile(x[k : k + 1], pad=0), scale))}">'
        "</button>"
        for k in range(x.shape[0])
    )
    return f'<span class="sepviz-faces">{buttons}</span>'


def _live_html(
    kind: str,
    model: nn.Module,
    title: str,
    controls: str,
    data: dict[str, Any],
    ort_url: str,
    ort_folder: str | Path | None,
    unavailable: str,
    attributes: str = "",
) -> HTML:
    """The snippet of one live widget: ``controls`` (hidden until the model runs), the
    canvases, the note, ``data`` and the decoder (base64 ONNX) as JSON, and widget.js.

    Without onnxruntime-web in ``ort_folder`` or the onnx package, the title and the note
    only. ``attributes`` go on the root ``div`` as they are (e.g. ``data-seed="0"``)."""
    import html
    import json
    import uuid

    from IPython.display import HTML

    root_class = {
        "slider": "sepviz-live",
        "photo": "sepviz-photo",
        "traversal": "sepviz-traversal",
    }[kind]
    uid = f"sepviz-{kind}-{uuid.uuid4().hex[:12]}"
    s = model.image_size
    head = (
        f'<div class="{root_class}" id="{uid}" data-sepviz="{kind}" data-size="{s}" '
        f'data-state="unavailable"{attributes}><style>{_asset("widget.css")}</style>'
        f'<p class="sepviz-title">{html.escape(title)}</p>'
    )
    note = f'<p class="sepviz-note">{html.escape(unavailable)}</p>'
    if not _ort_present(ort_url, ort_folder):  # no onnxruntime-web: no request for it either
        return HTML(f"{head}{note}</div>")
    try:
        from sepviz.export import onnx_bytes

        files = onnx_bytes(model)
    except ImportError:  # no onnx package (e.g. a bare Colab): the static slider stays
        return HTML(f"{head}{note}</div>")
    data = {
        **data,
        "size": s,
        "ort": ort_url,
        "unavailable": unavailable,
        "unreadable": "This file could not be read as an image.",
        "decoder": _b64(files["decoder"]),
    }
    if kind == "photo":
        data["encoder"] = _b64(files["encoder"])
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    canvases = ""
    if kind == "photo":  # labelled: which square is the reader's photo, which the relit one
        canvases += (
            '<figure class="sepviz-figure">'
            f'<canvas class="sepviz-input" width="{s}" height="{s}" '
            'title="your photo, cropped and resized"></canvas>'
            "<figcaption>input: your photo's centre square</figcaption></figure>"
        )
    output = (
        f'<canvas class="sepviz-canvas" data-role="output" width="{s}" height="{s}" '
        'title="decoded by the model"></canvas>'
    )
    if kind == "photo":
        output = (
            f'<figure class="sepviz-figure">{output}'
            "<figcaption>relit by the model</figcaption></figure>"
        )
    canvases += output
    script = _asset("widget.js").replace("__ID__", uid)
    return HTML(
        f'{head}{controls}<div class="sepviz-canvases">{canvases}</div>{note}'
        f'<script type="application/json" class="sepviz-data">{payload}</script>'
        f"<script>{script}</script></div>"
    )


def live_slider(
    model: nn.Module,
    images: torch.Tensor,
    title: str = "Relight by moving y (live: the decoder runs in your browser)",
    values_range: tuple[float, float] = (-2, 2),
    value: float | Sequence[float] = 0.0,
    ort_url: str = ORT_URL,
    ort_folder: str | Path | None = None,
    labels: Sequence[str] | None = None,
) -> HTML:
    """A slider on y that reruns a FaderNet's decoder in the reader's browser (no kernel);
    one slider per attribute of y for a FaderNet with two faders (``attribute_dim`` 2, e.g.
    light and yaw: ``labels=("light", "yaw")``).

    The page gets the decoder as ONNX (:func:`sepviz.export.to_onnx`, base64 in the HTML), the
    latents z of ``images`` (computed here) and a script that loads onnxruntime-web from
    ``ort_url`` (``tools/fetch_ort.py`` puts it in the site), decodes (z, y) on every move of
    the slider and draws the face on a canvas. Where the script or the wasm cannot load (no
    onnxruntime-web in ``ort_folder``, scripts off, Colab), a short note says so; show
    :func:`static_slider` beside it as the fallback.

    For tests, the root ``div.sepviz-live`` has ``data-state`` (``"ready"`` once the model
    runs); ``input.sepviz-y[data-attribute="k"]`` is the slider of y[k] (step 0.01,
    ``values_range``, beyond [-1, 1] too); the buttons ``.sepviz-faces button[data-face]``
    pick the face; after each draw ``canvas.sepviz-canvas`` carries ``data-left`` /
    ``data-right`` (mean brightness of the image's left and right halves, in [0, 1]),
    ``data-y`` (the y drawn, its attributes comma separated), ``data-face``, ``data-draws``
    and ``data-ms`` (the decoder call in milliseconds).

    Args:
        model: a :class:`~sepviz.models.FaderNet` with ``attribute_dim`` 1 or 2.
        images: (N, 3, S, S) in [0, 1], S the model's image size: the faces to pick from
            (a handful: each is a button).
        title: above the slider.
        values_range: (min, max) of every slider.
        value: the initial y: one number for every slider, or one per attribute.
        ort_url: onnxruntime-web's folder, as the page sees it (relative to the page).
        ort_folder: the same folder on this machine, to check the files are there (default:
            ``ort_url`` from the working directory); without them the snippet is the note only.
        labels: the sliders' names, one per attribute (default ``"y"``; ``"y0"``, ``"y1"``
            for two).

    Returns:
        ``IPython.display.HTML``.

    Raises:
        ValueError: another model, a FaderNet with more than two attributes, ``value`` or
            ``labels`` that do not match its attributes.
    """
    model = _check_live_model(model, dims=(1, 2))
    x = model.check(check_images(images, convert=True), "images").float().cpu()
    if not 1 <= x.shape[0] <= 32:
        raise ValueError(f"images must hold 1 to 32 faces, got {x.shape[0]}")
    controls = _y_controls(_face_buttons(x), values_range, value, labels, model.attribute_dim)
    z = model.batched(model.encoder, x)
    data = {"z": [[round(float(v), 7) for v in row] for row in z]}
    return _live_html("slider", model, title, controls, data, ort_url, ort_folder, UNAVAILABLE)


PHOTO_ADVICE = (
    "Bring a tight crop of one face, looking at the camera, eyes about a third from the top: "
    "the model learned from such crops (grey, low resolution), and only the centre square of "
    "your photo is used. A whole portrait, a colour drawing or a synthetic face is far from "
    "what it has seen, and comes back as a grey blur."
)
"""What :func:`photo_relighter` tells the reader about the photo it wants."""


def photo_relighter(
    model: nn.Module,
    title: str = "Relight your own photo",
    values_range: tuple[float, float] = (-2, 2),
    value: float = 0.0,
    ort_url: str = ORT_URL,
    ort_folder: str | Path | None = None,
) -> HTML:
    """A file input that relights the reader's photo in the browser, with a slider on y.

    The photo is cropped to its centre square and resized to the model's size on a canvas,
    encoded by the encoder and decoded with the slider's y by the decoder (both ONNX, embedded
    in the page, run by onnxruntime-web as in :func:`live_slider`). It never leaves the
    reader's computer: nothing is sent anywhere. Relighting only.

    The root is ``div.sepviz-photo``; ``input.sepviz-file`` the file input,
    ``canvas.sepviz-input`` the cropped photo, ``canvas.sepviz-canvas`` the relit one (with
    :func:`live_slider`'s data attributes, plus ``data-encoded``, the photos encoded so far).

    Args and Raises: as :func:`live_slider` (no images: the reader brings the photo).
    """
    model = _check_live_model(model)
    body = (
        '<label>Your photo <input type="file" class="sepviz-file" accept="image/*"></label>'
        '<span class="sepviz-privacy">It is processed in this page only and never leaves '
        "your computer.</span>"
        f'<span class="sepviz-advice">{PHOTO_ADVICE}</span>'
    )
    controls = _y_controls(body, values_range, value)
    unavailable = "Photo relighting unavailable here (it needs scripts and WebAssembly)."
    return _live_html("photo", model, title, controls, {}, ort_url, ort_folder, unavailable)


# -- a VAE's decoder in the page: one slider per informative unit and a "sample" button --------
TRAVERSAL_UNITS = 6
"""How many units :func:`live_traversal` shows by default (those of largest KL)."""
MAX_Z = 10.0
"""The largest ``|z|`` a traversal slider reaches: 10 standard deviations of the prior."""

TRAVERSAL_UNAVAILABLE = (
    "Live traversal unavailable here (it needs scripts and WebAssembly); the figure on this "
    "page shows the same units moved one at a time."
)


def _check_vae(model: Any) -> Any:
    from sepviz.models.vae import VAE

    if not isinstance(model, VAE):
        raise ValueError(f"live_traversal runs a VAE, got {type(model).__name__}")
    return model


def _check_units(units: Any, n_units: Any, kl: torch.Tensor) -> list[int]:
    """The units to show: ``units`` as given (distinct ints in [0, d)), or the ``n_units``
    (1 to d) of largest mean KL ``kl`` (d,), largest first."""
    d = kl.shape[0]
    if units is None:
        if isinstance(n_units, bool) or not isinstance(n_units, int) or not 1 <= n_units <= d:
            raise ValueError(f"n_units must be an integer from 1 to {d}, got {n_units!r}")
        return [int(k) for k in torch.argsort(kl, descending=True, stable=True)[:n_units]]
    if isinstance(units, (str, bytes)):
        raise ValueError(f"units must be a list of unit indices from 0 to {d - 1}, got a string")
    try:
        chosen = list(units)
    except TypeError:
        raise ValueError(
            f"units must be a list of unit indices from 0 to {d - 1}, got {type(units).__name__}"
        ) from None
    ok = all(
        isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 0 <= k < d for k in chosen
    )
    if not chosen or not ok or len(set(chosen)) != len(chosen):
        raise ValueError(
            f"units must be distinct unit indices from 0 to {d - 1} (the VAE's latent_dim is "
            f"{d}), at least one, got {units!r}"
        )
    return [int(k) for k in chosen]


def _unit_labels(labels: Any, units: list[int]) -> list[str]:
    """``"z3"`` per unit; ``labels`` a mapping unit -> name gives ``"z3: smile"`` for the units
    it names, a sequence gives one whole label per unit of ``units``, in their order."""
    if labels is None:
        return [f"z{k}" for k in units]
    if isinstance(labels, Mapping):
        return [f"z{k}: {labels[k]}" if k in labels else f"z{k}" for k in units]
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence):
        raise ValueError(
            "labels must be a mapping unit -> name or one label per unit, got "
            f"{type(labels).__name__}"
        )
    if len(labels) != len(units):
        raise ValueError(f"labels has {len(labels)} entries for {len(units)} units {units}")
    return [str(label) for label in labels]


def _check_z_range(values_range: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in values_range)
    except (TypeError, ValueError):
        raise ValueError(f"values_range must be (min, max), got {values_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and -MAX_Z <= lo < hi <= MAX_Z):
        raise ValueError(
            f"values_range must be (min, max) with -{MAX_Z:g} <= min < max <= {MAX_Z:g} (z is "
            f"in standard deviations of the prior), got {values_range!r}"
        )
    return lo, hi


def live_traversal(
    vae: nn.Module,
    images: torch.Tensor,
    units: Sequence[int] | None = None,
    n_units: int | None = None,
    values_range: tuple[float, float] = (-3, 3),
    labels: Mapping[int, str] | Sequence[str] | None = None,
    title: str = "Move one unit of z at a time (live: the VAE's decoder runs in your browser)",
    seed: int = 0,
    ort_url: str = ORT_URL,
    ort_folder: str | Path | None = None,
) -> HTML:
    """A VAE's decoder in the reader's browser: one slider per informative unit of z, the
    faces to start from, and a "sample" button that draws a new code from the prior N(0, I).

    The page gets the decoder as ONNX (base64, as :func:`live_slider`), the posterior mean
    ``mu`` of each face (computed here) and the shared script. Picking a face sets z to its
    mu and every slider to its unit's value; moving the slider of unit k sets z[k] only, and
    the decoder redraws. "sample" draws every unit of z from N(0, I) in the page (a PRNG
    seeded with ``seed``, mulberry32, and Box-Muller: the same page draws the same sequence)
    and moves the shown units' sliders there (a draw beyond ``values_range`` stays in z, the
    slider stops at its end). Without scripts or WebAssembly a note says so.

    For tests, the root ``div.sepviz-traversal`` has ``data-state`` (``"ready"`` once the
    model runs) and ``data-seed``; ``input.sepviz-unit[data-unit="k"]`` is unit k's slider
    (step 0.01); ``button.sepviz-sample`` the button; ``.sepviz-faces button[data-face]``
    the faces. After each draw ``canvas.sepviz-canvas`` carries ``data-z`` (the code drawn,
    comma separated, 4 decimals), ``data-mean`` (mean brightness in [0, 1]), ``data-left`` /
    ``data-right`` (of each half), ``data-face`` (-1 after a sample), ``data-samples`` (codes
    drawn so far), ``data-draws`` and ``data-ms`` (the decoder call in milliseconds).

    Args:
        vae: a :class:`~sepviz.models.VAE`.
        images: (N, 3, S, S) in [0, 1], S the VAE's image size, 1 to 32 faces: the starting
            codes (a button each) and the faces the units' KL is averaged over.
        units: the units to show (distinct indices from 0 to latent_dim - 1), in this order;
            default the ``n_units`` of largest mean KL to the prior over ``images``
            (:func:`sepviz.models.vae.kl_to_prior`): the ones that carry information.
        n_units: how many units by default, 1 to latent_dim (ignored with ``units``);
            default :data:`TRAVERSAL_UNITS`, or every unit of a smaller z.
        values_range: (min, max) of every slider, within ``±MAX_Z``; the prior's ±3.
        labels: ``{unit: name}`` (shown ``"z3: smile"``; the others ``"z5"``) or one whole
            label per shown unit; default ``"z3"``.
        title: above the widget.
        seed: the seed of the page's PRNG, an integer from 0 to 2**32 - 1.
        ort_url: onnxruntime-web's folder, as the page sees it (relative to the page).
        ort_folder: the same folder on this machine (default: ``ort_url`` from the working
            directory); without the files the snippet is the note only.

    Returns:
        ``IPython.display.HTML``.

    Raises:
        ValueError: another model; ``images`` of the wrong size or count; ``units`` or
            ``n_units`` out of range; ``labels`` that do not match the units; ``values_range``
            not (min, max) within ``±MAX_Z``; ``seed`` out of range.
    """
    import html

    from sepviz.models.vae import kl_to_prior

    vae = _check_vae(vae)
    x = vae.check(check_images(images, convert=True), "images").float().cpu()
    if not 1 <= x.shape[0] <= 32:
        raise ValueError(f"images must hold 1 to 32 faces, got {x.shape[0]}")
    lo, hi = _check_z_range(values_range)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer from 0 to 2**32 - 1, got {seed!r}")
    mu = vae.batched(vae.encoder, x)  # (N, d) the posterior means, what the faces start from
    logvar = vae.batched(lambda t: vae.posterior(t)[1], x)  # (N, d)
    kl = kl_to_prior(mu, logvar).mean(0)  # (d,) nats per unit: ~0 for a unit the prior owns
    if n_units is None:
        n_units = min(TRAVERSAL_UNITS, vae.latent_dim)
    shown = _check_units(units, n_units, kl)
    names = _unit_labels(labels, shown)
    rows = "".join(
        f'<label class="sepviz-unit-row" title="mean KL {float(kl[k]):.2f} nats">'
        f'<span class="sepviz-unit-label">{html.escape(name)}</span>'
        f'<input type="range" class="sepviz-unit" data-unit="{k}" min="{lo:g}" max="{hi:g}" '
        f'step="0.01" value="{min(hi, max(lo, float(mu[0, k]))):.2f}">'
        f'<output class="sepviz-unit-value">{float(mu[0, k]):+.2f}</output></label>'
        for k, name in zip(shown, names, strict=True)
    )
    controls = (
        f'<div class="sepviz-controls" hidden>{_face_buttons(x)}'
        '<button type="button" class="sepviz-sample" title="draw z from the prior N(0, I)">'
        f'sample</button><div class="sepviz-units">{rows}</div></div>'
    )
    data = {"z": [[round(float(v), 7) for v in row] for row in mu], "units": shown, "seed": seed}
    return _live_html(
        "traversal",
        vae,
        title,
        controls,
        data,
        ort_url,
        ort_folder,
        TRAVERSAL_UNAVAILABLE,
        attributes=f' data-seed="{seed}"',
    )
