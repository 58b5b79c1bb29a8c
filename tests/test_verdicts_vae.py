"""Table-driven verdict tests of the VAE chapter (generation and the β sweep).

Each result is built from hand-made Estimates (no training, no sampling) and every branch of
its verdict is run: the bold headline and the clauses after it must agree with the numbers,
and the numbers the verdict prints must be the ones the result holds.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from sepviz.experiments import DB_MARGIN, Estimate, Order, Reading
from sepviz.experiments.generative import (
    AE_FITTED,
    AE_PRIOR,
    FRECHET_RATIO,
    MODELS,
    PCA_FITTED,
    VAE,
    BetaSweep,
    Generation,
)
from sepviz.experiments.measures import MIG_BAR, MIG_MARGIN

COVERED = (Generation, BetaSweep)


def pct(value: float, half: float = 0.02) -> Estimate:
    return Estimate(value, value - half, value + half, "%")


def db(value: float, half: float = 0.2) -> Estimate:
    return Estimate(value, value - half, value + half, "dB")


def num(value: float, half: float) -> Estimate:
    return Estimate(value, value - half, value + half, "")


def bold(text: str) -> list[str]:
    """The bold phrases of a verdict, in order."""
    return text.split("**")[1::2]


# -- generation -----------------------------------------------------------------------------
FRECHET = {VAE: num(10.0, 0.5), AE_PRIOR: num(30.0, 1.5), AE_FITTED: num(20.0, 1.0),
           PCA_FITTED: num(25.0, 1.0)}  # fmt: skip
REAL_FRECHET, REAL_NEAREST = num(2.0, 0.2), db(18.0)
DETECTOR, NEAREST = pct(0.9), db(16.0)  # the VAE's: told apart, and new faces


def gen(
    models: tuple[str, ...] = MODELS,
    detector: Estimate = DETECTOR,
    nearest: Estimate = NEAREST,
    **frechet: Estimate,
) -> Generation:
    """A result whose VAE is detected at ``detector`` and lies ``nearest`` from the training
    faces; ``frechet`` replaces :data:`FRECHET` by model (keys: vae, prior, fitted, pca). The
    other samplers get detector and PSNR numbers of their own, so a verdict that printed the
    wrong sampler's would show it."""
    keys = {"vae": VAE, "prior": AE_PRIOR, "fitted": AE_FITTED, "pca": PCA_FITTED}
    fd = {**FRECHET, **{keys[k]: v for k, v in frechet.items()}}
    others = {name: (pct(0.99 - 0.01 * i), db(14.0 - i)) for i, name in enumerate(MODELS)}
    others[VAE] = (detector, nearest)
    return Generation(
        models,
        tuple(fd[m] for m in models),
        tuple(others[m][0] for m in models),
        tuple(others[m][1] for m in models),
        REAL_FRECHET,
        REAL_NEAREST,
    )


def test_the_ratio_is_the_log_of_the_frechet_distances_with_relative_halves_in_quadrature() -> None:
    result = gen()
    ratio = result.ratio(AE_PRIOR)
    assert ratio.value == pytest.approx(math.log(30.0 / 10.0))
    # 1.5 / 30 and 0.5 / 10: five per cent each
    assert ratio.high - ratio.value == pytest.approx(math.hypot(0.05, 0.05))
    assert ratio.value - ratio.low == pytest.approx(math.hypot(0.05, 0.05))
    assert result.ratio(VAE, better=AE_PRIOR).value == pytest.approx(-ratio.value)
    assert result.order(VAE, better=AE_PRIOR) is Order.WORSE
    # 25 / 20 is exactly 1.25, give or take 6%: the interval covers the margin
    assert result.ratio(PCA_FITTED, AE_FITTED).value == pytest.approx(math.log(FRECHET_RATIO))
    assert result.order(PCA_FITTED, better=AE_FITTED) is Order.NOT_DISTINGUISHABLE


PRIOR_CASES = [
    # (VAE, autoencoder from N(0, I)): Fréchet distances, and what the verdict says
    pytest.param(num(10.0, 0.5), num(30.0, 1.5), Order.BETTER,
                 "The constraint makes it generative", id="better"),
    pytest.param(num(30.0, 1.5), num(10.0, 0.5), Order.WORSE,
                 "The constraint does not make it generative", id="worse"),
    # a ratio of 1.05 ± 3%: within 1.25 both ways
    pytest.param(num(10.0, 0.2), num(10.5, 0.2), Order.EQUAL,
                 "The constraint changes nothing here", id="equal"),
    # a ratio of exactly 1.25 ± 15%: the interval covers the margin
    pytest.param(num(10.0, 1.0), num(12.5, 1.5), Order.NOT_DISTINGUISHABLE,
                 "Not distinguishable", id="not-distinguishable"),
]  # fmt: skip


@pytest.mark.parametrize("vae, prior, order, head", PRIOR_CASES)
def test_generation_head_is_the_order_of_the_vae_and_the_autoencoder_from_the_prior(
    vae: Estimate, prior: Estimate, order: Order, head: str
) -> None:
    result = gen(vae=vae, prior=prior)
    assert result.order(AE_PRIOR) is order
    ratio, margin = result.ratio(AE_PRIOR), math.log(FRECHET_RATIO)
    # the words agree with the interval of the log ratio against log 1.25
    assert (order is Order.BETTER) is (ratio.low > margin)
    assert (order is Order.WORSE) is (ratio.high < -margin)
    verdict = result.verdict
    assert bold(verdict)[0] == head
    assert verdict.startswith(f"**{head}**: faces the VAE draws from its prior lie at a Fréchet ")
    assert f"distance of {vae} from real faces, against {prior} for the plain autoencoder" in (
        verdict
    )
    assert f"(real against real: {REAL_FRECHET})" in verdict
    assert "training runs" not in verdict  # one trained model
    heads = {c.values[3] for c in PRIOR_CASES} - {head}
    assert not any(f"**{h}**" in verdict for h in heads)


FITTED_CASES = [
    # the VAE (10 ± 0.5) against the autoencoder from a Gaussian fitted to its codes
    pytest.param(num(20.0, 1.0), Order.BETTER, "still nearer real faces than it",
                 "the prior matters beyond knowing where the codes lie.", id="better"),
    pytest.param(num(5.0, 0.25), Order.WORSE, "farther from real faces than it",
                 "what the prior buys is a known place to draw codes from.", id="worse"),
    pytest.param(num(10.5, 0.2), Order.EQUAL, "as near real faces (within a ratio of 1.25) as it",
                 "what the prior buys is a known place to draw codes from.", id="equal"),
    pytest.param(num(12.5, 1.5), Order.NOT_DISTINGUISHABLE, "not distinguishable from it",
                 "the data cannot tell whether the prior matters beyond knowing where the codes "
                 "lie.", id="not-distinguishable"),
]  # fmt: skip


@pytest.mark.parametrize("fitted, order, says, then", FITTED_CASES)
def test_generation_sets_the_vae_against_a_gaussian_fitted_to_the_autoencoders_codes(
    fitted: Estimate, order: Order, says: str, then: str
) -> None:
    result = gen(fitted=fitted, vae=num(10.0, 0.2) if order is Order.EQUAL else num(10.0, 0.5))
    assert result.order(AE_FITTED) is order
    verdict = result.verdict
    sentence = f"Against a Gaussian fitted to the plain autoencoder's own codes ({fitted}) the "
    assert f"{sentence}VAE is {says}: {then}" in verdict, verdict
    # only a VAE nearer than the fitted Gaussian says the prior itself matters
    assert (": the prior matters beyond" in verdict) is (order is Order.BETTER)
    assert ("a known place to draw codes" in verdict) is (order in (Order.WORSE, Order.EQUAL))


@pytest.mark.parametrize(
    ("detector", "state", "words"),
    [
        (pct(0.90), Reading.READS, "(chance 50%: it tells them apart)."),
        (pct(0.51), Reading.AT_CHANCE, "(chance 50%: it cannot tell them apart)."),
        (pct(0.40), Reading.BELOW_CHANCE, "(chance 50%: below chance)."),
        # 52..58 covers the bar of 55%
        (pct(0.55, 0.03), Reading.NOT_DISTINGUISHABLE,
         "(chance 50%: not distinguishable from its bar)."),
    ],
)  # fmt: skip
def test_generation_reads_the_real_against_generated_classifier_against_chance(
    detector: Estimate, state: Reading, words: str
) -> None:
    result = gen(detector=detector)
    assert result.told_apart(VAE) is state
    verdict = result.verdict
    assert f"A classifier tells the VAE's faces from real ones at {detector} {words}" in verdict
    assert ("cannot tell them apart" in verdict) is (state is Reading.AT_CHANCE)


@pytest.mark.parametrize(
    ("nearest", "order", "words"),
    [
        (db(20.0), Order.BETTER, "nearer than new faces are, so it partly **copies** training "
         "faces."),
        (db(16.0), Order.WORSE, "farther than new faces are: **new faces**, not copies."),
        (db(18.1), Order.EQUAL, "as near as new faces are: **new faces**, not copies."),
        # +0.5 ± 0.36 dB covers the margin
        (db(18.5, 0.3), Order.NOT_DISTINGUISHABLE, "not distinguishable from new faces."),
    ],
)  # fmt: skip
def test_generation_says_whether_the_vae_copies_its_training_faces(
    nearest: Estimate, order: Order, words: str
) -> None:
    result = gen(nearest=nearest)
    assert result.copies(VAE) is order
    difference = nearest - REAL_NEAREST
    assert (order is Order.BETTER) is (difference.low > DB_MARGIN)
    verdict = result.verdict
    assert verdict.endswith(
        f" Its faces lie at {nearest} PSNR from their nearest training face, fresh real faces "
        f"at {REAL_NEAREST}: {words}"
    ), verdict
    assert ("**copies**" in verdict) is (order is Order.BETTER)
    assert ("**new faces**" in verdict) is (order in (Order.WORSE, Order.EQUAL))


def test_generation_prints_the_vaes_own_numbers_wherever_it_stands() -> None:
    # the VAE last: its detector and PSNR, not those of the first sampler, are the verdict's
    order = (AE_PRIOR, AE_FITTED, PCA_FITTED, VAE)
    moved, first = gen(order, pct(0.51), db(20.0)), gen(MODELS, pct(0.51), db(20.0))
    assert moved.verdict == first.verdict
    assert "at 51% ± 2 (chance 50%: it cannot tell them apart)" in moved.verdict
    assert "at 20.0 dB ± 0.2 PSNR" in moved.verdict and "**copies**" in moved.verdict


def test_generation_table_has_a_row_per_sampler_and_the_real_faces() -> None:
    result = gen()
    lines = result.table().splitlines()
    assert (
        lines[0] == "| faces | Fréchet distance | told from real | PSNR to nearest training face |"
    )
    assert len(lines) == 2 + len(MODELS) + 1
    for line, (i, name) in zip(lines[2:], enumerate(MODELS)):
        assert line == f"| {name} | {result.frechet[i]} | {result.detector[i]} | " + (
            f"{result.nearest[i]} |"
        )
    assert lines[-1] == f"| fresh real faces | {REAL_FRECHET} | 50% (chance) | {REAL_NEAREST} |"


# -- generation over training runs -----------------------------------------------------------
def gen_runs(priors: tuple[float, ...], detectors: tuple[float, ...]) -> Generation:
    """One result over the runs: the autoencoder from N(0, I) at ``priors`` (±0.5) and the
    VAE's detector at ``detectors`` (±2 points), one each per run; the rest as :func:`gen`."""
    runs = [gen(detector=pct(d), prior=num(p, 0.5)) for p, d in zip(priors, detectors, strict=True)]
    return Generation.over_runs(runs)


def test_generation_over_training_runs_says_so_and_combines_every_number() -> None:
    result = gen_runs((28.0, 30.0, 32.0), (0.88, 0.90, 0.92))
    assert len(result.per_run) == 3
    prior = result.frechet[1]
    assert prior.runs == 3 and prior.value == pytest.approx(30.0)
    # t(0.975, 2) = 4.303 times the runs' standard deviation (2) over sqrt(3), and the faces'
    run_half = 4.303 * 2.0 / 3**0.5
    assert prior.high - prior.value == pytest.approx(math.hypot(run_half, 0.5))
    assert result.detector[0].value == pytest.approx(0.90) and result.detector[0].runs == 3
    assert result.models == MODELS and result.real_nearest.runs == 3
    verdict = result.verdict
    assert verdict.startswith("**The constraint makes it generative** over 3 training runs: ")
    assert f"against {prior} for the plain autoencoder" in verdict
    assert f"at {result.detector[0]} (chance 50%: it tells them apart)" in verdict
    # the same result from one run: no runs note, and over_runs gives that run back
    one = gen()
    assert Generation.over_runs([one]) is one and "training runs" not in one.verdict


def test_generation_over_training_runs_is_judged_on_the_combined_interval() -> None:
    # each run alone puts the VAE (10 ± 0.5) nearer by more than 1.25 (14, 30, 46 ± 0.5);
    # the runs disagree so much that the combined interval covers the margin
    priors = (14.0, 30.0, 46.0)
    runs = [gen(prior=num(p, 0.5)) for p in priors]
    assert all(r.order(AE_PRIOR) is Order.BETTER for r in runs)
    result = Generation.over_runs(runs)
    assert result.order(AE_PRIOR) is Order.NOT_DISTINGUISHABLE
    assert result.ratio(AE_PRIOR).low < math.log(FRECHET_RATIO) < result.ratio(AE_PRIOR).high
    assert result.verdict.startswith("**Not distinguishable** over 3 training runs: ")


def test_generation_spread_table_names_every_samplers_frechet_distance() -> None:
    result = gen_runs((28.0, 30.0, 32.0), (0.88, 0.90, 0.92))
    spreads = result.spreads()
    assert set(spreads) == {f"Fréchet distance, {name}" for name in MODELS}
    run_half, face_half = spreads[f"Fréchet distance, {AE_PRIOR}"]
    assert run_half == pytest.approx(4.303 * 2.0 / 3**0.5) and face_half == pytest.approx(0.5)
    assert spreads[f"Fréchet distance, {VAE}"] == pytest.approx((0.0, 0.5))  # same every run
    table = result.spread_table()
    assert table.count("\n") == 2 + len(MODELS)
    prior = result.frechet[1]
    assert f"| Fréchet distance, {AE_PRIOR} | {prior} | 3 | ± {run_half:.3f} | ± 0.500 |" in table
    assert gen().spreads() == {} and "(one run: not measured)" in gen().spread_table()


def test_generation_over_runs_refuses_runs_of_other_samplers() -> None:
    order = (AE_PRIOR, AE_FITTED, PCA_FITTED, VAE)
    with pytest.raises(ValueError, match="the runs disagree on models"):
        Generation.over_runs([gen(), gen(order)])


# -- the β sweep ----------------------------------------------------------------------------
AE_MIG, LARGEST_PSNR = num(0.05, 0.01), db(27.0)


def sweep(
    mig: Estimate,
    psnr: Estimate = LARGEST_PSNR,
    autoencoder_mig: Estimate = AE_MIG,
    betas: tuple[float, ...] = (1.0, 4.0),
) -> BetaSweep:
    """A sweep whose largest β has MIG ``mig`` and PSNR ``psnr``; the smallest β has
    30.0 dB ± 0.2, 8 active units and MIG 0.04 ± 0.01."""
    n = len(betas)
    middle = [num(0.04, 0.01)] * (n - 1)
    return BetaSweep(
        betas=betas,
        psnr=(db(30.0), *[db(29.0)] * (n - 2), psnr),
        kl=tuple(num(40.0 - 10 * i, 1.0) for i in range(n)),
        active=tuple(num(8.0 - 5 * i / (n - 1), 0.0) for i in range(n)),
        mig=(*middle, mig),
        disentanglement=tuple(num(0.1 + 0.1 * i, 0.0) for i in range(n)),
        autoencoder_psnr=db(31.0),
        autoencoder_mig=autoencoder_mig,
        autoencoder_disentanglement=num(0.08, 0.0),
    )


MIG_CASES = [
    # (the largest β's MIG, the autoencoder's): the order, the bar, the head
    pytest.param(num(0.35, 0.03), AE_MIG, Order.BETTER, "above",
                 "A larger β disentangles", id="better-above-the-bar"),
    # a gain of 0.07 ± 0.02 over the autoencoder, but 0.12..0.16 is short of the bar
    pytest.param(num(0.14, 0.02), AE_MIG, Order.BETTER, "below",
                 "A larger β raises the MIG", id="better-below-the-bar"),
    pytest.param(num(0.20, 0.05), AE_MIG, Order.BETTER, "covers",
                 "A larger β raises the MIG", id="better-covers-the-bar"),
    pytest.param(num(0.01, 0.005), num(0.10, 0.01), Order.WORSE, "below",
                 "A larger β entangles", id="worse"),
    pytest.param(num(0.055, 0.005), num(0.05, 0.005), Order.EQUAL, "below",
                 "β does not disentangle here", id="equal"),
    pytest.param(num(0.07, 0.01), AE_MIG, Order.NOT_DISTINGUISHABLE, "below",
                 "Not distinguishable", id="not-distinguishable"),
    pytest.param(num(0.40, 0.10), num(0.38, 0.01), Order.NOT_DISTINGUISHABLE, "above",
                 "Not distinguishable", id="not-distinguishable-above-the-bar"),
    pytest.param(num(0.21, 0.03), num(0.19, 0.01), Order.NOT_DISTINGUISHABLE, "covers",
                 "Not distinguishable", id="not-distinguishable-covers-the-bar"),
]  # fmt: skip
BAR_WORDS = {
    "above": ", which it reaches).",
    "below": ", which it does not reach).",
    "covers": f"a latent is disentangled above {MIG_BAR:g}).",
}


@pytest.mark.parametrize("mig, ae_mig, order, bar, head", MIG_CASES)
def test_beta_sweep_head_is_the_mig_gain_and_the_bar(
    mig: Estimate, ae_mig: Estimate, order: Order, bar: str, head: str
) -> None:
    result = sweep(mig, autoencoder_mig=ae_mig)
    assert result.mig_gain() is order
    # the case's numbers are what its id says: the gain against the margin, the MIG the bar
    gain = mig - ae_mig
    assert (order is Order.BETTER) is (gain.low > MIG_MARGIN)
    assert {"above": mig.above, "below": mig.below, "covers": mig.covers}[bar](MIG_BAR)
    verdict = result.verdict
    assert bold(verdict)[0] == head
    assert verdict.startswith(
        f"**{head}**: at β = 4 the MIG is {mig} against {ae_mig} for the plain autoencoder "
        f"(equal within {MIG_MARGIN:.2f}; a latent is disentangled above {MIG_BAR:g}"
    ), verdict
    assert BAR_WORDS[bar] in verdict
    assert not any(w in verdict for k, w in BAR_WORDS.items() if k != bar)
    # "disentangles" only for a gain above the margin that also clears the bar
    assert ("disentangles" in verdict) is (gain.low > MIG_MARGIN and mig.low > MIG_BAR)
    assert "training runs" not in verdict


@pytest.mark.parametrize(
    ("psnr", "order", "words"),
    [
        (db(31.0), Order.BETTER, "(a gain)."),
        (db(27.0), Order.WORSE, f"(a cost beyond {DB_MARGIN} dB)."),
        (db(30.1), Order.EQUAL, f"(equal within {DB_MARGIN} dB)."),
        # -0.5 ± 0.28 dB covers the margin
        (db(29.5), Order.NOT_DISTINGUISHABLE, "(not distinguishable)."),
    ],
)
def test_beta_sweep_says_what_a_larger_beta_costs_in_reconstruction(
    psnr: Estimate, order: Order, words: str
) -> None:
    result = sweep(num(0.35, 0.03), psnr)
    assert result.reconstruction_cost() is order
    assert (order is Order.WORSE) is ((psnr - result.psnr[0]).high < -DB_MARGIN)
    assert result.verdict.endswith(
        f" From β = 1 to 4 the active units go from 8.0 to 3.0 and the reconstruction from "
        f"{db(30.0)} to {psnr} {words}"
    ), result.verdict
    assert ("a cost" in result.verdict) is (order is Order.WORSE)


def test_beta_sweep_names_the_smallest_and_largest_beta() -> None:
    result = sweep(num(0.35, 0.03), betas=(0.5, 1.0, 2.0, 8.0))
    verdict = result.verdict
    assert "at β = 8 the MIG is 0.35 ± 0.03" in verdict
    assert "From β = 0.5 to 8 the active units go from 8.0 to 3.0" in verdict


def test_beta_sweep_table_has_a_row_per_beta_and_the_autoencoder() -> None:
    result = sweep(num(0.35, 0.03), betas=(0.5, 1.0, 4.0))
    lines = result.table().splitlines()
    assert lines[0] == "| model | PSNR | KL (nats) | active units | MIG | DCI disentanglement |"
    assert len(lines) == 2 + 3 + 1
    assert (
        lines[2]
        == "| VAE, β = 0.5 | 30.0 dB ± 0.2 | 40.00 ± 1.00 | 8.0 | 0.04 ± 0.01 | 0.10 ± 0.00 |"
    )
    assert (
        lines[3]
        == "| VAE, β = 1 | 29.0 dB ± 0.2 | 30.00 ± 1.00 | 5.5 | 0.04 ± 0.01 | 0.20 ± 0.00 |"
    )
    assert (
        lines[4]
        == "| VAE, β = 4 | 27.0 dB ± 0.2 | 20.00 ± 1.00 | 3.0 | 0.35 ± 0.03 | 0.30 ± 0.00 |"
    )
    assert lines[5] == "| plain autoencoder | 31.0 dB ± 0.2 | — | — | 0.05 ± 0.01 | 0.08 ± 0.00 |"


# -- the β sweep over training runs ----------------------------------------------------------
def sweep_runs(migs: tuple[float, ...], half: float = 0.02) -> BetaSweep:
    """One sweep over the runs: the largest β's MIG at ``migs`` (±``half``), one per run."""
    return BetaSweep.over_runs([sweep(num(m, half)) for m in migs])


def test_beta_sweep_over_training_runs_says_so_and_combines_every_number() -> None:
    result = sweep_runs((0.30, 0.35, 0.40))
    assert len(result.per_run) == 3 and result.betas == (1.0, 4.0)
    mig = result.mig[-1]
    assert mig.runs == 3 and mig.value == pytest.approx(0.35)
    run_half = 4.303 * 0.05 / 3**0.5
    assert mig.high - mig.value == pytest.approx(math.hypot(run_half, 0.02))
    assert result.autoencoder_mig.runs == 3 and result.active[-1].value == pytest.approx(3.0)
    verdict = result.verdict
    assert verdict.startswith(f"**A larger β disentangles** over 3 training runs: at β = 4 the MIG "
                              f"is {mig} against {result.autoencoder_mig}")  # fmt: skip
    one = sweep(num(0.35, 0.03))
    assert BetaSweep.over_runs([one]) is one


def test_beta_sweep_over_training_runs_is_judged_on_the_combined_interval() -> None:
    # each run alone disentangles (0.25, 0.45, 0.65, each ± 0.02); together 0.45 ± 0.50
    runs = [sweep(num(m, 0.02)) for m in (0.25, 0.45, 0.65)]
    assert all(r.verdict.startswith("**A larger β disentangles**") for r in runs)
    result = BetaSweep.over_runs(runs)
    assert result.mig_gain() is Order.NOT_DISTINGUISHABLE and result.mig[-1].covers(MIG_BAR)
    assert result.verdict.startswith("**Not distinguishable** over 3 training runs: ")
    assert "disentangles" not in result.verdict and "reach" not in result.verdict


def test_beta_sweep_spread_table_names_psnr_and_mig_per_beta() -> None:
    result = sweep_runs((0.30, 0.35, 0.40))
    spreads = result.spreads()
    assert set(spreads) == {f"{m}, β = {b}" for m in ("PSNR", "MIG") for b in (1, 4)}
    assert spreads["PSNR, β = 4"] == pytest.approx((0.0, 0.2))  # the same in every run
    run_half, face_half = spreads["MIG, β = 4"]
    assert run_half == pytest.approx(4.303 * 0.05 / 3**0.5) and face_half == pytest.approx(0.02)
    table = result.spread_table()
    assert table.count("\n") == 2 + 4
    assert f"| MIG, β = 4 | {result.mig[-1]} | 3 | ± {run_half:.3f} | ± 0.020 |" in table
    assert "| PSNR, β = 1 | 30.0 dB ± 0.2 | 3 | ± 0.00 dB | ± 0.20 dB |" in table
    assert sweep(num(0.35, 0.03)).spreads() == {}


def test_beta_sweep_over_runs_refuses_runs_of_other_betas() -> None:
    other = sweep(num(0.35, 0.03), betas=(1.0, 8.0))
    with pytest.raises(ValueError, match="the runs disagree on betas"):
        BetaSweep.over_runs([sweep(num(0.35, 0.03)), other])
    assert dataclasses.replace(other, betas=(1.0, 4.0)) == sweep(num(0.35, 0.03))
