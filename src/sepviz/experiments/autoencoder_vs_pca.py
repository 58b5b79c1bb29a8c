"""Chapter 2: does an autoencoder compress faces better than PCA, and at which latent sizes?

:func:`reconstruction_vs_size` reconstructs unseen faces through ``d`` numbers with a trained
:class:`~sepviz.models.AutoEncoder` and with PCA (the best *linear* ``d``-number code) for each
latent size ``d``, and compares them face by face: the PSNR of each with a bootstrap interval
over faces and the paired difference AE - PCA. Beside the verdict it reports whether each
autoencoder had stopped learning: the relative change of its training loss over the last 20%
of its steps (:func:`loss_change`).

It takes one set of autoencoders or one per training run (seed): with several, each headline
number (the autoencoder's PSNR and AE - PCA per size) is the mean over the runs with an
interval that holds both the run-to-run spread and the spread over faces
(:func:`~sepviz.experiments.over_runs`); the result's ``spreads()`` and ``spread_table()`` give
the two parts side by side. A run is the whole experiment again: the zoo's seed draws the
autoencoder's weights, its batches *and* its training faces (8 random people), so each run
comes with its own PCA, fitted on that run's faces (PCA has no training run of its own: it is
closed form), and its own test faces of those people.

The renderer (:mod:`sepviz.data.synthetic`) draws every face from :data:`TRUE_FACTORS`: about
10 numbers. A nonlinear code can hold them in about 10 numbers; a linear one needs more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import (
    DB_MARGIN,
    Estimate,
    Headlines,
    Order,
    OverRuns,
    Result,
    bootstrap_mean,
    compare,
    markdown_table,
    over_runs,
    paired_gain,
    runs_note,
)
from sepviz.models.autoencoder import AutoEncoder
from sepviz.models.pca import PCA

TRUE_FACTORS = {"identity": 5, "expression": 3, "light": 2}
"""The factors the renderer draws each face from: 10 numbers in all."""
TAIL = 0.2  # the convergence check looks at the last 20% of the training steps
PLATEAU = 0.05  # a loss that changes by less than 5% over that tail has (nearly) converged
_UNSURE = Order.NOT_DISTINGUISHABLE
_SAYS = {
    Order.BETTER: "the autoencoder better",
    Order.WORSE: "PCA better",
    Order.EQUAL: "equal",
    _UNSURE: "not distinguishable",
}
"""How the verdict names each answer of AE - PCA (:func:`~sepviz.experiments.compare`)."""

Autoencoders = Mapping[int, AutoEncoder]
"""``{latent size d: trained AutoEncoder with latent_dim d}``: one training run."""


def _images(faces: FaceSet | torch.Tensor) -> torch.Tensor:
    return faces.images if isinstance(faces, FaceSet) else faces


def loss_change(model: Any, name: str = "reconstruction", tail: float = TAIL) -> float | None:
    """Relative change of a training loss over the last ``tail`` of the steps.

    ``L_end / L_start - 1``, where ``L_end`` is the mean of the last 5% of the recorded losses
    and ``L_start`` the mean of the 5% just before the tail begins (means smooth the noise of
    single batches). Negative: the loss was still falling (-0.10: it fell by 10%). ``None``
    when the model has no ``history`` (a model not trained with ``fit``, or saved without
    it).
    """
    history = getattr(model, "history", None)
    if history is None or not history.losses.get(name):
        return None
    loss = torch.tensor(history.losses[name], dtype=torch.float64)
    n = len(loss)
    window = max(1, n // 20)
    begin = min(max(window, round(n * (1 - tail))), n - 1)
    start = loss[max(0, begin - window) : begin].mean()
    end = loss[-window:].mean()
    return float(end / start - 1)


def fit_pca(train: FaceSet | torch.Tensor, latent_dim: int) -> PCA:
    """PCA with ``latent_dim`` components fitted to the training faces (N, 3, S, S) in [0, 1].

    PCA is nested, so one fit with the largest size serves every smaller one
    (:meth:`PCA.truncated`)."""
    x = _images(train)
    pca = PCA(image_size=int(x.shape[-1]), latent_dim=latent_dim)
    pca.fit(x)
    return pca


def trained_autoencoders(
    sizes: Sequence[int], budget: str = "quick", seed: int = 0, **zoo_kwargs: Any
) -> dict[int, AutoEncoder]:
    """``{d: AutoEncoder}`` for each latent size ``d`` in ``sizes``, from
    :func:`sepviz.zoo.trained` with the budget's settings (trained once, then loaded from the
    cache with its training History). ``zoo_kwargs`` go to ``trained`` (``cache``,
    ``progress``)."""
    from sepviz import zoo

    settings = {**zoo.settings(budget), **zoo_kwargs}
    return {
        int(d): zoo.trained("autoencoder", seed=seed, latent_dim=int(d), **settings) for d in sizes
    }


@dataclass(frozen=True)
class AutoencoderVsPCA(OverRuns, Result):
    """Held-out PSNR (dB) of both models per latent size, and the paired gain AE - PCA.

    Per size the verdict judges AE - PCA with :func:`~sepviz.experiments.compare` and
    :data:`~sepviz.experiments.DB_MARGIN` (:attr:`orders`): the autoencoder better, PCA
    better, equal, or not distinguishable; a crossover is named only where the numbers hold
    one (:attr:`crossovers`).

    ``loss_change[i]``: relative change of autoencoder i's training loss over the last 20% of
    its steps (None: the model has no training history). ``shorter_gain[i]``: AE - PCA for
    autoencoders trained ``shorter_steps`` steps (half as long), or None.
    ``variance_kept[i]``: share of the training faces' pixel variance the first ``sizes[i]``
    PCA components hold.

    ``per_run``: one result per training run when several were measured (empty for one):
    then ``autoencoder`` and ``gain`` are :func:`~sepviz.experiments.over_runs` of theirs
    (their ``runs`` field says how many), and so is ``pca`` when the runs' PCAs differ (each
    fitted on its run's training faces; one PCA on the same faces in every run stays as it
    is); ``variance_kept`` is the mean over the runs, ``loss_change[i]`` the run furthest from
    a plateau at size i (the largest change), and ``shorter_gain`` belongs to the first run
    (its autoencoders trained half as long), whose own ``gain`` it is compared with.
    """

    sizes: tuple[int, ...]
    autoencoder: tuple[Estimate, ...]
    pca: tuple[Estimate, ...]
    gain: tuple[Estimate, ...]
    variance_kept: tuple[float, ...]
    ae_parameters: tuple[int, ...]
    pca_parameters: tuple[int, ...]
    loss_change: tuple[float | None, ...]
    steps: tuple[int | None, ...]
    shorter_gain: tuple[Estimate, ...] | None = None
    shorter_steps: int | None = None
    per_run: tuple[AutoencoderVsPCA, ...] = ()

    @classmethod
    def from_runs(cls, runs: Sequence[AutoencoderVsPCA]) -> AutoencoderVsPCA:
        """One result over training runs: ``runs`` holds one single-run result per training
        run (2 or more), at the same latent sizes; the first may hold the half-length check."""
        if len(runs) < 2 or any(r.per_run for r in runs):
            raise ValueError(f"from_runs needs >= 2 single-run results, got {len(runs)}")
        first = runs[0]
        if any(r.sizes != first.sizes for r in runs):
            raise ValueError(f"every run needs the latent sizes {list(first.sizes)}")
        if any(r.shorter_gain is not None for r in runs[1:]):
            raise ValueError("only the first run may hold the half-length check (shorter_gain)")
        n = len(first.sizes)

        def combined(name: str) -> tuple[Estimate, ...]:
            return tuple(over_runs([getattr(r, name)[i] for r in runs]) for i in range(n))

        same_pca = all(r.pca == first.pca for r in runs)
        return cls(
            sizes=first.sizes,
            autoencoder=combined("autoencoder"),
            pca=first.pca if same_pca else combined("pca"),
            gain=combined("gain"),
            variance_kept=tuple(
                sum(r.variance_kept[i] for r in runs) / len(runs) for i in range(n)
            ),
            ae_parameters=first.ae_parameters,
            pca_parameters=first.pca_parameters,
            loss_change=tuple(_furthest([r.loss_change[i] for r in runs]) for i in range(n)),
            steps=first.steps,
            shorter_gain=first.shorter_gain,
            shorter_steps=first.shorter_steps,
            per_run=tuple(runs),
        )

    @property
    def runs(self) -> int:
        """How many training runs the headline numbers hold (1: one set of autoencoders)."""
        return len(self.per_run) or 1

    @property
    def orders(self) -> tuple[Order, ...]:
        """Per latent size: AE - PCA against :data:`~sepviz.experiments.DB_MARGIN`
        (:func:`~sepviz.experiments.compare`): BETTER, the autoencoder beats PCA; WORSE, PCA
        beats it; EQUAL, within the margin; NOT_DISTINGUISHABLE, the interval covers it."""
        return tuple(compare(g, DB_MARGIN) for g in self.gain)

    def _sizes(self, order: Order) -> list[int]:
        return [d for d, o in zip(self.sizes, self.orders) if o is order]

    @property
    def ae_wins(self) -> list[int]:
        """Latent sizes where the autoencoder beats PCA: the whole interval of AE - PCA lies
        above the margin."""
        return self._sizes(Order.BETTER)

    @property
    def pca_wins(self) -> list[int]:
        """Latent sizes where PCA beats the autoencoder (AE - PCA below minus the margin)."""
        return self._sizes(Order.WORSE)

    @property
    def ties(self) -> list[int]:
        """Latent sizes where neither wins: equal within the margin, or not distinguishable."""
        return [d for d, o in zip(self.sizes, self.orders) if o in (Order.EQUAL, _UNSURE)]

    @property
    def moved(self) -> list[int]:
        """Latent sizes whose answer for the autoencoders trained half as long is another than
        for the same run's full-length ones (:attr:`orders`, or the first run's with several
        runs); empty when that was not measured."""
        if self.shorter_gain is None:
            return []
        return [
            d
            for d, a, b in zip(self.sizes, self._full_gain, self.shorter_gain)
            if compare(a, DB_MARGIN) is not compare(b, DB_MARGIN)
        ]

    @property
    def _full_gain(self) -> tuple[Estimate, ...]:
        """AE - PCA of the autoencoders the half-length check is set against: the first run's
        (the shorter ones are that run's seed)."""
        return self.per_run[0].gain if self.per_run else self.gain

    @property
    def holds_when_shorter(self) -> bool | None:
        """Whether the autoencoders trained half as long get the same answer at every size as
        the same run's full-length ones (None: not measured)."""
        return None if self.shorter_gain is None else not self.moved

    @property
    def crossovers(self) -> list[tuple[int, int]]:
        """Neighbouring latent sizes ``(d, d')`` between which the answer changes and both
        answers are decided: one model better at one size, and the other better or the two
        equal at the next (:attr:`orders`). A NOT_DISTINGUISHABLE size on either side
        establishes no crossover."""
        pairs = zip(self.sizes, self.orders, self.sizes[1:], self.orders[1:])
        return [(d, e) for d, a, e, b in pairs if a is not b and _UNSURE not in (a, b)]

    @property
    def converged(self) -> bool | None:
        """Every autoencoder's loss changed by less than 5% over its last 20% of steps
        (None: some model has no history)."""
        if any(c is None for c in self.loss_change):
            return None
        return all(abs(c) < PLATEAU for c in self.loss_change)  # type: ignore[arg-type]

    def _gains(self, sizes: Sequence[int], gains: Sequence[Estimate] | None = None) -> str:
        """The paired gains AE - PCA at ``sizes``: "+4.9 dB ± 0.2" or "d = 4: ..., d = 8: ..."."""
        by_size = dict(zip(self.sizes, gains if gains is not None else self.gain))
        if len(sizes) == 1:
            return _signed(by_size[sizes[0]])
        return "; ".join(f"d = {d}: {_signed(by_size[d])}" for d in sizes)

    @property
    def verdict(self) -> str:
        margin = f"{DB_MARGIN:g} dB"
        runs = runs_note(self.gain[0])
        lines = []
        if self.ae_wins:
            lines.append(
                f"**The autoencoder beats PCA at {_list(self.ae_wins)}{runs}** "
                f"(AE - PCA {self._gains(self.ae_wins)} of PSNR on unseen faces, more than "
                f"the {margin} margin)."
            )
        if self.pca_wins:
            lines.append(
                f"**PCA beats the autoencoder at {_list(self.pca_wins)}{runs}** "
                f"(AE - PCA {self._gains(self.pca_wins)}, below -{margin})."
            )
        equal = self._sizes(Order.EQUAL)
        if equal:
            lines.append(
                f"**Equal within {margin}** at {_list(equal)}{runs} "
                f"(AE - PCA {self._gains(equal)})."
            )
        unsure = self._sizes(_UNSURE)
        if unsure:
            lines.append(
                f"**Not distinguishable** at {_list(unsure)}{runs}: the interval of AE - PCA "
                f"covers the ±{margin} margin ({self._gains(unsure)})."
            )
        parts = [" ".join(lines), self._factors(), self._convergence()]
        return "\n\n".join(part for part in parts if part)

    def _factors(self) -> str:
        """Where the answer changes, against the renderer's number of true factors: a sentence
        only when the numbers hold a crossover, or one model wins at every size."""
        n = sum(TRUE_FACTORS.values())
        parts = ", ".join(f"{k} {name}" for name, k in TRUE_FACTORS.items())
        factors = f"the renderer's ~{n} true factors ({parts})"
        below, above = [d for d in self.sizes if d < n], [d for d in self.sizes if d > n]
        if len(self.ae_wins) == len(self.sizes) and below and above:
            return (
                f"The autoencoder wins at every size tried, below and above {factors}: no "
                "crossover within the sizes tried."
            )
        if len(self.pca_wins) == len(self.sizes) and below:
            return f"PCA wins at every size tried, also below {factors}: no crossover."
        crossovers = self.crossovers
        if not crossovers:
            return ""
        between, moves = [], []
        for low, high in crossovers:
            i, j = self.sizes.index(low), self.sizes.index(high)
            between.append(
                f"between d = {low} ({_SAYS[self.orders[i]]}) and d = {high} "
                f"({_SAYS[self.orders[j]]})"
            )
            pca = self.pca[j].value - self.pca[i].value
            ae = self.autoencoder[j].value - self.autoencoder[i].value
            moves.append(
                f"from d = {low} to d = {high} PCA gains {pca:+.1f} dB and the autoencoder "
                f"{ae:+.1f} dB"
            )
        brackets = [(low, high) for low, high in crossovers if low < n <= high]
        if len(crossovers) == 1:
            where = f"which {'brackets' if brackets else 'does not bracket'} {factors}"
        elif brackets:
            low, high = brackets[0]
            where = f"the one between d = {low} and d = {high} brackets {factors}"
        else:
            where = f"none brackets {factors}"
        moved = "; ".join(moves)
        return f"The answer crosses over {' and '.join(between)}, {where}. F{moved[1:]}."

    def _convergence(self) -> str:
        return " ".join(part for part in (self._loss_change(), self._shorter()) if part)

    def _loss_change(self) -> str:
        changes = [
            f"{100 * c:+.0f}% (d = {d})"
            for d, c in zip(self.sizes, self.loss_change)
            if c is not None
        ]
        if not changes:
            return "*Convergence not checked*: the autoencoders came without a training history."
        steps = {s for s in self.steps if s}
        its, whose = (
            ("their", "the autoencoders'") if self.per_run else ("its", "the autoencoder's")
        )
        over = f"of {its} {steps.pop():,} steps" if len(steps) == 1 else f"of {its} steps"
        which = (
            f" (at each size the run furthest from a plateau, of {self.runs} training runs)"
            if self.per_run
            else ""
        )
        head = (
            f"*Convergence*: {whose} training loss changed by {', '.join(changes)} "
            f"over the last {TAIL:.0%} {over}{which}"
        )
        still = [
            d for d, c in zip(self.sizes, self.loss_change) if c is not None and abs(c) >= PLATEAU
        ]
        if not still:
            return f"{head}: less than {PLATEAU:.0%}, near a plateau."
        return (
            f"{head}: at {_list(still)} more than {PLATEAU:.0%}, still learning, so the "
            "answer there holds for this training budget."
        )

    def _shorter(self) -> str:
        if self.shorter_gain is None:
            return ""
        steps = f"{self.shorter_steps:,} steps" if self.shorter_steps else "fewer steps"
        gains = self._gains(list(self.sizes), self.shorter_gain)
        # with several runs only the first run's autoencoders were also trained half as long
        who = " (the first training run's autoencoders)" if self.per_run else ""
        full = " as that run's full-length ones" if self.per_run else ""
        against = ", against that run's full-length ones" if self.per_run else ""
        if not self.moved:
            return (
                f"Trained for {steps}{who}, AE - PCA was {gains}: the same answer at every "
                f"size{full}."
            )
        changed = "; ".join(
            f"d = {d}: {_SAYS[compare(g, DB_MARGIN)]} instead of {_SAYS[compare(f, DB_MARGIN)]}"
            for d, g, f in zip(self.sizes, self.shorter_gain, self._full_gain)
            if d in self.moved
        )
        return (
            f"Trained for {steps}{who}, AE - PCA was {gains}: **another answer at "
            f"{_list(self.moved)}** ({changed}{against}), so there the answer depends on the "
            "training budget."
        )

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        out: Headlines = {}
        for i, d in enumerate(self.sizes):
            out[f"autoencoder PSNR, d = {d}"] = (
                self.autoencoder[i],
                tuple(r.autoencoder[i] for r in runs),
            )
            if self.pca[i].runs > 1:  # one PCA per run: its spread over the runs too
                out[f"PCA PSNR, d = {d}"] = (self.pca[i], tuple(r.pca[i] for r in runs))
            out[f"AE - PCA, d = {d}"] = (self.gain[i], tuple(r.gain[i] for r in runs))
        return out

    def table(self) -> str:
        rows = [
            (
                d,
                p,
                a,
                _signed(g),
                _SAYS[o],
                f"{v:.1%}",
                "n/a" if c is None else f"{100 * c:+.1f}%",
                f"{na:,} / {np:,}",
            )
            for d, p, a, g, o, v, c, na, np in zip(
                self.sizes,
                self.pca,
                self.autoencoder,
                self.gain,
                self.orders,
                self.variance_kept,
                self.loss_change,
                self.ae_parameters,
                self.pca_parameters,
            )
        ]
        header = (
            "d",
            "PCA PSNR",
            "AE PSNR",
            "AE - PCA (paired)",
            f"answer (±{DB_MARGIN:g} dB)",
            "PCA variance kept",
            f"AE loss change, last {TAIL:.0%}",
            "numbers stored AE / PCA",
        )
        if self.per_run:  # said once above the table, so its columns stay narrow
            pca = "PSNRs" if self.pca[0].runs > 1 else "AE PSNR"  # one PCA: over faces only
            note = (
                f"*Over {len(self.per_run)} training runs: the {pca} and the gain are means "
                "with intervals that hold both spreads, the variance kept is the mean, and "
                "the loss change is the run furthest from a plateau.*\n\n"
            )
            return note + markdown_table(header, rows)
        return markdown_table(header, rows)

    def plot(self, ax: Any = None) -> Any:
        """PSNR against the latent size (log scale) for both, with 95% intervals and the
        number of true factors marked; returns the figure."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4))
        for name, values, marker in (
            ("PCA (linear)", self.pca, "o-"),
            ("autoencoder", self.autoencoder, "s-"),
        ):
            err = [[e.value - e.low for e in values], [e.high - e.value for e in values]]
            mid = [e.value for e in values]
            ax.errorbar(self.sizes, mid, yerr=err, fmt=marker, capsize=3, label=name)
        n = sum(TRUE_FACTORS.values())
        ax.axvline(n, color="grey", ls="--", lw=1, label=f"{n} true factors")
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(self.sizes), [str(d) for d in self.sizes])
        ax.minorticks_off()
        ax.set_xlabel("latent size d (numbers per face)")
        ax.set_ylabel("PSNR on unseen faces (dB)")
        ax.set_title("Reconstruction through d numbers")
        ax.grid(alpha=0.3)
        ax.legend()
        ax.figure.tight_layout()
        return ax.figure


def _signed(e: Estimate) -> str:
    return f"+{e}" if e.value >= 0 else str(e)


def _list(sizes: Sequence[int]) -> str:
    return "d = " + ", ".join(str(d) for d in sizes)


def _one(item: Any) -> Any:
    """``item``, or the only element of a sequence of one (a PCA or a test set per run)."""
    if isinstance(item, (PCA, FaceSet, torch.Tensor)):
        return item
    items = list(item)
    if len(items) != 1:
        raise ValueError(
            f"one set of autoencoders needs one PCA and one test set, got {len(items)}"
        )
    return items[0]


def _per_run(item: Any, runs: int, name: str) -> list[Any]:
    """``item`` once per run (one PCA or test set for all), or its ``runs`` elements."""
    if isinstance(item, (PCA, FaceSet, torch.Tensor)):
        return [item] * runs
    items = list(item)
    if len(items) != runs:
        raise ValueError(f"{name} needs one entry per training run ({runs}), got {len(items)}")
    return items


def _furthest(changes: Sequence[float | None]) -> float | None:
    """The change furthest from 0 (the run furthest from a plateau); None when no run had a
    training history."""
    known = [c for c in changes if c is not None]
    return max(known, key=abs) if known else None


def reconstruction_vs_size(
    autoencoders: Autoencoders | Sequence[Autoencoders],
    pca: PCA | Sequence[PCA],
    test: FaceSet | torch.Tensor | Sequence[FaceSet | torch.Tensor],
    seed: int = 0,
    shorter: Autoencoders | None = None,
) -> AutoencoderVsPCA:
    """Reconstruct ``test`` faces through each latent size with both models.

    Args:
        autoencoders: ``{d: trained AutoEncoder with latent_dim d}``
            (e.g. :func:`trained_autoencoders`), or a sequence of them, one per training run:
            then the headline numbers are the mean over the runs
            (:func:`~sepviz.experiments.over_runs`) and ``per_run`` holds each run's result.
        pca: a fitted :class:`PCA` with at least ``max(d)`` components (:func:`fit_pca`),
            fitted on the same training faces; truncated to each ``d``. With several runs,
            one PCA per run (each fitted on that run's training faces), or one for all.
        test: unseen faces, (M, 3, S, S) in [0, 1] (or a FaceSet). With several runs, one
            set per run (unseen faces of that run's people), or one for all.
        seed: the bootstrap.
        shorter: the same autoencoders trained for fewer steps (``{d: AutoEncoder}``, the
            same sizes), or None: the verdict says whether they win and lose at the same sizes.
            With several runs, those of the first run.
    """
    from sepviz.metrics import psnr

    if not isinstance(autoencoders, Mapping):
        runs = list(autoencoders)
        if not runs:
            raise ValueError("autoencoders is an empty sequence: give {d: model} or one per run")
        if len(runs) == 1:
            return reconstruction_vs_size(runs[0], _one(pca), _one(test), seed, shorter)
        pcas, tests = _per_run(pca, len(runs), "pca"), _per_run(test, len(runs), "test")
        return AutoencoderVsPCA.from_runs(
            [
                reconstruction_vs_size(a, p, t, seed, shorter if r == 0 else None)
                for r, (a, p, t) in enumerate(zip(runs, pcas, tests))
            ]
        )
    pca, test = _one(pca), _one(test)
    x = _images(test)
    sizes = sorted(int(d) for d in autoencoders)
    if not sizes:
        raise ValueError("autoencoders is empty: give {latent_size: model}")
    if max(sizes) > pca.latent_dim:
        raise ValueError(
            f"pca has {pca.latent_dim} components; the largest latent size is {max(sizes)}"
        )
    ae_db, pca_db, gains, kept, n_ae, n_pca, changes, steps = ([] for _ in range(8))
    pca_scores: dict[int, torch.Tensor] = {}
    for d in sizes:
        ae, linear = autoencoders[d], pca.truncated(d)
        if ae.latent_dim != d:
            raise ValueError(f"autoencoders[{d}] has latent_dim {ae.latent_dim}, not {d}")
        a = psnr(ae.batched(ae.reconstruct, x), x)
        p = pca_scores[d] = psnr(linear.batched(linear.reconstruct, x), x)
        ae_db.append(bootstrap_mean(a, "dB", seed))
        pca_db.append(bootstrap_mean(p, "dB", seed))
        gains.append(paired_gain(a, p, "dB", seed))
        kept.append(float(linear.explained_variance_ratio.sum()))
        n_ae.append(ae.n_parameters())
        n_pca.append(linear.n_parameters())
        changes.append(loss_change(ae))
        history = ae.history
        steps.append(history.steps[-1] + 1 if history is not None and history.steps else None)
    shorter_gain, shorter_steps = None, None
    if shorter is not None:
        if sorted(int(d) for d in shorter) != sizes:
            raise ValueError(f"shorter must have the latent sizes {sizes}, got {sorted(shorter)}")
        shorter_gain = tuple(
            paired_gain(
                psnr(shorter[d].batched(shorter[d].reconstruct, x), x), pca_scores[d], "dB", seed
            )
            for d in sizes
        )
        history = shorter[sizes[0]].history
        shorter_steps = history.steps[-1] + 1 if history is not None and history.steps else None
    return AutoencoderVsPCA(
        sizes=tuple(sizes),
        autoencoder=tuple(ae_db),
        pca=tuple(pca_db),
        gain=tuple(gains),
        variance_kept=tuple(kept),
        ae_parameters=tuple(n_ae),
        pca_parameters=tuple(n_pca),
        loss_change=tuple(changes),
        steps=tuple(steps),
        shorter_gain=shorter_gain,
        shorter_steps=shorter_steps,
    )
