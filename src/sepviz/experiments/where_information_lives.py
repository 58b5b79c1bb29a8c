"""Chapter 6: where does each kind of information live in a trained model?

- :func:`latent_probes`: linear and MLP probes read known factors from the latents of unseen
  faces, next to the same linear probe on the faces' pixels (PCA) and chance.
- :func:`picture_reads`: how much of a factor a 2-D picture of the latent (UMAP) still shows.
- :func:`disentanglement`: MIG and DCI of a latent against the known factors.
- :func:`held_out_faces`: unseen faces of the autoencoder's and the DeepFakes model's people.
- :func:`probe_blocks` / :func:`layer_reads`: linear probes at every block, with intervals.
- :func:`decoder_identity`: what a decoder's *weights* add: fed the other person's face, does
  it draw its own person?
- :func:`hybrid_decoders`: decoders built from the first k blocks of one decoder and the rest
  of the other.

:data:`PALETTE` gives every value of the factors the UMAP panels are coloured by one colour
of its own, the same in every panel of the chapter.
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
    Estimate,
    Result,
    bootstrap_mean,
    from_folds,
    from_spread,
    markdown_table,
)

MARGIN = 0.10  # a probe "reads" a factor when it beats chance by more than this
AE, DF = "autoencoder", "DeepFakes"
"""The chapter's two models, as named in its tables and figures."""
FACTORS = {
    "identity": "identity",
    "light class": "light_class",
    "azimuth": "azimuth",
    "smile": "smile",
}
"""The factors the latent probes read: label -> key of ``FaceSet.factors``."""
KNOWN = ("identity", "smile", "mouth_open", "eyes_open", "azimuth", "elevation")
"""The factors MIG and DCI score a latent against: identity, expression and light."""
BROKEN_DB = 3.0  # hybrids are "broken" when this much worse than the whole decoders

PALETTE: dict[str, dict[str, str]] = {
    # light: blue from the left, red from the right, grey in between (never a person's colour)
    "light class": {"left": "#3b4cc0", "centre": "#9a9a9a", "right": "#b40426"},
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
    size: int, n: int, seed: int = 0
) -> tuple[dict[str, FaceSet], dict[str, list[str]]]:
    """``n`` faces for each of the chapter's models trained with ``seed``, none seen in
    training (drawn with ``seed + 1``): new expressions and lights of the autoencoder's 8
    training people (its recipe draws them first) and of DeepFakes' A and B.

    Returns ``(faces, persons)``, both keyed by :data:`AE` and :data:`DF`; ``persons[m][k]``
    names identity ``k`` of ``faces[m]``.
    """
    from sepviz.data import synthetic
    from sepviz.recipes import recipe

    people = synthetic.factor_matrix(recipe("autoencoder").training_faces(8, size, seed))
    faces = {
        AE: synthetic.make_faces(n, size, people, seed=seed + 1),
        DF: synthetic.make_faces(n, size, ["A", "B"], seed=seed + 1),
    }
    return faces, {AE: [str(k) for k in range(len(people))], DF: ["A", "B"]}


def _estimate(result: Any) -> Estimate:
    """A :class:`~sepviz.probes.ProbeResult` as an Estimate over its folds."""
    return from_folds(result.fold_scores, "%" if result.task == "classification" else "")


def _bar(values: Sequence[Estimate]) -> tuple[list[float], list[list[float]]]:
    mid = [e.value for e in values]
    return mid, [[e.value - e.low for e in values], [e.high - e.value for e in values]]


# -- 1. probes on the latent -------------------------------------------------------------------
@dataclass(frozen=True)
class LatentProbes(Result):
    """Held-out scores (5 folds) of probes reading each factor from a model's latent, and of a
    linear probe reading it from the pixels (their first 64 PCA directions)."""

    model: str
    factors: tuple[str, ...]
    classes: tuple[bool, ...]  # accuracy (True) or R² (False)
    linear: tuple[Estimate, ...]
    mlp: tuple[Estimate, ...]
    pixels: tuple[Estimate, ...]
    chance: tuple[float, ...]
    shared: bool = False  # a latent shared by several decoders (DeepFakes): the blog's claim

    def _chance(self, k: int) -> str:
        return f"{self.chance[k]:.0%}" if self.classes[k] else f"{self.chance[k]:.0f}"

    def best(self, factor: str) -> Estimate:
        """The better of the linear and the MLP probe for ``factor``."""
        k = self.factors.index(factor)
        return max(self.linear[k], self.mlp[k], key=lambda e: e.value)

    @property
    def verdict(self) -> str:
        k = self.factors.index("identity")
        ident, bar = self.best("identity"), self.chance[k] + MARGIN
        facts = (
            f"A probe tells the person from the {self.model} latent for **{ident}** of "
            f"held-out faces (chance {self._chance(k)}; {self.pixels[k]} from the pixels)."
        )
        others = "; ".join(
            f"{f} {lin}" for f, lin in zip(self.factors, self.linear) if f != "identity"
        )
        facts += f" Linear probes read {others}."
        if ident.covers(bar):
            return f"**Not distinguishable** from chance + {MARGIN:.0%}. {facts}"
        readable = ident.above(bar)
        if readable:
            head = f"**Identity is in the {self.model} latent.**"
        else:
            head = f"**The {self.model} latent is identity-free.**"
        claim = ""
        if self.shared:
            claim = (
                " The blog's claim that identity lives only in the decoders is "
                f"{'contradicted' if readable else 'supported'} by the latent."
            )
        return f"{head} {facts}{claim}"

    def table(self) -> str:
        rows = [
            (f, "accuracy" if c else "R²", lin, mlp, pix, self._chance(k))
            for k, (f, c, lin, mlp, pix) in enumerate(
                zip(self.factors, self.classes, self.linear, self.mlp, self.pixels)
            )
        ]
        header = ("factor", "metric", "linear", "MLP", "pixels (linear)", "chance")
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
            float factors regressed (R²). One label must be ``"identity"``.
        shared: the latent is shared by several decoders (the verdict cites the blog).
        seed: folds and MLP initialisation.
    """
    from sepviz.experiments.fadernet import pixel_codes
    from sepviz.probes import probe

    if "identity" not in factors:
        raise ValueError(f"factors must include 'identity', got {list(factors)}")
    pixels = pixel_codes(faces.images)
    linear, mlp, base, chance, classes = [], [], [], [], []
    for key in factors.values():
        labels = faces.factors[key]
        lin = probe(z, labels, kind="linear", seed=seed)
        linear.append(_estimate(lin))
        mlp.append(_estimate(probe(z, labels, kind="mlp", seed=seed)))
        base.append(_estimate(probe(pixels, labels, kind="linear", seed=seed)))
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
    each (N,) strings (``persons[k]`` names identity k), keys of :data:`PALETTE`."""
    from sepviz.data.synthetic import LIGHT_CLASSES

    return {
        "person": np.array(list(persons))[faces.factors["identity"].numpy()],
        "light class": np.array(LIGHT_CLASSES)[faces.factors["light_class"].numpy()],
    }


@dataclass(frozen=True)
class PictureReads(Result):
    """Held-out accuracy of an MLP probe reading each factor from the 2-D UMAP coordinates."""

    models: tuple[str, ...]
    factors: tuple[str, ...]
    scores: tuple[tuple[Estimate, ...], ...]  # [model][factor]
    chance: tuple[tuple[float, ...], ...]

    def way(self, m: int, f: int) -> float:
        """How far the score gets from chance (0) to perfect (1)."""
        return (self.scores[m][f].value - self.chance[m][f]) / (1 - self.chance[m][f])

    @property
    def verdict(self) -> str:
        parts = []
        for m, model in enumerate(self.models):
            f = max(range(len(self.factors)), key=lambda f: self.way(m, f))
            reads = ", ".join(
                f"{name} {s} (chance {c:.0%})"
                for name, s, c in zip(self.factors, self.scores[m], self.chance[m])
            )
            parts.append(
                f"the {model} picture shows **{self.factors[f]}** best ({self.way(m, f):.0%} "
                f"of the way from chance to perfect; {reads})"
            )
        text = "; ".join(parts)
        return (
            f"From the 2-D coordinates alone an MLP probe finds that {text}. What the picture "
            "does not show may still be in the latent: the probes above read the latent itself."
        )

    def table(self) -> str:
        header = ("latent", *(f"{f}: read from the picture" for f in self.factors))
        rows = [
            (model, *(f"{s} (chance {c:.0%})" for s, c in zip(scores, chance)))
            for model, scores, chance in zip(self.models, self.scores, self.chance)
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
        scores.append(tuple(_estimate(r) for r in results))
        chance.append(tuple(r.chance for r in results))
    return PictureReads(models, factors, tuple(scores), tuple(chance))


# -- 3. MIG and DCI ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Disentanglement(Result):
    """MIG (with a bootstrap interval over faces) and DCI (one fit) of a latent."""

    model: str
    factors: tuple[str, ...]
    mig: Estimate
    mig_per_factor: tuple[float, ...]
    best_unit: tuple[int, ...]
    informativeness_per_factor: tuple[float, ...]
    disentanglement: float
    completeness: float
    informativeness: float
    importance: np.ndarray = field(repr=False, compare=False)  # (D units, K factors)

    threshold = 0.2  # MIG above which a latent counts as disentangled

    @property
    def verdict(self) -> str:
        facts = (
            f"MIG {self.mig} (bar {self.threshold:g}); DCI disentanglement "
            f"{self.disentanglement:.2f}, completeness {self.completeness:.2f}, "
            f"informativeness {self.informativeness:.2f}."
        )
        if self.mig.covers(self.threshold):
            return f"**Not distinguishable** from the bar. {facts}"
        if self.mig.below(self.threshold):
            return (
                f"**The {self.model} latent is entangled**: the factors are all there "
                f"(informativeness {self.informativeness:.2f}) but spread over many units. "
                f"{facts}"
            )
        return f"**The {self.model} latent is disentangled**: one unit per factor. {facts}"

    def table(self) -> str:
        rows = [
            (f, f"{g:.3f}", f"z{u}", f"{i:.2f}")
            for f, g, u, i in zip(
                self.factors, self.mig_per_factor, self.best_unit, self.informativeness_per_factor
            )
        ]
        header = ("factor", "MIG gap", "best unit", "DCI informativeness")
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


def _binned(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Codes 0..B of ``values`` (N,): class indices for integers, else the equal-width bins of
    :func:`sepviz.metrics.mig` (the histogram discretiser of disentanglement_lib)."""
    if not np.issubdtype(values.dtype, np.floating):
        return np.unique(values, return_inverse=True)[1].reshape(-1)
    edges = np.histogram(values, bins=n_bins)[1][:-1]
    return np.digitize(values, edges)


def _mutual_info(codes: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Plug-in mutual information (nats) of each column of ``codes`` (N, D) with ``factor``
    (N,), all small non-negative ints: one joint histogram per column."""
    n, d = codes.shape
    ka, kb = int(codes.max()) + 1, int(factor.max()) + 1
    index = (np.arange(d)[None, :] * ka + codes) * kb + factor[:, None]
    joint = np.bincount(index.ravel(), minlength=d * ka * kb).reshape(d, ka, kb) / n
    outer = joint.sum(2, keepdims=True) * joint.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log(joint / outer), 0.0)
    return terms.sum((1, 2))


def _binned_all(
    z: torch.Tensor | np.ndarray, factors: Mapping[str, Any], n_bins: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    zs = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
    codes = np.stack([_binned(zs[:, j], n_bins) for j in range(zs.shape[1])], 1)
    return codes, [_binned(np.asarray(v), n_bins) for v in factors.values()]


def _mig(codes: np.ndarray, binned: Sequence[np.ndarray]) -> float:
    gaps = []
    for v in binned:
        mi = np.sort(_mutual_info(codes, v))[::-1]
        gaps.append((mi[0] - mi[1]) / _mutual_info(v[:, None], v)[0])
    return float(np.mean(gaps))


def fast_mig(z: torch.Tensor | np.ndarray, factors: Mapping[str, Any], n_bins: int = 20) -> float:
    """:func:`sepviz.metrics.mig`'s MIG, vectorised (one joint histogram per latent unit)."""
    return _mig(*_binned_all(z, factors, n_bins))


def mig_bootstrap(
    z: torch.Tensor | np.ndarray,
    factors: Mapping[str, Any],
    resamples: int = 200,
    seed: int = 0,
    n_bins: int = 20,
) -> np.ndarray:
    """MIG of ``resamples`` bootstrap resamplings of the N faces (rows of ``z`` (N, D) and of
    every (N,) factor), binned once on all faces as :func:`sepviz.metrics.mig` bins them;
    (resamples,) floats."""
    codes, binned = _binned_all(z, factors, n_bins)
    rng = np.random.default_rng(seed)
    out = np.empty(resamples)
    for r in range(resamples):
        i = rng.integers(0, len(codes), len(codes))
        out[r] = _mig(codes[i], [v[i] for v in binned])
    return out


def disentanglement(
    z: torch.Tensor,
    factors: Mapping[str, torch.Tensor],
    model: str,
    seed: int = 0,
    resamples: int = 100,
) -> Disentanglement:
    """MIG and DCI (:mod:`sepviz.metrics`) of latents ``z`` (N, D) against ``factors``
    (name -> (N,) values); MIG's interval is the percentile bootstrap of ``resamples``
    resamplings of the N faces (:func:`mig_bootstrap`)."""
    from sepviz.metrics import dci, mig

    m = mig(z, factors)
    d = dci(z, factors, seed=seed)
    boot = mig_bootstrap(z, factors, resamples, seed)
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(boot, [tail, 100 - tail])
    names = tuple(factors)
    return Disentanglement(
        model=model,
        factors=names,
        mig=Estimate(m["mig"], min(float(low), m["mig"]), max(float(high), m["mig"])),
        mig_per_factor=tuple(m["per_factor"][k] for k in names),
        best_unit=tuple(m["best_code"][k] for k in names),
        informativeness_per_factor=tuple(d["informativeness_per_factor"][k] for k in names),
        disentanglement=d["disentanglement"],
        completeness=d["completeness"],
        informativeness=d["informativeness"],
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
    rows: tuple[Mapping[str, Any], ...] = field(default=(), repr=False, compare=False)

    def score(self, layer: str, factor: str) -> Estimate:
        return self.scores[self.layers.index(layer)][self.factors.index(factor)]

    @property
    def latent(self) -> str:
        """The last encoder block: its output is the latent."""
        return [n for n in self.layers if n.startswith("enc")][-1]

    @property
    def decoder_blocks(self) -> list[str]:
        return [n for n in self.layers if n.startswith("dec")]

    def readable(self, factor: str) -> list[str]:
        """Blocks where the whole interval lies above chance + MARGIN."""
        bar = self.chance[self.factors.index(factor)] + MARGIN
        return [n for n in self.layers if self.score(n, factor).above(bar)]

    @property
    def verdict(self) -> str:
        parts = []
        for k, factor in enumerate(self.factors):
            where = self.readable(factor)
            lowest = min(
                (self.score(n, factor) for n in self.decoder_blocks), key=lambda e: e.value
            )
            parts.append(
                f"**{factor}** at {len(where)} of {len(self.layers)} blocks "
                f"(latent {self.score(self.latent, factor)}, lowest block of decoder "
                f"{self.decoder} {lowest}; chance {self.chance[k]:.0%})"
            )
        return "A linear probe reads " + "; ".join(parts) + "."

    def table(self) -> str:
        header = ("block", *(f"{f} (chance {c:.0%})" for f, c in zip(self.factors, self.chance)))
        rows = [(n, *row) for n, row in zip(self.layers, self.scores)]
        return markdown_table(header, rows)

    def plot(self, title: str | None = None) -> object:
        """Probe score against block, one line per factor (:func:`sepviz.viz.layer_curve`)."""
        from sepviz.viz import layer_curve

        return layer_curve(
            self.rows, title=title or f"Layer by layer, through decoder {self.decoder}"
        )


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
    return LayerReads(layers, factors, scores, chance, decoder, tuple(rows))


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

    @property
    def other_inputs(self) -> Estimate:
        """The lower (over decoders) share of *other* people's faces a decoder draws nearer its
        own person."""
        shares = [r[4] for r in self.rows if r[0] != r[1]]
        return min(shares, key=lambda e: e.value)

    @property
    def verdict(self) -> str:
        share = self.other_inputs
        latent = self.layers.score(self.layers.latent, "identity")
        chance = self.layers.chance[self.layers.factors.index("identity")]
        facts = (
            f"Fed the other person's face, each decoder draws a face nearer its own person for "
            f"**{share}** of the inputs (the lower of the decoders; a decoder that only "
            f"passed the latent on would score near 0%)."
        )
        if share.covers(0.5):
            return f"**Not distinguishable** from half. {facts}"
        if not share.above(0.5):
            return f"**The decoders' weights do not carry identity.** {facts}"
        in_latent = latent.above(chance + MARGIN)
        where = (
            f"But identity is not *only* in the decoders: the input's person is readable from "
            f"the shared latent ({latent}, chance {chance:.0%}). Identity lives in both places."
            if in_latent
            else f"The shared latent does not tell the persons apart ({latent}, chance "
            f"{chance:.0%}): identity lives in the decoders."
        )
        return f"**The decoders' weights carry identity.** {facts} {where}"

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


# -- 5. hybrid decoders --------------------------------------------------------------------------
@dataclass(frozen=True)
class HybridDecoders(Result):
    """PSNR (dB) to the true render of each person of decoders whose first k blocks come from
    ``source`` and the rest from ``target`` (k = 0: ``target`` whole; k = L: ``source``)."""

    source: str
    target: str
    to_target: tuple[Estimate, ...]  # k = 0..L
    to_source: tuple[Estimate, ...]
    mean_face: tuple[Estimate, Estimate]  # each person's mean face, to its own truth

    @property
    def whole(self) -> Estimate:
        """The lower of the two whole decoders, each against its own person's truth."""
        return min(self.to_target[0], self.to_source[-1], key=lambda e: e.value)

    @property
    def best_hybrid(self) -> tuple[int, Estimate]:
        """``(k, PSNR)`` of the hybrid nearest either person (0 < k < L)."""
        cands = [
            (k, max(a, b, key=lambda e: e.value))
            for k, (a, b) in enumerate(zip(self.to_target, self.to_source))
            if 0 < k < len(self.to_target) - 1
        ]
        return max(cands, key=lambda kc: kc[1].value)

    @property
    def verdict(self) -> str:
        k, best = self.best_hybrid
        gap = self.whole - best
        floor = min(self.mean_face, key=lambda e: e.value)
        means = " and ".join(str(e) for e in self.mean_face)
        facts = (
            f"The best hybrid (k = {k}) is {best} from the nearer true face, against "
            f"{self.whole} for the whole decoders ({gap} worse)"
            + (
                f", below even a person's mean face ({means}): the hybrids output noise."
                if best.below(floor.low)
                else f"; a person's mean face scores {means}."
            )
        )
        if gap.covers(BROKEN_DB):
            return f"**Not distinguishable** from the {BROKEN_DB:g} dB bar. {facts}"
        if gap.above(BROKEN_DB):
            return (
                f"**The hybrids match neither person.** {facts} The blocks of two decoders "
                "trained apart do not fit together, so this test cannot say at which block "
                "identity enters; it only shows that a decoder's blocks work as a set."
            )
        turn = next(
            (
                j
                for j, (a, b) in enumerate(zip(self.to_target, self.to_source))
                if b.value > a.value
            ),
            len(self.to_target) - 1,
        )
        return (
            f"**The hybrids stay faces**, and the face turns into {self.source} from k = "
            f"{turn} on. {facts}"
        )

    def table(self) -> str:
        n = len(self.to_target) - 1
        names = [
            f"{self.target} whole" if k == 0 else f"{self.source} whole" if k == n else f"k = {k}"
            for k in range(n + 1)
        ]
        rows = list(zip(names, self.to_target, self.to_source))
        rows.append(("mean face of each person", self.mean_face[0], self.mean_face[1]))
        header = ("decoder", f"PSNR to true {self.target}", f"PSNR to true {self.source}")
        return markdown_table(header, rows)


def hybrid_decoders(
    model: Any, faces: FaceSet, source: str = "B", target: str = "A", seed: int = 0
) -> tuple[HybridDecoders, torch.Tensor]:
    """Run :func:`sepviz.grids.layer_swap_grid` on ``faces`` and score every column against
    the true renders of ``target`` and ``source``. Returns the result and the grid
    (N, L + 1, 3, H, W)."""
    from sepviz.data.synthetic import swapped
    from sepviz.grids import layer_swap_grid
    from sepviz.metrics import psnr

    grid = layer_swap_grid(model, faces.images, source=source, target=target)
    truth_t, truth_s = swapped(faces, target), swapped(faces, source)
    to_t = tuple(
        bootstrap_mean(psnr(grid[:, k], truth_t), "dB", seed) for k in range(grid.shape[1])
    )
    to_s = tuple(
        bootstrap_mean(psnr(grid[:, k], truth_s), "dB", seed) for k in range(grid.shape[1])
    )
    means = tuple(
        bootstrap_mean(psnr(t.mean(0, keepdim=True).expand_as(t), t), "dB", seed)
        for t in (truth_t, truth_s)
    )
    return HybridDecoders(source, target, to_t, to_s, means), grid  # type: ignore[arg-type]
