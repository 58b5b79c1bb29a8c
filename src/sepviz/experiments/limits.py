"""Chapter 11: what a small model cannot do, and how easy its swaps are to detect.

- :func:`new_people`: an autoencoder's reconstruction of people it never saw, against the
  people it was trained on, and against the distance to the nearest training person.
- :func:`detect_swaps`: a linear classifier on raw pixels telling swapped faces from the true
  renders of the same person, expression and light.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import (
    DB_MARGIN,
    R_MARGIN,
    Estimate,
    Order,
    Reading,
    Result,
    bootstrap_mean,
    compare,
    from_folds,
    markdown_table,
    read_bar,
    reading,
)
from sepviz.experiments.measures import correlation

WORKS = 0.90
"""A detector *works* when the whole interval of its held-out accuracy lies above 90%: wrong
on fewer than one face in ten, it could flag swaps for a person to check. One that *reads*
(:func:`~sepviz.experiments.reading`) but stays below finds a trace of the swaps, yet misses
or falsely accuses too often to act on."""


@dataclass(frozen=True)
class NewPeople(Result):
    """Reconstruction PSNR (dB) of faces of the training people (new expressions and lights)
    and of new people, and how PSNR follows the distance to the nearest training person."""

    familiar: Estimate
    new: Estimate
    correlation: Estimate  # Pearson r of distance and PSNR among the new people
    n_familiar: int
    n_new: int
    distance: dict[str, np.ndarray] = field(repr=False, compare=False)
    psnr: dict[str, np.ndarray] = field(repr=False, compare=False)

    @property
    def drop(self) -> Estimate:
        """PSNR lost on new people (independent faces: the intervals add in quadrature)."""
        return self.familiar - self.new

    @property
    def verdict(self) -> str:
        drop, r = self.drop, self.correlation
        facts = (
            f"New people ({self.n_new} faces) are reconstructed at {self.new}, the training "
            f"people ({self.n_familiar} faces, new expressions and lights) at {self.familiar}: "
            f"a drop of **{drop}**."
        )
        head = {
            Order.BETTER: "**Reconstruction degrades for people the model never saw.**",
            Order.WORSE: "**New people are reconstructed better than the training people.**",
            Order.EQUAL: (
                f"**Reconstruction does not degrade for new people** (the drop lies within "
                f"±{DB_MARGIN:g} dB)."
            ),
            Order.NOT_DISTINGUISHABLE: (
                f"**Not distinguishable**: whether reconstruction degrades for new people (the "
                f"drop's interval covers the ±{DB_MARGIN:g} dB margin)."
            ),
        }
        trend = {
            Order.WORSE: (
                "Among the new people it falls with the distance to the nearest training "
                f"person (r = {r})."
            ),
            Order.BETTER: f"Among the new people it rises with that distance (r = {r}).",
            Order.EQUAL: (
                f"Among the new people no trend with that distance shows (r = {r}, within "
                f"±{R_MARGIN:g})."
            ),
            Order.NOT_DISTINGUISHABLE: (
                f"Among the new people a trend with that distance is not distinguishable from "
                f"none (r = {r}; none needs it within ±{R_MARGIN:g})."
            ),
        }
        drop_order, trend_order = compare(drop, DB_MARGIN), compare(r, R_MARGIN)
        clauses = [head[drop_order], facts, trend[trend_order]]
        if drop_order is Order.BETTER:
            clauses.append(
                "A model trained on these people is a model *of* them"
                + (
                    ", and the further a newcomer from them, the worse."
                    if trend_order is Order.WORSE
                    else "."
                )
            )
        return " ".join(clauses)

    def table(self) -> str:
        rows = [
            ("training people (new expressions, lights)", self.n_familiar, self.familiar),
            ("new people", self.n_new, self.new),
            ("drop", "", self.drop),
        ]
        return markdown_table(("faces", "n", "reconstruction PSNR"), rows)

    def plot(self) -> object:
        """PSNR against identity distance, one point per face; returns the figure."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.6))
        for (name, d), colour in zip(self.distance.items(), ("tab:blue", "tab:orange")):
            ax.scatter(d, self.psnr[name], s=6, alpha=0.5, color=colour, label=name, lw=0)
        ax.set_title("Autoencoder reconstruction of familiar and new people")
        ax.set_xlabel("identity distance to the nearest training person")
        ax.set_ylabel("reconstruction PSNR (dB)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig


def new_people(
    model: torch.nn.Module,
    familiar: FaceSet,
    new: FaceSet,
    people: torch.Tensor,
    seed: int = 0,
) -> NewPeople:
    """Reconstruct ``familiar`` faces (of the training ``people``) and ``new`` faces.

    Args:
        model: a trained model with ``reconstruct(x)`` and ``batched``.
        familiar, new: synthetic faces; ``new`` of people the model was not trained on.
        people: (P, 5) identity factors of the training people (``factor_matrix``).
        seed: the bootstraps.
    """
    from sepviz.data.synthetic import factor_matrix
    from sepviz.metrics import psnr

    quality, distance = {}, {}
    for name, faces in (("training people", familiar), ("new people", new)):
        out = model.batched(model.reconstruct, faces.images)  # type: ignore[operator]
        quality[name] = psnr(out, faces.images).numpy()
        distance[name] = torch.cdist(factor_matrix(faces), people).min(dim=1).values.numpy()
    d, q = distance["new people"], quality["new people"]
    return NewPeople(
        familiar=bootstrap_mean(quality["training people"], "dB", seed),
        new=bootstrap_mean(q, "dB", seed),
        correlation=correlation(d, q, seed),
        n_familiar=len(familiar),
        n_new=len(new),
        distance=distance,
        psnr=quality,
    )


@dataclass(frozen=True)
class Detection(Result):
    """Held-out accuracy (5 folds) of a logistic regression on raw pixels telling swapped
    faces (label 1) from true renders (label 0)."""

    accuracy: Estimate
    chance: float
    n_pixels: int
    n_faces: int

    @property
    def verdict(self) -> str:
        facts = (
            f"A linear detector on {self.n_pixels:,} raw pixels tells swapped from real faces "
            f"for **{self.accuracy}** of held-out faces (chance {self.chance:.0%}, reading "
            f"needs more than {read_bar(self.chance):.0%}, working more than {WORKS:.0%}; "
            f"{self.n_faces:,} faces)."
        )
        found = reading(self.accuracy, self.chance)
        if found is Reading.READS and self.accuracy.above(WORKS):
            head = (
                "**A detector this simple works on these swaps**: the swaps of this model "
                "carry a trace that a linear read-out of the pixels finds."
            )
        elif found is Reading.READS and self.accuracy.below(WORKS):
            head = (
                "**A detector this simple finds a trace of these swaps but does not work**: "
                f"it is right on fewer than {WORKS:.0%} of the faces."
            )
        elif found is Reading.READS:
            head = (
                "**A detector this simple finds a trace of these swaps**; whether it works "
                f"(is right on more than {WORKS:.0%}) is not distinguishable."
            )
        elif found is Reading.NOT_DISTINGUISHABLE:
            head = (
                "**Not distinguishable**: whether a detector this simple finds any trace of "
                "these swaps (its interval covers the reading bar)."
            )
        elif found is Reading.AT_CHANCE:
            head = (
                "**A detector this simple does not tell these swaps**: it is at chance, so a "
                "linear read-out of the pixels finds no trace."
            )
        else:
            head = (
                "**A detector this simple does not tell these swaps**: it scores below chance "
                "on held-out faces."
            )
        return f"{head} {facts}"

    def table(self) -> str:
        rows = [("linear, raw pixels", self.accuracy, f"{self.chance:.0%}")]
        return markdown_table(("detector", "held-out accuracy", "chance"), rows)


def detect_swaps(fake: torch.Tensor, real: torch.Tensor, seed: int = 0) -> Detection:
    """Cross-validate a linear probe (5 folds) telling ``fake`` (N, 3, H, W) from ``real``
    (M, 3, H, W) images in [0, 1] on their raw pixels."""
    from sepviz.probes import probe

    pixels = torch.cat([fake, real])
    is_fake = torch.cat([torch.ones(len(fake)), torch.zeros(len(real))]).long()
    result = probe(pixels.flatten(1), is_fake, kind="linear", seed=seed)
    return Detection(
        accuracy=from_folds(result.fold_scores, "%"),
        chance=result.chance,
        n_pixels=int(pixels[0].numel()),
        n_faces=len(pixels),
    )
