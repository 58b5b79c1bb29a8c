"""Chapter 4: does a FaderNet's adversary remove the light from its latent, and what does the
slider on y do?

- :func:`light_removal`: probes (standardised linear, whitened linear, MLP) read the light
  class from the latents of unseen faces, for each adversary weight lambda, next to a probe
  on the faces' pixels (PCA of pixels) and chance; plus the reconstruction each model pays.
  One model per lambda, or one per training run (seed): the headline numbers then hold over
  runs (:func:`~sepviz.experiments.over_runs`).
- :func:`factors_kept`: what the adversary takes besides the light (expression, elevation).
- the slider against the renderer's truth: :func:`sepviz.experiments.measures.slider_check`.

Words are the package's (:mod:`sepviz.experiments`): a probe *reads* the light when its whole
interval lies above :func:`~sepviz.experiments.read_bar`; the light is *removed* when every
probe is at or below chance; *hidden* when a weaker probe is blind to it while a stronger one
reads it (probes ranked as :data:`PROBES` lists them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import (
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
    read_bar,
    reading,
    removed,
    runs_note,
)
from sepviz.experiments.measures import fold_estimate, pixel_codes, probe_estimate
from sepviz.models.fadernet import FaderNet

PROBES = ("linear", "whitened linear", "MLP")
"""The three probes of the chapter, weakest to strongest, as chapter 5's ladder ranks them:
"weaker" and "stronger" mean this order, not the scores."""

R2_MARGIN = READ_SHARE
"""Two R² of a factor are *equal* within a tenth of the room between chance (0) and a perfect
read-out (1): the share :data:`~sepviz.experiments.READ_SHARE` that makes a probe *read*."""


def _pretty(factor: str) -> str:
    return factor.replace("_", " ")


def _and(names: Sequence[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _verb(names: Sequence[str], one: str, many: str) -> str:
    return one if len(names) == 1 else many


def _probes(names: Sequence[str]) -> str:
    return _verb(names, "probe", "probes")


@dataclass(frozen=True)
class LightRemoval(OverRuns, Result):
    """Probe accuracies (light class, held-out folds) and reconstruction for each lambda.

    With several training runs (``per_run``: one single-run result each), every Estimate
    holds all of them (:func:`~sepviz.experiments.over_runs`), ``chance`` is their mean, and
    :meth:`spread` shows the part of each interval that comes from the runs.
    """

    lambdas: tuple[float, ...]
    linear: tuple[Estimate, ...]
    mlp: tuple[Estimate, ...]
    whitened: tuple[Estimate, ...]
    psnr: tuple[Estimate, ...]
    pixels: Estimate
    chance: float
    per_run: tuple[LightRemoval, ...] = ()
    converged: bool = True  # every MLP probe stopped before its iteration limit

    @classmethod
    def over_runs(cls, per_run: Sequence[LightRemoval]) -> LightRemoval:
        """One result over training runs (2 or more single-run results, the same lambdas)."""
        if len(per_run) < 2:
            raise ValueError(f"per_run needs at least 2 training runs, got {len(per_run)}")
        fields = combine_runs([dataclasses.replace(r, per_run=()) for r in per_run])
        return cls(**{**fields, "per_run": tuple(per_run)})  # type: ignore[arg-type]

    @property
    def runs(self) -> int:
        return max(1, len(self.per_run))

    @property
    def cost(self) -> Estimate:
        """Reconstruction lost to the adversary: PSNR at lambda 0 minus at the largest lambda
        (over runs: the mean of each run's cost, with the runs' spread)."""
        if self.per_run:
            return over_runs([r.cost for r in self.per_run])
        return self.psnr[0] - self.psnr[-1]

    def probes(self, at: int = -1) -> tuple[Estimate, ...]:
        """The three probes' scores at lambda number ``at``, in :data:`PROBES` order."""
        return self.linear[at], self.whitened[at], self.mlp[at]

    def readings(self, at: int = -1) -> tuple[Reading, ...]:
        """What each probe's interval says at lambda number ``at`` (:data:`PROBES` order)."""
        return tuple(reading(e, self.chance) for e in self.probes(at))

    @property
    def verdict(self) -> str:
        lam, chance = self.lambdas[-1], self.chance
        readings = self.readings()
        reads = [p for p, r in zip(PROBES, readings) if r.reads]
        unsure = [p for p, r in zip(PROBES, readings) if r is Reading.NOT_DISTINGUISHABLE]
        blind = [p for p, r in zip(PROBES, readings) if r.blind]
        low = min((i for i, r in enumerate(readings) if r.reads), default=0)
        hidden_from = [p for p, r in zip(PROBES[:low], readings[:low]) if r.blind]
        said: list[str] = []  # probes the head names as not distinguishable
        if removed(readings):
            head = "**Removed**: every probe is at or below chance."
        elif len(reads) == len(PROBES):
            head = "**The light is not removed**: every probe reads it."
        elif hidden_from:
            head = (
                f"**Hidden, not removed.** The {_and(hidden_from)} {_probes(hidden_from)} "
                f"{_verb(hidden_from, 'is', 'are')} blind to the light (at or below chance), "
                f"but the {_and(reads)} {_probes(reads)} {_verb(reads, 'reads', 'read')} it: "
                "the light left the weaker reader's sight, not the latent."
            )
        elif reads:
            head = (
                f"**Not removed**: the {_and(reads)} {_probes(reads)} still "
                f"{_verb(reads, 'reads', 'read')} the light."
            )
            below = said = [p for p in unsure if PROBES.index(p) < low]
            if below:
                covers = _verb(below, "its interval covers", "their intervals cover")
                head += (
                    f" Whether it is hidden from the {_and(below)} {_probes(below)} is not "
                    f"distinguishable: {covers} the bar."
                )
        else:
            head = (
                f"**Not shown removed**: no probe reads the light, but the {_and(unsure)} "
                f"{_probes(unsure)} {_verb(unsure, 'is', 'are')} not distinguishable from the "
                "bar."
            )
        phrase = {
            Reading.READS: "reads the light at **{}**",
            Reading.NOT_DISTINGUISHABLE: "scores **{}**, not distinguishable from the bar",
            Reading.AT_CHANCE: "is at chance: **{}**",
            Reading.BELOW_CHANCE: "scores **{}**, below chance",
        }
        names = ("a linear probe", "the same probe on *whitened* latents", "an MLP probe")
        parts = [
            f"{name} {phrase[r].format(e)}" for name, r, e in zip(names, readings, self.probes())
        ]
        facts = (
            f"With λ = {lam:g}{runs_note(self.linear[-1])}, {parts[0]}; {parts[1]}; "
            f"{parts[2]} (chance {chance:.0%}; reading needs more than "
            f"{read_bar(chance):.0%})."
        )
        if len(self.lambdas) > 1:
            facts += f" At λ = 0 the linear probe reads {self.linear[0]}"
        else:
            facts += " The linear probe reads"
        facts += f" and the same probe on the pixels {self.pixels}."
        notes = []
        unsure = [p for p in unsure if p not in said]
        if unsure and reads:
            notes.append(
                f"The {_and(unsure)} {_probes(unsure)} {_verb(unsure, 'is', 'are')} not "
                "distinguishable from the bar."
            )
        above = [p for p in blind if reads and PROBES.index(p) > PROBES.index(reads[0])]
        if above:
            notes.append(
                f"The {_and(above)} {_probes(above)}, stronger on the ladder, "
                f"{_verb(above, 'misses', 'miss')} what the {reads[0]} probe reads: a probe's "
                "score is a lower bound on what the latent holds."
            )
        if not self.converged:
            notes.append("An MLP probe stopped at its iteration limit without converging.")
        cost = ""
        if len(self.lambdas) > 1:
            paid, order = self.cost, compare(self.cost, DB_MARGIN)
            if order is Order.WORSE:  # a negative cost: say what it gains
                paid = Estimate(-paid.value, -paid.high, -paid.low, paid.unit, paid.runs)
            verb = {
                Order.BETTER: "pays",
                Order.WORSE: "gains",
                Order.EQUAL: f"pays nothing beyond {DB_MARGIN:g} dB:",
                Order.NOT_DISTINGUISHABLE: "pays a cost not distinguishable from zero:",
            }[order]
            cost = (
                f"Reconstruction {verb} {paid} ({self.psnr[0]} at λ = 0 → "
                f"{self.psnr[-1]} at λ = {lam:g})."
            )
        return " ".join(x for x in (head, facts, *notes, cost) if x)

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        lam = f"λ = {self.lambdas[-1]:g}"
        return {
            f"linear probe, {lam}": (self.linear[-1], tuple(r.linear[-1] for r in runs)),
            f"whitened linear probe, {lam}": (
                self.whitened[-1],
                tuple(r.whitened[-1] for r in runs),
            ),
            f"MLP probe, {lam}": (self.mlp[-1], tuple(r.mlp[-1] for r in runs)),
            "reconstruction cost": (self.cost, tuple(r.cost for r in runs)),
        }

    def table(self) -> str:
        rows = [
            (f"{lam:g}", lin, mlp, wh, f"{self.chance:.0%}", q)
            for lam, lin, mlp, wh, q in zip(
                self.lambdas, self.linear, self.mlp, self.whitened, self.psnr
            )
        ]
        rows.append(("pixels (PCA)", self.pixels, "", "", f"{self.chance:.0%}", ""))
        header = ("λ", "linear", "MLP", "whitened linear", "chance", "PSNR")
        return markdown_table(header, rows)

    def plot(self, ax: object = None) -> object:
        """Probe accuracy against lambda, with intervals, chance and the bar a probe must
        clear to read (:func:`~sepviz.experiments.read_bar`); returns the figure."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        xs = range(len(self.lambdas))
        for name, values, marker in (
            ("linear probe", self.linear, "o-"),
            ("MLP probe", self.mlp, "s-"),
            ("linear probe, whitened z", self.whitened, "^-"),
        ):
            mid = [100 * e.value for e in values]
            err = [
                [100 * (e.value - e.low) for e in values],
                [100 * (e.high - e.value) for e in values],
            ]
            ax.errorbar(xs, mid, yerr=err, fmt=marker, capsize=3, label=name)  # type: ignore[attr-defined]
        ax.axhline(100 * self.chance, color="grey", ls="--", label="chance")  # type: ignore[attr-defined]
        bar = read_bar(self.chance)
        ax.axhline(100 * bar, color="grey", ls=":", label=f"reads above {bar:.0%}")  # type: ignore[attr-defined]
        ax.set_xticks(list(xs), [f"{lam:g}" for lam in self.lambdas])  # type: ignore[attr-defined]
        ax.set_xlabel("adversary weight λ")  # type: ignore[attr-defined]
        ax.set_ylabel("light class read from z (%)")  # type: ignore[attr-defined]
        ax.set_ylim(0, 105)  # type: ignore[attr-defined]
        ax.set_title("How much light the latent still holds")  # type: ignore[attr-defined]
        ax.legend(fontsize=8)  # type: ignore[attr-defined]
        return ax.figure  # type: ignore[attr-defined]


def _runs(models: FaderNet | Sequence[FaderNet]) -> list[FaderNet]:
    return list(models) if isinstance(models, Sequence) else [models]


def _tests(test: FaceSet | Sequence[FaceSet], runs: int) -> list[FaceSet]:
    tests = list(test) if isinstance(test, Sequence) and not isinstance(test, FaceSet) else None
    if tests is None:
        return [test] * runs  # type: ignore[list-item]
    if len(tests) != runs:
        raise ValueError(f"test must hold one FaceSet per training run ({runs}), got {len(tests)}")
    return tests


def light_removal(
    models: Mapping[float, FaderNet | Sequence[FaderNet]],
    test: FaceSet | Sequence[FaceSet],
    seed: int = 0,
) -> LightRemoval:
    """Probe the light class from E(x) of ``test`` faces for each ``{lambda: model}``.

    Args:
        models: trained FaderNets keyed by their adversary weight, lambda 0 first: one model
            per lambda, or a sequence of models per lambda, one per training run (seed), the
            same number for every lambda (run ``i`` of each lambda is scored together).
        test: faces none of the models was trained on, with ``factors["light_class"]`` and
            ``factors["azimuth"]`` (y = azimuth / 60); or one FaceSet per training run (new
            faces of that run's training people).
        seed: folds of the probes and the bootstrap.

    Returns:
        a :class:`LightRemoval`; with several runs its Estimates hold them all
        (:meth:`LightRemoval.over_runs`) and ``per_run`` holds each run's own result.
    """
    lambdas = sorted(models)
    runs = {lam: _runs(models[lam]) for lam in lambdas}
    counts = {len(r) for r in runs.values()}
    if len(counts) != 1:
        raise ValueError(f"every lambda needs the same number of runs, got {sorted(counts)}")
    n = counts.pop()
    tests = _tests(test, n)
    per_run = [_one_run({lam: runs[lam][i] for lam in lambdas}, tests[i], seed) for i in range(n)]
    return per_run[0] if n == 1 else LightRemoval.over_runs(per_run)


def _one_run(models: Mapping[float, FaderNet], test: FaceSet, seed: int) -> LightRemoval:
    from sepviz.metrics import psnr
    from sepviz.probes import extract_latents, probe
    from sepviz.recipes import azimuth_y

    light, y = test.factors["light_class"], azimuth_y(test)
    lambdas = sorted(models)
    linear, mlp, whitened, quality, converged = [], [], [], [], True
    for lam in lambdas:
        z = extract_latents(models[lam], test.images)
        linear.append(probe_estimate(z, light, seed, kind="linear"))
        network = probe(z, light, kind="mlp", seed=seed)
        mlp.append(fold_estimate(network))
        converged = converged and network.converged
        whitened.append(probe_estimate(z, light, seed, kind="linear", whiten=True))
        out = models[lam].relight(test.images, y)
        quality.append(bootstrap_mean(psnr(out, test.images), "dB", seed))
    counts = torch.bincount(light)
    return LightRemoval(
        lambdas=tuple(float(lam) for lam in lambdas),
        linear=tuple(linear),
        mlp=tuple(mlp),
        whitened=tuple(whitened),
        psnr=tuple(quality),
        pixels=probe_estimate(pixel_codes(test.images), light, seed, kind="linear"),
        chance=float(counts.max() / counts.sum()),
        converged=converged,
    )


@dataclass(frozen=True)
class FactorsKept(Result):
    """Held-out R² of linear probes for factors y does not carry, with and without the
    adversary (and on whitened latents of the adversarial model)."""

    factors: tuple[str, ...]
    plain: tuple[Estimate, ...]
    adversary: tuple[Estimate, ...]
    whitened: tuple[Estimate, ...]
    lam: float

    def orders(self) -> tuple[Order, ...]:
        """For each factor, R² with the adversary minus without, against :data:`R2_MARGIN`:
        WORSE is a factor the adversary took out of a plain linear probe's sight."""
        return tuple(compare(a - p, R2_MARGIN) for p, a in zip(self.plain, self.adversary))

    def recovered(self) -> tuple[Order, ...]:
        """For each factor, R² on whitened latents with the adversary minus without the
        adversary: EQUAL or BETTER is a factor still there, only hidden."""
        return tuple(compare(w - p, R2_MARGIN) for p, w in zip(self.plain, self.whitened))

    @property
    def verdict(self) -> str:
        names = [_pretty(f) for f in self.factors]
        dropped = [i for i, o in enumerate(self.orders()) if o is Order.WORSE]
        unsure = [i for i, o in enumerate(self.orders()) if o is Order.NOT_DISTINGUISHABLE]
        back = self.recovered()
        hidden = [i for i in dropped if back[i] in (Order.EQUAL, Order.BETTER)]
        lost = [i for i in dropped if back[i] is Order.WORSE]
        open_ = [i for i in dropped if back[i] is Order.NOT_DISTINGUISHABLE]
        read = ", ".join(
            f"{n} {p.value:.2f} → {a.value:.2f}"
            for n, p, a in zip(names, self.plain, self.adversary)
        )
        facts = (
            f"A linear probe's R² without → with the adversary (λ = {self.lam:g}"
            f"{runs_note(self.plain[0])}): {read}."
        )
        margin = f"{R2_MARGIN:g}"
        heads, clauses = [], []
        if hidden:
            heads.append(f"{_and([names[i] for i in hidden])}: hidden with the light, not lost")
            clauses += [
                f"{names[i].capitalize()}: R² {self.plain[i]} without the adversary, "
                f"{self.adversary[i]} with it, {self.whitened[i]} on whitened latents (back "
                f"within {margin} of where it was or above)."
                for i in hidden
            ]
        if lost:
            heads.append(f"{_and([names[i] for i in lost])}: lost")
            clauses += [
                f"{names[i].capitalize()}: R² {self.plain[i]} without the adversary, "
                f"{self.adversary[i]} with it, and still {self.whitened[i]} on whitened "
                f"latents (more than {margin} below where it was)."
                for i in lost
            ]
        if open_:
            heads.append(
                f"{_and([names[i] for i in open_])}: out of a plain probe's sight; whether "
                "whitening brings it back is not distinguishable"
            )
            clauses += [
                f"{names[i].capitalize()}: R² {self.plain[i]} → {self.adversary[i]}, "
                f"whitened {self.whitened[i]}."
                for i in open_
            ]
        if heads:
            joined = "; ".join(heads)
            head = f"**{joined[0].upper()}{joined[1:]}.**"
        elif unsure:
            head = (
                f"**No factor is shown to drop**, but for {_and([names[i] for i in unsure])} "
                f"the change is not distinguishable from a drop of {margin} in R²."
            )
        else:
            head = (
                f"**The other factors stay readable**: every R² with the adversary is within "
                f"{margin} of its value without, or above."
            )
        if heads and unsure:
            clauses.append(
                f"For {_and([names[i] for i in unsure])} the change is not distinguishable "
                f"from a drop of {margin}."
            )
        return " ".join([head, *clauses, facts])

    def table(self) -> str:
        names = [_pretty(f) for f in self.factors]
        rows = list(zip(names, self.plain, self.adversary, self.whitened))
        lam = f"λ = {self.lam:g}"
        return markdown_table(("factor", "λ = 0", lam, f"{lam}, whitened"), rows)

    def plot(self) -> object:
        """Grouped bars of R² per factor, with intervals; returns the figure."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.5, 3.5))
        bars = {
            "λ = 0": self.plain,
            f"λ = {self.lam:g}": self.adversary,
            f"λ = {self.lam:g}, whitened z": self.whitened,
        }
        width = 0.8 / len(bars)
        for j, (label, values) in enumerate(bars.items()):
            xs = [i + (j - (len(bars) - 1) / 2) * width for i in range(len(self.factors))]
            err = [[e.value - e.low for e in values], [e.high - e.value for e in values]]
            ax.bar(xs, [e.value for e in values], width, yerr=err, capsize=2, label=label)
        ax.set_xticks(range(len(self.factors)), [_pretty(f) for f in self.factors])
        ax.set_xlabel("factor read from z")
        ax.set_ylabel("held-out R² of a linear probe")
        ax.set_ylim(min(0.0, *(e.low for v in bars.values() for e in v)), 1.3)
        ax.set_title("What the latent keeps besides the light")
        ax.legend(fontsize=8, loc="upper center", ncol=3)
        fig.tight_layout()
        return fig


def factors_kept(
    plain: FaderNet,
    adversarial: FaderNet,
    test: FaceSet,
    lam: float,
    factors: Sequence[str] = ("elevation", "smile", "mouth_open", "eyes_open"),
    seed: int = 0,
) -> FactorsKept:
    """Linear R² of each factor in ``factors`` from the latents of both models."""
    from sepviz.probes import extract_latents

    z_plain, z_adv = extract_latents(plain, test.images), extract_latents(adversarial, test.images)
    read = {
        name: tuple(
            probe_estimate(z, test.factors[f], seed, kind="linear", whiten=w) for f in factors
        )
        for name, z, w in (("plain", z_plain, False), ("adv", z_adv, False), ("wh", z_adv, True))
    }
    return FactorsKept(tuple(factors), read["plain"], read["adv"], read["wh"], float(lam))
