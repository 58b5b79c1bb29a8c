"""The VAE chapter: does a constraint on the latent make an autoencoder generative?

The blog: hold the latent to a prior and the autoencoder can draw new faces. :func:`generation`
draws faces from four models of the same latent size and measures how near real faces they
come and whether they are new:

- the VAE (:class:`~sepviz.models.VAE`), codes drawn from its prior N(0, I);
- the plain autoencoder, codes drawn from N(0, I) (what the blog says fails);
- the plain autoencoder, codes drawn from a Gaussian fitted to its training codes (is the prior
  what matters, or only knowing where the codes lie?);
- PCA, coefficients drawn from a Gaussian fitted to the training faces' (a linear model).

Three measures, each against real faces of the same people the models learned from: the
Fréchet distance in a fixed feature space (:class:`FeatureSpace`: random convolutional
features, as FID uses Inception's), a real-against-generated classifier (chance 50%),
and the PSNR of each sample to its nearest training face, beside that of fresh real faces
(a sample nearer than those copies the training set).

:func:`beta_sweep` trains nothing: it takes VAEs at several β (and a plain autoencoder) and
reports reconstruction, KL, active units, MIG and DCI's disentanglement against the renderer's
factors; :func:`traversal` labels the most informative units by the factor each one moves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sepviz.data.faceset import FaceSet
from sepviz.data.synthetic import IDENTITY_FACTORS, factor_matrix, make_faces
from sepviz.experiments import (
    DB_MARGIN,
    Estimate,
    Headlines,
    Order,
    OverRuns,
    Reading,
    Result,
    bootstrap_mean,
    combine_runs,
    compare,
    markdown_table,
    reading,
    runs_note,
)
from sepviz.experiments.measures import KNOWN, MIG_BAR, MIG_MARGIN, probe_estimate
from sepviz.metrics import frechet_distance, psnr

FEATURES = 32
"""Features the Fréchet distance and the classifier read (:class:`FeatureSpace`)."""
SAMPLES = 1000
"""Faces drawn from each model (and fresh real faces) for :func:`generation`."""
FRECHET_RATIO = 1.25
"""One model's samples are *nearer* real faces than another's when the whole interval of the
ratio of their Fréchet distances lies above 1.25: a quarter of the distance, more than the
spread of one model's distance from sample to sample of 1,000 faces."""
ACTIVE = 0.01
"""A unit is *active* when its posterior mean varies over faces by more than 0.01 (variance;
Burda et al. 2016, "Importance Weighted Autoencoders"): the prior's variance is 1."""
RESAMPLES = 200  # bootstrap resamplings of the Fréchet distance

VAE, AE_PRIOR, AE_FITTED, PCA_FITTED = (
    "VAE, z ~ N(0, I)",
    "autoencoder, z ~ N(0, I)",
    "autoencoder, z ~ fitted Gaussian",
    "PCA, fitted Gaussian",
)
MODELS = (VAE, AE_PRIOR, AE_FITTED, PCA_FITTED)
"""The samplers :func:`generation` compares, as named in its table."""


def fresh_faces(faces: FaceSet, n: int, seed: int) -> FaceSet:
    """``n`` new faces of the people in ``faces`` (new expressions and lights), at its size:
    the real faces samples are compared with."""
    people = torch.unique(factor_matrix(faces, IDENTITY_FACTORS), dim=0)
    return make_faces(n, size=faces.images.shape[-1], identities=people, seed=seed)


class FeatureSpace:
    """A fixed feature space of faces: a conv net with random weights (seed 0: two 4 x 4
    stride-2 convolutions with ReLU, 32 and 64 maps, pooled to 4 x 4), then the first
    :data:`FEATURES` principal components of real faces' features. Random ReLU features see
    edges and their sharpness, which pixel PCA does not: a Gaussian in pixel space with the
    right mean and covariance (PCA's samples) is nearly invisible to any linear feature.
    Untrained, so nothing is downloaded and nothing tuned to the models it judges. The
    features are scaled to unit variance on average over real faces."""

    def __init__(self, reference: torch.Tensor) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(
                torch.nn.Conv2d(3, 32, 4, 2, 1), torch.nn.ReLU(),
                torch.nn.Conv2d(32, 64, 4, 2, 1), torch.nn.ReLU(),
                torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(),
            ).eval()  # fmt: skip
        raw = self._raw(reference)
        self.mean = raw.mean(0)
        _, _, v = torch.linalg.svd(raw - self.mean, full_matrices=False)
        self.axes = v[:FEATURES].T  # (1024, FEATURES)
        # one scale for all: the reference's features at unit variance on average, so the
        # distance reads in units of the spread of real faces
        self.axes /= ((raw - self.mean) @ self.axes).var(0).mean().sqrt()

    @torch.no_grad()
    def _raw(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.net(b) for b in images.float().split(256)]).double()

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Faces (N, 3, S, S) in [0, 1] -> features (N, FEATURES) float64."""
        return (self._raw(images) - self.mean) @ self.axes


def frechet_estimate(
    a: torch.Tensor, b: torch.Tensor, seed: int = 0, resamples: int = RESAMPLES
) -> Estimate:
    """:func:`~sepviz.metrics.frechet_distance` of features ``a`` and ``b`` with a
    percentile-bootstrap 95% interval (both sets resampled)."""
    rng = np.random.default_rng(seed)
    a_np, b_np = a.double().numpy(), b.double().numpy()
    value = frechet_distance(a_np, b_np)
    draws = [
        frechet_distance(
            a_np[rng.integers(0, len(a_np), len(a_np))], b_np[rng.integers(0, len(b_np), len(b_np))]
        )
        for _ in range(resamples)
    ]
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(value, float(min(low, value)), float(max(high, value)))


def nearest_psnr(samples: torch.Tensor, training: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) of each sample (N, 3, S, S) to its nearest face in ``training``: (N,)."""
    a, b = samples.flatten(1).float(), training.flatten(1).float()
    # float32 distances by matrix products: a squared error of 1e-3 per pixel is far above
    # their rounding, and the search over 4,000 faces takes a tenth of a second
    nearest = torch.cat([torch.cdist(chunk, b).min(1).values for chunk in a.split(256)])
    mse = (nearest.double() ** 2 / a.shape[1]).clamp(min=1e-12)
    return (-10 * torch.log10(mse)).float()


class LinearGaussian:
    """PCA as a generator: the mean face plus ``d`` principal directions of the training faces
    (a seeded randomized SVD, the top directions to 1e-7 of their variance), so that
    :func:`draw` can sample coefficients from a Gaussian fitted to the faces'."""

    def __init__(self, faces: torch.Tensor, d: int) -> None:
        x = faces.flatten(1).double()
        self.shape, self.latent_dim = faces.shape[1:], d
        self.mean = x.mean(0)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            _, _, v = torch.svd_lowrank(x - self.mean, q=d + 10, niter=4)
        self.axes = v[:, :d].T  # (d, 3 * S * S), orthonormal rows

    def encode(self, faces: torch.Tensor) -> torch.Tensor:
        """Coefficients (N, d) of faces (N, 3, S, S)."""
        return ((faces.flatten(1).double() - self.mean) @ self.axes.T).float()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Faces (N, 3, S, S) of coefficients (N, d) (not clamped)."""
        return (self.mean + z.double() @ self.axes).float().view(-1, *self.shape)

    def batched(self, fn: Any, x: torch.Tensor) -> torch.Tensor:
        return fn(x)


def draw(model: Any, n: int, seed: int, codes: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` faces from ``model``'s decoder: codes from N(0, I) when ``codes`` is None, else
    from a Gaussian fitted to ``codes`` (N, d) (their mean and covariance)."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, model.latent_dim, generator=g, dtype=torch.float64)
    if codes is None:
        z = noise
    else:
        c = codes.double()
        cov = torch.cov(c.T) + 1e-6 * torch.eye(c.shape[1], dtype=torch.float64)
        z = c.mean(0) + noise @ torch.linalg.cholesky(cov).T
    return model.batched(model.decode, z.float()).clamp(0, 1)


def _combined(cls: Any, per_run: Sequence[Any]) -> Any:
    # one run as it is; several: every number by over_runs, the runs kept for the spread table
    if len(per_run) == 1:
        return per_run[0]
    return cls(**{**combine_runs(per_run), "per_run": tuple(per_run)})


@dataclass(frozen=True)
class Generation(OverRuns, Result):
    """How near real faces each sampler's faces come, and whether they are new.

    Attributes:
        models: the samplers (:data:`MODELS`).
        frechet: Fréchet distance of each sampler's faces to fresh real faces.
        detector: a real-against-generated classifier's held-out accuracy per sampler
            (chance 50%).
        nearest: mean PSNR of each sampler's faces to their nearest training face.
        real_frechet: the distance between two sets of fresh real faces (the floor).
        real_nearest: fresh real faces' PSNR to their nearest training face (what a new face
            scores; a sampler well above it copies training faces).
    """

    models: tuple[str, ...]
    frechet: tuple[Estimate, ...]
    detector: tuple[Estimate, ...]
    nearest: tuple[Estimate, ...]
    real_frechet: Estimate
    real_nearest: Estimate
    per_run: tuple[Generation, ...] = field(default=(), repr=False, compare=False)
    title = "Does a constraint on the latent make it generative?"

    @classmethod
    def over_runs(cls, per_run: Sequence[Generation]) -> Generation:
        """One result over training runs (one per seed): :func:`_combined`."""
        return _combined(cls, per_run)

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        out: Headlines = {}
        for i, name in enumerate(self.models):
            out[f"Fréchet distance, {name}"] = (self.frechet[i], tuple(r.frechet[i] for r in runs))
        return out

    def ratio(self, worse: str, better: str = VAE) -> Estimate:
        """log of (Fréchet distance of ``worse``) / (that of ``better``), with an interval
        (the two intervals' relative half-widths in quadrature): > 0 when ``better`` is nearer
        real faces."""
        w, b = self.frechet[self.models.index(worse)], self.frechet[self.models.index(better)]
        value = math.log(max(w.value, 1e-12) / max(b.value, 1e-12))
        half = math.hypot(*(max(e.high - e.value, e.value - e.low) / e.value for e in (w, b)))
        return Estimate(value, value - half, value + half)

    def order(self, worse: str, better: str = VAE) -> Order:
        """Whether ``better``'s faces are nearer real faces than ``worse``'s, by more than
        :data:`FRECHET_RATIO` (:func:`~sepviz.experiments.compare` on the log ratio)."""
        return compare(self.ratio(worse, better), math.log(FRECHET_RATIO))

    def told_apart(self, name: str) -> Reading:
        """How the real-against-generated classifier reads ``name``'s faces (chance 50%)."""
        return reading(self.detector[self.models.index(name)], 0.5)

    def copies(self, name: str) -> Order:
        """Whether ``name``'s faces lie nearer the training faces than fresh real faces do
        (BETTER: it copies), within :data:`~sepviz.experiments.DB_MARGIN`."""
        return compare(self.nearest[self.models.index(name)] - self.real_nearest, DB_MARGIN)

    @property
    def verdict(self) -> str:
        fd = {name: self.frechet[i] for i, name in enumerate(self.models)}
        vae = self.models.index(VAE)  # the VAE's own numbers, wherever it stands in models
        runs = runs_note(self.frechet[vae])
        prior = self.order(AE_PRIOR)
        fitted = self.order(AE_FITTED)
        head = {
            Order.BETTER: "**The constraint makes it generative**",
            Order.WORSE: "**The constraint does not make it generative**",
            Order.EQUAL: "**The constraint changes nothing here**",
            Order.NOT_DISTINGUISHABLE: "**Not distinguishable**",
        }[prior]
        text = (
            f"{head}{runs}: faces the VAE draws from its prior lie at a Fréchet distance of "
            f"{fd[VAE]} from real faces, against {fd[AE_PRIOR]} for the plain autoencoder "
            f"fed the same N(0, I) codes (real against real: {self.real_frechet})."
        )
        fitted_says = {
            Order.BETTER: "still nearer real faces than",
            Order.WORSE: "farther from real faces than",
            Order.EQUAL: f"as near real faces (within a ratio of {FRECHET_RATIO}) as",
            Order.NOT_DISTINGUISHABLE: "not distinguishable from",
        }[fitted]
        text += (
            f" Against a Gaussian fitted to the plain autoencoder's own codes ({fd[AE_FITTED]})"
            f" the VAE is {fitted_says} it"
        )
        text += {
            Order.BETTER: ": the prior matters beyond knowing where the codes lie.",
            Order.WORSE: ": what the prior buys is a known place to draw codes from.",
            Order.EQUAL: ": what the prior buys is a known place to draw codes from.",
            # an interval that covers the margin cannot say which of the two it is
            Order.NOT_DISTINGUISHABLE: ": the data cannot tell whether the prior matters beyond "
            "knowing where the codes lie.",
        }[fitted]
        detector = self.detector[vae]
        seen = self.told_apart(VAE)
        text += f" A classifier tells the VAE's faces from real ones at {detector} (chance 50%: "
        text += {
            Reading.READS: "it tells them apart",
            Reading.AT_CHANCE: "it cannot tell them apart",
            Reading.BELOW_CHANCE: "below chance",
            Reading.NOT_DISTINGUISHABLE: "not distinguishable from its bar",
        }[seen] + ")."
        copies = self.copies(VAE)
        text += (
            f" Its faces lie at {self.nearest[vae]} PSNR from their nearest training face, fresh "
            f"real faces at {self.real_nearest}: "
            + {
                Order.BETTER: "nearer than new faces are, so it partly **copies** training faces.",
                Order.WORSE: "farther than new faces are: **new faces**, not copies.",
                Order.EQUAL: "as near as new faces are: **new faces**, not copies.",
                Order.NOT_DISTINGUISHABLE: "not distinguishable from new faces.",
            }[copies]
        )
        return text

    def table(self) -> str:
        rows = [
            (name, self.frechet[i], self.detector[i], self.nearest[i])
            for i, name in enumerate(self.models)
        ]
        rows.append(("fresh real faces", self.real_frechet, "50% (chance)", self.real_nearest))
        header = ("faces", "Fréchet distance", "told from real", "PSNR to nearest training face")
        return markdown_table(header, rows)


def samples(vae: Any, autoencoder: Any, faces: FaceSet, n: int, seed: int) -> dict[str, Any]:
    """``n`` faces from each sampler of :data:`MODELS`: ``{name: (n, 3, S, S) in [0, 1]}``
    (PCA fitted and the autoencoder's Gaussian fitted on ``faces``)."""
    train = faces.images
    pca = LinearGaussian(train, vae.latent_dim)
    codes = autoencoder.batched(autoencoder.encode, train)
    return {
        VAE: draw(vae, n, seed),
        AE_PRIOR: draw(autoencoder, n, seed),
        AE_FITTED: draw(autoencoder, n, seed, codes=codes),
        PCA_FITTED: draw(pca, n, seed, codes=pca.encode(train)),
    }


def _one_generation(vae: Any, autoencoder: Any, faces: FaceSet, seed: int) -> Generation:
    real = fresh_faces(faces, SAMPLES, seed=10_000 + seed).images
    other = fresh_faces(faces, SAMPLES, seed=20_000 + seed).images
    third = fresh_faces(faces, SAMPLES, seed=30_000 + seed).images  # the real-real floor
    train = faces.images
    drawn = samples(vae, autoencoder, faces, SAMPLES, seed)
    space = FeatureSpace(other)  # fitted on real faces the samples are not compared with
    real_features = space.encode(real)
    frechet, detector, nearest = [], [], []
    for name in MODELS:
        feats = space.encode(drawn[name])
        frechet.append(frechet_estimate(feats, real_features, seed))
        labels = torch.cat([torch.zeros(len(real)), torch.ones(len(feats))]).long()
        detector.append(probe_estimate(torch.cat([real_features, feats]), labels, seed=seed))
        nearest.append(bootstrap_mean(nearest_psnr(drawn[name], train), "dB", seed))
    return Generation(
        MODELS,
        tuple(frechet),
        tuple(detector),
        tuple(nearest),
        frechet_estimate(space.encode(third), real_features, seed),
        bootstrap_mean(nearest_psnr(real, train), "dB", seed),
    )


def generation(
    vaes: Any | Sequence[Any],
    autoencoders: Any | Sequence[Any],
    faces: FaceSet | Sequence[FaceSet],
    seeds: Sequence[int] | None = None,
) -> Generation:
    """Draw :data:`SAMPLES` faces from a VAE, a plain autoencoder (from N(0, I) and from a
    Gaussian fitted to its codes) and PCA, and score them against fresh real faces.

    Args:
        vaes, autoencoders: one trained model each, or one per training run (same latent size).
        faces: each run's training faces (a :class:`FaceSet`; PCA is fitted on them, and the
            real faces are fresh faces of the same people).
        seeds: each run's seed (draws the samples); default 0, 1, ...

    Returns:
        a :class:`Generation`, over the runs when there are several.
    """
    vaes, autoencoders = _runs(vaes), _runs(autoencoders)
    faces = [faces] if isinstance(faces, FaceSet) else list(faces)
    if not len(vaes) == len(autoencoders) == len(faces):
        raise ValueError(
            f"vaes, autoencoders and faces must be one per run, got {len(vaes)}, "
            f"{len(autoencoders)} and {len(faces)}"
        )
    seeds = list(seeds) if seeds is not None else list(range(len(vaes)))
    per_run = [_one_generation(*run) for run in zip(vaes, autoencoders, faces, seeds)]
    return Generation.over_runs(per_run)


def _runs(models: Any) -> list[Any]:
    return list(models) if isinstance(models, (list, tuple)) else [models]


# -- the β sweep ---------------------------------------------------------------------------
def active_units(mu: torch.Tensor) -> int:
    """Units whose posterior mean varies over faces by more than :data:`ACTIVE` (variance)."""
    return int((mu.double().var(0) > ACTIVE).sum())


def known_factors(faces: FaceSet) -> dict[str, torch.Tensor]:
    """The factors MIG and DCI score codes against (:data:`~sepviz.experiments.measures.KNOWN`)."""
    return {k: faces.factors[k] for k in KNOWN}


@dataclass(frozen=True)
class BetaSweep(OverRuns, Result):
    """What β does to a VAE: per β, reconstruction of unseen faces (PSNR), KL to the prior
    (nats per face), active units, MIG and DCI's disentanglement against the renderer's
    factors; the plain autoencoder's MIG and disentanglement as the baseline."""

    betas: tuple[float, ...]
    psnr: tuple[Estimate, ...]
    kl: tuple[Estimate, ...]
    active: tuple[Estimate, ...]
    mig: tuple[Estimate, ...]
    disentanglement: tuple[Estimate, ...]
    autoencoder_psnr: Estimate
    autoencoder_mig: Estimate
    autoencoder_disentanglement: Estimate
    per_run: tuple[BetaSweep, ...] = field(default=(), repr=False, compare=False)
    title = "What does β buy?"

    @classmethod
    def over_runs(cls, per_run: Sequence[BetaSweep]) -> BetaSweep:
        """One result over training runs (one per seed): :func:`_combined`."""
        return _combined(cls, per_run)

    def _headlines(self) -> Headlines:
        runs = self.per_run or (self,)
        out: Headlines = {}
        for i, beta in enumerate(self.betas):
            out[f"PSNR, β = {beta:g}"] = (self.psnr[i], tuple(r.psnr[i] for r in runs))
            out[f"MIG, β = {beta:g}"] = (self.mig[i], tuple(r.mig[i] for r in runs))
        return out

    def mig_gain(self) -> Order:
        """The largest β's MIG against the plain autoencoder's, within MIG_MARGIN."""
        return compare(self.mig[-1] - self.autoencoder_mig, MIG_MARGIN)

    def reconstruction_cost(self) -> Order:
        """The largest β's PSNR against the smallest's (WORSE: raising β costs detail)."""
        return compare(self.psnr[-1] - self.psnr[0], DB_MARGIN)

    @property
    def verdict(self) -> str:
        lo, hi = f"{self.betas[0]:g}", f"{self.betas[-1]:g}"
        runs = runs_note(self.mig[-1])
        gain = self.mig_gain()
        reaches = self.mig[-1].above(MIG_BAR)
        head = {
            # a gain over the autoencoder that stays short of the bar does not disentangle
            Order.BETTER: "**A larger β disentangles**"
            if reaches
            else "**A larger β raises the MIG**",
            Order.WORSE: "**A larger β entangles**",
            Order.EQUAL: "**β does not disentangle here**",
            Order.NOT_DISTINGUISHABLE: "**Not distinguishable**",
        }[gain]
        text = (
            f"{head}{runs}: at β = {hi} the MIG is {self.mig[-1]} against "
            f"{self.autoencoder_mig} for the plain autoencoder (equal within {MIG_MARGIN:.2f};"
            f" a latent is disentangled above {MIG_BAR:g}"
        )
        text += (
            ", which it reaches)."
            if reaches
            else (", which it does not reach)." if self.mig[-1].below(MIG_BAR) else ").")
        )
        cost = self.reconstruction_cost()
        text += (
            f" From β = {lo} to {hi} the active units go from {self.active[0].value:.1f} to "
            f"{self.active[-1].value:.1f} and the reconstruction from {self.psnr[0]} to "
            f"{self.psnr[-1]} "
            + {
                Order.BETTER: "(a gain).",
                Order.WORSE: f"(a cost beyond {DB_MARGIN} dB).",
                Order.EQUAL: f"(equal within {DB_MARGIN} dB).",
                Order.NOT_DISTINGUISHABLE: "(not distinguishable).",
            }[cost]
        )
        return text

    def plot(self) -> Any:
        """Three panels against β (log scale): PSNR, active units, MIG (the plain autoencoder's
        as a dashed line); bars: the 95% intervals."""
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.2), constrained_layout=True)
        panels = (
            (self.psnr, "PSNR of unseen faces (dB)", self.autoencoder_psnr),
            (self.active, "active units", None),
            (self.mig, "MIG", self.autoencoder_mig),
        )
        for ax, (values, label, baseline) in zip(axes, panels):
            mid = [e.value for e in values]
            err = [[e.value - e.low for e in values], [e.high - e.value for e in values]]
            ax.errorbar(self.betas, mid, yerr=err, marker="o", capsize=3, label="VAE")
            if baseline is not None:
                ax.axhline(baseline.value, ls="--", c="grey", label="plain autoencoder")
                ax.axhspan(baseline.low, baseline.high, color="grey", alpha=0.15)
            ax.set_xscale("log")
            ax.set_xlabel("β (weight of the KL term)")
            ax.set_ylabel(label)
            ax.set_title(label)
        axes[0].legend(fontsize=9)
        fig.suptitle("What β does to a VAE" + runs_note(self.mig[-1]))
        return fig

    def table(self) -> str:
        rows = [
            (f"VAE, β = {b:g}", self.psnr[i], self.kl[i], f"{self.active[i].value:.1f}")
            + (self.mig[i], self.disentanglement[i])
            for i, b in enumerate(self.betas)
        ]
        rows.append(
            ("plain autoencoder", self.autoencoder_psnr, "—", "—", self.autoencoder_mig)
            + (self.autoencoder_disentanglement,)
        )
        header = ("model", "PSNR", "KL (nats)", "active units", "MIG", "DCI disentanglement")
        return markdown_table(header, rows)


def _code_scores(z: torch.Tensor, faces: FaceSet, seed: int) -> tuple[Estimate, Estimate]:
    from sepviz.metrics import dci, mig_interval

    factors = known_factors(faces)
    value, low, high = mig_interval(z, factors, seed=seed)
    d = dci(z, factors, seed=seed)["disentanglement"]
    return Estimate(value, low, high), Estimate(d, d, d)


def _one_sweep(vaes: Mapping[float, Any], autoencoder: Any, test: FaceSet, seed: int) -> BetaSweep:
    from sepviz.models.vae import kl_to_prior

    psnrs, kls, actives, migs, dis = [], [], [], [], []
    for vae in vaes.values():
        mu, logvar = (t.cpu() for t in _posterior(vae, test.images))
        rebuilt = vae.batched(vae.reconstruct, test.images)
        psnrs.append(bootstrap_mean(psnr(rebuilt, test.images), "dB", seed))
        kls.append(bootstrap_mean(kl_to_prior(mu, logvar).sum(1), "", seed))
        n = float(active_units(mu))
        actives.append(Estimate(n, n, n))
        m, d = _code_scores(mu, test, seed)
        migs.append(m)
        dis.append(d)
    z = autoencoder.batched(autoencoder.encode, test.images)
    ae_psnr = bootstrap_mean(
        psnr(autoencoder.batched(autoencoder.reconstruct, test.images), test.images), "dB", seed
    )
    ae_mig, ae_dis = _code_scores(z, test, seed)
    return BetaSweep(
        tuple(vaes), tuple(psnrs), tuple(kls), tuple(actives), tuple(migs), tuple(dis),
        ae_psnr, ae_mig, ae_dis,
    )  # fmt: skip


@torch.no_grad()
def _posterior(vae: Any, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    both = vae.batched(lambda b: torch.cat(vae.posterior(b), 1), images)
    return both.chunk(2, dim=1)


def beta_sweep(
    vaes: Mapping[float, Any] | Sequence[Mapping[float, Any]],
    autoencoders: Any | Sequence[Any],
    tests: FaceSet | Sequence[FaceSet],
    seeds: Sequence[int] | None = None,
) -> BetaSweep:
    """Score VAEs trained at several β, and a plain autoencoder, on unseen faces.

    Args:
        vaes: ``{beta: trained VAE}`` (β increasing), or one such dict per training run.
        autoencoders: a plain autoencoder of the same latent size, or one per run.
        tests: each run's unseen faces, with the renderer's factors.
        seeds: each run's seed (intervals); default 0, 1, ...
    """
    vaes = [vaes] if isinstance(vaes, Mapping) else list(vaes)
    autoencoders = _runs(autoencoders)
    tests = [tests] if isinstance(tests, FaceSet) else list(tests)
    if not len(vaes) == len(autoencoders) == len(tests):
        raise ValueError(
            f"vaes, autoencoders and tests must be one per run, got {len(vaes)}, "
            f"{len(autoencoders)} and {len(tests)}"
        )
    betas = [list(v) for v in vaes]
    if any(b != betas[0] or b != sorted(b) for b in betas):
        raise ValueError(f"every run needs the same increasing betas, got {betas}")
    seeds = list(seeds) if seeds is not None else list(range(len(vaes)))
    per_run = [_one_sweep(*run) for run in zip(vaes, autoencoders, tests, seeds)]
    return BetaSweep.over_runs(per_run)


# -- traversals ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Traversal:
    """Faces along the most informative units of a VAE, each labelled by the factor it moves.

    Attributes:
        images: (units, len(values), 3, S, S) in [0, 1]: row k moves unit ``units[k]``.
        units: the units, by decreasing KL to the prior.
        kl: each unit's mean KL (nats).
        factors: the factor each unit follows best (largest |r| over unseen faces).
        r: that correlation, with its interval.
        values: the unit's values along a row (the other units stay at the start face's code).
    """

    images: torch.Tensor
    units: tuple[int, ...]
    kl: tuple[float, ...]
    factors: tuple[str, ...]
    r: tuple[Estimate, ...]
    values: tuple[float, ...]

    def labels(self) -> list[str]:
        """A row label per unit: ``"z3: smile (r = 0.91)"``."""
        return [
            f"z{u}: {f} (r = {r.value:+.2f})" for u, f, r in zip(self.units, self.factors, self.r)
        ]


def traversal(
    vae: Any,
    test: FaceSet,
    units: int = 6,
    values: Sequence[float] = (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5),
    start: int = 0,
) -> Traversal:
    """Move each of the ``units`` most informative units of ``vae`` (largest mean KL over
    ``test``) through ``values`` from the code of face ``start``, and name the factor of
    :data:`~sepviz.experiments.measures.KNOWN` (identity as its 5 numbers) each unit follows
    best (Pearson's r of the unit's posterior mean and the factor over ``test``)."""
    from sepviz.experiments.measures import correlation
    from sepviz.models.vae import kl_to_prior

    mu, logvar = _posterior(vae, test.images)
    kl = kl_to_prior(mu, logvar).mean(0)
    order = torch.argsort(kl, descending=True)[:units].tolist()
    named = {k: test.factors[k].float() for k in (*IDENTITY_FACTORS, *KNOWN[1:])}
    rows, factor_names, rs = [], [], []
    for u in order:
        best = max(named, key=lambda k: abs(float(np.corrcoef(mu[:, u], named[k])[0, 1])))
        factor_names.append(best)
        rs.append(correlation(mu[:, u].numpy(), named[best].numpy()))
        z = mu[start].repeat(len(values), 1)
        z[:, u] = torch.tensor(values, dtype=z.dtype)
        rows.append(vae.batched(vae.decode, z))
    return Traversal(
        torch.stack(rows), tuple(order), tuple(float(kl[u]) for u in order),
        tuple(factor_names), tuple(rs), tuple(float(v) for v in values),
    )  # fmt: skip


def interpolate(model: Any, a: torch.Tensor, b: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """Faces on the straight line between the codes of faces ``a`` and ``b`` (each (3, S, S)):
    (steps, 3, S, S) in [0, 1], the first and last the reconstructions of ``a`` and ``b``."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an int >= 2, got {steps!r}")
    codes = model.batched(model.encode, torch.stack([a, b]))
    t = torch.linspace(0, 1, steps)[:, None]
    return model.batched(model.decode, (1 - t) * codes[0] + t * codes[1])
