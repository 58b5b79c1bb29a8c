"""The methods of chapter 6 on tiny FaderNets (16 px): LEACE inside training, LEACE after
training and the oracle encoder, and the comparison that judges them on the ladder."""

from __future__ import annotations

import pytest
import torch

from sepviz.data.synthetic import make_faces, relit
from sepviz.experiments.hidden_or_removed import DISCRIMINATOR, Comparison, Method, compare
from sepviz.models import ErasedFaderNet, FaderNet
from sepviz.recipes import SOURCES, azimuth_y, recipe

SIZE = 16


@pytest.fixture(scope="module")
def faces():  # type: ignore[no-untyped-def]
    return make_faces(400, size=SIZE, identities=4, seed=0)


def tiny(faces, steps: int = 120, erased: bool = False, **options) -> FaderNet:  # type: ignore[no-untyped-def]
    fit = {k: options.pop(k) for k in ("source",) if k in options}
    torch.manual_seed(0)
    model = (ErasedFaderNet if erased else FaderNet)(image_size=SIZE, latent_dim=16, **options)
    return recipe("fadernet").fit(model, faces, steps, progress=False, seed=0, **fit)


def cross_covariance(z: torch.Tensor, concept: torch.Tensor) -> float:
    z = z.detach()
    zc, cc = z.double() - z.double().mean(0), concept.double() - concept.double().mean(0)
    return float((zc.T @ cc / len(z)).abs().max())


@pytest.fixture(scope="module")
def plain(faces) -> FaderNet:  # type: ignore[no-untyped-def]
    return tiny(faces, lambda_max=0.0)


@pytest.fixture(scope="module")
def inside(faces) -> FaderNet:  # type: ignore[no-untyped-def]
    return tiny(faces, erased=True)


@pytest.fixture(scope="module")
def oracle(faces) -> FaderNet:  # type: ignore[no-untyped-def]
    return tiny(faces, lambda_max=0.0, source="centre light")


def test_leace_inside_training_leaves_no_linear_trace_of_y_on_the_training_faces(
    faces, plain: FaderNet, inside: FaderNet, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    classes = inside.erased_classes(azimuth_y(faces))
    assert classes.shape == (len(faces), 8)  # the discriminator's 8 bins of y, one-hot
    z = inside.encode(faces.images)
    assert (
        cross_covariance(z, classes) < 1e-5 < cross_covariance(plain.encode(faces.images), classes)
    )
    assert z.var(0).sum() > 0.5  # the eraser takes the light's directions, not the code
    path = inside.save(tmp_path / "inside.pt")
    loaded = ErasedFaderNet.load(path)
    assert type(loaded) is ErasedFaderNet and loaded.lambda_max == 0
    assert torch.allclose(loaded.encode(faces.images), z, atol=1e-6)


def test_leace_after_training_changes_no_weight(faces, plain: FaderNet) -> None:  # type: ignore[no-untyped-def]
    before = {k: v.clone() for k, v in plain.state_dict().items()}
    after = plain.with_eraser(faces.images, azimuth_y(faces))
    for key, value in before.items():  # the original is untouched, the copy shares its weights
        assert torch.equal(plain.state_dict()[key], value)
        assert torch.equal(after.state_dict()[key], value), key
    z = after.encode(faces.images)
    assert cross_covariance(z, after.erased_classes(azimuth_y(faces))) < 1e-5
    assert after.history is plain.history and not after.training
    assert type(after) is ErasedFaderNet and type(plain) is FaderNet


def test_the_oracle_encoder_sees_every_face_under_a_centre_light(faces, oracle: FaderNet) -> None:  # type: ignore[no-untyped-def]
    source = SOURCES["centre light"](faces)
    assert torch.equal(source, relit(faces, 0.0))
    # the same faces under another light: the oracle's input, hence its code, does not change
    moved = make_faces(400, size=SIZE, identities=4, seed=0)
    moved.factors["azimuth"] = -moved.factors["azimuth"]
    assert torch.allclose(SOURCES["centre light"](moved), source)
    assert oracle.history is not None and oracle.history.steps[-1] == 119


def test_bad_eraser_and_source_arguments(faces, plain: FaderNet) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=r"unknown arguments \['eraser'\]"):
        FaderNet(image_size=SIZE, eraser="leace")  # the eraser is a class: ErasedFaderNet
    with pytest.raises(ValueError, match="ErasedFaderNet needs lambda_max=0, got 0.001"):
        ErasedFaderNet(image_size=SIZE, lambda_max=1e-3)
    with pytest.raises(AttributeError, match="fit_eraser"):
        plain.fit_eraser(faces.images, azimuth_y(faces))  # a plain FaderNet has no eraser
    with pytest.raises(ValueError, match="source must have the shape of x"):
        plain.streams(faces.images, azimuth_y(faces), faces.images[:10])
    with pytest.raises(ValueError, match="source must be one of"):
        recipe("fadernet").fit(plain, faces, 1, source="left light")


def test_the_comparison_finds_the_oracle_removes_what_the_plain_model_keeps(
    faces, plain: FaderNet, inside: FaderNet, oracle: FaderNet
) -> None:  # type: ignore[no-untyped-def]
    # 800 scored faces: intervals of about ±3 points, narrow enough to call the oracle's
    # readers at chance (the bar is about 6 points above it)
    test = make_faces(1600, size=SIZE, identities=4, seed=1)
    methods = [
        Method("plain", plain, 1.0),
        Method("LEACE inside training", inside, 2.0),
        Method("oracle encoder", oracle, 3.0, source="centre light"),
    ]
    result = compare(methods, test, slider_faces=60)
    assert isinstance(result, Comparison) and result.methods == (
        "plain",
        "LEACE inside training",
        "oracle encoder",
    )
    plain_ladder, _, oracle_ladder = result.ladders
    assert plain_ladder.reads("linear")  # light moves most pixels: the plain code keeps it
    for reader, score in zip(oracle_ladder.readers, oracle_ladder.scores):
        assert not oracle_ladder.reads(reader), f"the oracle leaks the light to {reader}: {score}"
    assert DISCRIMINATOR not in result.readers  # no method here trained an adversary
    assert "- **plain** **keeps it**" in result.verdict
    assert "- **oracle encoder** **removes it**" in result.verdict
    assert len(result.best(2)) == 2 and set(result.best(2)) <= set(result.methods)
    assert result.table().count("\n") == 2 + 3 + 2  # header, rule, 3 methods, pixels, chance
    assert result.pixels.reads("linear")  # the faces show the light plainly
    assert "| input unchanged |" in result.costs() and "| 3 s |" in result.costs()
    assert all(0 <= m.value <= 1 for m in result.monotone)
    figure = result.plot()
    assert figure.axes[0].get_ylabel() == "light class read from z (%)"
    # one group of bars per method, then the raw-pixel baseline, each in the legend
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert set(legend) >= {*result.methods, "raw pixels", "chance"}
    assert len(figure.axes[0].containers) >= len(result.methods) + 1


def test_the_verdict_names_who_is_blind_and_who_still_reads() -> None:
    from sepviz.experiments import Estimate
    from sepviz.experiments.hidden_or_removed import READERS, Ladder

    def pct(value: float) -> Estimate:
        return Estimate(value, value - 0.02, value + 0.02, "%")

    def db(value: float) -> Estimate:
        return Estimate(value, value - 0.1, value + 0.1, "dB")

    hidden = Ladder(
        "adversary",
        (DISCRIMINATOR, *READERS),
        tuple(map(pct, (0.25, 0.38, 0.97, 0.38, 0.96))),
        0.36,
    )
    removed = Ladder("oracle", READERS, tuple(map(pct, (0.33, 0.35, 0.33, 0.37))), 0.36)
    result = Comparison(
        ("adversary", "oracle"),
        (hidden, removed),
        removed,
        (db(35.6), db(39.2)),
        (db(33.5), db(38.0)),
        db(22.8),
        (pct(1.0), pct(1.0)),
        (282.0, 196.0),
    )
    # rungs are named by their place on the ladder: the strongest rung that reads is the
    # post-hoc adversary, although the whitened linear probe scores higher
    assert (
        "- **adversary** **hides it** from the training discriminator and linear readers, but "
        "the whitened linear and post-hoc adversary still read it (the strongest rung that "
        "reads, post-hoc adversary: 96% ± 2); the training discriminator below chance "
        "(25% ± 2); the MLP blind although the lower whitened linear reads it." in result.verdict
    )
    assert "The training discriminator of adversary scores *below* chance" in result.verdict
    assert "- **oracle** **removes it** for every reader" in result.verdict
    assert result.best(2) == ("oracle", "adversary") and result.readers[0] == DISCRIMINATOR
    assert "| adversary | 25% ± 2 | 38% ± 2 | 97% ± 2 | 38% ± 2 | 96% ± 2 |" in result.table()
    assert "| oracle | — | 33% ± 2 |" in result.table() and "| 282 s |" in result.costs()


def test_the_comparison_holds_every_training_run(plain: FaderNet, oracle: FaderNet) -> None:
    # two training runs (the same tiny models stand for both here), each scored on faces of
    # its own: every headline is the mean over the runs, its interval holds their spread
    run = [
        Method("plain", plain, 1.0),
        Method("oracle encoder", oracle, 3.0, source="centre light"),
    ]
    tests = [make_faces(300, size=SIZE, identities=4, seed=s) for s in (2, 3)]
    result = compare([run, list(run)], tests, slider_faces=20)
    assert result.runs == 2 and [one.runs for one in result.per_run] == [1, 1]
    first, second = (one.ladders[0].score_of("linear") for one in result.per_run)
    assert first != second  # each run read on its own faces
    linear = result.ladders[0].score_of("linear")
    assert linear.runs == 2 and linear.value == pytest.approx((first.value + second.value) / 2)
    assert result.relit[1].value == pytest.approx(
        sum(one.relit[1].value for one in result.per_run) / 2
    )
    assert "at the light class over 2 training runs." in result.verdict
    assert {"plain: linear", "oracle encoder: relit vs truth"} <= set(result.spreads())
    with pytest.raises(ValueError, match="one FaceSet per training run"):
        compare([run, run], tests[:1] * 3)
