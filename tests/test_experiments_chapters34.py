"""Chapters 4 and 5's experiments added for the rewrite: the identity probe and the layer swap
of a DeepFakes model, the FaderNet verdicts (light removal, slider), and the loss curves with
a second axis (FaderNet's lambda).

Small and fast: 16 px faces, a model trained for a few steps, or hand-made Estimates.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sepviz import viz
from sepviz.data.synthetic import make_faces, swapped
from sepviz.experiments import Estimate, deepfakes
from sepviz.experiments.deepfakes import IdentityProbe, LayerSwap
from sepviz.experiments.fadernet import FactorsKept, LightRemoval
from sepviz.experiments.measures import SliderCheck
from sepviz.metrics import psnr
from sepviz.models import DeepFakes

SIZE = 16


def pct(value: float, half: float = 0.02) -> Estimate:
    return Estimate(value, value - half, value + half, "%")


def r2(value: float, half: float = 0.02) -> Estimate:
    return Estimate(value, value - half, value + half, "")


def db(value: float, half: float = 0.3) -> Estimate:
    return Estimate(value, value - half, value + half, "dB")


@pytest.fixture(scope="module")
def model() -> DeepFakes:
    torch.manual_seed(0)
    faces = make_faces(256, size=SIZE, identities=["A", "B"], seed=0)
    net = DeepFakes(identities=["A", "B"], image_size=SIZE, latent_dim=16)
    return net.fit(
        faces.images, faces.factors["identity"], steps=60, progress=False, device="cpu", seed=0
    )


# -- identity probe ------------------------------------------------------------------------
def test_identity_probe_reads_identity_from_pixels_and_latent(model: DeepFakes) -> None:
    faces = make_faces(200, size=SIZE, identities=["A", "B"], seed=2)
    result = deepfakes.identity_probe(model, faces)
    assert result.factors == ("identity", "light_class", "smile")
    assert result.chance[0] == pytest.approx(0.5)  # A and B alternate: balanced
    assert result.chance[2] == 0.0  # R² of the mean
    assert 0.3 <= result.chance[1] <= 0.5  # three light classes over a uniform azimuth
    # A and B differ in every identity factor: pixels tell them apart without error
    assert result.pixels[0].value >= 0.95
    assert result.latent[0].value >= 0.9  # nothing asks the encoder to drop identity
    assert [e.unit for e in result.latent] == ["%", "%", ""]
    for e in result.latent + result.pixels:
        assert e.low <= e.value <= e.high
    assert result.verdict.startswith("**Not identity-free.**")
    assert "chance 50%" in result.verdict
    table = result.table()
    assert table.count("\n") == 2 + 3 and "pixels (PCA)" in table
    fig = result.plot()
    assert fig.axes[0].get_title() and fig.axes[0].get_ylabel()


def test_identity_probe_needs_identity(model: DeepFakes) -> None:
    faces = make_faces(50, size=SIZE, identities=["A", "B"], seed=2)
    with pytest.raises(ValueError, match="identity"):
        deepfakes.identity_probe(model, faces, factors=("smile",))


def make_probe(identity: Estimate, light: Estimate | None = None) -> IdentityProbe:
    light = light if light is not None else pct(0.9)
    return IdentityProbe(
        factors=("identity", "light_class", "smile"),
        latent=(identity, light, r2(0.8)),
        pixels=(pct(1.0, 0.0), pct(0.97), r2(0.9)),
        chance=(0.5, 0.36, 0.0),
    )


def test_identity_probe_verdict_follows_the_interval() -> None:
    assert make_probe(pct(0.99)).verdict.startswith("**Not identity-free.**")
    # the reading bar of 2 classes, 55%, lies on the interval [0.55, 0.65]
    assert make_probe(pct(0.60, 0.05)).verdict.startswith("**Not distinguishable**")
    free = make_probe(pct(0.51, 0.03))
    assert free.verdict.startswith("**Identity-free**")
    assert "It keeps what A and B share" in free.verdict
    lost = make_probe(pct(0.99), light=pct(0.37))
    assert "It does not keep (at or below chance): light class 37% ± 2" in lost.verdict
    assert "light class 37% ± 2" in lost.verdict
    # the verdict renders as one admonition
    md = free._repr_markdown_()
    assert md.startswith("```{admonition} Verdict") and md.count("```") == 2


# -- several training runs -----------------------------------------------------------------
def test_swap_and_probe_over_two_training_runs(model: DeepFakes) -> None:
    torch.manual_seed(1)
    faces = make_faces(128, size=SIZE, identities=["A", "B"], seed=1)
    other = DeepFakes(identities=["A", "B"], image_size=SIZE, latent_dim=16).fit(
        faces.images, faces.factors["identity"], steps=20, progress=False, device="cpu", seed=1
    )
    test = make_faces(48, size=SIZE, identities=["A"], seed=1)
    one, two = (deepfakes.swap_quality(m, test, target="B") for m in (model, other))
    both = deepfakes.swap_quality([model, other], test, target="B")
    assert both.per_run == (one, two) and not one.per_run
    assert both.swap.runs == both.gain.runs == 2 and one.gain.runs == 1
    assert both.gain.value == pytest.approx((one.gain.value + two.gain.value) / 2)
    assert both.unchanged == one.unchanged == two.unchanged  # no model changes a baseline
    assert "over 2 training runs" in both.verdict and "training runs" not in one.verdict
    assert len(both.spreads()) == 3  # the swap, its gain and its gap to the ceiling
    assert deepfakes.swap_quality([model], test, target="B") == one  # one run is one model
    probed = make_faces(120, size=SIZE, identities=["A", "B"], seed=2)
    single = deepfakes.identity_probe(model, probed)
    runs = deepfakes.identity_probe((model, other), probed)
    assert runs.per_run[0] == single and runs.pixels == single.pixels
    assert all(e.runs == 2 for e in runs.latent)
    assert "over 2 training runs" in runs.verdict
    assert runs.spread_table().count("\n") == 2 + 3
    with pytest.raises(ValueError, match="empty"):
        deepfakes.swap_quality([], test)


# -- layer swap ----------------------------------------------------------------------------
def test_layer_swap_ends_are_the_plain_decoders(model: DeepFakes) -> None:
    test = make_faces(64, size=SIZE, identities=["A"], seed=1)
    result = deepfakes.layer_swap(model, test, source="B", target="A")
    blocks = len(model.decoders["A"])
    assert result.blocks == blocks and len(result.to_source) == blocks + 1
    # k = 0 is decoder A's reconstruction, k = L is the swap to B
    recon = psnr(model.swap(test.images, "A"), test.images).mean()
    swap = psnr(model.swap(test.images, "B"), swapped(test, "B")).mean()
    assert result.to_target[0].value == pytest.approx(float(recon), abs=1e-3)
    assert result.to_source[-1].value == pytest.approx(float(swap), abs=1e-3)
    quality = deepfakes.swap_quality(model, test, target="B")
    assert result.to_source[-1].value == pytest.approx(quality.swap.value, abs=1e-3)
    assert len(result.who) == blocks + 1
    assert set(result.who) <= {"A", "B", "neither", "not distinguishable"}
    assert result.table().count("\n") == 2 + blocks + 2  # header, rule, L + 1 rows, floor


def make_swap(gain_a: list[float], gain_b: list[float]) -> LayerSwap:
    return LayerSwap(
        source="B",
        target="A",
        to_target=tuple(db(20 + g) for g in gain_a),
        to_source=tuple(db(20 + g) for g in gain_b),
        gain_target=tuple(db(g) for g in gain_a),
        gain_source=tuple(db(g) for g in gain_b),
        floor_target=db(20),
        floor_source=db(20),
    )


def test_layer_swap_verdict_says_mixed_decoders_give_neither() -> None:
    result = make_swap([10, -3, -4, -2, -6], [-5, -3, -4, -2, 8])
    assert result.who == ("A", "neither", "neither", "neither", "B")
    verdict = result.verdict
    assert verdict.startswith("**Mixed decoders give neither A nor B.**")
    assert "k = 1, 2, 3" in verdict and "cannot place" in verdict
    # an interval covering 0 is not called either way
    unsure = make_swap([10, 0.1, -4, -2, -6], [-5, -0.1, -4, -2, 8])
    assert unsure.who[1] == "not distinguishable"
    assert "k = 2, 3 blocks" in unsure.verdict


def test_layer_swap_verdict_when_b_appears_early() -> None:
    result = make_swap([10, -3, -4, -2, -6], [-5, 2, 4, 6, 8])
    assert result.who == ("A", "B", "B", "B", "B")
    assert result.verdict.startswith("**B appears from k = 1 of 4**")


# -- loss curves with a second axis --------------------------------------------------------
def test_loss_curves_secondary_axis_is_linear_and_labelled() -> None:
    history = {
        "lambda": [0.0, 0.5, 1.0, 1.0],
        "reconstruction": [0.1, 0.01, 0.005, 0.004],
        "discriminator": [2.0, 1.5, 1.9, 2.0],
    }
    fig = viz.loss_curves(history, log=True, secondary=["lambda"])
    left, right = fig.axes
    assert left.get_yscale() == "log" and right.get_yscale() == "linear"
    assert [line.get_label() for line in left.get_lines()] == ["reconstruction", "discriminator"]
    assert [line.get_label() for line in right.get_lines()] == ["lambda"]
    assert "lambda" in right.get_ylabel()
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert labels == ["reconstruction", "discriminator", "lambda"]
    # without secondary: one axis, as before; lambda (starting at 0) makes it linear
    assert len(viz.loss_curves(history).axes) == 1
    assert viz.loss_curves(history).axes[0].get_yscale() == "linear"
    with pytest.raises(ValueError, match="secondary"):
        viz.loss_curves(history, secondary=["gamma"])


# -- chapter 5's verdicts ------------------------------------------------------------------
def make_removal(linear: Estimate, whitened: Estimate) -> LightRemoval:
    return LightRemoval(
        lambdas=(0.0, 3e-4),
        linear=(pct(0.98), linear),
        mlp=(pct(0.95), pct(0.38)),
        whitened=(pct(0.98), whitened),
        psnr=(db(37.4), db(34.3)),
        pixels=pct(0.97),
        chance=0.36,
    )


def test_light_removal_verdict_reads_hidden_not_removed() -> None:
    hidden = make_removal(pct(0.40), pct(0.94))
    verdict = hidden.verdict
    assert verdict.startswith("**Hidden, not removed.**")
    assert "**40% ± 2**" in verdict and "**94% ± 2**" in verdict
    assert "NOT" not in verdict and "But" not in verdict  # no contradiction in capitals
    assert hidden.cost.value == pytest.approx(3.1)
    assert make_removal(pct(0.40), pct(0.40)).verdict.startswith("**Removed**")
    # the MLP (38% ± 2, at chance) misses what both linear probes read: not removed
    plain = make_removal(pct(0.90), pct(0.94)).verdict
    assert plain.startswith("**Not removed**: the linear and whitened linear probes")
    assert "The MLP probe, stronger on the ladder, misses what the linear probe reads" in plain
    # the bar is 42.4% (chance 36% plus a tenth of the way to 100%), inside [0.42, 0.50]:
    # the plain probe cannot be called either way, the whitened probe reads the light
    partly = make_removal(pct(0.46, 0.04), pct(0.94)).verdict
    assert partly.startswith("**Not removed**: the whitened linear probe still reads the light.")
    assert "a linear probe scores **46% ± 4**, not distinguishable from the bar" in partly
    assert "reading needs more than 42%" in partly
    unsure = make_removal(pct(0.40), pct(0.46, 0.04)).verdict
    assert unsure.startswith("**Not shown removed**: no probe reads the light, but the whitened")


def test_factors_kept_verdict_names_the_factor_in_words() -> None:
    kept = FactorsKept(
        factors=("elevation", "smile", "mouth_open"),
        plain=(r2(1.0), r2(0.71), r2(0.88)),
        adversary=(r2(1.0), r2(0.43), r2(0.77)),
        whitened=(r2(1.0), r2(0.66), r2(0.84)),
        lam=3e-4,
    )
    assert kept.verdict.startswith("**Smile: hidden with the light, not lost.**")
    assert "mouth open 0.88 → 0.77" in kept.verdict and "mouth_open" not in kept.table()
    lost = FactorsKept(("smile",), (r2(0.71),), (r2(0.2),), (r2(0.3),), 3e-4)
    assert lost.verdict.startswith("**Smile: lost.**")
    same = FactorsKept(("smile",), (r2(0.71),), (r2(0.68),), (r2(0.7),), 3e-4)
    assert same.verdict.startswith("**The other factors stay readable**")


def make_slider(monotone: float, gains: list[float]) -> SliderCheck:
    return SliderCheck(
        monotone=pct(monotone),
        targets=(-1.0, 0.0, 1.0),
        relit=tuple(db(25 + g) for g in gains),
        unchanged=(db(25), db(25), db(25)),
        gain=tuple(db(g) for g in gains),
        relit_mean=db(25 + sum(gains) / 3),
        unchanged_mean=db(25),
    )


def test_slider_verdict_has_a_head_from_the_numbers() -> None:
    good = make_slider(0.97, [3.0, 2.0, 3.0])
    assert good.verdict.startswith("**The slider moves the light the right way**")
    assert "No λ = 0 control was checked" in good.verdict
    assert "**3 of 3**" in good.verdict and "**97% ± 2**" in good.verdict
    assert make_slider(0.5, [3.0, 2.0, 3.0]).verdict.startswith("**The slider relights only")
    assert make_slider(0.97, [3.0, -2.0, 0.1]).verdict.startswith("**The slider relights only")
    assert make_slider(0.97, [-3.0, -2.0, -1.0]).verdict.startswith("**The slider does not")
    assert good.table().count("\n") == 2 + 3


class LightFader(nn.Module):
    """A fake fader: its code is the faces' right-minus-left brightness (the light, plainly)
    and a few pixels; it relights by brightening the side y points to."""

    attribute_dim = 1

    def __init__(self, gain: float) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(gain))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        side = x[..., half:].mean((1, 2, 3)) - x[..., :half].mean((1, 2, 3))
        return torch.cat([self.gain * side[:, None], x.flatten(1)[:, :7]], 1)

    def relight(self, x: torch.Tensor, y: torch.Tensor | float) -> torch.Tensor:
        y = torch.as_tensor(y, dtype=x.dtype).reshape(-1, 1, 1, 1)
        ramp = torch.linspace(-1, 1, x.shape[-1])
        return (x * (1 + 0.3 * y * ramp)).clamp(0, 1)


def test_light_removal_and_slider_check_take_one_model_per_run() -> None:
    from sepviz.experiments.fadernet import light_removal
    from sepviz.experiments.measures import slider_check

    tests = [make_faces(150, size=16, identities=4, seed=s) for s in (1, 2)]
    models = {0.0: [LightFader(1.0), LightFader(2.0)], 3e-4: [LightFader(0.5), LightFader(1.5)]}
    result = light_removal(models, tests)
    assert len(result.per_run) == 2 and result.linear[0].runs == 2
    assert (
        result.per_run[0].linear[0]
        == light_removal({lam: m[0] for lam, m in models.items()}, tests[0]).linear[0]
    )  # run 0 alone is the single-model call
    assert "over 2 training runs" in result.verdict and "spread over runs" in result.spread_table()
    with pytest.raises(ValueError, match="same number of runs"):
        light_removal({0.0: models[0.0], 3e-4: models[3e-4][0]}, tests[0])
    with pytest.raises(ValueError, match="one FaceSet per training run"):
        light_removal(models, tests[:1])

    check = slider_check(models[3e-4], tests, steps=3, control=models[0.0])
    assert len(check.per_run) == 2 and check.monotone.runs == 2
    assert check.control is not None and check.over_control is not None
    assert check.over_control.runs == 2
    assert "relit minus the λ = 0 control" in check.spread_table()
    single = slider_check(models[3e-4][0], tests[0], steps=3)
    assert single.control is None and "No λ = 0 control was checked" in single.verdict


def test_pixel_codes_are_the_top_pca_directions_of_the_pixels() -> None:
    from sepviz.experiments.measures import pixel_codes

    images = make_faces(300, size=16, identities=4, seed=0).images
    codes = pixel_codes(images, components=8)
    x = images.flatten(1).double()
    x = x - x.mean(0)
    top = torch.linalg.svdvals(x)[:8] ** 2 / (len(x) - 1)  # the exact PCA variances
    torch.testing.assert_close(
        codes.double().var(0).sort(descending=True)[0], top, rtol=1e-4, atol=0
    )
    assert torch.equal(codes, pixel_codes(images, components=8))  # seeded: the same codes
    assert pixel_codes(images[:5], components=8).shape == (5, 5)  # no more than the faces
