"""Chapter 2: does an autoencoder compress faces better than PCA, and at which latent sizes?

:func:`reconstruction_vs_size` reconstructs unseen faces through ``d`` numbers with a trained
:class:`~sepviz.models.AutoEncoder` and with PCA (the best *linear* ``d``-number code) for each
latent size ``d``, and compares them face by face: the PSNR of each with a bootstrap interval
over faces and the paired difference AE - PCA. Beside the verdict it reports whether each
autoencoder had stopped learning: the relative change of its training loss over the last 20%
of its steps (:func:`loss_change`).

The renderer (:mod:`sepviz.data.synthetic`) draws every face from :data:`TRUE_FACTORS`: about
10 numbers. A nonlinear code can hold them in about 10 numbers; a linear one needs more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import Estimate, Result, bootstrap_mean, markdown_table, paired_gain
from sepviz.models.autoencoder import AutoEncoder
from sepviz.models.pca import PCA

TRUE_FACTORS = {"identity": 5, "expression": 3, "light": 2}
"""The factors the renderer draws each face from: 10 numbers in all."""
TAIL = 0.2  # the convergence check looks at the last 20% of the training steps
PLATEAU = 0.05  # a loss that changes by less than 5% over that tail has (nearly) converged


def _images(faces: FaceSet | torch.Tensor) -> torch.Tensor:
    return faces.images if isinstance(faces, FaceSet) else faces


def loss_change(model: Any, name: str = "reconstruction", tail: float = TAIL) -> float | None:
    """Relative change of a training loss over the last ``tail`` of the steps.

    ``L_end / L_start - 1``, where ``L_end`` is the mean of the last 5% of the recorded losses
    and ``L_start`` the mean of the 5% just before the tail begins (means smooth the noise of
    single batches). Negative: the loss was still falling (-0.10: it fell by 10%). ``None``
    when the model has no ``history`` (a model not trained with ``fit``, or saved without
    it).
    """
    history = getattr(model, "history", None)
    if history is None or not history.losses.get(name):
        return None
    loss = torch.tensor(history.losses[name], dtype=torch.float64)
    n = len(loss)
    window = max(1, n // 20)
    begin = min(max(window, round(n * (1 - tail))), n - 1)
    start = loss[max(0, begin - window) : begin].mean()
    end = loss[-window:].mean()
    return float(end / start - 1)


def fit_pca(train: FaceSet | torch.Tensor, latent_dim: int) -> PCA:
    """PCA with ``latent_dim`` components fitted to the training faces (N, 3, S, S) in [0, 1].

    PCA is nested, so one fit with the largest size serves every smaller one
    (:meth:`PCA.truncated`)."""
    x = _images(train)
    pca = PCA(image_size=int(x.shape[-1]), latent_dim=latent_dim)
    pca.fit(x)
    return pca


def trained_autoencoders(
    sizes: Sequence[int], budget: str = "quick", seed: int = 0, **zoo_kwargs: Any
) -> dict[int, AutoEncoder]:
    """``{d: AutoEncoder}`` for each latent size ``d`` in ``sizes``, from
    :func:`sepviz.zoo.trained` with the budget's settings (trained once, then loaded from the
    cache with its training History). ``zoo_kwargs`` go to ``trained`` (``cache``,
    ``progress``)."""
    from sepviz import zoo

    settings = {**zoo.settings(budget), **zoo_kwargs}
    return {
        int(d): zoo.trained("autoencoder", seed=seed, latent_dim=int(d), **settings) for d in sizes
    }


@dataclass(frozen=True)
class AutoencoderVsPCA(Result):
    """Held-out PSNR (dB) of both models per latent size, and the paired gain AE - PCA.

    ``loss_change[i]``: relative change of autoencoder i's training loss over the last 20% of
    its steps (None: the model has no training history). ``shorter_gain[i]``: AE - PCA for
    autoencoders trained ``shorter_steps`` steps (half as long), or None.
    ``variance_kept[i]``: share of the training faces' pixel variance the first ``sizes[i]``
    PCA components hold.
    """

    sizes: tuple[int, ...]
    autoencoder: tuple[Estimate, ...]
    pca: tuple[Estimate, ...]
    gain: tuple[Estimate, ...]
    variance_kept: tuple[float, ...]
    ae_parameters: tuple[int, ...]
    pca_parameters: tuple[int, ...]
    loss_change: tuple[float | None, ...]
    steps: tuple[int | None, ...]
    shorter_gain: tuple[Estimate, ...] | None = None
    shorter_steps: int | None = None

    @property
    def ae_wins(self) -> list[int]:
        """Latent sizes where the whole interval of AE - PCA lies above 0."""
        return [d for d, g in zip(self.sizes, self.gain) if g.above(0)]

    @property
    def pca_wins(self) -> list[int]:
        return [d for d, g in zip(self.sizes, self.gain) if g.below(0)]

    @property
    def ties(self) -> list[int]:
        return [d for d, g in zip(self.sizes, self.gain) if g.covers(0)]

    def _outcome(self, gain: Estimate) -> str:
        return "tie" if gain.covers(0) else ("AE" if gain.value > 0 else "PCA")

    @property
    def holds_when_shorter(self) -> bool | None:
        """Whether the autoencoders trained half as long win, lose and tie at the same sizes
        (None: not measured)."""
        if self.shorter_gain is None:
            return None
        return all(
            self._outcome(a) == self._outcome(b) for a, b in zip(self.gain, self.shorter_gain)
        )

    @property
    def converged(self) -> bool | None:
        """Every autoencoder's loss changed by less than 5% over its last 20% of steps
        (None: some model has no history)."""
        if any(c is None for c in self.loss_change):
            return None
        return all(abs(c) < PLATEAU for c in self.loss_change)  # type: ignore[arg-type]

    def _gains(self, sizes: Sequence[int]) -> str:
        """The paired gains AE - PCA at ``sizes``: "+4.9 dB ± 0.2" or "d = 4: ..., d = 8: ..."."""
        gains = dict(zip(self.sizes, self.gain))
        if len(sizes) == 1:
            return _signed(gains[sizes[0]])
        return "; ".join(f"d = {d}: {_signed(gains[d])}" for d in sizes)

    @property
    def verdict(self) -> str:
        lines = []
        if self.ae_wins:
            lines.append(
                f"**The autoencoder beats PCA at {_list(self.ae_wins)}** "
                f"(AE - PCA {self._gains(self.ae_wins)} of PSNR on unseen faces)."
            )
        if self.pca_wins:
            lines.append(
                f"**PCA beats the autoencoder at {_list(self.pca_wins)}** "
                f"(AE - PCA {self._gains(self.pca_wins)})."
            )
        if self.ties:
            lines.append(
                f"**Not distinguishable** at {_list(self.ties)}: the interval of "
                f"AE - PCA covers 0 ({self._gains(self.ties)})."
            )
        return "\n\n".join([" ".join(lines), self._factors(), self._convergence()])

    def _factors(self) -> str:
        n = sum(TRUE_FACTORS.values())
        parts = ", ".join(f"{k} {name}" for name, k in TRUE_FACTORS.items())
        factors = f"the renderer's ~{n} true factors ({parts})"
        others = [d for d in self.sizes if d not in self.ae_wins]
        if not self.ae_wins:
            return (
                f"The autoencoder never wins, not even below {factors}, where a nonlinear "
                "code has the most room to beat a linear one."
            )
        if not others:
            return (
                f"The autoencoder wins at every size tried, also above {factors}: its "
                "nonlinear code still uses the extra numbers better than PCA does."
            )
        low, high = max(self.ae_wins), min(others)
        if low > high:
            return f"The sizes where the autoencoder wins are not contiguous; {factors}."
        where = "brackets" if low < n <= high else "does not bracket"
        i, j = self.sizes.index(low), self.sizes.index(high)
        pca = self.pca[j].value - self.pca[i].value
        ae = self.autoencoder[j].value - self.autoencoder[i].value
        return (
            f"The crossover lies between d = {low} and d = {high}, which {where} {factors}. "
            f"With fewer numbers than factors a linear code must drop some of them, while a "
            f"nonlinear one can keep them all; from d = {low} to d = {high} PCA gains "
            f"{pca:+.1f} dB, one more linear direction with every number, and the "
            f"autoencoder {ae:+.1f} dB."
        )

    def _convergence(self) -> str:
        return " ".join(part for part in (self._loss_change(), self._shorter()) if part)

    def _loss_change(self) -> str:
        changes = [
            f"{100 * c:+.0f}% (d = {d})"
            for d, c in zip(self.sizes, self.loss_change)
            if c is not None
        ]
        if not changes:
            return "*Convergence not checked*: the autoencoders came without a training history."
        steps = {s for s in self.steps if s}
        over = f"of its {steps.pop():,} steps" if len(steps) == 1 else "of its steps"
        head = (
            f"*Convergence*: the autoencoder's training loss changed by {', '.join(changes)} "
            f"over the last {TAIL:.0%} {over}"
        )
        if self.converged:
            return f"{head}: less than {PLATEAU:.0%}, near a plateau."
        return (
            f"{head}: it was still learning, so these wins and losses hold for this "
            "training budget; more steps may lift the autoencoder's numbers and move the "
            "crossover."
        )

    def _shorter(self) -> str:
        if self.shorter_gain is None:
            return ""
        gains = "; ".join(f"d = {d}: {_signed(g)}" for d, g in zip(self.sizes, self.shorter_gain))
        steps = f"{self.shorter_steps:,} steps" if self.shorter_steps else "fewer steps"
        if self.holds_when_shorter:
            return f"Trained for {steps}, AE - PCA was {gains}: the same wins, losses and ties."
        moved = [
            d
            for d, a, b in zip(self.sizes, self.gain, self.shorter_gain)  # type: ignore[arg-type]
            if self._outcome(a) != self._outcome(b)
        ]
        return (
            f"Trained for {steps}, AE - PCA was {gains}: **another answer at {_list(moved)}**, "
            "where the answer depends on the training budget."
        )

    def table(self) -> str:
        rows = [
            (
                d,
                p,
                a,
                _signed(g),
                f"{v:.1%}",
                "n/a" if c is None else f"{100 * c:+.1f}%",
                f"{na:,} / {np:,}",
            )
            for d, p, a, g, v, c, na, np in zip(
                self.sizes,
                self.pca,
                self.autoencoder,
                self.gain,
                self.variance_kept,
                self.loss_change,
                self.ae_parameters,
                self.pca_parameters,
            )
        ]
        header = (
            "d",
            "PCA PSNR",
            "AE PSNR",
            "AE - PCA (paired)",
            "PCA variance kept",
            f"AE loss change, last {TAIL:.0%}",
            "numbers stored AE / PCA",
        )
        return markdown_table(header, rows)

    def plot(self, ax: Any = None) -> Any:
        """PSNR against the latent size (log scale) for both, with 95% intervals and the
        number of true factors marked; returns the figure."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4))
        for name, values, marker in (
            ("PCA (linear)", self.pca, "o-"),
            ("autoencoder", self.autoencoder, "s-"),
        ):
            err = [[e.value - e.low for e in values], [e.high - e.value for e in values]]
            mid = [e.value for e in values]
            ax.errorbar(self.sizes, mid, yerr=err, fmt=marker, capsize=3, label=name)
        n = sum(TRUE_FACTORS.values())
        ax.axvline(n, color="grey", ls="--", lw=1, label=f"{n} true factors")
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(self.sizes), [str(d) for d in self.sizes])
        ax.minorticks_off()
        ax.set_xlabel("latent size d (numbers per face)")
        ax.set_ylabel("PSNR on unseen faces (dB)")
        ax.set_title("Reconstruction through d numbers")
        ax.grid(alpha=0.3)
        ax.legend()
        ax.figure.tight_layout()
        return ax.figure


def _signed(e: Estimate) -> str:
    return f"+{e}" if e.value >= 0 else str(e)


def _list(sizes: Sequence[int]) -> str:
    return "d = " + ", ".join(str(d) for d in sizes)


def reconstruction_vs_size(
    autoencoders: Mapping[int, AutoEncoder],
    pca: PCA,
    test: FaceSet | torch.Tensor,
    seed: int = 0,
    shorter: Mapping[int, AutoEncoder] | None = None,
) -> AutoencoderVsPCA:
    """Reconstruct ``test`` faces through each latent size with both models.

    Args:
        autoencoders: ``{d: trained AutoEncoder with latent_dim d}``
            (e.g. :func:`trained_autoencoders`).
        pca: a fitted :class:`PCA` with at least ``max(d)`` components (:func:`fit_pca`),
            fitted on the same training faces; truncated to each ``d``.
        test: unseen faces, (M, 3, S, S) in [0, 1] (or a FaceSet).
        seed: the bootstrap.
        shorter: the same autoencoders trained for fewer steps (``{d: AutoEncoder}``, the
            same sizes), or None: the verdict says whether they win and lose at the same sizes.
    """
    from sepviz.metrics import psnr

    x = _images(test)
    sizes = sorted(int(d) for d in autoencoders)
    if not sizes:
        raise ValueError("autoencoders is empty: give {latent_size: model}")
    if max(sizes) > pca.latent_dim:
        raise ValueError(
            f"pca has {pca.latent_dim} components; the largest latent size is {max(sizes)}"
        )
    ae_db, pca_db, gains, kept, n_ae, n_pca, changes, steps = ([] for _ in range(8))
    pca_scores: dict[int, torch.Tensor] = {}
    for d in sizes:
        ae, linear = autoencoders[d], pca.truncated(d)
        if ae.latent_dim != d:
            raise ValueError(f"autoencoders[{d}] has latent_dim {ae.latent_dim}, not {d}")
        a = psnr(ae.batched(ae.reconstruct, x), x)
        p = pca_scores[d] = psnr(linear.batched(linear.reconstruct, x), x)
        ae_db.append(bootstrap_mean(a, "dB", seed))
        pca_db.append(bootstrap_mean(p, "dB", seed))
        gains.append(paired_gain(a, p, "dB", seed))
        kept.append(float(linear.explained_variance_ratio.sum()))
        n_ae.append(ae.n_parameters())
        n_pca.append(linear.n_parameters())
        changes.append(loss_change(ae))
        history = ae.history
        steps.append(history.steps[-1] + 1 if history is not None and history.steps else None)
    shorter_gain, shorter_steps = None, None
    if shorter is not None:
        if sorted(int(d) for d in shorter) != sizes:
            raise ValueError(f"shorter must have the latent sizes {sizes}, got {sorted(shorter)}")
        shorter_gain = tuple(
            paired_gain(
                psnr(shorter[d].batched(shorter[d].reconstruct, x), x), pca_scores[d], "dB", seed
            )
            for d in sizes
        )
        history = shorter[sizes[0]].history
        shorter_steps = history.steps[-1] + 1 if history is not None and history.steps else None
    return AutoencoderVsPCA(
        sizes=tuple(sizes),
        autoencoder=tuple(ae_db),
        pca=tuple(pca_db),
        gain=tuple(gains),
        variance_kept=tuple(kept),
        ae_parameters=tuple(n_ae),
        pca_parameters=tuple(n_pca),
        loss_change=tuple(changes),
        steps=tuple(steps),
        shorter_gain=shorter_gain,
        shorter_steps=shorter_steps,
    )
