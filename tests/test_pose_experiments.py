"""The pose experiments of issue 23 on tiny models and on swaps whose answer is known.

- chapter 4: :func:`deepfakes.pose_transfer` on an oracle that swaps perfectly, one that
  straightens every head, and a DeepFakes model trained for a few steps on turned heads;
- chapter 7: the probes, the UMAP colours and MIG / DCI's factors read the yaw only when the
  faces have it;
- chapter 8: retrieval scored on the pose, and bank size against the relit error;
- chapter 0: the pixel variance shares with the pose as a fourth group.

16 px faces; the yaw meter (calibrated once per size, cached) is the slowest part.
Every verdict branch is run from hand-made numbers in tests/test_verdicts_pose.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from sepviz.data.faceset import FaceSet
from sepviz.data.synthetic import class_azimuths, make_faces, swapped
from sepviz.experiments import deepfakes, renderer
from sepviz.experiments import relight_by_swap as rbs
from sepviz.experiments import where_information_lives as wil
from sepviz.metrics import psnr
from sepviz.models import DeepFakes

SIZE = 16
YAW = (-30.0, 30.0)


@pytest.fixture(scope="module")
def turned_a() -> FaceSet:
    return make_faces(60, size=SIZE, identities=["A"], seed=1, yaw=YAW)


@pytest.fixture(scope="module")
def model() -> DeepFakes:
    torch.manual_seed(0)
    faces = make_faces(256, size=SIZE, identities=["A", "B"], seed=0, yaw=YAW)
    net = DeepFakes(identities=["A", "B"], image_size=SIZE, latent_dim=16)
    return net.fit(
        faces.images,
        faces.factors["identity"],
        steps=40,
        batch_size=32,
        progress=False,
        device="cpu",
        seed=0,
    )


class Oracle(nn.Module):
    """A 'model' whose swap returns given images whatever it is fed (the same faces)."""

    def __init__(self, out: torch.Tensor) -> None:
        super().__init__()
        self.out = out

    def swap(self, x: torch.Tensor, to: str) -> torch.Tensor:
        assert len(x) == len(self.out)
        return self.out


# -- chapter 4: does the swap keep the pose? ---------------------------------------------------
def test_frontal_truth_is_b_facing_the_camera(turned_a: FaceSet) -> None:
    # make_faces draws the poses after everything else: the same seed without yaw is the
    # same expressions and lights, facing the camera
    frontal_a = make_faces(60, size=SIZE, identities=["A"], seed=1)
    truth = deepfakes.frontal_truth(turned_a, "B")
    assert truth.shape == (60, 3, SIZE, SIZE)
    assert torch.equal(truth, swapped(frontal_a, "B"))
    assert not torch.equal(truth, swapped(turned_a, "B"))
    with pytest.raises(ValueError, match="target must be one of"):
        deepfakes.frontal_truth(turned_a, "Z")


def test_a_perfect_swap_keeps_the_pose_and_a_straightening_one_loses_it(turned_a) -> None:
    # the truth with a little noise (a PSNR of identical images is infinite)
    noise = 0.002 * torch.randn(60, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    perfect = Oracle((swapped(turned_a, "B") + noise).clamp(0, 1))
    straight = Oracle((deepfakes.frontal_truth(turned_a, "B") + noise).clamp(0, 1))
    kept = deepfakes.pose_transfer(perfect, turned_a, factors=("yaw", "azimuth"))
    assert kept.factors == ("yaw", "azimuth") and [e.unit for e in kept.crossed] == ["%", "%"]
    # the swap is the truth: every reading is the truth's, all of each factor crosses
    assert kept.transfer("yaw").value == pytest.approx(1.0, abs=0.02)
    assert kept.transfer("azimuth").value == pytest.approx(1.0, abs=0.02)
    assert kept.kept("yaw") == deepfakes.KEEPS
    assert kept.r[0].value == pytest.approx(kept.r_truth[0].value, abs=0.01)
    assert kept.truth_yaw_slope.value == pytest.approx(1.0, abs=0.2)  # the meter reads degrees
    assert kept.r_truth[0].value > 0.9
    assert kept.to_posed.value > 50  # the noise's PSNR: 20 log10(1 / 0.002) = 54 dB
    assert kept.posed_minus_frontal.above(3.0)
    assert kept.verdict.startswith("**The swap keeps A's pose.**")
    lost = deepfakes.pose_transfer(straight, turned_a, factors=("yaw",))
    # B facing the camera for every face: the measured yaw is constant, its slope near 0
    assert lost.transfer("yaw").high < deepfakes.POSE_LOST
    assert lost.kept("yaw") == deepfakes.LOSES
    assert lost.posed_minus_frontal.below(-3.0)
    assert "it straightens the head" in lost.verdict
    # the baselines do not depend on the model
    assert lost.unchanged == kept.unchanged and lost.mean_face == kept.mean_face
    truth = swapped(turned_a, "B")
    assert kept.unchanged.value == pytest.approx(float(psnr(turned_a.images, truth).mean()))
    assert kept.yaw_range[0] >= YAW[0] and kept.yaw_range[1] <= YAW[1]
    both = deepfakes.pose_transfer([perfect, straight], turned_a, factors=("yaw",))
    assert both.per_run[1] == lost and both.transfer("yaw").runs == 2
    assert both.unchanged == lost.unchanged


def test_pose_transfer_refuses_frontal_faces_and_unknown_factors(turned_a) -> None:
    frontal = make_faces(10, size=SIZE, identities=["A"], seed=1)
    oracle = Oracle(swapped(frontal, "B"))
    with pytest.raises(ValueError, match=r"faces must have turned heads \(factors\['yaw'\]\)"):
        deepfakes.pose_transfer(oracle, frontal)
    with pytest.raises(ValueError, match="factors must hold 'yaw'"):
        deepfakes.pose_transfer(oracle, turned_a, factors=("smile",))
    with pytest.raises(ValueError, match="factors must hold 'yaw' and only"):
        deepfakes.pose_transfer(oracle, turned_a, factors=("yaw", "pitch"))
    with pytest.raises(ValueError, match="at least 3 faces"):
        deepfakes.pose_transfer(Oracle(turned_a.images[:2]), turned_a[:2])


def test_pose_transfer_on_a_tiny_posed_model(model: DeepFakes, turned_a: FaceSet) -> None:
    result = deepfakes.pose_transfer(model, turned_a)
    assert result.factors == ("yaw", "smile", "azimuth")
    for e in (*result.crossed, *result.r, result.to_posed, result.gain, result.yaw_slope):
        assert e.low <= e.value <= e.high and np.isfinite(e.value)
    swap = model.swap(turned_a.images, "B")
    assert result.to_posed.value == pytest.approx(float(psnr(swap, swapped(turned_a, "B")).mean()))
    # the meters read the truth: the yaw, the smile (ridge on renders of B) and the light
    assert all(r.value > 0.5 for r in result.r_truth)
    assert result.kept("yaw") in (
        deepfakes.KEEPS,
        deepfakes.PARTLY,
        deepfakes.LOSES,
        deepfakes.UNDECIDED,
    )
    text = result._repr_markdown_()
    assert text.startswith("```{admonition} Verdict") and "Of A's head turn" in text
    assert result.table().count("| pose (yaw) |") == 1


# -- chapter 7: the probes read the yaw when the faces have it ---------------------------------
def test_probes_umap_and_known_factors_read_the_yaw_only_on_turned_heads() -> None:
    turned, persons = wil.held_out_faces(SIZE, 120, seed=0, yaw=YAW)
    frontal, _ = wil.held_out_faces(SIZE, 120, seed=0)
    assert "yaw" in turned[wil.DF].factors and "yaw" not in frontal[wil.DF].factors
    # the same people and expressions: the poses are drawn last
    for m in (wil.AE, wil.DF):
        assert torch.equal(turned[m].factors["smile"], frontal[m].factors["smile"])
        assert torch.equal(turned[m].factors["nose_size"], frontal[m].factors["nose_size"])
    faces = turned[wil.DF]
    g = torch.Generator().manual_seed(0)
    ident = nn.functional.one_hot(faces.factors["identity"], 2).float()
    z = torch.cat([ident, faces.factors["yaw"][:, None] / 30], 1)
    z = z + 0.05 * torch.randn(len(z), 3, generator=g)
    assert wil.FACTORS["yaw"] == "yaw" and "yaw" in wil.WHEN_PRESENT
    two = {"identity": "identity", "yaw": "yaw"}  # two factors: the MLP probes are slow
    reads = wil.latent_probes(z, faces, "toy", factors=two, seed=0)
    assert reads.factors == ("identity", "yaw")
    assert reads.linear[-1].low > 0.8  # the code holds the yaw linearly: R² near 1
    assert reads.classes == (True, False)
    flat = wil.latent_probes(z, frontal[wil.DF], "toy", factors=two, seed=0)
    assert flat.factors == ("identity",)  # frontal faces: the yaw is left out, as before
    with pytest.raises(ValueError, match=r"factors: faces has no factors \['x'\]"):
        wil.latent_probes(z, faces, "toy", factors={"identity": "identity", "x": "x"})
    colours = wil.umap_colours(faces, persons[wil.DF])
    assert set(colours) == {"person", "light class", "head turn"}
    yaw = faces.factors["yaw"].numpy()
    assert set(colours["head turn"][yaw < -10]) == {"turned left"}
    assert set(colours["head turn"][yaw > 10]) == {"turned right"}
    assert set(colours["head turn"]) <= set(wil.PALETTE["head turn"])
    assert set(wil.umap_colours(frontal[wil.DF], persons[wil.DF])) == {"person", "light class"}
    assert list(wil.known_factors(faces)) == [*wil.KNOWN, "yaw"]
    assert list(wil.known_factors(frontal[wil.DF])) == list(wil.KNOWN)


# -- chapter 8: retrieval on the pose and the bank size ----------------------------------------
@pytest.fixture(scope="module")
def turned_run(model: DeepFakes):
    lamps = class_azimuths().tolist()
    bank = make_faces(150, size=SIZE, identities=["B"], seed=2, azimuths=lamps, yaw=YAW)
    test = make_faces(24, size=SIZE, identities=["A"], seed=1, yaw=YAW)
    run = rbs.idea_one(model, test, bank, lamps, ("left", "centre", "right"))
    return run, test, bank


def test_idea_one_scores_the_yaw_when_heads_turn(turned_run) -> None:
    run, test, bank = turned_run
    assert run.retrieval is not None
    assert run.retrieval.factors == (*rbs.RETRIEVAL_FACTORS, "yaw")
    result = rbs.pose_retrieval(run, test, bank)
    assert result.bank_size == 150
    assert result.best.value <= result.picked.value and result.best.value <= result.random.value
    assert result.gain.value == pytest.approx(result.random.value - result.picked.value)
    yaw_way = run.retrieval.progress[-1]  # the same share of the way as idea_one's
    assert (result.progress.value, result.progress.low) == pytest.approx(
        (yaw_way.value, yaw_way.low)
    )
    # picking the photo nearest in yaw goes all the way
    light, yaw_b = bank.factors["azimuth"], bank.factors["yaw"]
    best = []
    for lamp in run.azimuths:
        idx = (light == lamp).nonzero().flatten()
        best.append(idx[(test.factors["yaw"][:, None] - yaw_b[idx][None]).abs().argmin(1)])
    perfect = rbs.pose_retrieval(dataclasses.replace(run, picked=tuple(best)), test, bank)
    assert perfect.progress.value == pytest.approx(1.0)
    assert perfect.picked.value == pytest.approx(perfect.best.value)
    assert perfect.status() == rbs.FOUND
    frontal = make_faces(24, size=SIZE, identities=["A"], seed=1)
    with pytest.raises(ValueError, match=r"test must have turned heads"):
        rbs.pose_retrieval(run, frontal, bank)


def test_bank_sizes_relight_with_the_first_photos_of_the_bank(model, turned_run) -> None:
    run, test, bank = turned_run
    lamps = list(run.azimuths)
    cost = rbs.bank_sizes(model, test, bank, lamps, sizes=(30, 150))
    assert cost.sizes == (30, 150) and len(cost.relit) == len(cost.yaw_error) == 2
    # the whole bank is idea_one's bank: the same picks, the same relit faces
    assert cost.relit[-1].value == pytest.approx(run.over_lamps("idea 1").value, abs=1e-6)
    assert cost.unchanged.value == pytest.approx(run.over_lamps("input unchanged").value)
    assert cost.gain.value == pytest.approx(cost.relit[1].value - cost.relit[0].value)
    assert cost.table().count("\n") == 2 + 2
    fig = cost.plot()
    assert len(fig.axes) == 2 and all(ax.get_xlabel() for ax in fig.axes)
    with pytest.raises(ValueError, match="sizes must be 2 or more rising"):
        rbs.bank_sizes(model, test, bank, lamps, sizes=(150, 30))
    with pytest.raises(ValueError, match="sizes must be at most the bank's 150"):
        rbs.bank_sizes(model, test, bank, lamps, sizes=(30, 300))
    with pytest.raises(ValueError, match="has none under the lamps"):
        rbs.bank_sizes(model, test, bank, lamps, sizes=(1, 150))


# -- chapter 0: the pixel variance with the pose -----------------------------------------------
def test_pose_shares_add_a_fourth_group() -> None:
    shares = renderer.pose_shares(n=32, size=SIZE, seed=0, repeats=2)
    assert shares.groups == ("identity", "expression", "light", "pose")
    assert sum(s.value for s in shares.shares) == pytest.approx(1.0)
    assert shares.share("pose").value > 0.05  # a turned head moves the pixels
    assert "pose" in renderer.GROUP_COLOURS
    with pytest.raises(ValueError, match="yaw must be a range"):
        renderer.pose_shares(n=32, size=SIZE, yaw=(-50.0, 50.0))
    with pytest.raises(ValueError, match="repeats >= 2"):
        renderer.pose_shares(n=32, size=SIZE, repeats=1)
