"""Chapters 2 and 8's experiments: known answers on stand-ins and tiny models (16 px).

- :mod:`sepviz.experiments.autoencoder_vs_pca`: the convergence check on a known loss curve,
  a stand-in autoencoder that is exactly PCA (AE - PCA = 0 everywhere) or nearly perfect (it
  wins everywhere), and the verdict's crossover sentence on given numbers.
- :mod:`sepviz.experiments.decoder_per_light`: relighting with the identity (no gain by
  construction), both designs trained for a few steps (a new lamp costs exactly one decoder),
  and the verdict's winner-first wording on given numbers.
"""

from __future__ import annotations

import dataclasses
import json

import matplotlib.pyplot as plt
import pytest
import torch

from sepviz import zoo
from sepviz.data.synthetic import class_azimuths, make_faces
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
    assert "**Not distinguishable** at d = 2, 8" in result.verdict
    assert "never wins" in result.verdict
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
    assert "wins at every size tried" in result.verdict
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
    assert "**PCA beats the autoencoder at d = 32** (AE - PCA -2.0 dB ± 0.2)" in verdict
    assert "**Not distinguishable** at d = 16" in verdict
    assert "between d = 4 and d = 16, which brackets the renderer's ~10 true factors" in verdict
    assert "(5 identity, 3 expression, 2 light)" in verdict
    assert "from d = 4 to d = 16 PCA gains +6.0 dB" in verdict
    assert "and the autoencoder +3.0 dB" in verdict
    assert "-12% (d = 32)" in verdict and "still learning" in verdict
    assert result.converged is False
    # an advantage that ends before 10 numbers does not bracket the factors
    early = dataclasses.replace(result, sizes=(2, 4, 8))
    assert "between d = 2 and d = 4, which does not bracket" in early.verdict


# -- chapter 8 --------------------------------------------------------------------------


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
    assert "**trains in less time** (32 s against 62 s)" in verdict
    slower = _comparison(_db(1.0), 70, 62).verdict
    assert slower.startswith("With 3 lamps **one decoder per lamp relights closer")
    assert "takes longer to train (70 s against 62 s)" in slower
    tie = _comparison(_db(0.1), 32, 62).verdict
    assert "**not distinguishable**" in tie and "covers 0" in tie


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
    assert "gain over the input left 9.0 dB ± 0.2" in split.verdict
    assert "holds more of the light within its class (R² 0.80 ± 0.05 against" in split.verdict
    assert "(r = 0.70 ± 0.05, against 0.10 ± 0.05" in split.verdict
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
    assert all(card["code"] == list(dpl.TRAINING_CODE) for card in cards)
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
    result = dpl.lamps_or_classes({dpl.LAMPS: lamps, dpl.CLASSES: classes}, n_test=90)
    assert result.models == (dpl.LAMPS, dpl.CLASSES) and result.classes == (
        "left",
        "centre",
        "right",
    )
    assert all(len(g) == 3 for g in result.gain)
    assert all(-1 <= f.value <= 1 for f in result.follows)


def test_the_verdict_says_whether_shorter_training_gives_the_same_answer(faces) -> None:
    train, test = faces
    pca = avp.fit_pca(train, 4)
    oracles = {d: _Oracle(image_size=SIZE, latent_dim=d) for d in (1, 4)}
    same = avp.reconstruction_vs_size(oracles, pca, test, shorter=oracles)
    assert same.holds_when_shorter is True
    assert (
        "AE - PCA was d = 1: +" in same.verdict and "the same wins, losses and ties" in same.verdict
    )
    as_pca = {d: _PCAasAE(pca.truncated(d), d) for d in (1, 4)}
    other = avp.reconstruction_vs_size(oracles, pca, test, shorter=as_pca)
    assert other.holds_when_shorter is False
    assert all(g.covers(0) for g in other.shorter_gain)
    assert "**another answer at d = 1, 4**" in other.verdict
    assert avp.reconstruction_vs_size(oracles, pca, test).holds_when_shorter is None
    with pytest.raises(ValueError, match=r"shorter must have the latent sizes \[1, 4\]"):
        avp.reconstruction_vs_size(oracles, pca, test, shorter={1: oracles[1]})
