"""Chapter 10: what a small model cannot do, and how easy its swaps are to detect.

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
    BOOTSTRAP_SAMPLES,
    CONFIDENCE,
    Estimate,
    Result,
    bootstrap_mean,
    from_folds,
    judge,
    markdown_table,
)

DEGRADES_DB = 1.0  # reconstruction "degrades" for new people when it loses more than this
DETECTS = 0.25  # a detector "works" when it beats chance by more than this


def correlation(x: np.ndarray, y: np.ndarray, seed: int = 0) -> Estimate:
    """Pearson's r of ``x`` and ``y`` (N,) with a percentile-bootstrap 95% interval over the
    N pairs (resampled :data:`~sepviz.experiments.BOOTSTRAP_SAMPLES` times)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 3:
        raise ValueError(f"x and y must be (N,) with N >= 3, got {x.shape} and {y.shape}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(BOOTSTRAP_SAMPLES, x.size))
    xs, ys = x[idx], y[idx]
    xs = xs - xs.mean(1, keepdims=True)
    ys = ys - ys.mean(1, keepdims=True)
    denominator = np.sqrt((xs**2).sum(1) * (ys**2).sum(1))
    rs = (xs * ys).sum(1) / np.where(denominator > 0, denominator, np.nan)
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.nanpercentile(rs, [tail, 100 - tail])
    return Estimate(float(np.corrcoef(x, y)[0, 1]), float(low), float(high))


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
            f"New people are reconstructed at {self.new}, training people at {self.familiar}: "
            f"a drop of **{drop}**."
        )
        head = judge(
            drop,
            DEGRADES_DB,
            "**Reconstruction degrades for people the model never saw.**",
            "**Reconstruction does not degrade for new people.**",
            f"the {DEGRADES_DB:g} dB bar",
        )
        if r.below(0):
            trend = (
                f"Among the new people it falls with the distance to the nearest training "
                f"person (r = {r})."
            )
        elif r.above(0):
            trend = f"Among the new people it rises with that distance (r = {r})."
        else:
            trend = f"Among the new people no trend with that distance shows (r = {r})."
        return f"{head} {facts} {trend} A small model trained on a few faces is a model *of* them."

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
        bar = self.chance + DETECTS
        facts = (
            f"A linear detector on {self.n_pixels:,} raw pixels tells swapped from real faces "
            f"for **{self.accuracy}** of held-out faces (chance {self.chance:.0%}; "
            f"{self.n_faces:,} faces)."
        )
        head = judge(
            self.accuracy,
            bar,
            "**A detector this simple works on these swaps.** The swaps of a small model "
            "carry traces a linear read-out finds; that says nothing about detecting the "
            "output of large, unknown generators.",
            "**A detector this simple does not work here.** Telling these swaps needs more "
            "than simple statistics.",
            f"chance + {DETECTS:.0%}",
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
