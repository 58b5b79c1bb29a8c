"""Experiments: the chapters' questions as functions that return numbers with intervals.

Each module answers one question of the book. Its functions take trained models and faces and
return a frozen :class:`Result` dataclass: the numbers (each an :class:`Estimate` with its 95%
interval), a ``verdict`` in Markdown computed from those numbers, and a ``table()``. The
chapters display them (``result`` alone in a cell shows the verdict as an admonition);
``tests/test_model_quality.py`` asserts on the very same results.

One module per chapter: :mod:`~sepviz.experiments.renderer` (chapters 0 and 1: what moves
the pixels), :mod:`~sepviz.experiments.autoencoder_vs_pca` (2),
:mod:`~sepviz.experiments.deepfakes` (3), :mod:`~sepviz.experiments.fadernet` (4),
:mod:`~sepviz.experiments.hidden_or_removed` (5: the adversary against erasers, a ladder of
readers), :mod:`~sepviz.experiments.where_information_lives` (6: probes, MIG / DCI, decoder
swaps), :mod:`~sepviz.experiments.relight_by_swap` (7: the blog's idea 1),
:mod:`~sepviz.experiments.decoder_per_light` (8: idea 2), :mod:`~sepviz.experiments.real_faces`
(9) and :mod:`~sepviz.experiments.limits` (10).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

CONFIDENCE = 0.95
BOOTSTRAP_SAMPLES = 2000

# Student's t quantiles (97.5%) for 1..9 degrees of freedom: folds of a cross-validation.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262)


@dataclass(frozen=True)
class Estimate:
    """A number with its 95% interval ``[low, high]``; ``unit`` is ``"dB"``, ``"%"``, ``""``.

    A ``"%"`` estimate holds a fraction in [0, 1] and prints as a percentage.
    """

    value: float
    low: float
    high: float
    unit: str = ""

    def covers(self, threshold: float) -> bool:
        """Whether ``threshold`` lies inside the interval: the data cannot tell them apart."""
        return self.low <= threshold <= self.high

    def above(self, threshold: float) -> bool:
        """The whole interval lies above ``threshold``."""
        return self.low > threshold

    def below(self, threshold: float) -> bool:
        """The whole interval lies below ``threshold``."""
        return self.high < threshold

    def __sub__(self, other: Estimate) -> Estimate:
        # Independent errors add in quadrature (a paired bootstrap is tighter; see paired_gain).
        half = math.hypot(self.high - self.value, other.high - other.value)
        value = self.value - other.value
        return Estimate(value, value - half, value + half, self.unit)

    def __str__(self) -> str:
        half = max(self.high - self.value, self.value - self.low)
        if self.unit == "%":
            return f"{100 * self.value:.0f}% ± {100 * half:.0f}"
        digits = 1 if self.unit == "dB" else 2
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.value:.{digits}f}{unit} ± {half:.{digits}f}"


def bootstrap_mean(
    values: torch.Tensor | np.ndarray | Sequence[float],
    unit: str = "",
    seed: int = 0,
    samples: int = BOOTSTRAP_SAMPLES,
) -> Estimate:
    """The mean of ``values`` (N,) with a percentile-bootstrap 95% interval over the N items
    (faces), resampled ``samples`` times with a generator seeded by ``seed``."""
    v = np.asarray(torch.as_tensor(values, dtype=torch.float64).flatten())
    if v.size == 0:
        raise ValueError("values is empty: a mean needs at least one value")
    if not np.isfinite(v).all():
        raise ValueError("values must be finite (a NaN or an infinity reached the bootstrap)")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(samples, v.size))].mean(1)
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return Estimate(float(v.mean()), float(low), float(high), unit)


def paired_gain(
    better: torch.Tensor, worse: torch.Tensor, unit: str = "dB", seed: int = 0
) -> Estimate:
    """Mean of ``better - worse`` over the same faces (N,), with a paired bootstrap interval."""
    return bootstrap_mean(torch.as_tensor(better) - torch.as_tensor(worse), unit, seed)


def from_folds(scores: Sequence[float], unit: str = "%") -> Estimate:
    """The mean of cross-validation fold scores with a t interval (fold spread / sqrt(k))."""
    s = np.asarray(scores, dtype=np.float64)
    if s.size < 2:
        raise ValueError(f"scores needs at least 2 folds, got {s.size}")
    return from_spread(float(s.mean()), float(s.std(ddof=1)), s.size, unit)


def from_spread(mean: float, std: float, folds: int, unit: str = "%") -> Estimate:
    """A t interval from the mean and the sample standard deviation (ddof=1) of ``folds``
    fold scores: ``mean ± t(0.975, folds - 1) * std / sqrt(folds)``."""
    if folds < 2:
        raise ValueError(f"folds must be >= 2 for an interval, got {folds}")
    half = _T975[min(folds - 1, len(_T975)) - 1] * std / math.sqrt(folds)
    return Estimate(float(mean), float(mean - half), float(mean + half), unit)


def judge(estimate: Estimate, bar: float, above: str, below: str, bar_name: str) -> str:
    """The head of a verdict that compares ``estimate`` with ``bar``: ``above`` when the whole
    interval lies above it, ``below`` when it lies below, and "**Not distinguishable** from
    ``bar_name``." when the interval covers it (the data cannot tell)."""
    if estimate.covers(bar):
        return f"**Not distinguishable** from {bar_name}."
    return above if estimate.above(bar) else below


def admonition(body: str, title: str = "Verdict", kind: str = "tip") -> str:
    """A MyST admonition (``kind``: tip, important, warning, note) holding Markdown ``body``."""
    return f"```{{admonition}} {title}\n:class: {kind}\n{body.strip()}\n```\n"


class Result:
    """What every experiment's frozen result dataclass shares: a verdict and a table.

    Subclasses define ``verdict`` (Markdown computed from the numbers) and ``table()``
    (a Markdown table). In a notebook, a result alone in a cell shows the verdict as an
    admonition; ``display(Markdown(result.table()))`` shows the numbers.
    """

    title = "Verdict"

    @property
    def verdict(self) -> str:
        raise NotImplementedError

    def table(self) -> str:
        raise NotImplementedError

    def _repr_markdown_(self) -> str:
        return admonition(self.verdict, self.title)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table: ``header`` names, then one row of cells (printed with ``str``) each."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
