"""The experiments of chapters 0, 1, 8, 10 and 11: their numbers and the verdicts drawn from
them (fast: tiny images, untrained or hand-made inputs). Chapter 7's are in
test_where_information_lives.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from sepviz.data.synthetic import (
    LIGHT_CLASSES,
    PERSONS,
    class_azimuths,
    make_faces,
    render,
)
from sepviz.experiments import Estimate, limits, real_faces, relight_by_swap, renderer
from sepviz.models import DeepFakes


def est(value: float, half: float, unit: str = "") -> Estimate:
    return Estimate(value, value - half, value + half, unit)


def admonition_only(result: object) -> str:
    """The result's Markdown: one admonition, and no line that starts with "Verdict:"."""
    text = result._repr_markdown_()  # type: ignore[attr-defined]
    assert text.startswith("```{admonition} Verdict\n")
    assert not any(line.lstrip().startswith("Verdict:") for line in text.splitlines())
    return text


# -- chapters 0 and 1 ---------------------------------------------------------------------------
def test_pixel_shares_rank_light_first_with_intervals() -> None:
    shares = renderer.pixel_shares(n=128, size=16, seed=0, repeats=4)
    assert shares.groups == ("identity", "expression", "light")
    assert sum(s.value for s in shares.shares) == pytest.approx(1.0, abs=1e-6)
    assert shares.ranked[0][0] == "light"
    assert all(s.low <= s.value <= s.high for s in shares.shares)
    text = admonition_only(shares)
    assert "Light moves the most pixels" in text
    # what a model would do with the shares is the chapter's prose: no number here decides it
    assert "latent" not in text
    assert "will therefore" not in text
    assert shares.table().count("\n") == 5  # header, rule, three groups


def test_pixel_shares_overlap_is_not_distinguishable() -> None:
    close = renderer.PixelShares(
        ("identity", "expression", "light"),
        (est(0.45, 0.06, "%"), est(0.05, 0.01, "%"), est(0.50, 0.06, "%")),
        repeats=4,
        n_faces=8,
    )
    assert close.verdict.startswith("**Not distinguishable**")
    with pytest.raises(ValueError):
        renderer.pixel_shares(n=8, repeats=1)


def test_light_sweep_rises_and_a_reversed_sweep_does_not() -> None:
    azimuths = torch.linspace(-60, 60, 5)
    images = render(PERSONS["A"], [0.3, 0.0, 0.9], torch.stack([azimuths, torch.zeros(5)], 1), 32)
    sweep = renderer.light_sweep(images, azimuths)
    assert sweep.falls == [] and sweep.asymmetry[0] < 0 < sweep.asymmetry[-1]
    assert "is physical" in admonition_only(sweep)
    assert sweep.rising is not None and sweep.rising.low > 0.9, sweep.rising  # measured 100%
    assert f"**{sweep.rising}** of 200 random faces" in sweep.verdict
    backwards = renderer.light_sweep(images.flip(0), azimuths, random_faces=0)
    assert backwards.falls == [0, 1, 2, 3]
    # without random faces the head is not decided; the one face's falls are still listed
    assert backwards.verdict.startswith("**Not measured**")
    assert "fails to rise at -60° → -30°, -30° → +0°" in backwards.verdict
    assert "| asymmetry |" in sweep.table()


# -- chapter 11 ----------------------------------------------------------------------------------
def test_correlation_interval() -> None:
    x = np.arange(50.0)
    r = limits.correlation(x, 2 * x + 1)
    assert r.value == pytest.approx(1.0) and r.low == pytest.approx(1.0)
    noise = np.random.default_rng(0).normal(size=(2, 400))
    r0 = limits.correlation(noise[0], noise[1])
    assert r0.covers(0) and r0.high - r0.low < 0.3
    with pytest.raises(ValueError):
        limits.correlation(x[:2], x[:2])


def _new_people(familiar: Estimate, new: Estimate, r: Estimate) -> limits.NewPeople:
    return limits.NewPeople(familiar, new, r, 10, 20, {}, {})


def test_new_people_verdicts_follow_the_intervals() -> None:
    worse = _new_people(est(30.0, 0.2, "dB"), est(25.0, 0.3, "dB"), est(-0.4, 0.1))
    assert worse.drop.value == pytest.approx(5.0)
    text = admonition_only(worse)
    assert "degrades" in text and "falls with the distance" in text
    close = _new_people(est(30.0, 0.5, "dB"), est(29.0, 0.5, "dB"), est(0.0, 0.1))
    assert close.verdict.startswith("**Not distinguishable**")
    assert "no trend" in close.verdict


def test_detector_tells_faces_with_a_trace_from_real_faces() -> None:
    real = make_faces(40, size=16, identities=["B"], seed=0).images
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None]) % 2  # a swap's trace
    fake = (real + 0.1 * checker).clamp(0, 1)
    found = limits.detect_swaps(fake, real)
    assert found.chance == 0.5 and found.accuracy.above(0.75)
    assert "works" in admonition_only(found)
    blind = limits.detect_swaps(real[:20], real[20:])
    assert not blind.accuracy.above(0.75)
    assert "works on" not in blind.verdict


# -- chapter 8 ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def idea_run():
    torch.manual_seed(0)
    model = DeepFakes(identities=["A", "B"], image_size=16, latent_dim=8).eval()
    lamps = class_azimuths()
    bank = make_faces(30, size=16, identities=["B"], seed=2, azimuths=lamps)
    test = make_faces(12, size=16, identities=["A"], seed=1)
    run = relight_by_swap.idea_one(model, test, bank, lamps.tolist(), LIGHT_CLASSES)
    return run, test, bank


def test_idea_one_scores_every_prediction_for_every_lamp(idea_run) -> None:
    run, test, bank = idea_run
    assert len(run.psnr) == len(relight_by_swap.COLUMNS) and len(run.psnr[0]) == 3
    for lamp, picked in zip(run.azimuths, run.picked):
        assert (bank.factors["azimuth"][picked] == lamp).all()
    assert run.relit[0].shape == test.images.shape
    # the mean over lamps is the mean of the per-lamp means (same faces in every lamp)
    per_lamp = [e.value for e in run.psnr[0]]
    assert run.over_lamps("idea 1").value == pytest.approx(np.mean(per_lamp), rel=1e-5)
    text = admonition_only(run)
    assert "What goes wrong is mostly" in text
    assert run.table().count("\n") == 2 + len(relight_by_swap.COLUMNS)


def test_light_side_reads_the_truth_from_the_right_side(idea_run) -> None:
    run, test, _ = idea_run
    side = relight_by_swap.light_side(run, test)
    truth = side.hits[side.labels.index("ground truth")]
    assert truth.value > 0.6  # the true relit faces are lit from their lamp's side
    left, right = side.asymmetry[side.labels.index("ground truth")][::2]
    assert left.value < 0 < right.value
    admonition_only(side)


def test_retrieval_match_is_one_when_retrieval_picks_the_best(idea_run) -> None:
    run, test, bank = idea_run
    light = bank.factors["azimuth"]
    best = []
    for lamp in run.azimuths:
        idx = (light == lamp).nonzero().flatten()
        gaps = (test.factors["smile"][:, None] - bank.factors["smile"][idx][None]).abs()
        best.append(idx[gaps.argmin(1)])
    perfect = dataclasses.replace(run, picked=tuple(best))
    match = relight_by_swap.retrieval_match(perfect, test, bank, factors=("smile", "elevation"))
    assert match.progress[0].value == pytest.approx(1.0)
    assert match.retrieved[0] == pytest.approx(match.best[0])
    assert match.status("smile") == relight_by_swap.FOUND
    assert "finds A's expression" in admonition_only(match)
    # idea_one checks the same retrieval itself, on every default factor
    assert run.retrieval is not None and run.retrieval.factors == relight_by_swap.RETRIEVAL_FACTORS


# -- chapter 10 ----------------------------------------------------------------------------------
def test_pseudo_label_check_on_synthetic_faces() -> None:
    faces = make_faces(200, size=32, identities=4, seed=0)
    check = real_faces.pseudo_label_check(faces)
    assert check.clear.value >= check.agreement.value - 0.05
    assert check.agreement.above(check.chance)
    assert "tracks the light" in admonition_only(check)


def test_brightness_ramp_is_monotone_and_matched_to_a_span() -> None:
    from sepviz.experiments.measures import measured_light, rises

    faces = make_faces(20, size=32, identities=4, seed=0, light=[0.0, 0.0]).images
    sweep = [-1.0, -0.5, 0.0, 0.5, 1.0]
    grid = real_faces.ramp_grid(faces, sweep, 0.3)
    scores = measured_light(grid)
    assert float((scores[:, -1] - scores[:, 0]).mean()) == pytest.approx(0.3, abs=0.01)
    assert rises(scores).all()
    assert torch.equal(grid[:, 2], faces)  # y = 0 leaves the input alone
    assert real_faces.ramp_strength(faces, 0.0) == 0.5  # nothing to match: the first guess


def test_real_light_probes_say_not_distinguishable_when_the_interval_covers_the_bar() -> None:
    common = dict(
        codes=("pixels", "plain", "adv"),
        class_linear=(est(0.8, 0.05, "%"),) * 3,
        class_mlp=(est(0.8, 0.05, "%"),) * 3,
        score_mlp=(est(0.1, 0.2),) * 3,
        chance=0.81,
        folds=5,
        n_faces=100,
    )
    vague = real_faces.RealLightProbes(
        score_linear=(est(0.5, 0.1), est(0.3, 0.2), est(0.12, 0.37)), **common
    )
    text = admonition_only(vague)
    assert "**Not distinguishable**" in text and "NOT" not in text
    assert "not distinguishable from none" in text  # 0.3 - 0.12 with these intervals
    clear = real_faces.RealLightProbes(
        score_linear=(est(0.5, 0.1), est(0.6, 0.05), est(0.5, 0.05)), **common
    )
    assert clear.verdict.startswith("**The light stays in the real latent**")
    assert "| chance | 81% |" in clear.table()


def test_light_response_and_small_data_against_the_ramp() -> None:
    faces = make_faces(12, size=32, identities=4, seed=0).images
    sweep = [-1.0, 0.0, 1.0]
    ramp = torch.stack([real_faces.brightness_ramp(faces, v, 0.5) for v in sweep], 1)
    flat = torch.stack([faces] * 3, 1)  # a "model" that never moves the light
    score = torch.linspace(-0.2, 0.3, 12)
    response = real_faces.light_response(
        faces, {"fader": ramp, "control": flat}, sweep, "fader", "control", score, 0.3
    )
    assert response.models == ("fader", "control", real_faces.RAMP)
    assert response.monotone[0].value == 1.0 and response.monotone[1].value == 0.0
    assert response.follow.above(0) and response.data_span == pytest.approx(0.5)
    # the ramp baseline is matched to how far the adversary's model moves the light
    assert response.span[2].value == pytest.approx(response.span[0].value, abs=0.01)
    assert "brightness ramp" in admonition_only(response)
    small = real_faces.small_data(
        faces,
        own={"fader": faces * 0.9, "control": faces * 0.95},
        response=response,
        bank=torch.cat([faces, faces.flip(-1)]),
        side_faces=19,
        agreement=est(0.8, 0.02, "%"),
    )
    assert small.reconstruction[2] is None and small.cost.above(0)
    assert small.good[1].value == 0.0  # never moves the light: never good
    assert "No model beats a brightness ramp" in admonition_only(small)
    assert "(the input)" in small.table()
