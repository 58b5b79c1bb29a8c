"""Measure where information lives: probes, UMAP, MIG / DCI, ground-truth errors, swap grids.

Everything here works on any model that follows the sepviz contract (see
:class:`sepviz.models.base.SepvizModel`): ``encode``, ``probe_layers`` and, for models with
several decoders, ``decoders`` / ``decode``; FaderNet-like models ``relight(x, y)``.

* :func:`extract_latents`: latent vectors ``(N, D)`` of a set of images.
* :func:`probe`: how much of a factor a linear or small MLP read-out recovers from a code,
  with stratified cross-validation, its spread over the folds and the chance level.
* :func:`layer_probes`: the same on every encoder and decoder layer (a curve along the net).
* :func:`umap_embed`: a 2-D UMAP embedding of latents, to colour by any factor.
* :func:`psnr`, :func:`ssim`, :func:`ground_truth_error`: errors against ground-truth swapped
  or relit faces, with the baselines "input unchanged" and "mean face".
* :func:`mig`, :func:`dci`: disentanglement scores with known factors (disentanglement_lib).
* :func:`decoder_swap_grid`, :func:`layer_swap_grid`, :func:`relight_grid`: model outputs laid
  out as ``(rows, columns, 3, H, W)`` grids for :func:`sepviz.viz.swap_grid`.

scikit-learn, scikit-image and umap are imported inside the functions that need them, so
``import sepviz.probes`` is cheap.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

LabelsLike = torch.Tensor | np.ndarray | Sequence[Any]
FactorsLike = Mapping[str, LabelsLike] | torch.Tensor | np.ndarray
KINDS = ("linear", "mlp")
TASKS = ("classification", "regression")


# -- helpers -------------------------------------------------------------------------------
def _as_images(images: Any, name: str = "images") -> torch.Tensor:
    """A float (N, 3, H, W) tensor from a tensor or anything with ``.images`` (a FaceSet)."""
    if not isinstance(images, torch.Tensor) and hasattr(images, "images"):
        images = images.images
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{name} must be a (N, 3, H, W) tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"{name} must have shape (N, 3, H, W), got {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise ValueError(f"{name} is empty: expected at least one image")
    if not images.is_floating_point():
        raise ValueError(f"{name} must be a float tensor in [0, 1], got dtype {images.dtype}")
    return images


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _as_codes(z: Any, name: str = "z") -> np.ndarray:
    """(N, D) float64 array from a tensor / array of shape (N, ...)."""
    arr = _to_numpy(z)
    if arr.ndim < 2:
        if arr.ndim == 1:
            arr = arr[:, None]
        else:
            raise ValueError(f"{name} must have shape (N, D), got a scalar")
    arr = arr.reshape(arr.shape[0], -1).astype(np.float64)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty: got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def _as_labels(
    labels: Any, n: int, task: str | None, name: str = "labels"
) -> tuple[np.ndarray, str]:
    """1-D labels of length ``n`` and their task: ints / bools / strings classify, floats regress.

    Class labels come back as codes 0..C-1; regression targets as float64.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} or None, got {task!r}")
    arr = _to_numpy(labels)
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


def _model_device(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


@contextmanager
def _eval_mode(model: nn.Module):
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _batched(
    model: nn.Module,
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    batch_size: int,
) -> torch.Tensor:
    """``fn`` over ``x`` in eval mode and no_grad, ``batch_size`` rows at a time; CPU float32."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = _model_device(model)
    out = []
    with _eval_mode(model):
        for i in range(0, x.shape[0], batch_size):
            out.append(fn(x[i : i + batch_size].to(device, torch.float32)).float().cpu())
    return torch.cat(out)


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
    x = _as_images(images)
    if not callable(getattr(model, "encode", None)):
        raise ValueError(f"model must have an encode(x) method, got {type(model).__name__}")
    return _batched(model, lambda b: model.encode(b).flatten(1), x, batch_size)


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

    def __str__(self) -> str:
        name = f"whitened {self.kind}" if self.whitened else self.kind
        if self.task == "classification":
            return (
                f"{name} probe: {100 * self.score:.1f}% ± {100 * self.score_std:.1f} "
                f"(chance {100 * self.chance:.1f}%)"
            )
        return (
            f"{name} probe: R² {self.score:.3f} ± {self.score_std:.3f} (chance {self.chance:.3f})"
        )


def _probe_estimator(kind: str, task: str, seed: int, hidden: int, whiten: bool = False) -> Any:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "linear" and task == "classification":
        head: Any = LogisticRegression(C=1.0, max_iter=2000)
    elif kind == "linear":
        head = RidgeCV(alphas=np.logspace(-3, 3, 7))
    elif task == "classification":
        head = MLPClassifier(
            hidden_layer_sizes=(hidden,),
            alpha=1e-3,
            max_iter=300,
            early_stopping=True,
            n_iter_no_change=15,
            random_state=seed,
        )
    else:
        head = TransformedTargetRegressor(
            MLPRegressor(
                hidden_layer_sizes=(hidden,),
                alpha=1e-3,
                max_iter=300,
                early_stopping=True,
                n_iter_no_change=15,
                random_state=seed,
            ),
            transformer=StandardScaler(),
        )
    return make_pipeline(PCA(whiten=True) if whiten else StandardScaler(), head)


def probe(
    z: torch.Tensor | np.ndarray,
    labels: LabelsLike,
    kind: str = "linear",
    folds: int = 5,
    seed: int = 0,
    task: str | None = None,
    hidden: int = 128,
    whiten: bool = False,
) -> ProbeResult:
    """How well a read-out recovers ``labels`` from codes ``z``, cross-validated.

    Features are standardised (fitted on each training fold only); ``whiten=True`` whitens
    them instead (PCA with unit variance in every direction), so that a signal written into a
    direction of tiny variance weighs as much as any other: an encoder trained against an
    adversary hides the light there, where the standardised probe misses it (chapter 4).
    Class labels (ints, bools, strings) use :class:`~sklearn.model_selection.StratifiedKFold` and a
    ``LogisticRegression`` (``kind="linear"``) or an ``MLPClassifier`` with one hidden layer
    of ``hidden`` ReLU units (``kind="mlp"``), scored by accuracy. Float labels use
    ``KFold`` and ``RidgeCV`` / an ``MLPRegressor`` (target standardised), scored by R^2.
    Folds are shuffled with ``seed``.

    Args:
        z: (N, D) codes (or (N, ...) flattened), e.g. from :func:`extract_latents`.
        labels: (N,) factor values.
        kind: ``"linear"`` or ``"mlp"``.
        folds: number of cross-validation folds (>= 2); every class needs ``folds`` samples.
        seed: fold shuffling and MLP initialisation.
        task: force ``"classification"`` or ``"regression"`` (default: from the dtype).
        hidden: hidden units of the MLP probe.
        whiten: whiten the features instead of standardising each one.

    Returns:
        A :class:`ProbeResult`: mean held-out score, its spread over folds, chance level.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    x = _as_codes(z)
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
    with warnings.catch_warnings():
        # Many small fits: an MLP stopping at max_iter is expected, not news.
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(
            _probe_estimator(kind, task, seed, hidden, whiten), x, y, cv=cv, scoring=scoring
        )
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
    )


# -- layer by layer ------------------------------------------------------------------------
def _default_forward(model: nn.Module, decoder: str | None) -> Callable[[torch.Tensor], Any]:
    if hasattr(model, "decoders") and callable(getattr(model, "decode", None)):
        name = decoder if decoder is not None else _decoder_names(model)[0]
        _check_decoder_name(model, name, "decoder")
        return lambda x: model.decode(model.encode(x), name)
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
    x = _as_images(images)
    if max_features < 1 or pool < 1:
        raise ValueError(f"max_features and pool must be >= 1, got {max_features}, {pool}")
    if decoder is not None:
        _check_decoder_name(model, decoder, "decoder")
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
    try:
        device = _model_device(model)
        with _eval_mode(model):
            for i in range(0, x.shape[0], batch_size):
                fn(x[i : i + batch_size].to(device, torch.float32))
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
    x = _as_images(images)
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
    x = _as_codes(z)
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


# -- image errors --------------------------------------------------------------------------
def _pair(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = _as_images(a, "a"), _as_images(b, "b")
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    return a.detach().cpu().double(), b.detach().cpu().double()


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, ``10 log10(data_range^2 / MSE)`` in dB.

    Args:
        a, b: (N, 3, H, W) images in [0, data_range].

    Returns:
        (N,) float64 tensor; ``inf`` where the images are identical.
    """
    a, b = _pair(a, b)
    mse = (a - b).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(data_range**2 / mse)  # mse 0 -> inf


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Structural similarity per image (``skimage.metrics.structural_similarity``).

    Colour images are compared with ``channel_axis`` (SSIM per channel, averaged), a 7x7
    uniform window (smaller, odd, for images under 7 px).

    Args:
        a, b: (N, 3, H, W) images in [0, data_range]; H, W >= 3.

    Returns:
        (N,) float64 tensor in [-1, 1]; 1 where the images are identical.
    """
    from skimage.metrics import structural_similarity

    a, b = _pair(a, b)
    side = min(a.shape[-2:])
    if side < 3:
        raise ValueError(f"ssim needs images of at least 3x3 pixels, got {tuple(a.shape[-2:])}")
    win = min(7, side if side % 2 else side - 1)
    an = a.permute(0, 2, 3, 1).numpy()
    bn = b.permute(0, 2, 3, 1).numpy()
    return torch.tensor(
        [
            structural_similarity(x, y, win_size=win, data_range=data_range, channel_axis=-1)
            for x, y in zip(an, bn)
        ],
        dtype=torch.float64,
    )


def ground_truth_error(
    pred: torch.Tensor,
    truth: torch.Tensor,
    inputs: torch.Tensor,
    mean_face: torch.Tensor | None = None,
) -> dict[str, dict[str, float]]:
    """Errors of swapped or relit faces against rendered ground truth, next to two baselines.

    Swap error: ``pred`` = the model's swap of each input to identity B, ``truth`` = the
    synthetic renderer's B with the input's expression and light. Relight error: ``pred`` =
    the relit input, ``truth`` = the same face rendered under the target light.

    Baselines: "input unchanged" (predict the input itself: what doing nothing scores) and
    "mean face" (predict one average face for every image: by default the mean of ``inputs``,
    or ``mean_face`` if given, e.g. the training set's mean). A model worth having beats both.

    Args:
        pred, truth, inputs: (N, 3, H, W) in [0, 1], the same shape.
        mean_face: optional (3, H, W) or (1, 3, H, W) image.

    Returns:
        ``{"model": {"psnr": dB, "ssim": s}, "input unchanged": {...}, "mean face": {...}}``,
        each a mean over the N images (PSNR in dB, higher is better; SSIM up to 1).
    """
    pred, truth = _as_images(pred, "pred"), _as_images(truth, "truth")
    inputs = _as_images(inputs, "inputs")
    for name, t in (("pred", pred), ("inputs", inputs)):
        if t.shape != truth.shape:
            raise ValueError(
                f"{name} has shape {tuple(t.shape)} but truth has {tuple(truth.shape)}"
            )
    if mean_face is None:
        mean_face = inputs.double().mean(0, keepdim=True)
    mean_face = mean_face.reshape(1, *truth.shape[1:]).to(truth.dtype)
    candidates = {
        "model": pred,
        "input unchanged": inputs,
        "mean face": mean_face.expand_as(truth),
    }
    return {
        name: {
            "psnr": float(psnr(guess, truth).mean()),
            "ssim": float(ssim(guess, truth).mean()),
        }
        for name, guess in candidates.items()
    }


# -- disentanglement scores ----------------------------------------------------------------
def _as_factors(factors: FactorsLike, n: int) -> dict[str, np.ndarray]:
    if isinstance(factors, Mapping):
        items = dict(factors)
    else:
        arr = _to_numpy(factors)
        if arr.ndim != 2:
            raise ValueError(f"factors must be a dict or an (N, K) array, got shape {arr.shape}")
        items = {f"factor{k}": arr[:, k] for k in range(arr.shape[1])}
    if not items:
        raise ValueError("factors is empty: expected at least one factor")
    out = {}
    for name, values in items.items():
        arr = _to_numpy(values)
        if arr.ndim != 1:
            raise ValueError(f"factors[{name!r}] must be 1-D (N,), got shape {arr.shape}")
        if arr.shape[0] != n:
            raise ValueError(f"factors[{name!r}] has {arr.shape[0]} entries but z has {n} rows")
        out[str(name)] = arr
    return out


def _is_discrete(values: np.ndarray) -> bool:
    return not np.issubdtype(values.dtype, np.floating)


def _discretize(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width histogram bins over the observed range (disentanglement_lib's discretiser)."""
    edges = np.histogram(values, bins=n_bins)[1][:-1]
    return np.digitize(values, edges)


def mig(z: torch.Tensor | np.ndarray, factors: FactorsLike, n_bins: int = 20) -> dict[str, Any]:
    """Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in
    VAEs", arXiv:1802.04942), computed as in disentanglement_lib (``metrics/mig.py``):

        MIG = 1/K sum_k ( I(z_{j*}; v_k) - I(z_{j°}; v_k) ) / H(v_k)

    where j* and j° are the codes with the largest and second largest mutual information with
    factor v_k. Each code dimension is discretised into ``n_bins`` equal-width bins (the
    library's histogram discretiser, 20 bins); mutual information and entropy are the plug-in
    estimates of ``sklearn.metrics.mutual_info_score`` in nats. Discrete factors (integer
    dtype) are used as they are; continuous factors (float dtype) are binned like the codes.

    Near 1: each factor is held by one code alone. Near 0: factors are spread over codes (or
    absent). Finite samples bias mutual information upwards (~(bins-1)(classes-1)/2N), so
    use N >> n_bins x classes.

    Args:
        z: (N, D) codes, D >= 2.
        factors: name -> (N,) values, or an (N, K) array.
        n_bins: bins per code dimension.

    Returns:
        ``{"mig": float, "per_factor": {name: gap}, "best_code": {name: j*},
        "mutual_info": (D, K) array of I(z_j; v_k) in nats, "entropy": {name: H(v_k)}}``.
    """
    from sklearn.metrics import mutual_info_score

    x = _as_codes(z)
    if x.shape[1] < 2:
        raise ValueError(f"z must have at least 2 dimensions for a gap, got {x.shape[1]}")
    if n_bins < 2:
        raise ValueError(f"n_bins must be >= 2, got {n_bins}")
    facts = _as_factors(factors, x.shape[0])
    codes = [_discretize(x[:, j], n_bins) for j in range(x.shape[1])]
    mi = np.zeros((x.shape[1], len(facts)))
    per_factor, best, entropy = {}, {}, {}
    for k, (name, values) in enumerate(facts.items()):
        if _is_discrete(values):
            v = np.unique(values, return_inverse=True)[1].reshape(-1)
        else:
            v = _discretize(values.astype(np.float64), n_bins)
        h = mutual_info_score(v, v)
        if h <= 0:
            raise ValueError(f"factors[{name!r}] is constant: its entropy is 0")
        for j, c in enumerate(codes):
            mi[j, k] = mutual_info_score(v, c)
        top = np.sort(mi[:, k])[::-1]
        per_factor[name] = float((top[0] - top[1]) / h)
        best[name] = int(np.argmax(mi[:, k]))
        entropy[name] = float(h)
    return {
        "mig": float(np.mean(list(per_factor.values()))),
        "per_factor": per_factor,
        "best_code": best,
        "mutual_info": mi,
        "entropy": entropy,
    }


def _entropy_rows(p: np.ndarray, base: int) -> np.ndarray:
    """Entropy (log base ``base``) of each row of a non-negative matrix, rows normalised."""
    p = p + 1e-11
    p = p / p.sum(axis=1, keepdims=True)
    return -(p * np.log(p)).sum(axis=1) / math.log(base)


def dci(
    z: torch.Tensor | np.ndarray,
    factors: FactorsLike,
    importance: str = "forest",
    test_fraction: float = 0.3,
    seed: int = 0,
    n_estimators: int = 50,
) -> dict[str, Any]:
    """Disentanglement, Completeness, Informativeness (Eastwood & Williams 2018, "A Framework
    for the Quantitative Evaluation of Disentangled Representations", ICLR), computed as in
    disentanglement_lib (``metrics/dci.py``).

    One tree ensemble per factor predicts the factor from all codes; its impurity-based
    ``feature_importances_`` give column k of the importance matrix R (D codes x K factors).
    With P_{jk} = R_{jk} / sum_k' R_{jk'} and logs in base K (resp. D):

        disentanglement = sum_j rho_j (1 - H_K(P_{j.})),   rho_j = sum_k R_{jk} / sum R
        completeness    = sum_k w_k (1 - H_D(R_{.k} / sum_j R_{jk})), w_k = sum_j R_{jk} / sum R
        informativeness = mean over factors of the held-out accuracy (discrete factor) or
                          R^2 (continuous factor) of the same predictors.

    Importance: ``"forest"`` (default) uses extremely randomised trees (scikit-learn's
    ``ExtraTreesClassifier`` / ``Regressor``: 50 trees, every code a split candidate, depth <= 12,
    >= 10 samples a leaf, both cores). Like the gradient-boosted trees of disentanglement_lib
    they are nonlinear, so a code that holds a factor nonlinearly still counts; they fit in
    about a second per factor for 3,500 x 64 codes on 2 CPU cores, 10-20x faster than the
    library's boosted trees and 3-4x faster than a random forest, and spread less spurious
    importance over noise codes than a random forest does (Eastwood & Williams used random
    forests and Lasso). ``"gbt"`` uses ``GradientBoostingClassifier`` / ``Regressor`` with
    default settings, the library's own choice (slow: minutes for large sets).
    Discrete factors (integer dtype) are classified, continuous ones (float) regressed.

    Args:
        z: (N, D) codes, D >= 2.
        factors: name -> (N,) values or an (N, K) array; K >= 2.
        importance: ``"forest"`` or ``"gbt"``.
        test_fraction: share of samples held out for informativeness.
        seed: split and tree seeds.

    Returns:
        ``{"disentanglement", "completeness", "informativeness": float,
        "informativeness_per_factor": {name: score}, "importance": (D, K) array,
        "factors": [names]}``.
    """
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        GradientBoostingClassifier,
        GradientBoostingRegressor,
    )
    from sklearn.metrics import r2_score

    if importance not in ("forest", "gbt"):
        raise ValueError(f"importance must be 'forest' or 'gbt', got {importance!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    x = _as_codes(z)
    n, d = x.shape
    facts = _as_factors(factors, n)
    if d < 2 or len(facts) < 2:
        raise ValueError(f"dci needs at least 2 codes and 2 factors, got {d} and {len(facts)}")
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(test_fraction * n)))
    test, train = order[:n_test], order[n_test:]
    if len(train) < 2:
        raise ValueError(f"z has too few rows ({n}) to split into train and test")
    imp = np.zeros((d, len(facts)))
    info = {}
    for k, (name, values) in enumerate(facts.items()):
        discrete = _is_discrete(values)
        if importance == "forest":
            klass = ExtraTreesClassifier if discrete else ExtraTreesRegressor
            model = klass(
                n_estimators=n_estimators,
                min_samples_leaf=10,
                max_depth=12,
                max_features=None,
                n_jobs=-1,
                random_state=seed,
            )
        else:
            klass = GradientBoostingClassifier if discrete else GradientBoostingRegressor
            model = klass(random_state=seed)
        y = np.unique(values, return_inverse=True)[1].reshape(-1) if discrete else values
        y = np.asarray(y, dtype=np.int64 if discrete else np.float64)
        if len(np.unique(y[train])) < 2:
            raise ValueError(f"factors[{name!r}] is constant on the training split")
        model.fit(x[train], y[train])
        imp[:, k] = np.abs(model.feature_importances_)
        pred = model.predict(x[test])
        info[name] = float(np.mean(pred == y[test]) if discrete else r2_score(y[test], pred))
    weights = imp if imp.sum() > 0 else np.ones_like(imp)
    per_code = 1 - _entropy_rows(imp, len(facts))
    per_factor = 1 - _entropy_rows(imp.T, d)
    disentanglement = float(np.sum(per_code * weights.sum(1) / weights.sum()))
    completeness = float(np.sum(per_factor * weights.sum(0) / weights.sum()))
    return {
        "disentanglement": disentanglement,
        "completeness": completeness,
        "informativeness": float(np.mean(list(info.values()))),
        "informativeness_per_factor": info,
        "importance": imp,
        "factors": list(facts),
    }


# -- grids of model outputs ----------------------------------------------------------------
def _decoder_names(model: nn.Module) -> list[str]:
    for attr in ("identities", "classes"):
        names = getattr(model, attr, None)
        if names:
            return [str(n) for n in names]
    decoders = getattr(model, "decoders", None)
    if decoders:
        return [str(n) for n in decoders]
    raise ValueError(
        f"model ({type(model).__name__}) has no decoders: a DeepFakes- or MultiDecoder-like "
        "model with decoders and decode(z, name) is needed"
    )


def _check_decoder_name(model: nn.Module, name: str, arg: str) -> None:
    valid = _decoder_names(model)
    if name not in valid:
        raise ValueError(f"{arg}={name!r} is not a decoder of this model; valid names: {valid}")


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
        images: (R, 3, H, W) in [0, 1].
        names: decoders to use, in column order (default: ``model.identities`` or
            ``model.classes`` or the keys of ``model.decoders``).

    Returns:
        (R, len(names), 3, H', W') float32 CPU tensor.
    """
    x = _as_images(images)
    names = list(names) if names is not None else _decoder_names(model)
    if not names:
        raise ValueError("names is empty: expected at least one decoder name")
    for name in names:
        _check_decoder_name(model, name, "names")

    def all_decoders(batch: torch.Tensor) -> torch.Tensor:
        z = model.encode(batch)
        return torch.stack([model.decode(z, name) for name in names], dim=1)

    return _batched(model, all_decoders, x, batch_size)


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
        images: (R, 3, H, W) in [0, 1].
        source, target: decoder names.

    Returns:
        (R, L + 1, 3, H', W') float32 CPU tensor.
    """
    x = _as_images(images)
    _check_decoder_name(model, source, "source")
    _check_decoder_name(model, target, "target")
    src_blocks = list(model.decoders[source])
    tgt_blocks = list(model.decoders[target])
    if len(src_blocks) != len(tgt_blocks):
        raise ValueError(
            f"decoders {source!r} and {target!r} differ in depth: "
            f"{len(src_blocks)} vs {len(tgt_blocks)} blocks"
        )
    n_blocks = len(tgt_blocks)
    device = _model_device(model)
    rows = []
    with _eval_mode(model):
        for i in range(0, x.shape[0], batch_size):
            z = model.encode(x[i : i + batch_size].to(device, torch.float32))
            recorded: list[torch.Tensor] = []
            handles = [
                b.register_forward_hook(lambda _m, _i, out, rec=recorded: rec.append(out))
                for b in src_blocks
            ]
            try:
                model.decode(z, source)
            finally:
                for h in handles:
                    h.remove()
            if len(recorded) != n_blocks:
                raise ValueError(
                    f"decode(z, {source!r}) ran {len(recorded)} blocks, expected {n_blocks}"
                )
            cols = [model.decode(z, target).float().cpu()]
            for k in range(1, n_blocks + 1):
                handle = tgt_blocks[k - 1].register_forward_hook(
                    lambda _m, _i, _out, k=k, rec=recorded: rec[k - 1]
                )
                try:
                    cols.append(model.decode(z, target).float().cpu())
                finally:
                    handle.remove()
            rows.append(torch.stack(cols, dim=1))
    return torch.cat(rows)


def _fader_y(model: nn.Module, n: int, value: float, attribute_index: int, device: Any) -> Any:
    dim = getattr(model, "attribute_dim", None)
    if dim is None:
        return float(value)
    if not 0 <= attribute_index < dim:
        raise ValueError(f"attribute_index must be in [0, {dim}), got {attribute_index}")
    y = torch.zeros(n, dim, device=device)
    y[:, attribute_index] = value
    return y


def relight_function(
    model_or_fn: nn.Module | Callable[[torch.Tensor, float], torch.Tensor],
    attribute_index: int = 0,
) -> Callable[[torch.Tensor, float], torch.Tensor]:
    """``fn(images, value) -> images`` for a FaderNet-like model, or ``model_or_fn`` itself.

    For a model with ``relight(x, y)``: y is a (N, attribute_dim) tensor of zeros with column
    ``attribute_index`` set to ``value`` (just the float when the model has no
    ``attribute_dim``); inputs go to the model's device, outputs come back on the CPU.
    """
    if isinstance(model_or_fn, nn.Module):
        model = model_or_fn
        if not callable(getattr(model, "relight", None)):
            raise ValueError(f"model ({type(model).__name__}) has no relight(x, y) method")
        if hasattr(model, "decoders") and not hasattr(model, "attribute_dim"):
            raise ValueError(
                f"model ({type(model).__name__}) has one decoder per class, not an attribute y: "
                "use decoder_swap_grid(model, images) for its relit faces"
            )

        def fn(images: torch.Tensor, value: float) -> torch.Tensor:
            device = _model_device(model)
            with _eval_mode(model):
                y = _fader_y(model, images.shape[0], value, attribute_index, device)
                return model.relight(images.to(device, torch.float32), y).float().cpu()

        return fn
    if callable(model_or_fn):
        return model_or_fn
    raise ValueError(f"model_or_fn must be a model or a callable, got {type(model_or_fn)}")


def relight_grid(
    model_or_fn: nn.Module | Callable[[torch.Tensor, float], torch.Tensor],
    images: torch.Tensor,
    values: Sequence[float],
    attribute_index: int = 0,
) -> torch.Tensor:
    """Every input relit to every value of the attribute y: rows inputs, columns values.

    Args:
        model_or_fn: a FaderNet-like model (``relight(x, y)``) or ``fn(images, value)``.
        images: (R, 3, H, W) in [0, 1].
        values: y values (in [-1, 1]; beyond exaggerates).
        attribute_index: which attribute of y to set (the others stay 0).

    Returns:
        (R, len(values), 3, H, W) float32 CPU tensor.
    """
    x = _as_images(images)
    values = list(values)
    if not values:
        raise ValueError("values is empty: expected at least one y value")
    fn = relight_function(model_or_fn, attribute_index)
    with torch.no_grad():
        return torch.stack([fn(x, float(v)).float().cpu() for v in values], dim=1)
