"""Principal component analysis of images, with the verbs of the other sepviz models.

PCA is the linear baseline of chapter 2: the best ``latent_dim``-dimensional *linear*
code of the pixels in the squared-error sense. It is fitted in closed form (an eigen
decomposition, no gradient steps), but it encodes, decodes, reconstructs, counts its numbers
and saves / loads like :class:`~sepviz.models.AutoEncoder`, so a chapter can swap one for the
other. :func:`reconstruction_curve` measures both against the latent size.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from sepviz.models.base import ModelConfig, SepvizModel
from sepviz.train import History


class PCA(SepvizModel):
    """PCA of flattened images: ``z = V (x - mean)``, ``x' = clamp(V^T z + mean, 0, 1)``.

    The mean (3*S*S,) and the components V (latent_dim, 3*S*S, orthonormal rows, by decreasing
    variance) are buffers, so :meth:`save` / :meth:`load` and ``.to(device)`` work as for the
    other models. The fit is exact and deterministic: an eigen decomposition of the
    covariance (or of the Gram matrix when there are fewer images than pixels), with the
    sign of each component fixed so that its largest entry is positive (as scikit-learn's
    ``svd_flip``).

    ``probe_layers`` raises ``NotImplementedError``: PCA has no hidden layers; probe its
    latent with :func:`sepviz.probes.extract_latents` instead.

    Built from a :class:`~sepviz.models.base.ModelConfig`: ``image_size`` and ``latent_dim``
    (the number of principal components kept); its ``lr`` is unused (the fit is closed-form).
    """

    Config = ModelConfig

    def __init__(self, config: ModelConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        image_size, latent_dim = self.image_size, self.latent_dim
        n_pixels = 3 * image_size * image_size
        if latent_dim > n_pixels:
            raise ValueError(
                f"latent_dim={latent_dim} exceeds the {n_pixels} pixel values of a "
                f"{image_size}x{image_size} image"
            )
        self.register_buffer("mean", torch.zeros(n_pixels))
        self.register_buffer("components", torch.zeros(latent_dim, n_pixels))
        self.register_buffer("variance", torch.zeros(latent_dim))
        self.register_buffer("variance_ratio", torch.zeros(latent_dim))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    # -- state ---------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:  # no parameters: the buffers say where the model is
        return self.mean.device

    @property
    def is_fitted(self) -> bool:
        return bool(self.fitted)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise RuntimeError("this PCA is not fitted yet: call fit(x) first")

    @property
    def explained_variance(self) -> torch.Tensor:
        """(latent_dim,) variance of the training images along each component, decreasing."""
        self._check_fitted()
        return self.variance.detach().cpu().clone()

    @property
    def explained_variance_ratio(self) -> torch.Tensor:
        """(latent_dim,) share in [0, 1] of the total pixel variance along each component."""
        self._check_fitted()
        return self.variance_ratio.detach().cpu().clone()

    def n_parameters(self) -> int:
        """Numbers the model stores to decode: the mean plus the components, 3*S*S*(d + 1)."""
        return self.mean.numel() + self.components.numel()

    # -- fit -----------------------------------------------------------------------------
    @torch.no_grad()
    def fit(self, x: torch.Tensor, y: Any = None, **unused: Any) -> PCA:  # type: ignore[override]
        """Fit the mean and the top ``latent_dim`` components to images x; returns the model.

        Args:
            x: (N, 3, S, S) float in [0, 1], S == image_size; needs N >= latent_dim.
            y: must be None (PCA learns from the images alone).
            unused: training-loop arguments other models take (``steps``, ``seed``, ...):
                ignored, so that a PCA can stand where an autoencoder does.

        Returns:
            The model; ``model.history`` has one entry, the training reconstruction MSE
            (``losses["reconstruction"]``), and the seconds the fit took.

        Raises:
            ValueError: bad images, or latent_dim > min(N, 3*S*S).
        """
        if y is not None:
            raise ValueError("a PCA learns from images alone: y must be None")
        start = time.perf_counter()
        x = self.check(x).flatten(1)
        n, n_pixels = x.shape
        k = self.latent_dim
        if k > min(n, n_pixels):
            raise ValueError(
                f"latent_dim={k} must be <= min(N, 3*S*S) = {min(n, n_pixels)} "
                f"(got N={n} images of {n_pixels} values)"
            )
        mean = x.mean(0)
        xc = x - mean
        if n >= n_pixels:  # covariance (D, D): eigenvectors are the components
            values, vectors = torch.linalg.eigh(xc.T @ xc)
            values, components = values.flip(0)[:k], vectors.flip(1)[:, :k].T
        else:  # Gram (N, N): components = Xc^T u / sqrt(lambda), re-orthonormalised
            values, vectors = torch.linalg.eigh(xc @ xc.T)
            values, vectors = values.flip(0)[:k], vectors.flip(1)[:, :k]
            basis = xc.T @ vectors / values.clamp_min(1e-12).sqrt()
            q, r = torch.linalg.qr(basis)  # keeps the well-defined columns, fixes the rest
            components = (q * torch.where(r.diagonal() < 0, -1.0, 1.0)).T
        values = values.clamp_min(0)
        rows = torch.arange(k, device=components.device)
        signs = torch.sign(components[rows, components.abs().argmax(1)])
        components = components * signs.masked_fill(signs == 0, 1).unsqueeze(1)
        total = xc.pow(2).sum()
        self.mean.copy_(mean)
        self.components.copy_(components)
        self.variance.copy_(values / max(n - 1, 1))
        self.variance_ratio.copy_(values / total if total > 0 else torch.zeros_like(values))
        self.fitted.fill_(True)
        images = x.view(-1, 3, self.image_size, self.image_size)
        mse = float((self.reconstruct(images) - images).pow(2).mean())
        self.history = History(seconds=time.perf_counter() - start)
        self.history.append(0, {"reconstruction": mse})
        self.eval()
        return self

    def truncated(self, latent_dim: int) -> PCA:
        """The PCA with the first ``latent_dim`` components of this fitted one.

        PCA solutions are nested, so this equals fitting ``PCA(latent_dim=latent_dim)`` on
        the same images (up to round-off) without a second eigen decomposition.
        """
        self._check_fitted()
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int):
            raise ValueError(f"latent_dim must be an int, got {latent_dim!r}")
        if not 1 <= latent_dim <= self.latent_dim:
            raise ValueError(f"latent_dim must be in [1, {self.latent_dim}], got {latent_dim}")
        small = PCA(image_size=self.image_size, latent_dim=latent_dim).to(self.device)
        with torch.no_grad():
            small.mean.copy_(self.mean)
            small.components.copy_(self.components[:latent_dim])
            small.variance.copy_(self.variance[:latent_dim])
            small.variance_ratio.copy_(self.variance_ratio[:latent_dim])
            small.fitted.fill_(True)
        return small.eval()

    # -- encode / decode -----------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """z = V (x - mean): (N, 3, S, S) in [0, 1] -> (N, latent_dim) float32."""
        self._check_fitted()
        return (self.check(x).flatten(1) - self.mean) @ self.components.T

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """x' = V^T z + mean, clamped: (N, latent_dim) -> (N, 3, S, S) float32 in [0, 1]."""
        self._check_fitted()
        flat = self.check_z(z).float() @ self.components + self.mean
        return flat.clamp(0, 1).view(-1, 3, self.image_size, self.image_size)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """decode(encode(x)): (N, 3, S, S) in [0, 1] -> same shape, in [0, 1]."""
        return self.decode(self.encode(x))

    def probe_layers(self, decoder: str | None = None) -> dict[str, nn.Module]:
        raise NotImplementedError(
            "PCA has no hidden layers to probe; probe its latent with "
            "sepviz.probes.extract_latents(model, images)"
        )


def reconstruction_curve(
    train: torch.Tensor,
    test: torch.Tensor,
    dims: Sequence[int],
    steps: int = 600,
    seed: int = 0,
    progress: bool = True,
    **fit_kwargs: Any,
) -> dict[str, Any]:
    """Held-out reconstruction error of PCA and of an :class:`~sepviz.models.AutoEncoder`
    against the latent size, both fitted on the same training images.

    One PCA is fitted with ``max(dims)`` components and truncated to each size (PCA is
    nested); one autoencoder is trained per size for ``steps`` steps (weights seeded by
    ``seed``; ``fit_kwargs`` such as ``batch_size`` or ``device`` go to its ``fit``). Both
    run on ``fit_kwargs["device"]``, by default the best one (:func:`sepviz.utils.pick_device`).

    Args:
        train: (N, 3, S, S) float in [0, 1], N >= max(dims).
        test: (M, 3, S, S) float in [0, 1], held-out images of the same size.
        dims: latent sizes, each >= 1.

    Returns:
        A dict of lists, one entry per latent size in ``dims`` order: ``latent_dim``;
        ``pca_psnr``, ``ae_psnr`` (mean PSNR over the test images, dB); ``pca_mse``,
        ``ae_mse`` (mean squared error per pixel value); ``pca_parameters``,
        ``ae_parameters``; ``ae_seconds`` (training time). Also ``pca``, ``ae`` and
        ``ae_history``: dicts latent size -> fitted model / its training History.
    """
    from sepviz.metrics import psnr
    from sepviz.models.autoencoder import AutoEncoder
    from sepviz.utils import pick_device

    dims = [int(d) for d in dims]
    if not dims or min(dims) < 1:
        raise ValueError(f"dims must be a non-empty list of latent sizes >= 1, got {dims}")
    if not isinstance(train, torch.Tensor) or train.ndim != 4:
        raise ValueError("train must be a (N, 3, S, S) tensor of images")
    size = int(train.shape[-1])
    full = PCA(image_size=size, latent_dim=max(dims)).to(pick_device(fit_kwargs.get("device")))
    full.fit(train)
    full.check(test, "test")
    out: dict[str, Any] = {"latent_dim": dims, "pca": {}, "ae": {}, "ae_history": {}}
    for key in ("pca_psnr", "ae_psnr", "pca_mse", "ae_mse", "pca_parameters", "ae_parameters"):
        out[key] = []
    out["ae_seconds"] = []
    for d in dims:
        torch.manual_seed(seed)
        ae = AutoEncoder(image_size=size, latent_dim=d)
        start = time.perf_counter()
        ae.fit(train, steps=steps, seed=seed, progress=progress, **fit_kwargs)
        out["ae_history"][d] = ae.history
        out["ae_seconds"].append(time.perf_counter() - start)
        for name, model in (("pca", full.truncated(d)), ("ae", ae)):
            recon = model.batched(model.reconstruct, test)
            out[name][d] = model
            out[f"{name}_psnr"].append(float(psnr(recon, test).mean()))
            out[f"{name}_mse"].append(float((recon - test.float()).pow(2).mean()))
            out[f"{name}_parameters"].append(model.n_parameters())
    return out
