"""Chapter 9: relighting real faces that carry no light labels.

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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import (
    Estimate,
    Result,
    bootstrap_mean,
    from_folds,
    markdown_table,
    paired_gain,
)

MARGIN = 0.10  # a probe "reads" the light when it beats chance by more than this
RAMP = "brightness ramp (no model)"
"""The name of the no-model baseline in :class:`LightResponse` and :class:`SmallData`."""
MONOTONE = 0.9  # a model "moves the light the right way" for at least this share of faces
BORDER = 10.0  # degrees from a class border for a light to count as clear


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
        facts = (
            f"On {self.n_faces:,} synthetic faces the pseudo-label gives the true light class "
            f"for **{self.agreement}** (always guessing the commonest class: "
            f"{self.chance:.0%}), and for {self.clear} when the light is at least "
            f"{BORDER:g}° from a class border."
        )
        bar = self.chance + MARGIN
        if self.agreement.covers(bar):
            return f"**Not distinguishable** from chance + {MARGIN:.0%}. {facts}"
        if self.agreement.above(bar):
            return (
                f"**The pseudo-label tracks the light on synthetic faces.** {facts} On real "
                "photos hair, background and turned heads add their own asymmetry: there it "
                "is noisier, by an amount nothing here measures."
            )
        return f"**The pseudo-label does not track the light.** {facts}"

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

    @property
    def verdict(self) -> str:
        pixels, plain, adv = self.codes
        r2, acc = self.score_linear[self._k(adv)], self.class_linear[self._k(adv)]
        r2_plain = self.score_linear[self._k(plain)]
        change = r2_plain - r2
        facts = (
            f"A linear probe reads the light score from the latent with the adversary at "
            f"R² **{r2}** (chance 0; {r2_plain} without the adversary; "
            f"{self.score_linear[self._k(pixels)]} from the pixels), and the class at {acc} "
            f"(chance {self.chance:.0%}). The intervals span {self.folds} folds of "
            f"{self.n_faces} faces."
        )
        if not any(e.above(self.chance) for e in self.class_linear + self.class_mlp):
            facts += (
                " No class probe, not even on the pixels, beats always guessing the commonest "
                "class: with so few side-lit faces the class is the weaker label."
            )
        if r2.covers(MARGIN):
            head = (
                "**Not distinguishable**: with this few faces the probe cannot tell whether the "
                f"light left the latent (its R² interval covers the {MARGIN:g} bar)."
            )
        elif r2.above(MARGIN):
            head = "**The light stays in the real latent**: a linear probe still reads it."
        else:
            head = "**The light is gone from the real latent** for a linear probe."
        if change.covers(0):
            effect = f"The adversary's effect on the R² is not distinguishable from 0 ({change})."
        else:
            verb = "lowers" if change.above(0) else "raises"
            effect = f"The adversary {verb} the R² by {change}."
        return (
            f"{head} {facts} {effect} (Chapter 4 shows a probe on whitened latents finding light "
            "that this probe misses; 100 faces are too few to whiten 64 dimensions.)"
        )

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
    from sepviz.experiments.fadernet import pixel_codes
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
    from sepviz.realfaces import measured_light

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
    control: str  # the same without
    baseline: str  # the brightness ramp
    follow: Estimate  # span with the adversary minus without, paired over faces
    measured: dict[str, np.ndarray] = field(repr=False, compare=False)  # (R, C) each
    ys: dict[str, tuple[float, ...]] = field(repr=False, compare=False)  # the y of each column
    scale: float = 1.0  # y = score / scale
    relit: dict[str, torch.Tensor] = field(default_factory=dict, repr=False, compare=False)

    def _get(self, name: str) -> tuple[Estimate, Estimate]:
        k = self.models.index(name)
        return self.monotone[k], self.span[k]

    @property
    def verdict(self) -> str:
        models = [m for m in self.models if m != self.baseline]
        right = [m for m in models if self._get(m)[0].above(MONOTONE) and self._get(m)[1].above(0)]
        reads = "; ".join(
            f"{m}: {self._get(m)[0]} of faces, light moved {self._get(m)[1]}" for m in models
        )
        ramp_mono, ramp_span = self._get(self.baseline)
        head = (
            f"**{len(right)} of {len(models)} models move the measured light the right way** "
            f"for at least {MONOTONE:.0%} of the faces"
        )
        follow = (
            f"the adversary makes the decoder follow y further ({self.follow})"
            if self.follow.above(0)
            else f"the adversary's effect on how far the light moves is {self.follow}"
            + (", not distinguishable from 0" if self.follow.covers(0) else "")
        )
        return (
            f"{head} ({reads}; the faces' own scores span {self.data_span:.2f}); {follow}. "
            f"**But a brightness ramp painted on the input, with no model, scores "
            f"{ramp_mono} and moves the light {ramp_span}**: a light that moves is not yet "
            "a relit face (next section)."
        )

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
    control: str,
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
            adversary; the :data:`RAMP` baseline is matched to how far ``adversary`` moves it.
        score: (N,) the faces' own pseudo light scores; ``scale``: y = score / scale.
    """
    from sepviz.realfaces import measured_light, rises

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
        follow=paired_gain(moved[adversary], moved[control], "", seed),
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
    share that is both still itself and lit the right way."""

    models: tuple[str, ...]
    reconstruction: tuple[Estimate | None, ...]  # None for the baseline (it is the input)
    itself: tuple[Estimate, ...]
    good: tuple[Estimate, ...]
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

    @property
    def verdict(self) -> str:
        ramp = self.good[self._k(self.baseline)]
        models = [m for m in self.models if m != self.baseline]
        beat = [m for m in models if self.good[self._k(m)].above(ramp.high)]
        shares = ", ".join(f"{m} {self.good[self._k(m)]}" for m in models)
        if beat:
            head = (
                f"**{' and '.join(beat)} beat{'s' if len(beat) == 1 else ''} the brightness ramp.**"
            )
        else:
            head = (
                "**No model beats a brightness ramp on these checks**: without a ground truth "
                "they cannot tell relighting from painting a gradient."
            )
        below = [m for m in models if self.good[self._k(m)].below(ramp.low)]
        if below:
            head += f" The {' and the '.join(below)} fall{'s' if len(below) == 1 else ''} below it."
        multi = next((m for m in models if m not in (self.adversary, self.control)), None)
        side = (
            f" The multi-decoder's side decoders learnt from {self.side_faces} faces each; "
            f"{self.itself[self._k(multi)]} of its relit faces stay nearest their own input."
            if multi is not None
            else ""
        )
        rec = {m: self.reconstruction[self._k(m)] for m in (self.control, self.adversary)}
        return (
            f"{head} Relit the right way *and* still itself: {shares}; the ramp, with no "
            f"model, {ramp}. Small data limits the models in measured ways: the adversary "
            f"costs {self.cost} of reconstruction ({rec[self.control]} → "
            f"{rec[self.adversary]}; mean face {self.mean_face}).{side} The light labels are "
            f"pseudo-labels ({self.agreement} right on synthetic faces, unknown on real ones). "
            f"With {self.n_faces} faces these are trends, not measurements; the Extended Yale "
            "B and LFW cells below repeat them on thousands of faces when given the data."
        )

    def table(self) -> str:
        rows = [
            (m, r if r is not None else "(the input)", i, g)
            for m, r, i, g in zip(self.models, self.reconstruction, self.itself, self.good)
        ]
        rows.append(("mean face", self.mean_face, "", ""))
        header = (
            "relight",
            "reconstruction PSNR",
            "relit left and right: still nearest its own input",
            "light moves the right way *and* still itself",
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
    from sepviz.metrics import psnr
    from sepviz.realfaces import closer_to_input, rises

    mean = faces.mean(0, keepdim=True).expand_as(faces)
    quality = {n: psnr(o, faces) for n, o in own.items()}
    recon, itself, good = [], [], []
    for name in response.models:
        grid = response.relit[name]
        ends = (grid[:, 0], grid[:, -1])
        still = torch.stack([closer_to_input(o, faces, bank) for o in ends]).all(0)
        rise = rises(torch.as_tensor(response.measured[name]))
        recon.append(bootstrap_mean(quality[name], "dB", seed) if name in quality else None)
        itself.append(bootstrap_mean(still.float(), "%", seed))
        good.append(bootstrap_mean((still & rise).float(), "%", seed))
    return SmallData(
        models=response.models,
        reconstruction=tuple(recon),
        itself=tuple(itself),
        good=tuple(good),
        mean_face=bootstrap_mean(psnr(mean, faces), "dB", seed),
        cost=paired_gain(quality[response.control], quality[response.adversary], "dB", seed),
        adversary=response.adversary,
        control=response.control,
        baseline=response.baseline,
        side_faces=int(side_faces),
        agreement=agreement,
        n_faces=len(faces),
    )
