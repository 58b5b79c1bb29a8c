"""sepviz.probes, sepviz.metrics and sepviz.grids, on answers known by design.

Probes, layer probes, probe tables and readable layers; image errors; swap, layer-swap and
relight grids (MIG and DCI: tests/test_metrics.py). The models here are tiny fakes that follow
the sepviz model contract (``encode``, ``decode``, ``decoders``, ``probe_layers``,
``relight``), so these tests do not depend on sepviz.models.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from sepviz import probes
from sepviz.grids import decoder_names, decoder_swap_grid, layer_swap_grid, relight_grid
from sepviz.metrics import ground_truth_error, psnr, ssim
from sepviz.models import DeepFakes
from sepviz.probes import (
    ProbeResult,
    extract_latents,
    layer_activations,
    layer_probes,
    probe,
    probe_table,
    readable_layers,
)

# -- fakes -----------------------------------------------------------------------------------


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.ReLU())


class FakeDeepFakes(nn.Module):
    """Shared encoder (2 blocks), one 3-block decoder per identity, decode = sigmoid(dec(z))."""

    def __init__(self, names: tuple[str, ...] = ("alice", "bob")) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.ReLU()),
            nn.Sequential(nn.Conv2d(4, 8, 3, 2, 1), nn.ReLU()),
        )
        self.decoders = nn.ModuleDict(
            {n: nn.Sequential(_block(8, 8), _block(8, 4), nn.Conv2d(4, 3, 3, 1, 1)) for n in names}
        )
        self.names = list(names)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor, name: str) -> torch.Tensor:
        return torch.sigmoid(self.decoders[name](z))

    def swap(self, x: torch.Tensor, to: str) -> torch.Tensor:
        return self.decode(self.encode(x), to)

    def probe_layers(self, decoder: str | None = None) -> dict[str, nn.Module]:
        dec = self.decoders[decoder or self.names[0]]
        layers = {f"enc{i + 1}": m for i, m in enumerate(self.encoder)}
        layers.update({f"dec{i + 1}": m for i, m in enumerate(dec)})
        return layers


class FakeAE(nn.Module):
    """Single decoder; its first layer passes the image through unchanged."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.enc = nn.Sequential(nn.Identity(), nn.Conv2d(3, 4, 3, 2, 1))
        self.dec = nn.Sequential(nn.ConvTranspose2d(4, 3, 4, 2, 1))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(x)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.dec(self.enc(x)))

    def probe_layers(self, decoder: str | None = None) -> dict[str, nn.Module]:
        return {"enc1": self.enc[0], "enc2": self.enc[1], "dec1": self.dec[0]}


class FakeFader(nn.Module):
    attribute_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(0.3))

    def relight(self, x: torch.Tensor, y: torch.Tensor | float) -> torch.Tensor:
        y = torch.as_tensor(y, dtype=x.dtype, device=x.device).reshape(-1, self.attribute_dim)
        return (
            x * (1 + self.gain * y[:, 0, None, None, None]) + 0.1 * y[:, 1, None, None, None]
        ).clamp(0, 1)


def balanced_labels(n: int, classes: int, seed: int = 0) -> np.ndarray:
    labels = np.arange(n) % classes
    return np.random.default_rng(seed).permutation(labels)


# -- latents and probes ----------------------------------------------------------------------


def test_extract_latents_flattens_and_restores_mode() -> None:
    model = FakeDeepFakes().train()
    x = torch.rand(10, 3, 16, 16)
    z = extract_latents(model, x, batch_size=3)
    assert z.shape == (10, 8 * 4 * 4) and z.dtype == torch.float32 and z.device.type == "cpu"
    with torch.no_grad():
        torch.testing.assert_close(z, model.encode(x).flatten(1))
    assert model.training  # put back as it was


def test_extract_latents_errors() -> None:
    with pytest.raises(ValueError, match="images must have shape"):
        extract_latents(FakeDeepFakes(), torch.rand(4, 1, 16, 16))
    with pytest.raises(ValueError, match=r"images must lie in \[0, 1\]"):
        extract_latents(FakeDeepFakes(), 2 * torch.ones(4, 3, 16, 16))
    with pytest.raises(ValueError, match="encode"):
        extract_latents(nn.Linear(2, 2), torch.rand(4, 3, 16, 16))


def test_extract_latents_takes_a_faceset() -> None:
    from sepviz.data import FaceSet

    x = torch.rand(4, 3, 16, 16)
    faces = FaceSet(x, {"identity": torch.tensor([0, 1, 0, 1])})
    torch.testing.assert_close(
        extract_latents(FakeDeepFakes(), faces), extract_latents(FakeDeepFakes(), x)
    )


def test_probe_on_the_label_itself_scores_100_percent() -> None:
    y = balanced_labels(600, 3)
    z = np.eye(3)[y] + 0.01 * np.random.default_rng(0).standard_normal((600, 3))
    for kind in ("linear", "mlp"):
        result = probe(torch.tensor(z, dtype=torch.float32), torch.tensor(y), kind=kind)
        assert result.accuracy == pytest.approx(1.0)
        assert result.score_std == pytest.approx(0.0)
        assert result.chance == pytest.approx(1 / 3)
        assert result.task == "classification" and result.n_classes == 3 and result.r2 is None
        assert len(result.fold_scores) == 5
    assert str(result) == "mlp probe: 100.0% ± 0.0 (chance 33.3%)"


@pytest.mark.parametrize("kind, tolerance", [("linear", 0.06), ("mlp", 0.08)])
def test_probe_on_noise_scores_near_chance(kind: str, tolerance: float) -> None:
    y = balanced_labels(600, 3)
    z = np.random.default_rng(1).standard_normal((600, 16))
    result = probe(z, y, kind=kind, seed=0)
    assert abs(result.accuracy - result.chance) < tolerance, str(result)
    assert result.accuracy_std < 0.1


def xor_codes(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(N, 64) codes whose 2 classes are the XOR of the signs of two directions, spread over
    every unit by a rotation: no line separates them, a one-layer MLP does."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 64))
    label = (z[:, 0] * z[:, 1] > 0).astype(int)
    return z @ np.linalg.qr(rng.standard_normal((64, 64)))[0], label


def test_the_plain_mlp_probe_reads_a_nonlinear_answer_the_linear_probe_cannot() -> None:
    from sepviz.experiments import Reading, reading
    from sepviz.experiments.measures import fold_estimate

    z, label = xor_codes(1000)
    linear, mlp = (probe(z, label, kind=k) for k in ("linear", "mlp"))
    assert reading(fold_estimate(mlp), mlp.chance) is Reading.READS, str(mlp)
    assert mlp.accuracy > 0.6, str(mlp)
    assert reading(fold_estimate(linear), linear.chance) is not Reading.READS, str(linear)
    # trained to convergence, and the iterations it took are in the result
    assert mlp.converged and len(mlp.iterations) == 5 and mlp.max_iter == probes.MLP_MAX_ITER
    assert all(0 < i < probes.MLP_MAX_ITER for i in mlp.iterations)
    assert "not converged" not in str(mlp)


def test_a_probe_that_stops_at_its_limit_says_it_did_not_converge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sklearn.exceptions import ConvergenceWarning

    monkeypatch.setattr(probes, "MLP_MAX_ITER", 3)
    z, label = xor_codes(300)
    with pytest.warns(ConvergenceWarning):  # scikit-learn's warning is not silenced
        result = probe(z, label, kind="mlp")
    assert result.iterations == [3] * 5 and result.max_iter == 3 and not result.converged
    assert str(result).endswith(", not converged in 3 iterations)")


def test_ridge_has_no_iterations_and_counts_as_converged() -> None:
    rng = np.random.default_rng(4)
    t = rng.uniform(-1, 1, 200)
    result = probe(np.stack([t, rng.standard_normal(200)], 1), t)
    assert result.iterations == [] and result.max_iter is None and result.converged


def test_probe_chance_is_the_majority_class_and_strings_work() -> None:
    y = np.array(["left"] * 70 + ["right"] * 30)
    z = np.random.default_rng(2).standard_normal((100, 4))
    result = probe(z, y)
    assert result.chance == pytest.approx(0.7)
    assert result.n_samples == 100 and result.n_features == 4


def test_regression_probe_r2() -> None:
    rng = np.random.default_rng(3)
    t = rng.uniform(-1, 1, 500).astype(np.float32)
    z = np.stack([t, 2 * t, rng.standard_normal(500)], 1)
    for kind in ("linear", "mlp"):
        good = probe(z, t, kind=kind)
        assert good.task == "regression" and good.metric == "r2" and good.accuracy is None
        assert good.r2 > 0.98
        bad = probe(rng.standard_normal((500, 8)), t, kind=kind)
        assert abs(bad.r2) < 0.15 and bad.chance == 0.0
    assert str(good).startswith("mlp probe: R² ") and "(chance 0.000)" in str(good)


def test_probe_task_override_treats_floats_as_classes() -> None:
    y = balanced_labels(90, 3).astype(np.float32)
    z = np.eye(3)[y.astype(int)]
    assert probe(z, y, task="classification").accuracy == pytest.approx(1.0)


def test_probe_errors() -> None:
    z = np.zeros((10, 2))
    with pytest.raises(ValueError, match="labels has 9 entries but there are 10"):
        probe(z, np.arange(9))
    with pytest.raises(ValueError, match="single class"):
        probe(z, np.zeros(10, dtype=int))
    with pytest.raises(ValueError, match="kind must be one of"):
        probe(z, np.arange(10) % 2, kind="tree")
    with pytest.raises(ValueError, match="class 1 has only 1 samples"):
        probe(z, np.array([0] * 9 + [1]))
    with pytest.raises(ValueError, match="folds must be"):
        probe(z, np.arange(10) % 2, folds=1)
    with pytest.raises(ValueError, match="NaN"):
        probe(np.full((10, 2), np.nan), np.arange(10) % 2)
    with pytest.raises(ValueError, match="task must be"):
        probe(z, np.arange(10) % 2, task="ranking")


def test_probe_result_is_a_dataclass_with_readable_text() -> None:
    r = ProbeResult(0.931, 0.012, 1 / 3, "linear", "classification", 10, 2, 3)
    assert str(r) == "linear probe: 93.1% ± 1.2 (chance 33.3%)"
    assert r.above_chance == pytest.approx(0.931 - 1 / 3)


# -- layer by layer --------------------------------------------------------------------------


def _label_images(n: int = 150) -> tuple[torch.Tensor, np.ndarray]:
    y = balanced_labels(n, 3, seed=4)
    gen = torch.Generator().manual_seed(0)
    x = 0.3 * torch.rand(n, 3, 8, 8, generator=gen)
    x[:, 0] += 0.3 * torch.tensor(y, dtype=torch.float32)[:, None, None]
    return x.clamp(0, 1), y


def test_layer_probes_one_row_per_layer_and_factor() -> None:
    x, y = _label_images()
    noise = balanced_labels(len(y), 3, seed=99)
    rows = layer_probes(FakeAE(), x, {"label": y, "noise": noise})
    assert [(r["layer"], r["factor"]) for r in rows] == [
        (layer, f) for layer in ("enc1", "enc2", "dec1") for f in ("label", "noise")
    ]
    by = {(r["layer"], r["factor"]): r for r in rows}
    assert by["enc1", "label"]["score"] == pytest.approx(1.0)  # the layer holds the label
    assert by["enc1", "label"]["chance"] == pytest.approx(1 / 3)
    assert by["enc1", "label"]["n_features"] == 3 * 8 * 8
    assert all(abs(by[layer, "noise"]["score"] - 1 / 3) < 0.15 for layer in ("enc1", "dec1"))
    assert [r["position"] for r in rows[::2]] == [0, 1, 2]


def test_layer_activations_pool_big_maps_and_choose_decoder() -> None:
    model = FakeDeepFakes()
    x = torch.rand(6, 3, 32, 32)
    acts = layer_activations(model, x, decoder="bob", max_features=100, pool=2)
    assert list(acts) == ["enc1", "enc2", "dec1", "dec2", "dec3"]
    assert acts["enc1"].shape == (6, 4 * 2 * 2)  # 4x16x16 > 100: pooled to 2x2
    assert acts["enc2"].shape == (6, 8 * 8 * 8 // 16)  # 8x8x8 = 512 > 100: pooled
    assert acts["dec3"].shape == (6, 3 * 2 * 2)
    small = layer_activations(model, x, decoder="bob", max_features=4096)
    assert small["enc2"].shape == (6, 8 * 8 * 8)  # <= max_features: flattened
    # the decoder="bob" hooks really see bob's layers
    with torch.no_grad():
        out = model.decoders["bob"](model.encode(x))
    torch.testing.assert_close(small["dec3"], out.flatten(1))


def test_layer_probes_errors() -> None:
    x, y = _label_images(30)
    model = FakeAE()
    with pytest.raises(ValueError, match="never called"):
        layer_probes(model, x, {"label": y}, forward=model.encode, folds=3)
    with pytest.raises(ValueError, match=r"labels\['label'\] has 29 entries"):
        layer_probes(model, x, {"label": y[:29]})
    with pytest.raises(ValueError, match="non-empty dict"):
        layer_probes(model, x, {})
    with pytest.raises(ValueError, match="valid names"):
        layer_probes(FakeDeepFakes(), torch.rand(30, 3, 16, 16), {"label": y}, decoder="carol")


# -- image errors ----------------------------------------------------------------------------


def test_psnr_known_values() -> None:
    a = torch.full((2, 3, 8, 8), 0.5)
    assert torch.isinf(psnr(a, a)).all()
    assert psnr(a, a + 0.1).tolist() == pytest.approx([20.0, 20.0])
    b = a.clone()
    b[1] += 0.01  # MSE 1e-4 -> 40 dB
    assert psnr(a, b).tolist() == pytest.approx([math.inf, 40.0])
    with pytest.raises(ValueError, match="same shape"):
        psnr(a, a[:1])
    assert psnr(4 * a, 4 * a + 0.4, data_range=4.0).tolist() == pytest.approx([20.0, 20.0])
    with pytest.raises(ValueError, match=r"a must lie in \[0, 1\]"):
        psnr(4 * a, a)


def test_ssim_identical_is_one_and_noise_is_lower() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(3, 3, 16, 16, generator=gen)
    assert ssim(a, a).tolist() == pytest.approx([1.0] * 3)
    noisy = (a + 0.2 * torch.randn(a.shape, generator=gen)).clamp(0, 1)
    assert (ssim(a, noisy) < 0.9).all()
    assert ssim(a[:, :, :5, :5], a[:, :, :5, :5]).tolist() == pytest.approx([1.0] * 3)


def test_ground_truth_error_with_baselines() -> None:
    gen = torch.Generator().manual_seed(1)
    truth = torch.rand(4, 3, 16, 16, generator=gen)
    inputs = torch.rand(4, 3, 16, 16, generator=gen)
    out = ground_truth_error(truth.clone(), truth, inputs)
    assert set(out) == {"model", "input unchanged", "mean face"}
    assert math.isinf(out["model"]["psnr"]) and out["model"]["ssim"] == pytest.approx(1.0)
    assert out["input unchanged"]["psnr"] == pytest.approx(float(psnr(inputs, truth).mean()))
    mean = inputs.mean(0, keepdim=True).expand_as(truth)
    assert out["mean face"]["psnr"] == pytest.approx(float(psnr(mean, truth).mean()))
    assert out["mean face"]["ssim"] == pytest.approx(float(ssim(mean, truth).mean()))
    custom = ground_truth_error(inputs, truth, inputs, mean_face=truth[0])
    assert custom["mean face"]["psnr"] == pytest.approx(
        float(psnr(truth[:1].expand_as(truth), truth).mean())
    )
    with pytest.raises(ValueError, match="pred has shape"):
        ground_truth_error(truth[:2], truth, inputs)


# -- grids of model outputs ------------------------------------------------------------------


def test_decoder_swap_grid_columns_are_the_decoders() -> None:
    model = FakeDeepFakes(("alice", "bob", "carol"))
    x = torch.rand(5, 3, 16, 16)
    grid = decoder_swap_grid(model, x, batch_size=2)
    assert grid.shape == (5, 3, 3, 16, 16)
    with torch.no_grad():
        for k, name in enumerate(model.names):
            torch.testing.assert_close(grid[:, k], model.decode(model.encode(x), name))
    assert not torch.allclose(grid[:, 0], grid[:, 1])
    rev = decoder_swap_grid(model, x, names=["carol", "alice"])
    torch.testing.assert_close(rev[:, 0], grid[:, 2])
    with pytest.raises(ValueError, match=r"valid names: \['alice', 'bob', 'carol'\]"):
        decoder_swap_grid(model, x, names=["dave"])
    with pytest.raises(ValueError, match="no decoders"):
        decoder_swap_grid(FakeAE(), x)


def test_layer_swap_grid_moves_from_target_to_source() -> None:
    model = FakeDeepFakes()
    x = torch.rand(4, 3, 16, 16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grid = layer_swap_grid(model, x, source="bob", target="alice", batch_size=3)
    assert grid.shape == (4, 4, 3, 16, 16)  # L = 3 blocks -> k = 0..3
    src, tgt = model.decoders["bob"], model.decoders["alice"]
    with torch.no_grad():
        z = model.encode(x)
        torch.testing.assert_close(grid[:, 0], model.decode(z, "alice"))
        torch.testing.assert_close(grid[:, 3], model.decode(z, "bob"))
        for k in (1, 2):
            hybrid = nn.Sequential(*list(src)[:k], *list(tgt)[k:])
            torch.testing.assert_close(grid[:, k], torch.sigmoid(hybrid(z)))
    for key, value in model.state_dict().items():  # the model is left as it was
        torch.testing.assert_close(value, before[key])
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(ValueError, match="source='eve'"):
        layer_swap_grid(model, x, source="eve", target="alice")


def test_relight_grid_sets_the_chosen_attribute() -> None:
    model = FakeFader()
    x = torch.rand(3, 3, 8, 8) * 0.5
    grid = relight_grid(model, x, [-1.0, 0.0, 1.0])
    assert grid.shape == (3, 3, 3, 8, 8)
    torch.testing.assert_close(grid[:, 1], x)
    torch.testing.assert_close(grid[:, 2], (x * 1.3).clamp(0, 1))
    second = relight_grid(model, x, [1.0], attribute_index=1)
    torch.testing.assert_close(second[:, 0], (x + 0.1).clamp(0, 1))
    with pytest.raises(ValueError, match="attribute_index"):
        relight_grid(model, x, [1.0], attribute_index=2)
    with pytest.raises(ValueError, match="values is empty"):
        relight_grid(model, x, [])
    with pytest.raises(ValueError, match="one decoder per class"):
        relight_grid(MultiDecoderLike(), x, [1.0])


def test_decoder_names_are_the_model_names() -> None:
    model = FakeDeepFakes(("alice", "bob"))
    assert decoder_names(model) == ["alice", "bob"]
    model.names = ["bob", "alice"]
    assert decoder_names(model) == ["bob", "alice"]
    assert decoder_names(DeepFakes(identities=["A", "C"], image_size=16)) == ["A", "C"]
    assert decoder_names(FakeAE(), required=False) == []
    with pytest.raises(ValueError, match="no decoders"):
        decoder_names(FakeAE())


class MultiDecoderLike(FakeDeepFakes):
    def relight(self, x: torch.Tensor, to: str) -> torch.Tensor:
        return self.decode(self.encode(x), to)


def test_imports_stay_light() -> None:
    code = (
        "import sys, sepviz.probes, sepviz.metrics, sepviz.grids, sepviz.viz, sepviz.widgets; "
        "heavy = {'sklearn', 'umap', 'matplotlib', 'ipywidgets', 'skimage'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- UMAP ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_umap_embed_separates_clusters() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 100)
    z = rng.standard_normal((300, 10)) + 6 * np.eye(10)[y]
    emb = probes.umap_embed(z, seed=0)
    assert emb.shape == (300, 2) and emb.dtype == np.float32 and np.isfinite(emb).all()
    centres = np.stack([emb[y == c].mean(0) for c in range(3)])
    nearest = np.argmin(((emb[:, None] - centres[None]) ** 2).sum(-1), 1)
    assert (nearest == y).mean() > 0.95
    with pytest.raises(ValueError, match="n_neighbors"):
        probes.umap_embed(z[:10])


def test_whitened_probe_reads_a_label_hidden_in_a_direction_of_tiny_variance() -> None:
    # The label is written along (1, -1) with an amplitude 1e-3 of the spread along (1, 1):
    # each feature, standardised alone, is almost all spread, and an L2-regularised logistic
    # regression cannot afford the weights needed to read it; whitening makes it plain.
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (600,), generator=g)
    spread = torch.randn(600, generator=g)
    signal = 1e-3 * (2.0 * labels - 1 + 0.2 * torch.randn(600, generator=g))
    z = torch.stack([spread + signal, spread - signal], dim=1)
    plain = probe(z, labels, kind="linear")
    whitened = probe(z, labels, kind="linear", whiten=True)
    assert plain.score < plain.chance + 0.1
    assert whitened.score > 0.95 and whitened.whitened and not plain.whitened
    assert str(whitened).startswith("whitened linear probe:")


# -- tables and facts ------------------------------------------------------------------------


def _result(score: float, chance: float, task: str = "classification") -> ProbeResult:
    return ProbeResult(
        score=score,
        score_std=0.01,
        chance=chance,
        kind="linear",
        task=task,
        n_samples=100,
        n_features=8,
    )


def test_probe_table_formats_accuracy_and_r2() -> None:
    table = probe_table(
        {
            "identity": {"linear": _result(0.991, 0.125), "MLP": _result(0.943, 0.125)},
            "smile": {
                "linear": _result(0.745, 0.0, "regression"),
                "MLP": _result(0.85, 0.0, "regression"),
            },
        }
    )
    lines = table.splitlines()
    assert lines[0] == "| factor | metric | linear | MLP | chance |"
    assert lines[1] == "|---|---|---|---|---|"
    assert lines[2] == "| identity | accuracy | 99.1% ± 1.0 | 94.3% ± 1.0 | 12.5% |"
    assert lines[3] == "| smile | R² | 0.745 ± 0.010 | 0.850 ± 0.010 | 0.000 |"


def test_probe_table_row_header() -> None:
    table = probe_table({"x": {"linear": _result(0.5, 0.5)}}, row_header="model")
    assert table.startswith("| model | metric | linear | chance |")


@pytest.mark.parametrize(
    "results, match",
    [
        ({}, "results is empty"),
        ({"a": {}}, "non-empty dict"),
        ({"a": {"linear": 0.5}}, "non-ProbeResult"),
        ({"a": {"linear": _result(0.9, 0.5)}, "b": {"mlp": _result(0.9, 0.5)}}, "columns"),
        (
            {"a": {"linear": _result(0.9, 0.5), "mlp": _result(0.9, 0.0, "regression")}},
            "mixes metrics",
        ),
        ({"a": {"linear": _result(0.9, 0.5), "mlp": _result(0.9, 0.3)}}, "chance levels"),
    ],
)
def test_probe_table_rejects_bad_input(results: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        probe_table(results)


ROWS = [
    {"layer": "enc1", "factor": "identity", "score": 1.0, "chance": 0.5},
    {"layer": "enc1", "factor": "light", "score": 0.9, "chance": 0.35},
    {"layer": "enc2", "factor": "identity", "score": 0.55, "chance": 0.5},
    {"layer": "enc2", "factor": "light", "score": 0.4, "chance": 0.35},
    {"layer": "dec1", "factor": "identity", "score": 0.95, "chance": 0.5},
    {"layer": "dec1", "factor": "light", "score": 0.45, "chance": 0.35},
]


def test_readable_layers_keeps_network_order_and_margin() -> None:
    assert readable_layers(ROWS, "identity") == ["enc1", "dec1"]
    assert readable_layers(ROWS, "light") == ["enc1", "dec1"]
    assert readable_layers(ROWS, "light", margin=0.2) == ["enc1"]
    assert readable_layers(ROWS, "identity", margin=0.0) == ["enc1", "enc2", "dec1"]
    assert readable_layers(ROWS, "identity", margin=0.6) == []


@pytest.mark.parametrize(
    "rows, factor, margin, match",
    [
        ([], "identity", 0.1, "rows is empty"),
        ([{"layer": "enc1", "factor": "identity"}], "identity", 0.1, "lack the keys"),
        (ROWS, "nose", 0.1, "factor='nose' is not in rows"),
        (ROWS, "identity", -0.1, "margin must be >= 0"),
    ],
)
def test_readable_layers_rejects_bad_input(
    rows: list, factor: str, margin: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        readable_layers(rows, factor, margin)
