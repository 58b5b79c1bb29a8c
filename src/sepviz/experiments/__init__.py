"""Experiments: the chapters' questions as functions that return numbers with intervals.

Each module answers one question of the book. Its functions take trained models and faces and
return a frozen :class:`Result` dataclass: the numbers (each an :class:`Estimate` with its 95%
interval), a ``verdict`` in Markdown computed from those numbers, and a ``table()``. The
chapters display them (``result`` alone in a cell shows the verdict as an admonition);
``tests/test_model_quality.py`` asserts on the very same results.

One module per chapter: :mod:`~sepviz.experiments.renderer` (chapters 0 and 1: what moves
the pixels), :mod:`~sepviz.experiments.autoencoder_vs_pca` (2),
:mod:`~sepviz.experiments.generative` (3: the VAE), :mod:`~sepviz.experiments.deepfakes` (4),
:mod:`~sepviz.experiments.fadernet` (5), :mod:`~sepviz.experiments.hidden_or_removed` (6: the
adversary against erasers, a ladder of readers),
:mod:`~sepviz.experiments.where_information_lives` (7: probes, MIG / DCI, decoder swaps),
:mod:`~sepviz.experiments.relight_by_swap` (8: the blog's idea 1),
:mod:`~sepviz.experiments.decoder_per_light` (9: idea 2), :mod:`~sepviz.experiments.real_faces`
(10), :mod:`~sepviz.experiments.limits` (11) and :mod:`~sepviz.experiments.findings` (12: the
other chapters' results in two tables). :mod:`~sepviz.experiments.measures` holds the meters
they share.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
    runs: int = 1
    """How many training runs (seeds) the interval holds: 1 is one trained model, its interval
    over faces only; see :func:`over_runs`."""

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
        return Estimate(value, value - half, value + half, self.unit, min(self.runs, other.runs))

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


# -- The vocabulary of verdicts -------------------------------------------------------------
# Every verdict of the book says *reads*, *at chance*, *not distinguishable*, *removed*,
# *better*, *equal* in the sense defined here, as rules on a 95% interval, and nowhere else.
# The glossary (book/glossary.md) prints the same rules for the reader.

READ_SHARE = 0.10
"""A reader *reads* a factor when its whole interval lies more than a tenth of the way from
chance to a perfect score above chance (:func:`read_bar`). Why a share of the room above
chance and not a fixed number of points: one rule then serves 2 classes (chance 50%: bar
55%), 3 classes (chance 34%: bar 40.6%), unbalanced classes (chance 81%: bar 82.9%) and R²
(chance 0, perfect 1: bar 0.10) alike, where a fixed 10 points asked a 2-class reader for a
fifth of its room and let a 3-class reader at 42% ± 3 against chance 34% count as "at
chance". Why a tenth: a reader that recovers less than a tenth of what a perfect one does (an
R² below 0.1, a kappa below 0.1) carries too little of the factor to act on, which is what
"removed" has to mean."""

DB_MARGIN = 0.5
"""Two PSNRs within half a decibel are *equal* (:func:`compare`): 0.5 dB is 12% of squared
error, less than what tells two reconstructions apart by eye on these faces, and more than
the run-to-run wobble of a model trained to a plateau here (0.1-0.3 dB)."""

R_MARGIN = 0.10
"""A correlation *is there* when its whole interval lies beyond ±0.1 and is *absent* when it
lies within: Cohen's "small effect" (r = 0.1, one percent of the variance shared)."""


class Reading(enum.Enum):
    """What a reader's score says about a factor, against chance (:func:`reading`)."""

    READS = "reads"
    NOT_DISTINGUISHABLE = "not distinguishable"
    AT_CHANCE = "at chance"
    BELOW_CHANCE = "below chance"

    @property
    def reads(self) -> bool:
        """Only :attr:`READS` reads; the other three do not show the factor."""
        return self is Reading.READS

    @property
    def blind(self) -> bool:
        """At or below chance: the reader shows nothing of the factor (equivalence holds)."""
        return self in (Reading.AT_CHANCE, Reading.BELOW_CHANCE)


def read_bar(chance: float, perfect: float = 1.0) -> float:
    """The score a reader must beat to *read*: chance plus :data:`READ_SHARE` of the way to
    ``perfect`` (1 for an accuracy as a fraction and for R²)."""
    return chance + READ_SHARE * (perfect - chance)


def reading(score: Estimate, chance: float, perfect: float = 1.0) -> Reading:
    """Where ``score``'s interval lies against ``chance`` and :func:`read_bar`:

    - :attr:`Reading.READS`: the whole interval lies above the bar;
    - :attr:`Reading.BELOW_CHANCE`: the whole interval lies below chance (the reader is
      anti-correlated with the factor: a systematic effect worth a sentence of its own);
    - :attr:`Reading.AT_CHANCE`: the whole interval lies below the bar, reaching chance or
      within the margin above it (an equivalence test: whatever the reader finds is less than
      a tenth of the room above chance);
    - :attr:`Reading.NOT_DISTINGUISHABLE`: the interval covers the bar; the data cannot tell.
    """
    bar = read_bar(chance, perfect)
    if score.low > bar:
        return Reading.READS
    if score.high < chance:
        return Reading.BELOW_CHANCE
    if score.high < bar:
        return Reading.AT_CHANCE
    return Reading.NOT_DISTINGUISHABLE


def removed(readings: Sequence[Reading]) -> bool:
    """A factor is *removed* from a code only when every reader is blind to it (at or below
    chance); one reader that reads, or one that is not distinguishable, and it is not."""
    return len(readings) > 0 and all(r.blind for r in readings)


class Order(enum.Enum):
    """How a difference (``a - b``) compares with zero, within a margin (:func:`compare`)."""

    BETTER = "better"
    WORSE = "worse"
    EQUAL = "equal"
    NOT_DISTINGUISHABLE = "not distinguishable"


def compare(difference: Estimate, margin: float) -> Order:
    """Whether ``difference`` (``a - b`` with its interval) says a is better than b:
    :attr:`Order.BETTER` when the whole interval lies above ``margin``, :attr:`Order.WORSE`
    when below ``-margin``, :attr:`Order.EQUAL` when it lies within ``±margin`` (equivalence),
    and :attr:`Order.NOT_DISTINGUISHABLE` when it covers ``margin`` or ``-margin``."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if difference.low > margin:
        return Order.BETTER
    if difference.high < -margin:
        return Order.WORSE
    if -margin <= difference.low and difference.high <= margin:
        return Order.EQUAL
    return Order.NOT_DISTINGUISHABLE


def over_runs(per_run: Sequence[Estimate]) -> Estimate:
    """One headline number over training runs (seeds): the mean of the runs' values, with an
    interval that holds the run-to-run spread (a t interval over the runs) and the spread
    over faces (the mean half-width of the runs' own intervals), added in quadrature.

    Args:
        per_run: one :class:`Estimate` per trained model (2 or more), one unit.

    Returns:
        an :class:`Estimate` with ``runs = len(per_run)``; :func:`run_spread` gives its two
        parts.
    """
    run_half, face_half = run_spread(per_run)
    value = float(np.mean([e.value for e in per_run]))
    half = math.hypot(run_half, face_half)
    return Estimate(value, value - half, value + half, per_run[0].unit, len(per_run))


def run_spread(per_run: Sequence[Estimate]) -> tuple[float, float]:
    """The two half-widths :func:`over_runs` adds: ``(runs, faces)``, the t interval of the
    runs' values and the mean half-width of their intervals over faces."""
    if len(per_run) < 2:
        raise ValueError(f"per_run needs at least 2 training runs, got {len(per_run)}")
    units = {e.unit for e in per_run}
    if len(units) > 1:
        raise ValueError(f"per_run must share one unit, got {sorted(units)}")
    values = np.array([e.value for e in per_run])
    n = values.size
    run_half = _T975[min(n - 1, len(_T975)) - 1] * float(values.std(ddof=1)) / math.sqrt(n)
    face_half = float(np.mean([(e.high - e.low) / 2 for e in per_run]))
    return run_half, face_half


def runs_note(estimate: Estimate) -> str:
    """The words " over N training runs" for an estimate that holds several runs, else ""."""
    return f" over {estimate.runs} training runs" if estimate.runs > 1 else ""


def combine_runs(per_run: Sequence[Any]) -> dict[str, Any]:
    """The fields of one result over training runs, from ``per_run`` results of one frozen
    dataclass (one per trained model): an :class:`Estimate` (or a tuple of them) by
    :func:`over_runs`, a nested result by its class's ``over_runs``, a float by its mean, a
    bool by ``all``, anything else from the first run (it must be the same in every run).

    Returns:
        ``{field name: combined value}``, ready for the dataclass's constructor.

    Raises:
        ValueError: the runs disagree on a field that cannot be combined.
    """
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(per_run[0]):
        values = [getattr(r, f.name) for r in per_run]
        first = values[0]
        if isinstance(first, bool):
            fields[f.name] = all(values)
        elif isinstance(first, Estimate):
            fields[f.name] = over_runs(values)
        elif isinstance(first, tuple) and first and isinstance(first[0], Estimate):
            fields[f.name] = tuple(over_runs(column) for column in zip(*values))
        elif isinstance(first, Result) and hasattr(type(first), "over_runs"):
            fields[f.name] = type(first).over_runs(values)  # type: ignore[attr-defined]
        elif isinstance(first, float):
            fields[f.name] = sum(values) / len(values)
        elif all(v == first for v in values):
            fields[f.name] = first
        else:
            raise ValueError(f"the runs disagree on {f.name}: {values}")
    return fields


Headlines = dict[str, tuple[Estimate, tuple[Estimate, ...]]]
"""``{name: (the number over the runs, its value in each run)}``: a result's headline numbers,
as its ``spreads()`` and ``spread_table()`` report them."""


def spreads(headlines: Headlines) -> dict[str, tuple[float, float]]:
    """``{name: (run half-width, face half-width)}`` (:func:`run_spread`) of every headline
    measured over 2 or more training runs."""
    return {name: run_spread(runs) for name, (_, runs) in headlines.items() if len(runs) > 1}


def _half(half: float, unit: str) -> str:
    """A half-width of an interval, in the estimate's unit (percentage points for ``"%"``)."""
    if unit == "%":
        return f"± {100 * half:.1f} points"
    return f"± {half:.2f} dB" if unit == "dB" else f"± {half:.3f}"


def spread_table(headlines: Headlines) -> str:
    """A Markdown table: each headline over the runs, how many runs, and the two parts of its
    interval (the spread from run to run, the spread over faces)."""
    measured = spreads(headlines)
    rows = []
    for name, (combined, runs) in headlines.items():
        if name in measured:
            run_half, face_half = measured[name]
            rows.append(
                (
                    name,
                    combined,
                    len(runs),
                    _half(run_half, combined.unit),
                    _half(face_half, combined.unit),
                )
            )
        else:
            half = max(combined.high - combined.value, combined.value - combined.low)
            rows.append((name, combined, 1, "(one run: not measured)", _half(half, combined.unit)))
    header = ("headline", "over the runs", "runs", "spread over runs", "spread over faces")
    return markdown_table(header, rows)


class OverRuns:
    """A result whose headline numbers may hold several training runs (its ``per_run``).

    Subclasses name their headlines in ``_headlines()``; :meth:`spreads` and
    :meth:`spread_table` then say how much of each interval comes from the runs and how much
    from the faces."""

    def _headlines(self) -> Headlines:
        raise NotImplementedError

    def spreads(self) -> dict[str, tuple[float, float]]:
        """``{headline: (run half-width, face half-width)}`` (:func:`run_spread`) of every
        headline measured over 2 or more training runs; empty for one trained model."""
        return spreads(self._headlines())

    def spread_table(self) -> str:
        """A Markdown table: each headline over the runs, with its run and face spreads."""
        return spread_table(self._headlines())


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
