"""Scores of images and codes: PSNR, SSIM, errors against ground truth, MIG and DCI.

* :func:`psnr`, :func:`ssim`: per-image similarity of two image sets.
* :func:`ground_truth_error`: errors of swapped or relit faces against rendered ground truth,
  next to the baselines "input unchanged" and "mean face".
* :func:`mig`, :func:`dci`: disentanglement scores of codes with known factors, computed as in
  disentanglement_lib; :func:`mig_interval`: MIG with an interval over faces that allows for
  the bias of plug-in mutual information.

scikit-learn and scikit-image are imported inside the functions that need them, so
``import sepviz.metrics`` is cheap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sepviz.utils import LabelsLike, check_codes, check_images, to_numpy

FactorsLike = Mapping[str, LabelsLike] | torch.Tensor | np.ndarray
"""Known factors: name -> (N,) values, or an (N, K) array (factor k named ``factor{k}``)."""


# -- image errors --------------------------------------------------------------------------
def _pair(a: torch.Tensor, b: torch.Tensor, data_range: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Two image sets of one shape, checked, as float64 CPU tensors."""
    a = check_images(a, "a", data_range=data_range, convert=True)
    b = check_images(b, "b", data_range=data_range, convert=True)
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
    a, b = _pair(a, b, data_range)
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

    a, b = _pair(a, b, data_range)
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
    pred = check_images(pred, "pred", convert=True)
    truth = check_images(truth, "truth", convert=True)
    inputs = check_images(inputs, "inputs", convert=True)
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
        arr = to_numpy(factors)
        if arr.ndim != 2:
            raise ValueError(f"factors must be a dict or an (N, K) array, got shape {arr.shape}")
        items = {f"factor{k}": arr[:, k] for k in range(arr.shape[1])}
    if not items:
        raise ValueError("factors is empty: expected at least one factor")
    out = {}
    for name, values in items.items():
        arr = to_numpy(values)
        if arr.ndim != 1:
            raise ValueError(f"factors[{name!r}] must be 1-D (N,), got shape {arr.shape}")
        if arr.shape[0] != n:
            raise ValueError(f"factors[{name!r}] has {arr.shape[0]} entries but z has {n} rows")
        out[str(name)] = arr
    return out


def _is_discrete(values: np.ndarray) -> bool:
    return not np.issubdtype(values.dtype, np.floating)


def _discretize(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width histogram bins over the observed range (disentanglement_lib's discretiser):
    (N,) ints in 0 .. n_bins - 1."""
    edges = np.histogram(values, bins=n_bins)[1][:-1]
    return np.digitize(values, edges) - 1


@dataclass(frozen=True)
class _Binned:
    """Codes and factors as small ints, ready for joint histograms (see :func:`_binned`)."""

    names: tuple[str, ...]
    index: np.ndarray  # (N, K * D): cell of face i in the joint histogram of (unit, factor)
    shapes: tuple[tuple[int, int, int], ...]  # per factor: (D units, n_bins, C classes)
    n_faces: int


def _binned(z: Any, factors: FactorsLike, n_bins: int) -> _Binned:
    """Check and discretise ``z`` (N, D) and ``factors`` once, for :func:`mig` and its
    bootstrap: every unit in ``n_bins`` equal-width bins; a discrete factor (integer dtype) by
    its classes, a continuous one (float dtype) in ``n_bins`` bins like the units."""
    x = check_codes(z)
    n, d = x.shape
    if d < 2:
        raise ValueError(f"z must have at least 2 dimensions for a gap, got {d}")
    if n_bins < 2:
        raise ValueError(f"n_bins must be >= 2, got {n_bins}")
    facts = _as_factors(factors, n)
    codes = np.stack([_discretize(x[:, j], n_bins) for j in range(d)], 1)
    blocks, shapes, offset = [], [], 0
    for name, values in facts.items():
        if _is_discrete(values):
            v = np.unique(values, return_inverse=True)[1].reshape(-1)
        else:
            v = _discretize(values.astype(np.float64), n_bins)
        classes = int(v.max()) + 1
        if len(np.unique(v)) < 2:
            raise ValueError(f"factors[{name!r}] is constant: its entropy is 0")
        # cell (unit j, bin b, class c) of this factor's (D, n_bins, C) block
        blocks.append(offset + (np.arange(d) * n_bins + codes) * classes + v[:, None])
        shapes.append((d, n_bins, classes))
        offset += d * n_bins * classes
    index = np.concatenate(blocks, 1).astype(np.intp)
    return _Binned(tuple(facts), index, tuple(shapes), n)


def _xlogx(n_faces: int) -> np.ndarray:
    """``n log n`` for the counts 0 .. n_faces (0 log 0 = 0): a lookup table."""
    n = np.arange(n_faces + 1, dtype=np.float64)
    return n * np.log(np.maximum(n, 1))


def _information(
    binned: _Binned, rows: np.ndarray | None, xlogx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Plug-in mutual information ``(D, K)`` of every unit with every factor and the factors'
    entropies ``(K,)``, in nats, from the faces ``rows`` (indices, repeats allowed; all
    faces if None)."""
    index = binned.index if rows is None else binned.index[rows]
    n = len(index)
    counts = np.bincount(index.ravel(), minlength=sum(math.prod(s) for s in binned.shapes))
    mi, entropy, start = [], [], 0
    for d, bins, classes in binned.shapes:
        joint = counts[start : start + d * bins * classes].reshape(d, bins, classes)
        start += d * bins * classes
        units, factor = joint.sum(2), joint[0].sum(0)
        # I = H(unit) + H(factor) - H(unit, factor), each H = log n - sum(c log c) / n
        s_joint, s_unit = xlogx[joint].sum((1, 2)), xlogx[units].sum(1)
        s_factor = xlogx[factor].sum()
        mi.append((s_joint - s_unit - s_factor) / n + math.log(n))
        entropy.append(math.log(n) - s_factor / n)
    return np.stack(mi, 1), np.array(entropy)


def _gaps(mi: np.ndarray, entropy: np.ndarray) -> np.ndarray:
    """Per factor (K,): (largest - second largest mutual information over units) / entropy."""
    top = -np.sort(-mi, axis=0)
    return (top[0] - top[1]) / entropy


def mig(z: torch.Tensor | np.ndarray, factors: FactorsLike, n_bins: int = 20) -> dict[str, Any]:
    """Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in
    VAEs", arXiv:1802.04942), computed as in disentanglement_lib (``metrics/mig.py``):

        MIG = 1/K sum_k ( I(z_{j*}; v_k) - I(z_{j°}; v_k) ) / H(v_k)

    where j* and j° are the codes with the largest and second largest mutual information with
    factor v_k. Each code dimension is discretised into ``n_bins`` equal-width bins (the
    library's histogram discretiser, 20 bins); mutual information and entropy are the plug-in
    estimates (those of ``sklearn.metrics.mutual_info_score``) in nats, from one joint
    histogram per code and factor. Discrete factors (integer dtype) are used as they are;
    continuous factors (float dtype) are binned like the codes.

    Near 1: each factor is held by one code alone. Near 0: factors are spread over codes (or
    absent). Finite samples bias the plug-in mutual information (upwards by about
    (bins-1)(classes-1)/2N for a code that holds nothing), so the point is biased too:
    :func:`mig_interval` gives an interval that allows for it.

    Args:
        z: (N, D) codes, D >= 2.
        factors: name -> (N,) values, or an (N, K) array.
        n_bins: bins per code dimension.

    Returns:
        ``{"mig": float, "per_factor": {name: gap}, "best_code": {name: j*},
        "mutual_info": (D, K) array of I(z_j; v_k) in nats, "entropy": {name: H(v_k)}}``.
    """
    binned = _binned(z, factors, n_bins)
    mi, entropy = _information(binned, None, _xlogx(binned.n_faces))
    gaps = _gaps(mi, entropy)
    names = binned.names
    return {
        "mig": float(gaps.mean()),
        "per_factor": {k: float(g) for k, g in zip(names, gaps)},
        "best_code": {k: int(j) for k, j in zip(names, mi.argmax(0))},
        "mutual_info": mi,
        "entropy": {k: float(h) for k, h in zip(names, entropy)},
    }


def mig_bootstrap(
    z: torch.Tensor | np.ndarray,
    factors: FactorsLike,
    resamples: int = 1000,
    seed: int = 0,
    n_bins: int = 20,
) -> np.ndarray:
    """MIG (:func:`mig`) of ``resamples`` bootstrap resamplings of the N faces (the rows of
    ``z`` (N, D) and of every factor together), binned once on all faces; (resamples,)
    floats, drawn with a generator seeded by ``seed``."""
    return _resampled_migs(_binned(z, factors, n_bins), resamples, seed)


def _resampled_migs(binned: _Binned, resamples: int, seed: int) -> np.ndarray:
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    xlogx = _xlogx(binned.n_faces)
    rng = np.random.default_rng(seed)
    n = binned.n_faces
    out = np.empty(resamples)
    for r in range(resamples):
        out[r] = _gaps(*_information(binned, rng.integers(0, n, n), xlogx)).mean()
    return out


def mig_interval(
    z: torch.Tensor | np.ndarray,
    factors: FactorsLike,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
    n_bins: int = 20,
) -> tuple[float, float, float]:
    """MIG (:func:`mig`) with an interval that covers the true MIG (that of the population of
    faces, with the same bins) in about ``confidence`` of data sets: ``(mig, low, high)``,
    ``0 <= low <= mig <= high <= 1``.

    Why not a plain percentile bootstrap: the plug-in mutual information is biased, upwards
    by about (bins-1)(classes-1)/2N for a code that holds nothing (0.09 nats at 20 x 20 bins
    and N = 2,000) and less for a code that holds the factor, so the gap between the best
    code and the runner-up is biased too. The bootstrap resamples repeat that bias once more,
    so they sit on the far side of the point from the truth: on a clean toy the point was
    0.978 and the percentile interval [0.957, 0.966]. Reflected about the point (the "basic"
    bootstrap interval), they correct the bias where the bootstrap measures it right (a code
    whose joint histogram with the factor is well filled) and overcorrect where it does not
    (a code that holds a factor almost exactly, most cells of its histogram empty). So the
    interval reaches as far on each side of the point as the farther end of the percentile
    interval: it holds both the percentile and the basic interval. In simulations at the
    book's size (2,000 faces, 64 codes, 20 bins, 6 factors) with a known MIG it covered the
    truth in 91-100% of data sets for disentangled, partly and fully entangled codes
    (``tests/test_metrics.py`` checks it). It can miss when two codes hold a factor exactly
    equally: the larger of two equal noisy numbers is biased upwards, whatever the interval.

    Args:
        z, factors, n_bins: as for :func:`mig`.
        confidence: the share of the bootstrap distribution between the percentile ends.
        resamples: bootstrap resamplings of the faces (:func:`mig_bootstrap`).
        seed: the resampling generator's seed.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    binned = _binned(z, factors, n_bins)
    point = float(_gaps(*_information(binned, None, _xlogx(binned.n_faces))).mean())
    boot = _resampled_migs(binned, resamples, seed)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(boot, [tail, 100 - tail])
    reach = max(point - low, high - point)
    return point, float(max(0.0, point - reach)), float(min(1.0, point + reach))


def _entropy_rows(p: np.ndarray, base: int) -> np.ndarray:
    """Entropy (log base ``base``) of each row of a non-negative matrix, rows normalised."""
    p = p + 1e-11
    p = p / p.sum(axis=1, keepdims=True)
    return -(p * np.log(p)).sum(axis=1) / math.log(base)


def _resampled_scores(
    y: np.ndarray, pred: np.ndarray, rows: np.ndarray, discrete: bool
) -> np.ndarray:
    """The held-out score of ``pred`` against ``y`` (M,) on each resampling ``rows`` (R, M) of
    the held-out faces: accuracy (discrete) or R² (continuous; 0 where a resampling holds one
    value only); (R,) floats."""
    if discrete:
        return (pred == y)[rows].mean(1)
    truth, guess = y[rows], pred[rows]
    residual = ((truth - guess) ** 2).sum(1)
    spread = ((truth - truth.mean(1, keepdims=True)) ** 2).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(spread > 0, 1 - residual / spread, 0.0)


def dci(
    z: torch.Tensor | np.ndarray,
    factors: FactorsLike,
    *,
    seed: int = 0,
    test_fraction: float = 0.3,
    n_estimators: int = 50,
    importance: str = "forest",
    confidence: float = 0.95,
    resamples: int = 1000,
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

    Informativeness gets a percentile-bootstrap interval over the held-out faces: the fitted
    trees' predictions are kept, the held-out faces resampled ``resamples`` times (the same
    faces for every factor) and scored again. It holds the spread over held-out faces, not
    that of refitting the trees; disentanglement and completeness, which come from the fit's
    importances, would need a refit per resample and get no interval.

    Args:
        z: (N, D) codes, D >= 2.
        factors: name -> (N,) values or an (N, K) array; K >= 2.
        seed: split and tree seeds (this and the next: keywords only).
        test_fraction: share of samples held out for informativeness.
        n_estimators: trees per factor (``"forest"`` only).
        importance: ``"forest"`` or ``"gbt"``.
        confidence: the informativeness intervals' confidence.
        resamples: bootstrap resamplings of the held-out faces.

    Returns:
        ``{"disentanglement", "completeness", "informativeness": float,
        "informativeness_per_factor": {name: score}, "informativeness_interval": (low, high),
        "informativeness_interval_per_factor": {name: (low, high)}, "chance_per_factor":
        {name: the majority class's share (discrete) or 0.0 (continuous: R² of the mean)},
        "importance": (D, K) array, "factors": [names]}``.
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
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    x = check_codes(z)
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
    info, chance = {}, {}
    # the same resampled held-out faces for every factor, so their mean resamples too
    rows = np.random.default_rng(seed).integers(0, len(test), (resamples, len(test)))
    boot = np.zeros((resamples, len(facts)))
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
        boot[:, k] = _resampled_scores(y[test], pred, rows, discrete)
        chance[name] = float(np.bincount(y).max() / n) if discrete else 0.0
    weights = imp if imp.sum() > 0 else np.ones_like(imp)
    per_code = 1 - _entropy_rows(imp, len(facts))
    per_factor = 1 - _entropy_rows(imp.T, d)
    disentanglement = float(np.sum(per_code * weights.sum(1) / weights.sum()))
    completeness = float(np.sum(per_factor * weights.sum(0) / weights.sum()))
    tail = 100 * (1 - confidence) / 2

    def interval(scores: np.ndarray) -> tuple[float, float]:
        low, high = np.percentile(scores, [tail, 100 - tail])
        return float(low), float(high)

    return {
        "disentanglement": disentanglement,
        "completeness": completeness,
        "informativeness": float(np.mean(list(info.values()))),
        "informativeness_per_factor": info,
        "informativeness_interval": interval(boot.mean(1)),
        "informativeness_interval_per_factor": {
            name: interval(boot[:, k]) for k, name in enumerate(facts)
        },
        "chance_per_factor": chance,
        "importance": imp,
        "factors": list(facts),
    }


# -- distances between sets of faces ---------------------------------------------------------
def frechet_distance(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of features (as FID, Heusel
    et al. 2017, computes it on Inception features): ``|mu_a - mu_b|^2 + Tr(C_a + C_b -
    2 (C_a C_b)^(1/2))``, >= 0, 0 for two sets with one mean and one covariance.

    Args:
        a, b: (N_a, k) and (N_b, k) features, N >= 2 each (the same k).
    """
    x, y = (np.asarray(to_numpy(t), dtype=np.float64) for t in (a, b))
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise ValueError(
            f"a and b must be (N, k) features with one k and N >= 2, got {x.shape} and {y.shape}"
        )
    mean = float(((x.mean(0) - y.mean(0)) ** 2).sum())
    ca, cb = np.atleast_2d(np.cov(x.T)), np.atleast_2d(np.cov(y.T))
    # Tr (Ca Cb)^(1/2) = Tr (Ca^(1/2) Cb Ca^(1/2))^(1/2): a symmetric PSD matrix, stable in eigh
    values, vectors = np.linalg.eigh(ca)
    root_a = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    cross = np.sqrt(np.linalg.eigvalsh(root_a @ cb @ root_a).clip(min=0)).sum()
    return max(0.0, mean + float(np.trace(ca) + np.trace(cb) - 2 * cross))
