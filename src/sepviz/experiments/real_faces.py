"""Chapter 10: relighting real faces that carry no light labels.

Real photographs have no ground truth under another light, so every check here is one a
relight could pass without relighting, and each gets a baseline that shows how far that goes:
a **brightness ramp** (:func:`brightness_ramp`) paints a left-to-right gradient on the input,
no model at all.

- :func:`pseudo_label_check`: how often the left/right luminance pseudo-label gives the true
  light class, on synthetic faces where the truth is known.
- :func:`light_in_latent`: probes read the light (pseudo class and score) from real latents,
  next to a probe on the pixels and chance.
- :func:`light_response`: does the measured light of the output rise with the requested y?
- :func:`small_data`: reconstruction, and whether relit faces are still their own input's.
- :func:`held_out_split`: the faces a model is scored on, split off before it trains (by
  person where the data set names them), for the Extended Yale B and LFW cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import (
    DB_MARGIN,
    READ_SHARE,
    Estimate,
    Order,
    Reading,
    Result,
    bootstrap_mean,
    compare,
    from_folds,
    markdown_table,
    paired_gain,
    read_bar,
    reading,
    removed,
)

RAMP = "brightness ramp (no model)"
"""The name of the no-model baseline in :class:`LightResponse` and :class:`SmallData`."""

BORDER = 10.0
"""Degrees from a class border (the pseudo class changes at ±20°) for a light to count as
clear: nearer the border, the face's own left/right asymmetry (nose, hair) is as large as the
light's and can tip the class whatever the label is worth."""

R2_MARGIN = READ_SHARE
"""Two R² of one probe are *equal* when their difference lies within ±0.1: the same tenth of
the room from chance (0) to perfect (1) that a reader must clear to *read*
(:data:`~sepviz.experiments.READ_SHARE`), so an adversary that changes the R² by less changes
nothing a reader could act on."""

MONOTONE = 0.9
"""A relight *moves the measured light the right way* when the whole interval of the share of
faces whose light rises at every step of y lies above 90%: the brightness ramp, with no model,
does it for every face, so a model that turns more than one face in ten the wrong way at some
step is not yet a slider."""

SPAN_SHARE = READ_SHARE
"""Two relights move the measured light *equally far* when the difference of their spans lies
within a tenth of the faces' own score range (:attr:`LightResponse.data_span`): the pseudo
score has no unit of its own, so the margin is a share of the range real faces show."""

SHARE_MARGIN = 0.05
"""Two shares of faces (relit the right way *and* still itself) are *equal* within ±5 points:
5 faces in 100, fewer than the grids let a reader tell apart, and a third of the ±15 points a
single share's interval spans on 100 faces."""

HELD_OUT = 0.2
"""The share of faces :func:`held_out_split` keeps out of training to score the model on: a
fifth, the usual split; on Extended Yale B (38 people, about 2,400 lit faces) split by
person, it scores on about 8 people never seen in training."""


def _names(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _verb(names: Sequence[str], one: str, many: str) -> str:
    """The verb ``one`` for a single name, ``many`` for several."""
    return one if len(names) == 1 else many


# -- the pseudo-label ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PseudoLabelCheck(Result):
    """Agreement of the pseudo light class with the true class on synthetic faces."""

    agreement: Estimate
    clear: Estimate  # on faces whose light is at least BORDER degrees from a class border
    chance: float  # the majority class's share
    n_faces: int

    @property
    def verdict(self) -> str:
        bar = read_bar(self.chance)
        facts = (
            f"On {self.n_faces:,} faces the pseudo-label gives the true light class for "
            f"**{self.agreement}** (always guessing the commonest class: {self.chance:.0%}; "
            f"tracking the light needs more than {bar:.0%}), and for {self.clear} when the "
            f"light is at least {BORDER:g}° from a class border."
        )
        heads = {
            Reading.READS: "**The pseudo-label tracks the light.**",
            Reading.NOT_DISTINGUISHABLE: (
                f"**Not distinguishable**: whether the pseudo-label tracks the light (its "
                f"interval covers the {bar:.0%} bar)."
            ),
            Reading.AT_CHANCE: ("**The pseudo-label does not track the light**: it is at chance."),
            Reading.BELOW_CHANCE: (
                "**The pseudo-label does not track the light**: it does worse than always "
                "guessing the commonest class."
            ),
        }
        return f"{heads[reading(self.agreement, self.chance)]} {facts}"

    def table(self) -> str:
        rows = [
            ("all faces", self.agreement),
            (f"light ≥ {BORDER:g}° from a class border", self.clear),
            ("always the commonest class", f"{self.chance:.0%}"),
        ]
        return markdown_table(("faces", "pseudo class = true class"), rows)


def pseudo_label_check(faces: FaceSet, seed: int = 0) -> PseudoLabelCheck:
    """Compare :func:`sepviz.data.real.lighting_pseudo_label` with the true light class of
    synthetic ``faces`` (``factors["azimuth"]``)."""
    from sepviz.data.real import lighting_pseudo_label
    from sepviz.data.synthetic import light_class

    azimuth = faces.factors["azimuth"]
    truth = light_class(azimuth)
    _, guess = lighting_pseudo_label(faces.images)
    hit = (guess == truth).float()
    clear = (azimuth.abs() - 20).abs() >= BORDER  # the class borders are at +-20 degrees
    return PseudoLabelCheck(
        agreement=bootstrap_mean(hit, "%", seed),
        clear=bootstrap_mean(hit[clear], "%", seed),
        chance=float(torch.bincount(truth).max() / len(truth)),
        n_faces=len(faces),
    )


# -- is the light in the real latent? ------------------------------------------------------------
@dataclass(frozen=True)
class RealLightProbes(Result):
    """Held-out probe scores (``folds`` folds) for the pseudo light class (accuracy) and the
    pseudo light score (R²) from each code."""

    codes: tuple[str, ...]  # e.g. pixels, latent without and with the adversary
    class_linear: tuple[Estimate, ...]
    class_mlp: tuple[Estimate, ...]
    score_linear: tuple[Estimate, ...]
    score_mlp: tuple[Estimate, ...]
    chance: float
    folds: int
    n_faces: int

    def _k(self, code: str) -> int:
        return self.codes.index(code)

    def readings(self, code: str) -> dict[str, Reading]:
        """What each of the four probes of ``code`` shows: the class (accuracy against the
        commonest class) and the score (R² against 0), linear and MLP."""
        k = self._k(code)
        return {
            "linear probe of the class": reading(self.class_linear[k], self.chance),
            "MLP probe of the class": reading(self.class_mlp[k], self.chance),
            "linear probe of the score": reading(self.score_linear[k], 0.0),
            "MLP probe of the score": reading(self.score_mlp[k], 0.0),
        }

    def _read(self, code: str, label: str) -> bool:
        """Whether a probe (linear or MLP) of ``label`` ("class" or "score") reads ``code``."""
        return any(r.reads for p, r in self.readings(code).items() if p.endswith(label))

    @property
    def verdict(self) -> str:
        pixels, plain, adv = self.codes
        seen, base = self.readings(adv), self.readings(pixels)
        r2, acc = self.score_linear[self._k(adv)], self.class_linear[self._k(adv)]
        r2_plain = self.score_linear[self._k(plain)]
        reads = [p for p, r in seen.items() if r.reads]
        unsure = [p for p, r in seen.items() if r is Reading.NOT_DISTINGUISHABLE]
        if reads:
            head = (
                f"**The light stays in the real latent**: the {_names(reads)} "
                f"{_verb(reads, 'reads', 'read')} it from the latent with the adversary."
            )
        elif not any(r.reads for r in base.values()):
            head = (
                "**Not distinguishable**: no probe reads the light even from the pixels, so "
                f"with {self.n_faces} faces these probes cannot show whether it left the latent."
            )
        elif removed(list(seen.values())):
            head = (
                "**The light is gone from the real latent**: every probe, linear or MLP, of "
                "the class or the score is at chance on the latent with the adversary, while "
                "a probe reads the light from the pixels."
            )
        else:
            head = (
                f"**Not distinguishable**: with {self.n_faces} faces the {_names(unsure)} "
                f"cannot tell whether the light left the latent (an interval covers its bar)."
            )
        facts = (
            f"A linear probe reads the light score from the latent with the adversary at "
            f"R² **{r2}** (chance 0, reading needs more than {read_bar(0.0):g}; {r2_plain} "
            f"without the adversary; {self.score_linear[self._k(pixels)]} from the pixels), "
            f"and the class at {acc} (chance {self.chance:.0%}, reading needs more than "
            f"{read_bar(self.chance):.0%}). The intervals span {self.folds} folds of "
            f"{self.n_faces} faces."
        )
        class_reads = [c for c in self.codes if self._read(c, "class")]
        score_reads = [c for c in self.codes if self._read(c, "score")]
        if not class_reads and score_reads:
            facts += (
                " No class probe, not even on the pixels, reads the class, while a probe "
                f"reads the score from {len(score_reads)} of the {len(self.codes)} codes: "
                "here the score is the label that carries the light."
            )
        change = r2_plain - r2
        effect = {
            Order.BETTER: f"The adversary lowers the linear probe's R² by {change}.",
            Order.WORSE: f"The adversary raises the linear probe's R² ({change} lower).",
            Order.EQUAL: (
                f"The adversary leaves the linear probe's R² as it was ({change} lower, "
                f"within ±{R2_MARGIN:g})."
            ),
            Order.NOT_DISTINGUISHABLE: (
                f"The adversary's effect on the linear probe's R² ({change} lower) is not "
                f"distinguishable from none (no effect needs it within ±{R2_MARGIN:g})."
            ),
        }[compare(change, R2_MARGIN)]
        return f"{head} {facts} {effect}"

    def table(self) -> str:
        rows = list(
            zip(self.codes, self.class_linear, self.class_mlp, self.score_linear, self.score_mlp)
        )
        rows.append(("chance", f"{self.chance:.0%}", f"{self.chance:.0%}", "0", "0"))
        header = ("code", "linear: class", "MLP: class", "linear: R² of score", "MLP: R² of score")
        return markdown_table(header, rows)


def light_codes(images: torch.Tensor, models: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The codes :func:`light_in_latent` probes: the pixels (no model) first, then each
    model's latent of ``images``, in the order of ``models`` (name -> model)."""
    from sepviz.experiments.measures import pixel_codes
    from sepviz.probes import extract_latents

    codes = {"pixels (no model)": pixel_codes(images)}
    codes.update({f"latent, {n}": extract_latents(m, images) for n, m in models.items()})
    return codes


def light_in_latent(
    codes: Mapping[str, torch.Tensor],
    light: torch.Tensor,
    score: torch.Tensor,
    folds: int | None = None,
    seed: int = 0,
) -> RealLightProbes:
    """Probe each code (N, D) for the pseudo class ``light`` (N,) and score ``score`` (N,).

    ``codes`` holds, in this order, a baseline that needs no model (e.g. the pixels), the
    latent without the adversary and the latent with it (:func:`light_codes`). ``folds``
    (stratified) may not exceed the faces of the smallest class; by default 5, or that
    number when it is smaller.
    """
    from sepviz.probes import probe

    if folds is None:
        folds = min(5, int(torch.unique(torch.as_tensor(light), return_counts=True)[1].min()))

    if len(codes) != 3:
        raise ValueError(
            f"codes must be (baseline, without, with the adversary), got {list(codes)}"
        )
    out: dict[str, list[Estimate]] = {"cl": [], "cm": [], "sl": [], "sm": []}
    chance = 0.0
    for z in codes.values():
        for key, kind, target in (
            ("cl", "linear", light),
            ("cm", "mlp", light),
            ("sl", "linear", score),
            ("sm", "mlp", score),
        ):
            result = probe(z, target, kind=kind, folds=folds, seed=seed)
            out[key].append(from_folds(result.fold_scores, "%" if key[0] == "c" else ""))
            if key == "cl":
                chance = result.chance
    return RealLightProbes(
        tuple(codes),
        tuple(out["cl"]),
        tuple(out["cm"]),
        tuple(out["sl"]),
        tuple(out["sm"]),
        chance,
        folds,
        len(light),
    )


# -- does the measured light move the right way? -------------------------------------------------
def brightness_ramp(images: torch.Tensor, y: float | torch.Tensor, strength: float) -> torch.Tensor:
    """The baseline relight: ``images`` (N, 3, H, W) in [0, 1] times a left-to-right ramp
    ``1 + strength * y * x`` (x from -1 at the left edge to +1 at the right), clamped to
    [0, 1]. No model: it paints a gradient on the input, brighter on the right for y > 0."""
    x = torch.linspace(-1, 1, images.shape[-1], dtype=images.dtype)
    y = torch.as_tensor(y, dtype=images.dtype).reshape(-1, 1, 1, 1)
    return (images * (1 + strength * y * x)).clamp(0, 1)


def ramp_strength(images: torch.Tensor, span: float, steps: int = 4) -> float:
    """The ramp strength that moves the measured light (the pseudo-label score) of ``images``
    by ``span`` on average from y = -1 to y = +1 (a few secant steps from 0.5)."""
    from sepviz.experiments.measures import measured_light

    def moved(strength: float) -> float:
        ends = [measured_light(brightness_ramp(images, y, strength)) for y in (-1.0, 1.0)]
        return float((ends[1] - ends[0]).mean())

    strength = 0.5
    for _ in range(steps):
        got = moved(strength)
        if got <= 0 or span <= 0:
            break
        strength *= span / got
    return float(strength)


def ramp_grid(images: torch.Tensor, ys: Sequence[float], span: float) -> torch.Tensor:
    """The brightness-ramp baseline as a relight grid (N, len(ys), 3, H, W): ``images`` under
    each y of ``ys``, with the strength that moves the measured light by ``span`` from y = -1
    to y = +1 (e.g. as far as a model under test moves it)."""
    strength = ramp_strength(images, span)
    return torch.stack([brightness_ramp(images, y, strength) for y in ys], 1)


@dataclass(frozen=True)
class LightResponse(Result):
    """The measured light of relit faces against the requested y, per model: how many faces
    rise at every step (monotone) and how far the light moves from the first to the last y."""

    models: tuple[str, ...]
    monotone: tuple[Estimate, ...]
    span: tuple[Estimate, ...]
    data_span: float  # the real faces' own score range
    adversary: str  # the FaderNet with the adversary
    control: str | None  # the same without (None: no control was trained)
    baseline: str  # the brightness ramp
    follow: Estimate | None  # span with the adversary minus without, paired over faces
    measured: dict[str, np.ndarray] = field(repr=False, compare=False)  # (R, C) each
    ys: dict[str, tuple[float, ...]] = field(repr=False, compare=False)  # the y of each column
    scale: float = 1.0  # y = score / scale
    relit: dict[str, torch.Tensor] = field(default_factory=dict, repr=False, compare=False)

    def _get(self, name: str) -> tuple[Estimate, Estimate]:
        k = self.models.index(name)
        return self.monotone[k], self.span[k]

    def right_way(self, name: str) -> bool | None:
        """Whether relight ``name`` moves the measured light the right way: the share of faces
        that rise at every step lies above :data:`MONOTONE` and the light moves (span above 0);
        ``False`` when either lies below, ``None`` when an interval covers its bar."""
        monotone, span = self._get(name)
        if monotone.above(MONOTONE) and span.above(0):
            return True
        if monotone.below(MONOTONE) or span.below(0):
            return False
        return None

    def _follow(self, follow: Estimate) -> str:
        """The clause on how much further the adversary makes the decoder follow y."""
        margin = SPAN_SHARE * self.data_span
        within = f"within ±{margin:.2f}, {SPAN_SHARE:.0%} of the faces' range"
        return {
            Order.BETTER: f"The adversary makes the decoder follow y further ({follow}).",
            Order.WORSE: f"The adversary makes the decoder follow y less far ({follow}).",
            Order.EQUAL: (
                f"With or without the adversary, the light moves as far ({follow}; {within})."
            ),
            Order.NOT_DISTINGUISHABLE: (
                f"The adversary's effect on how far the light moves ({follow}) is not "
                f"distinguishable from none (none needs it {within})."
            ),
        }[compare(follow, margin)]

    @property
    def verdict(self) -> str:
        models = [m for m in self.models if m != self.baseline]
        right = [m for m in models if self.right_way(m) is True]
        unsure = [m for m in models if self.right_way(m) is None]
        reads = "; ".join(
            f"{m}: {self._get(m)[0]} of faces, light moved {self._get(m)[1]}" for m in models
        )
        bar = f"rising at every step of y for more than {MONOTONE:.0%} of the faces"
        if len(models) == 1:
            head = {
                True: f"**The {models[0]} moves the measured light the right way** ({bar})",
                False: f"**The {models[0]} does not move the measured light the right way** "
                f"({bar})",
                None: f"**Not distinguishable**: whether the {models[0]} moves the measured "
                f"light the right way ({bar}; an interval covers its bar)",
            }[self.right_way(models[0])]
        else:
            head = (
                f"**{len(right)} of {len(models)} models move the measured light the right "
                f"way** ({bar})"
            )
            if unsure:
                head += (
                    f"; for the {_names(unsure)} it is not distinguishable (an interval covers "
                    "its bar)"
                )
        clauses = [f"{head}: {reads}; the faces' own scores span {self.data_span:.2f}."]
        if self.follow is not None:
            clauses.append(self._follow(self.follow))
        ramp_mono, ramp_span = self._get(self.baseline)
        ramp = f"scores {ramp_mono} and moves the light {ramp_span}"
        ramp_right = self.right_way(self.baseline)
        painted = "A brightness ramp painted on the input, with no model,"
        if ramp_right is True and right:
            clauses.append(
                f"**{painted} does so too**: it {ramp}, so a light that moves is not yet a "
                "relit face."
            )
        elif ramp_right is True:
            clauses.append(f"{painted} does: it {ramp}.")
        elif ramp_right is False:
            clauses.append(f"{painted} does not: it {ramp}.")
        else:
            clauses.append(f"For a {painted[2:]} it is not distinguishable: it {ramp}.")
        return " ".join(clauses)

    def table(self) -> str:
        rows = list(zip(self.models, self.monotone, self.span))
        return markdown_table(("relight", "measured light rises at every step", "moved"), rows)

    def plot(self) -> object:
        """Measured light against requested y: mean and spread per model; returns the figure."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.5, 4))
        styles = {self.adversary: "o-", self.control: "s-", self.baseline: ":"}
        colours = iter(["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown"])
        for name, scores in self.measured.items():
            ys, mean, std = np.array(self.ys[name]), scores.mean(0), scores.std(0)
            colour = "black" if name == self.baseline else next(colours)
            if len(ys) > 3:
                ax.plot(ys, mean, styles.get(name, "-"), color=colour, label=name)
                ax.fill_between(ys, mean - std, mean + std, color=colour, alpha=0.12)
            else:
                label = f"{name} (left / centre / right)"
                ax.errorbar(ys, mean, std, fmt="^", color=colour, capsize=3, label=label)
        grid = np.linspace(-1, 1, 9)
        ax.plot(grid, grid * self.scale, "--", color="grey", lw=1, label="score y was made from")
        ax.set_xlabel("requested light y (-1: left, +1: right)")
        ax.set_ylabel("measured light of the output (pseudo score)")
        ax.set_title("Measured light of relit real faces")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig


def light_response(
    images: torch.Tensor,
    relit: Mapping[str, torch.Tensor],
    sweep: Sequence[float],
    adversary: str,
    control: str | None,
    score: torch.Tensor,
    scale: float,
    seed: int = 0,
) -> LightResponse:
    """Does the measured light of each relight rise with the requested y?

    Args:
        images: (N, 3, H, W) the real faces.
        relit: name -> (N, C, 3, H, W) grid of ``images`` relit: a slider model's under each
            y of ``sweep`` (C = len(sweep)), a decoder-per-class model's by its C classes
            (taken as y = -1 .. +1, left to right).
        sweep: the requested y of the slider grids, rising.
        adversary, control: the names in ``relit`` of the FaderNet with and without the
            adversary (``control`` None: no control, e.g. one model trained on a data set of
            its own); the :data:`RAMP` baseline is matched to how far ``adversary`` moves it.
        score: (N,) the faces' own pseudo light scores; ``scale``: y = score / scale.
    """
    from sepviz.experiments.measures import measured_light, rises

    relit = dict(relit)
    ys = {
        n: list(sweep) if g.shape[1] == len(sweep) else np.linspace(-1, 1, g.shape[1]).tolist()
        for n, g in relit.items()
    }
    measured = {n: measured_light(g) for n, g in relit.items()}
    moved = {n: s[:, -1] - s[:, 0] for n, s in measured.items()}
    relit[RAMP] = ramp_grid(images, sweep, float(moved[adversary].mean()))
    ys[RAMP], measured[RAMP] = list(sweep), measured_light(relit[RAMP])
    moved[RAMP] = measured[RAMP][:, -1] - measured[RAMP][:, 0]
    return LightResponse(
        models=tuple(measured),
        monotone=tuple(bootstrap_mean(rises(s).float(), "%", seed) for s in measured.values()),
        span=tuple(bootstrap_mean(m, "", seed) for m in moved.values()),
        data_span=float(score.max() - score.min()),
        adversary=adversary,
        control=control,
        baseline=RAMP,
        follow=None if control is None else paired_gain(moved[adversary], moved[control], "", seed),
        measured={n: np.asarray(s) for n, s in measured.items()},
        ys={n: tuple(float(v) for v in y) for n, y in ys.items()},
        scale=float(scale),
        relit=relit,
    )


# -- what 100 faces cannot do --------------------------------------------------------------------
@dataclass(frozen=True)
class SmallData(Result):
    """Per relight: reconstruction PSNR (dB) of the faces with their own light, the share of
    faces relit to the left and to the right that are still nearest their own input, and the
    share that is both still itself and lit the right way, with that share's difference from
    the brightness ramp's (paired over the same faces)."""

    models: tuple[str, ...]
    reconstruction: tuple[Estimate | None, ...]  # None for the baseline (it is the input)
    itself: tuple[Estimate, ...]
    good: tuple[Estimate, ...]
    against_ramp: tuple[Estimate | None, ...]  # good minus the ramp's, paired; None: the ramp
    mean_face: Estimate
    cost: Estimate  # reconstruction without minus with the adversary, paired
    adversary: str
    control: str
    baseline: str
    side_faces: int  # faces each side decoder of the multi-decoder learnt from
    agreement: Estimate  # the pseudo-label's agreement on synthetic faces
    n_faces: int

    def _k(self, name: str) -> int:
        return self.models.index(name)

    def versus_ramp(self, name: str) -> Order:
        """How relight ``name``'s share of good faces compares with the brightness ramp's
        (:func:`~sepviz.experiments.compare`, margin :data:`SHARE_MARGIN`)."""
        difference = self.against_ramp[self._k(name)]
        if difference is None:
            raise ValueError(f"{name!r} is the baseline: it is not compared with itself")
        return compare(difference, SHARE_MARGIN)

    @property
    def verdict(self) -> str:
        models = [m for m in self.models if m != self.baseline]
        order = {m: self.versus_ramp(m) for m in models}
        beat, below, same, unsure = (
            [m for m in models if order[m] is o]
            for o in (Order.BETTER, Order.WORSE, Order.EQUAL, Order.NOT_DISTINGUISHABLE)
        )
        if beat:
            head = f"**The {_names(beat)} {_verb(beat, 'beats', 'beat')} the brightness ramp.**"
        elif unsure:
            head = (
                "**No model is shown to beat a brightness ramp**: for the "
                f"{_names(unsure)} the difference is not distinguishable from none."
            )
        else:
            head = (
                "**No model beats a brightness ramp on these checks**: without a ground truth "
                "they cannot tell these relights from painting a gradient."
            )
        clauses = [head]
        if beat and unsure:
            clauses.append(
                f"For the {_names(unsure)} the difference is not distinguishable from none."
            )
        if below:
            clauses.append(f"The {_names(below)} {_verb(below, 'falls', 'fall')} below it.")
        if same:
            clauses.append(
                f"The {_names(same)} {_verb(same, 'matches', 'match')} it (within "
                f"±{100 * SHARE_MARGIN:.0f} points)."
            )
        shares = ", ".join(
            f"{m} {self.good[self._k(m)]} (minus the ramp's: {self.against_ramp[self._k(m)]})"
            for m in models
        )
        ramp = self.good[self._k(self.baseline)]
        clauses.append(
            f"Relit the right way *and* still itself: {shares}; the ramp, with no model, {ramp}."
        )
        clauses.append(self._reconstruction())
        multi = next((m for m in models if m not in (self.adversary, self.control)), None)
        if multi is not None:
            clauses.append(
                f"The multi-decoder's side decoders learnt from {self.side_faces} faces; "
                f"{self.itself[self._k(multi)]} of its relit faces stay nearest their own input."
            )
        clauses.append(
            f"The light labels are pseudo-labels ({self.agreement} right on synthetic faces, "
            "unknown on real ones)."
        )
        return " ".join(clauses)

    def _reconstruction(self) -> str:
        """The clause on reconstruction: what the adversary costs, and the mean-face floor."""
        rec = {m: self.reconstruction[self._k(m)] for m in (self.control, self.adversary)}
        numbers = f"{rec[self.control]} → {rec[self.adversary]}"
        cost = {
            Order.BETTER: f"The adversary costs {self.cost} of reconstruction ({numbers}).",
            Order.WORSE: f"The adversary improves reconstruction ({numbers}; cost {self.cost}).",
            Order.EQUAL: (
                f"The adversary costs no reconstruction ({numbers}; cost {self.cost}, within "
                f"±{DB_MARGIN:g} dB)."
            ),
            Order.NOT_DISTINGUISHABLE: (
                f"What the adversary costs in reconstruction ({self.cost}: {numbers}) is not "
                f"distinguishable from nothing (nothing needs it within ±{DB_MARGIN:g} dB)."
            ),
        }[compare(self.cost, DB_MARGIN)]
        floor = {
            m: compare(r - self.mean_face, DB_MARGIN)
            for m, r in zip(self.models, self.reconstruction)
            if r is not None
        }
        not_better = [m for m, o in floor.items() if o in (Order.WORSE, Order.EQUAL)]
        unsure = [m for m, o in floor.items() if o is Order.NOT_DISTINGUISHABLE]
        bar = f"better needs more than {DB_MARGIN:g} dB above it"
        if not not_better and not unsure:
            mean = f"Every model reconstructs better than the mean face ({self.mean_face})."
        else:
            sentences = []
            if not_better:
                verb = _verb(not_better, "does", "do")
                sentences.append(
                    f"The {_names(not_better)} {verb} not reconstruct better than the mean "
                    f"face ({self.mean_face}; {bar})."
                )
            if unsure:
                verb = _verb(unsure, "reconstructs", "reconstruct")
                sentences.append(
                    f"Whether the {_names(unsure)} {verb} better than the mean face "
                    f"({self.mean_face}) is not distinguishable ({bar})."
                )
            mean = " ".join(sentences)
        return f"{cost} {mean}"

    def table(self) -> str:
        rows = [
            (m, r if r is not None else "(the input)", i, g, d if d is not None else "")
            for m, r, i, g, d in zip(
                self.models, self.reconstruction, self.itself, self.good, self.against_ramp
            )
        ]
        rows.append(("mean face", self.mean_face, "", "", ""))
        header = (
            "relight",
            "reconstruction PSNR",
            "relit left and right: still nearest its own input",
            "light moves the right way *and* still itself",
            "minus the ramp's (same faces)",
        )
        return markdown_table(header, rows)


def small_data(
    faces: torch.Tensor,
    own: Mapping[str, torch.Tensor],
    response: LightResponse,
    bank: torch.Tensor,
    side_faces: int,
    agreement: Estimate,
    seed: int = 0,
) -> SmallData:
    """What each relight of ``response`` keeps of the faces.

    Args:
        faces: (N, 3, H, W) the real faces.
        own: model -> its reconstruction of ``faces`` with their own light (the baseline,
            absent here, is the input itself).
        response: the relights' :class:`LightResponse` (which faces rise; its ``relit``
            grids give the faces relit furthest to the left and to the right).
        bank: every face the models trained on (:func:`sepviz.realfaces.closer_to_input`).
        side_faces: training faces of each side decoder; ``agreement``: the pseudo-label's.
    """
    from sepviz.experiments.measures import rises
    from sepviz.metrics import psnr
    from sepviz.realfaces import closer_to_input

    mean = faces.mean(0, keepdim=True).expand_as(faces)
    quality = {n: psnr(o, faces) for n, o in own.items()}
    recon, itself, good, per_face = [], [], [], {}
    for name in response.models:
        grid = response.relit[name]
        ends = (grid[:, 0], grid[:, -1])
        still = torch.stack([closer_to_input(o, faces, bank) for o in ends]).all(0)
        rise = rises(torch.as_tensor(response.measured[name]))
        per_face[name] = (still & rise).float()
        recon.append(bootstrap_mean(quality[name], "dB", seed) if name in quality else None)
        itself.append(bootstrap_mean(still.float(), "%", seed))
        good.append(bootstrap_mean(per_face[name], "%", seed))
    ramp = per_face[response.baseline]
    return SmallData(
        models=response.models,
        reconstruction=tuple(recon),
        itself=tuple(itself),
        good=tuple(good),
        against_ramp=tuple(
            None if n == response.baseline else paired_gain(per_face[n], ramp, "%", seed)
            for n in response.models
        ),
        mean_face=bootstrap_mean(psnr(mean, faces), "dB", seed),
        cost=paired_gain(quality[response.control], quality[response.adversary], "dB", seed),
        adversary=response.adversary,
        control=response.control,
        baseline=response.baseline,
        side_faces=int(side_faces),
        agreement=agreement,
        n_faces=len(faces),
    )


# -- scoring on faces the model never trained on -----------------------------------------------
def held_out_split(
    faces: FaceSet, share: float = HELD_OUT, seed: int = 0, by: str | None = "identity"
) -> tuple[FaceSet, FaceSet]:
    """Split ``faces`` into ``(train, test)`` before training, so that a model is scored only
    on faces it never saw.

    Args:
        faces: N faces; with ``by``, ``faces.factors[by]`` (N,) ints name each face's person.
        share: the part of the faces to hold out, in (0, 1).
        seed: seeds the shuffle (the same seed gives the same split).
        by: hold out whole people: shuffle them, then take people until their faces reach
            ``share`` of N (at least one person on each side), so no person is on both
            sides. ``None``: hold out ``round(share * N)`` random faces (at least one each side).

    Returns:
        ``(train, test)``, two :class:`~sepviz.data.faceset.FaceSet` in the order of ``faces``
        that share no face (and, with ``by``, no person).

    Raises:
        ValueError: ``share`` outside (0, 1), fewer than 2 faces (or people), or no factor
            ``by``.
    """
    if not 0 < share < 1:
        raise ValueError(f"share must lie in (0, 1), got {share}")
    n = len(faces)
    generator = torch.Generator().manual_seed(seed)
    if by is None:
        if n < 2:
            raise ValueError(f"faces must hold at least 2 faces to split, got {n}")
        k = min(max(round(share * n), 1), n - 1)
        test = torch.zeros(n, dtype=torch.bool)
        test[torch.randperm(n, generator=generator)[:k]] = True
    else:
        if by not in faces.factors:
            raise ValueError(f"faces has no factor {by!r} (factors: {sorted(faces.factors)})")
        person = torch.as_tensor(faces.factors[by])
        people = torch.unique(person)
        if len(people) < 2:
            raise ValueError(f"faces must hold at least 2 people ({by!r}), got {len(people)}")
        people = people[torch.randperm(len(people), generator=generator)]
        counts = torch.stack([(person == p).sum() for p in people])
        # the people before the one whose faces reach the share, and that one
        k = min(int((counts.cumsum(0) < share * n).sum()) + 1, len(people) - 1)
        test = torch.isin(person, people[:k])
    return faces[(~test).nonzero().flatten()], faces[test.nonzero().flatten()]
