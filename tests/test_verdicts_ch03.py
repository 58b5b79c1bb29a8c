"""Table-driven verdict tests of chapters 0 to 4 (renderer, autoencoder vs PCA, DeepFakes).

Each result is built from hand-made Estimates (no training, no rendering) and every branch of
its verdict is run: the bold headline and the clauses after it must agree with the numbers.
"""

from __future__ import annotations

import dataclasses

import pytest

from sepviz.experiments import DB_MARGIN, Estimate, Order, Reading
from sepviz.experiments.autoencoder_vs_pca import AutoencoderVsPCA
from sepviz.experiments.deepfakes import WORKS_DB, IdentityProbe, LayerSwap, SwapQuality
from sepviz.experiments.renderer import PHYSICAL_SHARE, LightSweep, PixelShares

COVERED = (PixelShares, LightSweep, AutoencoderVsPCA, SwapQuality, IdentityProbe, LayerSwap)


def pct(value: float, half: float = 0.02, runs: int = 1) -> Estimate:
    return Estimate(value, value - half, value + half, "%", runs)


def r2(value: float, half: float = 0.02) -> Estimate:
    return Estimate(value, value - half, value + half, "")


def db(value: float, half: float = 0.2, runs: int = 1) -> Estimate:
    return Estimate(value, value - half, value + half, "dB", runs)


def bold(text: str) -> list[str]:
    """The bold phrases of a verdict, in order."""
    return text.split("**")[1::2]


# -- chapter 0: pixel shares ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("identity", "expression", "light", "head"),
    [
        (pct(0.20), pct(0.05), pct(0.75), "Light moves the most pixels."),
        (pct(0.60), pct(0.05), pct(0.35), "Identity moves the most pixels."),
        # 0.45 +- 0.06 and 0.50 +- 0.06 overlap: the order is not decided
        (pct(0.45, 0.06), pct(0.05), pct(0.50, 0.06), "Not distinguishable"),
    ],
)
def test_pixel_shares_verdict(
    identity: Estimate, expression: Estimate, light: Estimate, head: str
) -> None:
    result = PixelShares(("identity", "expression", "light"), (identity, expression, light), 4, 8)
    verdict = result.verdict
    assert bold(verdict)[0] == head
    top = result.ranked[0][1]
    assert f"**{top}**" in verdict and "4 independent sets of 8 faces" in verdict
    if head == "Not distinguishable":
        assert "light and identity overlap" in verdict and "moves the most" not in verdict
    assert "latent" not in verdict  # what a model would do is the chapter's prose


# -- chapter 1: light sweep -----------------------------------------------------------------
RISING = (-0.3, -0.1, 0.1, 0.3)
FALLING = (-0.3, 0.1, -0.1, 0.3)


@pytest.mark.parametrize(
    ("rising", "asymmetry", "head", "face"),
    [
        (pct(1.0, 0.0), RISING, "The light sweep is physical in the sense the book needs", "rises"),
        (
            pct(0.99, 0.01),
            FALLING,
            "The light sweep is physical in the sense the book needs",
            "fails",
        ),
        (pct(0.95, 0.02), RISING, "Not distinguishable", "rises"),
        (pct(0.60, 0.05), RISING, "The light sweep is not physical for enough faces", "rises"),
        (None, RISING, "Not measured", "rises"),
        (None, FALLING, "Not measured", "fails"),
    ],
)
def test_light_sweep_head_is_decided_on_the_share_of_random_faces(
    rising: Estimate | None, asymmetry: tuple[float, ...], head: str, face: str
) -> None:
    result = LightSweep((-60.0, -20.0, 20.0, 60.0), asymmetry, rising, 0 if rising is None else 200)
    verdict = result.verdict
    assert bold(verdict)[0] == head
    if rising is not None:
        assert f"**{rising}** of 200 random faces" in verdict
        assert f"the bar is {PHYSICAL_SHARE:.0%}" in verdict
    if face == "rises":
        assert "For the face shown it rises at every step across its 4 lamps" in verdict
        assert "fails" not in verdict
    else:
        assert "For the face shown it fails to rise at -20° → +20°" in verdict


# -- chapter 2: autoencoder vs PCA ----------------------------------------------------------
def avp(gains: list[Estimate], sizes: tuple[int, ...] = (4, 16), **kw: object) -> AutoencoderVsPCA:
    pca = tuple(db(20.0 + 3 * i) for i in range(len(sizes)))
    fields = {
        "sizes": sizes,
        "autoencoder": tuple(db(p.value + g.value) for p, g in zip(pca, gains)),
        "pca": pca,
        "gain": tuple(gains),
        "variance_kept": tuple(0.5 + 0.1 * i for i in range(len(sizes))),
        "ae_parameters": (1,) * len(sizes),
        "pca_parameters": (1,) * len(sizes),
        "loss_change": (-0.01,) * len(sizes),
        "steps": (6000,) * len(sizes),
    }
    return AutoencoderVsPCA(**{**fields, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("gains", "heads", "crossover", "factors"),
    [
        # the built book at the quick budget: the autoencoder ahead at both sizes
        ([db(3.0), db(2.0)], ["The autoencoder beats PCA at d = 4, 16"], None, "below and above"),
        ([db(-3.0), db(-2.0)], ["PCA beats the autoencoder at d = 4, 16"], None, "also below"),
        ([db(0.1), db(-0.2)], ["Equal within 0.5 dB"], None, None),
        # +0.5 +- 0.3 covers the margin: neither better nor equal
        ([db(0.5, 0.3), db(0.4, 0.3)], ["Not distinguishable"], None, None),
        (
            [db(3.0), db(-2.0)],
            ["The autoencoder beats PCA at d = 4", "PCA beats the autoencoder at d = 16"],
            "between d = 4 (the autoencoder better) and d = 16 (PCA better), which brackets",
            None,
        ),
        (
            [db(3.0), db(0.0)],
            ["The autoencoder beats PCA at d = 4", "Equal within 0.5 dB"],
            "between d = 4 (the autoencoder better) and d = 16 (equal), which brackets",
            None,
        ),
        # a not-distinguishable size establishes no crossover
        (
            [db(3.0), db(0.5, 0.3)],
            ["The autoencoder beats PCA at d = 4", "Not distinguishable"],
            None,
            None,
        ),
    ],
)
def test_autoencoder_vs_pca_verdict_follows_compare_per_size(
    gains: list[Estimate], heads: list[str], crossover: str | None, factors: str | None
) -> None:
    result = avp(gains)
    verdict = result.verdict
    assert bold(verdict) == heads
    for d, g in zip(result.sizes, gains):
        assert f"{g}" in verdict  # every gain is printed next to its answer
        order = result.orders[result.sizes.index(d)]
        assert (d in result.ae_wins) == (order is Order.BETTER)
        assert (d in result.pca_wins) == (order is Order.WORSE)
    if crossover is None:
        assert "crosses over" not in verdict and "crossover lies" not in verdict
    else:
        assert crossover in verdict and "From d = 4 to d = 16 PCA gains +3.0 dB" in verdict
    if factors is None:
        assert "at every size tried" not in verdict
    else:
        assert factors in verdict and "no crossover" in verdict


def test_autoencoder_vs_pca_without_sizes_on_both_sides_says_nothing_of_the_factors() -> None:
    result = avp([db(3.0), db(2.0)], sizes=(16, 32))
    assert "true factors" not in result.verdict


def test_autoencoder_vs_pca_names_the_crossover_that_brackets_the_factors() -> None:
    result = avp([db(3.0), db(0.1), db(-2.0)], sizes=(4, 16, 32))
    assert result.crossovers == [(4, 16), (16, 32)]
    assert "the one between d = 4 and d = 16 brackets" in result.verdict
    early = dataclasses.replace(result, sizes=(2, 4, 8))
    assert "none brackets" in early.verdict


@pytest.mark.parametrize(
    ("changes", "words", "absent"),
    [
        ((-0.01, -0.02), "near a plateau", "still learning"),
        ((-0.01, -0.12), "at d = 16 more than 5%, still learning", "near a plateau"),
        ((None, None), "*Convergence not checked*", "still learning"),
        ((None, -0.01), "near a plateau", "still learning"),
    ],
)
def test_autoencoder_vs_pca_convergence_clause(
    changes: tuple[float | None, ...], words: str, absent: str
) -> None:
    verdict = avp([db(3.0), db(2.0)], loss_change=changes).verdict
    assert words in verdict and absent not in verdict
    assert "move the crossover" not in verdict  # none in the numbers, so none to move


@pytest.mark.parametrize(
    ("shorter", "moved", "words"),
    [
        ((db(2.8), db(1.9)), [], "the same answer at every size"),
        (
            (db(2.8), db(0.2)),
            [16],
            "**another answer at d = 16** (d = 16: equal instead of the autoencoder better)",
        ),
    ],
)
def test_autoencoder_vs_pca_budget_clause_only_when_the_answer_moved(
    shorter: tuple[Estimate, ...], moved: list[int], words: str
) -> None:
    result = avp([db(3.0), db(2.0)], loss_change=(-0.01, -0.12), shorter_gain=shorter)
    result = dataclasses.replace(result, shorter_steps=3000)
    assert result.moved == moved and result.holds_when_shorter is (not moved)
    assert "Trained for 3,000 steps" in result.verdict and words in result.verdict
    assert ("depends on the training budget" in result.verdict) is bool(moved)
    assert avp([db(3.0), db(2.0)]).holds_when_shorter is None


# -- chapter 2: over training runs ----------------------------------------------------------
def avp_runs(per_size: list[list[float]], half: float = 0.2, **kw: object) -> AutoencoderVsPCA:
    """One result over 3 runs: ``per_size[i]`` holds the gain AE - PCA of each run at size i
    (4, then 16), each with a face interval of ±``half``; ``kw`` go to the first run."""
    runs = [
        avp([db(gains[r], half) for gains in per_size], pca=(db(20.0 + r), db(23.0 + r)))
        for r in range(len(per_size[0]))
    ]
    runs[0] = dataclasses.replace(runs[0], **kw)
    return AutoencoderVsPCA.from_runs(runs)


@pytest.mark.parametrize(
    ("per_size", "heads", "orders"),
    [
        # every run and the mean agree
        (
            [[3.0, 3.5, 2.5], [2.0, 2.2, 1.8]],
            ["The autoencoder beats PCA at d = 4, 16 over 3 training runs"],
            (Order.BETTER, Order.BETTER),
        ),
        (
            [[-3.0, -3.2, -2.8], [-2.0, -2.2, -1.8]],
            ["PCA beats the autoencoder at d = 4, 16 over 3 training runs"],
            (Order.WORSE, Order.WORSE),
        ),
        (
            [[0.1, 0.0, 0.2], [0.0, -0.1, 0.1]],
            ["Equal within 0.5 dB"],
            (Order.EQUAL, Order.EQUAL),
        ),
        # each run alone decides (+3, 0, -3 dB), their mean cannot: the run spread covers it
        (
            [[3.0, 0.0, -3.0], [2.0, 2.2, 1.8]],
            ["The autoencoder beats PCA at d = 16 over 3 training runs", "Not distinguishable"],
            (Order.NOT_DISTINGUISHABLE, Order.BETTER),
        ),
    ],
)
def test_autoencoder_vs_pca_over_training_runs_is_judged_on_the_combined_interval(
    per_size: list[list[float]], heads: list[str], orders: tuple[Order, ...]
) -> None:
    result = avp_runs(per_size, half=0.1)
    verdict = result.verdict
    assert result.runs == 3 and all(g.runs == 3 for g in result.gain)
    assert result.orders == orders and bold(verdict) == heads
    assert verdict.count(" over 3 training runs") == len(heads)  # once per answer
    for g, gains in zip(result.gain, per_size):
        assert g.value == pytest.approx(sum(gains) / 3) and f"{g}" in verdict
    if Order.NOT_DISTINGUISHABLE in orders:
        assert "at d = 4 over 3 training runs: the interval of AE - PCA covers" in verdict
    if orders == (Order.EQUAL, Order.EQUAL):
        assert "**Equal within 0.5 dB** at d = 4, 16 over 3 training runs (AE - PCA" in verdict


def test_autoencoder_vs_pca_over_runs_combines_what_each_run_measured() -> None:
    result = avp_runs([[3.0, 3.5, 2.5], [2.0, 2.2, 1.8]], loss_change=(-0.08, None))
    first = result.per_run[0]
    # each run's own PCA (fitted on its own faces): PCA's numbers are over the runs too
    assert result.pca[0].runs == 3 and result.pca[0].value == pytest.approx(21.0)
    assert result.variance_kept == first.variance_kept  # every run holds the same here
    # the run furthest from a plateau speaks for each size: -8% at d = 4, -1% at d = 16
    assert result.loss_change == (-0.08, -0.01) and result.converged is False
    verdict = result.verdict
    assert "*Convergence*: the autoencoders' training loss changed by -8% (d = 4)" in verdict
    assert "(at each size the run furthest from a plateau, of 3 training runs)" in verdict
    spreads = result.spreads()
    assert set(spreads) == {
        f"{name}, d = {d}" for d in (4, 16) for name in ("autoencoder PSNR", "PCA PSNR", "AE - PCA")
    }
    run_half, face_half = spreads["AE - PCA, d = 4"]
    assert face_half == pytest.approx(0.2) and run_half == pytest.approx(4.303 * 0.5 / 3**0.5)
    assert result.spread_table().count("\n") == 2 + 6
    table = result.table()
    assert table.startswith("*Over 3 training runs: the PSNRs and the gain are means")
    assert "the run furthest from a plateau" in table and "| AE - PCA (paired) |" in table
    # one PCA on the same faces in every run: its numbers stay as they are, over faces
    same = AutoencoderVsPCA.from_runs([avp([db(3.0), db(2.0)]), avp([db(3.4), db(2.4)])])
    assert same.pca == avp([db(3.0), db(2.0)]).pca and same.pca[0].runs == 1
    assert "PCA PSNR, d = 4" not in same.spreads()
    assert same.table().startswith("*Over 2 training runs: the AE PSNR and the gain are means")
    # one run: no runs note anywhere, no spread measured
    single = avp([db(3.0), db(2.0)])
    assert "training runs" not in single.verdict + single.table() and single.spreads() == {}


@pytest.mark.parametrize(
    ("shorter", "moved", "words"),
    [
        # the first run's full-length gain at d = 16 is +3.0 (better); over the runs it is
        # not distinguishable. The half-length check is set against the first run, not the mean.
        ((db(2.8), db(2.6)), [], "the same answer at every size as that run's full-length ones"),
        (
            (db(2.8), db(0.1)),
            [16],
            "(d = 16: equal instead of the autoencoder better, against that run's full-length "
            "ones)",
        ),
    ],
)
def test_autoencoder_vs_pca_half_length_check_stays_on_the_first_run(
    shorter: tuple[Estimate, ...], moved: list[int], words: str
) -> None:
    result = avp_runs([[3.0, 3.5, 2.5], [3.0, 0.0, -1.0]], shorter_gain=shorter, shorter_steps=3000)
    assert result.orders[1] is Order.NOT_DISTINGUISHABLE
    assert result.per_run[0].orders[1] is Order.BETTER
    assert result.moved == moved
    verdict = result.verdict
    assert "Trained for 3,000 steps (the first training run's autoencoders)" in verdict
    assert words in verdict
    assert ("depends on the training budget" in verdict) is bool(moved)


def test_autoencoder_vs_pca_from_runs_refuses_what_it_cannot_combine() -> None:
    one = avp([db(3.0), db(2.0)])
    with pytest.raises(ValueError, match="single-run"):
        AutoencoderVsPCA.from_runs([one])
    with pytest.raises(ValueError, match="latent sizes"):
        AutoencoderVsPCA.from_runs([one, avp([db(3.0), db(2.0)], sizes=(4, 32))])
    later = dataclasses.replace(one, shorter_gain=(db(1.0), db(1.0)))
    with pytest.raises(ValueError, match="only the first run"):
        AutoencoderVsPCA.from_runs([one, later])


# -- chapter 4: the swap --------------------------------------------------------------------
GAP, MEAN_FACE = db(3.0), db(15.0)


def swap(gain: Estimate, gap: Estimate = GAP, mean_face: Estimate = MEAN_FACE) -> SwapQuality:
    return SwapQuality("A", "B", db(25.0), db(19.0), mean_face, db(28.0), gain, gap)


@pytest.mark.parametrize(
    ("gain", "head"),
    [
        (db(6.0), "The swap works."),
        (db(WORKS_DB, 0.3), "Not distinguishable"),
        (db(0.2), "The swap does not work."),
        (db(-3.0), "The swap does not work."),
    ],
)
def test_swap_verdict_against_the_works_bar(gain: Estimate, head: str) -> None:
    verdict = swap(gain).verdict
    assert bold(verdict) == [head, f"+{gain}" if gain.value >= 0 else f"{gain}"]
    assert f"above {WORKS_DB:g} dB" in verdict and "over 3 training runs" not in verdict
    assert "the better baseline, the input unchanged" in verdict


@pytest.mark.parametrize(
    ("gap", "words"),
    [
        (db(3.0), "It lies 3.0 dB ± 0.2 below the ceiling"),
        (db(0.1), "It is level with the ceiling"),
        (db(-2.0), "It lies above the ceiling"),
        (db(DB_MARGIN, 0.3), "is not distinguishable from the ±0.5 dB margin"),
    ],
)
def test_swap_verdict_against_the_ceiling(gap: Estimate, words: str) -> None:
    verdict = swap(db(6.0), gap).verdict
    assert words in verdict and "28.0 dB ± 0.2: B's own faces through decoder B" in verdict


def test_swap_names_the_mean_face_when_it_is_the_better_baseline() -> None:
    assert "the better baseline, B's mean face" in swap(db(6.0), mean_face=db(21.0)).verdict


def test_swap_over_training_runs_holds_both_spreads() -> None:
    runs = [
        swap(db(5.0), db(3.2)),
        swap(db(6.0), db(3.0)),
        dataclasses.replace(swap(db(7.0), db(2.8)), swap=db(26.0)),
    ]
    result = SwapQuality.from_runs(runs)
    assert result.gain.runs == 3 and result.gain.value == pytest.approx(6.0)
    assert result.unchanged == runs[0].unchanged  # no model changes a baseline
    assert result.verdict.startswith("**The swap works over 3 training runs.**")
    spreads = result.spreads()
    run_half, face_half = spreads["gain over the better baseline (the input unchanged)"]
    assert face_half == pytest.approx(0.2) and run_half == pytest.approx(4.303 * 1 / 3**0.5)
    assert result.gain.high - result.gain.value == pytest.approx((run_half**2 + 0.04) ** 0.5)
    table = result.spread_table()
    assert table.count("\n") == 2 + 3 and "± 2.48 dB" in table and "± 0.20 dB" in table
    assert "over 3 training runs" in result.table()
    assert swap(db(6.0)).spreads() == {} and "one run" in swap(db(6.0)).spread_table()
    with pytest.raises(ValueError, match="single-run"):
        SwapQuality.from_runs(runs[:1])


# -- chapter 4: the identity probe ----------------------------------------------------------
PERFECT, LIGHT, SMILE = pct(1.0, 0.0), pct(0.9), r2(0.8)


def probe(
    identity: Estimate,
    pixels: Estimate = PERFECT,
    light: Estimate = LIGHT,
    smile: Estimate = SMILE,
) -> IdentityProbe:
    return IdentityProbe(
        factors=("identity", "light_class", "smile"),
        latent=(identity, light, smile),
        pixels=(pixels, pct(0.97), r2(0.9)),
        chance=(0.5, 0.36, 0.0),
    )


@pytest.mark.parametrize(
    ("identity", "state", "head"),
    [
        (pct(1.0, 0.0), Reading.READS, "Not identity-free."),
        (pct(0.56, 0.03), Reading.NOT_DISTINGUISHABLE, "Not distinguishable"),
        (pct(0.51, 0.03), Reading.AT_CHANCE, "Identity-free"),
        (pct(0.40, 0.03), Reading.BELOW_CHANCE, "Identity-free"),
    ],
)
def test_identity_probe_head_is_the_reading_against_chance(
    identity: Estimate, state: Reading, head: str
) -> None:
    result = probe(identity)
    verdict = result.verdict
    assert result.state(0) is state and bold(verdict)[:2] == [head, str(identity)]
    assert "(chance 50%, reading needs more than 55%)" in verdict
    assert ("below chance" in verdict) is (state is Reading.BELOW_CHANCE)
    assert ("whose face it came from" in verdict) is (state is Reading.READS)


@pytest.mark.parametrize(
    ("identity", "pixels", "order", "words"),
    [
        # two people: the pixels read identity perfectly, and so does the latent
        (pct(1.0, 0.0), pct(1.0, 0.0), Order.EQUAL, "as well as the pixels do"),
        (pct(0.70, 0.02), pct(1.0, 0.0), Order.WORSE, "the latent holds less of it"),
        (pct(0.95, 0.02), pct(0.70, 0.02), Order.BETTER, "the latent reads it better"),
        (
            pct(0.93, 0.03),
            pct(1.0, 0.0),
            Order.NOT_DISTINGUISHABLE,
            "not distinguishable from the ±",
        ),
    ],
)
def test_identity_probe_compares_the_latent_with_the_pixels(
    identity: Estimate, pixels: Estimate, order: Order, words: str
) -> None:
    result = probe(identity, pixels)
    assert result.latent_vs_pixels(0) is order
    verdict = result.verdict
    # the margin is the reading margin of 2 classes: a tenth of the 50 points above chance
    assert words in verdict and f"at {pixels}" in verdict and "5 points" in verdict
    others = {"as well as", "holds less", "reads it better", "not distinguishable from the ±"}
    assert not any(o in verdict for o in others if o not in words)


@pytest.mark.parametrize(
    ("light", "smile", "keeps", "unsure", "blind"),
    [
        (pct(0.9), r2(0.8), "light class 90% ± 2", None, None),
        (pct(0.42, 0.02), r2(0.8), "smile R² 0.80", "light class 42% ± 2", None),
        (pct(0.37), r2(0.8), "smile R² 0.80", None, "light class 37% ± 2"),
        (pct(0.37), r2(0.01), None, None, "smile R² 0.01"),
    ],
)
def test_identity_probe_says_what_the_shared_factors_do(
    light: Estimate, smile: Estimate, keeps: str | None, unsure: str | None, blind: str | None
) -> None:
    verdict = probe(pct(1.0, 0.0), light=light, smile=smile).verdict
    for phrase, words in (
        ("It keeps what A and B share:", keeps),
        ("Not distinguishable from the reading bar:", unsure),
        ("It does not keep (at or below chance):", blind),
    ):
        if words is None:
            assert phrase not in verdict
        else:
            after = verdict.split(phrase)[1].split(". ")[0]
            assert words in after


def test_identity_probe_over_training_runs() -> None:
    runs = [probe(pct(v, 0.01)) for v in (0.97, 0.99, 1.0)]
    result = IdentityProbe.from_runs(runs)
    assert result.latent[0].runs == 3 and result.pixels == runs[0].pixels
    assert "over 3 training runs (chance 50%" in result.verdict
    assert set(result.spreads()) == {
        f"{f} read from the latent" for f in ("identity", "light class", "smile")
    }
    assert result.spread_table().count("\n") == 2 + 3
    assert "shared latent over 3 training runs" in result.table()


# -- chapter 4: the layer swap --------------------------------------------------------------
def layer(gain_a: list[Estimate | float], gain_b: list[Estimate | float]) -> LayerSwap:
    def e(g: Estimate | float) -> Estimate:
        return g if isinstance(g, Estimate) else db(g)

    ga, gb = [e(g) for g in gain_a], [e(g) for g in gain_b]
    return LayerSwap(
        source="B",
        target="A",
        to_target=tuple(db(20 + g.value) for g in ga),
        to_source=tuple(db(20 + g.value) for g in gb),
        gain_target=tuple(ga),
        gain_source=tuple(gb),
        floor_target=db(20),
        floor_source=db(20),
    )


@pytest.mark.parametrize(
    ("gain_a", "gain_b", "who", "head", "present", "absent"),
    [
        (  # the built book: the middle columns give neither
            [10, -3, -4, -6],
            [-5, -3, -4, 8],
            ("A", "neither", "neither", "B"),
            "Mixed decoders give neither A nor B.",
            ["With k = 1, 2 blocks", "only the whole decoder B gives B", "cannot place"],
            ["appears"],
        ),
        (
            [10, -3, -4, -6],
            [-5, -3, -4, -2],
            ("A", "neither", "neither", "neither"),
            "Mixed decoders give neither A nor B.",
            ["not even the whole decoder B gives B"],
            ["only the whole"],
        ),
        (
            [10, -3, -4, -6],
            [-5, 2, 4, 8],
            ("A", "B", "B", "B"),
            "B appears from k = 1 of 3",
            ["k = 3 (all of decoder B) gives B"],
            ["cannot place", "neither A nor B"],
        ),
        (
            [10, -3, -4, -6],
            [-5, 2, -4, 8],
            ("A", "B", "neither", "B"),
            "B appears at k = 1",
            ["With k = 2 blocks"],
            ["cannot place"],
        ),
        (
            [10, 0.1, -4, -6],
            [-5, -0.1, -0.1, 8],
            ("A", "not distinguishable", "not distinguishable", "B"),
            "Only the whole decoder B gives B",
            [],
            ["cannot place", "appears"],
        ),
        (
            [10, 5, 4, -6],
            [-5, -3, -4, -0.1],
            ("A", "A", "A", "not distinguishable"),
            "No column becomes B",
            [],
            ["cannot place", "appears"],
        ),
        (  # above both floors: the person whose gain is better by more than the margin
            [10, 3.0, 3.0, -6],
            [-5, 3.1, 6.0, 8],
            ("A", "both", "B", "B"),
            "B appears from k = 2 of 3",
            [],
            ["neither"],
        ),
    ],
)
def test_layer_swap_verdict(
    gain_a: list[float],
    gain_b: list[float],
    who: tuple[str, ...],
    head: str,
    present: list[str],
    absent: list[str],
) -> None:
    result = layer(gain_a, gain_b)
    assert result.who == who
    verdict = result.verdict
    assert bold(verdict)[0].startswith(head)
    assert f"k = 0 gives {who[0]}, k = 3 (all of decoder B) gives {who[3]}" in verdict
    assert f"{abs(gain_b[3]):.1f} dB ± 0.2 over B's floor" in verdict
    for words in present:
        assert words in verdict
    for words in absent:
        assert words not in verdict


def test_autoencoder_vs_pca_without_history_or_half_length_check() -> None:
    result = avp([db(3.0), db(2.0)], loss_change=(None, -0.01))
    assert result.converged is None  # a model without a training history: not checked
    assert result.moved == []  # no half-length autoencoders: nothing can have moved
    assert "depends on the training budget" not in result.verdict
