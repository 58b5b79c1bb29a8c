"""Chapter 7: where does each kind of information live in a trained model?

- :func:`latent_probes`: linear and MLP probes read known factors from the latents of unseen
  faces, next to the same linear probe on the faces' pixels (PCA) and chance.
- :func:`picture_reads`: how much of a factor a 2-D picture of the latent (UMAP) still shows.
- :func:`disentanglement`: MIG and DCI of a latent against the known factors, next to the
  same latent turned by a random rotation (the same information, no unit preferred).
- :func:`held_out_faces`: unseen faces of the autoencoder's and the DeepFakes model's people.
- :func:`probe_blocks` / :func:`layer_reads`: linear probes at every block, with intervals.
- :func:`decoder_identity`: what a decoder's *weights* add: fed the other person's face, does
  it draw its own person?

Decoders built from the blocks of two decoders (hybrids) are chapter 4's experiment
(``deepfakes.layer_swap``), not repeated here. Every verdict here speaks the vocabulary
of :mod:`sepviz.experiments`: *reads* and *at chance* (:func:`~sepviz.experiments.reading`),
*better* and *equal* (:func:`~sepviz.experiments.compare`).

:data:`PALETTE` gives every value of the factors the UMAP panels are coloured by one colour
of its own, the same in every panel of the chapter.

On faces with turned heads (``factors["yaw"]``, from a model trained on them) the probes, the
UMAP colours and MIG / DCI read the yaw too (:data:`WHEN_PRESENT`); frontal faces are read as
before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import (
    CONFIDENCE,
    READ_SHARE,
    Estimate,
    Order,
    Reading,
    Result,
    bootstrap_mean,
    compare,
    from_spread,
    markdown_table,
    read_bar,
    reading,
    removed,
)
from sepviz.experiments.measures import KNOWN as KNOWN  # the chapter reads it here
from sepviz.experiments.measures import MIG_BAR, MIG_MARGIN, fold_estimate, pixel_codes

AE, DF = "autoencoder", "DeepFakes"
"""The chapter's two models, as named in its tables and figures."""
FACTORS = {
    "identity": "identity",
    "light class": "light_class",
    "azimuth": "azimuth",
    "smile": "smile",
    "yaw": "yaw",
}
"""The factors the latent probes read: label -> key of ``FaceSet.factors``. The keys of
:data:`WHEN_PRESENT` are read only from faces that have them (turned heads), so frontal faces
are probed for the first four as before."""
WHEN_PRESENT = ("yaw",)
"""Keys of ``FaceSet.factors`` that only posed face sets have: :func:`latent_probes`,
:func:`umap_colours` and :func:`known_factors` use them when the faces have them."""
YAW_BINS = (-10.0, 10.0)
"""The UMAP's "head turn" colours (degrees): turned left below -10°, turned right above 10°,
facing the camera in between (a third each of heads turned over ±30°)."""
NEARER_BAR = 0.5
"""A decoder *draws its own person* when, fed the other person's faces, the whole interval of
the share it draws nearer its own person than the input's lies above one half: more often its
own person than the one whose code it was given. A decoder that only passed the latent on
would draw the input's person (near 0%), one that ignored the latent its own (near 100%)."""

PALETTE: dict[str, dict[str, str]] = {
    # light: blue from the left, red from the right, grey in between (never a person's colour)
    "light class": {"left": "#3b4cc0", "centre": "#9a9a9a", "right": "#b40426"},
    # head turn (posed faces only): pale yellow to dark gold, ordered like the yaw, apart
    # from the lights' blue, grey and red and from the persons' colours
    "head turn": {"turned left": "#fff59d", "facing": "#f9a825", "turned right": "#5d4200"},
    # persons: the autoencoder's 8 people "0".."7", then DeepFakes' A and B
    "person": {
        "0": "tab:orange",
        "1": "tab:green",
        "2": "tab:purple",
        "3": "tab:brown",
        "4": "tab:pink",
        "5": "tab:olive",
        "6": "tab:cyan",
        "7": "black",
        "A": "#1b9e77",
        "B": "#7570b3",
    },
}
"""Factor -> value -> matplotlib colour, for :func:`sepviz.viz.umap_scatter`'s ``palette``."""


def held_out_faces(
    size: int, n: int, seed: int = 0, yaw: tuple[float, float] = (0.0, 0.0)
) -> tuple[dict[str, FaceSet], dict[str, list[str]]]:
    """``n`` faces for each of the chapter's models trained with ``seed``, none seen in
    training (drawn with ``seed + 1``): new expressions and lights of the autoencoder's 8
    training people (its recipe draws them first) and of DeepFakes' A and B; with a ``yaw``
    range (degrees, inside [-40, 40]) other than (0, 0), heads turned over it
    (``factors["yaw"]``), for models trained on turned heads.

    Returns ``(faces, persons)``, both keyed by :data:`AE` and :data:`DF`; ``persons[m][k]``
    names identity ``k`` of ``faces[m]``.
    """
    from sepviz.data import synthetic
    from sepviz.recipes import recipe

    # the recipe draws its people before anything else, poses after: the same 8 people
    people = synthetic.factor_matrix(recipe("autoencoder").training_faces(8, size, seed))
    yaw = (float(yaw[0]), float(yaw[1]))
    faces = {
        AE: synthetic.make_faces(n, size, people, seed=seed + 1, yaw=yaw),
        DF: synthetic.make_faces(n, size, ["A", "B"], seed=seed + 1, yaw=yaw),
    }
    return faces, {AE: [str(k) for k in range(len(people))], DF: ["A", "B"]}


def _bar(values: Sequence[Estimate]) -> tuple[list[float], list[list[float]]]:
    mid = [e.value for e in values]
    return mid, [[e.value - e.low for e in values], [e.high - e.value for e in values]]


def _number(value: float, accuracy: bool) -> str:
    """A score, a chance level or a bar: ``"34%"`` for an accuracy, ``"0.10"`` for an R²."""
    return f"{value:.0%}" if accuracy else f"{value:.2f}"


def _score(e: Estimate) -> str:
    """An estimate with its metric: ``"42% ± 3"`` (accuracy) or ``"R² 0.80 ± 0.05"``."""
    return str(e) if e.unit == "%" else f"R² {e}"


def _listing(words: Sequence[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" and {words[-1]}"


# -- 1. probes on the latent -------------------------------------------------------------------
@dataclass(frozen=True)
class LatentProbes(Result):
    """Held-out scores (5 folds) of probes reading each factor from a model's latent, and of a
    linear probe reading it from the pixels (their first 64 PCA directions).

    Each reader is judged on its own interval (:func:`~sepviz.experiments.reading`): the
    verdict says which of the two probes reads identity, never the better of the two alone
    (picking the larger of two noisy scores and then testing it would favour "reads")."""

    model: str
    factors: tuple[str, ...]
    classes: tuple[bool, ...]  # accuracy (True) or R² (False)
    linear: tuple[Estimate, ...]
    mlp: tuple[Estimate, ...]
    pixels: tuple[Estimate, ...]
    chance: tuple[float, ...]
    shared: bool = False  # a latent shared by several decoders (DeepFakes): the blog's claim

    def _chance(self, k: int) -> str:
        return _number(self.chance[k], self.classes[k])

    def _bar_text(self, k: int) -> str:
        return _number(read_bar(self.chance[k]), self.classes[k])

    def readings(self, factor: str) -> dict[str, Reading]:
        """What each probe of the latent says about ``factor``: ``{"linear probe": ...,
        "MLP probe": ...}`` (:func:`~sepviz.experiments.reading` against chance)."""
        k = self.factors.index(factor)
        return {
            "linear probe": reading(self.linear[k], self.chance[k]),
            "MLP probe": reading(self.mlp[k], self.chance[k]),
        }

    def read_by(self, factor: str) -> list[str]:
        """The probes of the latent that *read* ``factor`` (each on its own interval)."""
        return [name for name, r in self.readings(factor).items() if r.reads]

    @property
    def verdict(self) -> str:
        k = self.factors.index("identity")
        states = self.readings("identity")
        readers = self.read_by("identity")
        scores = (
            f"The linear probe tells the person for **{self.linear[k]}** of held-out faces "
            f"({states['linear probe'].value}), the MLP probe for **{self.mlp[k]}** "
            f"({states['MLP probe'].value}); chance {self._chance(k)}, reading needs more than "
            f"{self._bar_text(k)}; the same linear probe on the pixels {self.pixels[k]}."
        )
        if readers:
            who = "both probes read it" if len(readers) == 2 else f"the {readers[0]} reads it"
            head = f"**Identity is in the {self.model} latent**: {who}."
        elif removed(list(states.values())):
            blind = (
                "at chance"
                if all(r is Reading.AT_CHANCE for r in states.values())
                else ("at or below chance")
            )
            head = (
                f"**The {self.model} latent is identity-free**: neither probe reads it, both "
                f"are {blind}."
            )
        else:
            head = (
                f"**Not distinguishable** from the reading bar: no probe reads identity from "
                f"the {self.model} latent, and not every probe is at chance."
            )
        parts = [f"{head} {scores}"]
        if self.shared:
            if readers:
                claim = "contradicted: the shared latent says whose face it came from."
            elif removed(list(states.values())):
                claim = "supported: the shared latent does not say whose face it came from."
            else:
                claim = "neither supported nor contradicted by these probes."
            parts.append(f"The blog's claim that identity lives only in the decoders is {claim}")
        others = [j for j, f in enumerate(self.factors) if f != "identity"]
        if others:
            items = [
                f"{self.factors[j]} {_score(self.linear[j])} (chance {self._chance(j)}, "
                f"bar {self._bar_text(j)}: {reading(self.linear[j], self.chance[j]).value})"
                for j in others
            ]
            parts.append(f"Linear probes on the latent: {'; '.join(items)}.")
        return " ".join(parts)

    def table(self) -> str:
        rows = [
            (f, "accuracy" if c else "R²", lin, mlp, pix, self._chance(k), self._bar_text(k))
            for k, (f, c, lin, mlp, pix) in enumerate(
                zip(self.factors, self.classes, self.linear, self.mlp, self.pixels)
            )
        ]
        header = ("factor", "metric", "linear", "MLP", "pixels (linear)", "chance", "reads above")
        return markdown_table(header, rows)

    def plot(self) -> object:
        """Grouped bars (linear, MLP, pixels) per factor with intervals and chance."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3.6))
        bars = {"linear probe": self.linear, "MLP probe": self.mlp, "pixels, linear": self.pixels}
        width = 0.8 / len(bars)
        colours = ("tab:blue", "tab:orange", "tab:grey")
        for j, ((label, values), colour) in enumerate(zip(bars.items(), colours)):
            xs = [i + (j - 1) * width for i in range(len(self.factors))]
            mid, err = _bar(values)
            ax.bar(xs, mid, width, yerr=err, capsize=2, label=label, color=colour)
        for i, c in enumerate(self.chance):
            ax.plot([i - 0.4, i + 0.4], [c, c], "k--", lw=1.2, label="chance" if i == 0 else None)
        names = [f"{f}\n({'accuracy' if c else 'R²'})" for f, c in zip(self.factors, self.classes)]
        ax.set_xticks(range(len(self.factors)), names)
        ax.set_xlabel("factor read from the code")
        ax.set_ylabel("held-out score")
        ax.set_ylim(min(0.0, *(e.low for v in bars.values() for e in v)), 1.25)
        ax.set_title(f"What a probe reads from the {self.model} latent")
        ax.legend(fontsize=8, ncol=4, loc="upper center")
        fig.tight_layout()
        return fig


def latent_probes(
    z: torch.Tensor,
    faces: FaceSet,
    model: str,
    factors: Mapping[str, str] = FACTORS,
    shared: bool = False,
    seed: int = 0,
) -> LatentProbes:
    """Probe the latents ``z`` (N, D) of ``faces`` for each factor.

    Args:
        z: latents of ``faces`` (:func:`sepviz.probes.extract_latents`).
        faces: the faces, none seen in training, with the factors named in ``factors``.
        model: its name in the verdict and the title.
        factors: label -> key of ``faces.factors``; integer factors are classified (accuracy),
            float factors regressed (R²). One label must be ``"identity"``. A key of
            :data:`WHEN_PRESENT` the faces lack (frontal faces have no yaw) is skipped.
        shared: the latent is shared by several decoders (the verdict cites the blog).
        seed: folds and MLP initialisation.
    """
    from sepviz.probes import probe

    if "identity" not in factors:
        raise ValueError(f"factors must include 'identity', got {list(factors)}")
    # a pose factor is read only from turned heads: frontal faces keep their four factors
    factors = {k: v for k, v in factors.items() if v not in WHEN_PRESENT or v in faces.factors}
    missing = [v for v in factors.values() if v not in faces.factors]
    if missing:
        raise ValueError(f"factors: faces has no factors {missing}; it has {sorted(faces.factors)}")
    pixels = pixel_codes(faces.images)
    linear, mlp, base, chance, classes = [], [], [], [], []
    for key in factors.values():
        labels = faces.factors[key]
        lin = probe(z, labels, kind="linear", seed=seed)
        linear.append(fold_estimate(lin))
        mlp.append(fold_estimate(probe(z, labels, kind="mlp", seed=seed)))
        base.append(fold_estimate(probe(pixels, labels, kind="linear", seed=seed)))
        chance.append(lin.chance)
        classes.append(lin.task == "classification")
    return LatentProbes(
        model,
        tuple(factors),
        tuple(classes),
        tuple(linear),
        tuple(mlp),
        tuple(base),
        tuple(chance),
        shared,
    )


# -- 2. the UMAP picture -----------------------------------------------------------------------
def umap_colours(faces: FaceSet, persons: Sequence[str]) -> dict[str, np.ndarray]:
    """The values the UMAP panels are coloured by: ``{"person": names, "light class": names}``,
    each (N,) strings (``persons[k]`` names identity k), keys of :data:`PALETTE`; for turned
    heads also ``"head turn"``: "turned left", "facing" or "turned right" (:data:`YAW_BINS`)."""
    from sepviz.data.synthetic import LIGHT_CLASSES

    colours = {
        "person": np.array(list(persons))[faces.factors["identity"].numpy()],
        "light class": np.array(LIGHT_CLASSES)[faces.factors["light_class"].numpy()],
    }
    if "yaw" in faces.factors:
        turn = np.digitize(faces.factors["yaw"].numpy(), YAW_BINS)  # 0, 1, 2
        colours["head turn"] = np.array(list(PALETTE["head turn"]))[turn]
    return colours


@dataclass(frozen=True)
class PictureReads(Result):
    """Held-out accuracy of an MLP probe reading each factor from the 2-D UMAP coordinates
    (5 folds), and how far each gets from chance to perfect.

    What it measures is how *completely* the picture holds a factor, in any arrangement a
    small network can read: a smooth gradient of light across every cluster reads as well as
    clusters of their own, though the eye sees only the clusters. So the factor the picture
    shows more completely need not be the one its clusters follow."""

    models: tuple[str, ...]
    factors: tuple[str, ...]
    scores: tuple[tuple[Estimate, ...], ...]  # [model][factor]
    chance: tuple[tuple[float, ...], ...]

    def way(self, m: int, f: int) -> Estimate:
        """How far the score gets from chance (0) to perfect (1), with its interval."""
        s, c = self.scores[m][f], self.chance[m][f]
        return Estimate((s.value - c) / (1 - c), (s.low - c) / (1 - c), (s.high - c) / (1 - c), "%")

    def order(self, m: int, f: int, g: int) -> Order:
        """Whether model ``m``'s picture shows factor ``f`` more completely than ``g``:
        :func:`~sepviz.experiments.compare` of their shares of the way, equal within a tenth
        of the way (:data:`~sepviz.experiments.READ_SHARE`, the reading margin)."""
        return compare(self.way(m, f) - self.way(m, g), READ_SHARE)

    def _compared(self, m: int) -> str:
        n = len(self.factors)
        if n < 2:
            return ""
        for f in range(n):
            others = [g for g in range(n) if g != f]
            if all(self.order(m, f, g) is Order.BETTER for g in others):
                gaps = ", ".join(
                    f"{self.factors[g]} by {self.way(m, f) - self.way(m, g)}" for g in others
                )
                return (
                    f"it shows **{self.factors[f]}** more completely than "
                    f"{_listing([self.factors[g] for g in others])} (ahead of {gaps} of the way)"
                )
        pairs = [(f, g) for f in range(n) for g in range(f + 1, n)]
        if all(self.order(m, f, g) is Order.EQUAL for f, g in pairs):
            return (
                f"it shows {_listing(list(self.factors))} equally completely (their shares "
                f"of the way within {READ_SHARE:.0%} of each other)"
            )
        return "the data cannot tell which factor it shows more completely"

    @property
    def verdict(self) -> str:
        parts = []
        for m, model in enumerate(self.models):
            reads = "; ".join(
                f"{name} {s} (chance {c:.0%}: {self.way(m, f)} of the way to perfect; "
                f"{reading(s, c).value})"
                for f, (name, s, c) in enumerate(zip(self.factors, self.scores[m], self.chance[m]))
            )
            compared = self._compared(m)
            parts.append(
                f"From the {model} picture an MLP probe reads {reads}"
                + (f": {compared}." if compared else ".")
            )
        return " ".join(parts)

    def table(self) -> str:
        header = ("latent", *(f"{f}: read from the picture" for f in self.factors))
        rows = [
            (
                model,
                *(
                    f"{s} (chance {c:.0%}; {self.way(m, f)} of the way)"
                    for f, (s, c) in enumerate(zip(scores, chance))
                ),
            )
            for m, (model, scores, chance) in enumerate(zip(self.models, self.scores, self.chance))
        ]
        return markdown_table(header, rows)


def picture_reads(
    embeddings: Mapping[str, np.ndarray],
    colours: Mapping[str, Mapping[str, np.ndarray]],
    seed: int = 0,
) -> PictureReads:
    """MLP probes (5 folds) on each 2-D embedding for each factor.

    Args:
        embeddings: model name -> (N, 2) UMAP coordinates.
        colours: model name -> factor -> (N,) values (e.g. :func:`umap_colours`).
    """
    from sepviz.probes import probe

    models = tuple(embeddings)
    factors = tuple(colours[models[0]])
    scores, chance = [], []
    for name in models:
        results = [
            probe(embeddings[name], colours[name][f], kind="mlp", seed=seed) for f in factors
        ]
        scores.append(tuple(fold_estimate(r) for r in results))
        chance.append(tuple(r.chance for r in results))
    return PictureReads(models, factors, tuple(scores), tuple(chance))


# -- 3. MIG and DCI ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Disentanglement(Result):
    """MIG of a latent with its interval over faces (:func:`sepviz.metrics.mig_interval`),
    the same for a random rotation of the latent, and DCI (:func:`sepviz.metrics.dci`: one
    fit; informativeness with a bootstrap interval over the held-out faces).

    The rotation keeps everything the latent holds and mixes its units, so its MIG is what a
    latent with the same information and no preferred units scores: a latent whose MIG equals
    it is *entangled*, whatever its value."""

    model: str
    factors: tuple[str, ...]
    mig: Estimate
    rotated: Estimate  # MIG of the latent turned by a random rotation
    mig_per_factor: tuple[float, ...]
    best_unit: tuple[int, ...]
    informativeness_per_factor: tuple[Estimate, ...]  # accuracy ("%") or R² ("")
    chance: tuple[float, ...]  # per factor: the majority share (accuracy) or 0 (R²)
    disentanglement: float
    completeness: float
    informativeness: Estimate
    importance: np.ndarray = field(repr=False, compare=False)  # (D units, K factors)

    def reads(self, k: int) -> Reading:
        """What the trees of DCI say about ``factors[k]`` (:func:`~sepviz.experiments.reading`
        of its held-out informativeness against chance)."""
        return reading(self.informativeness_per_factor[k], self.chance[k])

    def versus_rotation(self) -> Order:
        """MIG minus the rotated latent's, within :data:`MIG_MARGIN`
        (:func:`~sepviz.experiments.compare`)."""
        return compare(self.mig - self.rotated, MIG_MARGIN)

    def _factor(self, k: int) -> str:
        e = self.informativeness_per_factor[k]
        return (
            f"{self.factors[k]} {_score(e)} (chance {_number(self.chance[k], e.unit == '%')}, "
            f"bar {_number(read_bar(self.chance[k]), e.unit == '%')})"
        )

    @property
    def verdict(self) -> str:
        mig = f"MIG {self.mig} (bar {MIG_BAR:g})"
        gap = "of a factor's entropy separates its best unit from the next"
        if self.mig.covers(MIG_BAR):
            head = f"**Not distinguishable** from the disentanglement bar: {mig}."
        elif self.mig.above(MIG_BAR):
            head = (
                f"**The {self.model} latent is disentangled**: {mig}; on average more than "
                f"{MIG_BAR:.0%} {gap}."
            )
        else:
            head = (
                f"**No unit of the {self.model} latent holds a factor alone**: {mig}; on "
                f"average less than {MIG_BAR:.0%} {gap}."
            )
        order = self.versus_rotation()
        rotated = f"{self.rotated} for a random rotation of the same latent"
        difference = f"difference {self.mig - self.rotated}, margin ±{MIG_MARGIN:g}"
        rotation = {
            Order.BETTER: f"Its units are more aligned with the factors than random directions "
            f"({rotated}; {difference}).",
            Order.EQUAL: f"Its units are no more aligned with the factors than random "
            f"directions ({rotated}; {difference}): the latent is entangled.",
            Order.WORSE: f"Its units are less aligned with the factors than random directions "
            f"({rotated}; {difference}).",
            Order.NOT_DISTINGUISHABLE: f"Whether its units are more aligned with the factors "
            f"than random directions is not distinguishable ({rotated}; {difference}).",
        }[order]
        ks = range(len(self.factors))
        reads = [k for k in ks if self.reads(k).reads]
        rest = [k for k in ks if k not in reads]
        info = f"informativeness {self.informativeness}"
        if not rest:
            there = (
                f"DCI's trees read every factor from the latent ({info}; "
                f"{'; '.join(self._factor(k) for k in ks)}): the factors are all there."
            )
        else:
            missing = "; ".join(f"{self._factor(k)}: {self.reads(k).value}" for k in rest)
            found = _listing([self.factors[k] for k in reads]) if reads else "no factor"
            there = f"DCI's trees read {found} from the latent ({info}), not {missing}."
        dc = (
            f"DCI disentanglement {self.disentanglement:.2f} and completeness "
            f"{self.completeness:.2f} (one fit, no interval)."
        )
        return " ".join((head, rotation, there, dc))

    def table(self) -> str:
        rows = [
            (f, f"{g:.3f}", f"z{u}", _score(i), _number(c, i.unit == "%"))
            for f, g, u, i, c in zip(
                self.factors,
                self.mig_per_factor,
                self.best_unit,
                self.informativeness_per_factor,
                self.chance,
            )
        ]
        header = ("factor", "MIG gap", "best unit", "DCI informativeness", "chance")
        return markdown_table(header, rows)

    def plot(self, units: int = 12) -> object:
        """The DCI importance of the ``units`` most used latent units; returns the figure."""
        from sepviz.viz import heatmap

        top = np.argsort(self.importance.sum(axis=1))[::-1][:units]
        return heatmap(
            self.importance[top],
            row_labels=[f"z{j}" for j in top],
            col_labels=list(self.factors),
            title="DCI importance: which latent units predict which factor",
            xlabel="factor",
            ylabel=f"latent unit ({units} most used)",
            colorbar_label="tree feature importance",
        )


def known_factors(faces: FaceSet) -> dict[str, torch.Tensor]:
    """The factors MIG and DCI score a latent of ``faces`` against: :data:`KNOWN` (identity,
    expression, light), and the yaw when the heads are turned (:data:`WHEN_PRESENT`).
    ``{name: (N,) tensor}``, for :func:`disentanglement`."""
    names = KNOWN + tuple(k for k in WHEN_PRESENT if k in faces.factors)
    return {k: faces.factors[k] for k in names}


def _mig_estimate(z: np.ndarray, factors: Mapping[str, Any], seed: int) -> Estimate:
    from sepviz.metrics import mig_interval

    value, low, high = mig_interval(z, factors, confidence=CONFIDENCE, seed=seed)
    return Estimate(value, low, high)


def disentanglement(
    z: torch.Tensor | np.ndarray,
    factors: Mapping[str, torch.Tensor | np.ndarray],
    model: str,
    seed: int = 0,
) -> Disentanglement:
    """MIG and DCI (:mod:`sepviz.metrics`) of latents ``z`` (N, D) against ``factors``
    (name -> (N,) values: integers are classes, floats numbers).

    MIG's interval (:func:`sepviz.metrics.mig_interval`) resamples the N faces and allows for
    the bias of plug-in mutual information; the same is measured on ``z`` turned by a random
    rotation (seeded by ``seed``). DCI's informativeness has a bootstrap interval over its
    held-out faces; disentanglement and completeness come from one fit."""
    from sepviz.metrics import dci, mig
    from sepviz.utils import check_codes

    x = check_codes(z)
    rotation = np.linalg.qr(np.random.default_rng(seed).standard_normal((x.shape[1],) * 2))[0]
    m = mig(x, factors)
    d = dci(x, factors, seed=seed, confidence=CONFIDENCE)
    names = tuple(factors)
    accuracy = {k: not np.issubdtype(np.asarray(v).dtype, np.floating) for k, v in factors.items()}

    def informativeness(k: str) -> Estimate:
        low, high = d["informativeness_interval_per_factor"][k]
        unit = "%" if accuracy[k] else ""
        return Estimate(d["informativeness_per_factor"][k], low, high, unit)

    return Disentanglement(
        model=model,
        factors=names,
        mig=_mig_estimate(x, factors, seed),
        rotated=_mig_estimate(x @ rotation, factors, seed),
        mig_per_factor=tuple(m["per_factor"][k] for k in names),
        best_unit=tuple(m["best_code"][k] for k in names),
        informativeness_per_factor=tuple(informativeness(k) for k in names),
        chance=tuple(d["chance_per_factor"][k] for k in names),
        disentanglement=d["disentanglement"],
        completeness=d["completeness"],
        informativeness=Estimate(d["informativeness"], *d["informativeness_interval"]),
        importance=d["importance"],
    )


# -- 4. layer by layer and the decoders' weights -----------------------------------------------
@dataclass(frozen=True)
class LayerReads(Result):
    """Linear-probe scores at every block (from :func:`sepviz.probes.layer_probes`), with t
    intervals over the folds."""

    layers: tuple[str, ...]
    factors: tuple[str, ...]
    scores: tuple[tuple[Estimate, ...], ...]  # [layer][factor]
    chance: tuple[float, ...]  # per factor
    decoder: str

    def score(self, layer: str, factor: str) -> Estimate:
        return self.scores[self.layers.index(layer)][self.factors.index(factor)]

    @property
    def latent(self) -> str:
        """The last encoder block: its output is the latent."""
        return [n for n in self.layers if n.startswith("enc")][-1]

    @property
    def decoder_blocks(self) -> list[str]:
        return [n for n in self.layers if n.startswith("dec")]

    def state(self, layer: str, factor: str) -> Reading:
        """What the probe at ``layer`` says about ``factor``
        (:func:`~sepviz.experiments.reading`)."""
        return reading(self.score(layer, factor), self.chance[self.factors.index(factor)])

    def readable(self, factor: str) -> list[str]:
        """Blocks where the probe *reads* ``factor``: the whole interval above
        :func:`~sepviz.experiments.read_bar`."""
        return [n for n in self.layers if self.state(n, factor).reads]

    @property
    def verdict(self) -> str:
        parts = []
        for k, factor in enumerate(self.factors):
            where = self.readable(factor)
            count = (
                "every block"
                if len(where) == len(self.layers)
                else f"{len(where)} of {len(self.layers)} blocks"
            )
            unit = self.score(self.layers[0], factor).unit == "%"
            facts = [f"latent {self.score(self.latent, factor)}"]
            if self.decoder_blocks:
                low = min(self.decoder_blocks, key=lambda n: self.score(n, factor).value)
                facts.append(
                    f"lowest in decoder {self.decoder}: {self.score(low, factor)} at {low}"
                )
            facts.append(
                f"chance {_number(self.chance[k], unit)}, reading needs more than "
                f"{_number(read_bar(self.chance[k]), unit)}"
            )
            parts.append(f"**{factor}** at {count} ({'; '.join(facts)})")
        return "A linear probe reads " + "; ".join(parts) + "."

    def table(self) -> str:
        header = ("block", *(f"{f} (chance {c:.0%})" for f, c in zip(self.factors, self.chance)))
        rows = [(n, *row) for n, row in zip(self.layers, self.scores)]
        return markdown_table(header, rows)


def probe_blocks(model: Any, faces: FaceSet, decoder: str, seed: int = 0) -> LayerReads:
    """Linear probes of the person and the light class at every block of ``model``'s encoder
    and of ``decoder``, for ``faces`` (of every person) fed through that decoder."""
    from sepviz.probes import layer_probes

    labels = {
        "identity": faces.factors["identity"],
        "light class": faces.factors["light_class"],
    }
    rows = layer_probes(model, faces.images, labels, decoder=decoder, seed=seed)
    return layer_reads(rows, decoder=decoder)


def layer_reads(rows: Sequence[Mapping[str, Any]], decoder: str, folds: int = 5) -> LayerReads:
    """The rows of :func:`sepviz.probes.layer_probes` (accuracies, ``folds`` folds) as a
    :class:`LayerReads`; ``decoder`` names the decoder the faces went through."""
    from sepviz.probes import check_layer_rows

    check_layer_rows(rows)
    layers = tuple(dict.fromkeys(str(r["layer"]) for r in rows))
    factors = tuple(dict.fromkeys(str(r["factor"]) for r in rows))
    cell = {(str(r["layer"]), str(r["factor"])): r for r in rows}
    unit = {
        f: "%" if cell[(layers[0], f)].get("metric", "accuracy") == "accuracy" else ""
        for f in factors
    }
    scores = tuple(
        tuple(
            # layer_probes reports the population spread (ddof=0) of the fold scores
            from_spread(
                cell[(n, f)]["score"],
                cell[(n, f)]["score_std"] * math.sqrt(folds / (folds - 1)),
                folds,
                unit[f],
            )
            for f in factors
        )
        for n in layers
    )
    chance = tuple(float(cell[(layers[0], f)]["chance"]) for f in factors)
    return LayerReads(layers, factors, scores, chance, decoder)


@dataclass(frozen=True)
class DecoderIdentity(Result):
    """Every face decoded by every decoder, compared with the true renders of each person:
    PSNR (dB) and the share of faces nearer the decoder's own person."""

    persons: tuple[str, ...]
    rows: tuple[
        tuple[str, str, Estimate, Estimate, Estimate], ...
    ]  # decoder, input, to A, B, nearer
    layers: LayerReads

    def nearer(self, decoder: str, person: str) -> Estimate:
        """Share of ``person``'s faces that ``decoder`` draws nearer its own person."""
        return next(r[4] for r in self.rows if r[0] == decoder and r[1] == person)

    def other_inputs(self) -> list[tuple[str, str, Estimate]]:
        """``(decoder, input person, share)`` for every decoder fed another person's faces:
        the share of them it draws nearer its own person than any other."""
        return [(r[0], r[1], r[4]) for r in self.rows if r[0] != r[1]]

    @property
    def verdict(self) -> str:
        others = self.other_inputs()
        own = [d for d, _, s in others if s.above(NEARER_BAR)]
        theirs = [d for d, _, s in others if s.below(NEARER_BAR)]
        unclear = [d for d, _, s in others if s.covers(NEARER_BAR)]
        shares = "; ".join(
            f"decoder {d} draws {p}'s faces nearer {d} for **{s}** of them" for d, p, s in others
        )
        facts = (
            f"Fed the other person's faces, {shares} (bar: half; a decoder that only passed "
            f"the latent on would draw the input's person, near 0%)."
        )
        decoders = sorted({d for d, _, _ in others})
        if len(own) == len(others):
            head = "**The decoders' weights carry identity**: each draws its own person."
        elif len(theirs) == len(others):
            head = "**The decoders' weights do not carry identity**: each draws the input's person."
        elif unclear:
            head = (
                f"**Not distinguishable** from half for decoder {_listing(sorted(set(unclear)))}."
            )
        else:
            head = (
                f"**Only decoder {_listing(sorted(set(own)))} of "
                f"{_listing(decoders)} draws its own person.**"
            )
        i = self.layers.factors.index("identity")
        latent, chance = self.layers.score(self.layers.latent, "identity"), self.layers.chance[i]
        state = reading(latent, chance)
        seen = f"{latent}, chance {chance:.0%}, reading needs more than {read_bar(chance):.0%}"
        if state.reads:
            where = f"The shared latent also tells the persons apart ({seen})"
            where += ": identity lives in both places." if own else "."
        elif state.blind:
            where = f"The shared latent does not tell the persons apart ({seen})"
            where += ": identity lives in the decoders." if own else "."
        else:
            where = (
                "Whether the shared latent tells the persons apart is not distinguishable "
                f"({seen})."
            )
        return " ".join((head, facts, where))

    def table(self) -> str:
        header = (
            "decoder",
            "input",
            *(f"PSNR to true {p}" for p in self.persons),
            "nearer its decoder's person",
        )
        return markdown_table(header, self.rows)


def decoder_identity(
    model: Any, faces: FaceSet, layers: LayerReads, seed: int = 0
) -> DecoderIdentity:
    """Decode ``faces`` (of the model's persons) with every decoder of a DeepFakes ``model``
    and compare with :func:`sepviz.data.synthetic.swapped` truths; ``layers`` (the same
    model's :class:`LayerReads`) supplies the latent's identity score for the verdict."""
    from sepviz.data.synthetic import swapped
    from sepviz.metrics import psnr

    persons = tuple(model.identities)
    truth = {p: swapped(faces, p) for p in persons}
    rows = []
    for dec in persons:
        out = model.swap(faces.images, dec)
        close = {p: psnr(out, truth[p]) for p in persons}
        for k, person in enumerate(persons):
            mask = faces.factors["identity"] == k
            others = [close[p][mask] for p in persons if p != dec]
            nearer = (close[dec][mask] > torch.stack(others).max(0).values).float()
            rows.append(
                (
                    dec,
                    person,
                    *(bootstrap_mean(close[p][mask], "dB", seed) for p in persons),
                    bootstrap_mean(nearer, "%", seed),
                )
            )
    return DecoderIdentity(persons, tuple(rows), layers)  # type: ignore[arg-type]
