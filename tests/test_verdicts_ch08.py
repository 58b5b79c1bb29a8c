"""Table-driven tests of chapters 8 and 9's verdicts, on hand-made numbers (no training).

Every branch of every verdict of :mod:`sepviz.experiments.relight_by_swap` (IdeaOne,
LightSide, RetrievalMatch) and :mod:`sepviz.experiments.decoder_per_light` (RelightQuality,
DesignComparison, LampsOrClasses) runs here, and each test checks that the headline and the
clauses say what the numbers say, and nothing that they deny.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sepviz.experiments import Estimate, Order, measures
from sepviz.experiments import decoder_per_light as dpl
from sepviz.experiments import relight_by_swap as rbs

COVERED = (
    rbs.IdeaOne,
    rbs.LightSide,
    rbs.RetrievalMatch,
    dpl.RelightQuality,
    dpl.DesignComparison,
    dpl.LampsOrClasses,
)

CLASSES = ("left", "centre", "right")


def _e(value: float, half: float, unit: str = "") -> Estimate:
    return Estimate(value, value - half, value + half, unit)


def _db(value: float, half: float = 0.2) -> Estimate:
    return _e(value, half, "dB")


def _pct(value: float, half: float = 0.05) -> Estimate:
    return _e(value, half, "%")


# -- chapter 8: RetrievalMatch --------------------------------------------------------------
def _match(*progress: Estimate, factors: tuple[str, ...] = rbs.RETRIEVAL_FACTORS):
    n = len(factors)
    return rbs.RetrievalMatch(factors, (0.1,) * n, (0.3,) * n, (0.05,) * n, tuple(progress))


FOUND, SHORT, RANDOM, WORSE, UNDECIDED = (
    _pct(0.8),  # above the 50% bar
    _pct(0.3),  # between 0 and the bar
    _pct(0.02, 0.1),  # covers 0, below the bar
    _pct(-0.43),  # below 0
    _pct(0.5, 0.1),  # covers the bar
)


@pytest.mark.parametrize(
    ("progress", "status"),
    [
        (FOUND, rbs.FOUND),
        (SHORT, rbs.SHORT),
        (RANDOM, rbs.RANDOM),
        (WORSE, rbs.WORSE),
        (UNDECIDED, rbs.UNDECIDED),
        (_pct(0.2, 0.4), rbs.UNDECIDED),  # covers both 0 and the bar: the bar cannot be told
    ],
)
def test_retrieval_status_is_decided_by_the_interval(progress: Estimate, status: str) -> None:
    assert _match(progress, factors=("smile",)).status("smile") == status


@pytest.mark.parametrize(
    ("progress", "headline", "present", "absent"),
    [
        (
            (FOUND, FOUND, FOUND, FOUND),
            "**Retrieval in the latent finds A's expression.**",
            [],
            ["does not find", "contradicts", "worse than a random"],
        ),
        (
            (SHORT, RANDOM, WORSE, FOUND),
            "**Retrieval in the latent does not find A's expression.**",
            [
                "For eyes_open it does worse than a random B face.",
                "For mouth_open it is not distinguishable from a random B face.",
                "contradicts the blog's premise",
            ],
            ["finds A's"],
        ),
        (  # the chapter's numbers: +42% and -43% must not cancel into one headline mean
            (_pct(0.42, 0.05), _pct(0.6, 0.05), WORSE, FOUND),
            "**Retrieval in the latent finds A's mouth_open and does not find A's smile and "
            "eyes_open.**",
            ["smile 42% ± 5", "eyes_open -43% ± 5", "For eyes_open it does worse than a random"],
            ["contradicts", "2% ± 3"],
        ),
        (
            (UNDECIDED, UNDECIDED, UNDECIDED, FOUND),
            "**Not distinguishable** from 50% of the way for any factor of A's expression.",
            [],
            ["contradicts", "finds A's"],
        ),
        (
            (FOUND, UNDECIDED, SHORT, FOUND),
            "**Retrieval in the latent finds A's smile, does not find A's eyes_open and is not "
            "distinguishable from the bar for mouth_open.**",
            [],
            ["contradicts"],
        ),
        (  # nothing found, one factor undecided: no "finds" clause
            (SHORT, UNDECIDED, WORSE, FOUND),
            "**Retrieval in the latent does not find A's smile and eyes_open and is not "
            "distinguishable from the bar for mouth_open.**",
            [],
            ["finds A's"],
        ),
        (  # nothing missed, one factor undecided: no "does not find" clause
            (FOUND, UNDECIDED, FOUND, SHORT),
            "**Retrieval in the latent finds A's smile and eyes_open and is not "
            "distinguishable from the bar for mouth_open.**",
            [],
            ["does not find"],
        ),
    ],
)
def test_retrieval_verdict_names_each_factor(progress, headline, present, absent) -> None:
    verdict = _match(*progress).verdict
    assert verdict.startswith(headline)
    assert "finding a factor needs more than 50% over the whole interval" in verdict
    for words in present:
        assert words in verdict
    for words in absent:
        assert words not in verdict


@pytest.mark.parametrize(
    ("progress", "best"),
    [
        ((SHORT, SHORT, SHORT, FOUND), "It matches elevation best of the 4 factors."),
        ((SHORT, _pct(0.33), SHORT, SHORT), None),  # overlapping intervals: no "best"
    ],
)
def test_retrieval_says_best_only_when_the_intervals_part(progress, best) -> None:
    verdict = _match(*progress).verdict
    assert (best in verdict) if best else ("best of the" not in verdict)


def test_retrieval_without_expression_factors_names_the_factor() -> None:
    verdict = _match(WORSE, factors=("elevation",)).verdict
    assert verdict.startswith("**Retrieval in the latent does not find A's elevation.**")
    assert "contradicts" not in verdict  # the premise is about the expression


@pytest.mark.parametrize(
    ("progress", "shortfall"),
    [
        ((FOUND, FOUND, FOUND, WORSE), ""),  # elevation is no part of the expression
        (
            (FOUND, FOUND, WORSE, FOUND),
            "does worse than a random B face for eyes_open (-43% ± 5) (shares of the way",
        ),
        (
            (RANDOM, SHORT, UNDECIDED, FOUND),
            "is not distinguishable from a random B face for smile (2% ± 10), goes only part "
            "of the way for mouth_open (30% ± 5) and is not distinguishable from the 50% bar "
            "for eyes_open (50% ± 10)",
        ),
    ],
)
def test_retrieval_shortfall_lists_the_factors_not_found(progress, shortfall) -> None:
    got = _match(*progress).shortfall()
    assert got.startswith(shortfall) if shortfall else got == ""


# -- chapter 8: IdeaOne ---------------------------------------------------------------------
GAIN, AHEAD, BEHIND = _db(8.7), _db(2.0), _db(-1.0)
APART = (_e(5.0, 0.2), _e(6.0, 0.2))  # retrieval's faces nearer A's code than the perfect bank's


def _idea(
    gain: Estimate = GAIN,
    mean_face: tuple[Estimate, ...] = (_db(3.0),) * 3,
    swap_minus_bank: Estimate = AHEAD,
    idea_minus_bank: Estimate = BEHIND,
    distances: tuple[Estimate, Estimate] = APART,
    retrieval: rbs.RetrievalMatch | None = None,
) -> rbs.IdeaOne:
    values = {"idea 1": 32.2, "input unchanged": 23.5, "mean face": 29.0}
    values |= {"perfect bank": 30.0, "perfect swap": 32.0, "ceiling": 33.0}
    psnr = tuple((_db(values[c]),) * 3 for c in rbs.COLUMNS)
    return rbs.IdeaOne(
        lamps=CLASSES,
        azimuths=(-40.0, 0.0, 40.0),
        psnr=psnr,
        mean=tuple(_db(values[c]) for c in rbs.COLUMNS),
        gain_input=(gain,) * 3,
        gain_mean_face=mean_face,
        gain_input_mean=gain,
        swap_minus_bank=swap_minus_bank,
        idea_minus_bank=idea_minus_bank,
        distance_picked=distances[0],
        distance_perfect=distances[1],
        relit=(),
        truth=(),
        picked=(),
        retrieval=retrieval,
    )


@pytest.mark.parametrize(
    ("gain", "mean_face", "headline", "absent"),
    [
        (_db(8.7), (_db(3.0),) * 3, "**Idea 1 relights A better than leaving the photograph "
         "alone**.", ["mean face for only"]),
        (
            _db(8.7),
            (_db(3.0), _db(0.2), _db(-2.0)),
            "**Idea 1 relights A better than leaving the photograph alone**, but beats a blurry "
            "mean face for only 1 of 3 lamps.",
            [],
        ),
        (_db(0.1), (_db(3.0),) * 3, "**Idea 1 relights A no better than leaving the photograph "
         "alone**: the gain lies within ±0.5 dB.", ["relights A better"]),
        (_db(-3.0), (_db(-5.0),) * 3, "**Idea 1 does not relight A**: it is worse than leaving "
         "the photograph alone", ["relights A better"]),
        (_db(0.4, 0.5), (_db(3.0),) * 3, "**Not distinguishable** from leaving the photograph "
         "alone (the gain's interval covers +0.5 or -0.5 dB).", ["relights A better"]),
    ],
)  # fmt: skip
def test_idea_one_headline_follows_the_gain_over_the_input(
    gain, mean_face, headline, absent
) -> None:
    verdict = _idea(gain, mean_face).verdict
    assert verdict.startswith(headline)
    assert f"a gain of **{gain}** over doing nothing" in verdict
    for words in absent:
        assert words not in verdict


@pytest.mark.parametrize(
    ("difference", "words"),
    [
        (_db(2.0), "What goes wrong is mostly **the swap**"),
        (_db(-2.0), "What goes wrong is mostly **the retrieval**"),
        (_db(0.1), "The swap and the retrieval cost about as much (within ±0.5 dB)"),
        (_db(0.5, 0.5), "Whether the swap or the retrieval costs more, the data cannot tell"),
    ],
)
def test_idea_one_names_the_costlier_half_only_on_intervals(difference, words) -> None:
    verdict = _idea(swap_minus_bank=difference).verdict
    assert words in verdict
    assert f"perfect swap minus perfect bank, paired: {difference}" in verdict
    if "mostly" not in words:
        assert "mostly" not in verdict


@pytest.mark.parametrize(
    ("ahead", "distances", "says"),
    [
        (_db(2.0), (_e(5.0, 0.2), _e(6.0, 0.2)), True),
        (_db(2.0), (_e(5.0, 0.6), _e(6.0, 0.6)), False),  # the distances overlap
        (_db(0.3), (_e(5.0, 0.2), _e(6.0, 0.2)), False),  # equal to a perfect bank
        (_db(0.6, 0.5), (_e(5.0, 0.2), _e(6.0, 0.2)), False),  # not distinguishable
    ],
)
def test_idea_one_beats_a_perfect_bank_only_when_both_numbers_say_so(
    ahead, distances, says
) -> None:
    verdict = _idea(idea_minus_bank=ahead, distances=distances).verdict
    assert ("Retrieval even beats a perfect bank" in verdict) is says


FAILING = _match(_pct(0.42), _pct(0.6), WORSE, FOUND)  # the chapter's eyes_open


@pytest.mark.parametrize(
    ("gain", "retrieval", "but"),
    [
        (_db(8.7), FAILING, "**But** the retrieval does worse than a random B face for "
         "eyes_open (-43% ± 5) and goes only part of the way for smile (42% ± 5) (shares of the "
         "way from a random B face to the best match): the gain in PSNR, over the whole face, "
         "does not show that idea 1 keeps A's expression."),
        (_db(8.7), _match(FOUND, FOUND, FOUND, WORSE), None),  # every expression factor found
        (_db(8.7), None, None),  # retrieval not checked
        (_db(-3.0), FAILING, None),  # no gain to qualify
    ],
)  # fmt: skip
def test_idea_one_names_a_failing_retrieval_beside_its_gain(gain, retrieval, but) -> None:
    verdict = _idea(gain, retrieval=retrieval).verdict
    if but is None:
        assert "**But**" not in verdict
    else:
        assert verdict.startswith("**Idea 1 relights A better") and but in verdict


# -- chapter 8: LightSide -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("gain", "headline"),
    [
        (_pct(0.4), "**Idea 1 moves the light where it was asked.**"),
        (_pct(0.02), "**Idea 1 does not move the light where it was asked.**"),
        (_pct(0.1), "**Not distinguishable** from a gain of 10%."),
    ],
)
def test_light_side_headline_follows_the_gain(gain: Estimate, headline: str) -> None:
    idea = _pct(0.33 + gain.value)
    side = rbs.LightSide(
        CLASSES,
        ("idea 1", "ground truth", "input unchanged"),
        ((_e(0.1, 0.01),) * 3,) * 3,
        (idea, _pct(0.95), _pct(0.33, 0.0)),
        gain,
    )
    verdict = side.verdict
    assert verdict.startswith(headline)
    assert f"for **{idea}** of the faces" in verdict and f"a gain of {gain}" in verdict
    assert "needs more than 10% over the whole interval" in verdict


# -- chapter 9: RelightQuality --------------------------------------------------------------
@pytest.mark.parametrize(
    ("gains", "count", "present", "absent"),
    [
        ((_db(5.0),) * 3, "**3 of 3**", [], ["For "]),
        (
            (_db(5.0), _db(0.1), _db(-2.0)),
            "**1 of 3**",
            [
                "For centre it is equal to the unchanged input (the gain lies within ±0.5 dB).",
                "For right it is worse than the unchanged input.",
            ],
            ["not distinguishable"],
        ),
        (
            (_db(0.6, 0.6), _db(0.0, 0.0), _db(0.6, 0.6)),
            "**0 of 3**",
            [
                "For left and right it is not distinguishable from the unchanged input",
                "For centre it is equal",
            ],
            ["worse"],
        ),
    ],
)
def test_relight_quality_counts_only_clear_wins(gains, count, present, absent) -> None:
    result = dpl.RelightQuality(CLASSES, (_db(25.0),) * 3, (_db(20.0),) * 3, gains)
    verdict = result.verdict
    assert f"by more than 0.5 dB for {count} light classes" in verdict
    for words in present:
        assert words in verdict
    for words in absent:
        assert words not in verdict


# -- chapter 9: DesignComparison ------------------------------------------------------------
def _designs(
    gains: tuple[Estimate, ...],
    seconds: tuple[tuple[float | None, float | None], ...],
    lamps: tuple[int, ...] = (3,),
) -> dpl.DesignComparison:
    n = len(lamps)
    return dpl.DesignComparison(
        lamps=lamps,
        multi=tuple(_db(28.0 + g.value) for g in gains),
        fader=(_db(28.0),) * n,
        unchanged=(_db(20.0),) * n,
        gain=gains,
        multi_parameters=(2_000_000, 3_000_000)[:n],
        fader_parameters=(1_000_000, 1_000_100)[:n],
        multi_memory_mib=(30.0, 45.0)[:n],
        fader_memory_mib=(20.0, 20.5)[:n],
        multi_seconds=tuple(s[0] for s in seconds),
        fader_seconds=tuple(s[1] for s in seconds),
    )


@pytest.mark.parametrize(
    ("gain", "headline", "absent"),
    [
        (_db(1.4), "With 3 lamps **one decoder per lamp relights closer to the truth**: "
         "29.4 dB ± 0.2 against 28.0 dB ± 0.2 for the FaderNet (paired difference 1.4 dB ± 0.2",
         ["equally", "not distinguishable"]),
        (_db(-1.4), "With 3 lamps **the FaderNet relights closer to the truth**: 28.0 dB ± 0.2 "
         "against 26.6 dB ± 0.2 for one decoder per lamp (paired difference 1.4 dB ± 0.2",
         ["equally", "not distinguishable"]),
        (_db(0.2), "With 3 lamps the two designs **relight equally well** (28.2 dB ± 0.2 for "
         "one decoder per lamp, 28.0 dB ± 0.2 for the FaderNet; the paired difference "
         "0.2 dB ± 0.2 lies within ±0.5 dB", ["closer"]),
        (_db(0.4, 0.4), "With 3 lamps the two designs are **not distinguishable** (28.4 dB ± "
         "0.2 for one decoder per lamp, 28.0 dB ± 0.2 for the FaderNet; the paired difference "
         "0.4 dB ± 0.4 covers +0.5 or -0.5 dB", ["closer", "equally"]),
    ],
)  # fmt: skip
def test_design_winner_comes_from_compare(gain, headline, absent) -> None:
    verdict = _designs((gain,), ((None, None),)).verdict
    assert verdict.startswith(headline)
    assert "One decoder per lamp has 2.0x the parameters and 1.5x the training memory." in verdict
    for words in absent:
        assert words not in verdict


@pytest.mark.parametrize(
    ("seconds", "present", "absent"),
    [
        ((32.0, 62.0), ", and trains in less time (32 s against 62 s)", ["longer", "too close"]),
        ((100.0, 62.0), ", and takes longer to train (100 s against 62 s)", ["less time"]),
        (
            (70.0, 62.0),
            "the training times (70 s against 62 s) are within 1.5x of each other",
            ["less time", "longer"],
        ),
        ((None, 62.0), "the training memory.", ["less time", "longer", " s against"]),
        ((0.0, 62.0), "the training memory.", ["less time", "longer", " s against"]),
    ],
)
def test_design_training_time_is_claimed_only_beyond_the_noise_margin(
    seconds, present, absent
) -> None:
    verdict = _designs((_db(1.4),), (seconds,)).verdict
    assert present in verdict
    assert "**trains in less time**" not in verdict
    for words in absent:
        assert words not in verdict


def test_design_growth_is_computed_from_the_counts() -> None:
    two = _designs((_db(1.4), _db(0.2)), ((32.0, 62.0), (50.0, 60.0)), lamps=(3, 5))
    verdict = two.verdict
    assert verdict.count("With ") == 2
    assert (
        "From 3 to 5 lamps one decoder per lamp grows 1.50x in parameters (+500,000 a lamp) "
        "and 1.50x in training memory, the FaderNet 1.00x in parameters (+50 a lamp) and "
        "1.02x in training memory." in verdict
    )
    assert "whole decoder" not in verdict and "tested here" not in verdict
    assert "From" not in _designs((_db(1.4),), ((None, None),)).verdict


def _designs_over_runs(gains: list[float], half: float = 0.2) -> dpl.DesignComparison:
    """Three runs at 3 lamps, the multi-decoder minus the FaderNet ``gains[r]`` in run r."""
    runs = [
        dataclasses.replace(
            _designs((_db(g, half),), ((32.0 + r, 62.0 - r),)),
            unchanged=(_db(20.0 + r),),  # a run must not change the baseline: the first's stays
        )
        for r, g in enumerate(gains)
    ]
    return dpl.DesignComparison.from_runs(runs)


@pytest.mark.parametrize(
    ("gains", "order", "words"),
    [
        ([1.4, 1.6, 1.2], Order.BETTER, "**one decoder per lamp relights closer to the truth "
         "over 3 training runs**"),
        ([-1.4, -1.6, -1.2], Order.WORSE, "**the FaderNet relights closer to the truth over 3 "
         "training runs**"),
        ([0.1, 0.0, 0.2], Order.EQUAL, "the two designs **relight equally well over 3 training "
         "runs**"),
        # every run alone says "closer" (+3, +1, -1.5), their mean cannot tell
        ([3.0, 1.0, -1.5], Order.NOT_DISTINGUISHABLE, "the two designs are **not "
         "distinguishable over 3 training runs**"),
    ],
)  # fmt: skip
def test_design_winner_over_training_runs_is_judged_on_the_combined_gain(
    gains: list[float], order: Order, words: str
) -> None:
    result = _designs_over_runs(gains, half=0.1)
    assert result.winner(0) is order and result.gain[0].runs == 3
    assert result.gain[0].value == pytest.approx(sum(gains) / 3)
    verdict = result.verdict
    assert verdict.startswith(f"With 3 lamps {words}")
    assert f"difference {dpl._abs(result.gain[0])}" in verdict  # the combined gain, printed
    assert verdict.count("training runs") == 1
    # the baseline, the costs and the times are the first run's
    assert result.unchanged == result.per_run[0].unchanged and "20.0 dB ± 0.2" in verdict
    assert "(32 s against 62 s, the first training run)" in verdict
    assert "relit PSNR over 3 training runs" in result.table() and "first run" in result.table()


def test_design_comparison_over_runs_reports_both_spreads() -> None:
    result = _designs_over_runs([1.4, 1.6, 1.2])
    spreads = result.spreads()
    assert set(spreads) == {
        "one decoder per lamp, 3 lamps, relit PSNR",
        "FaderNet, 3 lamps, relit PSNR",
        "one decoder per lamp - FaderNet, 3 lamps (paired)",
    }
    run_half, face_half = spreads["one decoder per lamp - FaderNet, 3 lamps (paired)"]
    assert face_half == pytest.approx(0.2) and run_half == pytest.approx(4.303 * 0.2 / 3**0.5)
    assert result.spread_table().count("\n") == 2 + 3
    single = _designs((_db(1.4),), ((32.0, 62.0),))
    assert single.spreads() == {} and "training run" not in single.verdict + single.table()
    with pytest.raises(ValueError, match="single-run"):
        dpl.DesignComparison.from_runs([single])
    with pytest.raises(ValueError, match="numbers of lamps"):
        dpl.DesignComparison.from_runs([single, dataclasses.replace(single, lamps=(5,))])


# -- chapter 9: LampsOrClasses --------------------------------------------------------------
REACH = {dpl.REACHES: _db(9.0), dpl.FALLS_SHORT: _db(1.0), dpl.UNDECIDED: _db(4.1, 0.3)}
FOLLOW = {"follows": _e(0.7, 0.05), "imposes": _e(0.0, 0.05), "against": _e(-0.5, 0.05)}
FOLLOW["undecided"] = _e(0.05, 0.10)  # the chapter's r = 0.05 ± 0.10


def _lamps(
    reach: tuple[str, str] = (dpl.REACHES, dpl.FALLS_SHORT),
    follows: tuple[str, str] = ("imposes", "follows"),
    within: tuple[Estimate, Estimate] = (_e(0.3, 0.05), _e(0.8, 0.05)),
    order: tuple[int, ...] = (0, 1),
    extra: dict[str, str] | None = None,
) -> dpl.LampsOrClasses:
    rows = {
        dpl.LAMPS: ((REACH[reach[0]], _db(2.0), REACH[reach[0]]), within[0], FOLLOW[follows[0]]),
        dpl.CLASSES: ((REACH[reach[1]], _db(2.0), REACH[reach[1]]), within[1], FOLLOW[follows[1]]),
    }
    names = [(dpl.LAMPS, dpl.CLASSES)[i] for i in order]
    for name, state in (extra or {}).items():
        rows[name] = ((REACH[state], _db(2.0), REACH[state]), _e(0.0, 0.05), FOLLOW["imposes"])
        names.append(name)
    return dpl.LampsOrClasses(
        tuple(names),
        CLASSES,
        tuple(rows[n][0] for n in names),
        tuple(rows[n][1] for n in names),
        tuple(rows[n][2] for n in names),
    )


@pytest.mark.parametrize("reach", list(dpl._HEADLINES))
@pytest.mark.parametrize("order", [(0, 1), (1, 0)])  # names, not positions, decide
def test_lamps_or_classes_headline_for_every_pair_of_reaches(reach, order) -> None:
    verdict = _lamps(reach, order=order).verdict
    assert verdict.startswith(dpl._HEADLINES[reach].format(runs=""))
    assert "training runs" not in verdict  # one run: no runs note
    if dpl.REACHES in reach:
        assert "does not relight" not in verdict
    if reach != (dpl.REACHES, dpl.REACHES):
        assert "both ways" not in verdict
    assert "reaching a side lamp needs more than 4 dB over the whole interval" in verdict
    assert "trained on 3 lamps: left 9.0" in verdict or reach[0] != dpl.REACHES


def test_lamps_or_classes_class_model_alone_reaching_is_its_own_branch() -> None:
    verdict = _lamps((dpl.FALLS_SHORT, dpl.REACHES)).verdict
    assert verdict.startswith("**Idea 2 works with light classes, not with lamps.**")
    assert "not with light classes" not in verdict


@pytest.mark.parametrize(
    ("follows", "words", "explained"),
    [
        (("imposes", "follows"), ("imposes its lamp", "**follows the input's light**"), True),
        (("imposes", "undecided"), ("imposes its lamp", "neither clearly follows"), False),
        (("undecided", "follows"), ("neither clearly follows", "**follows"), False),
        (("imposes", "imposes"), ("imposes its lamp", "imposes its lamp"), False),
        (("against", "follows"), ("moves the light against the input's", "**follows"), False),
    ],
)
def test_lamps_or_classes_follow_clause_is_decided_by_r(follows, words, explained) -> None:
    verdict = _lamps(follows=follows).verdict
    lamps_part = verdict.split("the multi-decoder trained on 3 lamps ")[1]
    classes_part = verdict.split("the multi-decoder trained on light classes ")[1]
    assert lamps_part.startswith(words[0]) and classes_part.startswith(words[1])
    explanation = "the decoders follow the input's light instead of imposing their lamp"
    assert (explanation in verdict) is explained
    if "undecided" in follows:
        assert "r's interval covers +0.1 or -0.1" in verdict


def test_lamps_or_classes_no_explanation_without_the_split() -> None:
    both = _lamps((dpl.REACHES, dpl.REACHES), ("imposes", "follows")).verdict
    assert "instead of imposing their lamp" not in both


@pytest.mark.parametrize(
    ("within", "words", "differs"),
    [
        ((_e(0.3, 0.05), _e(0.8, 0.05)), "holds more of the light within its class", False),
        ((_e(0.8, 0.05), _e(0.3, 0.05)), "holds less of the light within its class", False),
        ((_e(0.5, 0.02), _e(0.52, 0.02)), "holds about as much of the light", True),
        ((_e(0.5, 0.1), _e(0.6, 0.1)), "may hold more or less of the light", False),
    ],
)
def test_lamps_or_classes_within_clause_uses_compare(within, words, differs) -> None:
    verdict = _lamps(within=within).verdict
    assert f"The latent trained on light classes {words}" in verdict
    assert ("what differs is what the decoders do with it" in verdict) is differs
    assert f"the multi-decoder trained on 3 lamps {within[0]} (reads)" in verdict


def test_lamps_or_classes_reads_within_with_the_shared_rule() -> None:
    verdict = _lamps(within=(_e(0.05, 0.03), _e(0.1, 0.05))).verdict
    assert "reading needs more than 0.1" in verdict
    assert "trained on 3 lamps 0.05 ± 0.03 (at chance)" in verdict
    assert "trained on light classes 0.10 ± 0.05 (not distinguishable)" in verdict


@pytest.mark.parametrize("state", [dpl.REACHES, dpl.FALLS_SHORT, dpl.UNDECIDED])
def test_lamps_or_classes_reports_a_third_model_by_name(state: str) -> None:
    verdict = _lamps(extra={dpl.FADER_LAMPS: state}).verdict
    assert verdict.startswith(dpl._HEADLINES[dpl.REACHES, dpl.FALLS_SHORT].format(runs=""))
    assert f"The FaderNet trained on 3 lamps {dpl._REACH_WORDS[state]}." in verdict
    assert "the FaderNet trained on 3 lamps imposes its lamp" in verdict


def test_lamps_or_classes_needs_both_named_models() -> None:
    good = _lamps()
    with pytest.raises(ValueError, match="must name"):
        dataclasses.replace(good, models=(dpl.LAMPS, "something else"))
    with pytest.raises(ValueError, match="one entry per model"):
        dataclasses.replace(good, within=good.within[:1])


def _lamps_over_runs(side_gains: list[tuple[float, float]]) -> dpl.LampsOrClasses:
    """Runs whose side gains are ``(lamps' model, classes' model)`` each; the rest as _lamps."""
    runs = []
    for lamps_gain, classes_gain in side_gains:
        one = _lamps()
        gain = tuple((_db(g), _db(2.0), _db(g)) for g in (lamps_gain, classes_gain))
        runs.append(dataclasses.replace(one, gain=gain))
    return dpl.LampsOrClasses.from_runs(runs)


@pytest.mark.parametrize(
    ("side_gains", "reach"),
    [
        ([(9.0, 1.0), (8.5, 1.2), (9.5, 0.8)], (dpl.REACHES, dpl.FALLS_SHORT)),
        ([(9.0, 8.0), (8.5, 8.2), (9.5, 7.8)], (dpl.REACHES, dpl.REACHES)),
        ([(1.0, 1.0), (1.5, 1.2), (0.5, 0.8)], (dpl.FALLS_SHORT, dpl.FALLS_SHORT)),
        ([(1.0, 9.0), (1.5, 8.5), (0.5, 9.5)], (dpl.FALLS_SHORT, dpl.REACHES)),
        # every run of the class-trained model alone reaches or falls short (9, 1, 5 dB):
        # over the runs it is not distinguishable from the bar
        ([(9.0, 9.0), (8.5, 1.0), (9.5, 5.0)], (dpl.REACHES, dpl.UNDECIDED)),
    ],
)
def test_lamps_or_classes_over_training_runs_reads_the_combined_side_gains(
    side_gains: list[tuple[float, float]], reach: tuple[str, str]
) -> None:
    result = _lamps_over_runs(side_gains)
    assert (result.reach(dpl.LAMPS), result.reach(dpl.CLASSES)) == reach
    verdict = result.verdict
    assert verdict.startswith(dpl._HEADLINES[reach].format(runs=" over 3 training runs"))
    assert verdict.count("training runs") == 1
    lamps_left = result.gain[result.models.index(dpl.LAMPS)][0]
    assert lamps_left.runs == 3 and f"trained on 3 lamps: left {lamps_left}," in verdict
    assert lamps_left.value == pytest.approx(sum(g for g, _ in side_gains) / 3)


def test_lamps_or_classes_over_runs_combines_every_number_and_reports_spreads() -> None:
    result = _lamps_over_runs([(9.0, 1.0), (8.5, 1.2), (9.5, 0.8)])
    assert all(e.runs == 3 for e in (*result.within, *result.follows))
    assert all(g.runs == 3 for gains in result.gain for g in gains)
    spreads = result.spreads()
    assert len(spreads) == 2 * (3 + 2)  # per model: a gain per class, the R², the r
    run_half, face_half = spreads[f"{dpl.LAMPS}: gain to left"]
    assert face_half == pytest.approx(0.2) and run_half == pytest.approx(4.303 * 0.5 / 3**0.5)
    assert result.spread_table().count("\n") == 2 + 10
    assert result.table().startswith("| model (numbers over 3 training runs) |")
    single = _lamps()
    assert single.spreads() == {} and single.table().startswith("| model |")
    with pytest.raises(ValueError, match="single-run"):
        dpl.LampsOrClasses.from_runs([single])
    other = _lamps(extra={dpl.FADER_LAMPS: dpl.REACHES})
    with pytest.raises(ValueError, match="models"):
        dpl.LampsOrClasses.from_runs([single, other])


def test_lamps_or_classes_bootstrap_resamples_faces_not_rows() -> None:
    """Each face holds 2 rows (relit to 2 classes): the interval must be that of N faces,
    wider than a bootstrap that takes the 2N rows as independent."""
    rng = np.random.default_rng(0)
    face = rng.normal(size=(200, 1))
    x = np.repeat(face, 2, axis=1) + 0.1 * rng.normal(size=(200, 2))
    y = 0.3 * x + rng.normal(size=(200, 1)) + 0.1 * rng.normal(size=(200, 2))
    by_face = measures.correlation(x, y)
    by_row = measures.correlation(x.ravel(), y.ravel())
    assert by_face.value == pytest.approx(by_row.value)
    assert by_face.high - by_face.low > 1.2 * (by_row.high - by_row.low)
    with pytest.raises(ValueError, match="N >= 3"):
        measures.correlation(x[:2], y[:2])
