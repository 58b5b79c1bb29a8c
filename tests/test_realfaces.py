"""Chapter 10's helpers: a flip flips the light label, light targets, light checks, training."""

from __future__ import annotations

import json

import pytest
import torch

from sepviz.data import synthetic
from sepviz.data.real import lighting_pseudo_label, load_skimage_faces
from sepviz.experiments.measures import measured_light, monotone_fraction, rises
from sepviz.models import FaderNet, MultiDecoder
from sepviz.realfaces import (
    closer_to_input,
    fit_light_fader,
    fit_light_multidecoder,
    flip_light_class,
    flip_with_light,
    light_target,
    with_flips,
)


@pytest.fixture(scope="module")
def real() -> torch.Tensor:
    return load_skimage_faces(size=32).images


def test_flip_mirrors_the_image_and_negates_the_light(real: torch.Tensor) -> None:
    score = lighting_pseudo_label(real)[0]
    mirrored, flipped = flip_with_light(real, score)
    assert torch.equal(mirrored[..., 0], real[..., -1])
    assert torch.equal(flipped, -score)
    # the pseudo-label of a mirrored face is exactly minus the face's: the label stays true
    assert torch.allclose(lighting_pseudo_label(mirrored)[0], flipped, atol=1e-6)
    # (N, 1) light is accepted; flipping twice gives the faces back
    again, light = flip_with_light(mirrored, flipped[:, None])
    assert torch.equal(again, real) and torch.equal(light, score)


def test_a_mirrored_synthetic_face_is_lit_from_the_other_side() -> None:
    faces = synthetic.make_faces(200, size=32, seed=3)
    side = faces.factors["azimuth"].abs() > 30
    mirrored, azimuth = flip_with_light(faces.images[side], faces.factors["azimuth"][side])
    measured = lighting_pseudo_label(mirrored)[0]
    assert (torch.sign(measured) == torch.sign(azimuth)).float().mean() > 0.95


def test_with_flips_appends_mirrors_in_order(real: torch.Tensor) -> None:
    score = lighting_pseudo_label(real)[0]
    x, s = with_flips(real[:10], score[:10])
    assert x.shape == (20, 3, 32, 32) and s.shape == (20,)
    assert torch.equal(x[:10], real[:10]) and torch.equal(x[13], real[3].flip(-1))
    assert torch.equal(s[10:], -score[:10])


def test_flip_light_class_swaps_left_and_right(real: torch.Tensor) -> None:
    assert flip_light_class(torch.tensor([0, 1, 2, 2])).tolist() == [2, 1, 0, 0]
    assert flip_light_class(torch.tensor([0, 1]), n_classes=2).tolist() == [1, 0]
    classes = lighting_pseudo_label(real)[1]
    assert torch.equal(lighting_pseudo_label(real.flip(-1))[1], flip_light_class(classes))


@pytest.mark.parametrize(
    "call",
    [
        lambda x: flip_with_light(x, torch.zeros(3)),  # wrong length
        lambda x: flip_with_light(x, torch.zeros(4, dtype=torch.long)),  # not float
        lambda x: flip_with_light(x, torch.full((4,), float("nan"))),
        lambda x: flip_with_light(x[:, :1], torch.zeros(4)),  # not 3 channels
        lambda x: with_flips(x * 3, torch.zeros(4)),  # not in [0, 1]
        lambda x: flip_light_class(torch.tensor([0, 3])),
        lambda x: flip_light_class(torch.tensor([0.0, 1.0])),
        lambda x: light_target(torch.zeros(4)),  # nothing to scale
        lambda x: light_target(torch.ones(4), scale=-1.0),
        lambda x: measured_light(torch.zeros(2, 3, 8)),
        lambda x: monotone_fraction(torch.zeros(3, 1)),
        lambda x: closer_to_input(x, x[:2], x),
        lambda x: fit_light_fader(x, torch.full((4,), 2.0), steps=1),  # y not in [-1, 1]
    ],
)
def test_bad_arguments_raise_value_error(call) -> None:
    x = torch.rand(4, 3, 16, 16)
    with pytest.raises(ValueError):
        call(x)


def test_light_target_scales_to_the_most_side_lit_face() -> None:
    y, scale = light_target(torch.tensor([-0.4, 0.1, 0.2]))
    assert scale == pytest.approx(0.4)
    assert y.shape == (3, 1) and torch.allclose(y[:, 0], torch.tensor([-1.0, 0.25, 0.5]))
    y, _ = light_target(torch.tensor([-0.4, 0.1]), scale=0.2)
    assert y[:, 0].tolist() == [-1.0, 0.5]  # clipped


def test_measured_light_and_monotone_fraction_on_a_rendered_sweep() -> None:
    azimuths = torch.linspace(-60, 60, 5)
    rows = []
    for person in ("A", "B", "C"):
        lights = torch.stack([azimuths, torch.zeros(5)], 1)
        rows.append(synthetic.render(synthetic.PERSONS[person], [0.3, 0.0, 0.9], lights, 32))
    grid = torch.stack(rows)  # (3, 5, 3, 32, 32): light from left to right
    scores = measured_light(grid)
    assert scores.shape == (3, 5)
    assert torch.allclose(scores[1], measured_light(grid[1]))
    assert monotone_fraction(scores) == 1.0
    assert monotone_fraction(scores.flip(1)) == 0.0
    assert monotone_fraction(torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 2.0]])) == 0.5
    assert monotone_fraction(torch.tensor([[0.0, 0.0, 1.0]]), strict=False) == 1.0
    assert rises(torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 2.0]])).tolist() == [False, True]


def test_closer_to_input_skips_the_input_and_its_mirror() -> None:
    g = torch.Generator().manual_seed(0)
    inputs = torch.rand(2, 3, 8, 8, generator=g)
    other = torch.rand(1, 3, 8, 8, generator=g)
    bank = torch.cat([inputs, inputs.flip(-1), other])
    near_input = (0.9 * inputs + 0.1 * other).clamp(0, 1)
    pasted = (0.1 * inputs + 0.9 * other).clamp(0, 1)
    for symmetrise in (True, False):
        assert closer_to_input(near_input, inputs, bank, symmetrise).tolist() == [True, True]
        assert closer_to_input(pasted, inputs, bank, symmetrise).tolist() == [False, False]


def test_symmetrising_forgives_a_change_of_light_side() -> None:
    # a face lit from the left, "relit" perfectly to the right, against a bank holding another
    # person lit from the right: raw pixels call it pasted, the symmetrised check does not
    lights = torch.tensor([[-50.0, 0.0], [50.0, 0.0]])
    a = synthetic.render(synthetic.PERSONS["A"], [0.3, 0.0, 0.9], lights, 32)
    b = synthetic.render(synthetic.PERSONS["B"], [0.3, 0.0, 0.9], lights, 32)
    inputs, relit, bank = a[:1], a[1:], torch.cat([a[:1], b[1:]])
    assert closer_to_input(relit, inputs, bank, symmetrise=False).tolist() == [False]
    assert closer_to_input(relit, inputs, bank).tolist() == [True]


def test_fit_light_fader_and_multidecoder_train_on_flipped_faces(real: torch.Tensor) -> None:
    small = torch.nn.functional.interpolate(real[:24], size=16, mode="area")
    score, classes = lighting_pseudo_label(small)
    y, _ = light_target(score)
    fader = fit_light_fader(small, y, steps=3, lambda_max=0.01, progress=False)
    assert isinstance(fader, FaderNet) and not fader.training
    assert fader.relight(small[:2], 0.5).shape == (2, 3, 16, 16)
    assert len(fader.history.losses["reconstruction"]) >= 1
    classes[:2] = torch.tensor([0, 2])  # make sure every side class has a face
    multi = fit_light_multidecoder(small, classes, steps=3, batch_size=4, progress=False)
    assert isinstance(multi, MultiDecoder) and multi.classes == ["left", "centre", "right"]
    assert multi.swap(small[:2], "right").shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="right"):
        fit_light_multidecoder(small, torch.zeros(24, dtype=torch.long), flips=False, steps=1)


def test_cached_real_face_models_are_trained_once_per_training_set(
    real: torch.Tensor, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from sepviz import zoo

    monkeypatch.setenv("SEPVIZ_CACHE", str(tmp_path))
    monkeypatch.setattr(zoo, "PRETRAINED", tmp_path / "none shipped")
    small = torch.nn.functional.interpolate(real[:24], size=16, mode="area")
    y, _ = light_target(lighting_pseudo_label(small)[0])
    fit = {"steps": 2, "lambda_max": 0.01, "progress": False, "cache": True}
    first = fit_light_fader(small, y, **fit)
    again = fit_light_fader(small.clone(), y.clone(), **fit)  # loaded
    for a, b in zip(first.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    assert len(list(tmp_path.glob("realfaces-fadernet-16px-*.pt"))) == 1
    fit_light_fader(small, y, **{**fit, "lambda_ramp": 1})  # another setting: another model
    fit_light_fader((small + 0.02).clamp(0, 1), y, **fit)  # other faces: another model
    assert len(list(tmp_path.glob("realfaces-fadernet-16px-*.pt"))) == 3
    cards = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    # this module, then the model's own modules (zoo.model_code)
    assert all(
        card["code"] == ["realfaces.py", "data/real.py", *zoo.model_code("FaderNet")]
        for card in cards
    )
    assert all(len(card["args"]["faces"]) == 16 for card in cards)
    assert zoo.stale(tmp_path) == []


def test_real_face_models_keyed_by_their_source_load_from_last_bit_other_pixels(
    real: torch.Tensor, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """A model keyed by the files its faces come from (faces_key) loads on a machine whose
    resampling rounds the last bits otherwise; other targets or another key train anew."""
    from sepviz import zoo
    from sepviz.data.real import skimage_faces_key

    monkeypatch.setenv("SEPVIZ_CACHE", str(tmp_path))
    monkeypatch.setattr(zoo, "PRETRAINED", tmp_path / "none shipped")
    small = torch.nn.functional.interpolate(real[:24], size=16, mode="area")
    y, _ = light_target(lighting_pseudo_label(small)[0])
    key = skimage_faces_key(16)
    assert key == skimage_faces_key(16) != skimage_faces_key(32) and "lfw_subset" in key
    fit = {"steps": 2, "lambda_max": 0.01, "progress": False, "cache": True, "faces_key": key}
    first = fit_light_fader(small, y, **fit)
    other_bits = torch.nextafter(small, torch.ones(()))  # another machine's rounding
    assert zoo.data_digest(other_bits) != zoo.data_digest(small)
    again = fit_light_fader(other_bits, torch.nextafter(y, torch.ones(())), **fit)  # loaded
    for a, b in zip(first.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    assert len(list(tmp_path.glob("realfaces-fadernet-16px-*.pt"))) == 1
    fit_light_fader(small, -y, **fit)  # other targets: another model
    classes = torch.arange(24) % 3
    multi = {k: v for k, v in fit.items() if k != "lambda_max"}
    fit_light_multidecoder(small, classes, batch_size=4, **multi)
    assert len(list(tmp_path.glob("realfaces-*-16px-*.pt"))) == 3
    card = json.loads(next(tmp_path.glob("realfaces-multidecoder-*.json")).read_text())
    assert card["args"]["faces"] == key and len(card["args"]["targets"]) == 16
    with pytest.raises(ValueError, match="size"):
        skimage_faces_key(2)


def test_data_digest_names_the_exact_bytes() -> None:
    from sepviz.zoo import data_digest

    x, y = torch.rand(4, 3, 8, 8), torch.linspace(-1, 1, 4)
    assert data_digest(x, y) == data_digest(x.clone(), y.clone()) and len(data_digest(x)) == 16
    assert data_digest(x, y) != data_digest(torch.nextafter(x, torch.ones(())), y)
    assert data_digest(x, y) != data_digest(x, y.double()) != data_digest(x)
    assert data_digest(x) != data_digest(x.reshape(4, 3, 64))  # the same bytes, another shape
