"""Two faders (light and yaw): :func:`sepviz.experiments.fadernet.cross_talk` against models
whose answer is known (the renderer itself behind a FaderNet's ``relight``, its sliders
dimmed, swapped or reversed) and a tiny ``fadernet2`` trained here.

The yaw meter is calibrated on 1,000 renders instead of 4,000 (a few seconds, not a minute at
16 px; its R² is lower, which these checks do not need), and forgotten afterwards.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import pytest
import torch

from sepviz import zoo
from sepviz.data.faceset import FaceSet
from sepviz.data.synthetic import YAW_RANGE, factor_matrix, make_faces, posed
from sepviz.experiments import Estimate, Order, Reading, measures
from sepviz.experiments.fadernet import CROSS_VALUES, PSNR_CAP, cross_talk, two_fader_sweep
from sepviz.models import FaderNet

SIZE = 16


@pytest.fixture(scope="module", autouse=True)
def quick_meter() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(measures, "YAW_METER_FACES", 1000)
        measures.yaw_meter.cache_clear()
        yield
    measures.yaw_meter.cache_clear()  # other tests get the real meter


class Renderer(FaderNet):
    """A "FaderNet" whose relight is the renderer: ``faces`` re-rendered under the light
    ``60 * y[light]`` and the yaw ``40 * y[yaw]``, times ``gain`` (``sign`` -1 reverses both
    sliders; ``light``/``yaw`` pick the column of y each one reads)."""

    def __init__(
        self, faces: FaceSet, gain: float = 1.0, sign: float = 1.0, light: int = 0, yaw: int = 1
    ) -> None:
        super().__init__(image_size=SIZE, latent_dim=4, attribute_dim=2)
        self.faces, self.gain, self.sign, self.columns = faces, gain, sign, (light, yaw)

    def relight(self, x: torch.Tensor, y: torch.Tensor | float) -> torch.Tensor:
        assert torch.equal(x, self.faces.images)  # cross_talk decodes the faces it was given
        y = self._as_y(y, len(x)) * self.sign
        factors = {**self.faces.factors, "azimuth": 60 * y[:, self.columns[0]]}
        lit = dataclasses.replace(self.faces, factors=factors)
        pitch = self.faces.factors["pitch"]
        return self.gain * posed(lit, YAW_RANGE[1] * y[:, self.columns[1]], pitch)


@pytest.fixture(scope="module")
def faces() -> FaceSet:
    return make_faces(12, SIZE, identities=8, seed=5, yaw=YAW_RANGE)


def finite(e: Estimate) -> bool:
    return all(math.isfinite(v) for v in (e.low, e.value, e.high)) and e.low <= e.value <= e.high


def test_the_renderer_behind_the_sliders_is_the_truth(faces: FaceSet) -> None:
    result = cross_talk(Renderer(faces, gain=0.9), faces, values=(-1.0, 0.0, 1.0))
    truth = result.truth
    assert len(result.effect) == len(truth) == len(result.gap) == 4 and len(result.psnr) == 2
    assert all(finite(e) for e in (*result.effect, *truth, *result.gap, *result.psnr))
    # the truth's own effects are 1 by construction; its cross effects are small but real
    assert truth[0].value == pytest.approx(1) and truth[3].value == pytest.approx(1)
    assert abs(truth[1].value) < 0.5 and abs(truth[2].value) < 0.5
    assert result.light_scale > 0.05 and result.yaw_scale > 10  # degrees per unit of y
    # dimmed by 0.9: the light meter (a ratio) does not see it, the yaw meter (linear) does
    for k in (0, 2):
        assert result.effect[k].value == pytest.approx(truth[k].value, abs=1e-4)
    for k in (1, 3):
        assert result.effect[k].value == pytest.approx(0.9 * truth[k].value, abs=1e-4)
        assert result.gap[k].value == pytest.approx(-0.1 * truth[k].value, abs=1e-4)
    assert result.own() == (Reading.READS, Reading.READS)
    assert result.cross() == (Order.EQUAL, Order.EQUAL)
    assert result.verdict.startswith("**Two faders, no cross-talk**")
    # a tenth darker: PSNR 20 log10(1 / (0.1 * rms)) of the truth, about 25-35 dB
    assert 20 < result.psnr[0].value < 45 and result.psnr[0].unit == "dB"
    assert "| light slider |" in result.table() and "| yaw slider |" in result.table()


def test_swapped_and_reversed_sliders_are_caught(faces: FaceSet) -> None:
    values = (-1.0, 0.0, 1.0)
    swapped = cross_talk(Renderer(faces, light=1, yaw=0), faces, values=values)
    # the light slider turns the head: the measured light barely moves (as under the true yaw
    # slider), the measured yaw by about the whole of the yaw slider's true effect
    assert abs(swapped.effect[0].value) < 0.3 and abs(swapped.effect[3].value) < 0.3
    assert swapped.effect[1].value == pytest.approx(1, abs=0.2)
    assert swapped.effect[2].value == pytest.approx(1, abs=0.2)
    assert swapped.cross() == (Order.BETTER, Order.BETTER)
    assert Reading.READS not in swapped.own()
    reversed_ = cross_talk(Renderer(faces, sign=-1), faces, values=values)
    assert reversed_.own() == (Reading.BELOW_CHANCE, Reading.BELOW_CHANCE)
    assert reversed_.verdict.startswith(
        "**The light slider moves its factor the wrong way; the yaw slider moves its factor the "
        "wrong way.**"
    )


def test_over_runs_and_refusals(faces: FaceSet) -> None:
    other = make_faces(12, SIZE, identities=8, seed=6, yaw=YAW_RANGE)
    runs = [Renderer(faces, gain=0.9), Renderer(other, gain=0.8)]
    both = cross_talk(runs, [faces, other], values=(-1.0, 1.0))
    assert both.effect[3].runs == 2 and len(both.per_run) == 2
    assert both.effect[3].value == pytest.approx(0.85, abs=1e-3)  # the mean of 0.9 and 0.8
    assert "over 2 training runs" in both.verdict
    exact = cross_talk(Renderer(faces), faces, values=(-1.0, 1.0))  # the truth itself
    assert exact.psnr[0].value == exact.psnr[1].value == PSNR_CAP  # not infinite
    with pytest.raises(ValueError, match="one FaceSet per training run"):
        cross_talk(runs, [faces])
    with pytest.raises(ValueError, match="attribute_dim 2, got attribute_dim 1"):
        cross_talk(FaderNet(image_size=SIZE, latent_dim=4), faces)
    with pytest.raises(ValueError, match=r"faces must be posed"):
        cross_talk(runs[0], make_faces(4, SIZE, seed=1))
    for values in ((0.5,), (0.5, 0.5), (-2.0, 2.0)):
        with pytest.raises(ValueError, match=r"values must hold 2 or more distinct .* \[-1, 1\]"):
            cross_talk(runs[0], faces, values=values)
    with pytest.raises(ValueError, match="slider must be 0 .light. or 1 .yaw., got 2"):
        two_fader_sweep(runs[0], faces, 2, (0.0,))


def test_a_tiny_fadernet2_has_the_table() -> None:
    model = zoo.trained(
        "fadernet2",
        size=SIZE,
        steps=40,
        n_faces=256,
        cache=False,
        progress=False,
        latent_dim=8,
        lambda_max=0.0,  # no adversary: 10x faster, and the sliders work all the same
    )
    assert model.attribute_dim == 2
    people = factor_matrix(zoo.training_faces("fadernet2", SIZE, 256))[:8]
    unseen = make_faces(16, SIZE, people, seed=1, yaw=YAW_RANGE)
    grid = two_fader_sweep(model, unseen[:3], 1, (-1.0, 0.0, 1.0))
    assert grid.shape == (3, 3, 3, SIZE, SIZE) and 0 <= grid.min() and grid.max() <= 1
    result = cross_talk(model, unseen, values=CROSS_VALUES, seed=0)
    assert result.values == CROSS_VALUES
    assert all(finite(e) for e in (*result.effect, *result.truth, *result.gap, *result.psnr))
    assert result.truth[0].value == pytest.approx(1) and result.truth[3].value == pytest.approx(1)
    # the truth row depends on the faces only: the renderer's sweep of the same faces
    again = cross_talk(Renderer(unseen), unseen, values=CROSS_VALUES, seed=0)
    assert result.truth == again.truth
    assert result.light_scale == again.light_scale and result.yaw_scale == again.yaw_scale
    # the gap is the effect minus the truth, face by face
    for e, t, g in zip(result.effect, result.truth, result.gap):
        assert g.value == pytest.approx(e.value - t.value, abs=1e-6)
    # 40 steps already turn the head with the yaw slider (the light takes longer)
    assert result.own()[1] is Reading.READS
    table = result.table().splitlines()
    assert len(table) == 4 and table[2].startswith("| light slider |")
    print(f"\n{result.table()}\n{result.verdict}")
