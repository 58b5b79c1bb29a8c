"""sepviz.models.PCA: exactness on low-rank data, monotone error, agreement with scikit-learn,
the mean encodes to 0, save / load, bad inputs; and reconstruction_curve on a tiny set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sepviz.models import PCA, SepvizModel
from sepviz.models.pca import reconstruction_curve

SIZE = 16
D = 3 * SIZE * SIZE


def low_rank_images(n: int = 64, rank: int = 5, seed: int = 0) -> torch.Tensor:
    """(n, 3, 16, 16) images in [0, 1] lying exactly in a ``rank``-dimensional affine subspace."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.randn(rank, D, generator=g, dtype=torch.float64) / D**0.5
    codes = torch.rand(n, rank, generator=g, dtype=torch.float64) - 0.5
    flat = 0.5 + 0.8 * (codes @ basis)  # |.| of each pixel stays well inside [0, 1]
    assert float(flat.min()) > 0 and float(flat.max()) < 1
    return flat.float().view(n, 3, SIZE, SIZE)


def noisy_images(n: int = 80, seed: int = 1) -> torch.Tensor:
    """(n, 3, 16, 16) smooth-ish random images in [0, 1] of full rank."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g)
    images = torch.nn.functional.interpolate(low, size=SIZE, mode="bilinear")
    return (0.8 * images + 0.2 * torch.rand(n, 3, SIZE, SIZE, generator=g)).clamp(0, 1)


def mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).pow(2).mean())


@pytest.mark.parametrize("n", [64, 1000], ids=["gram", "covariance"])
def test_exact_when_latent_dim_is_the_rank(n: int) -> None:
    x = low_rank_images(n=n, rank=5)
    pca = PCA(image_size=SIZE, latent_dim=5)
    history = pca.fit(x).history
    assert mse(pca.reconstruct(x), x) < 1e-8
    assert history.losses["reconstruction"][0] < 1e-8
    assert float(pca.explained_variance_ratio.sum()) == pytest.approx(1.0, abs=1e-4)
    # components are orthonormal
    gram = pca.components @ pca.components.T
    assert torch.allclose(gram, torch.eye(5), atol=1e-5)


def test_error_decreases_with_latent_dim() -> None:
    x = noisy_images()
    errors = []
    ratios = []
    for d in (1, 2, 4, 8, 16, 32):
        pca = PCA(image_size=SIZE, latent_dim=d)
        pca.fit(x)
        errors.append(mse(pca.reconstruct(x), x))
        ratios.append(float(pca.explained_variance_ratio.sum()))
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    assert all(a < b for a, b in zip(ratios, ratios[1:])), ratios
    assert 0 < ratios[0] < ratios[-1] <= 1


def test_matches_sklearn() -> None:
    from sklearn.decomposition import PCA as SkPCA

    x = noisy_images()
    flat = x.flatten(1).double().numpy()
    for d in (3, 10):
        ours = PCA(image_size=SIZE, latent_dim=d)
        ours.fit(x)
        sk = SkPCA(n_components=d, svd_solver="full").fit(flat)
        theirs = np.clip(sk.inverse_transform(sk.transform(flat)), 0, 1)
        assert np.abs(ours.reconstruct(x).flatten(1).numpy() - theirs).max() < 1e-4
        np.testing.assert_allclose(
            ours.explained_variance_ratio.numpy(), sk.explained_variance_ratio_, rtol=1e-3
        )
        # same components up to sign
        dots = (ours.components.double().numpy() * sk.components_).sum(1)
        np.testing.assert_allclose(np.abs(dots), 1, atol=1e-4)


def test_truncated_equals_a_smaller_fit() -> None:
    x = noisy_images()
    big = PCA(image_size=SIZE, latent_dim=12)
    big.fit(x)
    small = PCA(image_size=SIZE, latent_dim=4)
    small.fit(x)
    assert torch.allclose(big.truncated(4).reconstruct(x), small.reconstruct(x), atol=1e-4)
    with pytest.raises(ValueError, match="latent_dim"):
        big.truncated(13)


def test_mean_encodes_to_zero_and_fit_is_deterministic() -> None:
    x = noisy_images()
    pca = PCA(image_size=SIZE, latent_dim=8)
    pca.fit(x)
    mean_image = x.mean(0, keepdim=True)
    assert float(pca.encode(mean_image).abs().max()) < 1e-5
    assert pca.encode(x).shape == (x.shape[0], 8)
    again = PCA(image_size=SIZE, latent_dim=8)
    again.fit(x)
    assert torch.equal(pca.components, again.components)
    assert pca.n_parameters() == D * 9


def test_decode_is_clamped_and_shaped() -> None:
    x = noisy_images()
    pca = PCA(image_size=SIZE, latent_dim=4)
    pca.fit(x)
    out = pca.decode(100 * torch.randn(5, 4))
    assert out.shape == (5, 3, SIZE, SIZE)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_save_load_round_trip(tmp_path: Path) -> None:
    x = noisy_images()
    pca = PCA(image_size=SIZE, latent_dim=6)
    pca.fit(x)
    path = pca.save(tmp_path / "pca.pt")
    for loaded in (PCA.load(path), SepvizModel.load(path)):
        assert isinstance(loaded, PCA)
        assert loaded.is_fitted and loaded.latent_dim == 6
        assert torch.equal(loaded.encode(x), pca.encode(x))
        assert torch.equal(loaded.reconstruct(x), pca.reconstruct(x))
        assert torch.equal(loaded.explained_variance_ratio, pca.explained_variance_ratio)


def test_errors_before_fit() -> None:
    pca = PCA(image_size=SIZE, latent_dim=3)
    x = noisy_images(n=4)
    for call in (
        lambda: pca.encode(x),
        lambda: pca.decode(torch.zeros(2, 3)),
        lambda: pca.reconstruct(x),
        lambda: pca.explained_variance_ratio,
    ):
        with pytest.raises(RuntimeError, match="fit"):
            call()
    with pytest.raises(NotImplementedError, match="extract_latents"):
        pca.probe_layers()


def test_bad_inputs() -> None:
    x = noisy_images(n=10)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="latent_dim"):
            PCA(image_size=SIZE, latent_dim=bad)
    with pytest.raises(ValueError, match="latent_dim"):
        PCA(image_size=SIZE, latent_dim=D + 1)
    with pytest.raises(ValueError, match="image_size"):
        PCA(image_size=20, latent_dim=4)
    with pytest.raises(ValueError, match="latent_dim"):  # more components than images
        PCA(image_size=SIZE, latent_dim=11).fit(x)
    pca = PCA(image_size=SIZE, latent_dim=4)
    with pytest.raises(ValueError, match="32x32|16x16"):
        pca.fit(torch.rand(10, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pca.fit(x * 3)
    with pytest.raises(ValueError):
        pca.fit(x.numpy())
    pca.fit(x)
    with pytest.raises(ValueError, match="16x16"):
        pca.encode(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        pca.decode(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="finite"):
        pca.decode(torch.full((2, 4), float("nan")))


def test_reconstruction_curve_tiny() -> None:
    x = noisy_images(n=48)
    train, test = x[:40], x[40:]
    curve = reconstruction_curve(
        train, test, [2, 4], steps=3, progress=False, device="cpu", batch_size=8
    )
    assert curve["latent_dim"] == [2, 4]
    for key in ("pca_psnr", "ae_psnr", "pca_mse", "ae_mse", "pca_parameters", "ae_parameters"):
        assert len(curve[key]) == 2
    assert curve["pca_psnr"][1] > curve["pca_psnr"][0]
    assert curve["pca_parameters"] == [D * 3, D * 5]
    assert isinstance(curve["pca"][4], PCA) and curve["ae"][4].n_parameters() > 0
    psnr_from_mse = 10 * np.log10(1 / np.array(curve["pca_mse"]))
    assert np.all(np.array(curve["pca_psnr"]) >= psnr_from_mse - 1e-6)  # Jensen
    with pytest.raises(ValueError, match="dims"):
        reconstruction_curve(train, test, [])
    with pytest.raises(ValueError, match="test"):
        reconstruction_curve(train, torch.rand(4, 3, 32, 32), [2], steps=1, progress=False)
