"""Hidden or removed? A ladder of readers of the light, weakest to strongest (issue 14).

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

:func:`sepviz.erasure.fit_leace` is the closed-form linear eraser the ladder judges next to
the FaderNet's adversary.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sepviz.experiments import Estimate, Result, bootstrap_mean, markdown_table

READERS = ("linear", "whitened linear", "MLP", "post-hoc adversary")
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
