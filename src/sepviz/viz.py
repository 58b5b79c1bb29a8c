"""Figures: image grids, swap grids, UMAP scatter, loss and layer curves, training previews,
and a diagram of each model drawn from its own modules (:func:`model_diagram`, from
:mod:`sepviz.diagram`).

matplotlib is imported inside the functions. Every function returns a
``matplotlib.figure.Figure`` with a title (``suptitle``) and labelled axes, ready for a
caption; the caller shows or saves it (in a notebook the last expression displays it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from sepviz import grids
from sepviz.diagram import model_diagram as model_diagram
from sepviz.probes import ProbeResult, check_layer_rows
from sepviz.utils import batched, check_images, to_numpy

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _check_labels(labels: Sequence[str] | None, n: int, name: str, noun: str) -> None:
    if labels is not None and len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} entries for {n} {noun}")


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

    check_images(images, data_range=None, grid=True)  # shown clamped to [0, 1]
    if images.ndim == 5:
        rows, cols = images.shape[:2]
        flat = images.reshape(-1, *images.shape[2:])
    else:
        if nrow is not None and nrow < 1:
            raise ValueError(f"nrow must be >= 1, got {nrow}")
        cols = nrow or math.ceil(math.sqrt(images.shape[0]))
        rows = math.ceil(images.shape[0] / cols)
        flat = images
    if row_labels is not None and len(row_labels) > rows:
        raise ValueError(f"row_labels has {len(row_labels)} entries for {rows} rows")
    if col_labels is not None and len(col_labels) > cols:
        raise ValueError(f"col_labels has {len(col_labels)} entries for {cols} columns")
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


def swap_grid(
    grid: torch.Tensor,
    inputs: torch.Tensor | None = None,
    col_labels: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    title: str = "Each input decoded by each decoder",
    cell: float = 1.3,
) -> Figure:
    """A swap or relight grid: rows are inputs, columns decoders (or light values).

    Args:
        grid: (R, C, 3, H, W) in [0, 1], e.g. from :func:`sepviz.grids.decoder_swap_grid`,
            :func:`~sepviz.grids.layer_swap_grid` or :func:`~sepviz.grids.relight_grid`.
        inputs: optional (R, 3, H, W) inputs, shown as the first column ("input").
        col_labels: C labels (decoder names, "k = 0".., "y = -1"..).
        row_labels: R labels at the left.
        title: the figure's title.
    """
    check_images(grid, "grid", data_range=None, grid=True)
    if grid.ndim != 5:
        raise ValueError(f"grid must be (R, C, 3, H, W), got {tuple(grid.shape)}")
    rows, cols = grid.shape[:2]
    _check_labels(col_labels, cols, "col_labels", "columns")
    _check_labels(row_labels, rows, "row_labels", "rows")
    labels = list(col_labels) if col_labels is not None else [f"{k}" for k in range(cols)]
    if inputs is not None:
        check_images(inputs, "inputs", data_range=None)
        if inputs.shape[0] != rows or inputs.shape[1:] != grid.shape[2:]:
            raise ValueError(
                f"inputs must be (R, 3, H, W) = {(rows, *grid.shape[2:])} to match grid, "
                f"got {tuple(inputs.shape)}"
            )
        grid = torch.cat([inputs.detach().cpu().float()[:, None], grid.detach().cpu()], dim=1)
        labels = ["input", *labels]
    return image_grid(grid, row_labels=row_labels, col_labels=labels, title=title, cell=cell)


def feature_crops(
    columns: Sequence[torch.Tensor],
    regions: Mapping[str, tuple[slice, slice]],
    col_labels: Sequence[str],
    row_labels: Sequence[str] | None = None,
    title: str = "Eyes and mouth, enlarged",
    zoom: int = 4,
    cell: float = 1.3,
) -> Figure:
    """The regions of each face (e.g. the eyes and the mouth of
    :func:`sepviz.experiments.measures.expression_regions`) cropped and enlarged ``zoom`` times
    by repeating pixels (nearest neighbour), one above the other on white: rows are faces,
    columns the sets of faces (input, swap, truth...), so a difference of a few pixels shows.

    Args:
        columns: C tensors (N, 3, S, S) in [0, 1], the same N faces in each.
        regions: name -> (rows, cols) slices of an S x S image, drawn top to bottom.
        col_labels: C labels; row_labels: N labels at the left.
        zoom: pixels per image pixel (>= 1).
    """
    if not columns:
        raise ValueError("columns must hold at least one image set")
    if len(col_labels) != len(columns):
        raise ValueError(f"col_labels has {len(col_labels)} entries for {len(columns)} columns")
    if not regions:
        raise ValueError("regions must name at least one (rows, cols) region")
    if zoom < 1:
        raise ValueError(f"zoom must be >= 1, got {zoom}")
    for x in columns:
        check_images(x, "columns", data_range=None)
        if x.shape != columns[0].shape:
            raise ValueError(
                f"columns must share one shape, got {[tuple(c.shape) for c in columns]}"
            )
    width = max(c.stop - c.start for _, c in regions.values())

    def cell_of(x: torch.Tensor) -> torch.Tensor:  # (N, 3, h, width): the crops on white
        parts = []
        for rows, cols in regions.values():
            crop = x[:, :, rows, cols].detach().float().cpu()
            left = (width - crop.shape[-1]) // 2
            parts.append(_pad_white(crop, (left, width - crop.shape[-1] - left, 0, 1)))
        return torch.cat(parts, dim=2)[:, :, :-1]  # no white line under the last part

    import matplotlib.pyplot as plt

    cells = [cell_of(x) for x in columns]
    n, height = cells[0].shape[0], cells[0].shape[2]
    row_inches = cell * height / width  # the crops keep their shape: rows as tall as they are
    fig, axes = plt.subplots(
        n, len(cells), figsize=(cell * len(cells), row_inches * n + 0.6), squeeze=False
    )
    for r in range(n):
        for c, crops in enumerate(cells):
            ax = axes[r, c]
            image = crops[r].clamp(0, 1).repeat_interleave(zoom, -1).repeat_interleave(zoom, -2)
            ax.imshow(image.permute(1, 2, 0).numpy(), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(col_labels[c], fontsize=8)
            if c == 0 and row_labels is not None and r < len(row_labels):
                ax.set_ylabel(row_labels[r], fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _pad_white(x: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    """``x`` (N, 3, H, W) padded with white: (left, right, top, bottom) pixels."""
    return torch.nn.functional.pad(x, pad, value=1.0)


def _is_discrete(values: np.ndarray) -> bool:
    return not np.issubdtype(values.dtype, np.floating)


def umap_scatter(
    embedding: np.ndarray | torch.Tensor,
    colour_by: Mapping[str, Any],
    title: str = "UMAP of the latent codes",
    point_size: float = 6.0,
    max_legend: int = 12,
    panel: float = 3.6,
    palette: Mapping[str, Mapping[Any, Any]] | None = None,
) -> Figure:
    """Side-by-side scatter plots of a 2-D embedding, one panel per factor.

    A discrete factor (ints, strings) gets one colour per value with a legend (a colour bar
    if it has more than ``max_legend`` values); a continuous factor (floats) a colour bar.

    Args:
        embedding: (N, 2), e.g. from :func:`sepviz.probes.umap_embed`.
        colour_by: factor name -> (N,) values, e.g. ``{"identity": ..., "light": ...}``.
        title: the figure's title.
        palette: optional factor name -> {value: matplotlib colour} for discrete factors, so a
            colour means one value in every panel and figure (legend in the palette's order;
            every value present must have a colour).
    """
    import matplotlib.pyplot as plt

    emb = to_numpy(embedding)
    if emb.ndim != 2 or emb.shape[1] != 2:
        raise ValueError(f"embedding must be (N, 2), got {emb.shape}")
    if not colour_by:
        raise ValueError("colour_by is empty: give at least one factor name -> (N,) values")
    n_panels = len(colour_by)
    fig, axes = plt.subplots(1, n_panels, figsize=(panel * n_panels + 0.6, panel), squeeze=False)
    for ax, (name, values) in zip(axes[0], colour_by.items()):
        vals = to_numpy(values)
        if vals.shape != (emb.shape[0],):
            raise ValueError(
                f"colour_by[{name!r}] must have shape ({emb.shape[0]},), got {vals.shape}"
            )
        classes = np.unique(vals) if _is_discrete(vals) else None
        if palette is not None and name in palette:
            colours = palette[name]
            missing = sorted({str(v) for v in vals} - {str(k) for k in colours})
            if missing:
                raise ValueError(f"palette[{name!r}] has no colour for the values {missing}")
            for value, colour in colours.items():
                mask = vals.astype(str) == str(value)
                if mask.any():
                    ax.scatter(*emb[mask].T, s=point_size, color=colour, label=str(value), lw=0)
            ax.legend(title=name, fontsize=7, title_fontsize=8, markerscale=2, loc="best")
        elif classes is not None and len(classes) <= max_legend:
            cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
            for i, cls in enumerate(classes):
                mask = vals == cls
                ax.scatter(*emb[mask].T, s=point_size, color=cmap(i), label=str(cls), lw=0)
            ax.legend(title=name, fontsize=7, title_fontsize=8, markerscale=2, loc="best")
        else:
            codes = np.unique(vals, return_inverse=True)[1] if classes is not None else vals
            sc = ax.scatter(*emb.T, s=point_size, c=codes, cmap="viridis", lw=0)
            fig.colorbar(sc, ax=ax, label=name)
        ax.set_title(f"coloured by {name}", fontsize=10)
        ax.set_xlabel("UMAP-1")
        ax.set_ylabel("UMAP-2")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    head = np.cumsum(values[: window - 1]) / np.arange(1, window)
    return np.concatenate([head, np.convolve(values, kernel, mode="valid")])


def loss_curves(
    history: Any,
    title: str = "Training losses",
    smooth: int = 1,
    log: bool | None = None,
    secondary: Sequence[str] = (),
) -> Figure:
    """Loss against step, one line per loss.

    Args:
        history: a :class:`sepviz.train.History` (``.losses`` and ``.steps``) or a dict
            loss name -> list of values (x is then 0, 1, 2..).
        title: the figure's title.
        smooth: moving-average window (1: raw values).
        log: log-scale y; default: log when every value is positive.
        secondary: names in ``history`` drawn dashed on a second, linear y axis at the
            right instead (e.g. FaderNet's ``"lambda"`` schedule, which starts at 0).
    """
    import matplotlib.pyplot as plt

    losses = getattr(history, "losses", history)
    if not isinstance(losses, Mapping) or not losses:
        raise ValueError("history must be a History or a non-empty dict name -> list of losses")
    steps = getattr(history, "steps", None)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    missing = [name for name in secondary if name not in losses]
    if missing:
        raise ValueError(f"secondary names {missing} are not in history; have {list(losses)}")
    right = ax.twinx() if secondary else None
    positive = True
    for k, (name, values) in enumerate(losses.items()):
        vals = np.asarray(values, dtype=np.float64)
        if vals.ndim != 1 or vals.size == 0:
            raise ValueError(f"history[{name!r}] must be a non-empty list of numbers")
        x = np.asarray(steps) if steps is not None and len(steps) == len(vals) else None
        x = x if x is not None else np.arange(len(vals))
        if right is not None and name in secondary:
            right.plot(x, vals, label=name, lw=1.2, ls="--", color=f"C{k}")
            continue
        positive &= bool((vals > 0).all())
        ax.plot(x, _moving_average(vals, smooth), label=name, lw=1.2, color=f"C{k}")
    if log if log is not None else positive:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss" + (f" (moving average of {smooth})" if smooth > 1 else ""))
    handles, labels = ax.get_legend_handles_labels()
    if right is not None:
        right.set_ylabel(", ".join(secondary) + " (dashed, right axis)")
        more = right.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    ax.legend(handles, labels, fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def layer_curve(
    rows: Sequence[Mapping[str, Any]],
    title: str = "Information along the network, layer by layer",
    ylabel: str | None = None,
) -> Figure:
    """Probe score against layer, one line per factor, its chance level dashed.

    Args:
        rows: from :func:`sepviz.probes.layer_probes` (``layer``, ``position``, ``factor``,
            ``score``, ``score_std``, ``chance``, ``metric`` and ``kind`` per row).
        title: the figure's title.
        ylabel: default from the metric ("held-out accuracy" and / or "R²").

    A dotted vertical line marks the latent, between the last ``enc`` and first ``dec`` layer.
    """
    import matplotlib.pyplot as plt

    check_layer_rows(rows)
    layers = list(dict.fromkeys(r["layer"] for r in rows))
    kinds = list(dict.fromkeys(r.get("kind", "") for r in rows))
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(layers) + 2), 3.8))
    colours = plt.get_cmap("tab10")
    factors = list(dict.fromkeys(r["factor"] for r in rows))
    for i, factor in enumerate(factors):
        for j, kind in enumerate(kinds):
            sel = [r for r in rows if r["factor"] == factor and r.get("kind", "") == kind]
            if not sel:
                continue
            x = [layers.index(r["layer"]) for r in sel]
            y = np.array([r["score"] for r in sel])
            err = np.array([r.get("score_std", 0.0) for r in sel])
            label = factor if len(kinds) == 1 else f"{factor} ({kind})"
            style = ("-", "-.", ":")[j % 3]
            ax.errorbar(x, y, yerr=err, color=colours(i), ls=style, marker="o", ms=4, label=label)
            ax.plot(x, [r["chance"] for r in sel], color=colours(i), ls="--", lw=1, alpha=0.7)
    enc = [k for k, name in enumerate(layers) if str(name).startswith("enc")]
    if enc and enc[-1] + 1 < len(layers):
        ax.axvline(enc[-1] + 0.5, color="grey", ls=":", lw=1)
        ax.text(
            enc[-1] + 0.55,
            0.02,
            "latent",
            color="grey",
            fontsize=8,
            transform=ax.get_xaxis_transform(),
        )
    metrics = list(dict.fromkeys(r.get("metric", "accuracy") for r in rows))
    names = {"accuracy": "held-out accuracy", "r2": "held-out R²"}
    ax.set_ylabel(ylabel or " / ".join(names.get(m, m) for m in metrics))
    ax.set_xlabel("layer (dashed: chance level)")
    ax.set_xticks(
        range(len(layers)), [str(n) for n in layers], rotation=45 if len(layers) > 10 else 0
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def probe_bars(
    results: Mapping[str, ProbeResult],
    title: str = "What a probe reads from the code",
    ylabel: str | None = None,
) -> Figure:
    """Bars of probe scores with their spread over folds and a dashed chance mark on each.

    Args:
        results: label -> :class:`sepviz.probes.ProbeResult`, e.g.
            ``{"identity (linear)": r1, "identity (MLP)": r2, "light (linear)": r3}``.
        title: the figure's title.
        ylabel: default from the results' metric.
    """
    import matplotlib.pyplot as plt

    if not results:
        raise ValueError("results is empty: give label -> ProbeResult")
    names = list(results)
    scores = [results[n].score for n in names]
    fig, ax = plt.subplots(figsize=(max(4, 1.1 * len(names) + 1.5), 3.6))
    x = np.arange(len(names))
    ax.bar(x, scores, yerr=[results[n].score_std for n in names], capsize=4, color="tab:blue")
    for k, n in enumerate(names):
        label = "chance" if k == 0 else None
        ax.plot([k - 0.4, k + 0.4], [results[n].chance] * 2, "k--", lw=1.2, label=label)
    metrics = {results[n].metric for n in names}
    default = "held-out accuracy" if metrics == {"accuracy"} else "held-out score"
    default = "held-out R²" if metrics == {"r2"} else default
    ax.set_ylabel(ylabel or default)
    ax.set_xlabel("probe")
    ax.set_xticks(x, names, rotation=30 if len(names) > 4 else 0)
    ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def heatmap(
    matrix: np.ndarray | torch.Tensor,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str,
    xlabel: str = "factor",
    ylabel: str = "code dimension",
    colorbar_label: str = "",
) -> Figure:
    """A matrix as an image with labelled rows and columns (e.g. the DCI importance matrix
    ``dci(...)["importance"]`` or MIG's ``mutual_info``: codes x factors)."""
    import matplotlib.pyplot as plt

    m = to_numpy(matrix)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {m.shape}")
    _check_labels(row_labels, m.shape[0], "row_labels", "rows")
    _check_labels(col_labels, m.shape[1], "col_labels", "columns")
    fig, ax = plt.subplots(figsize=(1 + 0.8 * m.shape[1], 1 + 0.3 * m.shape[0]))
    im = ax.imshow(m, aspect="auto", cmap="magma")
    ax.set_xticks(range(m.shape[1]), list(col_labels), rotation=30)
    ax.set_yticks(range(m.shape[0]), list(row_labels), fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(im, ax=ax, label=colorbar_label)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


class Preview:
    """A training callback that shows a small grid of the model's outputs every ``every`` steps.

    Pass it to :func:`sepviz.train.fit` (``callbacks=[Preview(images, every=200)]``); it is
    called as ``preview(model, step, losses)`` after every step and acts after steps
    ``every``, ``2 * every``, .. (``step`` counts from 0). Rows of the grid: the inputs, then
    ``model.decode(model.encode(x), name)`` for every decoder of a multi-decoder model, or
    ``model.reconstruct(x)``; or what ``fn(model, images)`` returns (a tensor, or a dict row
    label -> tensor). The model is run in eval mode and put back in training mode.

    Each figure goes to ``show`` (default: ``IPython.display.display``; with
    ``mode="update"`` one figure is updated in place instead of one per preview) and is then
    closed. ``frames`` keeps ``(step, outputs)`` of each preview, e.g. for a static slider.
    """

    def __init__(
        self,
        images: torch.Tensor,
        every: int = 100,
        fn: Callable[[Any, torch.Tensor], Any] | None = None,
        title: str = "Training preview",
        mode: str = "append",
        show: Callable[[Figure], None] | None = None,
    ) -> None:
        check_images(images)
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if mode not in ("append", "update"):
            raise ValueError(f"mode must be 'append' or 'update', got {mode!r}")
        self.images = images.detach().cpu().float()
        self.every = every
        self.fn = fn
        self.title = title
        self.mode = mode
        self.show = show
        self.frames: list[tuple[int, dict[str, torch.Tensor]]] = []
        self._handle: Any = None

    def outputs(self, model: Any) -> dict[str, torch.Tensor]:
        """Row label -> (N, 3, H, W) CPU outputs of ``model`` on the preview images."""
        labels: list[str] = []

        def rows(x: torch.Tensor) -> torch.Tensor:  # (N, rows, 3, H, W)
            if self.fn is not None:
                out = self.fn(model, x)
            elif names := grids.decoder_names(model, required=False):
                z = model.encode(x)
                out = {name: grids.decoder(model, name)(z) for name in names}
            elif callable(getattr(model, "reconstruct", None)):
                out = {"output": model.reconstruct(x)}
            else:
                raise ValueError("Preview needs fn=..., or a model with reconstruct(x) or decoders")
            if isinstance(out, torch.Tensor):
                out = {"output": out}
            labels[:] = list(out)
            return torch.stack(list(out.values()), dim=1)

        grid = batched(model, rows, self.images, batch_size=self.images.shape[0])
        return {label: grid[:, k] for k, label in enumerate(labels)}

    def figure(self, step: int, outputs: Mapping[str, torch.Tensor]) -> Figure:
        grid = torch.stack([self.images, *[o.clamp(0, 1) for o in outputs.values()]])
        return image_grid(
            grid, row_labels=["input", *outputs], title=f"{self.title}: after {step} steps"
        )

    def __call__(self, model: Any, step: int, losses: Mapping[str, float] | None = None) -> None:
        if (step + 1) % self.every:
            return
        import matplotlib.pyplot as plt

        outputs = self.outputs(model)
        self.frames.append((step + 1, outputs))
        fig = self.figure(step + 1, outputs)
        try:
            if self.show is not None:
                self.show(fig)
            else:
                from IPython.display import display

                if self.mode == "update" and self._handle is not None:
                    self._handle.update(fig)
                else:
                    self._handle = display(fig, display_id=True if self.mode == "update" else None)
        finally:
            plt.close(fig)
