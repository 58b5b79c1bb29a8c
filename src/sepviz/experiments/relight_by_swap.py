"""Chapter 8 (the blog's idea 1): relight person A by swapping B's photograph under the wanted
light, retrieved in the shared latent, to A.

- :func:`idea_one`: idea 1 against the truth for every lamp, next to the input unchanged and
  the mean face, and split into its two halves: a perfect bank (what the swap alone costs), a
  perfect swap (what retrieval alone costs) and the ceiling (decoder A on A's own code); it
  also checks the retrieval (:func:`retrieval_match`), so that its verdict names a failing
  half.
- :func:`light_side`: is the output lit from the lamp's side?
- :func:`retrieval_match`: does retrieval in the latent find B faces with A's expression?
- :func:`pose_retrieval`: with heads turned (``factors["yaw"]`` on A's faces and the bank),
  does retrieval find a B photo at A's pose, against a random one?
- :func:`bank_sizes`: what the blog's "B in every pose" costs: bank size against the relit
  error and the pose the retrieved photo misses by.

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
    DB_MARGIN,
    Estimate,
    Order,
    Result,
    bootstrap_mean,
    compare,
    judge,
    markdown_table,
    paired_gain,
)

COLUMNS = ("idea 1", "input unchanged", "mean face", "perfect bank", "perfect swap", "ceiling")
"""The predictions of the true relit A that :func:`idea_one` scores."""

LIT_RIGHT = 0.10
"""Idea 1 *moves the light* when its output is lit from the lamp's side for more faces than
the unchanged input is, by more than 10 points over the whole interval. The input's share is
a third whatever the faces (each face's one light class is one lamp of three); a tenth of the
faces is the smallest change called a move, the share of the room that
:data:`~sepviz.experiments.READ_SHARE` asks of a reader."""

FINDS = 0.5
"""Retrieval *finds* a factor when it goes more than half of the way from a random B face under
the lamp (0) to the best match the bank holds for that factor alone (1), over the whole
interval: nearer the best match than a random face, not only a little better than chance."""

RETRIEVAL_FACTORS = ("smile", "mouth_open", "eyes_open", "elevation")
"""The factors :func:`retrieval_match` checks by default: the expression, and the light's
elevation (the lamp fixes the azimuth). :func:`idea_one` adds ``"yaw"`` when A's faces and the
bank both have turned heads."""

SCALE = {"elevation": 60.0, "yaw": 80.0}
"""What :func:`retrieval_match` divides a factor's errors by (its range in degrees), so the
errors of all factors are comparable; the shares of the way do not depend on it."""

FOUND, UNDECIDED, SHORT, RANDOM, WORSE = (
    "found",
    "not distinguishable from the bar",
    "part of the way",
    "no better than random",
    "worse than random",
)
"""What :meth:`RetrievalMatch.status` says of a factor."""


def _and(names: Sequence[str]) -> str:
    """``["a", "b", "c"]`` as ``"a, b and c"``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@dataclass(frozen=True)
class IdeaOne(Result):
    """PSNR (dB) to the true relit A of idea 1 and of the other predictions, per lamp.

    ``swap_minus_bank``: the perfect swap's PSNR minus the perfect bank's, paired over faces
    (positive: the swap costs more than retrieval); ``idea_minus_bank``: idea 1's minus the
    perfect bank's. ``retrieval``: :func:`retrieval_match` of this run (None: not checked).
    """

    lamps: tuple[str, ...]
    azimuths: tuple[float, ...]
    psnr: tuple[tuple[Estimate, ...], ...]  # [column of COLUMNS][lamp]
    mean: tuple[Estimate, ...]  # [column]: each face's mean over the lamps, then over faces
    gain_input: tuple[Estimate, ...]  # idea 1 - input unchanged, per lamp, paired
    gain_mean_face: tuple[Estimate, ...]  # idea 1 - mean face, per lamp, paired
    gain_input_mean: Estimate  # over the lamps
    swap_minus_bank: Estimate  # over the lamps, paired
    idea_minus_bank: Estimate  # over the lamps, paired
    distance_picked: Estimate  # latent distance of the retrieved B faces to A's code
    distance_perfect: Estimate  # ... of the perfect bank's B faces
    relit: tuple[torch.Tensor, ...] = field(repr=False, compare=False)  # per lamp (N, 3, S, S)
    truth: tuple[torch.Tensor, ...] = field(repr=False, compare=False)
    picked: tuple[torch.Tensor, ...] = field(repr=False, compare=False)  # (N,) bank indices
    retrieval: RetrievalMatch | None = None

    def over_lamps(self, column: str) -> Estimate:
        """The mean over the lamps of ``column`` (a name of :data:`COLUMNS`)."""
        return self.mean[COLUMNS.index(column)]

    def _head(self) -> str:
        order = compare(self.gain_input_mean, DB_MARGIN)
        if order is Order.NOT_DISTINGUISHABLE:
            return (
                "**Not distinguishable** from leaving the photograph alone (the gain's interval "
                f"covers +{DB_MARGIN} or -{DB_MARGIN} dB)."
            )
        if order is Order.EQUAL:
            return (
                "**Idea 1 relights A no better than leaving the photograph alone**: the gain "
                f"lies within ±{DB_MARGIN} dB."
            )
        if order is Order.WORSE:
            return (
                "**Idea 1 does not relight A**: it is worse than leaving the photograph alone, "
                "which contradicts the blog's idea 1."
            )
        n = len(self.lamps)
        wins_mean = sum(compare(g, DB_MARGIN) is Order.BETTER for g in self.gain_mean_face)
        head = "**Idea 1 relights A better than leaving the photograph alone**"
        if wins_mean == n:
            return head + "."
        return f"{head}, but beats a blurry mean face for only {wins_mean} of {n} lamps."

    def _facts(self) -> str:
        m = {c: self.over_lamps(c) for c in COLUMNS}
        n = len(self.lamps)
        wins = sum(compare(g, DB_MARGIN) is Order.BETTER for g in self.gain_input)
        wins_mean = sum(compare(g, DB_MARGIN) is Order.BETTER for g in self.gain_mean_face)
        return (
            f"Idea 1 is {m['idea 1']} from the true relit A (PSNR, means over {n} lamps), the "
            f"input unchanged {m['input unchanged']}, the mean face {m['mean face']}: a gain "
            f"of **{self.gain_input_mean}** over doing nothing (better by more than "
            f"{DB_MARGIN} dB for {wins} of {n} lamps), and better than the mean face for "
            f"{wins_mean} of {n} lamps."
        )

    def _halves(self) -> str:
        bank, swap, ceiling = (
            self.over_lamps(c) for c in ("perfect bank", "perfect swap", "ceiling")
        )
        d = self.swap_minus_bank
        order = compare(d, DB_MARGIN)
        if order is Order.BETTER:
            which = "What goes wrong is mostly **the swap**"
        elif order is Order.WORSE:
            which = "What goes wrong is mostly **the retrieval**"
        elif order is Order.EQUAL:
            which = f"The swap and the retrieval cost about as much (within ±{DB_MARGIN} dB)"
        else:
            which = (
                "Whether the swap or the retrieval costs more, the data cannot tell (the "
                f"difference's interval covers +{DB_MARGIN} or -{DB_MARGIN} dB)"
            )
        return (
            f"{which}: with a perfect bank the swap reaches {bank}, {ceiling - bank} below the "
            f"{ceiling} that decoder A gives from A's own code; with a perfect swap the "
            f"retrieved faces would give {swap} (perfect swap minus perfect bank, paired: {d})."
        )

    def _ahead(self) -> str:
        ahead = self.idea_minus_bank
        if compare(ahead, DB_MARGIN) is not Order.BETTER:
            return ""
        if not self.distance_picked.below(self.distance_perfect.low):
            return ""
        return (
            f"Retrieval even beats a perfect bank, by {ahead}: it picks the B faces whose codes "
            f"lie nearest A's (distance {self.distance_picked}, against "
            f"{self.distance_perfect} for the perfect bank's faces, which have A's expression), "
            "where decoder A, trained on A's codes only, is least lost."
        )

    def _retrieval(self) -> str:
        if self.retrieval is None or compare(self.gain_input_mean, DB_MARGIN) is not Order.BETTER:
            return ""
        shortfall = self.retrieval.shortfall()
        if not shortfall:
            return ""
        return (
            f"**But** the retrieval {shortfall}: the gain in PSNR, over the whole face, does "
            "not show that idea 1 keeps A's expression."
        )

    @property
    def verdict(self) -> str:
        parts = [f"{self._head()} {self._facts()}", self._retrieval()]
        parts += [self._halves(), self._ahead()]
        return "\n\n".join(p for p in parts if p)

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

    The result's ``retrieval`` is :func:`retrieval_match` of the run on
    :data:`RETRIEVAL_FACTORS`, and the yaw when ``test`` and ``bank`` both have turned heads
    (``factors["yaw"]``): then the perfect bank holds B at A's pose and the perfect swap draws
    A at the picked photo's pose.
    """
    from sepviz.data.synthetic import (
        EXPRESSION_FACTORS,
        PERSONS,
        POSE_FACTORS,
        factor_matrix,
        relit,
        render,
    )
    from sepviz.ideas import relight_by_swap, retrieve_by_latent
    from sepviz.metrics import psnr
    from sepviz.probes import extract_latents

    size = test.images.shape[-1]
    expr_a = factor_matrix(test, EXPRESSION_FACTORS)
    expr_bank = factor_matrix(bank, EXPRESSION_FACTORS)
    light_bank = bank.factors["azimuth"]
    z_a = extract_latents(model, test.images)
    mean_face = test.images.mean(0, keepdim=True).expand_as(test.images)
    # turned heads: the perfect bank holds B at A's pose, the perfect swap draws A at the
    # picked photo's pose (frontal faces: pose None, the renders of before)
    posed = "yaw" in test.factors and "yaw" in bank.factors
    pose_a = factor_matrix(test, POSE_FACTORS) if "yaw" in test.factors else None
    pose_bank = factor_matrix(bank, POSE_FACTORS) if "yaw" in bank.factors else None

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
        perfect_b = render(  # B with A's expression, elevation (and pose), under the lamp
            PERSONS[bank_person],
            expr_a,
            torch.stack([at_lamp, test.factors["elevation"]], 1),
            size,
            pose=pose_a,
        )
        a_as_picked = render(  # A with the picked B face's expression and elevation (and pose)
            factor_matrix(test),
            expr_bank[picked],
            torch.stack([at_lamp, bank.factors["elevation"][picked]], 1),
            size,
            pose=None if pose_bank is None else pose_bank[picked],
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
    over = {c: v.mean(0) for c, v in per_lamp.items()}  # (N,): each face over the lamps
    azimuths = tuple(float(a) for a in azimuths)
    return IdeaOne(
        lamps=tuple(lamps),
        azimuths=azimuths,
        psnr=tuple(tuple(bootstrap_mean(v, "dB", seed) for v in per_lamp[c]) for c in COLUMNS),
        mean=tuple(bootstrap_mean(over[c], "dB", seed) for c in COLUMNS),
        gain_input=tuple(
            paired_gain(a, b, "dB", seed)
            for a, b in zip(per_lamp["idea 1"], per_lamp["input unchanged"])
        ),
        gain_mean_face=tuple(
            paired_gain(a, b, "dB", seed) for a, b in zip(per_lamp["idea 1"], per_lamp["mean face"])
        ),
        gain_input_mean=paired_gain(over["idea 1"], over["input unchanged"], "dB", seed),
        swap_minus_bank=paired_gain(over["perfect swap"], over["perfect bank"], "dB", seed),
        idea_minus_bank=paired_gain(over["idea 1"], over["perfect bank"], "dB", seed),
        distance_picked=bootstrap_mean(torch.stack(d_picked).mean(0), "", seed),
        distance_perfect=bootstrap_mean(torch.stack(d_perfect).mean(0), "", seed),
        relit=tuple(outs),
        truth=tuple(truths),
        picked=tuple(picks),
        retrieval=_retrieval_match(
            azimuths,
            tuple(picks),
            test,
            bank,
            RETRIEVAL_FACTORS + (("yaw",) if posed else ()),
            None,
            seed,
        ),
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
            f"against {still} before and {truth} for the true relit faces: a gain of "
            f"{self.gain} (moving the light needs more than {LIT_RIGHT:.0%} over the whole "
            "interval)."
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


def _way_status(p: Estimate) -> str:
    """What the interval of a share of the way from random to the best says: :data:`FOUND`
    (above :data:`FINDS`), :data:`WORSE` (below 0), :data:`UNDECIDED` (it covers
    :data:`FINDS`), :data:`RANDOM` (it covers 0, below the bar) or :data:`SHORT`."""
    if p.above(FINDS):
        return FOUND
    if p.below(0):
        return WORSE
    if p.covers(FINDS):
        return UNDECIDED
    return RANDOM if p.covers(0) else SHORT


_STATUS_WORDS = {
    FOUND: "finds",
    UNDECIDED: f"is not distinguishable from the {FINDS:.0%} bar for",
    SHORT: "goes only part of the way for",
    RANDOM: "is not distinguishable from a random B face for",
    WORSE: "does worse than a random B face for",
}
"""How :class:`RetrievalMatch` words each :meth:`~RetrievalMatch.status`."""


@dataclass(frozen=True)
class RetrievalMatch(Result):
    """Mean absolute error between A and the B face retrieval picked, for each factor, next to
    a random B face under the lamp and the best match the bank holds for that factor alone;
    ``progress`` is how far retrieval goes from random (0) to the best (1), a share that each
    factor has on its own (a mean over factors would let a factor found cancel one missed)."""

    factors: tuple[str, ...]
    retrieved: tuple[float, ...]
    random: tuple[float, ...]
    best: tuple[float, ...]
    progress: tuple[Estimate, ...]

    def status(self, factor: str) -> str:
        """What the interval of ``factor``'s progress says: :data:`FOUND` (above
        :data:`FINDS`), :data:`WORSE` (below 0: worse than a random B face),
        :data:`UNDECIDED` (it covers :data:`FINDS`), :data:`RANDOM` (it covers 0, below the
        bar) or :data:`SHORT` (between 0 and the bar)."""
        return _way_status(self.progress[self.factors.index(factor)])

    def expression_factors(self) -> tuple[str, ...]:
        """The factors checked that are facial expression (the rest: the light, the pose)."""
        from sepviz.data.synthetic import EXPRESSION_FACTORS

        return tuple(f for f in self.factors if f in EXPRESSION_FACTORS)

    def _of(self, factors: Sequence[str]) -> str:
        return _and([f"{f} ({self.progress[self.factors.index(f)]})" for f in factors])

    def shortfall(self) -> str:
        """The expression factors retrieval does not find, worded with their numbers, e.g.
        "does worse than a random B face for eyes_open (-43% ± 20) (shares of the way from a
        random B face to the best match)"; "" when it finds every one."""
        groups = []
        for status in (WORSE, RANDOM, SHORT, UNDECIDED):
            factors = [f for f in self.expression_factors() if self.status(f) == status]
            if factors:
                groups.append(f"{_STATUS_WORDS[status]} {self._of(factors)}")
        if not groups:
            return ""
        return f"{_and(groups)} (shares of the way from a random B face to the best match)"

    def _head(self) -> str:
        subject = self.expression_factors() or self.factors
        statuses = {f: self.status(f) for f in subject}
        found = [f for f in subject if statuses[f] == FOUND]
        undecided = [f for f in subject if statuses[f] == UNDECIDED]
        missed = [f for f in subject if statuses[f] not in (FOUND, UNDECIDED)]
        what = "A's expression" if self.expression_factors() else f"A's {_and(subject)}"
        if len(found) == len(subject):
            return f"**Retrieval in the latent finds {what}.**"
        if len(missed) == len(subject):
            return f"**Retrieval in the latent does not find {what}.**"
        if len(undecided) == len(subject):
            return f"**Not distinguishable** from {FINDS:.0%} of the way for any factor of {what}."
        parts = []
        if found:
            parts.append(f"finds A's {_and(found)}")
        if missed:
            parts.append(f"does not find A's {_and(missed)}")
        if undecided:
            parts.append(f"is not distinguishable from the bar for {_and(undecided)}")
        return f"**Retrieval in the latent {_and(parts)}.**"

    @property
    def verdict(self) -> str:
        each = ", ".join(f"{f} {p}" for f, p in zip(self.factors, self.progress))
        parts = [
            self._head(),
            f"Of the way from a random B face under the lamp (0%) to the best match in the bank "
            f"for that factor alone (100%), retrieval goes: {each}; finding a factor needs more "
            f"than {FINDS:.0%} over the whole interval.",
        ]
        for status in (WORSE, RANDOM):
            factors = [f for f in self.factors if self.status(f) == status]
            if factors:
                words = _STATUS_WORDS[status].replace(" for", "")
                parts.append(f"For {_and(factors)} it {words}.")
        k = max(range(len(self.factors)), key=lambda i: self.progress[i].value)
        others = [p.high for i, p in enumerate(self.progress) if i != k]
        if others and self.progress[k].low > max(others):
            parts.append(f"It matches {self.factors[k]} best of the {len(self.factors)} factors.")
        subject = self.expression_factors()
        if subject and all(self.status(f) not in (FOUND, UNDECIDED) for f in subject):
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
    factors: Sequence[str] = RETRIEVAL_FACTORS,
    scale: dict[str, float] | None = None,
    seed: int = 0,
) -> RetrievalMatch:
    """Per-factor errors of the B faces idea 1 retrieved (``run.picked``) for ``test``.

    ``scale`` divides a factor first (default :data:`SCALE`: elevation by its 60-degree
    range, yaw by its 80), so all errors are comparable. Errors average over the lamps; the
    interval of ``progress`` is a bootstrap over the faces of A.
    """
    return _retrieval_match(run.azimuths, run.picked, test, bank, factors, scale, seed)


def _retrieval_match(
    azimuths: Sequence[float],
    picked: Sequence[torch.Tensor],
    test: FaceSet,
    bank: FaceSet,
    factors: Sequence[str],
    scale: dict[str, float] | None,
    seed: int,
) -> RetrievalMatch:
    """:func:`retrieval_match` on the lamps' ``azimuths`` and the bank indices ``picked``
    (one (N,) tensor per lamp)."""
    scale = SCALE if scale is None else scale
    light = bank.factors["azimuth"]
    errs = {"retrieved": [], "random": [], "best": []}
    for f in factors:
        a = (test.factors[f] / scale.get(f, 1.0)).double()
        b = (bank.factors[f] / scale.get(f, 1.0)).double()
        per = {key: torch.zeros(len(test), dtype=torch.float64) for key in errs}
        for lamp, chosen in zip(azimuths, picked):
            gaps = (a[:, None] - b[(light - lamp).abs() < 1e-3][None, :]).abs()
            per["retrieved"] += (b[chosen] - a).abs() / len(picked)
            per["random"] += gaps.mean(1) / len(picked)
            per["best"] += gaps.min(dim=1).values / len(picked)
        for key in errs:
            errs[key].append(per[key].numpy())
    e = {key: np.stack(v) for key, v in errs.items()}  # (factors, N)
    value, boot = _ratio_interval(e["random"] - e["retrieved"], e["random"] - e["best"], seed)
    tail = 100 * (1 - CONFIDENCE) / 2
    lows, highs = np.percentile(boot, [tail, 100 - tail], axis=-1)
    progress = tuple(
        Estimate(float(v), float(lo), float(hi), "%") for v, lo, hi in zip(value, lows, highs)
    )
    return RetrievalMatch(
        factors=tuple(factors),
        retrieved=tuple(float(x) for x in e["retrieved"].mean(1)),
        random=tuple(float(x) for x in e["random"].mean(1)),
        best=tuple(float(x) for x in e["best"].mean(1)),
        progress=progress,
    )


# -- does retrieval find A's pose? -------------------------------------------------------------
def _yaw_gaps(
    azimuths: Sequence[float], picked: Sequence[torch.Tensor], test: FaceSet, bank: FaceSet
) -> dict[str, torch.Tensor]:
    """Per face of A (N,), the mean over the lamps of the yaw difference (degrees) to the
    picked B photo, to a random B photo under the lamp (the mean over them) and to the B photo
    nearest in yaw."""
    for name, faces in (("test", test), ("bank", bank)):
        if "yaw" not in faces.factors:
            raise ValueError(
                f"{name} must have turned heads (factors['yaw']): make it with "
                "make_faces(..., yaw=(lo, hi)), inside [-40, 40]"
            )
    a, b, light = (
        test.factors["yaw"].double(),
        bank.factors["yaw"].double(),
        bank.factors["azimuth"],
    )
    out = {key: torch.zeros(len(test), dtype=torch.float64) for key in ("picked", "random", "best")}
    for lamp, chosen in zip(azimuths, picked):
        gaps = (a[:, None] - b[(light - lamp).abs() < 1e-3][None, :]).abs()
        out["picked"] += (b[chosen] - a).abs() / len(picked)
        out["random"] += gaps.mean(1) / len(picked)
        out["best"] += gaps.min(dim=1).values / len(picked)
    return out


def _degrees(e: Estimate) -> str:
    return f"{e.value:.1f}° ± {max(e.high - e.value, e.value - e.low):.1f}"


@dataclass(frozen=True)
class PoseRetrieval(Result):
    """How far (mean absolute yaw difference, degrees, averaged over the lamps) the B photo
    retrieval picks is from A's head turn, next to a random B photo under the lamp and the
    photo nearest in yaw that the bank holds; ``gain``: random minus picked, paired over the
    faces of A; ``progress``: the share of the way from random (0) to the best (1), judged
    like every factor of :class:`RetrievalMatch` (:data:`FINDS`)."""

    picked: Estimate
    random: Estimate
    best: Estimate
    gain: Estimate
    progress: Estimate
    bank_size: int

    def status(self) -> str:
        """What ``progress`` says: :data:`FOUND`, :data:`UNDECIDED`, :data:`SHORT`,
        :data:`RANDOM` or :data:`WORSE` (as :meth:`RetrievalMatch.status`)."""
        return _way_status(self.progress)

    @property
    def verdict(self) -> str:
        heads = {
            FOUND: "**Retrieval in the latent finds A's pose.**",
            UNDECIDED: f"**Not distinguishable** from the {FINDS:.0%} bar for A's pose.",
            SHORT: "**Retrieval finds A's pose only part of the way.**",
            RANDOM: "**Retrieval does not find A's pose**: no better than a random B photo.",
            WORSE: "**Retrieval does not find A's pose**: worse than a random B photo.",
        }
        facts = (
            f"The B photo it picks is {_degrees(self.picked)} from A's yaw, a random B photo "
            f"under the lamp {_degrees(self.random)}, the nearest yaw in the bank of "
            f"{self.bank_size} photos {_degrees(self.best)} (mean absolute differences over "
            f"the lamps): {_degrees(self.gain)} nearer than random, **{self.progress}** of the "
            f"way from a random photo to the best match (finding needs more than {FINDS:.0%} "
            "over the whole interval)."
        )
        why = (
            "Idea 1 hands the picked photo's code, its pose included, to decoder A: the yaw "
            "it misses by is a turn the relit A does not have."
        )
        return f"{heads[self.status()]} {facts} {why}"

    def table(self) -> str:
        rows = [
            ("retrieved", _degrees(self.picked)),
            ("random B under the lamp", _degrees(self.random)),
            ("best in bank", _degrees(self.best)),
            ("way from random to best", self.progress),
        ]
        return markdown_table(("B photo", "yaw difference to A"), rows)


def pose_retrieval(run: IdeaOne, test: FaceSet, bank: FaceSet, seed: int = 0) -> PoseRetrieval:
    """Score the B photos idea 1 retrieved (``run.picked``) on A's pose: ``test`` and ``bank``
    must have turned heads (``factors["yaw"]``, degrees). Intervals: bootstraps over the faces
    of A (the share of the way as :func:`retrieval_match`'s)."""
    gaps = _yaw_gaps(run.azimuths, run.picked, test, bank)
    way = _retrieval_match(run.azimuths, run.picked, test, bank, ("yaw",), None, seed)
    return PoseRetrieval(
        picked=bootstrap_mean(gaps["picked"], "", seed),
        random=bootstrap_mean(gaps["random"], "", seed),
        best=bootstrap_mean(gaps["best"], "", seed),
        gain=paired_gain(gaps["random"], gaps["picked"], "", seed),
        progress=way.progress[0],
        bank_size=len(bank),
    )


# -- what does "B in every pose" cost? ---------------------------------------------------------
@dataclass(frozen=True)
class BankSize(Result):
    """Idea 1 with banks of B of growing size (the first ``sizes[i]`` photos of one bank with
    heads turned): PSNR (dB) of the relit A to the truth, each face's mean over the lamps, and
    the yaw difference (degrees) of the retrieved photo to A's. ``gain``: the largest bank's
    PSNR minus the smallest's, ``yaw_gain``: the smallest bank's yaw difference minus the
    largest's, both paired over the faces of A; ``unchanged``: the input's PSNR."""

    sizes: tuple[int, ...]
    relit: tuple[Estimate, ...]
    yaw_error: tuple[Estimate, ...]
    unchanged: Estimate
    gain: Estimate
    yaw_gain: Estimate
    lamps: int

    @property
    def verdict(self) -> str:
        small, large = self.sizes[0], self.sizes[-1]
        grow = f"from {small} to {large} photographs of B (about {large // self.lamps} per lamp)"
        order = compare(self.gain, DB_MARGIN)
        heads = {
            Order.BETTER: f"**A larger bank relights A better**: {grow}, idea 1 gains",
            Order.EQUAL: f"**A larger bank does not relight A better**: {grow}, idea 1 "
            f"changes within ±{DB_MARGIN:g} dB,",
            Order.WORSE: f"**A larger bank relights A worse**: {grow}, idea 1 changes by",
            Order.NOT_DISTINGUISHABLE: f"**Not distinguishable** from the ±{DB_MARGIN:g} dB "
            f"margin: {grow}, idea 1 changes by",
        }
        relit = (
            f"{heads[order]} {self.gain} ({self.relit[0]} → {self.relit[-1]}; the input "
            f"unchanged {self.unchanged})."
        )
        y = self.yaw_gain
        moved = (
            "falls" if y.above(0) else "rises" if y.below(0) else "does not move distinguishably"
        )
        pose = (
            f"The retrieved photo's yaw misses A's by {_degrees(self.yaw_error[0])} with the "
            f"smallest bank and {_degrees(self.yaw_error[-1])} with the largest: the miss "
            f"{moved} ({_degrees(y)} paired)."
        )
        return f"{relit} {pose}"

    def table(self) -> str:
        rows = [
            (m, m // self.lamps, r, _degrees(e))
            for m, r, e in zip(self.sizes, self.relit, self.yaw_error)
        ]
        header = ("photos of B", "about per lamp", "idea 1, PSNR to the true relit A", "yaw miss")
        return markdown_table(header, rows)

    def plot(self) -> object:
        """PSNR and yaw miss against the bank size (log scale), with intervals."""
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
        for ax, values, label in (
            (left, self.relit, "PSNR to the true relit A (dB)"),
            (right, self.yaw_error, "yaw miss of the retrieved photo (°)"),
        ):
            mid = [e.value for e in values]
            err = [[e.value - e.low for e in values], [e.high - e.value for e in values]]
            ax.errorbar(self.sizes, mid, yerr=err, marker="o", capsize=3)
            ax.set_xscale("log")
            ax.set_xlabel("photographs of B in the bank")
            ax.set_ylabel(label)
        left.axhline(self.unchanged.value, color="grey", ls="--", label="input unchanged")
        left.legend(fontsize=8)
        fig.suptitle("What a bank of B in every pose costs")
        fig.tight_layout()
        return fig


def bank_sizes(
    model: torch.nn.Module,
    test: FaceSet,
    bank: FaceSet,
    azimuths: Sequence[float],
    sizes: Sequence[int],
    to: str = "A",
    seed: int = 0,
) -> BankSize:
    """Idea 1 (:func:`sepviz.ideas.retrieve_by_latent`, then decoder ``to``) with the first
    ``sizes[i]`` photos of ``bank`` as the bank, for every lamp of ``azimuths``.

    Args:
        model: a trained DeepFakes (trained on turned heads for a bank with pose varied).
        test: unseen faces of ``to`` with turned heads (``factors["yaw"]``).
        bank: photos of B shot under the lamps (``factors["azimuth"]`` one of ``azimuths``)
            with turned heads; its first ``sizes[-1]`` photos are used.
        sizes: 2 or more rising bank sizes, each holding a photo under every lamp.
        seed: the bootstraps.
    """
    from sepviz.data.synthetic import relit
    from sepviz.ideas import retrieve_by_latent
    from sepviz.metrics import psnr

    sizes = tuple(int(m) for m in sizes)
    if len(sizes) < 2 or list(sizes) != sorted(set(sizes)) or not 1 <= sizes[0]:
        raise ValueError(f"sizes must be 2 or more rising bank sizes >= 1, got {sizes}")
    if sizes[-1] > len(bank):
        raise ValueError(f"sizes must be at most the bank's {len(bank)} photos, got {sizes[-1]}")
    lamps = [float(a) for a in azimuths]
    truths = [relit(test, lamp) for lamp in lamps]
    unchanged = torch.stack([psnr(test.images, t) for t in truths]).mean(0)
    relit_db, misses = [], []
    for m in sizes:
        sub = bank[:m]
        light = sub.factors["azimuth"]
        missing = [a for a in lamps if not bool(((light - a).abs() < 1e-3).any())]
        if missing:
            raise ValueError(f"sizes: a bank of {m} photos has none under the lamps {missing}")
        picks, dbs = [], []
        for lamp, truth in zip(lamps, truths):
            picked = retrieve_by_latent(model, test.images, sub.images, light, lamp)
            dbs.append(psnr(model.swap(sub.images[picked], to), truth))  # type: ignore[operator]
            picks.append(picked)
        relit_db.append(torch.stack(dbs).mean(0))
        misses.append(_yaw_gaps(lamps, picks, test, sub)["picked"])
    return BankSize(
        sizes=sizes,
        relit=tuple(bootstrap_mean(v, "dB", seed) for v in relit_db),
        yaw_error=tuple(bootstrap_mean(v, "", seed) for v in misses),
        unchanged=bootstrap_mean(unchanged, "dB", seed),
        gain=paired_gain(relit_db[-1], relit_db[0], "dB", seed),
        yaw_gain=paired_gain(misses[0], misses[-1], "", seed),
        lamps=len(lamps),
    )
