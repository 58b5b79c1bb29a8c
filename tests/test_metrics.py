"""sepviz.metrics' MIG and DCI: the vectorised MIG against scikit-learn's plug-in mutual
information, MIG's interval against a known true MIG, DCI's informativeness intervals.

The coverage tests simulate codes of the book's size (chapter 7: 2,000 faces, 64 latent
units, 20 bins, identity of 8 people and 5 factors binned in 20) whose true MIG is known
exactly: every unit takes the 20 values 0..19, which the 20 equal-width bins keep apart, so
the binned codes are the units themselves and the true mutual information is a finite sum.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sepviz.metrics import dci, mig, mig_bootstrap, mig_interval

BINS = 20  # the chapter's bins (sepviz.metrics.mig's default)
CLASSES = (8, 20, 20, 20, 20, 20)  # identity of 8 people; 5 factors in 20 bins
UNITS = 64  # the autoencoder's latent units
FACES = 2000  # the chapter's held-out faces


# -- a code whose true MIG is known --------------------------------------------------------
def _noise(keep: float, spread: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps -spread..spread and their probabilities: 0 with probability ``keep``, else a
    uniform step."""
    steps = np.arange(-spread, spread + 1)
    p = np.full(steps.size, (1 - keep) / steps.size)
    p[spread] += keep
    return steps, p


def _position(x: np.ndarray, classes: int) -> np.ndarray:
    """Class x of ``classes`` as one of the 20 values, first and last class at 0 and 19."""
    return np.rint(np.asarray(x) * (BINS - 1) / (classes - 1)).astype(int)


def _unit(x: np.ndarray, classes: int, keep: float, spread: int, rng) -> np.ndarray:
    """A unit that holds factor ``x``: its position plus a noisy step, kept in 0..19."""
    steps, p = _noise(keep, spread)
    return np.clip(_position(x, classes) + rng.choice(steps, x.size, p=p), 0, BINS - 1)


def _true_information(classes: int, keep: float, spread: int) -> float:
    """The exact mutual information (nats) of a factor of ``classes`` equally likely classes
    and a unit that holds it (:func:`_unit`)."""
    joint = np.zeros((classes, BINS))
    for x in range(classes):
        for step, p in zip(*_noise(keep, spread)):
            joint[x, min(max(int(_position(x, classes)) + step, 0), BINS - 1)] += p / classes
    outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    inside = joint > 0
    return float(np.sum(joint[inside] * np.log(joint[inside] / outer[inside])))


def true_mig(plan: list[list[tuple[float, int]]]) -> float:
    """MIG of the population of codes drawn by :func:`draw` with ``plan``: the units that
    hold nothing of a factor have mutual information 0 with it."""
    gaps = []
    for classes, units in zip(CLASSES, plan):
        info = sorted([_true_information(classes, *u) for u in units] + [0.0, 0.0])[::-1]
        gaps.append((info[0] - info[1]) / math.log(classes))
    return float(np.mean(gaps))


def draw(plan: list[list[tuple[float, int]]], rng) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:data:`FACES` codes (N, 64) and their factors: ``plan[k]`` lists ``(keep, spread)`` of
    each unit that holds factor k; every other unit is uniform noise on 0..19."""
    factors = [rng.integers(0, c, FACES) for c in CLASSES]
    z = rng.integers(0, BINS, (FACES, UNITS)).astype(np.float64)
    j = 0
    for x, classes, units in zip(factors, CLASSES, plan):
        for keep, spread in units:
            z[:, j] = _unit(x, classes, keep, spread, rng)
            j += 1
    named = {"identity": factors[0]}  # integers: classes, used as they are
    named |= {f"factor{k}": x.astype(np.float64) for k, x in enumerate(factors[1:], 1)}
    return z, named


PLANS = {
    # one unit per factor holds it nearly exactly; its runner-up holds nothing (the brief's
    # clean toy: the percentile interval lay wholly below the point and covered 26 of 40)
    "disentangled": [[(0.9, 1)]] * 6,
    # three units per factor hold it, none nearly exactly: small gaps, as in the chapter
    "entangled": [[(0.5, 2), (0.4, 2), (0.3, 2)]] * 6,
}


@pytest.mark.parametrize("name", PLANS)
def test_mig_interval_covers_the_true_mig(name: str) -> None:
    sets, resamples = 40, 60  # the chapter resamples 1,000 times; fewer only adds noise
    truth = true_mig(PLANS[name])
    rng = np.random.default_rng(0)
    covered = 0
    for s in range(sets):
        z, factors = draw(PLANS[name], rng)
        point, low, high = mig_interval(z, factors, resamples=resamples, seed=s)
        assert low <= point <= high
        covered += low <= truth <= high
    assert covered >= 0.9 * sets, f"{name}: covered {covered} of {sets} (truth {truth:.3f})"


def test_the_generator_bins_to_its_own_values() -> None:
    """The premise of the exact truth: 20 bins keep the units' 20 values apart."""
    rng = np.random.default_rng(1)
    z, factors = draw(PLANS["disentangled"], rng)
    out = mig(z, factors)
    exact = true_mig(PLANS["disentangled"])
    # the plug-in estimate with 2,000 faces is close to (not exactly) the exact MIG
    assert out["mig"] == pytest.approx(exact, abs=0.06)
    assert out["best_code"] == {k: j for j, k in enumerate(factors)}
    assert out["entropy"]["identity"] == pytest.approx(math.log(8), abs=0.01)


# -- MIG as disentanglement_lib computes it ------------------------------------------------
def test_mig_equals_the_scikit_learn_plug_in() -> None:
    from sklearn.metrics import mutual_info_score

    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 6))
    ident = rng.integers(0, 4, 300)
    azimuth = rng.uniform(-60, 60, 300)
    z[:, 2] += azimuth / 30
    factors = {"identity": ident, "azimuth": azimuth}

    def bins(v: np.ndarray) -> np.ndarray:
        return np.digitize(v, np.histogram(v, bins=BINS)[1][:-1])

    gaps = []
    for v in (ident, bins(azimuth)):
        info = sorted((mutual_info_score(v, bins(z[:, j])) for j in range(6)), reverse=True)
        gaps.append((info[0] - info[1]) / mutual_info_score(v, v))
    assert mig(z, factors)["mig"] == pytest.approx(np.mean(gaps), abs=1e-12)
    assert mig(torch.tensor(z), factors)["best_code"]["azimuth"] == 2


def test_mig_bootstrap_resamples_faces_with_a_seed() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((300, 5))
    factors = {"a": rng.integers(0, 3, 300)}
    z[:, 0] += factors["a"]
    boot = mig_bootstrap(z, factors, resamples=20, seed=3)
    assert boot.shape == (20,) and np.isfinite(boot).all() and boot.std() > 0
    np.testing.assert_array_equal(boot, mig_bootstrap(z, factors, resamples=20, seed=3))
    with pytest.raises(ValueError, match="resamples"):
        mig_bootstrap(z, factors, resamples=0)


def test_mig_interval_reaches_the_farther_percentile_end_on_both_sides() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((400, 8))
    factors = {"a": rng.integers(0, 4, 400), "b": rng.uniform(0, 1, 400)}
    z[:, 0] += factors["a"]
    z[:, 1] += 4 * factors["b"]
    point, low, high = mig_interval(z, factors, resamples=200, seed=1)
    boot = mig_bootstrap(z, factors, resamples=200, seed=1)
    ends = np.percentile(boot, [2.5, 97.5])
    reach = max(point - ends[0], ends[1] - point)
    assert point == pytest.approx(mig(z, factors)["mig"])
    assert low == pytest.approx(max(0.0, point - reach))
    assert high == pytest.approx(min(1.0, point + reach))
    # plug-in bias: the resamples sit below the point here, so the interval reaches above
    assert boot.mean() < point and high > ends[1]
    with pytest.raises(ValueError, match="confidence"):
        mig_interval(z, factors, confidence=1.5)


# -- DCI's informativeness intervals -------------------------------------------------------
def test_dci_informativeness_has_intervals_over_held_out_faces() -> None:
    rng = np.random.default_rng(0)
    n = 600
    factors = {"ident": rng.integers(0, 3, n), "light": rng.uniform(-1, 1, n)}
    z = np.stack(
        [factors["ident"] + 0.05 * rng.standard_normal(n), factors["light"], rng.normal(size=n)],
        1,
    )
    z_noise = rng.standard_normal((n, 3))
    good, noise = dci(z, factors, resamples=300), dci(z_noise, factors, resamples=300)
    for out in (good, noise):
        low, high = out["informativeness_interval"]
        assert low <= out["informativeness"] <= high
        for name, (lo, hi) in out["informativeness_interval_per_factor"].items():
            assert lo <= out["informativeness_per_factor"][name] <= hi
    assert good["informativeness_interval"][0] > 0.9
    assert noise["chance_per_factor"]["light"] == 0.0
    share = np.bincount(factors["ident"]).max() / n
    assert noise["chance_per_factor"]["ident"] == pytest.approx(share)
    # a code that holds nothing: its interval reaches chance (and R² 0)
    lo, hi = noise["informativeness_interval_per_factor"]["light"]
    assert lo < 0.05
    with pytest.raises(ValueError, match="resamples"):
        dci(z, factors, resamples=0)


# -- MIG and DCI on a perfect code and its rotation ----------------------------------------


@pytest.fixture(scope="module")
def codes() -> dict[str, object]:
    """A perfectly disentangled code (one code per factor + 2 noise codes) and a rotation."""
    rng = np.random.default_rng(0)
    n = 1000
    factors = {
        "identity": rng.integers(0, 4, n),
        "light_class": rng.integers(0, 3, n),
        "azimuth": rng.uniform(-1, 1, n).astype(np.float32),
    }
    code = np.stack([factors["identity"], factors["light_class"], factors["azimuth"]], 1)
    code = (code - code.mean(0)) / code.std(0)
    perfect = np.concatenate(
        [code + 0.02 * rng.standard_normal(code.shape), 0.5 * rng.standard_normal((n, 2))], 1
    )
    rotation = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    return {"factors": factors, "perfect": perfect, "rotated": perfect @ rotation}


def test_mig_perfect_code_near_one_rotated_lower(codes: dict) -> None:
    good = mig(codes["perfect"], codes["factors"])
    bad = mig(codes["rotated"], codes["factors"])
    assert good["mig"] > 0.85, good["per_factor"]
    assert bad["mig"] < good["mig"] - 0.3, bad["per_factor"]
    assert good["best_code"] == {"identity": 0, "light_class": 1, "azimuth": 2}
    assert good["mutual_info"].shape == (5, 3)
    assert good["entropy"]["identity"] == pytest.approx(math.log(4), abs=0.01)


def test_mig_accepts_an_array_of_factors_and_checks_input(codes: dict) -> None:
    f = np.stack([codes["factors"]["identity"], codes["factors"]["light_class"]], 1)
    out = mig(torch.tensor(codes["perfect"]), f)
    assert set(out["per_factor"]) == {"factor0", "factor1"}
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        mig(codes["perfect"][:, :1], codes["factors"])
    with pytest.raises(ValueError, match="constant"):
        mig(codes["perfect"], {"c": np.zeros(1000, dtype=int)})
    with pytest.raises(ValueError, match=r"factors\['x'\] has 3 entries"):
        mig(codes["perfect"], {"x": np.arange(3)})


def test_dci_perfect_code_near_one_rotated_lower(codes: dict) -> None:
    good = dci(codes["perfect"], codes["factors"])
    bad = dci(codes["rotated"], codes["factors"])
    assert good["disentanglement"] > 0.95 and good["completeness"] > 0.95
    assert good["informativeness"] > 0.95
    assert bad["disentanglement"] < 0.7 and bad["completeness"] < 0.7
    assert good["importance"].shape == (5, 3)
    assert set(good["informativeness_per_factor"]) == set(codes["factors"])
    with pytest.raises(ValueError, match="importance must be"):
        dci(codes["perfect"], codes["factors"], importance="lasso")
    with pytest.raises(ValueError, match="2 codes and 2 factors"):
        dci(codes["perfect"], {"identity": codes["factors"]["identity"]})
