"""The VAE (sepviz.models.VAE), the Fréchet distance and the VAE chapter's experiment."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sepviz.experiments import Order, Reading
from sepviz.experiments import generative as g
from sepviz.metrics import frechet_distance
from sepviz.models import VAE, AutoEncoder
from sepviz.models.vae import kl_to_prior
from sepviz.recipes import recipe


def test_kl_is_zero_at_the_prior_and_positive_elsewhere() -> None:
    zeros = torch.zeros(4, 8)
    assert torch.equal(kl_to_prior(zeros, zeros), torch.zeros(4, 8))
    mu, logvar = torch.full((1, 1), 2.0), torch.full((1, 1), np.log(0.25))
    # KL(N(2, 0.25) || N(0, 1)) = (4 + 0.25 - ln 0.25 - 1) / 2
    expected = (4 + 0.25 - np.log(0.25) - 1) / 2
    assert kl_to_prior(mu, logvar).item() == pytest.approx(expected, rel=1e-6)
    assert (kl_to_prior(torch.randn(100, 3), torch.randn(100, 3)) >= 0).all()


def test_config_checks_beta_and_sigma() -> None:
    for bad in (-1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
            VAE(beta=bad)
    for bad in (0.0, -0.1, float("inf")):
        with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
            VAE(sigma=bad)
    assert VAE(beta=0).config.beta == 0


def test_shapes_sample_seed_and_export_parts() -> None:
    model = VAE(image_size=16, latent_dim=5).eval()
    x = torch.rand(3, 3, 16, 16)
    mu, logvar = model.posterior(x)
    assert mu.shape == logvar.shape == (3, 5)
    assert torch.equal(model.encode(x), mu)
    assert model.decode(torch.zeros(2, 5)).shape == (2, 3, 16, 16)
    a, b = model.sample(4, seed=7), model.sample(4, seed=7)
    assert a.shape == (4, 3, 16, 16) and torch.equal(a, b)
    assert not torch.equal(a, model.sample(4, seed=8))
    assert 0 <= float(a.min()) and float(a.max()) <= 1
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        model.sample(0)
    with pytest.raises(ValueError, match="y must be None"):
        model.fit(x, torch.zeros(3))
    parts = model.export_parts()
    assert list(parts) == ["decoder"] and parts["decoder"][2] == ["z"]


def test_frechet_distance_of_known_gaussians() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (20000, 2))
    b = rng.normal([3, 0], [2, 1], (20000, 2))
    # |mu_a - mu_b|^2 + sum (s_a - s_b)^2 for diagonal covariances: 9 + 1 = 10
    assert frechet_distance(a, b) == pytest.approx(10.0, rel=0.03)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="a and b must be"):
        frechet_distance(a, b[:, :1])


@pytest.fixture(scope="module")
def small_models() -> tuple[VAE, AutoEncoder, object]:
    faces = recipe("vae").training_faces(1024, 16, seed=0)
    kw = {"steps": 300, "seed": 0, "progress": False}
    vae = VAE(image_size=16, latent_dim=8).fit(faces.images, **kw)
    ae = AutoEncoder(image_size=16, latent_dim=8).fit(faces.images, **kw)
    return vae, ae, faces


def test_vae_samples_beat_autoencoder_prior_samples(small_models) -> None:
    vae, ae, faces = small_models
    result = g.generation(vae, ae, faces)
    fd = dict(zip(result.models, result.frechet))
    assert fd[g.VAE].value < fd[g.AE_PRIOR].value
    assert result.order(g.AE_PRIOR) is Order.BETTER  # by more than FRECHET_RATIO
    assert result.real_frechet.value < fd[g.VAE].value  # real faces are the floor
    assert result.told_apart(g.AE_PRIOR) is Reading.READS
    assert "Fréchet distance" in result.verdict and str(fd[g.VAE]) in result.verdict


def test_beta_sweep_traversal_and_interpolation(small_models) -> None:
    vae, ae, faces = small_models
    test = g.fresh_faces(faces, 400, seed=3)
    sweep = g.beta_sweep({1.0: vae}, ae, test)
    assert sweep.betas == (1.0,) and 0 <= sweep.active[0].value <= 8
    assert 0 <= sweep.mig[0].low <= sweep.mig[0].high <= 1
    assert sweep.kl[0].value > 0
    trav = g.traversal(vae, test, units=3, values=(-2.0, 0.0, 2.0))
    assert trav.images.shape == (3, 3, 3, 16, 16)
    assert list(trav.kl) == sorted(trav.kl, reverse=True)
    assert all(abs(r.value) <= 1 for r in trav.r) and len(trav.labels()) == 3
    line = g.interpolate(vae, test.images[0], test.images[1], steps=5)
    assert line.shape == (5, 3, 16, 16)
    ends = vae.batched(vae.reconstruct, test.images[:2])
    assert torch.allclose(line[[0, -1]], ends, atol=1e-5)
    with pytest.raises(ValueError, match="steps must be an int >= 2"):
        g.interpolate(vae, test.images[0], test.images[1], steps=1)
    with pytest.raises(ValueError, match="same increasing betas"):
        g.beta_sweep([{4.0: vae, 1.0: vae}], [ae], [test])
