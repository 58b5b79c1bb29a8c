"""Chapter 7 (the blog's idea 1): relight person A by swapping B's photograph under the wanted
light, retrieved in the shared latent, to A.

- :func:`idea_one`: idea 1 against the truth for every lamp, next to the input unchanged and
  the mean face, and split into its two halves: a perfect bank (what the swap alone costs), a
  perfect swap (what retrieval alone costs) and the ceiling (decoder A on A's own code).
- :func:`light_side`: is the output lit from the lamp's side?
- :func:`retrieval_match`: does retrieval in the latent find B faces with A's expression?

Every number is a mean over the faces of A with a bootstrap interval; means over the lamps
average each face's three values first, so the bootstrap stays paired face by face.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    judge,
    markdown_table,
    paired_gain,
)

COLUMNS = ("idea 1", "input unchanged", "mean face", "perfect bank", "perfect swap", "ceiling")
"""The predictions of the true relit A that :func:`idea_one` scores."""
LIT_RIGHT = 0.10  # idea 1 "moves the light" when it hits the lamp's side this much more often
FINDS = 0.5  # retrieval "finds" a factor when it goes this far from a random face to the best


@dataclass(frozen=True)
class IdeaOne(Result):
    """PSNR (dB) to the true relit A of idea 1 and of the other predictions, per lamp."""

    lamps: tuple[str, ...]
    azimuths: tuple[float, ...]
    psnr: tuple[tuple[Estimate, ...], ...]  # [column of COLUMNS][lamp]
    mean: tuple[Estimate, ...]  # [column]: each face's mean over the lamps, then over faces
    gain_input: tuple[Estimate, ...]  # idea 1 - input unchanged, per lamp, paired
    gain_mean_face: tuple[Estimate, ...]  # idea 1 - mean face, per lamp, paired
    gain_input_mean: Estimate  # over the lamps
    distance_picked: Estimate  # latent distance of the retrieved B faces to A's code
    distance_perfect: Estimate  # ... of the perfect bank's B faces
    relit: tuple[torch.Tensor, ...] = field(repr=False, compare=False)  # per lamp (N, 3, S, S)
    truth: tuple[torch.Tensor, ...] = field(repr=False, compare=False)
    picked: tuple[torch.Tensor, ...] = field(repr=False, compare=False)  # (N,) bank indices

    def over_lamps(self, column: str) -> Estimate:
        """The mean over the lamps of ``column`` (a name of :data:`COLUMNS`)."""
        return self.mean[COLUMNS.index(column)]

    @property
    def verdict(self) -> str:
        m = {c: self.over_lamps(c) for c in COLUMNS}
        gain = self.gain_input_mean
        n = len(self.lamps)
        wins = sum(g.above(0) for g in self.gain_input)
        wins_mean = sum(g.above(0) for g in self.gain_mean_face)
        facts = (
            f"Idea 1 is {m['idea 1']} from the true relit A (means over {n} lamps), the input "
            f"unchanged {m['input unchanged']}, the mean face {m['mean face']}: a gain of "
            f"**{gain}** over doing nothing (above it for {wins} of {n} lamps), and above the "
            f"mean face for {wins_mean} of {n} lamps."
        )
        if gain.covers(0):
            head = "**Not distinguishable** from leaving the photograph alone."
        elif gain.above(0):
            head = "**Idea 1 relights A better than leaving the photograph alone**"
            head += "." if wins_mean == n else ", but not always better than a blurry mean face."
        else:
            head = "**Idea 1 does not relight A**: the numbers contradict the blog's idea 1."
        bank, swap, ceiling = m["perfect bank"], m["perfect swap"], m["ceiling"]
        bottleneck = "the swap" if bank.value < swap.value else "the retrieval"
        parts = [
            f"{head} {facts}",
            f"What goes wrong is mostly **{bottleneck}**: with a perfect bank the swap reaches "
            f"{bank}, {ceiling - bank} below the {ceiling} that decoder A gives from A's own "
            f"code; with a perfect swap the retrieved faces would give {swap}.",
        ]
        ahead = m["idea 1"] - bank
        if ahead.above(0) and self.distance_picked.below(self.distance_perfect.low):
            parts.append(
                f"Retrieval even beats a perfect bank, by {ahead}: it picks the B faces whose "
                f"codes lie nearest A's (distance {self.distance_picked}, against "
                f"{self.distance_perfect} for the perfect bank's faces), where decoder A, "
                "trained on A's codes only, is least lost; not the faces with A's expression."
            )
        return "\n\n".join(parts)

    def table(self) -> str:
        header = ("prediction of the true relit A", *self.lamps, "mean over lamps")
        rows = [(c, *self.psnr[k], self.mean[k]) for k, c in enumerate(COLUMNS)]
        return markdown_table(header, rows)


def idea_one(
    model: torch.nn.Module,
    test: FaceSet,
    bank: FaceSet,
    azimuths: Sequence[float],
    lamps: Sequence[str],
    to: str = "A",
    bank_person: str = "B",
    seed: int = 0,
) -> IdeaOne:
    """Relight every face of ``test`` (all of person ``to``) to every lamp with idea 1.

    Args:
        model: a trained DeepFakes with decoders ``to`` and ``bank_person``.
        test: unseen faces of ``to``.
        bank: faces of ``bank_person`` shot under the lamps (``factors["azimuth"]`` one of
            ``azimuths``), with expressions and elevations of their own.
        azimuths: each lamp's azimuth (degrees); ``lamps`` their names.
        seed: the bootstraps.
    """
    from sepviz.data.synthetic import EXPRESSION_FACTORS, PERSONS, factor_matrix, relit, render
    from sepviz.ideas import relight_by_swap, retrieve_by_latent
    from sepviz.metrics import psnr
    from sepviz.probes import extract_latents

    size = test.images.shape[-1]
    expr_a = factor_matrix(test, EXPRESSION_FACTORS)
    expr_bank = factor_matrix(bank, EXPRESSION_FACTORS)
    light_bank = bank.factors["azimuth"]
    z_a = extract_latents(model, test.images)
    mean_face = test.images.mean(0, keepdim=True).expand_as(test.images)

    def distance(images: torch.Tensor) -> torch.Tensor:
        return (extract_latents(model, images) - z_a).norm(dim=1)

    scores: dict[str, list[torch.Tensor]] = {c: [] for c in COLUMNS}
    outs, truths, picks, d_picked, d_perfect = [], [], [], [], []
    for lamp in azimuths:
        lamp = float(lamp)
        out = relight_by_swap(model, test.images, bank.images, light_bank, lamp, to=to)
        picked = retrieve_by_latent(model, test.images, bank.images, light_bank, lamp)
        truth = relit(test, lamp)
        at_lamp = torch.full((len(test),), lamp)
        perfect_b = render(  # B with A's expression and elevation, under the lamp
            PERSONS[bank_person], expr_a, torch.stack([at_lamp, test.factors["elevation"]], 1), size
        )
        a_as_picked = render(  # A with the picked B face's expression and elevation
            factor_matrix(test),
            expr_bank[picked],
            torch.stack([at_lamp, bank.factors["elevation"][picked]], 1),
            size,
        )
        predictions = {
            "idea 1": out,
            "input unchanged": test.images,
            "mean face": mean_face,
            "perfect bank": model.swap(perfect_b, to),  # type: ignore[operator]
            "perfect swap": a_as_picked,
            "ceiling": model.swap(truth, to),  # type: ignore[operator]
        }
        for c in COLUMNS:
            scores[c].append(psnr(predictions[c], truth))
        outs.append(out)
        truths.append(truth)
        picks.append(picked)
        d_picked.append(distance(bank.images[picked]))
        d_perfect.append(distance(perfect_b))
    per_lamp = {c: torch.stack(v) for c, v in scores.items()}  # (lamps, N)
    return IdeaOne(
        lamps=tuple(lamps),
        azimuths=tuple(float(a) for a in azimuths),
        psnr=tuple(tuple(bootstrap_mean(v, "dB", seed) for v in per_lamp[c]) for c in COLUMNS),
        mean=tuple(bootstrap_mean(per_lamp[c].mean(0), "dB", seed) for c in COLUMNS),
        gain_input=tuple(
            paired_gain(a, b, "dB", seed)
            for a, b in zip(per_lamp["idea 1"], per_lamp["input unchanged"])
        ),
        gain_mean_face=tuple(
            paired_gain(a, b, "dB", seed) for a, b in zip(per_lamp["idea 1"], per_lamp["mean face"])
        ),
        gain_input_mean=paired_gain(
            per_lamp["idea 1"].mean(0), per_lamp["input unchanged"].mean(0), "dB", seed
        ),
        distance_picked=bootstrap_mean(torch.stack(d_picked).mean(0), "", seed),
        distance_perfect=bootstrap_mean(torch.stack(d_perfect).mean(0), "", seed),
        relit=tuple(outs),
        truth=tuple(truths),
        picked=tuple(picks),
    )


# -- is the light on the right side? -----------------------------------------------------------
@dataclass(frozen=True)
class LightSide(Result):
    """How often the light class read from the pixels (left/right asymmetry) is the lamp's."""

    lamps: tuple[str, ...]
    labels: tuple[str, ...]  # idea 1, ground truth, input unchanged
    asymmetry: tuple[tuple[Estimate, ...], ...]  # [label][lamp], mean (R - L) / (R + L)
    hits: tuple[Estimate, ...]  # [label], over the lamps
    gain: Estimate  # idea 1's hits minus the input's, paired over faces

    @property
    def verdict(self) -> str:
        idea, truth, still = self.hits
        facts = (
            f"Idea 1's output is lit from the lamp's side for **{idea}** of the faces, "
            f"against {still} before and {truth} for the true relit faces (a gain of "
            f"{self.gain})."
        )
        head = judge(
            self.gain,
            LIT_RIGHT,
            "**Idea 1 moves the light where it was asked.**",
            "**Idea 1 does not move the light where it was asked.**",
            f"a gain of {LIT_RIGHT:.0%}",
        )
        return f"{head} {facts}"

    def table(self) -> str:
        header = ("image", *(f"asymmetry, {lamp} lamp" for lamp in self.lamps), "lit from lamp")
        rows = [(lab, *a, h) for lab, a, h in zip(self.labels, self.asymmetry, self.hits)]
        return markdown_table(header, rows)


def light_side(run: IdeaOne, test: FaceSet, seed: int = 0) -> LightSide:
    """Read the light class of idea 1's outputs, the truths and the inputs from their pixels
    (:func:`sepviz.data.real.lighting_pseudo_label`) and compare with each lamp's class."""
    from sepviz.data.real import lighting_pseudo_label

    images = {
        "idea 1": run.relit,
        "ground truth": run.truth,
        "input unchanged": (test.images,) * len(run.lamps),
    }
    asym, hits, per_face = [], [], {}
    for label, per_lamp in images.items():
        scores, hit = [], []
        for k, x in enumerate(per_lamp):
            score, cls = lighting_pseudo_label(x)
            scores.append(bootstrap_mean(score, "", seed))
            hit.append((cls == k).float())
        per_face[label] = torch.stack(hit).mean(0)
        asym.append(tuple(scores))
        hits.append(bootstrap_mean(per_face[label], "%", seed))
    gain = paired_gain(per_face["idea 1"], per_face["input unchanged"], "%", seed)
    return LightSide(run.lamps, tuple(images), tuple(asym), tuple(hits), gain)


# -- does retrieval find A's expression? -------------------------------------------------------
def _ratio_interval(top: np.ndarray, bottom: np.ndarray, seed: int) -> tuple[float, np.ndarray]:
    """``mean(top) / mean(bottom)`` over faces and its bootstrap replicates (same indices)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, top.shape[-1], size=(BOOTSTRAP_SAMPLES, top.shape[-1]))
    value = top.mean(-1) / bottom.mean(-1)
    boot = top[..., idx].mean(-1) / bottom[..., idx].mean(-1)
    return value, boot


@dataclass(frozen=True)
class RetrievalMatch(Result):
    """Mean absolute error between A and the B face retrieval picked, for each factor, next to
    a random B face under the lamp and the best match the bank holds for that factor alone;
    ``progress`` is how far retrieval goes from random (0) to the best (1)."""

    factors: tuple[str, ...]
    retrieved: tuple[float, ...]
    random: tuple[float, ...]
    best: tuple[float, ...]
    progress: tuple[Estimate, ...]
    expression: Estimate  # the mean progress over the expression factors

    @property
    def verdict(self) -> str:
        expr = self.expression
        k = max(range(len(self.factors)), key=lambda i: self.progress[i].value)
        elevation = dict(zip(self.factors, self.progress)).get("elevation")
        facts = (
            f"Retrieval goes **{expr}** of the way from a random B face to the best match in "
            f"the bank for the expression"
            + (f" (elevation: {elevation})." if elevation is not None else ".")
        )
        if expr.covers(FINDS):
            head = f"**Not distinguishable** from {FINDS:.0%} of the way."
        elif expr.above(FINDS):
            head = "**Retrieval in the latent finds A's expression.**"
        else:
            head = "**Retrieval in the latent does not find A's expression.**"
        parts = [f"{head} {facts}"]
        if self.factors[k] == "elevation":
            parts.append(
                "It matches the light's elevation best: the nearest code is the face with the "
                "most similar pixels, and the light shades the whole face while mouth and eyes "
                "are a few pixels."
            )
        else:
            parts.append(f"It matches {self.factors[k]} best of the {len(self.factors)} factors.")
        worse = [f for f, p in zip(self.factors, self.progress) if p.below(0)]
        if worse:
            parts.append(f"For {', '.join(worse)} it does worse than a random B face.")
        if not expr.above(FINDS) and not expr.covers(FINDS):
            parts.append(
                "This contradicts the blog's premise that the shared latent finds B's face "
                "with the expression nearest A's."
            )
        return " ".join(parts)

    def table(self) -> str:
        rows = [
            (f, f"{r:.3f}", f"{q:.3f}", f"{b:.3f}", p)
            for f, r, q, b, p in zip(
                self.factors, self.retrieved, self.random, self.best, self.progress
            )
        ]
        header = ("factor", "retrieved", "random B", "best in bank", "way from random to best")
        return markdown_table(header, rows)


def retrieval_match(
    run: IdeaOne,
    test: FaceSet,
    bank: FaceSet,
    factors: Sequence[str] = ("smile", "mouth_open", "eyes_open", "elevation"),
    scale: dict[str, float] | None = None,
    seed: int = 0,
) -> RetrievalMatch:
    """Per-factor errors of the B faces idea 1 retrieved (``run.picked``) for ``test``.

    ``scale`` divides a factor first (default: elevation by its 60-degree range), so all
    errors are comparable. Errors average over the lamps; the interval of ``progress`` is a
    bootstrap over the faces of A.
    """
    from sepviz.data.synthetic import EXPRESSION_FACTORS

    scale = {"elevation": 60.0} if scale is None else scale
    light = bank.factors["azimuth"]
    errs = {"retrieved": [], "random": [], "best": []}
    for f in factors:
        a = (test.factors[f] / scale.get(f, 1.0)).double()
        b = (bank.factors[f] / scale.get(f, 1.0)).double()
        per = {key: torch.zeros(len(test), dtype=torch.float64) for key in errs}
        for lamp, picked in zip(run.azimuths, run.picked):
            gaps = (a[:, None] - b[(light - lamp).abs() < 1e-3][None, :]).abs()
            per["retrieved"] += (b[picked] - a).abs() / len(run.picked)
            per["random"] += gaps.mean(1) / len(run.picked)
            per["best"] += gaps.min(dim=1).values / len(run.picked)
        for key in errs:
            errs[key].append(per[key].numpy())
    e = {key: np.stack(v) for key, v in errs.items()}  # (factors, N)
    value, boot = _ratio_interval(e["random"] - e["retrieved"], e["random"] - e["best"], seed)
    tail = 100 * (1 - CONFIDENCE) / 2
    lows, highs = np.percentile(boot, [tail, 100 - tail], axis=-1)
    progress = tuple(
        Estimate(float(v), float(lo), float(hi), "%") for v, lo, hi in zip(value, lows, highs)
    )
    is_expr = np.array([f in EXPRESSION_FACTORS for f in factors])
    ev, eb = value[is_expr].mean(), boot[is_expr].mean(0)
    elow, ehigh = np.percentile(eb, [tail, 100 - tail])
    return RetrievalMatch(
        factors=tuple(factors),
        retrieved=tuple(float(x) for x in e["retrieved"].mean(1)),
        random=tuple(float(x) for x in e["random"].mean(1)),
        best=tuple(float(x) for x in e["best"].mean(1)),
        progress=progress,
        expression=Estimate(float(ev), float(elow), float(ehigh), "%"),
    )
