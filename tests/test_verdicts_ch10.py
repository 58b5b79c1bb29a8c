"""Every branch of the verdicts of chapters 10 (real faces) and 10 (limits), from hand-made
numbers (no training), and the held-out split the Extended Yale B and LFW cells train on."""

from __future__ import annotations

import pytest
import torch

from sepviz.data.faceset import FaceSet
from sepviz.experiments import Estimate
from sepviz.experiments.limits import WORKS, Detection, NewPeople
from sepviz.experiments.real_faces import (
    MONOTONE,
    RAMP,
    LightResponse,
    PseudoLabelCheck,
    RealLightProbes,
    SmallData,
    held_out_split,
)

COVERED = (PseudoLabelCheck, RealLightProbes, LightResponse, SmallData, NewPeople, Detection)


def est(value: float, half: float, unit: str = "") -> Estimate:
    return Estimate(value, value - half, value + half, unit)


def pct(value: float, half: float) -> Estimate:
    return est(value, half, "%")


def head(verdict: str) -> str:
    """The bold headline: the text between the first pair of ``**``."""
    return verdict.split("**")[1]


# -- PseudoLabelCheck: chance 50%, reading bar 55% --------------------------------------------
@pytest.mark.parametrize(
    ("agreement", "headline", "absent"),
    [
        (pct(0.80, 0.03), "The pseudo-label tracks the light.", "does not"),
        (pct(0.55, 0.04), "Not distinguishable", "tracks the light."),
        (pct(0.51, 0.02), "The pseudo-label does not track the light", "tracks the light."),
        (pct(0.40, 0.03), "The pseudo-label does not track the light", "at chance"),
    ],
    ids=["reads", "covers the bar", "at chance", "below chance"],
)
def test_pseudo_label_check(agreement: Estimate, headline: str, absent: str) -> None:
    check = PseudoLabelCheck(agreement, clear=pct(0.9, 0.02), chance=0.5, n_faces=2000)
    text = check.verdict
    assert head(text) == headline or head(text).startswith(headline)
    assert absent not in text
    assert f"**{agreement}**" in text and "needs more than 55%" in text
    assert "2,000 faces" in text and "90% ± 2" in text
    assert "real photos" not in text  # no clause that no number decides
    if agreement.value < 0.5:
        assert "worse than always guessing" in text


# -- RealLightProbes: codes pixels / plain / adv; class chance 81% (bar 82.9%), R² bar 0.1 ----
BLIND_CLASS, READ_CLASS = pct(0.80, 0.01), pct(0.95, 0.02)
BLIND_R2, READ_R2, VAGUE_R2 = est(-0.05, 0.1), est(0.6, 0.05), est(0.12, 0.3)


def probes(
    adv_r2: Estimate,
    plain_r2: Estimate = READ_R2,
    pixels_r2: Estimate = READ_R2,
    adv_class: Estimate = BLIND_CLASS,
    pixels_class: Estimate = BLIND_CLASS,
) -> RealLightProbes:
    return RealLightProbes(
        codes=("pixels", "plain", "adv"),
        class_linear=(pixels_class, BLIND_CLASS, adv_class),
        class_mlp=(BLIND_CLASS,) * 3,
        score_linear=(pixels_r2, plain_r2, adv_r2),
        score_mlp=(BLIND_R2,) * 3,
        chance=0.81,
        folds=5,
        n_faces=100,
    )


@pytest.mark.parametrize(
    ("result", "headline", "clause"),
    [
        (probes(READ_R2), "The light stays in the real latent", "linear probe of the score reads"),
        (
            probes(BLIND_R2, pixels_r2=BLIND_R2),
            "Not distinguishable",
            "no probe reads the light even from the pixels",
        ),
        (probes(BLIND_R2), "The light is gone from the real latent", "every probe"),
        (probes(VAGUE_R2), "Not distinguishable", "the linear probe of the score cannot tell"),
    ],
    ids=["reads", "pixels blind", "removed", "covers the bar"],
)
def test_real_light_probes_head(result: RealLightProbes, headline: str, clause: str) -> None:
    text = result.verdict
    assert head(text).startswith(headline) and clause in text
    assert f"R² **{result.score_linear[2]}**" in text and "reading needs more than 83%" in text
    assert "whiten" not in text  # moved to the chapter's prose


def test_real_light_probes_say_which_label_carries_the_light() -> None:
    only_score = probes(READ_R2).verdict  # no class probe reads, a score probe does
    assert "No class probe, not even on the pixels, reads the class" in only_score
    assert "reads the score from 3 of the 3 codes" in only_score
    class_read = probes(READ_R2, pixels_class=READ_CLASS).verdict
    assert "No class probe" not in class_read
    assert "linear probe of the class" in probes(BLIND_R2, adv_class=READ_CLASS).verdict


@pytest.mark.parametrize(
    ("plain", "adv", "effect"),
    [
        (est(0.6, 0.05), est(0.3, 0.05), "The adversary lowers the linear probe's R² by"),
        (est(0.3, 0.05), est(0.6, 0.05), "The adversary raises the linear probe's R²"),
        (est(0.6, 0.02), est(0.58, 0.02), "leaves the linear probe's R² as it was"),
        (est(0.6, 0.2), est(0.5, 0.2), "is not distinguishable from none"),
    ],
    ids=["lowers", "raises", "equal", "covers the margin"],
)
def test_real_light_probes_adversary_effect(plain: Estimate, adv: Estimate, effect: str) -> None:
    text = probes(adv, plain_r2=plain).verdict
    assert effect in text
    assert str(plain - adv) in text


# -- LightResponse ---------------------------------------------------------------------------
RIGHT = (pct(0.98, 0.01), est(0.3, 0.02))  # monotone, span
FOLLOW = est(0.1, 0.02)  # the adversary's span minus the control's
WRONG = (pct(0.40, 0.05), est(0.1, 0.02))
UNSURE = (pct(0.90, 0.04), est(0.3, 0.02))
BACKWARDS = (pct(0.95, 0.02), est(-0.2, 0.02))


def response(
    rows: dict[str, tuple[Estimate, Estimate]],
    follow: Estimate | None = FOLLOW,
    ramp: tuple[Estimate, Estimate] = RIGHT,
) -> LightResponse:
    rows = {**rows, RAMP: ramp}
    names = tuple(rows)
    return LightResponse(
        models=names,
        monotone=tuple(r[0] for r in rows.values()),
        span=tuple(r[1] for r in rows.values()),
        data_span=0.5,  # margin of the follow comparison: 0.05
        adversary=names[0],
        control=names[1] if follow is not None else None,
        baseline=RAMP,
        follow=follow,
        measured={},
        ys={},
    )


@pytest.mark.parametrize(
    ("rows", "headline", "unsure"),
    [
        ({"fader": RIGHT, "control": RIGHT, "multi": RIGHT}, "3 of 3 models move", None),
        ({"fader": RIGHT, "control": WRONG, "multi": UNSURE}, "1 of 3 models move", "multi"),
        ({"fader": WRONG, "control": BACKWARDS, "multi": WRONG}, "0 of 3 models move", None),
    ],
    ids=["all", "one and one unsure", "none"],
)
def test_light_response_counts_models(rows: dict, headline: str, unsure: str | None) -> None:
    result = response(rows)
    text = result.verdict
    assert head(text).startswith(headline)
    assert f"more than {MONOTONE:.0%} of the faces" in text
    if unsure:
        assert f"for the {unsure} it is not distinguishable" in text
    else:
        assert "not distinguishable (an interval" not in text
    for name, (monotone, span) in rows.items():
        assert f"{name}: {monotone} of faces, light moved {span}" in text


@pytest.mark.parametrize(
    ("row", "headline"),
    [
        (RIGHT, "The fader moves the measured light the right way"),
        (WRONG, "The fader does not move the measured light the right way"),
        (BACKWARDS, "The fader does not move the measured light the right way"),
        (UNSURE, "Not distinguishable"),
    ],
    ids=["right", "not monotone", "moves backwards", "covers the bar"],
)
def test_light_response_of_one_model_without_control(row: tuple, headline: str) -> None:
    text = response({"fader": row}, follow=None).verdict
    assert head(text).startswith(headline)
    assert "adversary" not in text  # no control: nothing to say about the adversary
    assert "1 of 1" not in text


@pytest.mark.parametrize(
    ("follow", "clause"),
    [
        (est(0.2, 0.05), "makes the decoder follow y further"),
        (est(-0.2, 0.05), "makes the decoder follow y less far"),
        (est(0.01, 0.02), "With or without the adversary, the light moves as far"),
        (est(0.05, 0.05), "is not distinguishable from none (none needs it within ±0.05"),
    ],
    ids=["further", "less far", "as far", "covers the margin"],
)
def test_light_response_follow(follow: Estimate, clause: str) -> None:
    text = response({"fader": RIGHT, "control": RIGHT}, follow=follow).verdict
    assert clause in text and str(follow) in text


@pytest.mark.parametrize(
    ("models", "ramp", "clause", "absent"),
    [
        (
            RIGHT,
            RIGHT,
            "**A brightness ramp painted on the input, with no model, does so too**",
            "not:",
        ),
        (WRONG, RIGHT, "A brightness ramp painted on the input, with no model, does:", "too"),
        (RIGHT, WRONG, "A brightness ramp painted on the input, with no model, does not:", "too"),
        (
            RIGHT,
            UNSURE,
            "For a brightness ramp painted on the input, with no model, it is not distinguish",
            "too",
        ),
    ],
    ids=["both right", "only the ramp right", "ramp wrong", "ramp covers the bar"],
)
def test_light_response_keeps_the_ramp_baseline(
    models: tuple, ramp: tuple, clause: str, absent: str
) -> None:
    text = response({"fader": models, "control": models}, ramp=ramp).verdict
    assert clause in text and absent not in text
    assert f"scores {ramp[0]} and moves the light {ramp[1]}" in text
    moving = "a light that moves is not yet a relit face"
    assert (moving in text) == (models is RIGHT and ramp is RIGHT)


# -- SmallData -------------------------------------------------------------------------------
FADER, CONTROL, MULTI = "FaderNet, lambda = 0.0003", "FaderNet, lambda = 0", "multi-decoder"
BETTER, WORSE, SAME, VAGUE = pct(0.3, 0.1), pct(-0.3, 0.1), pct(0.01, 0.02), pct(0.05, 0.1)
COST = est(2.0, 0.3, "dB")  # reconstruction without minus with the adversary
RECON = (est(24.0, 0.3, "dB"), est(22.0, 0.3, "dB"))  # control, FaderNet


def small(
    against: tuple[Estimate, Estimate, Estimate] = (SAME, SAME, SAME),
    cost: Estimate = COST,
    recon: tuple[Estimate, Estimate] = RECON,
    with_multi: bool = True,
) -> SmallData:
    models = (CONTROL, FADER, MULTI, RAMP) if with_multi else (CONTROL, FADER, RAMP)
    n = len(models) - 1
    return SmallData(
        models=models,
        reconstruction=(*recon, est(21.0, 0.3, "dB"))[:n] + (None,),
        itself=(pct(0.9, 0.05),) * n + (pct(1.0, 0.0),),
        good=(pct(0.5, 0.1),) * n + (pct(0.6, 0.1),),
        against_ramp=against[:n] + (None,),
        mean_face=est(18.0, 0.1, "dB"),
        cost=cost,
        adversary=FADER,
        control=CONTROL,
        baseline=RAMP,
        side_faces=19,
        agreement=pct(0.8, 0.02),
        n_faces=100,
    )


@pytest.mark.parametrize(
    ("against", "headline", "clauses", "absent"),
    [
        (
            (BETTER, WORSE, SAME),
            f"The {CONTROL} beats the brightness ramp.",
            [f"The {FADER} falls below it.", f"The {MULTI} matches it (within ±5 points)."],
            "No model",
        ),
        (
            (BETTER, BETTER, VAGUE),
            f"The {CONTROL} and {FADER} beat the brightness ramp.",
            [f"For the {MULTI} the difference is not distinguishable from none."],
            "below it",
        ),
        (
            (VAGUE, WORSE, SAME),
            "No model is shown to beat a brightness ramp",
            [f"for the {CONTROL} the difference is not distinguishable", "falls below"],
            "beats the",
        ),
        (
            (WORSE, WORSE, SAME),
            "No model beats a brightness ramp on these checks",
            [f"The {CONTROL} and {FADER} fall below it.", "painting a gradient"],
            "is shown",
        ),
    ],
    ids=["one beats", "two beat", "unsure", "none beats"],
)
def test_small_data_against_the_ramp(
    against: tuple, headline: str, clauses: list[str], absent: str
) -> None:
    text = small(against).verdict
    assert head(text).startswith(headline)
    assert all(c in text for c in clauses), text
    assert absent not in text
    assert f"(minus the ramp's: {against[0]})" in text
    assert "trends, not measurements" not in text  # moved to the chapter's prose


@pytest.mark.parametrize(
    ("cost", "clause"),
    [
        (est(2.0, 0.3, "dB"), "The adversary costs 2.0 dB ± 0.3 of reconstruction"),
        (est(-2.0, 0.3, "dB"), "The adversary improves reconstruction"),
        (est(0.1, 0.2, "dB"), "The adversary costs no reconstruction"),
        (est(0.6, 0.4, "dB"), "is not distinguishable from nothing"),
    ],
    ids=["costs", "improves", "free", "covers the margin"],
)
def test_small_data_reconstruction_cost(cost: Estimate, clause: str) -> None:
    text = small(cost=cost).verdict
    assert clause in text and str(cost) in text
    assert "Small data limits the models" not in text


@pytest.mark.parametrize(
    ("recon", "clauses"),
    [
        ((est(24.0, 0.3, "dB"), est(22.0, 0.3, "dB")), ["Every model reconstructs better than"]),
        (
            (est(18.1, 0.1, "dB"), est(22.0, 0.3, "dB")),
            [f"The {CONTROL} does not reconstruct better than the mean face (18.0 dB ± 0.1"],
        ),
        (
            (est(18.6, 0.3, "dB"), est(18.1, 0.1, "dB")),
            [
                f"The {FADER} does not reconstruct better than the mean face",
                f"Whether the {CONTROL} reconstructs better than the mean face (18.0 dB ± 0.1) "
                "is not distinguishable (better needs more than 0.5 dB above it)",
            ],
        ),
        (
            (est(24.0, 0.3, "dB"), est(18.6, 0.3, "dB")),
            [
                f"Whether the {FADER} reconstructs better than the mean face (18.0 dB ± 0.1) "
                "is not distinguishable"
            ],
        ),
    ],
    ids=["all above the mean face", "one equal", "one equal, one unsure", "one unsure"],
)
def test_small_data_mean_face_floor(recon: tuple, clauses: list[str]) -> None:
    text = small(recon=recon).verdict
    assert all(c in text for c in clauses), text
    assert ("Every model" in text) == (len(clauses) == 1 and clauses[0].startswith("Every"))


def test_small_data_side_decoders_only_with_a_multi_decoder() -> None:
    assert "side decoders learnt from 19 faces" in small().verdict
    assert "side decoders" not in small(with_multi=False).verdict
    with pytest.raises(ValueError):
        small().versus_ramp(RAMP)
    assert "| minus the ramp's (same faces) |" in small().table()


# -- NewPeople: a drop in dB against DB_MARGIN, r against R_MARGIN ----------------------------
DROPS = {  # familiar, new: the drop is familiar - new (independent: in quadrature)
    "degrades": (est(30.0, 0.2, "dB"), est(25.0, 0.3, "dB")),
    "improves": (est(25.0, 0.2, "dB"), est(30.0, 0.3, "dB")),
    "equal": (est(30.0, 0.1, "dB"), est(29.9, 0.1, "dB")),
    "covers": (est(30.0, 0.5, "dB"), est(29.0, 0.5, "dB")),
}
HEADS = {
    "degrades": "Reconstruction degrades for people the model never saw.",
    "improves": "New people are reconstructed better than the training people.",
    "equal": "Reconstruction does not degrade for new people",
    "covers": "Not distinguishable",
}
TRENDS = {
    "falls": (est(-0.4, 0.1), "falls with the distance"),
    "rises": (est(0.4, 0.1), "rises with that distance"),
    "none": (est(0.0, 0.08), "no trend with that distance shows"),
    "covers": (est(0.1, 0.1), "a trend with that distance is not distinguishable from none"),
}


@pytest.mark.parametrize("trend", list(TRENDS))
@pytest.mark.parametrize("drop", list(DROPS))
def test_new_people(drop: str, trend: str) -> None:
    familiar, new = DROPS[drop]
    r, clause = TRENDS[trend]
    result = NewPeople(familiar, new, r, 400, 800, {}, {})
    text = result.verdict
    assert head(text).startswith(HEADS[drop])
    assert clause in text and f"r = {r}" in text
    assert f"**{familiar - new}**" in text and "(800 faces)" in text and "(400 faces" in text
    model_of = "is a model *of* them" in text
    assert model_of == (drop == "degrades")  # said only when the numbers show it
    assert ("the further a newcomer" in text) == (drop == "degrades" and trend == "falls")
    if drop != "degrades":
        assert "degrades for people" not in text


# -- Detection: chance 50% (reading bar 55%), works above 90% ---------------------------------
@pytest.mark.parametrize(
    ("accuracy", "headline", "absent"),
    [
        (pct(0.97, 0.02), "A detector this simple works on these swaps", "does not"),
        (
            pct(0.75, 0.05),
            "A detector this simple finds a trace of these swaps but does not work",
            "works on",
        ),
        (pct(0.90, 0.04), "A detector this simple finds a trace of these swaps", "does not"),
        (pct(0.55, 0.03), "Not distinguishable", "works"),
        (pct(0.51, 0.02), "A detector this simple does not tell these swaps", "works"),
        (pct(0.40, 0.03), "A detector this simple does not tell these swaps", "works"),
    ],
    ids=["works", "reads, below works", "reads, covers works", "covers", "at chance", "below"],
)
def test_detection(accuracy: Estimate, headline: str, absent: str) -> None:
    text = Detection(accuracy, chance=0.5, n_pixels=3072, n_faces=2000).verdict
    assert head(text).startswith(headline), text
    assert absent not in text.replace(f"working more than {WORKS:.0%}", "")
    assert f"**{accuracy}**" in text and "3,072 raw pixels" in text
    assert "reading needs more than 55%" in text and "working more than 90%" in text
    assert "large, unknown generators" not in text  # the chapter's prose says it


# -- held_out_split -------------------------------------------------------------------------
def faceset(people: list[int]) -> FaceSet:
    """One 4 x 4 face per entry of ``people``, each image its own index (to track faces)."""
    n = len(people)
    images = torch.arange(n, dtype=torch.float32).div(n).view(n, 1, 1, 1).expand(n, 3, 4, 4)
    return FaceSet(images.clone(), {"identity": torch.tensor(people)}, [f"f{i}" for i in range(n)])


def test_held_out_split_by_person_shares_no_person_and_no_face() -> None:
    people = [p for p in range(10) for _ in range(5 + p)]  # 10 people, 5 to 14 faces each
    faces = faceset(people)
    train, test = held_out_split(faces, share=0.2, seed=3)
    assert len(train) + len(test) == len(faces)
    assert not set(train.names) & set(test.names)
    assert not set(train.factors["identity"].tolist()) & set(test.factors["identity"].tolist())
    assert len(test) >= 0.2 * len(faces)  # people are added until their faces reach the share
    held = test.factors["identity"]
    last = min(len(test) - int((held == p).sum()) for p in held.unique())
    assert last < 0.2 * len(faces)  # without the last person added, short of the share
    again = held_out_split(faces, share=0.2, seed=3)[1]
    assert again.names == test.names  # seeded
    assert held_out_split(faces, share=0.2, seed=4)[1].names != test.names


def test_held_out_split_by_face_and_edge_cases() -> None:
    faces = faceset([0] * 20)
    train, test = held_out_split(faces, share=0.25, seed=0, by=None)
    assert len(test) == 5 and len(train) == 15 and not set(train.names) & set(test.names)
    assert train.names == sorted(train.names, key=lambda s: int(s[1:]))  # order kept
    two = faceset([0, 0, 0, 1])
    train, test = held_out_split(two, share=0.9)  # one person always stays for training
    assert len(train.factors["identity"].unique()) == 1 and len(test) in (1, 3)
    with pytest.raises(ValueError, match="2 people"):
        held_out_split(faces)  # one person cannot be split by person
    with pytest.raises(ValueError, match="no factor"):
        held_out_split(faces, by="person")
    with pytest.raises(ValueError, match="share"):
        held_out_split(faces, share=1.0)
    with pytest.raises(ValueError, match="2 faces"):
        held_out_split(faceset([0]), by=None)
