"""Chapters 2 and 9's experiments: known answers on stand-ins and tiny models (16 px).

- :mod:`sepviz.experiments.autoencoder_vs_pca`: the convergence check on a known loss curve,
  a stand-in autoencoder that is exactly PCA (AE - PCA = 0 everywhere) or nearly perfect (it
  wins everywhere), and the verdict's crossover sentence on given numbers.
- :mod:`sepviz.experiments.decoder_per_light`: relighting with the identity (no gain by
  construction), both designs trained for a few steps (a new lamp costs exactly one decoder),
  and the verdict's winner-first wording on given numbers.
- Both modules over training runs (seeds): tiny models of two seeds, each run measured as if it
  were alone, the headline numbers their mean over the runs.
"""

from __future__ import annotations

import dataclasses
import json

import matplotlib.pyplot as plt
import pytest
import torch

from sepviz import zoo
from sepviz.data.synthetic import IDENTITY_FACTORS, class_azimuths, factor_matrix, make_faces
from sepviz.experiments import Estimate
from sepviz.experiments import autoencoder_vs_pca as avp
from sepviz.experiments import decoder_per_light as dpl
from sepviz.models import AutoEncoder, FaderNet, MultiDecoder
from sepviz.train import History

SIZE = 16
FIT = {"progress": False, "device": "cpu"}


def _db(value: float, half: float = 0.2) -> Estimate:
    return Estimate(value, value - half, value + half, "dB")


@pytest.fixture(scope="module")
def faces() -> tuple[torch.Tensor, torch.Tensor]:
    train = make_faces(120, size=SIZE, identities=4, seed=0).images
    test = make_faces(40, size=SIZE, identities=4, seed=1).images
    return train, test


# -- chapter 2 --------------------------------------------------------------------------


class _Model:
    def __init__(self, losses: list[float] | None) -> None:
        self.history = None
        if losses is not None:
            self.history = History()
            for step, loss in enumerate(losses):
                self.history.append(10 * step, {"reconstruction": loss})


def test_loss_change_over_the_last_fifth_of_a_known_curve() -> None:
    # 100 records: 2.0 for the first 80, 1.0 for the last 20 -> the loss halved in the tail
    assert avp.loss_change(_Model([2.0] * 80 + [1.0] * 20)) == pytest.approx(-0.5)
    assert avp.loss_change(_Model([3.0] * 50)) == pytest.approx(0.0)
    assert avp.loss_change(_Model(None)) is None  # a model without a training history


class _PCAasAE(AutoEncoder):
    """An 'autoencoder' whose reconstruction is a given PCA's: AE - PCA must be 0."""

    def __init__(self, pca: torch.nn.Module, latent_dim: int) -> None:
        super().__init__(image_size=SIZE, latent_dim=latent_dim)
        self.linear = pca

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear.reconstruct(x)


class _Oracle(AutoEncoder):
    """An 'autoencoder' that returns the face with a faint, fixed ripple (PSNR ~40 dB)."""

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return (x + 0.01 * torch.sin(50 * x)).clamp(0, 1)


def test_an_autoencoder_that_is_pca_ties_everywhere(faces) -> None:
    train, test = faces
    pca = avp.fit_pca(train, 8)
    models = {d: _PCAasAE(pca.truncated(d), d) for d in (2, 8)}
    result = avp.reconstruction_vs_size(models, pca, test)
    assert result.sizes == (2, 8)
    for a, p, g in zip(result.autoencoder, result.pca, result.gain):
        assert a.value == pytest.approx(p.value)
        assert g.value == pytest.approx(0.0) and g.covers(0)
    assert result.ties == [2, 8] and not result.ae_wins and not result.pca_wins
    # PCA keeps more variance with more components, and the PSNR rises with it
    assert 0 < result.variance_kept[0] < result.variance_kept[1] <= 1
    assert result.pca[1].value > result.pca[0].value
    assert result.pca_parameters == (3 * SIZE * SIZE * 3, 3 * SIZE * SIZE * 9)
    assert result.loss_change == (None, None) and result.converged is None
    # AE - PCA is exactly 0 +- 0: equal within the 0.5 dB margin, and no crossover
    assert result.verdict.startswith("**Equal within 0.5 dB** at d = 2, 8")
    assert "crosses over" not in result.verdict
    assert "*Convergence not checked*" in result.verdict


def test_a_near_perfect_autoencoder_wins_at_every_size(faces) -> None:
    train, test = faces
    pca = avp.fit_pca(train, 4)
    result = avp.reconstruction_vs_size(
        {d: _Oracle(image_size=SIZE, latent_dim=d) for d in (1, 4)}, pca, test
    )
    assert result.ae_wins == [1, 4]
    assert all(g.above(10) for g in result.gain)  # ~40 dB against PCA's ~20
    assert result.verdict.startswith("**The autoencoder beats PCA at d = 1, 4** (AE - PCA d = 1: +")
    # both sizes lie below the ~10 true factors: nothing to say about them, and no crossover
    assert "true factors" not in result.verdict and "crosses over" not in result.verdict
    with pytest.raises(ValueError, match="largest latent size is 8"):
        avp.reconstruction_vs_size({8: _Oracle(image_size=SIZE, latent_dim=8)}, pca, test)


def test_a_trained_autoencoder_reports_its_convergence(faces) -> None:
    train, test = faces
    torch.manual_seed(0)
    ae = AutoEncoder(image_size=SIZE, latent_dim=4).fit(train, steps=30, batch_size=16, **FIT)
    result = avp.reconstruction_vs_size({4: ae}, avp.fit_pca(train, 4), test)
    assert result.steps == (30,)
    change = result.loss_change[0]
    assert change is not None and change == pytest.approx(avp.loss_change(ae))
    assert result.ae_parameters == (ae.n_parameters(),)
    assert "over the last 20% of its 30 steps" in result.verdict
    assert result.table().count("\n") == 3  # header, rule, one row
    fig = result.plot()
    assert fig.axes[0].get_xlabel().startswith("latent size d")
    plt.close(fig)


def test_the_crossover_sentence_brackets_the_ten_true_factors() -> None:
    result = avp.AutoencoderVsPCA(
        sizes=(4, 16, 32),
        autoencoder=(_db(30), _db(33), _db(35)),
        pca=(_db(27), _db(33), _db(37)),
        gain=(_db(3), _db(0.1), _db(-2)),
        variance_kept=(0.5, 0.7, 0.9),
        ae_parameters=(1, 1, 1),
        pca_parameters=(1, 1, 1),
        loss_change=(-0.01, -0.02, -0.12),
        steps=(1500, 1500, 1500),
    )
    verdict = result.verdict
    assert verdict.startswith("**The autoencoder beats PCA at d = 4** (AE - PCA +3.0 dB ± 0.2")
    assert "**PCA beats the autoencoder at d = 32** (AE - PCA -2.0 dB ± 0.2, below" in verdict
    # +0.1 +- 0.2 lies within the 0.5 dB margin: equal, not merely not distinguishable
    assert "**Equal within 0.5 dB** at d = 16" in verdict
    assert "between d = 4 (the autoencoder better) and d = 16 (equal)" in verdict
    assert "the one between d = 4 and d = 16 brackets the renderer's ~10 true factors" in verdict
    assert "(5 identity, 3 expression, 2 light)" in verdict
    assert "From d = 4 to d = 16 PCA gains +6.0 dB" in verdict
    assert "and the autoencoder +3.0 dB" in verdict
    assert "-12% (d = 32)" in verdict and "still learning" in verdict
    assert result.converged is False
    # an advantage that ends before 10 numbers does not bracket the factors
    early = dataclasses.replace(result, sizes=(2, 4, 8))
    assert "none brackets" in early.verdict


# -- chapter 9 --------------------------------------------------------------------------


def test_relighting_with_the_identity_gains_nothing() -> None:
    test = make_faces(30, size=SIZE, identities=3, seed=2, azimuths=class_azimuths(3))
    result = dpl.relight_quality(
        lambda x, k: x, test, class_azimuths(3).tolist(), ["left", "centre", "right"]
    )
    for relit, unchanged, gain in zip(result.relit, result.unchanged, result.gain):
        assert relit == unchanged and gain.value == 0 and gain.covers(0)
    assert "**0 of 3**" in result.verdict
    # per face: the mean over the lamps a face is not under, the same for both
    relit, unchanged = dpl._per_face(lambda x, k: x, test, class_azimuths(3).tolist())
    assert relit.shape == (30,) and torch.equal(relit, unchanged)


@pytest.fixture(scope="module")
def designs() -> dict[int, dict[str, object]]:
    return {
        n: dpl.train_designs(n, size=SIZE, steps=4, n_faces=60, batch=12, cache=False, **FIT)
        for n in (2, 3)
    }


def test_both_designs_train_and_are_costed(designs) -> None:
    multi, fader = designs[3][dpl.MULTI], designs[3][dpl.FADER]
    assert isinstance(multi, MultiDecoder) and isinstance(fader, FaderNet)
    assert multi.classes == dpl.lamp_names(3) == ["-40°", "+0°", "+40°"]
    assert fader.attribute == "categorical" and fader.attribute_dim == 3
    result = dpl.compare_designs(designs, n_test=24, batch=12)
    assert result.lamps == (2, 3)
    assert result.multi_parameters == tuple(designs[n][dpl.MULTI].n_parameters() for n in (2, 3))
    # a new lamp costs the multi-decoder exactly one more decoder
    decoder = sum(p.numel() for p in multi.decoders["+0°"].parameters())
    assert result.multi_parameters[1] - result.multi_parameters[0] == decoder
    assert all(m > 0 for m in (*result.multi_memory_mib, *result.fader_memory_mib))
    assert all(s is not None and s > 0 for s in (*result.multi_seconds, *result.fader_seconds))
    for gain, m, f in zip(result.gain, result.multi, result.fader):
        assert gain.value == pytest.approx(m.value - f.value)
    assert result.verdict.startswith("With 2 lamps")
    assert "From 2 to 3 lamps one decoder per lamp grows" in result.verdict
    assert result.table().count("input unchanged") == 2
    fig = result.plot()
    assert len(fig.axes) == 4
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["2 lamps", "3 lamps"]
    # PSNR as points with intervals (no bar from an arbitrary dB), costs as bars from 0
    assert len(fig.axes[0].patches) == 0 and all(len(ax.patches) == 4 for ax in fig.axes[1:])
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == [dpl.MULTI, dpl.FADER, "input unchanged"]
    plt.close(fig)


def _comparison(gain: Estimate, multi_s: float, fader_s: float) -> dpl.DesignComparison:
    return dpl.DesignComparison(
        lamps=(3,),
        multi=(_db(28.5),),
        fader=(_db(29.9),),
        unchanged=(_db(20.0),),
        gain=(gain,),
        multi_parameters=(2_000_000,),
        fader_parameters=(1_000_000,),
        multi_memory_mib=(30.0,),
        fader_memory_mib=(20.0,),
        multi_seconds=(multi_s,),
        fader_seconds=(fader_s,),
    )


def test_the_verdict_names_the_winner_first_and_the_faster_design() -> None:
    verdict = _comparison(_db(-1.4), 32, 62).verdict
    assert verdict.startswith("With 3 lamps **the FaderNet relights closer to the truth**")
    assert "29.9 dB ± 0.2 against 28.5 dB ± 0.2 for one decoder per lamp" in verdict
    assert "paired difference 1.4 dB ± 0.2" in verdict
    assert "2.0x the parameters and 1.5x the training memory" in verdict
    assert "trains in less time (32 s against 62 s)" in verdict
    slower = _comparison(_db(1.0), 100, 62).verdict
    assert slower.startswith("With 3 lamps **one decoder per lamp relights closer")
    assert "takes longer to train (100 s against 62 s)" in slower
    close = _comparison(_db(1.0), 70, 62).verdict  # within TIME_RATIO: no claim either way
    assert "longer" not in close and "less time" not in close and "(70 s against 62 s)" in close
    tie = _comparison(_db(0.1, 0.6), 32, 62).verdict
    assert "**not distinguishable**" in tie and "covers +0.5 or -0.5 dB" in tie
    equal = _comparison(_db(0.1), 32, 62).verdict
    assert "**relight equally well**" in equal and "within ±0.5 dB" in equal


def _lamps_or_classes(lamp_gain: float, class_gain: float) -> dpl.LampsOrClasses:
    def r(value: float) -> Estimate:
        return Estimate(value, value - 0.05, value + 0.05)

    gains = tuple((_db(g), _db(2.0), _db(g)) for g in (lamp_gain, class_gain))
    return dpl.LampsOrClasses(
        (dpl.LAMPS, dpl.CLASSES),
        ("left", "centre", "right"),
        gains,
        (r(0.1), r(0.8)),
        (r(0.1), r(0.7)),
    )


def test_lamps_or_classes_verdict_follows_the_side_gains() -> None:
    split = _lamps_or_classes(9.0, 0.5)
    assert split.verdict.startswith("**Idea 2 works with lamps, not with light classes.**")
    assert "trained on 3 lamps: left 9.0 dB ± 0.2" in split.verdict
    assert "holds more of the light within its class than the lamps' one" in split.verdict
    assert "light classes **follows the input's light** (r = 0.70 ± 0.05)" in split.verdict
    assert _lamps_or_classes(9.0, 6.0).verdict.startswith("**Idea 2 works both ways**")
    assert _lamps_or_classes(1.0, 0.5).verdict.startswith("**Idea 2 does not relight")
    assert split.table().count("\n") == 2 + 2


def test_the_chapters_models_are_trained_once_with_their_module_in_the_fingerprint(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("SEPVIZ_CACHE", str(tmp_path))
    monkeypatch.setattr(zoo, "PRETRAINED", tmp_path / "none shipped")
    tiny = {"size": SIZE, "steps": 2, "n_faces": 24, "batch": 6, **FIT}
    first = dpl.train_designs(2, **tiny)
    again = dpl.train_designs(2, **tiny)  # loaded: the same weights, the same history
    for name in dpl.DESIGNS:
        assert again[name].history.steps == first[name].history.steps
        for a, b in zip(first[name].state_dict().values(), again[name].state_dict().values()):
            assert torch.equal(a, b)
    classes = dpl.train_on_classes(SIZE, 2, 24, batch=6, **FIT)
    cards = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.json"))]
    assert len(cards) == 3 == len(list(tmp_path.glob("*.pt")))
    for card in cards:  # the chapter's module, then its model's own modules
        assert card["code"] == [*dpl.TRAINING_CODE, *zoo.model_code(card["class"])]
    assert sorted(card["name"] for card in cards) == [
        f"fadernet-{SIZE}px",
        f"multidecoder-{SIZE}px",
        f"multidecoder-classes-{SIZE}px",
    ]
    assert classes.names == dpl.lamp_names(3) and zoo.stale(tmp_path) == []


def test_lamps_or_classes_measures_both_models(designs) -> None:
    lamps = designs[3][dpl.MULTI]
    classes = dpl.train_on_classes(SIZE, 20, 150, seed=0, cache=False, **FIT)
    assert classes.names == lamps.names == dpl.lamp_names(3)
    fader = designs[3][dpl.FADER]  # off the lamps too, beside the two multi-decoders
    both = {dpl.LAMPS: lamps, dpl.CLASSES: classes, dpl.FADER_LAMPS: fader}
    result = dpl.lamps_or_classes(both, n_test=90)
    assert result.models == (dpl.LAMPS, dpl.CLASSES, dpl.FADER_LAMPS)
    assert result.classes == ("left", "centre", "right")
    assert all(len(g) == 3 for g in result.gain)
    assert all(-1 <= f.low <= f.value <= f.high <= 1 for f in result.follows)
    assert "the FaderNet trained on 3 lamps" in result.verdict
    with pytest.raises(ValueError, match="must name"):
        dpl.lamps_or_classes({dpl.LAMPS: lamps, "other": classes}, n_test=90)


def test_the_verdict_says_whether_shorter_training_gives_the_same_answer(faces) -> None:
    train, test = faces
    pca = avp.fit_pca(train, 4)
    oracles = {d: _Oracle(image_size=SIZE, latent_dim=d) for d in (1, 4)}
    same = avp.reconstruction_vs_size(oracles, pca, test, shorter=oracles)
    assert same.holds_when_shorter is True
    assert (
        "AE - PCA was d = 1: +" in same.verdict and "the same answer at every size" in same.verdict
    )
    assert "depends on the training budget" not in same.verdict
    as_pca = {d: _PCAasAE(pca.truncated(d), d) for d in (1, 4)}
    other = avp.reconstruction_vs_size(oracles, pca, test, shorter=as_pca)
    assert other.holds_when_shorter is False
    assert all(g.covers(0) for g in other.shorter_gain)
    assert "**another answer at d = 1, 4**" in other.verdict
    assert "d = 1: equal instead of the autoencoder better" in other.verdict
    assert avp.reconstruction_vs_size(oracles, pca, test).holds_when_shorter is None
    with pytest.raises(ValueError, match=r"shorter must have the latent sizes \[1, 4\]"):
        avp.reconstruction_vs_size(oracles, pca, test, shorter={1: oracles[1]})


# -- training runs (seeds) ----------------------------------------------------------------
def bold_heads(verdict: str) -> list[str]:
    """The bold phrases of a verdict, in order."""
    return verdict.split("**")[1::2]


def test_autoencoders_of_several_runs_each_measured_on_their_own_faces() -> None:
    """Two tiny autoencoders per size, one per seed, each trained on its seed's people, with
    that run's PCA and test faces: the result holds each run and their combination."""
    sizes, runs = (2, 4), []
    for seed in (0, 1):
        faces_of_run = make_faces(96, size=SIZE, identities=4, seed=seed)
        people = factor_matrix(faces_of_run, IDENTITY_FACTORS)[:4]  # the run's 4 people
        train = faces_of_run.images
        test = make_faces(32, size=SIZE, identities=people, seed=seed + 10).images
        torch.manual_seed(seed)
        aes = {
            d: AutoEncoder(image_size=SIZE, latent_dim=d).fit(
                train, steps=6, batch_size=16, seed=seed, **FIT
            )
            for d in sizes
        }
        runs.append((aes, avp.fit_pca(train, max(sizes)), test))
    aes, pcas, tests = (list(column) for column in zip(*runs))
    shorter = {d: _Oracle(image_size=SIZE, latent_dim=d) for d in sizes}
    result = avp.reconstruction_vs_size(aes, pcas, tests, shorter=shorter)
    alone = [avp.reconstruction_vs_size(*run) for run in runs]
    assert len(result.per_run) == 2 and result.runs == 2
    assert result.per_run[1] == alone[1]  # a run is measured as if it were alone
    assert result.per_run[0].shorter_gain is not None and result.per_run[1].shorter_gain is None
    for i in range(len(sizes)):
        for name in ("autoencoder", "pca", "gain"):
            combined = getattr(result, name)[i]
            values = [getattr(r, name)[i].value for r in alone]
            assert combined.runs == 2 and combined.value == pytest.approx(sum(values) / 2)
            # the interval holds at least each run's spread over faces
            assert combined.high - combined.low >= min(
                getattr(r, name)[i].high - getattr(r, name)[i].low for r in alone
            )
    assert result.steps == (6, 6) and "of their 6 steps" in result.verdict
    assert " over 2 training runs" in result.verdict
    assert "(the first training run's autoencoders)" in result.verdict
    assert set(result.spreads()) >= {"AE - PCA, d = 2", "PCA PSNR, d = 4"}


def test_one_pca_and_test_set_may_serve_every_run(faces) -> None:
    train, test = faces
    pca = avp.fit_pca(train, 4)
    oracles = {d: _Oracle(image_size=SIZE, latent_dim=d) for d in (1, 4)}
    as_pca = {d: _PCAasAE(pca.truncated(d), d) for d in (1, 4)}
    result = avp.reconstruction_vs_size([oracles, as_pca], pca, test)
    assert result.pca == avp.reconstruction_vs_size(oracles, pca, test).pca  # not over runs
    assert all(g.runs == 2 for g in result.gain)
    # ~+20 dB in one run, 0 in the other: the mean lies between, its interval covers both
    assert all(g.covers(0) for g in result.gain)
    assert bold_heads(result.verdict) == ["Not distinguishable"]
    single = avp.reconstruction_vs_size([oracles], [pca], [test])
    assert single == avp.reconstruction_vs_size(oracles, pca, test) and not single.per_run
    with pytest.raises(ValueError, match="one entry per training run"):
        avp.reconstruction_vs_size([oracles, as_pca], [pca], test)
    with pytest.raises(ValueError, match="empty sequence"):
        avp.reconstruction_vs_size([], pca, test)


def test_designs_of_several_runs_are_measured_on_the_same_unseen_faces(designs) -> None:
    again = {
        n: dpl.train_designs(
            n, size=SIZE, steps=4, n_faces=60, batch=12, seed=1, cache=False, **FIT
        )
        for n in (2, 3)
    }
    result = dpl.compare_designs([designs, again], n_test=24, batch=12, test_seed=7)
    alone = [dpl.compare_designs(m, n_test=24, batch=12, test_seed=7) for m in (designs, again)]
    assert result.per_run == tuple(alone)
    assert all(e.runs == 2 for e in (*result.multi, *result.fader, *result.gain))
    for i in range(2):
        assert result.gain[i].value == pytest.approx(
            (alone[0].gain[i].value + alone[1].gain[i].value) / 2
        )
    # no model changes the baseline; the costs and the times are the first run's
    assert result.unchanged == alone[0].unchanged == alone[1].unchanged
    assert result.multi_seconds == alone[0].multi_seconds
    assert " over 2 training runs" in result.verdict
    # test_seed None: the test faces are seed + 1's, as before
    assert dpl.compare_designs(designs, n_test=24, batch=12, seed=2) == dpl.compare_designs(
        designs, n_test=24, batch=12, seed=2, test_seed=3
    )
    with pytest.raises(ValueError, match="empty sequence"):
        dpl.compare_designs([], n_test=24)


def test_lamps_or_classes_of_several_runs(designs) -> None:
    runs = [
        {
            dpl.LAMPS: designs[3][dpl.MULTI],
            dpl.CLASSES: dpl.train_on_classes(SIZE, 4, 60, batch=12, seed=s, cache=False, **FIT),
        }
        for s in (0, 1)
    ]
    result = dpl.lamps_or_classes(runs, n_test=45, test_seed=9)
    alone = [dpl.lamps_or_classes(r, n_test=45, test_seed=9) for r in runs]
    assert result.per_run == tuple(alone)
    assert all(e.runs == 2 for e in (*result.within, *result.follows))
    # the same lamps' model in both runs: its numbers do not move from run to run
    lamps = result.models.index(dpl.LAMPS)
    assert result.gain[lamps][0].value == pytest.approx(alone[0].gain[lamps][0].value)
    assert " over 2 training runs" in result.verdict
    assert len(result.spreads()) == 2 * 5
