"""Figures: each has a title and labelled axes; grids have the right cells; previews fire."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from sepviz import viz
from sepviz.probes import ProbeResult


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def suptitle(fig: Figure) -> str:
    return fig._suptitle.get_text() if fig._suptitle is not None else ""


def test_image_grid_flat_and_nested() -> None:
    fig = viz.image_grid(torch.rand(6, 3, 8, 8), nrow=3, title="six faces")
    assert isinstance(fig, Figure) and suptitle(fig) == "six faces"
    assert len(fig.axes) == 6
    fig = viz.image_grid(
        torch.rand(2, 3, 3, 8, 8), row_labels=["a", "b"], col_labels=["x", "y", "z"], title="t"
    )
    assert [ax.get_title() for ax in fig.axes[:3]] == ["x", "y", "z"]
    assert fig.axes[3].get_ylabel() == "b"
    with pytest.raises(ValueError, match="images must have shape"):
        viz.image_grid(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="col_labels has 4 entries for 3 columns"):
        viz.image_grid(torch.rand(2, 3, 3, 8, 8), col_labels=list("abcd"))


def test_swap_grid_puts_inputs_first() -> None:
    grid = torch.rand(2, 3, 3, 8, 8)
    inputs = torch.zeros(2, 3, 8, 8)
    fig = viz.swap_grid(grid, inputs, col_labels=["alice", "bob", "carol"], title="swaps")
    assert suptitle(fig) == "swaps"
    assert len(fig.axes) == 2 * 4
    assert [ax.get_title() for ax in fig.axes[:4]] == ["input", "alice", "bob", "carol"]
    first = fig.axes[0].get_images()[0].get_array()
    assert np.asarray(first).max() == 0  # the input (zeros) is the first cell
    with pytest.raises(ValueError, match="col_labels has 2 entries"):
        viz.swap_grid(grid, col_labels=["a", "b"])
    with pytest.raises(ValueError, match="inputs must be"):
        viz.swap_grid(grid, torch.zeros(3, 3, 8, 8))
    with pytest.raises(ValueError, match="grid must be"):
        viz.swap_grid(torch.rand(2, 3, 8, 8))


def test_umap_scatter_one_panel_per_factor() -> None:
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((50, 2))
    fig = viz.umap_scatter(
        emb,
        {"identity": np.arange(50) % 3, "light": rng.uniform(-1, 1, 50)},
        title="latents",
    )
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "UMAP-1"]
    assert len(panels) == 2 and all(ax.get_ylabel() == "UMAP-2" for ax in panels)
    assert suptitle(fig) == "latents"
    assert [ax.get_title() for ax in panels] == ["coloured by identity", "coloured by light"]
    assert panels[0].get_legend() is not None  # classes: a legend
    assert len(fig.axes) == 3  # the continuous factor: a colour bar
    assert panels[0].get_legend().get_title().get_text() == "identity"
    with pytest.raises(ValueError, match=r"colour_by\['x'\] must have shape \(50,\)"):
        viz.umap_scatter(emb, {"x": np.arange(49)})
    with pytest.raises(ValueError, match="embedding must be"):
        viz.umap_scatter(emb[:, :1], {"x": np.arange(50)})


class FakeHistory:
    steps = [0, 10, 20, 30]
    losses = {"recon": [1.0, 0.5, 0.3, 0.2], "adv": [0.7, 0.6, 0.7, 0.69]}


def test_loss_curves_history_and_dict() -> None:
    fig = viz.loss_curves(FakeHistory(), title="FaderNet losses")
    ax = fig.axes[0]
    assert suptitle(fig) == "FaderNet losses"
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"
    assert ax.get_yscale() == "log"
    assert list(ax.lines[0].get_xdata()) == [0, 10, 20, 30]
    fig = viz.loss_curves({"disc": [0.5, -0.2, 0.1]}, smooth=2)
    assert fig.axes[0].get_yscale() == "linear"  # a negative value: no log scale
    assert "moving average" in fig.axes[0].get_ylabel()
    with pytest.raises(ValueError, match="history must be"):
        viz.loss_curves({})


def _rows() -> list[dict]:
    rows = []
    for p, layer in enumerate(["enc1", "enc2", "dec1", "dec2"]):
        for factor, chance in (("identity", 0.25), ("light", 1 / 3)):
            rows.append(
                {
                    "layer": layer,
                    "position": p,
                    "factor": factor,
                    "metric": "accuracy",
                    "score": 0.5 + 0.1 * p,
                    "score_std": 0.02,
                    "chance": chance,
                    "n_features": 10,
                    "kind": "linear",
                }
            )
    return rows


def test_layer_curve_lines_chance_and_latent_mark() -> None:
    fig = viz.layer_curve(_rows(), title="where identity lives")
    ax = fig.axes[0]
    assert suptitle(fig) == "where identity lives"
    assert ax.get_ylabel() == "held-out accuracy"
    assert "layer" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["enc1", "enc2", "dec1", "dec2"]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 2  # one chance line per factor
    assert {line.get_ydata()[0] for line in dashed} == {0.25, 1 / 3}
    assert "latent" in [t.get_text() for t in ax.texts]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["identity", "light"]
    with pytest.raises(ValueError, match="rows is empty"):
        viz.layer_curve([])


def test_probe_bars_and_heatmap() -> None:
    results = {
        "identity": ProbeResult(0.9, 0.02, 0.25, "linear", "classification", 100, 8, 4),
        "light": ProbeResult(0.4, 0.05, 1 / 3, "linear", "classification", 100, 8, 3),
    }
    fig = viz.probe_bars(results, title="linear probes")
    ax = fig.axes[0]
    assert suptitle(fig) == "linear probes" and ax.get_ylabel() == "held-out accuracy"
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.9, 0.4])
    fig = viz.heatmap(np.eye(3), ["z0", "z1", "z2"], ["a", "b", "c"], title="importance")
    assert suptitle(fig) == "importance" and fig.axes[0].get_xlabel() == "factor"
    with pytest.raises(ValueError, match="row_labels has 2 entries"):
        viz.heatmap(np.eye(3), ["z0", "z1"], ["a", "b", "c"], title="x")


class FakeTwoDecoders(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.decoders = nn.ModuleDict({"alice": nn.Identity(), "bob": nn.Identity()})
        self.scale = nn.Parameter(torch.tensor(0.5))
        self.names = ["alice", "bob"]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def decode(self, z: torch.Tensor, name: str) -> torch.Tensor:
        return z * self.scale if name == "alice" else 1 - z


def test_preview_every_n_steps() -> None:
    shown: list[Figure] = []
    model = FakeTwoDecoders().train()
    images = torch.rand(3, 3, 8, 8)
    preview = viz.Preview(images, every=2, show=shown.append, title="DeepFakes")
    for step in range(6):
        preview(model, step, {"loss": 1.0})
    assert len(shown) == 3 and [s for s, _ in preview.frames] == [2, 4, 6]
    assert suptitle(shown[0]) == "DeepFakes: after 2 steps"
    assert [ax.get_ylabel() for ax in shown[0].axes[::3]] == ["input", "alice", "bob"]
    torch.testing.assert_close(preview.frames[0][1]["bob"], 1 - images)
    assert model.training  # put back in training mode

    class AE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.tensor(1.0))

        def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.w

    shown.clear()
    viz.Preview(images, every=1, show=shown.append)(AE(), 0, {})
    assert [ax.get_ylabel() for ax in shown[0].axes[::3]] == ["input", "output"]
    with pytest.raises(ValueError, match="every must be"):
        viz.Preview(images, every=0)
    with pytest.raises(ValueError, match="images must have shape"):
        viz.Preview(images[:, :1], every=1)
    with pytest.raises(ValueError, match="reconstruct"):
        viz.Preview(images, every=1, show=shown.append)(nn.Linear(1, 1), 0, {})


def test_feature_crops_enlarge_each_region_by_repeating_pixels() -> None:
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    regions = {"top": (slice(2, 5), slice(4, 12)), "low": (slice(10, 14), slice(6, 10))}
    fig = viz.feature_crops(
        [x, 1 - x], regions, col_labels=["a", "b"], row_labels=["r0", "r1"], zoom=3
    )
    assert len(fig.axes) == 4 and [ax.get_title() for ax in fig.axes[:2]] == ["a", "b"]
    assert fig.axes[0].get_ylabel() == "r0" and fig.axes[2].get_ylabel() == "r1"
    shown = np.asarray(fig.axes[0].images[0].get_array())
    # 3 rows of "top", a white line, 4 rows of "low"; as wide as the widest region; x3
    assert shown.shape == ((3 + 1 + 4) * 3, 8 * 3, 3)
    assert (shown[:3, :3] == shown[0, 0]).all()  # each pixel a 3 x 3 block
    pixels = shown[::3, ::3]
    np.testing.assert_allclose(pixels[:3], x[0, :, 2:5, 4:12].permute(1, 2, 0), atol=1e-6)
    assert (pixels[3] == 1).all()  # the white line between the regions
    low = x[0, :, 10:14, 6:10].permute(1, 2, 0)
    np.testing.assert_allclose(pixels[4:, 2:6], low, atol=1e-6)  # centred: 2 white each side
    assert (pixels[4:, :2] == 1).all() and (pixels[4:, 6:] == 1).all()
    second = np.asarray(fig.axes[1].images[0].get_array())[::3, ::3]
    np.testing.assert_allclose(second[:3], 1 - x[0, :, 2:5, 4:12].permute(1, 2, 0), atol=1e-6)
    plt.close(fig)
    with pytest.raises(ValueError, match="col_labels has 1 entries for 2 columns"):
        viz.feature_crops([x, x], regions, col_labels=["a"])
    with pytest.raises(ValueError, match="zoom must be >= 1"):
        viz.feature_crops([x], regions, col_labels=["a"], zoom=0)
    with pytest.raises(ValueError, match="columns must share one shape"):
        viz.feature_crops([x, x[:1]], regions, col_labels=["a", "b"])


def test_expression_regions_find_the_eyes_above_the_mouth() -> None:
    from sepviz.data.synthetic import make_faces
    from sepviz.experiments import measures

    regions = measures.expression_regions(32)
    (eye_rows, eye_cols), (mouth_rows, mouth_cols) = regions["eyes"], regions["mouth"]
    assert eye_rows.stop <= mouth_rows.start  # the eyes above the mouth
    # the renderer draws the eyes at y = 0.14 and the mouth at y = -0.42 (y up, in [-1, 1])
    assert eye_rows.start <= round((1 - 0.14) / 2 * 32) < eye_rows.stop
    assert mouth_rows.start <= round((1 + 0.42) / 2 * 32) < mouth_rows.stop
    assert mouth_cols.start < 16 < mouth_cols.stop and eye_cols.start < 16 < eye_cols.stop
    # on faces it was not found on, opening the mouth moves pixels inside its box only
    shut, wide = (
        make_faces(16, 32, identities=16, seed=9, expression=[0.5, m, 0.5]).images
        for m in (0.0, 1.0)
    )
    moved = (shut - wide).abs().mean(1) > 0.05
    inside = torch.zeros(32, 32, dtype=torch.bool)
    inside[mouth_rows, mouth_cols] = True
    assert moved[:, inside].any() and not moved[:, ~inside].any()
    # a turned head moves its mouth sideways: the box over all turns is wider
    turned = measures.expression_regions(32, yaw=(-30.0, 30.0))
    span = turned["mouth"][1].stop - turned["mouth"][1].start
    assert span > mouth_cols.stop - mouth_cols.start
    with pytest.raises(ValueError, match="threshold=2.0"):
        measures.expression_regions(32, threshold=2.0)
