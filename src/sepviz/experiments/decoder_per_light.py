"""Chapter 9 (the blog's idea 2): one decoder per light class against a FaderNet.

- :func:`relight_quality` relights unseen faces to every light class and compares each result
  with the renderer's face under that class's lamp, next to the input left unchanged.
- :func:`train_designs` trains both designs on the same studio faces (:func:`studio`: a few
  fixed lamps), and :func:`compare_designs` measures what each relights and what it costs:
  PSNR to the truth with intervals (paired face by face), parameters, training memory
  (:func:`sepviz.cost.training_memory`) and training time (``model.history.seconds``).
- :func:`train_on_classes` trains the multi-decoder on light from anywhere in each class, and
  :func:`lamps_or_classes` sets it against the one trained on the lamps: relight gains to the
  lamps, the light within its class in the latent, and whether the relit light follows the
  input's.

:func:`compare_designs` and :func:`lamps_or_classes` take the models of one training run or a
sequence of them, one per run (seed): with several, each headline number is the mean over the
runs with an interval that holds both the run-to-run spread and the spread over faces
(:func:`~sepviz.experiments.over_runs`); the result's ``spreads()`` and ``spread_table()`` give
the two parts side by side. A seed also draws the people a run trains on, so the unseen test
faces must come from a seed no run trained on (``test_seed``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import (
    DB_MARGIN,
    R_MARGIN,
    READ_SHARE,
    Estimate,
    Headlines,
    Order,
    OverRuns,
    Result,
    bootstrap_mean,
    compare,
    from_folds,
    markdown_table,
    over_runs,
    paired_gain,
    reading,
    runs_note,
)

TRAINING_CODE = ("experiments/decoder_per_light.py",)
"""This module trains the chapter's models: it is part of their fingerprint
(:func:`sepviz.zoo.fingerprint`)."""

Relight = Callable[[torch.Tensor, int], torch.Tensor]
"""``relight(x, k)``: faces x (N, 3, S, S) in [0, 1] relit to light class k."""


def relight_by(model: object) -> Relight:
    """The model's relight-to-class-k as a function: ``swap(x, k)`` for a model with one
    decoder per class, a one-hot ``relight(x, y)`` for a categorical FaderNet."""
    from sepviz.recipes import kind_of, recipe

    if recipe(kind_of(model)).relight == "decoders":  # type: ignore[arg-type]
        return lambda x, k: model.swap(x, k)  # type: ignore[attr-defined]

    def fader(x: torch.Tensor, k: int) -> torch.Tensor:
        y = torch.zeros(len(x), model.attribute_dim)  # type: ignore[attr-defined]
        y[:, k] = 1
        return model.relight(x, y)  # type: ignore[attr-defined]

    return fader


_OTHER_ORDERS = (
    (Order.EQUAL, f"it is equal to the unchanged input (the gain lies within ±{DB_MARGIN} dB)"),
    (Order.WORSE, "it is worse than the unchanged input"),
    (
        Order.NOT_DISTINGUISHABLE,
        f"it is not distinguishable from the unchanged input (the gain's interval covers "
        f"+{DB_MARGIN} or -{DB_MARGIN} dB)",
    ),
)
"""How :class:`RelightQuality` words a relight that does not beat the input (:func:`compare`)."""


def _and(names: Sequence[str]) -> str:
    """``["a", "b", "c"]`` as ``"a, b and c"``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@dataclass(frozen=True)
class RelightQuality(Result):
    """PSNR (dB) of faces relit to each class against the truth, and the gain over the input."""

    classes: tuple[str, ...]
    relit: tuple[Estimate, ...]
    unchanged: tuple[Estimate, ...]
    gain: tuple[Estimate, ...]

    @property
    def verdict(self) -> str:
        orders = [compare(g, DB_MARGIN) for g in self.gain]
        wins = [c for c, o in zip(self.classes, orders) if o is Order.BETTER]
        gains = ", ".join(f"{c}: {g}" for c, g in zip(self.classes, self.gain))
        parts = [
            f"Relighting beats the unchanged input by more than {DB_MARGIN} dB for "
            f"**{len(wins)} of {len(self.classes)}** light classes (gain in PSNR to the true "
            f"relit face: {gains})."
        ]
        for order, words in _OTHER_ORDERS:
            names = [c for c, o in zip(self.classes, orders) if o is order]
            if names:
                parts.append(f"For {_and(names)} {words}.")
        return " ".join(parts)

    def table(self) -> str:
        rows = list(zip(self.classes, self.relit, self.unchanged, self.gain))
        return markdown_table(("relit to", "relit PSNR", "input unchanged", "gain"), rows)


def _per_class(
    relight: Relight, test: FaceSet, azimuths: Sequence[float]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """For each class k: PSNR (dB) to the truth of the test faces not under k relit to k,
    and of the same faces left unchanged; two (N_k,) tensors."""
    from sepviz.data.synthetic import relit
    from sepviz.metrics import psnr

    out = []
    for k, azimuth in enumerate(azimuths):
        other = test[test.factors["light_class"] != k]
        truth = relit(other, float(azimuth))
        out.append((psnr(relight(other.images, k), truth), psnr(other.images, truth)))
    return out


def _per_face(
    relight: Relight, test: FaceSet, azimuths: Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) mean PSNR (dB) of each test face relit to every class but its own, and of the
    face left unchanged against the same truths."""
    own = test.factors["light_class"]
    relit_db = torch.full((len(test), len(azimuths)), float("nan"), dtype=torch.float64)
    input_db = relit_db.clone()
    for k, (r, i) in enumerate(_per_class(relight, test, azimuths)):
        relit_db[own != k, k], input_db[own != k, k] = r.double(), i.double()
    return relit_db.nanmean(1), input_db.nanmean(1)


def relight_quality(
    relight: Relight,
    test: FaceSet,
    azimuths: Sequence[float],
    classes: Sequence[str],
    seed: int = 0,
) -> RelightQuality:
    """Relight the ``test`` faces not yet under class k to class k, for every k.

    Args:
        relight: see :data:`Relight` (e.g. :func:`relight_by` of a model).
        test: unseen faces with ``factors["light_class"]``.
        azimuths: the lamp azimuth (degrees) of each class: the truth is the face under it.
        classes: the class names, for the table.
    """
    out, unchanged, gain = [], [], []
    for relit_db, input_db in _per_class(relight, test, azimuths):
        out.append(bootstrap_mean(relit_db, "dB", seed))
        unchanged.append(bootstrap_mean(input_db, "dB", seed))
        gain.append(paired_gain(relit_db, input_db, "dB", seed))
    return RelightQuality(tuple(classes), tuple(out), tuple(unchanged), tuple(gain))


MULTI, FADER = "one decoder per lamp", "FaderNet"
DESIGNS = (MULTI, FADER)
"""The two designs :func:`train_designs` trains, in the order of the result's fields."""


def studio(n_lamps: int, n: int, size: int = 32, seed: int = 0, people: int = 8) -> FaceSet:
    """``n`` faces of ``people`` random people (drawn from ``seed``) under ``n_lamps`` fixed
    lamps: each face's azimuth is one of :func:`~sepviz.data.synthetic.class_azimuths`, its
    class ``factors["light_class"]``; elevation and expression stay random."""
    from sepviz.data.synthetic import class_azimuths, make_faces

    return make_faces(
        n,
        size=size,
        identities=people,
        seed=seed,
        n_light_classes=n_lamps,
        azimuths=class_azimuths(n_lamps),
    )


def lamp_names(n_lamps: int) -> list[str]:
    """The lamps' azimuths as names, e.g. ``["-40°", "+0°", "+40°"]`` for 3 lamps."""
    from sepviz.data.synthetic import class_azimuths

    return [f"{a:+.0f}°" for a in class_azimuths(n_lamps).tolist()]


def _targets(faces: FaceSet, n_lamps: int) -> dict[str, torch.Tensor]:
    """Each design's ``y`` for ``fit``: the lamp's class (which decoder), one-hot for y."""
    labels = faces.factors["light_class"]
    return {MULTI: labels, FADER: torch.nn.functional.one_hot(labels, n_lamps).float()}


def train_designs(
    n_lamps: int,
    size: int = 32,
    steps: int = 800,
    n_faces: int = 3000,
    batch: int = 64,
    lambda_max: float = 3e-4,
    seed: int = 0,
    cache: bool = True,
    **fit_kwargs: Any,
) -> dict[str, Any]:
    """Both designs trained on the same ``n_faces`` :func:`studio` faces for ``steps`` steps.

    The multi-decoder (:class:`~sepviz.models.MultiDecoder`, one decoder per lamp) draws
    ``batch // n_lamps`` faces of each lamp per step, the FaderNet (categorical y: the lamp,
    one-hot; adversary weight ``lambda_max``) ``batch`` faces: the same number of images.
    Each is trained once and then loaded (:func:`sepviz.zoo.cached`; ``cache=False``: always
    trained). ``fit_kwargs`` go to both ``fit`` (``progress``, ``device``). Returns
    ``{"one decoder per lamp": MultiDecoder, "FaderNet": FaderNet}``, with their histories.
    """
    from sepviz import zoo
    from sepviz.models import FaderNet, MultiDecoder

    def faces() -> FaceSet:
        return studio(n_lamps, n_faces, size, seed)

    def multi() -> MultiDecoder:
        torch.manual_seed(seed)
        model = MultiDecoder(classes=lamp_names(n_lamps), image_size=size)
        train = faces()
        y = _targets(train, n_lamps)[MULTI]
        batch_size = max(1, batch // n_lamps)
        return model.fit(
            train.images, y, steps=steps, batch_size=batch_size, seed=seed, **fit_kwargs
        )

    def fader() -> FaderNet:
        torch.manual_seed(seed)
        model = FaderNet(
            image_size=size, attribute_dim=n_lamps, attribute="categorical", lambda_max=lambda_max
        )
        train = faces()
        y = _targets(train, n_lamps)[FADER]
        return model.fit(
            train.images,
            y,
            steps=steps,
            batch_size=batch,
            seed=seed,
            **fit_kwargs,
        )

    args = {"lamps": n_lamps, "steps": steps, "n_faces": n_faces, "batch": batch, "seed": seed}
    return {
        MULTI: zoo.cached(
            f"multidecoder-{size}px", args, multi, TRAINING_CODE, cache, "MultiDecoder"
        ),
        FADER: zoo.cached(
            f"fadernet-{size}px",
            {**args, "lambda_max": lambda_max},
            fader,
            TRAINING_CODE,
            cache,
            "FaderNet",
        ),
    }


def _memory_mib(model: Any, y: torch.Tensor, faces: FaceSet, batch: int) -> float:
    """Training memory (MiB) of one step on ``batch`` images, split over the model's streams
    as in :func:`train_designs` (``y``: the model's targets of ``faces``)."""
    from sepviz.cost import training_memory

    streams = model.streams(faces.images, y)
    per = max(1, batch // len(streams))
    # copies: the memory count takes a tensor's whole storage, and a slice's is all the faces
    one = {n: {k: t[:per].clone() for k, t in s.items()} for n, s in streams.items()}
    return training_memory(model, one).total / 2**20


TIME_RATIO = 1.5
"""A design *trains in less time* only when the other took more than 1.5 times as long. The
times have no interval: one wall-clock run per design, on a machine shared with other work
(the shipped models trained two chapters side by side), which slows a run by an amount no run
records. So the margin is chosen, not measured: a design must take less than two thirds of
the other's time before the verdict calls it faster; a closer pair is left undecided."""


@dataclass(frozen=True)
class DesignComparison(OverRuns, Result):
    """Relit PSNR (dB, each face relit to every lamp but its own, mean over faces) and the
    cost of both designs for each number of lamps.

    ``gain[i]``: multi-decoder minus FaderNet, paired over the same faces. ``seconds``: the
    training time on the machine that ran :func:`train_designs` (None: no history).

    ``per_run``: one result per training run when several were measured (empty for one):
    then ``multi``, ``fader`` and ``gain`` are :func:`~sepviz.experiments.over_runs` of theirs
    (their ``runs`` field says how many); ``unchanged`` (no model changes it), the parameters
    and the training memory (the same architecture in every run) and the training times (one
    wall-clock run each) are the first run's.
    """

    lamps: tuple[int, ...]
    multi: tuple[Estimate, ...]
    fader: tuple[Estimate, ...]
    unchanged: tuple[Estimate, ...]
    gain: tuple[Estimate, ...]
    multi_parameters: tuple[int, ...]
    fader_parameters: tuple[int, ...]
    multi_memory_mib: tuple[float, ...]
    fader_memory_mib: tuple[float, ...]
    multi_seconds: tuple[float | None, ...]
    fader_seconds: tuple[float | None, ...]
    per_run: tuple[DesignComparison, ...] = ()

    @classmethod
    def from_runs(cls, runs: Sequence[DesignComparison]) -> DesignComparison:
        """One result over training runs: ``runs`` holds one single-run result per training
        run (2 or more), measured on the same test faces."""
        if len(runs) < 2 or any(r.per_run for r in runs):
            raise ValueError(f"from_runs needs >= 2 single-run results, got {len(runs)}")
        first = runs[0]
        if any(r.lamps != first.lamps for r in runs):
            raise ValueError(f"every run needs the same numbers of lamps {list(first.lamps)}")

        def combined(name: str) -> tuple[Estimate, ...]:
            return tuple(
                over_runs([getattr(r, name)[i] for r in runs]) for i in range(len(first.lamps))
            )

        return replace(
            first,
            multi=combined("multi"),
            fader=combined("fader"),
            gain=combined("gain"),
            per_run=tuple(runs),
        )

    def winner(self, i: int) -> Order:
        """:func:`compare` of the paired gain (multi-decoder minus FaderNet) with
        :data:`~sepviz.experiments.DB_MARGIN`: BETTER means the multi-decoder relights
        closer to the truth with ``lamps[i]`` lamps, WORSE the FaderNet."""
        return compare(self.gain[i], DB_MARGIN)

    def _quality(self, i: int) -> str:
        n, gain, order = self.lamps[i], self.gain[i], self.winner(i)
        multi, fader = self.multi[i], self.fader[i]
        runs = runs_note(gain)
        both = f"{multi} for {MULTI}, {fader} for the {FADER}"
        base = f"input unchanged {self.unchanged[i]}"
        if order is Order.EQUAL:
            return (
                f"With {n} lamps the two designs **relight equally well{runs}** ({both}; the "
                f"paired difference {gain} lies within ±{DB_MARGIN} dB; {base})"
            )
        if order is Order.NOT_DISTINGUISHABLE:
            return (
                f"With {n} lamps the two designs are **not distinguishable{runs}** ({both}; "
                f"the paired difference {gain} covers +{DB_MARGIN} or -{DB_MARGIN} dB; {base})"
            )
        if order is Order.BETTER:
            win, lose, w, v = MULTI, f"the {FADER}", multi, fader
        else:
            win, lose, w, v = f"the {FADER}", MULTI, fader, multi
        return (
            f"With {n} lamps **{win} relights closer to the truth{runs}**: {w} against {v} for "
            f"{lose} (paired difference {_abs(gain)}, beyond the {DB_MARGIN} dB that makes "
            f"two PSNRs equal; {base})"
        )

    def _time(self, i: int) -> str:
        ms, fs = self.multi_seconds[i], self.fader_seconds[i]
        if ms is None or fs is None or ms <= 0 or fs <= 0:
            return ""
        # one wall-clock time per design: the first training run's when there are several
        times = f"({ms:.0f} s against {fs:.0f} s" + (
            ", the first training run" if self.per_run else ""
        )
        if fs > TIME_RATIO * ms:
            return f", and trains in less time {times})"
        if ms > TIME_RATIO * fs:
            return f", and takes longer to train {times})"
        return (
            f"; the training times {times}) are within {TIME_RATIO:g}x of each other, too "
            "close for one wall-clock run each on a shared machine to say which trains faster"
        )

    def _one(self, i: int) -> str:
        cost = (
            f"{MULTI} has {self.multi_parameters[i] / self.fader_parameters[i]:.1f}x "
            f"the parameters and {self.multi_memory_mib[i] / self.fader_memory_mib[i]:.1f}x "
            f"the training memory{self._time(i)}"
        )
        return f"{self._quality(i)}. {cost[0].upper()}{cost[1:]}."

    def _growth(self) -> str:
        """How each design's parameters and memory grow from the fewest lamps to the most."""
        first, last = self.lamps[0], self.lamps[-1]
        new = last - first

        def grows(parameters: tuple[int, ...], memory: tuple[float, ...]) -> str:
            per_lamp = (parameters[-1] - parameters[0]) / new
            return (
                f"{parameters[-1] / parameters[0]:.2f}x in parameters ({per_lamp:+,.0f} a "
                f"lamp) and {memory[-1] / memory[0]:.2f}x in training memory"
            )

        return (
            f"From {first} to {last} lamps {MULTI} grows "
            f"{grows(self.multi_parameters, self.multi_memory_mib)}, the {FADER} "
            f"{grows(self.fader_parameters, self.fader_memory_mib)}."
        )

    @property
    def verdict(self) -> str:
        lines = [self._one(i) for i in range(len(self.lamps))]
        if len(self.lamps) > 1 and self.lamps[-1] != self.lamps[0]:
            lines.append(self._growth())
        return "\n\n".join(lines)

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        out: Headlines = {}
        for i, n in enumerate(self.lamps):
            out[f"{MULTI}, {n} lamps, relit PSNR"] = (
                self.multi[i],
                tuple(r.multi[i] for r in runs),
            )
            out[f"{FADER}, {n} lamps, relit PSNR"] = (
                self.fader[i],
                tuple(r.fader[i] for r in runs),
            )
            out[f"{MULTI} - {FADER}, {n} lamps (paired)"] = (
                self.gain[i],
                tuple(r.gain[i] for r in runs),
            )
        return out

    def table(self) -> str:
        rows: list[tuple[object, ...]] = []
        for i, n in enumerate(self.lamps):
            for name, q, p, m, s in (
                (
                    MULTI,
                    self.multi[i],
                    self.multi_parameters[i],
                    self.multi_memory_mib[i],
                    self.multi_seconds[i],
                ),
                (
                    FADER,
                    self.fader[i],
                    self.fader_parameters[i],
                    self.fader_memory_mib[i],
                    self.fader_seconds[i],
                ),
            ):
                sec = "n/a" if s is None else f"{s:.0f}"
                rows.append((n, name, q, f"{p:,}", f"{m:.1f}", sec))
            rows.append((n, "baseline: input unchanged", self.unchanged[i], "", "", ""))
        header = (
            "lamps",
            "design",
            f"relit PSNR{runs_note(self.gain[0])}",
            "parameters",
            "training memory (MiB)",
            "training time (s)" + (", first run" if self.per_run else ""),
        )
        return markdown_table(header, rows)

    def plot(self) -> Any:
        """Per number of lamps: relit PSNR as points with their 95% intervals next to the
        input unchanged (a PSNR has no zero to start a bar from), and parameters, training
        memory and training time as bars from 0; returns the figure."""
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 2, figsize=(8, 6.4))
        xs = list(range(len(self.lamps)))
        width = 0.38
        panels = (
            ("Parameters", "millions", self.multi_parameters, self.fader_parameters, 1e-6),
            ("Training memory, one step", "MiB", self.multi_memory_mib, self.fader_memory_mib, 1),
            ("Training time", "seconds", self.multi_seconds, self.fader_seconds, 1.0),
        )
        quality = axes.flat[0]
        for j, (name, values) in enumerate(((MULTI, self.multi), (FADER, self.fader))):
            pos = [x + (j - 0.5) * width for x in xs]
            err = [[e.value - e.low for e in values], [e.high - e.value for e in values]]
            colour = f"C{j}"
            quality.errorbar(
                pos, [e.value for e in values], yerr=err, fmt="o", capsize=3, color=colour
            )
            quality.plot([], [], "s", color=colour, label=name)  # the legend's square
        base = [e.value for e in self.unchanged]
        quality.hlines(base, [x - width for x in xs], [x + width for x in xs], "k", lw=2)
        quality.plot([], [], "k-", lw=2, label="input unchanged")
        quality.set_title("Relit faces against the truth", fontsize=11)
        quality.set_ylabel("PSNR (dB)", fontsize=10)
        for ax, (title, unit, multi, fader, scale) in zip(axes.flat[1:], panels):
            for j, (name, values) in enumerate(((MULTI, multi), (FADER, fader))):
                pos = [x + (j - 0.5) * width for x in xs]
                ax.bar(pos, [scale * (v or 0) for v in values], width, label=name)
            ax.set_ylabel(unit, fontsize=10)
            ax.set_title(title, fontsize=11)
        for ax in axes.flat:
            ax.set_xticks(xs, [f"{n} lamps" for n in self.lamps], fontsize=11)
            ax.set_xlim(-0.7, len(xs) - 0.3)
            ax.tick_params(axis="y", labelsize=10)
        handles, labels = quality.get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=10, frameon=False)
        fig.suptitle("One decoder per lamp against a FaderNet", fontsize=13)
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        return fig


def _abs(e: Estimate) -> Estimate:
    return e if e.value >= 0 else Estimate(-e.value, -e.high, -e.low, e.unit)


Designs = Mapping[int, Mapping[str, Any]]
"""``{n_lamps: train_designs(n_lamps, ...)}``: both designs of one training run."""


def compare_designs(
    models: Designs | Sequence[Designs],
    n_test: int = 400,
    batch: int = 64,
    seed: int = 0,
    test_seed: int | None = None,
) -> DesignComparison:
    """Relight quality and cost of both designs for each number of lamps.

    Args:
        models: ``{n_lamps: train_designs(n_lamps, ...)}``, or a sequence of them, one per
            training run (seed): then the relit PSNRs and their paired difference are the
            mean over the runs (:func:`~sepviz.experiments.over_runs`) and ``per_run`` holds
            each run's result, all measured on the same test faces.
        n_test: unseen :func:`studio` faces per number of lamps (new people, new
            expressions), each relit to every lamp but its own.
        batch: images per training step, for the training memory (as in
            :func:`train_designs`).
        seed: the bootstrap, and the test faces when ``test_seed`` is None.
        test_seed: the seed of the test faces (None: ``seed + 1``). It must differ from every
            training run's seed: the same seed draws the same people.
    """
    from sepviz.data.synthetic import class_azimuths

    test_seed = seed + 1 if test_seed is None else test_seed
    if not isinstance(models, Mapping):
        runs = list(models)
        if not runs:
            raise ValueError("models is an empty sequence: give {n_lamps: designs} or one per run")
        results = [compare_designs(m, n_test, batch, seed, test_seed) for m in runs]
        return results[0] if len(results) == 1 else DesignComparison.from_runs(results)

    fields: dict[str, list[Any]] = {
        k: []
        for k in (
            "multi",
            "fader",
            "unchanged",
            "gain",
            "multi_parameters",
            "fader_parameters",
            "multi_memory_mib",
            "fader_memory_mib",
            "multi_seconds",
            "fader_seconds",
        )
    }
    lamps = sorted(models)
    for n in lamps:
        multi, fader = models[n][MULTI], models[n][FADER]
        test = studio(n, n_test, multi.image_size, test_seed)
        azimuths = class_azimuths(n).tolist()
        m_db, input_db = _per_face(relight_by(multi), test, azimuths)
        f_db, _ = _per_face(relight_by(fader), test, azimuths)
        fields["multi"].append(bootstrap_mean(m_db, "dB", seed))
        fields["fader"].append(bootstrap_mean(f_db, "dB", seed))
        fields["unchanged"].append(bootstrap_mean(input_db, "dB", seed))
        fields["gain"].append(paired_gain(m_db, f_db, "dB", seed))
        targets = _targets(test, n)
        for key, name, model in (("multi", MULTI, multi), ("fader", FADER, fader)):
            fields[f"{key}_parameters"].append(model.n_parameters())
            memory = _memory_mib(model, targets[name], test, batch)
            fields[f"{key}_memory_mib"].append(memory)
            history = model.history
            fields[f"{key}_seconds"].append(history.seconds if history is not None else None)
    return DesignComparison(lamps=tuple(lamps), **{k: tuple(v) for k, v in fields.items()})


# -- lamps or light classes? ---------------------------------------------------------------
LAMPS, CLASSES = "trained on 3 lamps", "trained on light classes"
"""The two training sets of :func:`lamps_or_classes`: faces under the 3 class lamps only, or
faces lit from anywhere in each class's range (the blog's idea 2 read literally)."""


def train_on_classes(
    size: int = 32,
    steps: int = 800,
    n_faces: int = 3000,
    batch: int = 64,
    seed: int = 0,
    cache: bool = True,
    **fit_kwargs: Any,
) -> Any:
    """A 3-class :class:`~sepviz.models.MultiDecoder` trained like :func:`train_designs`'s, on
    faces whose azimuth is drawn anywhere in [-60, 60] (its class: left / centre / right);
    trained once, then loaded (``cache=False``: always trained)."""
    from sepviz import zoo
    from sepviz.data.synthetic import make_faces
    from sepviz.models import MultiDecoder

    def train() -> MultiDecoder:
        faces = make_faces(n_faces, size=size, identities=8, seed=seed)
        torch.manual_seed(seed)
        model = MultiDecoder(classes=lamp_names(3), image_size=size)
        y = faces.factors["light_class"]
        batch_size = max(1, batch // 3)
        return model.fit(
            faces.images, y, steps=steps, batch_size=batch_size, seed=seed, **fit_kwargs
        )

    args = {"classes": 3, "steps": steps, "n_faces": n_faces, "batch": batch, "seed": seed}
    name = f"multidecoder-classes-{size}px"
    return zoo.cached(name, args, train, TRAINING_CODE, cache, "MultiDecoder")


SIDE_GAIN_DB = 4.0
"""A model *reaches* a side lamp (the first and the last class) when the whole interval of
its PSNR gain over the unchanged input, relit to that lamp, lies above 4 dB: the squared error
to the true relit face cut by 60% (10^-0.4 = 0.40), the bar issue 13 set for relighting faces
lit from anywhere to either side (``tests/test_model_quality.py`` holds the lamps'
multi-decoder to it). Only the side lamps are judged: they ask a relight to move the light
furthest, which is what idea 2 promises."""

WITHIN_MARGIN = READ_SHARE
"""Two latents hold *about as much* of the light within its class when their probes' R² differ
by less than 0.1 over the whole interval: a tenth of the variance of that light, the share
that makes a probe *read* (:data:`~sepviz.experiments.READ_SHARE`)."""

FADER_LAMPS = f"{FADER} trained on 3 lamps"
"""The name of a third model :func:`lamps_or_classes` may set beside the two multi-decoders:
the 3-lamp FaderNet of :func:`train_designs`, which has a slider and no decoder per lamp."""

REACHES, FALLS_SHORT, UNDECIDED = "reaches", "falls short", "not distinguishable"
"""What :meth:`LampsOrClasses.reach` says of a model at the side lamps."""

_REACH_WORDS = {
    REACHES: "reaches the side lamps",
    FALLS_SHORT: "falls short of a side lamp",
    UNDECIDED: f"is not distinguishable from the {SIDE_GAIN_DB:g} dB bar at a side lamp",
}
_BAR = f"the {SIDE_GAIN_DB:g} dB bar"
_HEADLINES = {
    (REACHES, FALLS_SHORT): "**Idea 2 works with lamps, not with light classes{runs}.**",
    (FALLS_SHORT, REACHES): "**Idea 2 works with light classes, not with lamps{runs}.**",
    (REACHES, REACHES): "**Idea 2 works both ways{runs}**: both multi-decoders relight to the "
    "side lamps.",
    (FALLS_SHORT, FALLS_SHORT): "**Idea 2 does not relight to the side lamps{runs}**, trained "
    "on lamps or on light classes.",
    (REACHES, UNDECIDED): "**Idea 2 works with lamps; with light classes it is not "
    f"distinguishable** from {_BAR}{{runs}}.",
    (UNDECIDED, REACHES): "**Idea 2 works with light classes; with lamps it is not "
    f"distinguishable** from {_BAR}{{runs}}.",
    (FALLS_SHORT, UNDECIDED): "**Idea 2 falls short with lamps; with light classes it is not "
    f"distinguishable** from {_BAR}{{runs}}.",
    (UNDECIDED, FALLS_SHORT): "**Idea 2 falls short with light classes; with lamps it is not "
    f"distinguishable** from {_BAR}{{runs}}.",
    (UNDECIDED, UNDECIDED): "**Not distinguishable**: neither multi-decoder's side gains can "
    f"be told from {_BAR}{{runs}}.",
}
"""Headlines of :class:`LampsOrClasses` by ``(reach of LAMPS, reach of CLASSES)``; ``{runs}``
takes :func:`~sepviz.experiments.runs_note` (" over 3 training runs", or nothing for one)."""

_FOLLOW_WORDS = {
    Order.BETTER: "**follows the input's light**",
    Order.EQUAL: "imposes its lamp, whatever the input's light",
    Order.WORSE: "moves the light against the input's",
    Order.NOT_DISTINGUISHABLE: "neither clearly follows the input's light nor imposes its "
    f"lamp (r's interval covers +{R_MARGIN:g} or -{R_MARGIN:g})",
}
"""What a model does to the light when it relights, by :func:`compare` of the correlation r
with :data:`~sepviz.experiments.R_MARGIN`."""

_WITHIN_WORDS = {
    Order.BETTER: "holds more of the light within its class than the lamps' one",
    Order.WORSE: "holds less of the light within its class than the lamps' one",
    Order.EQUAL: f"holds about as much of the light within its class as the lamps' one "
    f"(the difference lies within ±{WITHIN_MARGIN:g})",
    Order.NOT_DISTINGUISHABLE: "may hold more or less of the light within its class than the "
    f"lamps' one: the difference's interval covers +{WITHIN_MARGIN:g} or -{WITHIN_MARGIN:g}",
}
"""The latent trained on light classes against the lamps' one (:func:`compare` of the R²)."""


@dataclass(frozen=True)
class LampsOrClasses(OverRuns, Result):
    """Multi-decoders (and optionally more models) relight faces lit from anywhere (3 classes)
    to each class's lamp; ``models`` names them and must hold :data:`LAMPS` and
    :data:`CLASSES` (any order; others, e.g. :data:`FADER_LAMPS`, are reported beside).

    ``gain[i][k]``: PSNR gain over the unchanged input of model ``i`` relighting to class
    ``k``; ``within[i]``: held-out R² of a linear probe reading the azimuth *within its class*
    (azimuth minus the class's lamp) from the model's latent; ``follows[i]``: correlation, over
    faces relit to another class, between the input's azimuth and the measured light of the
    output (the truth, lit by the lamp, has 0), its interval a bootstrap over faces.

    ``per_run``: one result per training run when several were measured (empty for one):
    then every gain, ``within`` and ``follows`` is :func:`~sepviz.experiments.over_runs` of
    theirs (their ``runs`` field says how many).
    """

    models: tuple[str, ...]
    classes: tuple[str, ...]
    gain: tuple[tuple[Estimate, ...], ...]
    within: tuple[Estimate, ...]
    follows: tuple[Estimate, ...]
    per_run: tuple[LampsOrClasses, ...] = ()

    def __post_init__(self) -> None:
        missing = [m for m in (LAMPS, CLASSES) if m not in self.models]
        if missing:
            raise ValueError(f"models must name {LAMPS!r} and {CLASSES!r}; missing {missing}")
        sizes = {len(self.models), len(self.gain), len(self.within), len(self.follows)}
        if len(sizes) != 1 or any(len(g) != len(self.classes) for g in self.gain):
            raise ValueError("gain, within and follows need one entry per model, gain per class")

    @classmethod
    def from_runs(cls, runs: Sequence[LampsOrClasses]) -> LampsOrClasses:
        """One result over training runs: ``runs`` holds one single-run result per training
        run (2 or more), the same models measured on the same test faces."""
        if len(runs) < 2 or any(r.per_run for r in runs):
            raise ValueError(f"from_runs needs >= 2 single-run results, got {len(runs)}")
        first = runs[0]
        if any((r.models, r.classes) != (first.models, first.classes) for r in runs):
            raise ValueError(f"every run needs the models {list(first.models)} and classes")
        models, classes = range(len(first.models)), range(len(first.classes))
        return cls(
            models=first.models,
            classes=first.classes,
            gain=tuple(
                tuple(over_runs([r.gain[i][k] for r in runs]) for k in classes) for i in models
            ),
            within=tuple(over_runs([r.within[i] for r in runs]) for i in models),
            follows=tuple(over_runs([r.follows[i] for r in runs]) for i in models),
            per_run=tuple(runs),
        )

    def _of(self, name: str) -> int:
        return self.models.index(name)

    def reach(self, name: str) -> str:
        """Whether model ``name`` relights to both side lamps: :data:`REACHES` (both side gains
        above :data:`SIDE_GAIN_DB`), :data:`FALLS_SHORT` (one below it) or
        :data:`UNDECIDED` (an interval covers it, none below)."""
        sides = (self.gain[self._of(name)][0], self.gain[self._of(name)][-1])
        if all(g.above(SIDE_GAIN_DB) for g in sides):
            return REACHES
        if any(g.below(SIDE_GAIN_DB) for g in sides):
            return FALLS_SHORT
        return UNDECIDED

    def follow(self, name: str) -> Order:
        """:func:`compare` of model ``name``'s correlation with :data:`R_MARGIN`: BETTER, its
        output's light follows the input's; EQUAL, it imposes the lamp (r within ±0.1)."""
        return compare(self.follows[self._of(name)], R_MARGIN)

    @staticmethod
    def _label(name: str) -> str:
        return f"the multi-decoder {name}" if name in (LAMPS, CLASSES) else f"the {name}"

    def _headline(self) -> str:
        runs = runs_note(self.gain[self._of(LAMPS)][0])
        return _HEADLINES[self.reach(LAMPS), self.reach(CLASSES)].format(runs=runs)

    def _gains(self) -> str:
        per_model = "; ".join(
            f"{self._label(m)}: " + ", ".join(f"{c} {g}" for c, g in zip(self.classes, gain))
            for m, gain in zip(self.models, self.gain)
        )
        extra = " ".join(
            f"{self._label(m)[0].upper()}{self._label(m)[1:]} {_REACH_WORDS[self.reach(m)]}."
            for m in self.models
            if m not in (LAMPS, CLASSES)
        )
        return (
            f"Gain over the unchanged input ({per_model}); reaching a side lamp needs more than "
            f"{SIDE_GAIN_DB:g} dB over the whole interval." + (f" {extra}" if extra else "")
        )

    def _follows(self) -> str:
        each = "; ".join(
            f"{self._label(m)} {_FOLLOW_WORDS[self.follow(m)]} (r = {r})"
            for m, r in zip(self.models, self.follows)
        )
        text = (
            f"Relighting to another class, {each}. (r: the input's azimuth against the "
            "output's measured light, centred within each target class; a true relight has 0, "
            f"and r within ±{R_MARGIN:g} counts as none.)"
        )
        lamps_only = (self.reach(LAMPS), self.reach(CLASSES)) == (REACHES, FALLS_SHORT)
        if (
            lamps_only
            and self.follow(CLASSES) is Order.BETTER
            and self.follow(LAMPS) is Order.EQUAL
        ):
            text += (
                " Trained on light from anywhere in each class, the decoders follow the "
                "input's light instead of imposing their lamp."
            )
        return text

    def _within(self) -> str:
        readings = "; ".join(
            f"{self._label(m)} {w} ({reading(w, 0.0).value})"
            for m, w in zip(self.models, self.within)
        )
        difference = self.within[self._of(CLASSES)] - self.within[self._of(LAMPS)]
        order = compare(difference, WITHIN_MARGIN)
        text = (
            "A linear probe reads the azimuth within its class from the latent (held-out R², "
            f"reading needs more than {READ_SHARE:g}): {readings}. The latent trained on "
            f"light classes {_WITHIN_WORDS[order]} (difference {difference})"
        )
        lamps_only = (self.reach(LAMPS), self.reach(CLASSES)) == (REACHES, FALLS_SHORT)
        if order is Order.EQUAL and lamps_only:
            return f"{text}: what differs is what the decoders do with it."
        return f"{text}."

    @property
    def verdict(self) -> str:
        return " ".join((self._headline(), self._gains(), self._follows(), self._within()))

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        out: Headlines = {}
        for i, m in enumerate(self.models):
            for k, c in enumerate(self.classes):
                out[f"{m}: gain to {c}"] = (self.gain[i][k], tuple(r.gain[i][k] for r in runs))
            out[f"{m}: azimuth in class, R²"] = (self.within[i], tuple(r.within[i] for r in runs))
            out[f"{m}: output follows input, r"] = (
                self.follows[i],
                tuple(r.follows[i] for r in runs),
            )
        return out

    def table(self) -> str:
        rows = [
            (m, *g, w, f) for m, g, w, f in zip(self.models, self.gain, self.within, self.follows)
        ]
        runs = runs_note(self.gain[0][0])
        header = (
            f"model (numbers{runs})" if runs else "model",
            *(f"gain to {c}" for c in self.classes),
            "azimuth in class, R²",
            "output follows input, r",
        )
        return markdown_table(header, rows)


def lamps_or_classes(
    models: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    n_test: int = 400,
    seed: int = 0,
    test_seed: int | None = None,
) -> LampsOrClasses:
    """Relight ``n_test`` unseen faces lit from anywhere (new people) with each of
    ``{name: 3-class model}`` to every class but their own, against the face under the
    class's lamp; then measure why: the within-class azimuth in the latent, and whether the
    output's light follows the input's. ``models`` must name :data:`LAMPS` and
    :data:`CLASSES` (the two multi-decoders); more (e.g. :data:`FADER_LAMPS`) may follow.

    ``models`` may be a sequence of such mappings, one per training run (seed): then every
    number is the mean over the runs (:func:`~sepviz.experiments.over_runs`) and ``per_run``
    holds each run's result, all measured on the same test faces. ``seed``: the probes' folds
    and the bootstraps, and the test faces when ``test_seed`` is None (then ``seed + 1``);
    ``test_seed`` must differ from every training run's seed (the same seed draws the same
    people)."""
    from sepviz.data.real import lighting_pseudo_label
    from sepviz.data.synthetic import LIGHT_CLASSES, class_azimuths, make_faces
    from sepviz.experiments.measures import correlation
    from sepviz.probes import extract_latents, probe

    test_seed = seed + 1 if test_seed is None else test_seed
    if not isinstance(models, Mapping):
        runs = list(models)
        if not runs:
            raise ValueError("models is an empty sequence: give {name: model} or one per run")
        results = [lamps_or_classes(m, n_test, seed, test_seed) for m in runs]
        return results[0] if len(results) == 1 else LampsOrClasses.from_runs(results)
    missing = [m for m in (LAMPS, CLASSES) if m not in models]
    if missing:
        raise ValueError(f"models must name {LAMPS!r} and {CLASSES!r}; missing {missing}")
    size = next(iter(models.values())).image_size
    test = make_faces(n_test, size=size, identities=8, seed=test_seed)
    lamps = class_azimuths(3)
    azimuth, own = test.factors["azimuth"], test.factors["light_class"]
    within_class = (azimuth - lamps[own]).numpy()
    relit_to = own[:, None] != torch.arange(3)  # (N, 3): each face goes to the 2 other classes
    gain, within, follows = [], [], []
    for model in models.values():
        relight = relight_by(model)
        quality = relight_quality(relight, test, lamps.tolist(), LIGHT_CLASSES, seed)
        gain.append(tuple(quality.gain))
        z = extract_latents(model, test.images)
        within.append(from_folds(probe(z, within_class, seed=seed).fold_scores, ""))
        # centred within each target class: the lamp's offset goes
        inputs = torch.zeros(len(test), 3, dtype=torch.float64)
        outputs = torch.zeros_like(inputs)
        for k in range(3):
            other = relit_to[:, k]
            light = lighting_pseudo_label(relight(test.images[other], k))[0].double()
            inputs[other, k] = azimuth[other].double() - azimuth[other].double().mean()
            outputs[other, k] = light - light.mean()
        rows = (t[relit_to].view(len(test), 2).numpy() for t in (inputs, outputs))
        follows.append(correlation(*rows, seed=seed))
    names = tuple(LIGHT_CLASSES)
    return LampsOrClasses(tuple(models), names, tuple(gain), tuple(within), tuple(follows))
