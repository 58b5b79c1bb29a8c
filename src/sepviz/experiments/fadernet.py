"""Chapter 5: does a FaderNet's adversary remove the light from its latent, and what does the
slider on y do?

- :func:`light_removal`: probes (standardised linear, whitened linear, MLP) read the light
  class from the latents of unseen faces, for each adversary weight lambda, next to a probe
  on the faces' pixels (PCA of pixels) and chance; plus the reconstruction each model pays.
  One model per lambda, or one per training run (seed): the headline numbers then hold over
  runs (:func:`~sepviz.experiments.over_runs`).
- :func:`factors_kept`: what the adversary takes besides the light (expression, elevation).
- the slider against the renderer's truth: :func:`sepviz.experiments.measures.slider_check`.
- two faders (a ``fadernet2``: y = (azimuth / 60, yaw / 40)): :func:`cross_talk`, does each
  slider move its own factor, and the other no more than the renderer does?

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
    paired_gain,
    read_bar,
    reading,
    removed,
    runs_note,
)
from sepviz.experiments.measures import fold_estimate, pixel_codes, probe_estimate
from sepviz.models.fadernet import FaderNet

PROBES = ("linear", "whitened linear", "MLP")
"""The three probes of the chapter, weakest to strongest, as chapter 6's ladder ranks them:
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


# -- two faders: light and pose (a ``fadernet2`` FaderNet, y = (azimuth / 60, yaw / 40)) ------
SLIDERS = ("light", "yaw")
"""The two faders of a ``fadernet2`` FaderNet, in the order of y: the light's azimuth / 60 and
the head's yaw / 40 (:func:`sepviz.recipes.light_and_yaw_y`)."""

CROSS_VALUES = (-1.0, -0.5, 0.0, 0.5, 1.0)
"""The values each slider of :func:`cross_talk` sweeps (the trained range, where the renderer
has a truth for every one: azimuth 60 y, yaw 40 y)."""

CROSS_MARGIN = READ_SHARE
"""A slider's effect on the *other* factor equals the truth's when the two differ by less than
a tenth of the truth's effect on that factor of its own slider: the share
:data:`~sepviz.experiments.READ_SHARE` that a slider's own effect must clear to *move* its
factor, so a leak smaller than that is less than a slider that barely works would do. The
truth's cross effect is not zero: turning the head moves the measured light a little, since
the lamp stays where it is."""


PSNR_CAP = 99.0
"""The PSNR (dB) :func:`cross_talk` counts for a face decoded exactly as the renderer draws it
(infinite otherwise): far beyond any float32 rounding of a decoder's output (~150 dB is one
part in 10^7.5) that a reader could see, and finite, so that it can be averaged."""


@dataclass(frozen=True)
class CrossTalk(OverRuns, Result):
    """Each slider's effect on each measured factor, as a share of the truth's own effect.

    ``effect[2 * k + j]`` is the slope of meter ``j`` (measured light, measured yaw) against
    slider ``k`` (:data:`SLIDERS`) on the decoded faces, per face over :data:`CROSS_VALUES`,
    divided by the renderer's slope of meter ``j`` against slider ``j`` (``light_scale``,
    ``yaw_scale``: the truth's own effects in the meters' units per unit of y). So the
    truth's diagonal is 1, and its off-diagonal the true cross effect. ``truth``: the same
    for the renderer's sweep; ``gap``: ``effect - truth`` paired over faces; ``psnr``: per
    slider, the decoded faces against the rendered ones, mean over the values.
    """

    values: tuple[float, ...]
    effect: tuple[Estimate, ...]
    truth: tuple[Estimate, ...]
    gap: tuple[Estimate, ...]
    psnr: tuple[Estimate, ...]
    light_scale: float
    yaw_scale: float
    per_run: tuple[CrossTalk, ...] = ()

    @classmethod
    def over_runs(cls, per_run: Sequence[CrossTalk]) -> CrossTalk:
        """One result over training runs (2 or more single-run results, the same values)."""
        if len(per_run) < 2:
            raise ValueError(f"per_run needs at least 2 training runs, got {len(per_run)}")
        fields = combine_runs([dataclasses.replace(r, per_run=()) for r in per_run])
        return cls(**{**fields, "per_run": tuple(per_run)})  # type: ignore[arg-type]

    def own(self) -> tuple[Reading, ...]:
        """Per slider, its effect on its own factor against a perfect 1 and chance 0: READS
        (the right way, more than a tenth of the truth's), BELOW_CHANCE (the wrong way)."""
        return tuple(reading(self.effect[3 * k], 0.0) for k in range(2))

    def cross(self) -> tuple[Order, ...]:
        """Per slider, its effect on the other factor minus the truth's, within
        :data:`CROSS_MARGIN`: EQUAL is no more cross-talk than the renderer has."""
        return tuple(compare(self.gap[2 * k + 1 - k], CROSS_MARGIN) for k in range(2))

    @property
    def verdict(self) -> str:
        own, cross = self.own(), self.cross()
        fails = {
            Reading.BELOW_CHANCE: "the {} slider moves its factor the wrong way",
            Reading.AT_CHANCE: "the {} slider does not move its factor",
            Reading.NOT_DISTINGUISHABLE: "whether the {} slider moves its factor is not "
            "distinguishable",
        }
        heads = [fails[r].format(name) for name, r in zip(SLIDERS, own) if not r.reads]
        leaks = [n for n, o in zip(SLIDERS, cross) if o in (Order.BETTER, Order.WORSE)]
        unsure = [n for n, o in zip(SLIDERS, cross) if o is Order.NOT_DISTINGUISHABLE]
        if heads:
            joined = "; ".join(heads)
            head = f"**{joined[0].upper()}{joined[1:]}.**"
        elif leaks:
            head = (
                f"**Each slider moves its own factor, but the {_and(leaks)} "
                f"{_verb(leaks, 'slider leaks', 'sliders leak')} into the other** beyond "
                f"{CROSS_MARGIN:g} of the true effect."
            )
        elif unsure:
            head = (
                "**Each slider moves its own factor; whether the "
                f"{_and(unsure)} {_verb(unsure, 'slider', 'sliders')} also "
                f"{_verb(unsure, 'moves', 'move')} the other is not distinguishable** from "
                f"the truth's cross effect within {CROSS_MARGIN:g}."
            )
        else:
            head = (
                "**Two faders, no cross-talk**: each slider moves its own factor the right "
                "way and the other one as the renderer does, within "
                f"{CROSS_MARGIN:g} of the true effect."
            )
        words = {
            Order.EQUAL: f"within {CROSS_MARGIN:g} of it",
            Order.BETTER: f"more than it, beyond {CROSS_MARGIN:g}",
            Order.WORSE: f"less than it, beyond {CROSS_MARGIN:g}",
            Order.NOT_DISTINGUISHABLE: f"not distinguishable from ±{CROSS_MARGIN:g}",
        }
        clauses = []
        for k, name in enumerate(SLIDERS):
            other = SLIDERS[1 - k]
            clauses.append(
                f"The {name} slider moves the measured {name} by **{self.effect[3 * k]}** of "
                f"the true effect and the measured {other} by **{self.effect[2 * k + 1 - k]}** "
                f"(the renderer's: {self.truth[2 * k + 1 - k]}; the gap "
                f"{self.gap[2 * k + 1 - k]}, {words[cross[k]]}); PSNR against the rendered "
                f"truth {self.psnr[k]}."
            )
        units = (
            f"Units: the renderer's light slider moves the measured light by "
            f"{self.light_scale:.2f} per unit of y, its yaw slider the measured yaw by "
            f"{self.yaw_scale:.1f}° per unit; {len(self.values)} values of y from "
            f"{min(self.values):+g} to {max(self.values):+g}{runs_note(self.effect[0])}."
        )
        return " ".join([head, *clauses, units])

    def table(self) -> str:
        rows = [
            (
                f"{name} slider",
                self.effect[2 * k],
                self.truth[2 * k],
                self.effect[2 * k + 1],
                self.truth[2 * k + 1],
                self.psnr[k],
            )
            for k, name in enumerate(SLIDERS)
        ]
        header = ("", "measured light", "truth", "measured yaw", "truth", "PSNR vs truth")
        return markdown_table(header, rows)

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        named: Headlines = {}
        for k, slider in enumerate(SLIDERS):
            for j, meter in enumerate(SLIDERS):
                i = 2 * k + j
                named[f"{slider} slider → measured {meter}"] = (
                    self.effect[i],
                    tuple(r.effect[i] for r in runs),
                )
            named[f"{slider} slider, PSNR"] = (self.psnr[k], tuple(r.psnr[k] for r in runs))
        return named


def cross_talk(
    models: FaderNet | Sequence[FaderNet],
    faces: FaceSet | Sequence[FaceSet],
    values: Sequence[float] = CROSS_VALUES,
    seed: int = 0,
) -> CrossTalk:
    """Move each slider of a two-fader FaderNet with the other at each face's own value, and
    measure both factors on the decoded faces and on the renderer's truth.

    Light: :func:`~sepviz.experiments.measures.measured_light`; yaw:
    :func:`~sepviz.experiments.measures.yaw_meter` of the faces' size (calibrated the first
    time, 30-60 s). The truth of the light slider is :func:`~sepviz.data.synthetic.relit`
    (azimuth 60 y), of the yaw slider :func:`~sepviz.data.synthetic.posed` (yaw 40 y).

    Args:
        models: a FaderNet with ``attribute_dim`` 2 (y = (azimuth / 60, yaw / 40), the
            ``fadernet2`` recipe), or one per training run (the Estimates then hold them all).
        faces: unseen posed faces (``factors["yaw"]``) with every factor of the renderer, or
            one FaceSet per training run.
        values: the y each slider takes, 2 or more distinct numbers in [-1, 1].
        seed: the bootstraps.

    Returns:
        a :class:`CrossTalk`.
    """
    runs = _runs(models)
    for m in runs:
        if not isinstance(m, FaderNet) or m.attribute_dim != 2:
            got = f"attribute_dim {m.attribute_dim}" if isinstance(m, FaderNet) else type(m)
            raise ValueError(f"models must be FaderNets with attribute_dim 2, got {got}")
    tests = _tests(faces, len(runs))
    if any("yaw" not in t.factors for t in tests):
        raise ValueError("faces must be posed: every FaceSet needs factors['yaw']")
    picked = tuple(float(v) for v in values)
    if len(set(picked)) < 2 or not all(-1 <= v <= 1 for v in picked):
        raise ValueError(f"values must hold 2 or more distinct numbers in [-1, 1], got {values}")
    per_run = [_cross_run(m, t, picked, seed) for m, t in zip(runs, tests)]
    return per_run[0] if len(per_run) == 1 else CrossTalk.over_runs(per_run)


def two_fader_sweep(
    model: FaderNet, faces: FaceSet, slider: int, values: Sequence[float]
) -> torch.Tensor:
    """``faces`` decoded with slider ``slider`` (0 light, 1 yaw: :data:`SLIDERS`) at each of
    ``values`` and the other at each face's own value: (N, len(values), 3, S, S) in [0, 1],
    rows faces, columns values (a grid for :func:`sepviz.viz.swap_grid`)."""
    from sepviz.recipes import light_and_yaw_y

    if isinstance(slider, bool) or slider not in (0, 1):
        raise ValueError(f"slider must be 0 (light) or 1 (yaw), got {slider!r}")
    columns = []
    for value in values:
        y = light_and_yaw_y(faces)  # (N, 2): each face's own light and yaw
        y[:, slider] = float(value)
        columns.append(model.relight(faces.images, y))
    return torch.stack(columns, 1)


def _cross_run(model: FaderNet, test: FaceSet, values: tuple[float, ...], seed: int) -> CrossTalk:
    from sepviz.data.synthetic import YAW_RANGE, posed, relit
    from sepviz.experiments.measures import measured_light, yaw_meter
    from sepviz.metrics import psnr

    meters = (measured_light, yaw_meter(test.images.shape[-1]))
    pitch = test.factors.get("pitch", torch.zeros(len(test)))
    truths = (  # the renderer's sweep of each slider (y scaled as light_and_yaw_y scales it)
        lambda v: relit(test, 60 * v),
        lambda v: posed(test, YAW_RANGE[1] * v, pitch),
    )
    v = torch.tensor(values, dtype=torch.float64)
    v = v - v.mean()
    slopes: dict[tuple[str, int, int], torch.Tensor] = {}  # (N,) per face
    quality = []
    for k in range(2):
        decoded = list(two_fader_sweep(model, test, k, values).unbind(1))
        true = [truths[k](value) for value in values]
        # a decoder that gives the truth back exactly has an infinite PSNR: PSNR_CAP stands in
        dbs = torch.stack([psnr(d, t) for d, t in zip(decoded, true)]).clamp(max=PSNR_CAP)
        dbs = dbs.mean(0)  # (N,) each face's PSNR, mean over the values
        quality.append(bootstrap_mean(dbs, "dB", seed))
        for j, meter in enumerate(meters):
            for name, images in (("model", decoded), ("truth", true)):
                reads = torch.stack([meter(x).double() for x in images], 1)  # (N, values)
                slopes[name, k, j] = (reads - reads.mean(1, keepdim=True)) @ v / (v @ v)
    scale = [float(slopes["truth", j, j].mean()) for j in range(2)]

    def shares(name: str) -> list[torch.Tensor]:
        return [slopes[name, k, j] / scale[j] for k in range(2) for j in range(2)]

    effect, truth = shares("model"), shares("truth")
    return CrossTalk(
        values=values,
        effect=tuple(bootstrap_mean(e, "", seed) for e in effect),
        truth=tuple(bootstrap_mean(t, "", seed) for t in truth),
        gap=tuple(paired_gain(e, t, "", seed) for e, t in zip(effect, truth)),
        psnr=tuple(quality),
        light_scale=scale[0],
        yaw_scale=scale[1],
    )
