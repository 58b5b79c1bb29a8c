"""Every branch of the verdicts of chapters 5 and 6 (and of the slider check), from hand-made
Estimates: the headline and every clause agree with the numbers (issue 22).

Chance is 36% throughout, so a reader *reads* above 42.4% (chance plus a tenth of the way to
100%) and is *at chance* when its whole interval lies below that bar.
"""

from __future__ import annotations

import pytest
import torch

from sepviz.experiments import Estimate
from sepviz.experiments.fadernet import FactorsKept, LightRemoval
from sepviz.experiments.hidden_or_removed import (
    DISCRIMINATOR,
    READERS,
    Comparison,
    DiscriminatorGuesses,
    Ladder,
    SampleCheck,
    guess_check,
)
from sepviz.experiments.measures import SliderCheck

COVERED = (
    LightRemoval,
    FactorsKept,
    SliderCheck,
    Ladder,
    Comparison,
    SampleCheck,
    DiscriminatorGuesses,
)

CHANCE = 0.36
BAR = "(chance 36%; reading needs more than 42%)"


def pct(value: float, half: float = 0.02) -> Estimate:
    return Estimate(value, value - half, value + half, "%")


def r2(value: float, half: float = 0.02) -> Estimate:
    return Estimate(value, value - half, value + half, "")


def db(value: float, half: float = 0.3) -> Estimate:
    return Estimate(value, value - half, value + half, "dB")


# -- chapter 5: light removal ----------------------------------------------------------------
def removal(
    linear: Estimate,
    whitened: Estimate,
    mlp: Estimate,
    psnr: tuple[Estimate, Estimate] = (db(37.4), db(34.3)),
    converged: bool = True,
) -> LightRemoval:
    return LightRemoval(
        lambdas=(0.0, 3e-4),
        linear=(pct(0.98), linear),
        mlp=(pct(0.95), mlp),
        whitened=(pct(0.98), whitened),
        psnr=psnr,
        pixels=pct(0.97),
        chance=CHANCE,
        converged=converged,
    )


REMOVAL_CASES = [
    # (linear, whitened, MLP), headline, clauses that must be there, words that must not
    pytest.param(
        (pct(0.34), pct(0.35), pct(0.34)),
        "**Removed**: every probe is at or below chance.",
        ["a linear probe is at chance: **34% ± 2**", "an MLP probe is at chance: **34% ± 2**"],
        ["reads the light at", "Hidden"],
        id="removed",
    ),
    pytest.param(  # the case: the MLP reads while both linear probes are at chance
        (pct(0.34), pct(0.34), pct(0.80, 0.03)),
        "**Hidden, not removed.** The linear and whitened linear probes are blind to the light",
        ["but the MLP probe reads it", "an MLP probe reads the light at **80% ± 3**"],
        ["**Removed**"],
        id="hidden-from-both-linear-probes",
    ),
    pytest.param(
        (pct(0.40), pct(0.94), pct(0.38)),
        "**Hidden, not removed.** The linear probe is blind to the light (at or below chance), "
        "but the whitened linear probe reads it",
        [
            "the same probe on *whitened* latents reads the light at **94% ± 2**",
            "The MLP probe, stronger on the ladder, misses what the whitened linear probe reads",
        ],
        ["**Removed**", "every probe reads"],
        id="hidden-whitened-reads",
    ),
    pytest.param(
        (pct(0.90), pct(0.94), pct(0.85)),
        "**The light is not removed**: every probe reads it.",
        ["a linear probe reads the light at **90% ± 2**"],
        ["not distinguishable", "at chance"],
        id="every-probe-reads",
    ),
    pytest.param(
        (pct(0.46, 0.04), pct(0.94), pct(0.85)),
        "**Not removed**: the whitened linear and MLP probes still read the light.",
        [
            "a linear probe scores **46% ± 4**, not distinguishable from the bar",
            "Whether it is hidden from the linear probe is not distinguishable: its interval "
            "covers the bar.",
        ],
        ["Hidden", "**Removed**", "The linear probe is not distinguishable"],
        id="reads-and-not-distinguishable",
    ),
    pytest.param(
        (pct(0.40), pct(0.46, 0.04), pct(0.37)),
        "**Not shown removed**: no probe reads the light, but the whitened linear probe is not "
        "distinguishable from the bar.",
        ["scores **46% ± 4**, not distinguishable from the bar"],
        ["**Removed**", "reads the light at"],
        id="nothing-reads-one-covers-the-bar",
    ),
    pytest.param(
        (pct(0.25), pct(0.35), pct(0.34)),
        "**Removed**: every probe is at or below chance.",
        ["a linear probe scores **25% ± 2**, below chance"],
        ["reads the light at"],
        id="below-chance-counts-as-blind",
    ),
    pytest.param(
        (pct(0.46, 0.04), pct(0.35), pct(0.80)),
        "**Hidden, not removed.** The whitened linear probe is blind to the light",
        ["The linear probe is not distinguishable from the bar."],
        ["**Removed**"],
        id="hidden-and-a-lower-probe-not-distinguishable",
    ),
    pytest.param(
        (pct(0.90), pct(0.40), pct(0.38)),
        "**Not removed**: the linear probe still reads the light.",
        ["The whitened linear and MLP probes, stronger on the ladder, miss what the linear"],
        ["Hidden", "**Removed**"],
        id="a-stronger-probe-misses-what-a-weaker-reads",
    ),
]


@pytest.mark.parametrize("probes, head, present, absent", REMOVAL_CASES)
def test_light_removal_verdict(
    probes: tuple[Estimate, Estimate, Estimate], head: str, present: list[str], absent: list[str]
) -> None:
    verdict = removal(*probes).verdict
    assert verdict.startswith(head), verdict
    for clause in [*present, BAR, "At λ = 0 the linear probe reads 98% ± 2"]:
        assert clause in verdict, f"{clause!r} not in {verdict!r}"
    for word in absent:
        assert word not in verdict, f"{word!r} in {verdict!r}"
    assert "chance + 10%" not in verdict and "training runs" not in verdict


@pytest.mark.parametrize(
    "psnr, said",
    [
        ((db(37.4), db(34.3)), "Reconstruction pays 3.1 dB ± 0.4"),
        ((db(37.4, 0.1), db(37.3, 0.1)), "Reconstruction pays nothing beyond 0.5 dB: 0.1 dB"),
        ((db(34.3), db(37.4)), "Reconstruction gains 3.1 dB ± 0.4 (34.3 dB ± 0.3 at λ = 0"),
        ((db(37.4, 1.0), db(36.9, 1.0)), "pays a cost not distinguishable from zero: 0.5 dB"),
    ],
)
def test_light_removal_cost_clause(psnr: tuple[Estimate, Estimate], said: str) -> None:
    verdict = removal(pct(0.34), pct(0.94), pct(0.5), psnr).verdict
    assert said in verdict, verdict


def test_light_removal_one_lambda_and_an_unconverged_mlp() -> None:
    one = LightRemoval(
        (3e-4,), (pct(0.34),), (pct(0.3),), (pct(0.94),), (db(34),), pct(0.97), CHANCE
    )
    assert "Reconstruction" not in one.verdict and "At λ = 0" not in one.verdict
    assert "The linear probe reads and the same probe on the pixels 97% ± 2." in one.verdict
    late = removal(pct(0.34), pct(0.94), pct(0.5), converged=False).verdict
    assert "An MLP probe stopped at its iteration limit without converging." in late


def test_light_removal_over_runs_holds_every_run() -> None:
    runs = [removal(pct(0.33 + 0.01 * i), pct(0.90), pct(0.80)) for i in range(3)]
    combined = LightRemoval.over_runs(runs)
    assert combined.runs == 3 and combined.linear[-1].runs == 3
    assert combined.linear[-1].value == pytest.approx(0.34)
    assert combined.linear[-1].high - combined.linear[-1].value > 0.02  # the runs' spread too
    verdict = combined.verdict
    assert verdict.startswith("**Hidden, not removed.**")
    assert "With λ = 0.0003 over 3 training runs, a linear probe" in verdict
    spread = combined.spread_table()
    assert "| linear probe, λ = 0.0003 | 34% ± 3 | 3 | ± 2.5 points | ± 2.0 points |" in spread
    assert "| reconstruction cost |" in spread
    assert "(one run: not measured)" in runs[0].spread_table()
    assert set(combined.spreads()) == {
        "linear probe, λ = 0.0003",
        "whitened linear probe, λ = 0.0003",
        "MLP probe, λ = 0.0003",
        "reconstruction cost",
    }
    with pytest.raises(ValueError, match="at least 2"):
        LightRemoval.over_runs(runs[:1])
    other = LightRemoval((0.0, 1e-3), *(tuple(getattr(runs[0], f)) for f in ("linear", "mlp",
        "whitened", "psnr")), pct(0.97), CHANCE)  # fmt: skip
    with pytest.raises(ValueError, match="disagree on lambdas"):
        LightRemoval.over_runs([runs[0], other])


# -- chapter 5: the factors the adversary takes ----------------------------------------------
FACTOR_CASES = [
    # plain, adversary, whitened (R² of one factor: smile), headline
    pytest.param(r2(0.71), r2(0.68), r2(0.70), "**The other factors stay readable**", id="kept"),
    pytest.param(
        r2(0.71), r2(0.43), r2(0.66), "**Smile: hidden with the light, not lost.**", id="hidden"
    ),
    pytest.param(r2(0.71), r2(0.20), r2(0.30), "**Smile: lost.**", id="lost"),
    pytest.param(
        r2(0.71),
        r2(0.43),
        r2(0.61),  # 0.61 - 0.71 = -0.10 ± 0.03: covers the margin
        "**Smile: out of a plain probe's sight; whether whitening brings it back is not "
        "distinguishable.**",
        id="hidden-or-lost-not-distinguishable",
    ),
    pytest.param(
        r2(0.71),
        r2(0.61),  # a drop of 0.10 ± 0.03: covers the margin
        r2(0.70),
        "**No factor is shown to drop**, but for smile the change is not distinguishable from "
        "a drop of 0.1 in R².",
        id="drop-not-distinguishable",
    ),
    pytest.param(r2(0.50), r2(0.80), r2(0.80), "**The other factors stay readable**", id="rises"),
]


@pytest.mark.parametrize("plain, adversary, whitened, head", FACTOR_CASES)
def test_factors_kept_verdict(
    plain: Estimate, adversary: Estimate, whitened: Estimate, head: str
) -> None:
    kept = FactorsKept(
        ("elevation", "smile"), (r2(1.0), plain), (r2(1.0), adversary), (r2(1.0), whitened), 3e-4
    )
    verdict = kept.verdict
    assert verdict.startswith(head), verdict
    assert f"smile {plain.value:.2f} → {adversary.value:.2f}" in verdict
    assert "elevation" not in verdict.split("A linear probe's R²")[0]  # unchanged: not named
    if "hidden" in head or "lost" in head:
        assert f"{whitened}" in verdict  # the number that decided it is printed


def test_factors_kept_names_several_factors_in_one_headline() -> None:
    kept = FactorsKept(
        ("smile", "mouth_open", "eyes_open"),
        (r2(0.71), r2(0.88), r2(0.9)),
        (r2(0.43), r2(0.50), r2(0.88)),
        (r2(0.66), r2(0.30), r2(0.9)),
        3e-4,
    )
    assert kept.verdict.startswith("**Smile: hidden with the light, not lost; mouth open: lost.**")
    assert "mouth_open" not in kept.verdict


def test_factors_kept_says_which_change_is_undecided_beside_a_drop() -> None:
    kept = FactorsKept(
        ("smile", "eyes_open"),
        (r2(0.71), r2(0.71)),
        (r2(0.43), r2(0.61)),  # smile drops; eyes open by 0.10 ± 0.03: covers the margin
        (r2(0.66), r2(0.70)),
        3e-4,
    )
    verdict = kept.verdict
    assert verdict.startswith("**Smile: hidden with the light, not lost.**"), verdict
    assert "For eyes open the change is not distinguishable from a drop of 0.1." in verdict
    assert "No factor is shown to drop" not in verdict


# -- the slider check ------------------------------------------------------------------------
def slider(
    monotone: Estimate, gains: list[float], over_control: Estimate | None = None
) -> SliderCheck:
    check = SliderCheck(
        monotone=monotone,
        targets=(-1.0, 0.0, 1.0),
        relit=tuple(db(25 + g) for g in gains),
        unchanged=(db(25), db(25), db(25)),
        gain=tuple(db(g) for g in gains),
        relit_mean=db(25 + sum(gains) / 3),
        unchanged_mean=db(25),
    )
    if over_control is None:
        return check
    control = SliderCheck(pct(0.95), (-1.0, 0.0, 1.0), (db(24),) * 3, (db(25),) * 3,
                          (db(-1),) * 3, db(24), db(25))  # fmt: skip
    return SliderCheck(**{**check.__dict__, "control": control, "over_control": over_control})


SLIDER_CASES = [
    pytest.param(
        pct(0.97),
        [3.0, 2.0, 3.0],
        "**The slider moves the light the right way** and relights closer to the truth than "
        "the unchanged input at every target.",
        ["for **97% ± 2** of faces (more than the 80% asked)", "**3 of 3**"],
        id="right-way",
    ),
    pytest.param(
        pct(0.5),
        [3.0, 2.0, 3.0],
        "**The slider relights only in part.**",
        ["(fewer than the 80% asked)", "**3 of 3**"],
        id="wrong-direction",
    ),
    pytest.param(
        pct(0.8, 0.05),
        [3.0, 2.0, 3.0],
        "**The slider relights only in part.**",
        ["(not distinguishable from the 80% asked)"],
        id="direction-covers-the-bar",
    ),
    pytest.param(
        pct(0.97),
        [3.0, -2.0, 0.1],
        "**The slider relights only in part.**",
        ["**1 of 3**", "y = +0: -2.0 dB ± 0.3 (worse)", "y = +1: 0.1 dB ± 0.3 (equal within"],
        id="one-target-of-three",
    ),
    pytest.param(
        pct(0.97),
        [-3.0, -2.0, 0.5],
        "**The slider does not relight** closer to the truth than the unchanged input.",
        ["**0 of 3**", "y = +1: 0.5 dB ± 0.3 (not distinguishable)"],
        id="no-target",
    ),
]


@pytest.mark.parametrize("monotone, gains, head, present", SLIDER_CASES)
def test_slider_verdict(
    monotone: Estimate, gains: list[float], head: str, present: list[str]
) -> None:
    verdict = slider(monotone, gains).verdict
    assert verdict.startswith(head), verdict
    for clause in [*present, "No λ = 0 control was checked"]:
        assert clause in verdict, f"{clause!r} not in {verdict!r}"


@pytest.mark.parametrize(
    "difference, said",
    [
        (db(2.0), "closer to the truth than the λ = 0 control's, by 2.0 dB ± 0.3"),
        (db(0.1, 0.2), "as close to the truth as the λ = 0 control's, within 0.5 dB"),
        (db(-2.0), "further from the truth than the λ = 0 control's, by -2.0 dB ± 0.3"),
        (db(0.5, 0.4), "not distinguishable from the λ = 0 control's"),
    ],
)
def test_slider_verdict_against_the_lambda_0_control(difference: Estimate, said: str) -> None:
    check = slider(pct(0.97), [3.0, 2.0, 3.0], difference)
    verdict = check.verdict
    assert said in verdict and "No λ = 0 control" not in verdict, verdict
    assert "The control, with no adversary, relights to 24.0 dB ± 0.3" in verdict
    assert "| λ = 0 control |" in check.table().splitlines()[0] + " |"


# -- chapter 6: the ladder -------------------------------------------------------------------
LADDER_CASES = [
    # scores of linear, whitened linear, MLP, post-hoc adversary; headline; clauses
    pytest.param(
        (0.33, 0.35, 0.33, 0.37),
        "**Removed for every reader** (m): every rung is at or below chance, up to the "
        "strongest, post-hoc adversary (37% ± 2).",
        [],
        id="removed",
    ),
    pytest.param(
        (0.98, 0.97, 0.99, 0.99),
        "**Not removed, not hidden** (m): every reader reads the light.",
        [],
        id="every-reader",
    ),
    pytest.param(
        (0.38, 0.97, 0.38, 0.96),
        "**Hidden, not removed** (m): linear at chance, but whitened linear and post-hoc "
        "adversary still read the light.",
        ["MLP, higher on the ladder, misses what whitened linear reads"],
        id="hidden",
    ),
    pytest.param(
        (0.98, 0.97, 0.30, 0.99),
        "**Not removed** (m): linear, whitened linear and post-hoc adversary read the light.",
        ["MLP scores below chance (30% ± 2)", "MLP, higher on the ladder, misses what linear"],
        id="a-higher-rung-misses",
    ),
    pytest.param(  # chapter 6's adversary: the linear probe covers the bar
        (0.43, 0.97, 0.45, 0.96),
        "**Not removed** (m): whitened linear, MLP and post-hoc adversary read the light. "
        "Whether it is hidden from linear is not distinguishable: its interval covers the bar.",
        [],
        id="hidden-not-distinguishable",
    ),
    pytest.param(
        (0.38, 0.44, 0.38, 0.37),
        "**Not shown removed** (m): no reader reads the light.",
        ["Whitened linear is not distinguishable from the bar."],
        id="not-distinguishable",
    ),
]


@pytest.mark.parametrize("scores, head, present", LADDER_CASES)
def test_ladder_verdict(scores: tuple[float, ...], head: str, present: list[str]) -> None:
    ladder = Ladder("m", READERS, tuple(map(pct, scores)), CHANCE)
    verdict = ladder.verdict
    assert verdict.startswith(head), verdict
    for clause in [*present, BAR.replace(")", "")]:
        assert clause in verdict, f"{clause!r} not in {verdict!r}"
    assert "weakest rung first: linear" in verdict


def test_ladder_reports_a_reader_that_did_not_converge() -> None:
    ladder = Ladder(
        "m", READERS, tuple(map(pct, (0.9, 0.9, 0.9, 0.9))), CHANCE, (5, 5, 2000, 30),
        (100, 100, 2000, 400),
    )  # fmt: skip
    assert not ladder.converged("MLP") and ladder.converged("linear")
    assert "MLP stopped at its limit of 2000 iterations without converging." in ladder.verdict
    assert "| MLP | 90% ± 2 | reads | 2000 of 2000 (not converged) |" in ladder.table()
    table = comparison([ladder], [db(30)]).iterations()
    assert "| m | 5 of 100 | 5 of 100 | 2000 of 2000 (not converged) | 30 of 400 |" in table
    assert "not converged" in comparison([ladder], [db(30)]).status(0)
    lowest = ladder.with_lowest(DISCRIMINATOR, pct(0.25))
    assert lowest.readers[0] == DISCRIMINATOR and lowest.iterations[0] is None
    assert "Training discriminator scores below chance (25% ± 2)" in lowest.verdict


# -- chapter 6: the comparison ---------------------------------------------------------------
def comparison(ladders: list[Ladder], relit: list[Estimate]) -> Comparison:
    names = tuple(ladder.method for ladder in ladders)
    return Comparison(
        names,
        tuple(ladders),
        ladders[0],
        tuple(db(35) for _ in ladders),
        tuple(relit),
        db(22.8),
        tuple(pct(1.0) for _ in ladders),
        tuple(100.0 for _ in ladders),
    )


STATUS_CASES = [
    pytest.param(
        (None, 0.98, 0.98, 0.99, 0.99),
        "**keeps it**: every reader reads it (the weakest rung, linear: 98% ± 2)",
        id="keeps",
    ),
    pytest.param(
        (None, 0.35, 0.35, 0.35, 0.37),
        "**removes it** for every reader (the strongest rung, post-hoc adversary: 37% ± 2)",
        id="removes",
    ),
    pytest.param(  # the strongest rung that reads is the post-hoc adversary, not the top score
        (0.25, 0.38, 0.97, 0.38, 0.96),
        "**hides it** from the training discriminator and linear readers, but the whitened "
        "linear and post-hoc adversary still read it (the strongest rung that reads, post-hoc "
        "adversary: 96% ± 2); the training discriminator below chance (25% ± 2); the MLP blind "
        "although the lower whitened linear reads it",
        id="hides",
    ),
    pytest.param(
        (None, 0.98, 0.44, 0.38, 0.37),
        "**keeps it** for the linear reader (the strongest rung that reads, linear: 98% ± 2); "
        "the whitened linear not distinguishable from the bar; the MLP and post-hoc adversary "
        "blind although the lower linear reads it",
        id="keeps-for-some",
    ),
    pytest.param(
        (None, 0.38, 0.44, 0.38, 0.37),
        "**is not shown to remove it**: no reader reads it; the whitened linear not "
        "distinguishable from the bar",
        id="not-shown",
    ),
]


@pytest.mark.parametrize("scores, status", STATUS_CASES)
def test_comparison_status(scores: tuple[float | None, ...], status: str) -> None:
    readers = READERS if scores[0] is None else (DISCRIMINATOR, *READERS)
    values = scores[1:] if scores[0] is None else scores
    ladder = Ladder("m", readers, tuple(pct(v) for v in values if v is not None), CHANCE)
    result = comparison([ladder], [db(30)])
    assert f"- **m** {status}." in result.verdict, result.verdict
    assert "lies above 42% (chance plus 10% of the way to 100%)" in result.verdict
    below = "The training discriminator of m scores *below* chance" in result.verdict
    assert below == (scores[0] is not None and scores[0] < CHANCE)


@pytest.mark.parametrize(
    "relit, said",
    [
        ([db(33.5), db(38.0)], "Closest to the true relit face: **b** (38.0 dB ± 0.3), ahead of "
         "**a** (33.5 dB ± 0.3) by more than 0.5 dB"),
        ([db(37.9, 0.1), db(38.0, 0.1)], "Closest to the true relit face: **b** (38.0 dB ± 0.1) "
         "and **a** (37.9 dB ± 0.1), equal within 0.5 dB"),
        ([db(37.5), db(38.0)], "Closest to the true relit face: **b** (38.0 dB ± 0.3) and **a** "
         "(37.5 dB ± 0.3), not distinguishable from each other"),
    ],
)  # fmt: skip
def test_comparison_names_the_best_relighter_only_when_the_intervals_say_so(
    relit: list[Estimate], said: str
) -> None:
    ladder = Ladder("a", READERS, tuple(map(pct, (0.98, 0.97, 0.99, 0.99))), CHANCE)
    result = comparison([ladder, Ladder("b", *list(ladder.__dict__.values())[1:])], relit)
    assert said in result.verdict, result.verdict
    assert result.best(1) == ("b",)


# -- chapter 6: LEACE in-sample and out of sample --------------------------------------------
SAMPLE_CASES = [
    pytest.param(  # the numbers: they do not agree
        (0.34, 0.35),
        (0.43, 0.49),
        "**LEACE's guarantee is in-sample.**",
        ["to the whitened linear reader on new faces", "linear 43% ± 3 (not distinguishable",
         "whitened linear 14% ± 4 (higher out of sample)", "linear 9% ± 4 (not distinguishable)"],
        id="in-sample-only",
    ),
    pytest.param(
        (0.34, 0.35),
        (0.35, 0.34),
        "**Removed in-sample and out of sample**: every linear reader is at or below chance "
        "both ways, and the two agree within the margin.",
        ["(equal within 6 points)"],
        id="agree",
    ),
    pytest.param(
        (0.34, 0.35),
        (0.34, 0.44),
        "**Removed in-sample; not shown removed out of sample**: on new faces the whitened "
        "linear reader is not distinguishable from the bar.",
        [],
        id="out-of-sample-unsure",
    ),
    pytest.param(
        (0.50, 0.35),
        (0.50, 0.35),
        "**Not removed even in-sample**: the linear reader is not at chance",
        [],
        id="not-removed-in-sample",
    ),
]  # fmt: skip


@pytest.mark.parametrize("inside, outside, head, present", SAMPLE_CASES)
def test_sample_check_verdict(
    inside: tuple[float, float], outside: tuple[float, float], head: str, present: list[str]
) -> None:
    readers = READERS[:2]
    check = SampleCheck(
        Ladder("in-sample", readers, tuple(pct(v, 0.03) for v in inside), CHANCE),
        Ladder("out of sample", readers, tuple(pct(v, 0.03) for v in outside), CHANCE),
    )
    verdict = check.verdict
    assert verdict.startswith(head), verdict
    for clause in present:
        assert clause in verdict, f"{clause!r} not in {verdict!r}"
    if not head.startswith("**Removed in-sample and out of sample"):
        assert "agree" not in verdict
    assert "| chance | 36% | 36% |" in check.table()


# -- chapter 6: where the training discriminator's guesses land ------------------------------
def guesses(confusion: list[list[int]]) -> DiscriminatorGuesses:
    """A check built from a confusion matrix (true class rows, guessed columns): each face's
    y is its class's centre (-2/3, 0, 2/3), guessed and true alike."""
    centre = (-2 / 3, 0.0, 2 / 3)
    truth, guess = [], []
    for t, row in enumerate(confusion):
        for g, n in enumerate(row):
            truth += [centre[t]] * n
            guess += [centre[g]] * n
    return guess_check(torch.tensor(guess), torch.tensor(truth), "adversary")


GUESS_CASES = [
    pytest.param(  # chapter 6's measured matrix: side-lit faces guessed on the other side
        [[126, 8, 138], [126, 35, 64], [170, 55, 28]],
        "**The training discriminator reads the light backwards** (adversary)",
        ["(below chance;", "anti-correlated;", "is below zero", "where the blind guesser puts"],
        id="backwards",
    ),
    pytest.param(  # always "centre", a minority class: below chance, yet blind, not reversed
        [[0, 300, 0], [0, 200, 0], [0, 300, 0]],
        "**The training discriminator guesses like a guesser blind to the light**",
        ["(below chance;", "is zero", "It guesses one y for every face"],
        id="blind-minority-guess",
    ),
    pytest.param(
        [[250, 25, 25], [25, 250, 25], [25, 25, 250]],
        "**The training discriminator guesses better than a guesser blind to the light**",
        ["(reads;", " (correlated;", "is above zero"],
        id="reads",
    ),
    pytest.param(  # worse than blind, but the errors are not a mirror (centre <-> sides)
        [[100, 150, 50], [150, 50, 100], [50, 150, 100]],
        "**The training discriminator guesses worse than a guesser blind to the light**",
        ["is below zero"],
        id="worse-not-mirrored",
    ),
]


@pytest.mark.parametrize("confusion, head, present", GUESS_CASES)
def test_discriminator_guesses_verdict(
    confusion: list[list[int]], head: str, present: list[str]
) -> None:
    check = guesses(confusion)
    verdict = check.verdict
    assert verdict.startswith(head), verdict
    for clause in present:
        assert clause in verdict, f"{clause!r} not in {verdict!r}"
    assert check.confusion == tuple(tuple(row) for row in confusion)
    total = sum(map(sum, confusion))
    right = sum(confusion[i][i] for i in range(3)) / total
    assert check.accuracy.value == pytest.approx(right)
    assert f"| all faces | {' | '.join(str(sum(c)) for c in zip(*confusion))} | {total} |" in (
        check.table()
    )


def test_discriminator_guesses_measures_the_mirror() -> None:
    check = guesses([[126, 8, 138], [126, 35, 64], [170, 55, 28]])
    sides = 126 + 8 + 138 + 170 + 55 + 28
    assert check.mirrored.value == pytest.approx((138 + 170) / sides)
    guessed = [126 + 126 + 170, 8 + 35 + 55, 138 + 64 + 28]
    blind = ((126 + 8 + 138) * guessed[2] + (170 + 55 + 28) * guessed[0]) / sides / 750
    assert check.mirrored_blind == pytest.approx(blind)
    assert check.mirrored.low > check.mirrored_blind  # more than a blind guesser: mirrored
    assert check.sign == "anti-correlated" and check.gap.high < 0


# -- chapter 6 over training runs ------------------------------------------------------------
def run(linear: float, seconds: float = 100.0, iterations: int = 40) -> Comparison:
    """One training run's comparison of two methods: "a" with its linear reader at ``linear``
    (±2), "b" at chance on every rung."""
    limits = (None, None, 2000, 400)
    a = Ladder("a", READERS, (pct(linear), *map(pct, (0.97, 0.38, 0.96))), CHANCE,
               (None, None, iterations, 30), limits)  # fmt: skip
    b = Ladder("b", READERS, tuple(map(pct, (0.33, 0.35, 0.33, 0.37))), CHANCE,
               (None, None, 50, 30), limits)  # fmt: skip
    return Comparison(("a", "b"), (a, b), b, (db(35), db(36)), (db(33.5), db(38.0)), db(22.8),
                      (pct(1.0), pct(0.9)), (seconds, 200.0))  # fmt: skip


HIDES = "- **a** **hides it** from the linear reader, but the whitened linear and post-hoc"
RUNS_CASES = [
    # the linear reader of "a" in each run; the words the verdicts and the table must say;
    # what the verdict says "a" does to the light, from the combined interval
    pytest.param(
        [0.38],
        "Held-out accuracy of each reader, weakest rung first",
        "Scores are held-out accuracies at the light class. Chance is 36%",
        "| training |",
        HIDES,
        id="one-run",
    ),
    pytest.param(
        [0.37, 0.38, 0.39],
        "Held-out accuracy of each reader over 3 training runs, weakest rung first",
        "Scores are held-out accuracies at the light class over 3 training runs. Chance is 36%",
        "| training (first run) |",
        HIDES,
        id="three-runs",
    ),
    pytest.param(  # two runs 2 points apart: a t interval of 1 degree of freedom, ±13 points
        [0.37, 0.39],
        "Held-out accuracy of each reader over 2 training runs, weakest rung first",
        "Scores are held-out accuracies at the light class over 2 training runs.",
        "| training (first run) |",
        "- **a** **keeps it** for the whitened linear and post-hoc adversary readers (the "
        "strongest rung that reads, post-hoc adversary: 96% ± 2); the linear not "
        "distinguishable from the bar;",
        id="two-runs",
    ),
]


@pytest.mark.parametrize("linear, ladder_words, verdict_words, training, status", RUNS_CASES)
def test_the_verdicts_say_how_many_training_runs_they_hold(
    linear: list[float], ladder_words: str, verdict_words: str, training: str, status: str
) -> None:
    runs = [run(v) for v in linear]
    result = runs[0] if len(runs) == 1 else Comparison.over_runs(runs)
    assert result.runs == len(runs) and result.ladders[0].runs == len(runs)
    assert ladder_words in result.ladders[0].verdict, result.ladders[0].verdict
    assert ladder_words in result.pixels.verdict
    assert result.verdict.startswith(verdict_words), result.verdict
    assert status in result.verdict, result.verdict
    assert training in result.costs().splitlines()[0] + " |"
    if len(runs) == 1:
        assert "training runs" not in result.verdict + result.ladders[0].verdict


def test_the_comparison_over_runs_is_judged_on_the_combined_interval() -> None:
    # each run's linear reader of "a" reads on its own (45%, 48%, 51%, each ±2; the bar is
    # 42.4%), but the runs disagree: the combined interval, 48% ± 8, covers the bar
    runs = [run(v, seconds=100.0 + i) for i, v in enumerate((0.45, 0.48, 0.51))]
    for one in runs:
        assert one.ladders[0].reads("linear")
    result = Comparison.over_runs(runs)
    linear = result.ladders[0].score_of("linear")
    assert linear.value == pytest.approx(0.48) and linear.runs == 3
    assert linear.low < 0.424 < linear.high
    assert result.ladders[0].reading("linear").value == "not distinguishable"
    assert "- **a** **keeps it** for the whitened linear and post-hoc adversary readers" in (
        result.verdict
    )
    assert "the linear not distinguishable from the bar" in result.verdict
    assert result.chance == pytest.approx(CHANCE) and result.seconds == (100.0, 200.0)
    assert result.per_run == tuple(runs) and result.relit[1].runs == 3
    assert "| a | 48% ± 8 | 97% ± 2 |" in result.table()


def test_the_spread_table_names_every_headline_of_every_method() -> None:
    result = Comparison.over_runs([run(v) for v in (0.37, 0.38, 0.39)])
    spreads = result.spreads()
    assert set(spreads) == {
        f"{m}: {h}"
        for m in ("a", "b")
        for h in (*READERS, "reconstruction", "relit vs truth", "slider monotone")
    }
    assert spreads["a: reconstruction"] == pytest.approx((0.0, 0.3))  # the same in every run
    table = result.spread_table()
    assert "| a: linear | 38% ± 3 | 3 | ± 2.5 points | ± 2.0 points |" in table
    assert "| b: relit vs truth | 38.0 dB ± 0.3 | 3 | ± 0.00 dB | ± 0.30 dB |" in table
    assert "(one run: not measured)" in run(0.38).spread_table()


def test_ladders_combine_reader_by_reader() -> None:
    runs = [run(0.38, iterations=n).ladders[0] for n in (40, 2000, 60)]
    runs[1] = Ladder(**{**runs[1].__dict__, "chance": 0.39})
    ladder = Ladder.over_runs(runs)
    assert ladder.readers == READERS and ladder.chance == pytest.approx(0.37)
    assert ladder.iterations == (None, None, 2000, 30)  # the longest run of each reader
    assert not ladder.converged("MLP") and ladder.converged("linear")
    assert "MLP stopped at its limit of 2000 iterations without converging." in ladder.verdict
    assert ladder.scores[1].runs == 3 and ladder.scores[1].value == pytest.approx(0.97)
    with pytest.raises(ValueError, match="at least 2"):
        Ladder.over_runs(runs[:1])
    short = Ladder("a", READERS[:2], runs[0].scores[:2], CHANCE)
    with pytest.raises(ValueError, match="disagree on readers"):
        Ladder.over_runs([short, Ladder("a", READERS[1:3], runs[0].scores[:2], CHANCE)])
    other = Comparison(("a", "c"), *list(run(0.38).__dict__.values())[1:-1])
    with pytest.raises(ValueError, match="disagree on methods"):
        Comparison.over_runs([run(0.38), other])


@pytest.mark.parametrize(
    ("r", "sign"),
    [
        (None, "undefined"),
        (r2(-0.28, 0.07), "anti-correlated"),
        (r2(0.5, 0.05), "correlated"),
        (r2(0.02, 0.05), "uncorrelated"),  # within ±R_MARGIN
        (r2(0.08, 0.05), "not distinguishable"),  # covers +R_MARGIN
    ],
)
def test_discriminator_guesses_sign_of_r(r: Estimate | None, sign: str) -> None:
    import dataclasses

    check = dataclasses.replace(
        guesses([[250, 25, 25], [25, 250, 25], [25, 25, 250]]), correlation=r
    )
    assert check.sign == sign
    if r is not None:
        assert f"r = {r}" in check.verdict and f"({sign};" in check.verdict
