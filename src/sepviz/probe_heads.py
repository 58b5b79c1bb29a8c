"""The read-out heads of :func:`sepviz.probes.probe` beyond scikit-learn's own (imported only
when a probe is fitted, so ``import sepviz.probes`` stays light)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import train_test_split


class LinearSkipMLP(BaseEstimator):  # type: ignore[misc]
    """An MLP read-out with a linear skip path: it is never a weaker reader than the linear one.

    On its training data it holds out ``validation`` of the rows (stratified for classes),
    fits both ``linear`` and ``mlp`` on the rest and keeps the one that scores higher there
    (the MLP on a tie), refitted on every row. An MLP with early stopping, fitted on ~1,000
    codes where the signal is faint, is often a *weaker* reader than a logistic regression
    fitted to convergence, although its functions include the linear ones. With the skip, the
    nonlinear reader scores at least what the linear one does, up to the noise of the
    validation split. ``chosen_`` says which one was kept.
    """

    def __init__(
        self, linear: Any, mlp: Any, task: str, validation: float = 0.2, random_state: int = 0
    ) -> None:
        self.linear, self.mlp, self.task = linear, mlp, task
        self.validation, self.random_state = validation, random_state

    def fit(self, x: np.ndarray, y: np.ndarray) -> LinearSkipMLP:
        strata = y if self.task == "classification" else None
        fit_x, val_x, fit_y, val_y = train_test_split(
            x, y, test_size=self.validation, random_state=self.random_state, stratify=strata
        )
        linear, mlp = (
            clone(m).fit(fit_x, fit_y).score(val_x, val_y) for m in (self.linear, self.mlp)
        )
        self.chosen_ = "mlp" if mlp >= linear else "linear"
        self.estimator_ = clone(self.mlp if self.chosen_ == "mlp" else self.linear).fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.estimator_.predict(x)

    def score(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(self.estimator_.score(x, y))
