"""Measurements that several chapters make, each implemented once.

The chapter modules of :mod:`sepviz.experiments` import from here and never from one another:

- :func:`pixel_codes`: the no-model baseline code of a face (its pixels' PCA);
- :func:`probe_estimate`, :func:`fold_estimate`: a cross-validated probe as an
  :class:`~sepviz.experiments.Estimate`;
- :func:`correlation`: Pearson's r with a bootstrap interval over independent pairs;
- :func:`measured_light`, :func:`rises`, :func:`monotone_fraction`: does a relight move the
  measured light (left/right luminance) the right way;
- :func:`slider_check` (:class:`SliderCheck`): a fader's slider against the renderer's truth;
- :func:`expression_regions`: where a rendered face's eyes and mouth are, to crop them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import (
    BOOTSTRAP_SAMPLES,
    CONFIDENCE,
    DB_MARGIN,
    READ_SHARE,
    Estimate,
    Headlines,
    Order,
    OverRuns,
    Result,
    bootstrap_mean,
    combine_runs,
    compare,
    from_folds,
    markdown_table,
    paired_gain,
    runs_note,
)
from sepviz.utils import check_images

KNOWN = ("identity", "smile", "mouth_open", "eyes_open", "azimuth", "elevation")
"""The factors MIG and DCI score a latent against: identity, expression and light."""

MIG_BAR = 0.2
"""A latent is *disentangled* when the whole interval of its MIG lies above 0.2: on average
over the factors, the best unit then holds a fifth of the factor's entropy more than the next
best, so one unit stands out for each factor; below it, every factor has a runner-up that
holds nearly as much of it as its best unit."""

MIG_MARGIN = MIG_BAR * READ_SHARE
"""Two MIGs are *equal* (:func:`~sepviz.experiments.compare`) within 0.02, a tenth of
:data:`MIG_BAR`: a difference too small to matter to the question the bar answers, the
share that :data:`~sepviz.experiments.READ_SHARE` also asks of a reader."""

EXPRESSION_PARTS = {"eyes": ("eyes_open",), "mouth": ("smile", "mouth_open")}
"""The parts of a face :func:`expression_regions` finds, and the expression factors that
move each."""


def expression_regions(
    size: int = 64,
    yaw: tuple[float, float] = (0.0, 0.0),
    n: int = 32,
    seed: int = 0,
    threshold: float = 0.05,
) -> dict[str, tuple[slice, slice]]:
    """Where the eyes and the mouth of a rendered face are: for each part of
    :data:`EXPRESSION_PARTS`, the rows and columns (slices, one pixel of margin) of the pixels
    that change by more than ``threshold`` (mean over RGB) on some face when the part's
    factors go from 0 to 1, the others held at 0.5, over ``n`` random people, lights and head
    turns within ``yaw``. Found from the renderer itself, so a crop follows it."""
    from sepviz.data.synthetic import EXPRESSION_FACTORS, make_faces

    regions = {}
    for part, factors in EXPRESSION_PARTS.items():
        low, high = torch.full((3,), 0.5), torch.full((3,), 0.5)
        for name in factors:
            low[EXPRESSION_FACTORS.index(name)] = 0.0
            high[EXPRESSION_FACTORS.index(name)] = 1.0
        a, b = (
            make_faces(n, size, identities=n, seed=seed, expression=e, yaw=yaw).images
            for e in (low, high)
        )
        moved = ((a - b).abs().mean(1) > threshold).any(0)  # (size, size)
        rows, cols = moved.any(1).nonzero().flatten(), moved.any(0).nonzero().flatten()
        if len(rows) == 0:
            raise ValueError(f"no pixel moves by more than threshold={threshold} for {part}")
        regions[part] = (
            slice(max(0, int(rows.min()) - 1), min(size, int(rows.max()) + 2)),
            slice(max(0, int(cols.min()) - 1), min(size, int(cols.max()) + 2)),
        )
    return regions


MONOTONE = 0.80  # the slider "moves the light the right way" for more faces than this


def pixel_codes(images: torch.Tensor, components: int = 64) -> torch.Tensor:
    """The baseline code of a face: its pixels projected on their first ``components`` PCA
    directions, (N, components). What a probe reads here, it reads without any model."""
    x = images.flatten(1).double()
    x = x - x.mean(0)
    k = min(components, *x.shape)
    # randomized SVD (Halko et al.), seeded: the top directions to 1e-7 of their variance in
    # 0.3 s, where the full SVD of 2,000 faces at 32 px takes 7 s on one core
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        _, _, v = torch.svd_lowrank(x, q=min(k + 10, *x.shape), niter=4)
    return (x @ v[:, :k]).float()


def probe_estimate(z: torch.Tensor, labels: Any, seed: int = 0, **kw: Any) -> Estimate:
    """A cross-validated probe (:func:`sepviz.probes.probe`, keyword arguments passed on) of
    ``labels`` (N,) from codes ``z`` (N, D), as an :class:`Estimate` over its folds: held-out
    accuracy (unit ``"%"``) for classes, R² for numbers."""
    from sepviz.probes import probe

    return fold_estimate(probe(z, labels, seed=seed, **kw))


def fold_estimate(result: Any) -> Estimate:
    """A :class:`~sepviz.probes.ProbeResult` as an :class:`Estimate` (t interval over its
    folds): accuracy (``"%"``) for classification, R² for regression."""
    return from_folds(result.fold_scores, "%" if result.task == "classification" else "")


def correlation(x: np.ndarray, y: np.ndarray, seed: int = 0) -> Estimate:
    """Pearson's r of ``x`` and ``y`` with a percentile-bootstrap 95% interval that resamples
    the independent units (:data:`~sepviz.experiments.BOOTSTRAP_SAMPLES` times).

    Args:
        x, y: (N,) one pair per unit, or (N, m): N units (faces) of m pairs each (a face
            relit to m classes); the r is over all N * m pairs, and a resample draws whole
            units with all their pairs, since the units, not the pairs, are independent.
        seed: seeds the resampling.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim not in (1, 2) or x.shape[0] < 3:
        raise ValueError(f"x and y must be (N,) or (N, m) with N >= 3, got {x.shape} and {y.shape}")
    x2, y2 = x.reshape(len(x), -1), y.reshape(len(y), -1)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x2), size=(BOOTSTRAP_SAMPLES, len(x2)))
    xs = x2[idx].reshape(BOOTSTRAP_SAMPLES, -1)
    ys = y2[idx].reshape(BOOTSTRAP_SAMPLES, -1)
    xs = xs - xs.mean(1, keepdims=True)
    ys = ys - ys.mean(1, keepdims=True)
    denominator = np.sqrt((xs**2).sum(1) * (ys**2).sum(1))
    rs = (xs * ys).sum(1) / np.where(denominator > 0, denominator, np.nan)
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.nanpercentile(rs, [tail, 100 - tail])
    return Estimate(float(np.corrcoef(x2.ravel(), y2.ravel())[0, 1]), float(low), float(high))


def measured_light(grid: torch.Tensor) -> torch.Tensor:
    """The pseudo-label score of every image of a relight grid.

    Args:
        grid: (R, C, 3, H, W) in [0, 1], e.g. :func:`sepviz.grids.relight_grid` (rows faces,
            columns light values), or (N, 3, H, W).

    Returns:
        (R, C) (or (N,)) float32 in [-1, 1]: ``lighting_pseudo_label`` scores, negative =
        the image's left is brighter.
    """
    from sepviz.data.real import lighting_pseudo_label

    check_images(grid, "grid", grid=True)
    if grid.ndim == 4:
        return lighting_pseudo_label(grid)[0]
    rows, cols = grid.shape[:2]
    return lighting_pseudo_label(grid.reshape(rows * cols, *grid.shape[2:]))[0].view(rows, cols)


YAW_METER_FACES = 4000  # renders the yaw meter is calibrated on
YAW_METER_RIDGE = 1.0  # ridge penalty, in units of the mean pixel variance times the faces


@dataclass(frozen=True)
class YawMeter:
    """A head-yaw meter for faces of one size: a ridge regression from the pixels to the yaw,
    calibrated on renders of random people, expressions, lights and poses (the renderer knows
    every yaw), the way :func:`measured_light` reads the light from a luminance asymmetry.

    Attributes:
        size: the image side it reads.
        mean: (3 * size * size,) mean pixel of the calibration renders.
        weights: (3 * size * size,) the regression's weights (degrees per pixel unit).
        bias: the yaw of the mean face (degrees).
        r2: its R² on other renders than those it was calibrated on (how well it reads).
    """

    size: int
    mean: torch.Tensor
    weights: torch.Tensor
    bias: float
    r2: float

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """The measured yaw (degrees) of faces (N, 3, size, size) in [0, 1]: (N,) float32."""
        check_images(images, "images", self.size)
        x = images.flatten(1).double() - self.mean
        return (x @ self.weights + self.bias).float()


@functools.lru_cache(maxsize=4)
def yaw_meter(size: int = 32, seed: int = 0) -> YawMeter:
    """The :class:`YawMeter` of faces of ``size`` px, calibrated on
    :data:`YAW_METER_FACES` renders with heads turned over the whole yaw range (pitch up to
    ±10°) and tested on as many others; cached, so a chapter calibrates it once."""
    from sepviz.data.synthetic import YAW_RANGE, make_faces

    def renders(k: int) -> Any:
        return make_faces(
            YAW_METER_FACES, size, identities=64, seed=seed + k, yaw=YAW_RANGE, pitch=(-10, 10)
        )

    train, test = renders(0), renders(1)
    x = train.images.flatten(1).double()
    mean = x.mean(0)
    x = x - mean
    y = train.factors["yaw"].double()
    ridge = YAW_METER_RIDGE * float(x.var(0).mean()) * len(x)
    # the dual form: (X X^T + ridge I) a = y - mean(y), weights = X^T a (N < pixels)
    gram = x @ x.T + ridge * torch.eye(len(x), dtype=x.dtype)
    weights = x.T @ torch.linalg.solve(gram, y - y.mean())
    meter = YawMeter(size, mean, weights, float(y.mean()), 0.0)
    truth = test.factors["yaw"].double()
    residual = ((meter(test.images).double() - truth) ** 2).sum()
    r2 = 1 - float(residual / ((truth - truth.mean()) ** 2).sum())
    return YawMeter(size, mean, weights, float(y.mean()), r2)


def rises(scores: torch.Tensor, strict: bool = True) -> torch.Tensor:
    """Which rows of ``scores`` (R, C) rise from column to column: (R,) bool.

    With columns ordered by the requested light (y from left to right), a row that rises is a
    face whose measured light moved the right way at every step. ``strict``: every step must
    rise (else: never fall). Needs C >= 2.
    """
    scores = torch.as_tensor(scores)
    if scores.ndim != 2 or scores.shape[1] < 2 or scores.shape[0] < 1:
        raise ValueError(f"scores must be (R, C) with R >= 1 and C >= 2, got {tuple(scores.shape)}")
    steps = scores[:, 1:] - scores[:, :-1]
    return ((steps > 0) if strict else (steps >= 0)).all(1)


def monotone_fraction(scores: torch.Tensor, strict: bool = True) -> float:
    """The fraction of rows of ``scores`` (R, C) that rise from column to column (:func:`rises`)."""
    return float(rises(scores, strict).float().mean())


@dataclass(frozen=True)
class SliderCheck(OverRuns, Result):
    """The slider against the truth: does the measured light move the right way, and is the
    relit face closer to the renderer's truth than the unchanged input (and than the same
    slider on a model trained without the adversary, the λ = 0 control, where one is given)?

    ``gain``: per target, PSNR of the relit face minus that of the unchanged input, paired
    over faces. ``relit_mean`` / ``unchanged_mean``: each face's PSNR averaged over the
    targets, then over faces. ``control``: the same check on the control; ``over_control``:
    ``relit_mean`` minus the control's, paired over faces. ``per_run``: one single-run check
    per training run, when the Estimates hold several (:meth:`over_runs`).
    """

    monotone: Estimate
    targets: tuple[float, ...]
    relit: tuple[Estimate, ...]
    unchanged: tuple[Estimate, ...]
    gain: tuple[Estimate, ...]
    relit_mean: Estimate
    unchanged_mean: Estimate
    control: SliderCheck | None = None
    over_control: Estimate | None = None
    per_run: tuple[SliderCheck, ...] = ()

    @classmethod
    def over_runs(cls, per_run: Sequence[SliderCheck]) -> SliderCheck:
        """One check over training runs (2 or more single-run checks, the same targets)."""
        if len(per_run) < 2:
            raise ValueError(f"per_run needs at least 2 training runs, got {len(per_run)}")
        fields = combine_runs([dataclasses.replace(c, per_run=()) for c in per_run])
        return cls(**{**fields, "per_run": tuple(per_run)})

    def orders(self) -> tuple[Order, ...]:
        """Per target, the gain over the unchanged input against :data:`DB_MARGIN`."""
        return tuple(compare(g, DB_MARGIN) for g in self.gain)

    @property
    def verdict(self) -> str:
        orders = self.orders()
        wins = sum(o is Order.BETTER for o in orders)
        rises = self.monotone.above(MONOTONE)
        if rises and wins == len(self.targets):
            head = (
                "**The slider moves the light the right way** and relights closer to the "
                "truth than the unchanged input at every target."
            )
        elif wins == 0:
            head = "**The slider does not relight** closer to the truth than the unchanged input."
        else:
            head = "**The slider relights only in part.**"
        direction = {
            True: f"more than the {MONOTONE:.0%} asked",
            False: (
                f"not distinguishable from the {MONOTONE:.0%} asked"
                if self.monotone.covers(MONOTONE)
                else f"fewer than the {MONOTONE:.0%} asked"
            ),
        }[rises]
        gains = ", ".join(
            f"y = {t:+g}: {g} ({_ORDER_WORDS[o]})"
            for t, g, o in zip(self.targets, self.gain, orders)
        )
        facts = (
            f"The left/right brightness of the output rises with y at every step for "
            f"**{self.monotone}** of faces{runs_note(self.monotone)} ({direction}). Relit "
            f"faces are closer to the renderer's relit face than the unchanged input, by more "
            f"than {DB_MARGIN:g} dB, for **{wins} of {len(self.targets)}** targets (gain in "
            f"PSNR: {gains})."
        )
        return f"{head} {facts} {self._against_control()}"

    def _against_control(self) -> str:
        if self.control is None or self.over_control is None:
            return "No λ = 0 control was checked: this check does not say what the adversary adds."
        d, c = self.over_control, self.control
        order = compare(d, DB_MARGIN)
        said = {
            Order.BETTER: (
                f"closer to the truth than the λ = 0 control's, by {d} (more than {DB_MARGIN:g} dB)"
            ),
            Order.EQUAL: (
                f"as close to the truth as the λ = 0 control's, within {DB_MARGIN:g} dB "
                f"({d}): this check does not show what the adversary adds"
            ),
            Order.WORSE: (
                f"further from the truth than the λ = 0 control's, by {d} (beyond {DB_MARGIN:g} dB)"
            ),
            Order.NOT_DISTINGUISHABLE: (
                f"not distinguishable from the λ = 0 control's ({d}; the interval covers "
                f"±{DB_MARGIN:g} dB)"
            ),
        }[order]
        return (
            f"Its relit faces are {said}. The control, with no adversary, relights to "
            f"{c.relit_mean} against the unchanged input's {c.unchanged_mean}, and its light "
            f"rises at every step for {c.monotone} of faces."
        )

    def table(self) -> str:
        rows = list(zip((f"{t:+g}" for t in self.targets), self.relit, self.unchanged, self.gain))
        header = ["y", "relit PSNR", "input unchanged", "gain"]
        if self.control is not None:
            rows = [(*r, c) for r, c in zip(rows, self.control.relit)]
            header.append("λ = 0 control")
        return markdown_table(header, rows)

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        named = {
            "light rises at every step": (self.monotone, tuple(c.monotone for c in runs)),
            "relit PSNR, mean over targets": (
                self.relit_mean,
                tuple(c.relit_mean for c in runs),
            ),
        }
        if self.over_control is not None and all(c.over_control is not None for c in runs):
            named["relit minus the λ = 0 control"] = (
                self.over_control,
                tuple(c.over_control for c in runs),  # type: ignore[misc]
            )
        return named


_ORDER_WORDS = {
    Order.BETTER: "better",
    Order.WORSE: "worse",
    Order.EQUAL: f"equal within {DB_MARGIN:g} dB",
    Order.NOT_DISTINGUISHABLE: "not distinguishable",
}


def _one_check(
    model: Any,
    test: FaceSet,
    targets: Sequence[float],
    steps: int,
    seed: int,
    inputs: torch.Tensor | None,
    control: Any,
) -> tuple[SliderCheck, torch.Tensor]:
    """One model's check, and each face's relit PSNR averaged over the targets (N,)."""
    from sepviz.data.synthetic import relit
    from sepviz.grids import relight_grid
    from sepviz.metrics import psnr

    x = test.images if inputs is None else inputs
    if len(x) != len(test):
        raise ValueError(f"inputs must hold one face per test face ({len(test)}), got {len(x)}")
    sweep = torch.linspace(-1, 1, steps).tolist()
    scores = measured_light(relight_grid(model, x, sweep))
    monotone = bootstrap_mean(rises(scores).float(), "%", seed)
    truths = [relit(test, 60 * t) for t in targets]
    relit_dbs = [psnr(model.relight(x, float(t)), truth) for t, truth in zip(targets, truths)]
    input_dbs = [psnr(test.images, truth) for truth in truths]
    per_face = torch.stack(relit_dbs).mean(0)
    check = SliderCheck(
        monotone,
        tuple(float(t) for t in targets),
        tuple(bootstrap_mean(r, "dB", seed) for r in relit_dbs),
        tuple(bootstrap_mean(u, "dB", seed) for u in input_dbs),
        tuple(paired_gain(r, u, "dB", seed) for r, u in zip(relit_dbs, input_dbs)),
        bootstrap_mean(per_face, "dB", seed),
        bootstrap_mean(torch.stack(input_dbs).mean(0), "dB", seed),
    )
    if control is not None:
        theirs, their_face = _one_check(control, test, targets, steps, seed, inputs, None)
        over = paired_gain(per_face, their_face, "dB", seed)
        check = dataclasses.replace(check, control=theirs, over_control=over)
    return check, per_face


def slider_check(
    model: Any,
    test: FaceSet | Sequence[FaceSet],
    targets: Sequence[float] = (-1.0, 0.0, 1.0),
    steps: int = 9,
    seed: int = 0,
    inputs: torch.Tensor | None = None,
    control: Any = None,
) -> SliderCheck:
    """Sweep y over [-1, 1] in ``steps`` values on ``test`` faces (is the measured light
    monotone?), then relight to each target y and compare with the renderer's truth.

    Args:
        model: a fader (``relight(x, y)``), or a sequence of them, one per training run: the
            Estimates then hold every run (:meth:`SliderCheck.over_runs`).
        test: faces with every factor of the renderer, (N, 3, S, S) images; or one FaceSet per
            training run (new faces of that run's training people).
        targets: the y each face is relit to and compared with the truth at.
        steps: values of y in the sweep that checks the direction.
        seed: the bootstraps.
        inputs: what the model is fed for ``test`` (default ``test.images``; an oracle
            encoder is fed the faces under a centre light); the unchanged-input baseline is
            always ``test.images``. Only with one ``test``.
        control: the λ = 0 control (a model trained without the adversary), or one per run:
            the same check on it, and the paired difference of the relit faces' PSNR
            (:attr:`SliderCheck.over_control`).
    """
    models = list(model) if isinstance(model, Sequence) else [model]
    tests = (
        list(test)
        if isinstance(test, Sequence) and not isinstance(test, FaceSet)
        else [test] * len(models)
    )
    controls = list(control) if isinstance(control, Sequence) else [control] * len(models)
    if len(tests) != len(models) or len(controls) != len(models):
        raise ValueError(
            f"test and control must hold one entry per training run ({len(models)}), got "
            f"{len(tests)} and {len(controls)}"
        )
    if inputs is not None and len(models) > 1:
        raise ValueError("inputs can only be given for one training run")
    checks = [
        _one_check(m, t, targets, steps, seed, inputs, c)[0]
        for m, t, c in zip(models, tests, controls)
    ]
    return checks[0] if len(checks) == 1 else SliderCheck.over_runs(checks)
