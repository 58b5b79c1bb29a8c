"""Chapter 3: does a DeepFakes swap give B's face with A's expression and light?

- :func:`swap_quality` compares the swap with the renderer's true B (B's identity, A's
  expression and light) next to two baselines, the input unchanged and B's mean face, and a
  ceiling: B's own face through decoder B. Every number is a mean over faces with a bootstrap
  interval; the gain over the best baseline is paired face by face.
- :func:`identity_probe`: is the shared latent identity-free? Linear probes read identity,
  the light class and the smile from the latent, next to the same probes on the pixels and
  chance.
- :func:`layer_swap`: decoder A with its first k blocks taken from decoder B, against the
  true A and the true B: does one block hold B's identity?
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import (
    Estimate,
    Result,
    bootstrap_mean,
    judge,
    markdown_table,
    paired_gain,
)
from sepviz.models.deepfakes import DeepFakes

WORKS_DB = 1.0  # a swap "works" when it beats the best baseline by more than this
MARGIN = 0.10  # a probe "reads" a factor when it beats chance by more than this


@dataclass(frozen=True)
class SwapQuality(Result):
    """PSNR (dB) to the true swapped face of the swap, the baselines and the ceiling."""

    source: str
    target: str
    swap: Estimate
    unchanged: Estimate
    mean_face: Estimate
    ceiling: Estimate
    gain: Estimate  # swap minus the best baseline, paired over faces

    @property
    def verdict(self) -> str:
        facts = (
            f"The swap {self.source} → {self.target} is {self.swap} from the true "
            f"{self.target}: **{self.gain}** better than the best baseline (input unchanged "
            f"{self.unchanged}, {self.target}'s mean face {self.mean_face}), and "
            f"{self.ceiling.value - self.swap.value:.1f} dB below the ceiling ({self.ceiling}: "
            f"{self.target}'s own faces through decoder {self.target})."
        )
        if self.gain.covers(WORKS_DB):
            return f"**Not distinguishable** from the {WORKS_DB:g} dB bar. {facts}"
        works = self.gain.above(WORKS_DB)
        return f"**The swap {'works' if works else 'does not work'}.** {facts}"

    def table(self) -> str:
        rows = [
            (f"swap {self.source} → {self.target} (decoder {self.target})", self.swap),
            ("baseline: input unchanged", self.unchanged),
            (f"baseline: {self.target}'s mean face", self.mean_face),
            (f"ceiling: {self.target}'s own face through decoder {self.target}", self.ceiling),
        ]
        return markdown_table((f"prediction of the true {self.target}", "PSNR"), rows)


def swap_quality(
    model: DeepFakes,
    test: FaceSet,
    target: str = "B",
    source: str = "A",
    reference: FaceSet | None = None,
    seed: int = 0,
) -> SwapQuality:
    """Swap ``test`` faces (all of person ``source``) to ``target`` and measure against truth.

    Args:
        model: a trained DeepFakes with a decoder ``target``.
        test: unseen faces of ``source`` (their identity is replaced by ``target``'s).
        reference: faces of ``target`` for the mean-face baseline (default: the truths).
        seed: the bootstrap.
    """
    from sepviz.data.synthetic import swapped
    from sepviz.metrics import psnr

    truth = swapped(test, target)
    swap_db = psnr(model.swap(test.images, target), truth)
    input_db = psnr(test.images, truth)
    mean = (reference.images if reference is not None else truth).mean(0, keepdim=True)
    mean_db = psnr(mean.expand_as(truth), truth)
    # the best baseline is the one with the higher mean, compared face by face with the swap
    best = input_db if float(input_db.mean()) >= float(mean_db.mean()) else mean_db
    return SwapQuality(
        source=source,
        target=target,
        swap=bootstrap_mean(swap_db, "dB", seed),
        unchanged=bootstrap_mean(input_db, "dB", seed),
        mean_face=bootstrap_mean(mean_db, "dB", seed),
        ceiling=bootstrap_mean(psnr(model.swap(truth, target), truth), "dB", seed),
        gain=paired_gain(swap_db, best, "dB", seed),
    )


def _pretty(factor: str) -> str:
    return factor.replace("_", " ")


@dataclass(frozen=True)
class IdentityProbe(Result):
    """Held-out scores of linear probes (5 folds) on the shared latent and on the pixels.

    ``latent[i]``, ``pixels[i]`` and ``chance[i]`` belong to ``factors[i]``: accuracy
    (an Estimate with unit ``"%"``) for a class factor, R² (unit ``""``) for a continuous one,
    whose chance is 0. ``factors`` holds ``"identity"``.
    """

    factors: tuple[str, ...]
    latent: tuple[Estimate, ...]
    pixels: tuple[Estimate, ...]
    chance: tuple[float, ...]

    def _chance(self, k: int) -> str:
        return f"{self.chance[k]:.0%}" if self.latent[k].unit == "%" else f"{self.chance[k]:.2f}"

    @staticmethod
    def _read(e: Estimate) -> str:
        return str(e) if e.unit == "%" else f"R² {e}"

    def reads(self, k: int) -> bool:
        """Whether the latent probe's whole interval lies above chance + MARGIN."""
        return self.latent[k].above(self.chance[k] + MARGIN)

    @property
    def verdict(self) -> str:
        i = self.factors.index("identity")
        ident, bar = self.latent[i], self.chance[i] + MARGIN
        facts = (
            f"A linear probe tells A's codes from B's at **{ident}** (chance "
            f"{self._chance(i)}); on the pixels the same probe reads {self.pixels[i]}."
        )
        head = judge(
            ident,
            bar,
            "**Not identity-free.** The shared latent still says whose face it came from: "
            "nothing in the training asks the encoder to drop it.",
            "**Identity-free** for a linear probe.",
            f"chance + {MARGIN:.0%}",
        )
        others = [k for k in range(len(self.factors)) if k != i]
        read = "; ".join(
            f"{_pretty(self.factors[k])} {self._read(self.latent[k])} (pixels "
            f"{self.pixels[k]}, chance {self._chance(k)})"
            for k in others
        )
        kept = all(self.reads(k) for k in others)
        shared = (
            f"It keeps what A and B share: {read}."
            if kept
            else f"It does not keep all that A and B share: {read}."
        )
        return f"{head} {facts} {shared}" if others else f"{head} {facts}"

    def table(self) -> str:
        rows = [
            (
                f"{_pretty(f)} ({'accuracy' if e.unit == '%' else 'R²'})",
                e,
                p,
                self._chance(k),
            )
            for k, (f, e, p) in enumerate(zip(self.factors, self.latent, self.pixels))
        ]
        header = ("read by a linear probe", "shared latent", "pixels (PCA)", "chance")
        return markdown_table(header, rows)

    def plot(self) -> object:
        """Bars: each factor read from the latent and from the pixels, with intervals and a
        dashed chance mark; returns the figure."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.5, 3.5))
        width = 0.38
        for j, (label, values) in enumerate(
            (("shared latent", self.latent), ("pixels (PCA)", self.pixels))
        ):
            xs = [k + (j - 0.5) * width for k in range(len(self.factors))]
            err = [[e.value - e.low for e in values], [e.high - e.value for e in values]]
            ax.bar(xs, [e.value for e in values], width, yerr=err, capsize=3, label=label)
        for k, c in enumerate(self.chance):
            ax.plot([k - 0.45, k + 0.45], [c, c], "k--", lw=1.2, label="chance" if k == 0 else None)
        names = [
            f"{_pretty(f)}\n({'accuracy' if e.unit == '%' else 'R²'})"
            for f, e in zip(self.factors, self.latent)
        ]
        ax.set_xticks(range(len(self.factors)), names)
        ax.set_xlabel("factor read by a linear probe")
        ax.set_ylabel("held-out score")
        ax.set_ylim(min(0.0, *(e.low for e in self.latent + self.pixels)), 1.25)
        ax.set_title("What the shared latent holds, next to the pixels")
        ax.legend(fontsize=8, loc="upper center", ncol=3)
        fig.tight_layout()
        return fig


def identity_probe(
    model: DeepFakes,
    faces: FaceSet,
    factors: Sequence[str] = ("identity", "light_class", "smile"),
    seed: int = 0,
) -> IdentityProbe:
    """Read ``factors`` from the shared latent E(x) of ``faces`` and from their pixels.

    Args:
        model: a trained DeepFakes.
        faces: unseen faces of the model's people (``factors["identity"]`` their index),
            with every factor in ``factors`` (int64: classes; float: R²).
        factors: the factors to read; must hold ``"identity"``.
        seed: the folds of the probes.
    """
    from sepviz.experiments.fadernet import _probe, pixel_codes
    from sepviz.probes import extract_latents

    factors = tuple(factors)
    if "identity" not in factors:
        raise ValueError(f"factors must hold 'identity', got {list(factors)}")
    z, pixels = extract_latents(model, faces.images), pixel_codes(faces.images)
    chance = []
    for f in factors:
        labels = faces.factors[f]
        if labels.is_floating_point():
            chance.append(0.0)  # R² of predicting the mean
        else:
            counts = torch.unique(labels, return_counts=True)[1]
            chance.append(float(counts.max() / counts.sum()))
    return IdentityProbe(
        factors=factors,
        latent=tuple(_probe(z, faces.factors[f], seed, kind="linear") for f in factors),
        pixels=tuple(_probe(pixels, faces.factors[f], seed, kind="linear") for f in factors),
        chance=tuple(chance),
    )


@dataclass(frozen=True)
class LayerSwap(Result):
    """Decoder ``target`` with its first k blocks from decoder ``source``, k = 0..L, on faces
    of ``target``: PSNR (dB) of each column to the true ``target`` face (the input) and to
    the true ``source`` face (the swap's truth), and paired gains over the floors.

    A column *is* a person when its gain over that person's floor (what ignoring the input
    gives: the mean face, or for ``source`` the input itself if that is closer) lies
    above 0; *neither* when both gains lie below 0.
    """

    source: str
    target: str
    to_target: tuple[Estimate, ...]
    to_source: tuple[Estimate, ...]
    gain_target: tuple[Estimate, ...]
    gain_source: tuple[Estimate, ...]
    floor_target: Estimate
    floor_source: Estimate

    @property
    def blocks(self) -> int:
        """L: the decoder's number of blocks (the table has L + 1 columns)."""
        return len(self.to_target) - 1

    @property
    def who(self) -> tuple[str, ...]:
        """Per column k: the person it is, ``"neither"``, or ``"not distinguishable"``."""
        out = []
        for gt, gs in zip(self.gain_target, self.gain_source):
            above = {self.target: gt, self.source: gs}
            above = {name: g for name, g in above.items() if g.above(0)}
            if above:
                out.append(max(above, key=lambda name: above[name].value))
            elif gt.below(0) and gs.below(0):
                out.append("neither")
            else:
                out.append("not distinguishable")
        return tuple(out)

    @property
    def verdict(self) -> str:
        who, last = self.who, self.blocks
        mixed = [k for k in range(1, last) if who[k] == "neither"]
        first = next((k for k, w in enumerate(who) if w == self.source), None)
        ends = (
            f"k = 0 gives {who[0]}, k = {last} (all of decoder {self.source}) gives "
            f"{who[last]} ({self.gain_source[last]} over {self.source}'s floor)."
        )
        if mixed:
            ks = ", ".join(map(str, mixed))
            return (
                f"**Mixed decoders give neither {self.target} nor {self.source}.** With k = "
                f"{ks} blocks taken from decoder {self.source}, the output is further from the "
                f"true {self.target} and from the true {self.source} than the floors are. "
                f"The two decoders were trained apart, so {self.source}'s inner features mean "
                f"nothing to {self.target}'s later blocks: this experiment cannot place "
                f"{self.source}'s identity in one block. {ends}"
            )
        if first is None:
            return f"**No column becomes {self.source}**, even with every block swapped. {ends}"
        return (
            f"**{self.source} appears from k = {first} of {last}**: with decoder "
            f"{self.source}'s first {first} blocks the output is closer to the true "
            f"{self.source} than its floor. {ends}"
        )

    def table(self) -> str:
        rows = [
            (k, a, b, w)
            for k, (a, b, w) in enumerate(zip(self.to_target, self.to_source, self.who))
        ]
        rows.append(("floor", self.floor_target, self.floor_source, ""))
        header = (
            f"k (blocks from {self.source})",
            f"PSNR to the true {self.target}",
            f"PSNR to the true {self.source}",
            "the output is",
        )
        return markdown_table(header, rows)


def layer_swap(
    model: DeepFakes,
    test: FaceSet,
    source: str = "B",
    target: str = "A",
    seed: int = 0,
) -> LayerSwap:
    """Decode ``test`` faces (all of person ``target``) with decoder ``target`` whose first k
    blocks come from decoder ``source`` (:func:`sepviz.grids.layer_swap_grid`), and compare
    each column with the true ``target`` (the input) and the true ``source``
    (:func:`sepviz.data.synthetic.swapped`). Each floor is the person's mean face over the
    truths; for ``source`` the input unchanged when that is closer on average.
    """
    from sepviz.data.synthetic import swapped
    from sepviz.grids import layer_swap_grid
    from sepviz.metrics import psnr

    truth_t, truth_s = test.images, swapped(test, source)
    grid = layer_swap_grid(model, test.images, source=source, target=target)
    floor_t = psnr(truth_t.mean(0, keepdim=True).expand_as(truth_t), truth_t)
    mean_s = psnr(truth_s.mean(0, keepdim=True).expand_as(truth_s), truth_s)
    input_s = psnr(truth_t, truth_s)
    floor_s = input_s if float(input_s.mean()) > float(mean_s.mean()) else mean_s
    to_t, to_s, gain_t, gain_s = [], [], [], []
    for k in range(grid.shape[1]):
        db_t, db_s = psnr(grid[:, k], truth_t), psnr(grid[:, k], truth_s)
        to_t.append(bootstrap_mean(db_t, "dB", seed))
        to_s.append(bootstrap_mean(db_s, "dB", seed))
        gain_t.append(paired_gain(db_t, floor_t, "dB", seed))
        gain_s.append(paired_gain(db_s, floor_s, "dB", seed))
    return LayerSwap(
        source=source,
        target=target,
        to_target=tuple(to_t),
        to_source=tuple(to_s),
        gain_target=tuple(gain_t),
        gain_source=tuple(gain_s),
        floor_target=bootstrap_mean(floor_t, "dB", seed),
        floor_source=bootstrap_mean(floor_s, "dB", seed),
    )
