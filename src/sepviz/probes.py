"""Read-out probes: what a code or a layer holds, and the tables and facts drawn from them.

Everything here works on any model that follows the sepviz contract (see
:class:`sepviz.models.base.SepvizModel`): ``encode``, ``probe_layers`` and ``reconstruct`` or,
for models with several decoders, ``decoders`` / ``decode``.

* :func:`extract_latents`: latent vectors ``(N, D)`` of a set of images.
* :func:`probe`: how much of a factor a linear or small MLP read-out recovers from a code,
  with stratified cross-validation, its spread over the folds, the chance level and the
  iterations each fold's head ran (a :class:`ProbeResult`).
* :func:`layer_activations`, :func:`layer_probes`: the same on every encoder and decoder
  layer (a curve along the net).
* :func:`umap_embed`: a 2-D UMAP embedding of latents, to colour by any factor.
* :func:`probe_table`: a Markdown table of probe results next to the chance level.
* :func:`readable_layers`: the layers of :func:`layer_probes`' output at which a factor is
  readable (score at least ``margin`` above chance), in network order.

Scores of images and codes (PSNR, SSIM, MIG, DCI) live in :mod:`sepviz.metrics`, grids of
model outputs in :mod:`sepviz.grids`. scikit-learn and umap are imported inside the functions
that need them, so ``import sepviz.probes`` is cheap.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sepviz import grids
from sepviz.utils import LabelsLike, batched, check_codes, check_images, to_numpy

KINDS = ("linear", "mlp")
TASKS = ("classification", "regression")
LAYER_ROW_KEYS = ("layer", "factor", "score", "chance")
"""The keys every row of :func:`layer_probes`' output has that tables and figures read."""


# -- helpers -------------------------------------------------------------------------------
def _as_labels(
    labels: Any, n: int, task: str | None, name: str = "labels"
) -> tuple[np.ndarray, str]:
    """1-D labels of length ``n`` and their task: ints / bools / strings classify, floats regress.

    Class labels come back as codes 0..C-1; regression targets as float64.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} or None, got {task!r}")
    arr = to_numpy(labels)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one label per sample, shape ({n},), got {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries but there are {n} samples")
    if task is None:
        task = "regression" if np.issubdtype(arr.dtype, np.floating) else "classification"
    if task == "regression":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be numbers for regression, got {arr.dtype}") from err
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} holds NaN or infinite values")
        if np.ptp(arr) == 0:
            raise ValueError(f"{name} is constant ({arr[0]!r}): nothing to predict")
        return arr, task
    classes, codes = np.unique(arr, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"{name} has a single class ({classes[0]!r}): a probe needs at least two classes"
        )
    return codes.reshape(-1), task


# -- latents and probes --------------------------------------------------------------------
def extract_latents(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Latent codes of ``images``, flattened.

    Args:
        model: any model with ``encode(x) -> z`` (z of shape (N, D) or (N, C, h, w)); it may
            sit on any device (inputs are moved there) and is run in eval mode, no_grad.
        images: (N, 3, H, W) float in [0, 1] (or a FaceSet: its ``images`` are used).
        batch_size: images per forward pass.

    Returns:
        (N, D) float32 CPU tensor (spatial latents are flattened to D = C*h*w).
    """
    x = check_images(images, convert=True)
    if not callable(getattr(model, "encode", None)):
        raise ValueError(f"model must have an encode(x) method, got {type(model).__name__}")
    return batched(model, lambda b: model.encode(b).flatten(1), x, batch_size)


@dataclass
class ProbeResult:
    """The outcome of :func:`probe`.

    ``score`` is the mean over the cross-validation folds of the held-out *accuracy* (a class
    factor, ``metric == "accuracy"``) or *R^2* (a continuous factor, ``metric == "r2"``);
    ``score_std`` its standard deviation over the folds; ``chance`` what a probe that ignores
    the code scores: the majority-class frequency for classification, 0 for R^2 (predicting
    the mean). ``accuracy`` and ``r2`` give the score under its own name (``None`` for the
    other task).
    """

    score: float
    score_std: float
    chance: float
    kind: str
    task: str
    n_samples: int
    n_features: int
    n_classes: int | None = None
    fold_scores: list[float] = field(default_factory=list)
    whitened: bool = False
    iterations: list[int] = field(default_factory=list)
    """Iterations the head ran on each fold (an MLP's epochs, a logistic regression's solver
    steps); empty for a head solved in closed form (ridge regression)."""
    max_iter: int | None = None
    """The head's iteration limit: a fold that reached it did not converge."""

    @property
    def converged(self) -> bool:
        """Whether the head converged on every fold (it stopped before its iteration limit)."""
        return self.max_iter is None or all(i < self.max_iter for i in self.iterations)

    @property
    def metric(self) -> str:
        return "accuracy" if self.task == "classification" else "r2"

    @property
    def accuracy(self) -> float | None:
        return self.score if self.task == "classification" else None

    @property
    def accuracy_std(self) -> float | None:
        return self.score_std if self.task == "classification" else None

    @property
    def r2(self) -> float | None:
        return self.score if self.task == "regression" else None

    @property
    def above_chance(self) -> float:
        """``score - chance``: what the code adds to guessing."""
        return self.score - self.chance

    @property
    def score_text(self) -> str:
        """The score with its spread: ``"93.1% ± 1.2"`` (accuracy) or ``"0.745 ± 0.010"`` (R^2)."""
        if self.task == "classification":
            return f"{100 * self.score:.1f}% ± {100 * self.score_std:.1f}"
        return f"{self.score:.3f} ± {self.score_std:.3f}"

    @property
    def chance_text(self) -> str:
        """The chance level: ``"33.3%"`` (accuracy) or ``"0.000"`` (R^2)."""
        if self.task == "classification":
            return f"{100 * self.chance:.1f}%"
        return f"{self.chance:.3f}"

    def __str__(self) -> str:
        name = f"whitened {self.kind}" if self.whitened else self.kind
        metric = "R² " if self.task == "regression" else ""
        late = "" if self.converged else f", not converged in {self.max_iter} iterations"
        return f"{name} probe: {metric}{self.score_text} (chance {self.chance_text}{late})"


MLP_HIDDEN = 128  # hidden units of the MLP probe (one layer)
MLP_ALPHA = {"classification": 1e-3, "regression": 10.0}
"""The MLP probe's L2 weight penalty (scikit-learn's ``alpha``) for each task, measured with
5 folds on 1,000-2,000 codes: for classes, 1e-3 reads a disc in 2-D embeddings at 97% where
10 reads it at 69% (a 3-class ring in 64-D: 61% and 66%); for numbers, 1e-3 overfits
(held-out R² -0.46 on pure noise, 0.33 where the linear probe reads 0.51, -0.03 where it
reads 0.20), while 10 scores -0.03 to -0.11 on noise, 0.53 against 0.51 and 0.27 against
0.20."""
MLP_TOL = 1e-3
"""The MLP probe has converged when its training loss gains less than this for
:data:`MLP_PATIENCE` epochs in a row. Why not scikit-learn's 1e-4: on 600 codes of a ring
erased by LEACE, 1e-4 ran 2,600 epochs while the loss crept down on the training faces only,
and the held-out accuracy fell from 70% to 61%; 1e-3 stopped at 134 epochs. On 1,000 x 64
codes it costs at most a point or two against 1e-4 (a disc in 2-D: 97% against 99%) and
runs 2-5 times faster."""
MLP_PATIENCE = 10  # scikit-learn's default
MLP_MAX_ITER = 2000
"""The epoch limit of the MLP probe: far above what it needs to converge (measured: 85-480
epochs on 500-2,000 codes of 2 to 64 dimensions, noise included), so that a probe that
reaches it has *not* converged: :attr:`ProbeResult.converged` says so, and scikit-learn's
``ConvergenceWarning`` is left to show."""


def _probe_estimator(
    kind: str, task: str, seed: int, hidden: int = MLP_HIDDEN, whiten: bool = False
) -> Any:
    """The scikit-learn pipeline of a probe: standardise (or whiten), then the head."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    mlp: dict[str, Any] = {
        "hidden_layer_sizes": (hidden,),
        "alpha": MLP_ALPHA[task],
        "max_iter": MLP_MAX_ITER,
        # trained to convergence: with early stopping (10% of ~1,000 codes to stop on) it quit
        # at the majority class on a disc that it reads at 98% without (tests/test_probes.py)
        "early_stopping": False,
        "tol": MLP_TOL,
        "n_iter_no_change": MLP_PATIENCE,
        "random_state": seed,
    }
    if task == "classification":
        head: Any = (
            LogisticRegression(C=1.0, max_iter=2000) if kind == "linear" else MLPClassifier(**mlp)
        )
    elif kind == "linear":
        head = RidgeCV(alphas=np.logspace(-3, 3, 7))
    else:
        head = TransformedTargetRegressor(MLPRegressor(**mlp), transformer=StandardScaler())
    return make_pipeline(PCA(whiten=True) if whiten else StandardScaler(), head)


def head_iterations(fitted: Any) -> tuple[int, int] | None:
    """``(iterations run, iteration limit)`` of a fitted probe pipeline's head (or of a fitted
    head): an MLP's epochs, a logistic regression's solver iterations; ``None`` for a head
    solved in closed form (``RidgeCV``). The head converged when the first is below the
    second."""
    head = fitted[-1] if hasattr(fitted, "steps") else fitted
    head = getattr(head, "regressor_", head)  # a TransformedTargetRegressor's fitted MLP
    if not hasattr(head, "n_iter_"):
        return None
    return int(np.max(head.n_iter_)), int(head.max_iter)


def probe(
    z: torch.Tensor | np.ndarray,
    labels: LabelsLike,
    kind: str = "linear",
    folds: int = 5,
    seed: int = 0,
    task: str | None = None,
    hidden: int = MLP_HIDDEN,
    whiten: bool = False,
) -> ProbeResult:
    """How well a read-out recovers ``labels`` from codes ``z``, cross-validated.

    Features are standardised (fitted on each training fold only); ``whiten=True`` whitens
    them instead (PCA with unit variance in every direction), so that a signal written into a
    direction of tiny variance weighs as much as any other: an encoder trained against an
    adversary hides the light there, where the standardised probe misses it (chapter 5).
    Class labels (ints, bools, strings) use :class:`~sklearn.model_selection.StratifiedKFold` and a
    ``LogisticRegression`` (``kind="linear"``) or an ``MLPClassifier`` with one hidden layer
    of ``hidden`` ReLU units (``kind="mlp"``), scored by accuracy. Float labels use
    ``KFold`` and ``RidgeCV`` / an ``MLPRegressor`` (target standardised), scored by R^2.
    Folds are shuffled with ``seed``. The MLP is trained to convergence (its training loss
    gains less than :data:`MLP_TOL` for :data:`MLP_PATIENCE` epochs, with no early stopping
    on a held-out slice), within :data:`MLP_MAX_ITER` epochs: the result holds the iterations
    of every fold and :attr:`ProbeResult.converged`, and a fold that reaches the limit shows
    scikit-learn's ``ConvergenceWarning``. A plain MLP fitted on ~1,000 codes can read a
    faint *linear* answer less well than the logistic regression does (it overfits what it
    sees): each probe's score is a lower bound on what the code holds, not a ranking of
    readers.

    Args:
        z: (N, D) codes (or (N, ...) flattened), e.g. from :func:`extract_latents`.
        labels: (N,) factor values.
        kind: ``"linear"`` or ``"mlp"``.
        folds: number of cross-validation folds (>= 2); every class needs ``folds`` samples.
        seed: fold shuffling and MLP initialisation.
        task: force ``"classification"`` or ``"regression"`` (default: from the dtype).
        hidden: hidden units of the MLP probe (:data:`MLP_HIDDEN`).
        whiten: whiten the features instead of standardising each one.

    Returns:
        A :class:`ProbeResult`: mean held-out score, its spread over folds, chance level,
        and the iterations of the head on every fold.
    """
    from sklearn.model_selection import KFold, StratifiedKFold, cross_validate

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    x = check_codes(z)
    y, task = _as_labels(labels, x.shape[0], task)
    n_classes = None
    if task == "classification":
        counts = np.bincount(y)
        n_classes = len(counts)
        if counts.min() < folds:
            raise ValueError(
                f"labels: class {int(counts.argmin())} has only {int(counts.min())} samples; "
                f"folds={folds} needs at least {folds} per class (lower folds or add samples)"
            )
        cv: Any = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        chance = float(counts.max() / counts.sum())
        scoring = "accuracy"
    else:
        if x.shape[0] < folds:
            raise ValueError(f"labels: {x.shape[0]} samples cannot fill folds={folds}")
        cv = KFold(n_splits=folds, shuffle=True, random_state=seed)
        chance = 0.0
        scoring = "r2"
    fitted = cross_validate(
        _probe_estimator(kind, task, seed, hidden, whiten),
        x,
        y,
        cv=cv,
        scoring=scoring,
        return_estimator=True,
    )
    scores = fitted["test_score"]
    counted = [head_iterations(e) for e in fitted["estimator"]]
    return ProbeResult(
        score=float(np.mean(scores)),
        score_std=float(np.std(scores)),
        chance=chance,
        kind=kind,
        task=task,
        n_samples=int(x.shape[0]),
        n_features=int(x.shape[1]),
        n_classes=n_classes,
        fold_scores=[float(s) for s in scores],
        whitened=whiten,
        iterations=[c[0] for c in counted if c is not None],
        max_iter=counted[0][1] if counted[0] is not None else None,
    )


# -- layer by layer ------------------------------------------------------------------------
def _default_forward(model: nn.Module, decoder: str | None) -> Callable[[torch.Tensor], Any]:
    names = grids.decoder_names(model, required=False)
    if names:
        decode = grids.decoder(model, decoder if decoder is not None else names[0], "decoder")
        return lambda x: decode(model.encode(x))
    if callable(getattr(model, "reconstruct", None)):
        return model.reconstruct
    raise ValueError(
        "forward is needed: the model has neither decoders + decode(z, name) nor reconstruct(x)"
    )


def _pool_activation(out: Any, max_features: int, pool: int) -> torch.Tensor:
    if isinstance(out, (tuple, list)):
        out = next(o for o in out if isinstance(o, torch.Tensor))
    out = out.detach().float()
    if out.ndim == 4 and out[0].numel() > max_features:
        out = torch.nn.functional.adaptive_avg_pool2d(out, pool)
    return out.flatten(1).cpu()


def layer_activations(
    model: nn.Module,
    images: torch.Tensor,
    forward: Callable[[torch.Tensor], Any] | None = None,
    decoder: str | None = None,
    batch_size: int = 256,
    max_features: int = 2048,
    pool: int = 2,
) -> dict[str, torch.Tensor]:
    """The activations of every layer of ``model.probe_layers()`` on ``images``.

    Forward hooks are attached to the modules that ``model.probe_layers(decoder=...)`` names
    ("enc1".."encL", "dec1".."decL"), ``forward`` is run (default: ``model.reconstruct`` or,
    for a model with several decoders, ``model.decode(model.encode(x), decoder)``, the first
    decoder when ``decoder`` is None), and the hooks are removed again.

    A spatial output (N, C, h, w) is flattened when C*h*w <= ``max_features``; a bigger one is
    average-pooled to a ``pool`` x ``pool`` grid first (C*pool^2 features). A 2x2 grid rather
    than a global average keeps where things are (left / right for light direction), which a
    global pool would mostly erase.

    Returns:
        Ordered dict layer name -> (N, F) float32 CPU tensor.
    """
    x = check_images(images, convert=True)
    if max_features < 1 or pool < 1:
        raise ValueError(f"max_features and pool must be >= 1, got {max_features}, {pool}")
    if decoder is not None:
        grids.decoder(model, decoder, "decoder")  # a ValueError unless it is a decoder name
    layers = model.probe_layers(decoder=decoder) if decoder is not None else model.probe_layers()
    if not layers:
        raise ValueError("model.probe_layers() returned no layers")
    fn = forward if forward is not None else _default_forward(model, decoder)
    store: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    handles = []
    for name, module in layers.items():

        def hook(_m: nn.Module, _inp: Any, out: Any, name: str = name) -> None:
            store[name].append(_pool_activation(out, max_features, pool))

        handles.append(module.register_forward_hook(hook))

    def run(batch: torch.Tensor) -> torch.Tensor:
        fn(batch)  # the hooks keep what is wanted; the output itself is not
        return batch.new_empty(batch.shape[0], 0)

    try:
        batched(model, run, x, batch_size)
    finally:
        for handle in handles:
            handle.remove()
    result = {}
    for name, chunks in store.items():
        if not chunks:
            raise ValueError(f"layer {name!r} was never called by forward: check forward/decoder")
        result[name] = torch.cat(chunks)
        if result[name].shape[0] != x.shape[0]:
            raise ValueError(
                f"layer {name!r} ran {result[name].shape[0]} times for {x.shape[0]} images "
                "(is it used twice in the forward pass?)"
            )
    return result


def layer_probes(
    model: nn.Module,
    images: torch.Tensor,
    labels: Mapping[str, LabelsLike],
    forward: Callable[[torch.Tensor], Any] | None = None,
    kind: str = "linear",
    decoder: str | None = None,
    folds: int = 5,
    seed: int = 0,
    batch_size: int = 256,
    max_features: int = 2048,
    pool: int = 2,
) -> list[dict[str, Any]]:
    """Probe every encoder and decoder layer for every factor: information along the network.

    Activations come from :func:`layer_activations` (same ``forward``, ``decoder``,
    ``max_features``, ``pool``); each layer is probed with :func:`probe` for each factor.

    Args:
        model: a sepviz model (``probe_layers``, ``encode`` and ``reconstruct`` or ``decode``).
        images: (N, 3, H, W) in [0, 1].
        labels: factor name -> (N,) values (ints classify, floats regress).
        forward: the full autoencoding pass to run, ``Callable[[Tensor], Tensor]``.
        kind, folds, seed: as in :func:`probe`.

    Returns:
        One dict per (layer, factor), layers in network order, with keys ``layer``,
        ``position`` (0-based layer index), ``factor``, ``metric`` ("accuracy" or "r2"),
        ``score``, ``score_std``, ``chance``, ``n_features``, ``kind``.
        (``pandas.DataFrame(rows)`` turns it into a table where pandas is installed.)
    """
    if not isinstance(labels, Mapping) or not labels:
        raise ValueError("labels must be a non-empty dict: factor name -> (N,) values")
    x = check_images(images, convert=True)
    for name, values in labels.items():
        if len(values) != x.shape[0]:
            raise ValueError(
                f"labels[{name!r}] has {len(values)} entries but there are {x.shape[0]} images"
            )
    acts = layer_activations(model, x, forward, decoder, batch_size, max_features, pool)
    rows = []
    for position, (layer, feats) in enumerate(acts.items()):
        for factor, values in labels.items():
            result = probe(feats, values, kind=kind, folds=folds, seed=seed)
            rows.append(
                {
                    "layer": layer,
                    "position": position,
                    "factor": factor,
                    "metric": result.metric,
                    "score": result.score,
                    "score_std": result.score_std,
                    "chance": result.chance,
                    "n_features": result.n_features,
                    "kind": kind,
                }
            )
    return rows


# -- UMAP ----------------------------------------------------------------------------------
def umap_embed(
    z: torch.Tensor | np.ndarray,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    seed: int = 0,
    standardize: bool = False,
) -> np.ndarray:
    """A 2-D UMAP embedding of codes (umap-learn, imported here: the first call compiles).

    ``NUMBA_CACHE_DIR`` defaults to ``~/.cache/sepviz/numba`` (unless set, or numba was
    imported already) so numba's compilation is kept between sessions: about 12 s the first
    time, a few seconds later. With ``seed`` set UMAP runs single-threaded and is reproducible.

    Args:
        z: (N, D) codes (or (N, ...) flattened); N > n_neighbors.
        n_neighbors, min_dist: UMAP's neighbourhood size and packing.
        seed: UMAP's random state.
        standardize: scale every code dimension to zero mean, unit variance first (off by
            default: it would blow up near-dead latent units into noise).

    Returns:
        (N, 2) float32 array.
    """
    x = check_codes(z)
    if x.shape[0] <= n_neighbors:
        raise ValueError(f"z has {x.shape[0]} rows; UMAP needs more than n_neighbors={n_neighbors}")
    if standardize:
        std = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "sepviz" / "numba"))
    with warnings.catch_warnings():
        # umap warns that a seed turns parallelism off: reproducibility is the point here.
        warnings.filterwarnings("ignore", message=".*n_jobs.*")
        import umap

        reducer = umap.UMAP(
            n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, random_state=seed
        )
        return np.asarray(reducer.fit_transform(x), dtype=np.float32)


# -- tables and facts ----------------------------------------------------------------------
def probe_table(
    results: Mapping[str, Mapping[str, ProbeResult]],
    row_header: str = "factor",
) -> str:
    """A Markdown table of probe results: one row per factor, one column per probe kind.

    Example: ``probe_table({"identity": {"linear": r1, "MLP": r2}, "smile": {...}})`` gives
    the columns ``factor | metric | linear | MLP | chance``. Accuracies are shown in percent,
    R^2 as a number; every cell is ``mean ± standard deviation`` over the folds.

    Args:
        results: row label -> (column label -> :class:`ProbeResult`). Every row must have the
            same column labels, and all results of a row the same metric and chance level
            (they probe the same labels).
        row_header: the title of the first column.

    Returns:
        The table as a Markdown string (display it with ``IPython.display.Markdown``).
    """
    if not results:
        raise ValueError("results is empty: give row label -> {column label: ProbeResult}")
    columns: list[str] | None = None
    for row, cells in results.items():
        if not isinstance(cells, Mapping) or not cells:
            raise ValueError(f"results[{row!r}] must be a non-empty dict column -> ProbeResult")
        bad = [c for c, r in cells.items() if not isinstance(r, ProbeResult)]
        if bad:
            raise ValueError(f"results[{row!r}] has non-ProbeResult entries for columns {bad}")
        if columns is None:
            columns = list(cells)
        elif list(cells) != columns:
            raise ValueError(
                f"results[{row!r}] has columns {list(cells)}, expected {columns} like the first row"
            )
        metrics = {r.metric for r in cells.values()}
        if len(metrics) != 1:
            raise ValueError(f"results[{row!r}] mixes metrics {sorted(metrics)}")
        chances = {round(r.chance, 9) for r in cells.values()}
        if len(chances) != 1:
            raise ValueError(f"results[{row!r}] mixes chance levels {sorted(chances)}")
    assert columns is not None
    names = {"accuracy": "accuracy", "r2": "R²"}
    lines = [
        "| " + " | ".join([row_header, "metric", *columns, "chance"]) + " |",
        "|" + "---|" * (len(columns) + 3),
    ]
    for row, cells in results.items():
        first = next(iter(cells.values()))
        scores = [cells[c].score_text for c in columns]
        lines.append(
            "| " + " | ".join([str(row), names[first.metric], *scores, first.chance_text]) + " |"
        )
    return "\n".join(lines)


def check_layer_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    """Raise a ``ValueError`` unless ``rows`` is a non-empty output of :func:`layer_probes`
    (dicts with at least the keys :data:`LAYER_ROW_KEYS`)."""
    if not rows:
        raise ValueError("rows is empty: pass the list returned by layer_probes")
    missing = [k for k in LAYER_ROW_KEYS if k not in rows[0]]
    if missing:
        raise ValueError(f"rows lack the keys {missing} (use layer_probes' output)")


def readable_layers(
    rows: Sequence[Mapping[str, Any]],
    factor: str,
    margin: float = 0.1,
) -> list[str]:
    """The layers at which ``factor`` is readable: probe score >= chance + ``margin``.

    Args:
        rows: the output of :func:`layer_probes` (dicts with ``layer``, ``factor``, ``score``
            and ``chance``).
        factor: which factor (a key of the ``labels`` given to ``layer_probes``).
        margin: how far above chance counts as readable, in the score's units (accuracy
            in [0, 1] or R^2); >= 0.

    Returns:
        Layer names in the order of ``rows`` (network order), e.g. ``["enc1", ..., "dec4"]``;
        empty when the factor is nowhere readable.
    """
    check_layer_rows(rows)
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    selected = [r for r in rows if r["factor"] == factor]
    if not selected:
        factors = sorted({str(r["factor"]) for r in rows})
        raise ValueError(f"factor={factor!r} is not in rows; they hold {factors}")
    return [str(r["layer"]) for r in selected if r["score"] >= r["chance"] + margin]
