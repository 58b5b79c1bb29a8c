"""Chapter 6: hidden or removed? Methods that take the light out of a FaderNet's latent,
judged by a ladder of readers, weakest to strongest.

An adversary or an eraser that leaves a *weak* reader at chance has hidden the light from that
reader; it has removed it only if the *strongest* reader is at chance too. :func:`read_ladder`
fits every reader of :data:`READERS` on one split of faces and scores it on another, with a
bootstrap interval over the scored faces:

- ``linear``: logistic regression on standardised codes (what chapter 5's plain probe is);
- ``whitened linear``: the same on whitened codes (every direction at unit variance, so a
  signal in a direction of tiny variance counts as much as any other);
- ``MLP``: a plain MLP, one hidden layer of 128 units, trained to convergence on
  standardised codes (chapter 5's MLP probe, :func:`sepviz.probes.probe`);
- ``post-hoc adversary``: a fresh reader of the FaderNet discriminator's shape (whitened
  codes, two hidden layers of 256 units) trained to convergence on frozen codes, with no
  early stopping.

Every network reports the iterations it ran (:attr:`Ladder.iterations`): one that stops at
its limit has not converged, and the verdict says so. Words are the package's
(:func:`~sepviz.experiments.reading`): a reader *reads* the light when its whole interval
lies above :func:`~sepviz.experiments.read_bar`; the light is *removed* when every rung is at
or below chance; it is *hidden* from the rungs below the lowest one that reads it, where
those are blind to it (at or below chance).

:func:`methods` trains (through the zoo) the methods the chapter compares: no adversary, the
FaderNet adversary at each lambda, LEACE after training (:meth:`FaderNet.with_eraser`), LEACE
inside training (:class:`~sepviz.models.fadernet.ErasedFaderNet`) and an oracle encoder that
only ever sees the face under a centre light. :func:`compare` puts every method on the ladder
(the training discriminator joins it where there is one) and measures what each costs:
reconstruction, relighting against the renderer's truth, the slider's direction, training
time. Given the
methods of several training runs (seeds), each scored on new faces of its own people, its
numbers hold every run (:meth:`Comparison.over_runs`, :func:`~sepviz.experiments.over_runs`).
:func:`discriminator_guesses` asks why the training discriminator can score below chance.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
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
    Reading,
    Result,
    bootstrap_mean,
    combine_runs,
    markdown_table,
    read_bar,
    reading,
    removed,
    runs_note,
)
from sepviz.experiments import compare as order_of  # `compare` here is the chapter's
from sepviz.models.fadernet import FaderNet

READERS = ("linear", "whitened linear", "MLP", "post-hoc adversary")
"""The rungs of the ladder, weakest to strongest: the order in which "lower" and "higher",
"weakest" and "strongest" are meant (not the order of their scores)."""
DISCRIMINATOR = "training discriminator"  # the adversary's own P, where a method has one:
# the lowest rung (it only ever learned from codes the encoder was moving away from it)
ADVERSARY_HIDDEN = (256, 256)  # the post-hoc adversary: FaderNet's discriminator's shape
ADVERSARY_MAX_ITER = 400
"""Epoch limit of the post-hoc adversary, far above the 30-50 epochs it needs to converge on
750 codes of 64 dimensions (measured); one that reaches it is reported, not hidden."""


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
        net = MLPClassifier(
            ADVERSARY_HIDDEN, alpha=1e-4, max_iter=ADVERSARY_MAX_ITER, random_state=seed
        )
        return make_pipeline(PCA(whiten=True), net)
    raise ValueError(f"reader must be one of {READERS}, got {name!r}")


def _bar(chance: float) -> str:
    """``"chance 36%; reading needs more than 42%"``: the two numbers every verdict is read
    against."""
    return f"chance {chance:.0%}; reading needs more than {read_bar(chance):.0%}"


def _verb(names: Sequence[str], one: str, many: str) -> str:
    return one if len(names) == 1 else many


WORDS = {
    Reading.READS: "reads",
    Reading.NOT_DISTINGUISHABLE: "not distinguishable from the bar",
    Reading.AT_CHANCE: "at chance",
    Reading.BELOW_CHANCE: "below chance",
}
"""A reading in the words of a table cell or a verdict's list."""


@dataclass(frozen=True)
class Ladder(Result):
    """Held-out accuracy of every reader of one code, with the chance level (majority class).

    ``readers`` are rungs, weakest first (:data:`READERS`, the training discriminator below
    them where there is one); ``iterations`` and ``max_iter`` hold, for each reader, the
    iterations its fit ran and its limit (``None`` for a reader fitted in closed form or not
    fitted here: the training discriminator).
    """

    method: str
    readers: tuple[str, ...]
    scores: tuple[Estimate, ...]
    chance: float
    iterations: tuple[int | None, ...] = ()
    max_iter: tuple[int | None, ...] = ()

    @classmethod
    def over_runs(cls, per_run: Sequence[Ladder]) -> Ladder:
        """One ladder over training runs (2 or more ladders of the same readers), reader by
        reader: each score by :func:`~sepviz.experiments.over_runs`, chance by its mean, and
        the iterations the longest run of each reader ran (a reader that reached its limit in
        any run has not converged)."""
        if len(per_run) < 2:
            raise ValueError(f"per_run needs at least 2 training runs, got {len(per_run)}")
        longest = tuple(
            max((n for n in column if n is not None), default=None)
            for column in zip(*(ladder.iterations for ladder in per_run))
        )
        return cls(**combine_runs([replace(ladder, iterations=longest) for ladder in per_run]))

    @property
    def runs(self) -> int:
        """How many training runs the scores hold."""
        return self.scores[0].runs if self.scores else 1

    def reading(self, reader: str) -> Reading:
        """What ``reader``'s interval says against chance (:func:`~sepviz.experiments.reading`)."""
        return reading(self.scores[self.readers.index(reader)], self.chance)

    @property
    def readings(self) -> tuple[Reading, ...]:
        return tuple(self.reading(r) for r in self.readers)

    def reads(self, reader: str) -> bool:
        """The whole interval of ``reader`` lies above :func:`~sepviz.experiments.read_bar`."""
        return self.reading(reader).reads

    def converged(self, reader: str) -> bool:
        """Whether ``reader``'s fit stopped before its iteration limit (or has none)."""
        i = self.readers.index(reader)
        if i >= len(self.iterations) or self.iterations[i] is None or self.max_iter[i] is None:
            return True
        return self.iterations[i] < self.max_iter[i]  # type: ignore[operator]

    def hidden_from(self) -> tuple[str, ...]:
        """The rungs blind to the light (at or below chance) below the lowest rung that reads
        it: what "hidden" means (weaker readers blind, a stronger one reads). Empty when no
        rung reads, or the weakest rung does."""
        readings = self.readings
        if not any(r.reads for r in readings):
            return ()
        low = min(i for i, r in enumerate(readings) if r.reads)
        return tuple(n for n, r in zip(self.readers[:low], readings[:low]) if r.blind)

    def strongest_reading(self) -> str | None:
        """The highest rung that reads the light, or ``None``."""
        names = [n for n, r in zip(self.readers, self.readings) if r.reads]
        return names[-1] if names else None

    def with_lowest(self, reader: str, score: Estimate) -> Ladder:
        """This ladder with ``reader`` (fitted elsewhere: no iterations) as its lowest rung."""
        iterations = self.iterations or (None,) * len(self.readers)
        limits = self.max_iter or (None,) * len(self.readers)
        return replace(
            self,
            readers=(reader, *self.readers),
            scores=(score, *self.scores),
            iterations=(None, *iterations),
            max_iter=(None, *limits),
        )

    def score_of(self, reader: str) -> Estimate:
        return self.scores[self.readers.index(reader)]

    def _named(self, kind: Reading) -> list[str]:
        return [n for n, r in zip(self.readers, self.readings) if r is kind]

    def notes(self, said: Sequence[str] = ()) -> list[str]:
        """The clauses every verdict on this ladder adds: rungs not distinguishable from the
        bar (but those in ``said``, named already), below chance, higher than a reading rung
        yet blind, not converged."""
        readings, notes = self.readings, []
        unsure = [n for n in self._named(Reading.NOT_DISTINGUISHABLE) if n not in said]
        if unsure:
            notes.append(
                f"{_and(unsure)} {_verb(unsure, 'is', 'are')} not distinguishable from the bar."
            )
        for name in self._named(Reading.BELOW_CHANCE):
            notes.append(
                f"{name} scores below chance ({self.score_of(name)}): worse than always "
                "guessing the most common class."
            )
        reading_at = [i for i, r in enumerate(readings) if r.reads]
        if reading_at:
            low = self.readers[reading_at[0]]
            above = [
                n
                for i, (n, r) in enumerate(zip(self.readers, readings))
                if i > reading_at[0] and r.blind
            ]
            if above:
                notes.append(
                    f"{_and(above)}, higher on the ladder, {_verb(above, 'misses', 'miss')} what "
                    f"{low} reads: a reader's score is a lower bound on what the code holds."
                )
        for name in self.readers:
            if not self.converged(name):
                i = self.readers.index(name)
                notes.append(
                    f"{name} stopped at its limit of {self.max_iter[i]} iterations without "
                    "converging."
                )
        return notes

    @property
    def verdict(self) -> str:
        readings = self.readings
        scores = "; ".join(
            f"{n} {s} ({WORDS[r]})" for n, s, r in zip(self.readers, self.scores, readings)
        )
        facts = (
            f"Held-out accuracy of each reader{runs_note(self.scores[0])}, weakest rung first: "
            f"{scores} ({_bar(self.chance)})."
        )
        reading_names = [n for n, r in zip(self.readers, readings) if r.reads]
        hidden = self.hidden_from()
        said: list[str] = []  # rungs the head names as not distinguishable
        if removed(readings):
            top = self.readers[-1]
            head = (
                f"**Removed for every reader** ({self.method}): every rung is at or below "
                f"chance, up to the strongest, {top} ({self.score_of(top)})."
            )
        elif len(reading_names) == len(self.readers):
            head = f"**Not removed, not hidden** ({self.method}): every reader reads the light."
        elif hidden:
            at = [n for n in hidden if self.reading(n) is Reading.AT_CHANCE]
            below = [n for n in hidden if self.reading(n) is Reading.BELOW_CHANCE]
            blind = "; ".join(
                part
                for part in (
                    f"{_and(at)} at chance" if at else "",
                    f"{_and(below)} below chance" if below else "",
                )
                if part
            )
            head = (
                f"**Hidden, not removed** ({self.method}): {blind}, but {_and(reading_names)} "
                f"still {_verb(reading_names, 'reads', 'read')} the light."
            )
        elif reading_names:
            head = (
                f"**Not removed** ({self.method}): {_and(reading_names)} "
                f"{_verb(reading_names, 'reads', 'read')} the light."
            )
            low = self.readers.index(reading_names[0])
            below = [
                n
                for n, r in zip(self.readers[:low], readings[:low])
                if r is Reading.NOT_DISTINGUISHABLE
            ]
            said = below
            if below:
                head += (
                    f" Whether it is hidden from {_and(below)} is not distinguishable: "
                    f"{_verb(below, 'its interval covers', 'their intervals cover')} the bar."
                )
        else:
            head = f"**Not shown removed** ({self.method}): no reader reads the light."
        notes = " ".join(n[0].upper() + n[1:] for n in self.notes(said))
        return " ".join(part for part in (head, notes, facts) if part)

    def table(self) -> str:
        rows = []
        for i, (name, score, r) in enumerate(zip(self.readers, self.scores, self.readings)):
            rows.append((name, score, WORDS[r], _iterations_cell(self, i)))
        rows.append(("chance", f"{self.chance:.0%}", f"bar {read_bar(self.chance):.0%}", ""))
        header = ("reader", f"held-out accuracy ({self.method})", "reading", "iterations")
        return markdown_table(header, rows)


def _iterations_cell(ladder: Ladder, i: int) -> str:
    """``"113 of 2000"`` for reader ``i`` (``"(not converged)"`` at the limit), or ``"—"``."""
    n = ladder.iterations[i] if i < len(ladder.iterations) else None
    limit = ladder.max_iter[i] if i < len(ladder.max_iter) else None
    if n is None or limit is None:
        return "—"
    return f"{n} of {limit}" + ("" if n < limit else " (not converged)")


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
    ``z_test`` / ``y_test`` (other faces); ``method`` names the code in the verdict.

    Nothing is silenced: a network that stops at its iteration limit shows scikit-learn's
    ``ConvergenceWarning``, and the ladder records its iterations (:meth:`Ladder.converged`).
    """
    from sepviz.probes import head_iterations
    from sepviz.utils import check_codes

    x_fit, x_test = check_codes(z_fit), check_codes(z_test)
    labels_fit, labels_test = np.asarray(y_fit), np.asarray(y_test)
    if len(labels_fit) != len(x_fit) or len(labels_test) != len(x_test):
        raise ValueError("y_fit and y_test must hold one class per code of z_fit and z_test")
    scores, iterations, limits = [], [], []
    for name in readers:
        model = _reader(name, seed).fit(x_fit, labels_fit)
        right = model.predict(x_test) == labels_test
        scores.append(bootstrap_mean(right.astype(np.float64), "%", seed))
        counted = head_iterations(model)
        iterations.append(None if counted is None else counted[0])
        limits.append(None if counted is None else counted[1])
    counts = np.bincount(labels_test)
    return Ladder(
        method,
        tuple(readers),
        tuple(scores),
        float(counts.max() / counts.sum()),
        tuple(iterations),
        tuple(limits),
    )


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
            chapter 5's, so its FaderNets load from the cache.
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

    # these two first: they train while chapter 5, executed beside this chapter, trains the rest
    inside = fader(model="ErasedFaderNet", lambda_max=0.0)
    oracle = fader(lambda_max=0.0, fit={"source": "centre light"})
    adversaries = {float(lam): fader(lambda_max=float(lam)) for lam in sorted(lambdas)}
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


def _discriminator_guesses(model: FaderNet, z: torch.Tensor) -> torch.Tensor | None:
    """The y (N,) at the centre of the bin the model's ``latent_discriminator`` finds most
    likely for each code of ``z`` (N, latent_dim); ``None`` when the model was trained
    without an adversary (its discriminator never learned) or y is not continuous."""
    if model.lambda_max == 0 or model.attribute != "continuous":
        return None
    logits = model.batched(model.latent_discriminator, z)
    bins = logits.view(len(z), model.n_groups, model.n_classes)[:, 0].argmax(1)
    return -1 + (bins.double() + 0.5) * 2 / model.n_classes  # y at the middle of the bin


def discriminator_reads(
    model: FaderNet, z: torch.Tensor, light: torch.Tensor, seed: int = 0
) -> Estimate | None:
    """Accuracy of the model's own ``latent_discriminator`` at the light class of codes ``z``
    (N, latent_dim): its most likely bin of y, mapped to the class of the bin's centre. ``None``
    when the model was trained without an adversary (its discriminator never learned)."""
    from sepviz.data.synthetic import light_class

    guessed = _discriminator_guesses(model, z)
    if guessed is None:
        return None
    right = light_class(60 * guessed) == torch.as_tensor(light)
    return bootstrap_mean(right.double(), "%", seed)


@dataclass(frozen=True)
class DiscriminatorGuesses(Result):
    """Where the training discriminator's guesses land, against the truth, on held-out codes.

    ``confusion[t][g]``: faces of light class ``t`` it guessed as class ``g`` (classes
    ``classes``, left to right). ``blind``: what a guesser blind to the light scores with
    the same share of guesses per class (the sum over classes of true share x guessed share);
    ``gap``: accuracy minus ``blind``, face by face (a paired bootstrap). ``correlation``:
    Pearson's r of the y it guesses (its bin's centre) with the true y. ``mirrored``: of the
    faces lit from one side, the share it guesses lit from the other; ``mirrored_blind``: that
    share for the blind guesser.
    """

    method: str
    classes: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    accuracy: Estimate
    chance: float
    blind: Estimate
    gap: Estimate
    correlation: Estimate | None  # None: the guesses (or the truths) never vary
    mirrored: Estimate
    mirrored_blind: float

    @property
    def sign(self) -> str:
        """``"anti-correlated"``, ``"correlated"``, ``"uncorrelated"`` (within
        ±:data:`~sepviz.experiments.R_MARGIN`), ``"not distinguishable"``, or ``"undefined"``
        (one y guessed for every face)."""
        r = self.correlation
        if r is None:
            return "undefined"
        if r.high < -R_MARGIN:
            return "anti-correlated"
        if r.low > R_MARGIN:
            return "correlated"
        if -R_MARGIN <= r.low and r.high <= R_MARGIN:
            return "uncorrelated"
        return "not distinguishable"

    @property
    def verdict(self) -> str:
        scored = reading(self.accuracy, self.chance)
        versus_blind = order_of(self.gap, 0.0)  # 0: guesses independent of the light
        sign = self.sign
        if versus_blind is Order.WORSE and sign == "anti-correlated":
            head = (
                f"**The training discriminator reads the light backwards** ({self.method}): "
                "its guesses are anti-correlated with the truth."
            )
        elif versus_blind is Order.WORSE:
            head = (
                f"**The training discriminator guesses worse than a guesser blind to the "
                f"light** ({self.method})."
            )
        elif versus_blind is Order.BETTER:
            head = (
                f"**The training discriminator guesses better than a guesser blind to the "
                f"light** ({self.method})."
            )
        else:
            head = (
                f"**The training discriminator guesses like a guesser blind to the light** "
                f"({self.method}): its score is the mix of its guesses, not a reading."
            )
        accuracy = (
            f"It scores {self.accuracy} ({WORDS[scored]}; {_bar(self.chance)}); a guesser "
            f"blind to the light with the same share of guesses per class scores "
            f"{self.blind}: the difference, {self.gap}, is {_order_words(versus_blind)}."
        )
        correlation = (
            f"The y it guesses and the true y: r = {self.correlation} ({sign}; "
            f"{R_MARGIN:g} is the smallest |r| counted)."
            if self.correlation is not None
            else "It guesses one y for every face: no correlation to measure."
        )
        mirrored = (
            f"Of the faces lit from the {self.classes[0]} or the {self.classes[-1]}, it puts "
            f"{self.mirrored} on the other side, where the blind guesser puts "
            f"{self.mirrored_blind:.0%}."
        )
        return f"{head} {accuracy} {correlation} {mirrored}"

    def table(self) -> str:
        """The confusion matrix: true class (rows) x guessed class (columns), with shares."""
        rows = []
        for name, row in zip(self.classes, self.confusion):
            total = max(sum(row), 1)
            rows.append((name, *(f"{n} ({n / total:.0%})" for n in row), sum(row)))
        totals = [sum(col) for col in zip(*self.confusion)]
        rows.append(("all faces", *totals, sum(totals)))
        header = ("true light", *(f"guessed {c}" for c in self.classes), "faces")
        return markdown_table(header, rows)


def _order_words(order: Order) -> str:
    """A difference's :class:`~sepviz.experiments.Order` against zero, in words."""
    return {
        Order.BETTER: "above zero",
        Order.WORSE: "below zero",
        Order.EQUAL: "zero",
        Order.NOT_DISTINGUISHABLE: "not distinguishable from zero",
    }[order]


def guess_check(
    guessed_y: torch.Tensor, true_y: torch.Tensor, method: str, seed: int = 0
) -> DiscriminatorGuesses:
    """:class:`DiscriminatorGuesses` from the y a discriminator guessed (N,) and the true y
    (N,), both in [-1, 1] (light class: the azimuth ``60 y`` in three equal bins)."""
    from sepviz.data.synthetic import LIGHT_CLASSES, light_class
    from sepviz.experiments import BOOTSTRAP_SAMPLES, CONFIDENCE
    from sepviz.experiments.measures import correlation

    guessed = torch.as_tensor(guessed_y).double().flatten().numpy()
    truths = torch.as_tensor(true_y).double().flatten().numpy()
    guess = light_class(60 * torch.from_numpy(guessed)).numpy()
    truth = light_class(60 * torch.from_numpy(truths)).numpy()
    if guess.shape != truth.shape or guess.size < 3:
        raise ValueError(
            f"guessed_y and true_y must be (N,) alike, N >= 3: {guess.shape}, {truth.shape}"
        )
    k = len(LIGHT_CLASSES)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (truth, guess), 1)
    right = (guess == truth).astype(np.float64)

    def blind_of(t: np.ndarray, g: np.ndarray) -> np.ndarray:
        """(B,) accuracy of a blind guesser for each row of resampled classes (B, N)."""
        shares = [(t == c).mean(1) * (g == c).mean(1) for c in range(k)]
        return np.sum(shares, axis=0)

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, truth.size, size=(BOOTSTRAP_SAMPLES, truth.size))
    tail = 100 * (1 - CONFIDENCE) / 2
    blind_all = blind_of(truth[idx], guess[idx])
    gaps = right[idx].mean(1) - blind_all
    blind_value = float(blind_of(truth[None], guess[None])[0])

    def estimate(value: float, samples: np.ndarray) -> Estimate:
        low, high = np.percentile(samples, [tail, 100 - tail])
        return Estimate(value, float(low), float(high), "%")

    side = (truth == 0) | (truth == k - 1)
    mirror = np.where(truth == 0, k - 1, 0)  # the other side's class
    flipped = (guess == mirror)[side].astype(np.float64)
    share = np.array([(guess == c).mean() for c in range(k)])
    n_left, n_right = (truth == 0).sum(), (truth == k - 1).sum()
    mirrored_blind = float((n_left * share[k - 1] + n_right * share[0]) / max(side.sum(), 1))
    return DiscriminatorGuesses(
        method,
        tuple(LIGHT_CLASSES),
        tuple(tuple(int(n) for n in row) for row in confusion),
        bootstrap_mean(right, "%", seed),
        float(np.bincount(truth, minlength=k).max() / truth.size),
        estimate(blind_value, blind_all),
        estimate(float(right.mean()) - blind_value, gaps),
        correlation(guessed, truths, seed) if guessed.std() > 0 and truths.std() > 0 else None,
        bootstrap_mean(flipped, "%", seed) if flipped.size else Estimate(0.0, 0.0, 0.0, "%"),
        mirrored_blind,
    )


def discriminator_guesses(
    method: Method, test: FaceSet, seed: int = 0
) -> DiscriminatorGuesses | None:
    """Where ``method``'s training discriminator's guesses land on the second half of
    ``test`` (the faces :func:`compare` scores it on); ``None`` without an adversary."""
    from sepviz.probes import extract_latents
    from sepviz.recipes import azimuth_y

    half = len(test) // 2
    z = extract_latents(method.model, method.inputs(test)[half:])
    guessed = _discriminator_guesses(method.model, z)
    if guessed is None:
        return None
    return guess_check(guessed, azimuth_y(test)[half:, 0], method.name, seed)


# -- the comparison --------------------------------------------------------------------------
def _relit_words(order: Order) -> str:
    """How the two best relighters compare, within :data:`DB_MARGIN` (never BETTER or
    WORSE here: the verdict names a winner then)."""
    return {
        Order.EQUAL: f"equal within {DB_MARGIN:g} dB",
        Order.NOT_DISTINGUISHABLE: "not distinguishable from each other",
    }.get(order, "")


@dataclass(frozen=True)
class Comparison(OverRuns, Result):
    """Every method on the ladder, and what it costs.

    ``relit``: PSNR of the face relit to y = -1, 0, +1 against the renderer's truth, averaged
    per face; ``unchanged``: the same for the input left as it is; ``monotone``: share of faces
    whose measured light rises with y at every step of the slider.

    With several training runs (``per_run``: one single-run comparison each), every Estimate
    and every ladder holds all of them (:meth:`over_runs`); ``seconds`` stay the first run's.
    """

    methods: tuple[str, ...]
    ladders: tuple[Ladder, ...]
    pixels: Ladder  # the baseline: the same readers on the faces' pixels (64 PCA components)
    reconstruction: tuple[Estimate, ...]
    relit: tuple[Estimate, ...]
    unchanged: Estimate
    monotone: tuple[Estimate, ...]
    seconds: tuple[float, ...]
    per_run: tuple[Comparison, ...] = ()

    @classmethod
    def over_runs(cls, per_run: Sequence[Comparison]) -> Comparison:
        """One comparison over training runs (2 or more single-run comparisons of the same
        methods): ladders reader by reader (:meth:`Ladder.over_runs`), every other Estimate by
        :func:`~sepviz.experiments.over_runs`; training times stay the first run's (the runs
        after it may have trained on a busier machine)."""
        if len(per_run) < 2:
            raise ValueError(f"per_run needs at least 2 training runs, got {len(per_run)}")
        first = per_run[0]
        fields = combine_runs(
            [replace(c, ladders=(), seconds=first.seconds, per_run=()) for c in per_run]
        )
        ladders = tuple(Ladder.over_runs(column) for column in zip(*(c.ladders for c in per_run)))
        return cls(**{**fields, "ladders": ladders, "per_run": tuple(per_run)})

    @property
    def runs(self) -> int:
        return max(1, len(self.per_run))

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
        """The ``k`` methods whose relit faces score highest against the truth (by value: the
        verdict says whether the first is distinguishable from the next)."""
        order = sorted(range(len(self.methods)), key=lambda i: -self.relit[i].value)
        return tuple(self.methods[i] for i in order[:k])

    def status(self, i: int) -> str:
        """What method ``i`` does to the light, in a phrase computed from its ladder: rungs
        named by their place on the ladder (weakest to strongest), never by their score."""
        ladder = self.ladders[i]
        readings = ladder.readings
        reading_names = [n for n, r in zip(ladder.readers, readings) if r.reads]
        unsure = [n for n, r in zip(ladder.readers, readings) if r is Reading.NOT_DISTINGUISHABLE]
        hidden = ladder.hidden_from()
        strongest = ladder.strongest_reading()
        if removed(readings):
            top = ladder.readers[-1]
            phrase = (
                f"**removes it** for every reader (the strongest rung, {top}: "
                f"{ladder.score_of(top)})"
            )
        elif len(reading_names) == len(ladder.readers):
            low = ladder.readers[0]
            phrase = (
                f"**keeps it**: every reader reads it (the weakest rung, {low}: "
                f"{ladder.score_of(low)})"
            )
        elif hidden:
            phrase = (
                f"**hides it** from the {_and(hidden)} reader{'s' if len(hidden) > 1 else ''}, "
                f"but the {_and(reading_names)} still {_verb(reading_names, 'reads', 'read')} "
                f"it (the strongest rung that reads, {strongest}: "
                f"{ladder.score_of(str(strongest))})"
            )
        elif reading_names:
            phrase = (
                f"**keeps it** for the {_and(reading_names)} "
                f"reader{'s' if len(reading_names) > 1 else ''} (the strongest rung that "
                f"reads, {strongest}: {ladder.score_of(str(strongest))})"
            )
        else:
            phrase = "**is not shown to remove it**: no reader reads it"
        extras = []
        if unsure:
            extras.append(f"the {_and(unsure)} not distinguishable from the bar")
        below = [n for n, r in zip(ladder.readers, readings) if r is Reading.BELOW_CHANCE]
        extras += [f"the {n} below chance ({ladder.score_of(n)})" for n in below]
        if reading_names:
            low = ladder.readers.index(reading_names[0])
            above = [
                n for i, (n, r) in enumerate(zip(ladder.readers, readings)) if i > low and r.blind
            ]
            if above:
                extras.append(
                    f"the {_and(above)} blind although the lower {reading_names[0]} reads it"
                )
        late = [n for n in ladder.readers if not ladder.converged(n)]
        if late:
            extras.append(f"the {_and(late)} not converged")
        return phrase + (f"; {'; '.join(extras)}" if extras else "")

    @property
    def verdict(self) -> str:
        lines = [f"- **{m}** {self.status(i)}." for i, m in enumerate(self.methods)]
        first, *rest = sorted(range(len(self.methods)), key=lambda i: -self.relit[i].value)
        best = f"**{self.methods[first]}** ({self.relit[first]})"
        relit = f"Highest relit PSNR against the truth: {best}"
        if rest:
            second = rest[0]
            runner = f"**{self.methods[second]}** ({self.relit[second]})"
            versus = order_of(self.relit[first] - self.relit[second], DB_MARGIN)
            relit = (
                f"Closest to the true relit face: {best}, ahead of {runner} by more than "
                f"{DB_MARGIN:g} dB"
                if versus is Order.BETTER
                else f"Closest to the true relit face: {best} and {runner}, {_relit_words(versus)}"
            )
        below = [
            method
            for method, ladder in zip(self.methods, self.ladders)
            if DISCRIMINATOR in ladder.readers
            and ladder.reading(DISCRIMINATOR) is Reading.BELOW_CHANCE
        ]
        note = ""
        if below:
            note = (
                f"\n\nThe training discriminator of {_and(below)} scores *below* chance: it "
                "does worse than always guessing the most common class."
            )
        return (
            f"Scores are held-out accuracies at the light class{runs_note(self.relit[0])}. "
            f"Chance is {self.chance:.0%}; a reader *reads* the light when its whole interval "
            f"lies above {read_bar(self.chance):.0%} (chance plus {READ_SHARE:.0%} of the way "
            "to 100%); rungs are named weakest to strongest, as the table's columns run.\n\n"
            + "\n".join(lines)
            + f"\n\n{relit}; the input left unchanged scores {self.unchanged}."
            + note
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

    def iterations(self) -> str:
        """Iterations each fitted reader ran, of its limit (methods x readers): a reader that
        reached its limit did not converge, and its score is a lower bound."""
        names = [r for r in READERS if any(r in ladder.readers for ladder in self.ladders)]
        rows = []
        for method, ladder in zip(self.methods, self.ladders):
            cells = []
            for reader in names:
                if reader not in ladder.readers:
                    cells.append("—")
                    continue
                cells.append(_iterations_cell(ladder, ladder.readers.index(reader)))
            rows.append((method, *cells))
        return markdown_table(("method", *names), rows)

    def costs(self) -> str:
        """What each method costs: reconstruction, relighting, the slider, training time."""
        rows = [
            (m, rec, rel, mono, f"{sec:.0f} s")
            for m, rec, rel, mono, sec in zip(
                self.methods, self.reconstruction, self.relit, self.monotone, self.seconds
            )
        ]
        rows.append(("input unchanged", "—", self.unchanged, "—", "—"))
        training = "training" if self.runs == 1 else "training (first run)"
        header = ("method", "reconstruction", "relit vs truth", "slider monotone", training)
        return markdown_table(header, rows)

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        named: Headlines = {}
        for i, method in enumerate(self.methods):
            for reader in self.ladders[i].readers:
                named[f"{method}: {reader}"] = (
                    self.ladders[i].score_of(reader),
                    tuple(r.ladders[i].score_of(reader) for r in runs),
                )
            for name, field in (
                ("reconstruction", "reconstruction"),
                ("relit vs truth", "relit"),
                ("slider monotone", "monotone"),
            ):
                named[f"{method}: {name}"] = (
                    getattr(self, field)[i],
                    tuple(getattr(r, field)[i] for r in runs),
                )
        return named

    def plot(self) -> Any:
        """Grouped bars: one group per reader, one bar per method, 95% intervals, chance."""
        import matplotlib.pyplot as plt

        readers = self.readers
        fig, ax = plt.subplots(figsize=(9, 3.8))
        # the raw pixels last, in grey: what a reader finds in the face itself
        groups = [*zip(self.methods, self.ladders), ("raw pixels", self.pixels)]
        width = 0.8 / len(groups)
        for i, (method, ladder) in enumerate(groups):
            pixels = ladder is self.pixels
            score = dict(zip(ladder.readers, ladder.scores))
            xs = [
                j + (i - (len(groups) - 1) / 2) * width for j, r in enumerate(readers) if r in score
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
                **({"color": "lightgrey", "hatch": "//", "edgecolor": "grey"} if pixels else {}),
            )
        ax.axhline(100 * self.chance, color="black", ls="--", lw=1, label="chance")
        bar = read_bar(self.chance)
        ax.axhline(100 * bar, color="grey", ls=":", lw=1, label=f"reads above {bar:.0%}")
        ax.set_xticks(range(len(readers)), [r.replace(" ", "\n", 1) for r in readers])
        ax.set_xlabel("reader (weakest to strongest)")
        ax.set_ylabel("light class read from z (%)")
        ax.set_ylim(0, 100)
        ax.set_title("Which readers still read the light, for each method")
        ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
        fig.tight_layout()
        return fig


def compare(
    methods: Sequence[Method] | Sequence[Sequence[Method]],
    test: FaceSet | Sequence[FaceSet],
    seed: int = 0,
    slider_faces: int = 300,
) -> Comparison:
    """Put every method on the ladder and measure its costs on ``test`` faces.

    Args:
        methods: from :func:`methods`; or one such list per training run (seed), the same
            methods in the same order in each.
        test: faces no method was trained on, with every factor of the renderer (the readers
            fit on the first half of them and are scored on the second; the training
            discriminator is scored on the second half); or one FaceSet per training run (new
            faces of that run's training people: a seed draws the people a run trains on).
        seed: readers, bootstraps.
        slider_faces: faces of ``test`` used for the slider checks (relight, direction).

    Returns:
        a :class:`Comparison`; with several runs its Estimates and ladders hold them all
        (:meth:`Comparison.over_runs`) and ``per_run`` holds each run's own comparison.
    """
    runs = [list(methods)] if isinstance(methods[0], Method) else [list(m) for m in methods]
    if isinstance(test, FaceSet):
        tests = [test] * len(runs)
    elif len(test) == len(runs):
        tests = list(test)
    else:
        raise ValueError(
            f"test must hold one FaceSet per training run ({len(runs)}), got {len(test)}"
        )
    per_run = [_compare_run(r, t, seed, slider_faces) for r, t in zip(runs, tests)]
    return per_run[0] if len(per_run) == 1 else Comparison.over_runs(per_run)


def _compare_run(
    methods: Sequence[Method], test: FaceSet, seed: int, slider_faces: int
) -> Comparison:
    """:func:`compare` for the methods of one training run."""
    from sepviz.experiments.measures import pixel_codes, slider_check
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
            ladder = ladder.with_lowest(DISCRIMINATOR, own)
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
    def margin(self) -> float:
        """Two accuracies are *equal* within :data:`~sepviz.experiments.READ_SHARE` of the
        room above chance: the same share that makes a reader *read*."""
        return READ_SHARE * (1 - self.in_sample.chance)

    def differences(self) -> tuple[Estimate, ...]:
        """Out of sample minus in-sample, reader by reader (independent faces' intervals
        added in quadrature)."""
        return tuple(o - i for o, i in zip(self.out_of_sample.scores, self.in_sample.scores))

    @property
    def verdict(self) -> str:
        inside, outside = self.in_sample, self.out_of_sample

        def said(ladder: Ladder) -> str:
            return ", ".join(
                f"{r} {s} ({WORDS[g]})"
                for r, s, g in zip(ladder.readers, ladder.scores, ladder.readings)
            )

        reads_out = [r for r in outside.readers if outside.reads(r)]
        unsure_out = [
            r for r, g in zip(outside.readers, outside.readings) if g is Reading.NOT_DISTINGUISHABLE
        ]
        seen_in = [r for r, g in zip(inside.readers, inside.readings) if not g.blind]
        orders = [order_of(d, self.margin) for d in self.differences()]
        if removed(inside.readings) and reads_out:
            head = (
                "**LEACE's guarantee is in-sample.** Fitted on the very codes the readers see, "
                f"it leaves every linear reader at or below chance; fitted on the training "
                f"faces, it leaves the light to the {_and(reads_out)} "
                f"reader{'s' if len(reads_out) > 1 else ''} on new faces."
            )
        elif removed(inside.readings) and removed(outside.readings):
            same = all(o is Order.EQUAL for o in orders)
            head = (
                "**Removed in-sample and out of sample**: every linear reader is at or below "
                "chance both ways" + (", and the two agree within the margin." if same else ".")
            )
        elif removed(inside.readings):
            head = (
                "**Removed in-sample; not shown removed out of sample**: on new faces the "
                f"{_and(unsure_out)} {_verb(unsure_out, 'reader is', 'readers are')} not "
                "distinguishable from the bar."
            )
        else:
            head = (
                f"**Not removed even in-sample**: the {_and(seen_in)} "
                f"{_verb(seen_in, 'reader is', 'readers are')} not at chance on the codes the "
                "eraser was fitted on."
            )
        words = {
            Order.BETTER: "higher out of sample",
            Order.WORSE: "lower out of sample",
            Order.EQUAL: f"equal within {100 * self.margin:.0f} points",
            Order.NOT_DISTINGUISHABLE: "not distinguishable",
        }
        gaps = ", ".join(
            f"{r} {d} ({words[o]})" for r, d, o in zip(inside.readers, self.differences(), orders)
        )
        return (
            f"{head} Fitted on the very codes the readers see: {said(inside)}. Fitted on the "
            f"training faces and read on new ones: {said(outside)} ({_bar(inside.chance)}). "
            f"Out of sample minus in-sample: {gaps}."
        )

    def table(self) -> str:
        rows = [
            (r, a, b)
            for r, a, b in zip(
                self.in_sample.readers, self.in_sample.scores, self.out_of_sample.scores
            )
        ]
        rows.append(("chance", f"{self.in_sample.chance:.0%}", f"{self.out_of_sample.chance:.0%}"))
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
