"""Chapter 5: hidden or removed? Methods that take the light out of a FaderNet's latent,
judged by a ladder of readers, weakest to strongest.

An adversary or an eraser that leaves a *weak* reader at chance has hidden the light from that
reader; it has removed it only if the *strongest* reader is at chance too. :func:`read_ladder`
fits every reader of :data:`READERS` on one split of faces and scores it on another, with a
bootstrap interval over the scored faces:

- ``linear``: logistic regression on standardised codes (what chapter 4's plain probe is);
- ``whitened linear``: the same on whitened codes (every direction at unit variance, so a
  signal in a direction of tiny variance counts as much as any other);
- ``MLP``: one hidden layer of 128 units (chapter 4's MLP probe);
- ``post-hoc adversary``: a fresh reader of the FaderNet discriminator's shape (whitened
  codes, two hidden layers of 256 units) trained to convergence on frozen codes, with no
  early stopping.

:func:`methods` trains (through the zoo) the methods the chapter compares: no adversary, the
FaderNet adversary at each lambda, LEACE after training (:meth:`FaderNet.with_eraser`), LEACE
inside training (``FaderNet(eraser="leace")``) and an oracle encoder that only ever sees the
face under a centre light. :func:`compare` puts every method on the ladder (the training
discriminator joins it where there is one) and measures what each costs: reconstruction,
relighting against the renderer's truth, the slider's direction, training time.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import Estimate, Result, bootstrap_mean, markdown_table
from sepviz.models.fadernet import FaderNet

READERS = ("linear", "whitened linear", "MLP", "post-hoc adversary")
DISCRIMINATOR = "training discriminator"  # the adversary's own P, where a method has one
MARGIN = 0.10  # a reader "reads" the light when it beats chance by more than this


def _reader(name: str, seed: int) -> Any:
    from sklearn.decomposition import PCA
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline

    from sepviz.probes import _probe_estimator

    if name == "linear":
        return _probe_estimator("linear", "classification", seed, 128)
    if name == "whitened linear":
        return _probe_estimator("linear", "classification", seed, 128, whiten=True)
    if name == "MLP":
        return _probe_estimator("mlp", "classification", seed, 128)
    if name == "post-hoc adversary":
        net = MLPClassifier((256, 256), alpha=1e-4, max_iter=400, random_state=seed)
        return make_pipeline(PCA(whiten=True), net)
    raise ValueError(f"reader must be one of {READERS}, got {name!r}")


@dataclass(frozen=True)
class Ladder(Result):
    """Held-out accuracy of every reader of one code, with the chance level (majority class)."""

    method: str
    readers: tuple[str, ...]
    scores: tuple[Estimate, ...]
    chance: float

    def reads(self, reader: str) -> bool:
        """The whole interval of ``reader`` lies above chance + :data:`MARGIN`."""
        return self.scores[self.readers.index(reader)].above(self.chance + MARGIN)

    @property
    def verdict(self) -> str:
        reading = [r for r in self.readers if self.reads(r)]
        scores = "; ".join(f"{r} {s}" for r, s in zip(self.readers, self.scores))
        facts = f"Held-out accuracy of each reader: {scores} (chance {self.chance:.0%})."
        if not reading:
            head = f"**Removed for every reader** of the ladder ({self.method})."
        elif len(reading) == len(self.readers):
            head = f"**Not removed, not hidden** ({self.method}): every reader reads the light."
        else:
            blind = [r for r in self.readers if r not in reading]
            head = (
                f"**Hidden, not removed** ({self.method}): {', '.join(blind)} at chance, but "
                f"{', '.join(reading)} still read{'s' if len(reading) == 1 else ''} the light."
            )
        return f"{head} {facts}"

    def table(self) -> str:
        rows = [(r, s) for r, s in zip(self.readers, self.scores)]
        rows.append(("chance", f"{self.chance:.0%}"))
        return markdown_table(("reader", f"held-out accuracy ({self.method})"), rows)


def read_ladder(
    z_fit: torch.Tensor,
    y_fit: torch.Tensor,
    z_test: torch.Tensor,
    y_test: torch.Tensor,
    method: str,
    readers: tuple[str, ...] = READERS,
    seed: int = 0,
) -> Ladder:
    """Fit each reader on codes ``z_fit`` (N, D) with classes ``y_fit`` (N,), score it on
    ``z_test`` / ``y_test`` (other faces); ``method`` names the code in the verdict."""
    from sklearn.exceptions import ConvergenceWarning

    from sepviz.utils import check_codes

    x_fit, x_test = check_codes(z_fit), check_codes(z_test)
    labels_fit, labels_test = np.asarray(y_fit), np.asarray(y_test)
    if len(labels_fit) != len(x_fit) or len(labels_test) != len(x_test):
        raise ValueError("y_fit and y_test must hold one class per code of z_fit and z_test")
    scores = []
    for name in readers:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = _reader(name, seed).fit(x_fit, labels_fit)
        right = model.predict(x_test) == labels_test
        scores.append(bootstrap_mean(right.astype(np.float64), "%", seed))
    counts = np.bincount(labels_test)
    return Ladder(method, tuple(readers), tuple(scores), float(counts.max() / counts.sum()))


def _and(names: Sequence[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# -- the methods -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Method:
    """One way to take the light out of a FaderNet's latent, with its training time.

    ``source`` names what the encoder sees (a key of :data:`sepviz.recipes.SOURCES`, e.g.
    ``"centre light"`` for the oracle); ``None``: the face itself.
    """

    name: str
    model: FaderNet
    seconds: float
    source: str | None = None

    def inputs(self, faces: FaceSet) -> torch.Tensor:
        """What this method's encoder is fed for ``faces``: (N, 3, S, S) in [0, 1]."""
        from sepviz.recipes import SOURCES

        return faces.images if self.source is None else SOURCES[self.source](faces)


def _seconds(model: FaderNet) -> float:
    return model.history.seconds if model.history is not None else float("nan")


def lambda_name(lam: float) -> str:
    """``"no adversary (λ = 0)"`` or ``"adversary, λ = 0.0003"``."""
    return "no adversary (λ = 0)" if lam == 0 else f"adversary, λ = {lam:g}"


def methods(settings: Mapping[str, int], lambdas: Sequence[float], seed: int = 0) -> list[Method]:
    """Train (or load from :mod:`sepviz.zoo`) every method the chapter compares.

    Args:
        settings: :func:`sepviz.zoo.settings` (``size``, ``steps``, ``n_faces``); the same as
            chapter 4's, so its FaderNets load from the cache.
        lambdas: the adversary weights; must hold 0 (the control, and the model LEACE after
            training erases).
        seed: seeds every training run.
    """
    from sepviz import zoo
    from sepviz.recipes import azimuth_y

    if 0 not in lambdas:
        raise ValueError(f"lambdas must hold 0 (the control), got {list(lambdas)}")

    def fader(**options: Any) -> FaderNet:
        return zoo.trained("fadernet", **settings, seed=seed, **options)  # type: ignore[return-value]

    # these two first: they train while chapter 4, executed beside this chapter, trains the rest
    inside = fader(fit={"lambda_max": 0.0}, eraser="leace")
    oracle = fader(fit={"lambda_max": 0.0, "source": "centre light"})
    adversaries = {float(lam): fader(fit={"lambda_max": float(lam)}) for lam in sorted(lambdas)}
    train = zoo.training_faces("fadernet", settings["size"], settings["n_faces"], seed)
    clock = time.perf_counter()
    after = adversaries[0.0].with_eraser(train.images, azimuth_y(train))
    fit_seconds = time.perf_counter() - clock
    return [
        *(Method(lambda_name(lam), m, _seconds(m)) for lam, m in adversaries.items()),
        Method("LEACE after training", after, _seconds(adversaries[0.0]) + fit_seconds),
        Method("LEACE inside training", inside, _seconds(inside)),
        Method("oracle encoder", oracle, _seconds(oracle), source="centre light"),
    ]


def discriminator_reads(
    model: FaderNet, z: torch.Tensor, light: torch.Tensor, seed: int = 0
) -> Estimate | None:
    """Accuracy of the model's own ``latent_discriminator`` at the light class of codes ``z``
    (N, latent_dim): its most likely bin of y, mapped to the class of the bin's centre. ``None``
    when the model was trained without an adversary (its discriminator never learned)."""
    from sepviz.data.synthetic import light_class

    if model.lambda_max == 0 or model.attribute != "continuous":
        return None
    logits = model.batched(model.latent_discriminator, z)
    bins = logits.view(len(z), model.n_groups, model.n_classes)[:, 0].argmax(1)
    centre = -1 + (bins.double() + 0.5) * 2 / model.n_classes  # y at the middle of the bin
    right = light_class(60 * centre) == torch.as_tensor(light)
    return bootstrap_mean(right.double(), "%", seed)


# -- the comparison --------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison(Result):
    """Every method on the ladder, and what it costs.

    ``relit``: PSNR of the face relit to y = -1, 0, +1 against the renderer's truth, averaged
    per face; ``unchanged``: the same for the input left as it is; ``monotone``: share of faces
    whose measured light rises with y at every step of the slider.
    """

    methods: tuple[str, ...]
    ladders: tuple[Ladder, ...]
    pixels: Ladder  # the baseline: the same readers on the faces' pixels (64 PCA components)
    reconstruction: tuple[Estimate, ...]
    relit: tuple[Estimate, ...]
    unchanged: Estimate
    monotone: tuple[Estimate, ...]
    seconds: tuple[float, ...]

    @property
    def chance(self) -> float:
        return self.ladders[0].chance

    @property
    def readers(self) -> tuple[str, ...]:
        """Every reader that scored some method, weakest first."""
        return tuple(
            r for r in (DISCRIMINATOR, *READERS) if any(r in l.readers for l in self.ladders)
        )

    def best(self, k: int = 2) -> tuple[str, ...]:
        """The ``k`` methods whose relit faces come closest to the truth."""
        order = sorted(range(len(self.methods)), key=lambda i: -self.relit[i].value)
        return tuple(self.methods[i] for i in order[:k])

    def status(self, i: int) -> str:
        """What method ``i`` does to the light, in a phrase computed from its ladder."""
        ladder = self.ladders[i]
        reading = [r for r in ladder.readers if ladder.reads(r)]
        strongest = max(zip(ladder.scores, ladder.readers), key=lambda p: p[0].value)
        if not reading:
            return (
                f"**removes it** for every reader (the strongest, {strongest[1]}: {strongest[0]})"
            )
        if len(reading) == len(ladder.readers):
            weakest = min(zip(ladder.scores, ladder.readers), key=lambda p: p[0].value)
            return f"**keeps it**: every reader reads it (the weakest, {weakest[1]}: {weakest[0]})"
        blind = [r for r in ladder.readers if r not in reading]
        verb = "reads" if len(reading) == 1 else "read"
        return (
            f"**hides it** from the {_and(blind)} reader{'s' if len(blind) > 1 else ''}, but "
            f"the {_and(reading)} still {verb} it (the strongest, {strongest[1]}: "
            f"{strongest[0]})"
        )

    @property
    def verdict(self) -> str:
        lines = [f"- **{m}** {self.status(i)}." for i, m in enumerate(self.methods)]
        first, second = (self.methods.index(b) for b in self.best(2))
        return (
            f"Chance is {self.chance:.0%}; a reader *reads* the light when its whole interval "
            f"lies above chance + {MARGIN:.0%}.\n\n" + "\n".join(lines) + "\n\n"
            f"Closest to the true relit face: **{self.methods[first]}** "
            f"({self.relit[first]}) and **{self.methods[second]}** ({self.relit[second]}); "
            f"the input left unchanged scores {self.unchanged}."
        )

    def table(self) -> str:
        """Readers (columns) x methods (rows): held-out accuracy at the light class."""
        rows = []
        for method, ladder in zip(self.methods, self.ladders):
            score = dict(zip(ladder.readers, ladder.scores))
            rows.append((method, *(score.get(r, "—") for r in self.readers)))
        pixels = dict(zip(self.pixels.readers, self.pixels.scores))
        rows.append(("pixels (PCA), no model", *(pixels.get(r, "—") for r in self.readers)))
        rows.append(("chance", *(f"{self.chance:.0%}" for _ in self.readers)))
        return markdown_table(("method", *self.readers), rows)

    def costs(self) -> str:
        """What each method costs: reconstruction, relighting, the slider, training time."""
        rows = [
            (m, rec, rel, mono, f"{sec:.0f} s")
            for m, rec, rel, mono, sec in zip(
                self.methods, self.reconstruction, self.relit, self.monotone, self.seconds
            )
        ]
        rows.append(("input unchanged", "—", self.unchanged, "—", "—"))
        header = ("method", "reconstruction", "relit vs truth", "slider monotone", "training")
        return markdown_table(header, rows)

    def plot(self) -> Any:
        """Grouped bars: one group per reader, one bar per method, 95% intervals, chance."""
        import matplotlib.pyplot as plt

        readers = self.readers
        fig, ax = plt.subplots(figsize=(9, 3.8))
        width = 0.8 / len(self.methods)
        for i, (method, ladder) in enumerate(zip(self.methods, self.ladders)):
            score = dict(zip(ladder.readers, ladder.scores))
            xs = [
                j + (i - (len(self.methods) - 1) / 2) * width
                for j, r in enumerate(readers)
                if r in score
            ]
            est = [score[r] for r in readers if r in score]
            ax.bar(
                xs,
                [100 * e.value for e in est],
                width,
                label=method,
                yerr=[
                    [100 * (e.value - e.low) for e in est],
                    [100 * (e.high - e.value) for e in est],
                ],
                capsize=2,
            )
        ax.axhline(100 * self.chance, color="black", ls="--", lw=1, label="chance")
        ax.axhline(
            100 * (self.chance + MARGIN), color="grey", ls=":", lw=1, label=f"chance + {MARGIN:.0%}"
        )
        ax.set_xticks(range(len(readers)), [r.replace(" ", "\n", 1) for r in readers])
        ax.set_xlabel("reader (weakest to strongest)")
        ax.set_ylabel("light class read from z (%)")
        ax.set_ylim(0, 100)
        ax.set_title("Which readers still read the light, for each method")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
        fig.tight_layout()
        return fig


def compare(
    methods: Sequence[Method], test: FaceSet, seed: int = 0, slider_faces: int = 300
) -> Comparison:
    """Put every method on the ladder and measure its costs on ``test`` faces.

    Args:
        methods: from :func:`methods`.
        test: faces no method was trained on, with every factor of the renderer (the readers
            fit on the first half of them and are scored on the second; the training
            discriminator is scored on the second half).
        seed: readers, bootstraps.
        slider_faces: faces of ``test`` used for the slider checks (relight, direction).
    """
    from sepviz.experiments.fadernet import pixel_codes, slider_check
    from sepviz.metrics import psnr
    from sepviz.probes import extract_latents
    from sepviz.recipes import azimuth_y

    light = test.factors["light_class"]
    half = len(test) // 2
    ladders, reconstruction, relit, monotone = [], [], [], []
    for method in methods:
        x = method.inputs(test)
        z = extract_latents(method.model, x)
        ladder = read_ladder(z[:half], light[:half], z[half:], light[half:], method.name, seed=seed)
        own = discriminator_reads(method.model, z[half:], light[half:], seed)
        if own is not None:
            ladder = replace(
                ladder, readers=(DISCRIMINATOR, *ladder.readers), scores=(own, *ladder.scores)
            )
        ladders.append(ladder)
        out = method.model.relight(x, azimuth_y(test))
        reconstruction.append(bootstrap_mean(psnr(out, test.images), "dB", seed))
        k = min(slider_faces, len(test))
        check = slider_check(method.model, test[:k], seed=seed, inputs=x[:k])
        relit.append(check.relit_mean)
        monotone.append(check.monotone)
    pixels = pixel_codes(test.images)
    return Comparison(
        tuple(m.name for m in methods),
        tuple(ladders),
        read_ladder(pixels[:half], light[:half], pixels[half:], light[half:], "pixels", seed=seed),
        tuple(reconstruction),
        tuple(relit),
        check.unchanged_mean,  # the same faces and truth for every method
        tuple(monotone),
        tuple(m.seconds for m in methods),
    )


def slider_pair(
    first: Method, second: Method, faces: FaceSet, values: Sequence[float] | None = None
) -> Any:
    """Two methods' sliders side by side in one precomputed slider (no kernel needed): the
    left half of each row is ``first``'s faces, the right half ``second``'s."""
    from sepviz import widgets

    n = len(faces)
    inputs = torch.cat([first.inputs(faces), second.inputs(faces)])

    def relight(images: torch.Tensor, value: float) -> torch.Tensor:
        return torch.cat(
            [first.model.relight(images[:n], value), second.model.relight(images[n:], value)]
        )

    return widgets.static_slider(
        relight,
        inputs,
        values=widgets.SLIDER_VALUES if values is None else values,
        title=f"Left: {first.name}. Right: {second.name}. Drag y.",
    )


@dataclass(frozen=True)
class SampleCheck(Result):
    """LEACE's guarantee holds on the codes it was fitted on: the linear readers on codes erased
    by an eraser fitted on those very codes (in-sample) and on other faces (out of sample)."""

    in_sample: Ladder
    out_of_sample: Ladder

    @property
    def verdict(self) -> str:
        def said(ladder: Ladder) -> str:
            return ", ".join(f"{r} {s}" for r, s in zip(ladder.readers, ladder.scores))

        reading = [r for r in self.out_of_sample.readers if self.out_of_sample.reads(r)]
        held = not any(self.in_sample.reads(r) for r in self.in_sample.readers)
        head = (
            "**LEACE's guarantee is in-sample.**"
            if held and reading
            else "**In-sample and out of sample agree.**"
        )
        return (
            f"{head} Fitted on the very codes the readers see: {said(self.in_sample)}. "
            f"Fitted on the training faces and read on new ones: {said(self.out_of_sample)} "
            f"(chance {self.in_sample.chance:.0%})."
        )

    def table(self) -> str:
        rows = [
            (r, a, b)
            for r, a, b in zip(
                self.in_sample.readers, self.in_sample.scores, self.out_of_sample.scores
            )
        ]
        return markdown_table(("reader", "eraser fitted in-sample", "out of sample"), rows)


def leace_in_and_out_of_sample(
    after: Method, test: FaceSet, seed: int = 0, readers: tuple[str, ...] = READERS[:2]
) -> SampleCheck:
    """Read the light class from the codes of ``test`` faces erased two ways: by an eraser
    fitted on those same codes, and by ``after``'s (fitted on its training faces), with the
    linear ``readers`` fitted on the first half of ``test`` and scored on the second.

    ``after`` is the "LEACE after training" method of :func:`methods`; its eraser's concept
    (the discriminator's bins of y) is used for both."""
    from sepviz.erasure import fit_leace
    from sepviz.recipes import azimuth_y

    model, light, half = after.model, test.factors["light_class"], len(test) // 2
    before, eraser = model.split_eraser()
    raw = model.batched(before, after.inputs(test))  # codes before erasure, computed once
    erased = fit_leace(raw, model.erased_classes(azimuth_y(test)))(raw)
    with torch.no_grad():
        theirs = eraser(raw)  # what model.encode gives: the eraser fitted on training faces

    def ladder(z: torch.Tensor, name: str) -> Ladder:
        return read_ladder(z[:half], light[:half], z[half:], light[half:], name, readers, seed)

    return SampleCheck(ladder(erased, "in-sample"), ladder(theirs, "out of sample"))
