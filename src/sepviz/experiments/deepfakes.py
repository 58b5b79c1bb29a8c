"""Chapter 4: does a DeepFakes swap give B's face with A's expression and light?

- :func:`swap_quality` compares the swap with the renderer's true B (B's identity, A's
  expression and light) next to two baselines, the input unchanged and B's mean face, and a
  ceiling: B's own face through decoder B. Every number is a mean over faces with a bootstrap
  interval; the gain over the better baseline and the gap to the ceiling are paired face by
  face.
- :func:`identity_probe`: is the shared latent identity-free? Linear probes read identity,
  the light class and the smile from the latent, next to the same probes on the pixels and
  chance.
- :func:`layer_swap`: decoder A with its first k blocks taken from decoder B, against the
  true A and the true B: does one block hold B's identity?

The two headline experiments, :func:`swap_quality` and :func:`identity_probe`, take one
trained model or a sequence of models, one per training run (seed). With several, each
headline number is the mean over the runs with an interval that holds both the run-to-run
spread and the spread over faces (:func:`~sepviz.experiments.over_runs`); the result's
``spreads()`` and ``spread_table()`` give the two parts side by side.
"""

from __future__ import annotations

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
    Reading,
    Result,
    bootstrap_mean,
    combine_runs,
    compare,
    markdown_table,
    over_runs,
    paired_gain,
    read_bar,
    reading,
    runs_note,
)
from sepviz.models.deepfakes import DeepFakes

WORKS_DB = 1.0
"""A swap *works* when the whole interval of its paired gain over the better baseline (the
input unchanged, or the target's mean face) lies above 1 dB: 21% less squared error than a
model that ignores its input or does nothing, twice the 0.5 dB within which two PSNRs count
as equal (:data:`~sepviz.experiments.DB_MARGIN`), so "works" means clearly better, not
merely not worse."""

Models = DeepFakes | Sequence[DeepFakes]
"""One trained model, or one per training run (seed)."""


def _models(model: Models) -> list[DeepFakes]:
    models = [model] if isinstance(model, torch.nn.Module) else list(model)
    if not models:
        raise ValueError("model is an empty sequence: give a trained DeepFakes or one per run")
    return models


def _signed(e: Estimate) -> str:
    return f"+{e}" if e.value >= 0 else str(e)


@dataclass(frozen=True)
class SwapQuality(OverRuns, Result):
    """PSNR (dB) to the true swapped face of the swap, the baselines and the ceiling.

    ``gain``: the swap minus the better baseline (the one with the higher mean), paired over
    faces; ``gap``: the ceiling minus the swap, paired over faces. ``per_run``: one result per
    trained model when several were measured (empty for one): then ``swap``, ``ceiling``,
    ``gain`` and ``gap`` are :func:`~sepviz.experiments.over_runs` of theirs (their ``runs``
    field says how many), and the baselines, which no model changes, are the first run's.
    """

    source: str
    target: str
    swap: Estimate
    unchanged: Estimate
    mean_face: Estimate
    ceiling: Estimate
    gain: Estimate
    gap: Estimate
    per_run: tuple[SwapQuality, ...] = ()

    @classmethod
    def from_runs(cls, runs: Sequence[SwapQuality]) -> SwapQuality:
        """One result over training runs: ``runs`` holds one single-run result per trained
        model (2 or more), measured on the same faces."""
        if len(runs) < 2 or any(r.per_run for r in runs):
            raise ValueError(f"from_runs needs >= 2 single-run results, got {len(runs)}")
        first = runs[0]
        return cls(
            source=first.source,
            target=first.target,
            swap=over_runs([r.swap for r in runs]),
            unchanged=first.unchanged,
            mean_face=first.mean_face,
            ceiling=over_runs([r.ceiling for r in runs]),
            gain=over_runs([r.gain for r in runs]),
            gap=over_runs([r.gap for r in runs]),
            per_run=tuple(runs),
        )

    @property
    def baseline(self) -> str:
        """The baseline ``gain`` is measured against: the one with the higher mean PSNR."""
        if self.unchanged.value >= self.mean_face.value:
            return "the input unchanged"
        return f"{self.target}'s mean face"

    @property
    def verdict(self) -> str:
        runs = runs_note(self.gain)
        if self.gain.covers(WORKS_DB):
            head = f"**Not distinguishable** from the {WORKS_DB:g} dB bar{runs}."
        elif self.gain.above(WORKS_DB):
            head = f"**The swap works{runs}.**"
        else:
            head = f"**The swap does not work{runs}.**"
        facts = (
            f"The swap {self.source} → {self.target} is {self.swap} from the true "
            f"{self.target}; its gain over the better baseline, {self.baseline}, is "
            f"**{_signed(self.gain)}** face by face (input unchanged {self.unchanged}, "
            f"{self.target}'s mean face {self.mean_face}; a swap works when the whole "
            f"interval lies above {WORKS_DB:g} dB)."
        )
        return f"{head} {facts} {self._ceiling()}"

    def _ceiling(self) -> str:
        ceiling = (
            f"the ceiling ({self.ceiling}: {self.target}'s own faces through decoder {self.target})"
        )
        order = compare(self.gap, DB_MARGIN)
        if order is Order.BETTER:
            return f"It lies {self.gap} below {ceiling}."
        if order is Order.WORSE:
            return f"It lies above {ceiling}: the ceiling minus the swap is {self.gap}."
        if order is Order.EQUAL:
            return (
                f"It is level with {ceiling}: the gap, {_signed(self.gap)}, lies within "
                f"±{DB_MARGIN:g} dB."
            )
        return (
            f"Its gap to {ceiling}, {_signed(self.gap)}, is not distinguishable from the "
            f"±{DB_MARGIN:g} dB margin."
        )

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        return {
            f"swap {self.source} → {self.target}, PSNR to the truth": (
                self.swap,
                tuple(r.swap for r in runs),
            ),
            f"gain over the better baseline ({self.baseline})": (
                self.gain,
                tuple(r.gain for r in runs),
            ),
            "gap to the ceiling": (self.gap, tuple(r.gap for r in runs)),
        }

    def table(self) -> str:
        runs = runs_note(self.swap)
        rows = [
            (f"swap {self.source} → {self.target} (decoder {self.target}){runs}", self.swap),
            ("baseline: input unchanged", self.unchanged),
            (f"baseline: {self.target}'s mean face", self.mean_face),
            (
                f"ceiling: {self.target}'s own face through decoder {self.target}{runs}",
                self.ceiling,
            ),
        ]
        return markdown_table((f"prediction of the true {self.target}", "PSNR"), rows)


def swap_quality(
    model: Models,
    test: FaceSet,
    target: str = "B",
    source: str = "A",
    reference: FaceSet | None = None,
    seed: int = 0,
) -> SwapQuality:
    """Swap ``test`` faces (all of person ``source``) to ``target`` and measure against truth.

    Args:
        model: a trained DeepFakes with a decoder ``target``, or a sequence of them, one per
            training run: then the swap, the ceiling, the gain and the gap are the mean over
            the runs (:func:`~sepviz.experiments.over_runs`) and ``per_run`` holds each.
        test: unseen faces of ``source`` (their identity is replaced by ``target``'s).
        reference: faces of ``target`` for the mean-face baseline (default: the truths).
        seed: the bootstrap.
    """
    models = _models(model)
    if len(models) > 1:
        return SwapQuality.from_runs(
            [swap_quality(m, test, target, source, reference, seed) for m in models]
        )
    from sepviz.data.synthetic import swapped
    from sepviz.metrics import psnr

    net = models[0]
    truth = swapped(test, target)
    swap_db = psnr(net.swap(test.images, target), truth)
    input_db = psnr(test.images, truth)
    mean = (reference.images if reference is not None else truth).mean(0, keepdim=True)
    mean_db = psnr(mean.expand_as(truth), truth)
    ceiling_db = psnr(net.swap(truth, target), truth)
    # the better baseline is the one with the higher mean, compared face by face with the swap
    best = input_db if float(input_db.mean()) >= float(mean_db.mean()) else mean_db
    return SwapQuality(
        source=source,
        target=target,
        swap=bootstrap_mean(swap_db, "dB", seed),
        unchanged=bootstrap_mean(input_db, "dB", seed),
        mean_face=bootstrap_mean(mean_db, "dB", seed),
        ceiling=bootstrap_mean(ceiling_db, "dB", seed),
        gain=paired_gain(swap_db, best, "dB", seed),
        gap=paired_gain(ceiling_db, swap_db, "dB", seed),
    )


def _pretty(factor: str) -> str:
    return factor.replace("_", " ")


@dataclass(frozen=True)
class IdentityProbe(OverRuns, Result):
    """Held-out scores of linear probes (5 folds) on the shared latent and on the pixels.

    ``latent[i]``, ``pixels[i]`` and ``chance[i]`` belong to ``factors[i]``: accuracy
    (an Estimate with unit ``"%"``) for a class factor, R² (unit ``""``) for a continuous one,
    whose chance is 0. ``factors`` holds ``"identity"``. ``per_run``: one result per trained
    model when several were measured (empty for one): then each ``latent[i]`` is
    :func:`~sepviz.experiments.over_runs` of theirs, and ``pixels`` (no model reads them) is
    the same in every run.

    The latent and the pixels read a factor *equally well* when their difference lies within
    the reading margin, a tenth of the room above chance (:func:`margin`): the rule that says
    what *reads* also says what counts as the same score.
    """

    factors: tuple[str, ...]
    latent: tuple[Estimate, ...]
    pixels: tuple[Estimate, ...]
    chance: tuple[float, ...]
    per_run: tuple[IdentityProbe, ...] = ()

    @classmethod
    def from_runs(cls, runs: Sequence[IdentityProbe]) -> IdentityProbe:
        """One result over training runs: ``runs`` holds one single-run result per trained
        model (2 or more), probed on the same faces and folds."""
        if len(runs) < 2 or any(r.per_run for r in runs):
            raise ValueError(f"from_runs needs >= 2 single-run results, got {len(runs)}")
        first = runs[0]
        latent = tuple(over_runs([r.latent[k] for r in runs]) for k in range(len(first.factors)))
        return cls(first.factors, latent, first.pixels, first.chance, per_run=tuple(runs))

    def _score(self, k: int, value: float) -> str:
        return f"{value:.0%}" if self.latent[k].unit == "%" else f"{value:.2f}"

    def _chance(self, k: int) -> str:
        return self._score(k, self.chance[k])

    def _read(self, e: Estimate) -> str:
        return str(e) if e.unit == "%" else f"R² {e}"

    def state(self, k: int) -> Reading:
        """What the latent probe of ``factors[k]`` says against chance (:func:`reading`)."""
        return reading(self.latent[k], self.chance[k])

    def reads(self, k: int) -> bool:
        """Whether the latent probe of ``factors[k]`` *reads* it (its whole interval lies
        above :func:`~sepviz.experiments.read_bar`)."""
        return self.state(k).reads

    def margin(self, k: int) -> float:
        """The margin within which two scores of ``factors[k]`` are equal: a tenth of the room
        above chance (:func:`~sepviz.experiments.read_bar` minus chance)."""
        return read_bar(self.chance[k]) - self.chance[k]

    def latent_vs_pixels(self, k: int) -> Order:
        """Whether the latent reads ``factors[k]`` better than the pixels, worse, equally
        well, or the data cannot tell (:func:`~sepviz.experiments.compare` of latent - pixels
        with :meth:`margin`)."""
        return compare(self.latent[k] - self.pixels[k], self.margin(k))

    @property
    def verdict(self) -> str:
        i = self.factors.index("identity")
        ident, state = self.latent[i], self.state(i)
        score = (
            f"**{ident}**{runs_note(ident)} (chance {self._chance(i)}, reading needs more than "
            f"{self._score(i, read_bar(self.chance[i]))})"
        )
        if state is Reading.READS:
            head = (
                f"**Not identity-free.** A linear probe tells A's codes from B's at {score}: "
                "the shared latent still says whose face it came from."
            )
        elif state is Reading.NOT_DISTINGUISHABLE:
            head = (
                f"**Not distinguishable** from the reading bar: a linear probe reads identity "
                f"from the shared latent at {score}, an interval that covers the bar."
            )
        elif state is Reading.AT_CHANCE:
            head = (
                f"**Identity-free** for a linear probe: it reads identity from the shared "
                f"latent at {score}, at chance."
            )
        else:
            head = (
                f"**Identity-free** for a linear probe: it reads identity from the shared "
                f"latent at {score}, below chance."
            )
        parts = [head, self._versus_pixels(i)]
        others = [k for k in range(len(self.factors)) if k != i]
        parts += self._shared(others)
        return " ".join(parts)

    def _versus_pixels(self, k: int) -> str:
        margin = self.margin(k)
        within = f"{100 * margin:.0f} points" if self.latent[k].unit == "%" else f"{margin:.2f}"
        name, pixels = _pretty(self.factors[k]), self._read(self.pixels[k])
        difference = _signed(self.latent[k] - self.pixels[k])
        order = self.latent_vs_pixels(k)
        if order is Order.EQUAL:
            return (
                f"On the pixels the same probe reads {name} at {pixels}: the latent reads it "
                f"as well as the pixels do (latent - pixels {difference}, within ±{within})."
            )
        if order is Order.BETTER:
            return (
                f"On the pixels the same probe reads {name} at {pixels}: the latent reads it "
                f"better, by more than {within} (latent - pixels {difference})."
            )
        if order is Order.WORSE:
            return (
                f"On the pixels the same probe reads {name} at {pixels}: the latent holds "
                f"less of it, by more than {within} (latent - pixels {difference})."
            )
        return (
            f"On the pixels the same probe reads {name} at {pixels}: latent - pixels, "
            f"{difference}, is not distinguishable from the ±{within} margin."
        )

    def _shared(self, others: Sequence[int]) -> list[str]:
        """One sentence per reading state of the factors A and B share."""

        def item(k: int, bar: bool) -> str:
            needs = (
                f", reading needs more than {self._score(k, read_bar(self.chance[k]))}"
                if bar
                else ""
            )
            return (
                f"{_pretty(self.factors[k])} {self._read(self.latent[k])} (chance "
                f"{self._chance(k)}{needs}; pixels {self._read(self.pixels[k])})"
            )

        by_state = {state: [k for k in others if self.state(k) is state] for state in Reading}
        blind = by_state[Reading.AT_CHANCE] + by_state[Reading.BELOW_CHANCE]
        sentences = []
        if by_state[Reading.READS]:
            listed = "; ".join(item(k, False) for k in by_state[Reading.READS])
            sentences.append(f"It keeps what A and B share: {listed}.")
        if by_state[Reading.NOT_DISTINGUISHABLE]:
            listed = "; ".join(item(k, True) for k in by_state[Reading.NOT_DISTINGUISHABLE])
            sentences.append(f"Not distinguishable from the reading bar: {listed}.")
        if blind:
            listed = "; ".join(item(k, True) for k in blind)
            sentences.append(f"It does not keep (at or below chance): {listed}.")
        return sentences

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        return {
            f"{_pretty(f)} read from the latent": (
                self.latent[k],
                tuple(r.latent[k] for r in runs),
            )
            for k, f in enumerate(self.factors)
        }

    def table(self) -> str:
        rows = [
            (
                f"{_pretty(f)} ({'accuracy' if e.unit == '%' else 'R²'})",
                e,
                p,
                self._chance(k),
                self._score(k, read_bar(self.chance[k])),
            )
            for k, (f, e, p) in enumerate(zip(self.factors, self.latent, self.pixels))
        ]
        latent = f"shared latent{runs_note(self.latent[0])}"
        header = ("read by a linear probe", latent, "pixels (PCA)", "chance", "reading bar")
        return markdown_table(header, rows)

    def plot(self) -> object:
        """Bars: each factor read from the latent and from the pixels, with intervals and a
        dashed chance mark; returns the figure."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.5, 3.5))
        width = 0.38
        latent = f"shared latent{runs_note(self.latent[0])}"
        for j, (label, values) in enumerate(((latent, self.latent), ("pixels (PCA)", self.pixels))):
            xs = [k + (j - 0.5) * width for k in range(len(self.factors))]
            err = [[e.value - e.low for e in values], [e.high - e.value for e in values]]
            ax.bar(xs, [e.value for e in values], width, yerr=err, capsize=3, label=label)
        for k, c in enumerate(self.chance):
            ax.plot([k - 0.45, k + 0.45], [c, c], "k--", lw=1.2, label="chance" if k == 0 else None)
        names = [
            f"{_pretty(f)}\n({'accuracy' if e.unit == '%' else 'R²'})"
            for f, e in zip(self.factors, self.latent)
        ]
        ax.set_xticks(range(len(self.factors)), names)
        ax.set_xlabel("factor read by a linear probe")
        ax.set_ylabel("held-out score")
        ax.set_ylim(min(0.0, *(e.low for e in self.latent + self.pixels)), 1.25)
        ax.set_title("What the shared latent holds, next to the pixels")
        ax.legend(fontsize=8, loc="upper center", ncol=3)
        fig.tight_layout()
        return fig


def identity_probe(
    model: Models,
    faces: FaceSet,
    factors: Sequence[str] = ("identity", "light_class", "smile"),
    seed: int = 0,
) -> IdentityProbe:
    """Read ``factors`` from the shared latent E(x) of ``faces`` and from their pixels.

    Args:
        model: a trained DeepFakes, or a sequence of them, one per training run: then each
            latent score is the mean over the runs (:func:`~sepviz.experiments.over_runs`)
            and ``per_run`` holds each run's result.
        faces: unseen faces of the model's people (``factors["identity"]`` their index),
            with every factor in ``factors`` (int64: classes; float: R²).
        factors: the factors to read; must hold ``"identity"``.
        seed: the folds of the probes (the same folds for every run).
    """
    from sepviz.experiments.measures import pixel_codes, probe_estimate
    from sepviz.probes import extract_latents

    factors = tuple(factors)
    if "identity" not in factors:
        raise ValueError(f"factors must hold 'identity', got {list(factors)}")
    models = _models(model)
    codes = pixel_codes(faces.images)
    pixels = tuple(probe_estimate(codes, faces.factors[f], seed, kind="linear") for f in factors)
    chance = []
    for f in factors:
        labels = faces.factors[f]
        if labels.is_floating_point():
            chance.append(0.0)  # R² of predicting the mean
        else:
            counts = torch.unique(labels, return_counts=True)[1]
            chance.append(float(counts.max() / counts.sum()))
    runs = []
    for net in models:
        z = extract_latents(net, faces.images)
        latent = tuple(probe_estimate(z, faces.factors[f], seed, kind="linear") for f in factors)
        runs.append(IdentityProbe(factors, latent, pixels, tuple(chance)))
    return runs[0] if len(runs) == 1 else IdentityProbe.from_runs(runs)


@dataclass(frozen=True)
class LayerSwap(Result):
    """Decoder ``target`` with its first k blocks from decoder ``source``, k = 0..L, on faces
    of ``target``: PSNR (dB) of each column to the true ``target`` face (the input) and to
    the true ``source`` face (the swap's truth), and paired gains over the floors.

    A column *is* a person when its gain over that person's floor (what ignoring the input
    gives: the mean face, or for ``source`` the input itself if that is closer) lies
    above 0; *neither* when both gains lie below 0. A column above both floors is the person
    whose gain is better by more than :data:`~sepviz.experiments.DB_MARGIN`, else *both*.
    """

    source: str
    target: str
    to_target: tuple[Estimate, ...]
    to_source: tuple[Estimate, ...]
    gain_target: tuple[Estimate, ...]
    gain_source: tuple[Estimate, ...]
    floor_target: Estimate
    floor_source: Estimate

    @property
    def blocks(self) -> int:
        """L: the decoder's number of blocks (the table has L + 1 columns)."""
        return len(self.to_target) - 1

    @property
    def who(self) -> tuple[str, ...]:
        """Per column k: the person it is, ``"both"``, ``"neither"``, or
        ``"not distinguishable"``."""
        out = []
        for gt, gs in zip(self.gain_target, self.gain_source):
            if gt.above(0) and gs.above(0):
                order = compare(gt - gs, DB_MARGIN)
                both = {Order.BETTER: self.target, Order.WORSE: self.source}
                out.append(both.get(order, "both"))
            elif gt.above(0):
                out.append(self.target)
            elif gs.above(0):
                out.append(self.source)
            elif gt.below(0) and gs.below(0):
                out.append("neither")
            else:
                out.append("not distinguishable")
        return tuple(out)

    @property
    def verdict(self) -> str:
        who, last = self.who, self.blocks
        src, tgt = self.source, self.target
        partial = [k for k in range(1, last) if who[k] == src]
        mixed = [k for k in range(1, last) if who[k] == "neither"]
        ends = (
            f"k = 0 gives {who[0]}, k = {last} (all of decoder {src}) gives {who[last]} "
            f"({_signed(self.gain_source[last])} over {src}'s floor)."
        )
        neither = (
            f"With k = {_ks(mixed)} blocks taken from decoder {src}, the output is further "
            f"from the true {tgt} and from the true {src} than the floors are."
        )
        if partial:
            onward = partial == list(range(partial[0], last)) and who[last] == src
            where = f"from k = {partial[0]} of {last}" if onward else f"at k = {_ks(partial)}"
            head = (
                f"**{src} appears {where}**: with that many of decoder {src}'s blocks the "
                f"output is closer to the true {src} than its floor."
            )
            return " ".join([head, *([neither] if mixed else []), ends])
        whole = who[last] == src
        if mixed:
            alone = (
                f"only the whole decoder {src} gives {src}"
                if whole
                else f"not even the whole decoder {src} gives {src}"
            )
            return (
                f"**Mixed decoders give neither {tgt} nor {src}.** {neither} No column "
                f"between the two ends is {src}, and {alone}: this experiment cannot place "
                f"{src}'s identity in one block. {ends}"
            )
        if whole:
            return (
                f"**Only the whole decoder {src} gives {src}**: no column with fewer of its "
                f"blocks is {src}. {ends}"
            )
        return f"**No column becomes {src}**, even with every block swapped. {ends}"

    def table(self) -> str:
        rows = [
            (k, a, b, w)
            for k, (a, b, w) in enumerate(zip(self.to_target, self.to_source, self.who))
        ]
        rows.append(("floor", self.floor_target, self.floor_source, ""))
        header = (
            f"k (blocks from {self.source})",
            f"PSNR to the true {self.target}",
            f"PSNR to the true {self.source}",
            "the output is",
        )
        return markdown_table(header, rows)


def _ks(ks: Sequence[int]) -> str:
    return ", ".join(map(str, ks))


def layer_swap(
    model: DeepFakes,
    test: FaceSet,
    source: str = "B",
    target: str = "A",
    seed: int = 0,
) -> LayerSwap:
    """Decode ``test`` faces (all of person ``target``) with decoder ``target`` whose first k
    blocks come from decoder ``source`` (:func:`sepviz.grids.layer_swap_grid`), and compare
    each column with the true ``target`` (the input) and the true ``source``
    (:func:`sepviz.data.synthetic.swapped`). Each floor is the person's mean face over the
    truths; for ``source`` the input unchanged when that is closer on average.
    """
    from sepviz.data.synthetic import swapped
    from sepviz.grids import layer_swap_grid
    from sepviz.metrics import psnr

    truth_t, truth_s = test.images, swapped(test, source)
    grid = layer_swap_grid(model, test.images, source=source, target=target)
    floor_t = psnr(truth_t.mean(0, keepdim=True).expand_as(truth_t), truth_t)
    mean_s = psnr(truth_s.mean(0, keepdim=True).expand_as(truth_s), truth_s)
    input_s = psnr(truth_t, truth_s)
    floor_s = input_s if float(input_s.mean()) > float(mean_s.mean()) else mean_s
    to_t, to_s, gain_t, gain_s = [], [], [], []
    for k in range(grid.shape[1]):
        db_t, db_s = psnr(grid[:, k], truth_t), psnr(grid[:, k], truth_s)
        to_t.append(bootstrap_mean(db_t, "dB", seed))
        to_s.append(bootstrap_mean(db_s, "dB", seed))
        gain_t.append(paired_gain(db_t, floor_t, "dB", seed))
        gain_s.append(paired_gain(db_s, floor_s, "dB", seed))
    return LayerSwap(
        source=source,
        target=target,
        to_target=tuple(to_t),
        to_source=tuple(to_s),
        gain_target=tuple(gain_t),
        gain_source=tuple(gain_s),
        floor_target=bootstrap_mean(floor_t, "dB", seed),
        floor_source=bootstrap_mean(floor_s, "dB", seed),
    )


# -- does the swap keep the pose? ------------------------------------------------------------
POSE_KEPT = 1 - READ_SHARE
"""A swap *keeps* a factor of A's (the head's yaw, the smile, the light) when the whole
interval of the share that crosses (:attr:`PoseTransfer.crossed`) lies above 90%: less than a
tenth of A's factor is lost on the way, the share of the room
:data:`~sepviz.experiments.READ_SHARE` also leaves a reader."""

POSE_LOST = READ_SHARE
"""A swap *loses* a factor of A's when the whole interval of the share that crosses lies below
10%: less than a tenth of it reaches the swap, what *at chance* means for a reader."""

KEEPS, PARTLY, LOSES, UNDECIDED = "keeps", "keeps in part", "loses", "not distinguishable"
"""What :meth:`PoseTransfer.kept` says of a factor."""

TRANSFER_FACTORS = {"yaw": "pose (yaw)", "smile": "expression (smile)", "azimuth": "light"}
"""The factors :func:`pose_transfer` follows from A to the swap, and their names in words."""

_METER_FACES = 2000  # renders an expression meter is calibrated on
_METER_RIDGE = 1.0  # ridge penalty, in units of the mean pixel variance times the faces


@dataclass(frozen=True)
class PoseTransfer(OverRuns, Result):
    """A swap of A's turned faces against two truths: B at A's pose (the true swap) and B
    facing the camera, and how much of A's yaw, smile and light crosses to the swap.

    PSNRs (dB, means over faces): ``to_posed`` (the swap to the true B at A's pose),
    ``to_frontal`` (to B at yaw 0 and pitch 0 with A's expression and light), the baselines
    ``unchanged`` (the input) and ``mean_face`` (B's mean face), both against B at A's pose;
    ``gain``: the swap minus the better baseline, ``posed_minus_frontal``: ``to_posed`` minus
    ``to_frontal``, both paired over faces.

    ``crossed[k]`` (unit ``"%"``) for ``factors[k]``: the slope of a meter's reading of the
    swap on A's true factor, over the same meter's slope on the true B at A's pose (what a
    swap that keeps all of it reads): 100% all of A's factor crosses, 0% none. The meters:
    :func:`~sepviz.experiments.measures.yaw_meter` for the yaw,
    :func:`~sepviz.experiments.measures.measured_light` for the light's azimuth, a ridge
    regression calibrated on renders of B for the smile. ``r[k]``: Pearson's r of the swap's
    reading with A's factor, ``r_truth[k]`` the truth's. ``yaw_slope``: the swap's measured
    yaw per degree of A's (the truth's: ``truth_yaw_slope``).

    ``per_run``: one result per trained model when several were measured (empty for one):
    then the numbers of the swap are :func:`~sepviz.experiments.over_runs` of theirs and the
    baselines and the truths' numbers, which no model changes, are the first run's.
    """

    source: str
    target: str
    factors: tuple[str, ...]
    crossed: tuple[Estimate, ...]
    r: tuple[Estimate, ...]
    r_truth: tuple[Estimate, ...]
    yaw_slope: Estimate
    truth_yaw_slope: Estimate
    to_posed: Estimate
    to_frontal: Estimate
    unchanged: Estimate
    mean_face: Estimate
    gain: Estimate
    posed_minus_frontal: Estimate
    yaw_range: tuple[float, float]
    per_run: tuple[PoseTransfer, ...] = ()

    @classmethod
    def from_runs(cls, runs: Sequence[PoseTransfer]) -> PoseTransfer:
        """One result over training runs: ``runs`` holds one single-run result per trained
        model (2 or more), measured on the same faces."""
        if len(runs) < 2 or any(r.per_run for r in runs):
            raise ValueError(f"from_runs needs >= 2 single-run results, got {len(runs)}")
        first = runs[0]
        fields = combine_runs(runs)
        same = ("unchanged", "mean_face", "r_truth", "truth_yaw_slope")  # no model changes them
        fields |= {name: getattr(first, name) for name in same}
        return cls(**{**fields, "per_run": tuple(runs)})

    def transfer(self, factor: str = "yaw") -> Estimate:
        """The share of A's ``factor`` that crosses to the swap (a fraction, unit ``"%"``)."""
        if factor not in self.factors:
            raise ValueError(f"factor must be one of {self.factors}, got {factor!r}")
        return self.crossed[self.factors.index(factor)]

    def kept(self, factor: str = "yaw") -> str:
        """:data:`KEEPS` (the whole interval of :meth:`transfer` above :data:`POSE_KEPT`),
        :data:`LOSES` (below :data:`POSE_LOST`), :data:`PARTLY` (between the two bars) or
        :data:`UNDECIDED` (the interval covers a bar)."""
        share = self.transfer(factor)
        if share.low > POSE_KEPT:
            return KEEPS
        if share.high < POSE_LOST:
            return LOSES
        if share.low > POSE_LOST and share.high < POSE_KEPT:
            return PARTLY
        return UNDECIDED

    @property
    def baseline(self) -> str:
        """The baseline ``gain`` is measured against: the one with the higher mean PSNR."""
        if self.unchanged.value >= self.mean_face.value:
            return "the input unchanged"
        return f"{self.target}'s mean face"

    def _head(self) -> str:
        runs = runs_note(self.transfer("yaw"))
        state = self.kept("yaw")
        if state == KEEPS:
            return f"**The swap keeps A's pose{runs}.**"
        if state == LOSES:
            return f"**The swap does not keep A's pose{runs}**: it turns B's head its own way."
        if state == PARTLY:
            return f"**The swap keeps A's pose only in part{runs}.**"
        share = self.transfer("yaw")
        bars = [f"{b:.0%}" for b in (POSE_LOST, POSE_KEPT) if share.covers(b)]
        return f"**Not distinguishable** from the {' and the '.join(bars)} bar{runs}."

    def _pose(self) -> str:
        k = self.factors.index("yaw")
        lo, hi = self.yaw_range
        return (
            f"Of A's head turn ({lo:+.0f}° to {hi:+.0f}°), **{self.crossed[k]}** crosses to the "
            f"swap {self.source} → {self.target}: its measured yaw moves "
            f"{self.yaw_slope} degrees per degree of A's, against {self.truth_yaw_slope} for "
            f"the true {self.target} at A's pose (r = {self.r[k]}, the truth's "
            f"{self.r_truth[k]}). Keeping a factor needs more than {POSE_KEPT:.0%} over the "
            f"whole interval, losing it less than {POSE_LOST:.0%}."
        )

    def _others(self) -> str:
        others = [f for f in self.factors if f != "yaw"]
        if not others:
            return ""
        items = "; ".join(
            f"{TRANSFER_FACTORS.get(f, f)} {self.transfer(f)} ({self.kept(f)})" for f in others
        )
        return f"Next to it, of A's other factors: {items}."

    def _frontal(self) -> str:
        d, t = self.posed_minus_frontal, self.target
        facts = (
            f"the true {t} at A's pose {self.to_posed}, {t} facing the camera "
            f"{self.to_frontal}; paired difference {_signed(d)}"
        )
        order = compare(d, DB_MARGIN)
        if order is Order.BETTER:
            return (
                f"In PSNR the swap is closer to {t} at A's pose than facing the camera ({facts})."
            )
        if order is Order.WORSE:
            return (
                f"In PSNR the swap is closer to {t} facing the camera than at A's pose: it "
                f"straightens the head ({facts})."
            )
        if order is Order.EQUAL:
            return (
                f"In PSNR the swap is as close to {t} facing the camera as to {t} at A's pose, "
                f"within ±{DB_MARGIN:g} dB ({facts})."
            )
        return (
            f"In PSNR, whether the swap is closer to {t} at A's pose or facing the camera is "
            f"not distinguishable ({facts})."
        )

    def _works(self) -> str:
        if self.gain.above(WORKS_DB):
            said = "the swap works"
        elif self.gain.below(WORKS_DB):
            said = "the swap does not work"
        else:
            said = "not distinguishable from the bar"
        return (
            f"Against the true {self.target} at A's pose its gain over the better baseline, "
            f"{self.baseline}, is {_signed(self.gain)} (input unchanged {self.unchanged}, "
            f"{self.target}'s mean face {self.mean_face}; above {WORKS_DB:g} dB: {said})."
        )

    @property
    def verdict(self) -> str:
        parts = [self._head(), self._pose(), self._others(), self._frontal(), self._works()]
        return " ".join(p for p in parts if p)

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        k = self.factors.index("yaw")
        return {
            "share of A's yaw that crosses": (self.crossed[k], tuple(r.crossed[k] for r in runs)),
            f"swap to the true {self.target} at A's pose, PSNR": (
                self.to_posed,
                tuple(r.to_posed for r in runs),
            ),
            f"gain over the better baseline ({self.baseline})": (
                self.gain,
                tuple(r.gain for r in runs),
            ),
        }

    def table(self) -> str:
        runs = runs_note(self.to_posed)
        t = self.target
        rows = [
            (f"swap {self.source} → {t}{runs}", self.to_posed, self.to_frontal),
            ("baseline: input unchanged", self.unchanged, ""),
            (f"baseline: {t}'s mean face", self.mean_face, ""),
        ]
        psnr_table = markdown_table(
            ("prediction", f"PSNR to {t} at A's pose", f"PSNR to {t} facing the camera"), rows
        )
        crossing = [
            (TRANSFER_FACTORS.get(f, f), c, r, rt, self.kept(f))
            for f, c, r, rt in zip(self.factors, self.crossed, self.r, self.r_truth)
        ]
        header = (
            "A's factor",
            f"share that crosses{runs}",
            "r, swap",
            f"r, true {t}",
            "the swap",
        )
        return psnr_table + "\n" + markdown_table(header, crossing)


def frontal_truth(faces: FaceSet, target: str = "B") -> torch.Tensor:
    """The true ``target`` facing the camera (yaw 0, pitch 0) with each face's expression and
    light: :func:`~sepviz.data.synthetic.posed` of the swapped truth. (N, 3, S, S) in [0, 1]."""
    from sepviz.data.synthetic import IDENTITY_FACTORS, PERSONS, posed

    if target not in PERSONS:
        raise ValueError(f"target must be one of {sorted(PERSONS)}, got {target!r}")
    n, person = len(faces), PERSONS[target]
    identity = {name: person[i].expand(n).clone() for i, name in enumerate(IDENTITY_FACTORS)}
    return posed(FaceSet(faces.images, {**faces.factors, **identity}), 0.0, 0.0)


@functools.lru_cache(maxsize=8)
def _factor_meter(person: str, factor: str, size: int, seed: int = 0) -> tuple[Any, ...]:
    """A ridge regression from the pixels to ``factor``, calibrated on renders of ``person``
    with heads turned over the whole yaw range: ``(mean pixel, weights, mean factor)``. The
    dual form as :func:`~sepviz.experiments.measures.yaw_meter`'s (fewer faces than pixels)."""
    from sepviz.data.synthetic import YAW_RANGE, make_faces

    faces = make_faces(_METER_FACES, size, [person], seed=seed + 17, yaw=YAW_RANGE)
    x = faces.images.flatten(1).double()
    mean = x.mean(0)
    x = x - mean
    y = faces.factors[factor].double()
    ridge = _METER_RIDGE * float(x.var(0).mean()) * len(x)
    gram = x @ x.T + ridge * torch.eye(len(x), dtype=x.dtype)
    weights = x.T @ torch.linalg.solve(gram, y - y.mean())
    return mean, weights, float(y.mean())


def _reading(factor: str, images: torch.Tensor, person: str) -> np.ndarray:
    """What a meter reads of ``factor`` on ``images`` (N,): degrees of yaw, the light's
    left/right score, or the smile."""
    from sepviz.experiments.measures import measured_light, yaw_meter

    if factor == "yaw":
        return yaw_meter(images.shape[-1])(images).double().numpy()
    if factor == "azimuth":
        return measured_light(images).double().numpy()
    mean, weights, bias = _factor_meter(person, factor, images.shape[-1])
    return ((images.flatten(1).double() - mean) @ weights + bias).numpy()


def _slope_ratio(
    x: np.ndarray, swap: np.ndarray, truth: np.ndarray, seed: int
) -> tuple[Estimate, Estimate, Estimate]:
    """The slope of ``swap`` on ``x`` over that of ``truth`` on ``x`` (a share, ``"%"``), and
    the two slopes, with percentile-bootstrap intervals over the faces (paired resamples)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(BOOTSTRAP_SAMPLES, len(x)))

    def slope(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a = a - a.mean(-1, keepdims=True)
        return (a * (b - b.mean(-1, keepdims=True))).sum(-1) / (a * a).sum(-1)

    def estimate(value: float, boot: np.ndarray, unit: str) -> Estimate:
        tail = 100 * (1 - CONFIDENCE) / 2
        low, high = np.nanpercentile(boot, [tail, 100 - tail])
        return Estimate(float(value), float(low), float(high), unit)

    s, t = slope(x, swap), slope(x, truth)
    s_boot, t_boot = slope(x[idx], swap[idx]), slope(x[idx], truth[idx])
    return (
        estimate(s / t, s_boot / t_boot, "%"),
        estimate(s, s_boot, ""),
        estimate(t, t_boot, ""),
    )


def pose_transfer(
    model: Models,
    faces: FaceSet,
    target: str = "B",
    source: str = "A",
    reference: FaceSet | None = None,
    factors: Sequence[str] = tuple(TRANSFER_FACTORS),
    seed: int = 0,
) -> PoseTransfer:
    """Swap ``faces`` (all of person ``source``, heads turned) to ``target``: how much of the
    pose crosses, next to the expression and the light?

    Args:
        model: a trained DeepFakes with a decoder ``target`` (trained on turned heads:
            ``zoo.trained("deepfakes", yaw=(-30.0, 30.0), ...)``), or one per training run.
        faces: unseen faces of ``source`` with varied yaw (``factors["yaw"]``, e.g.
            ``make_faces(n, size, ["A"], seed=1, yaw=(-30.0, 30.0))``), 3 or more.
        target: the decoder, a name of :data:`~sepviz.data.synthetic.PERSONS`.
        reference: faces of ``target`` for the mean-face baseline (default: the truths).
        factors: the factors followed, keys of :data:`TRANSFER_FACTORS`; must hold ``"yaw"``.
        seed: the bootstraps.
    """
    from sepviz.data.synthetic import swapped
    from sepviz.experiments.measures import correlation
    from sepviz.metrics import psnr

    factors = tuple(factors)
    unknown = [f for f in factors if f not in TRANSFER_FACTORS]
    if "yaw" not in factors or unknown:
        raise ValueError(
            f"factors must hold 'yaw' and only {tuple(TRANSFER_FACTORS)}, got {factors}"
        )
    if "yaw" not in faces.factors:
        raise ValueError(
            "faces must have turned heads (factors['yaw']): make them with "
            "make_faces(..., yaw=(lo, hi)), lo < hi inside [-40, 40]"
        )
    if len(faces) < 3:
        raise ValueError(f"faces must hold at least 3 faces for a slope, got {len(faces)}")
    models = _models(model)
    truth = swapped(faces, target)  # B at A's pose, expression and light
    frontal = frontal_truth(faces, target)
    input_db = psnr(faces.images, truth)
    mean = (reference.images if reference is not None else truth).mean(0, keepdim=True)
    mean_db = psnr(mean.expand_as(truth), truth)
    best = input_db if float(input_db.mean()) >= float(mean_db.mean()) else mean_db
    yaw = faces.factors["yaw"]
    readings = {f: _reading(f, truth, target) for f in factors}
    runs = []
    for net in models:
        swap = net.swap(faces.images, target)
        posed_db, frontal_db = psnr(swap, truth), psnr(swap, frontal)
        crossed, r, r_truth, slopes = [], [], [], {}
        for f in factors:
            x = faces.factors[f].double().numpy()
            read = _reading(f, swap, target)
            share, swap_slope, truth_slope = _slope_ratio(x, read, readings[f], seed)
            slopes[f] = (swap_slope, truth_slope)
            crossed.append(share)
            r.append(correlation(x, read, seed))
            r_truth.append(correlation(x, readings[f], seed))
        runs.append(
            PoseTransfer(
                source=source,
                target=target,
                factors=factors,
                crossed=tuple(crossed),
                r=tuple(r),
                r_truth=tuple(r_truth),
                yaw_slope=slopes["yaw"][0],
                truth_yaw_slope=slopes["yaw"][1],
                to_posed=bootstrap_mean(posed_db, "dB", seed),
                to_frontal=bootstrap_mean(frontal_db, "dB", seed),
                unchanged=bootstrap_mean(input_db, "dB", seed),
                mean_face=bootstrap_mean(mean_db, "dB", seed),
                gain=paired_gain(posed_db, best, "dB", seed),
                posed_minus_frontal=paired_gain(posed_db, frontal_db, "dB", seed),
                yaw_range=(float(yaw.min()), float(yaw.max())),
            )
        )
    return runs[0] if len(runs) == 1 else PoseTransfer.from_runs(runs)
