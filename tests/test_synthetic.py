"""The renderer: determinism, each factor changes what it should and only that, clear errors."""

from __future__ import annotations

import pytest
import torch

from sepviz.data import synthetic as S

FRONT = torch.tensor([0.0, 0.0])
NEUTRAL = torch.tensor([0.3, 0.0, 0.9])


def render_one(identity=None, expression=None, light=None, size=64) -> torch.Tensor:
    identity = S.PERSONS["A"] if identity is None else torch.as_tensor(identity)
    expression = NEUTRAL if expression is None else torch.as_tensor(expression)
    light = FRONT if light is None else torch.as_tensor(light, dtype=torch.float32)
    return S.render(identity, expression, light, size)[0]


def face_halves(image: torch.Tensor) -> tuple[float, float]:
    # Mean brightness of the left and right halves of the central face region.
    size = image.shape[-1]
    lo, hi = size // 4, 3 * size // 4
    grey = image.mean(0)[lo:hi, lo:hi]
    mid = grey.shape[1] // 2
    return float(grey[:, :mid].mean()), float(grey[:, mid:].mean())


def region(size: int, y_lo: float, y_hi: float, x_lo: float = -1, x_hi: float = 1) -> tuple:
    # Pixel slices of the box x in [x_lo, x_hi], y in [y_lo, y_hi] (y up) of the renderer's frame.
    rows = slice(int((1 - y_hi) / 2 * size), int((1 - y_lo) / 2 * size))
    cols = slice(int((x_lo + 1) / 2 * size), int((x_hi + 1) / 2 * size))
    return (slice(None), rows, cols)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_make_faces_shapes_dtype_range(size: int) -> None:
    faces = S.make_faces(10, size=size, identities=3, seed=0)
    assert faces.images.shape == (10, 3, size, size)
    assert faces.images.dtype == torch.float32
    assert 0.0 <= float(faces.images.min()) and float(faces.images.max()) <= 1.0
    expected = {*S.IDENTITY_FACTORS, *S.EXPRESSION_FACTORS, *S.LIGHT_FACTORS}
    assert expected | {"identity", "light_class"} == set(faces.factors)
    assert faces.factors["identity"].dtype == torch.int64


def test_deterministic_by_seed() -> None:
    a = S.make_faces(16, size=32, seed=7)
    b = S.make_faces(16, size=32, seed=7)
    c = S.make_faces(16, size=32, seed=8)
    assert torch.equal(a.images, b.images)
    assert all(torch.equal(a.factors[k], b.factors[k]) for k in a.factors)
    assert not torch.equal(a.images, c.images)


def test_people_are_balanced_and_named_people_differ() -> None:
    faces = S.make_faces(30, size=32, identities=["A", "B", "C"], seed=0)
    assert torch.bincount(faces.factors["identity"]).tolist() == [10, 10, 10]
    assert torch.allclose(S.factor_matrix(faces.where(identity=1))[0], S.PERSONS["B"])
    assert bool((S.PERSONS["A"] - S.PERSONS["B"]).abs().min() > 0.3)


def test_light_class_matches_azimuth_bins() -> None:
    az = torch.tensor([-60.0, -21.0, -19.0, 0.0, 19.0, 21.0, 60.0, 75.0])
    assert S.light_class(az).tolist() == [0, 0, 1, 1, 1, 2, 2, 2]
    assert S.class_azimuths(3).tolist() == [-40.0, 0.0, 40.0]
    faces = S.make_faces(50, size=32, seed=2)
    assert torch.equal(faces.factors["light_class"], S.light_class(faces.factors["azimuth"]))
    assert S.light_class(S.class_azimuths(5), 5).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("size", [32, 64])
def test_light_from_the_left_brightens_the_left_half(size: int) -> None:
    left, right = face_halves(render_one(light=[-50.0, 0.0], size=size))
    assert left > right + 0.05
    left, right = face_halves(render_one(light=[50.0, 0.0], size=size))
    assert right > left + 0.05


def test_light_sweep_is_monotone() -> None:
    sweep = torch.linspace(-60, 60, 9)
    diffs = []
    for az in sweep:
        left, right = face_halves(render_one(light=[float(az), 0.0]))
        diffs.append(left - right)
    assert all(a > b for a, b in zip(diffs, diffs[1:], strict=False)), diffs


def test_elevation_from_above_brightens_the_top() -> None:
    def top_minus_bottom(image: torch.Tensor) -> float:
        grey = image.mean(0)[16:48, 16:48]
        return float(grey[:16].mean() - grey[16:].mean())

    assert top_minus_bottom(render_one(light=[0, 30])) > top_minus_bottom(
        render_one(light=[0, -30])
    )


def test_relighting_keeps_the_albedo() -> None:
    # Shading multiplies the albedo pixel by pixel: colour ratios are unchanged by the light
    # wherever nothing saturates (lips, skin), so lip and skin colours survive any relight.
    a = render_one(S.PERSONS["B"], light=[-45.0, 10.0])
    b = render_one(S.PERSONS["B"], light=[30.0, -20.0])
    inner = region(64, -0.6, 0.5, -0.35, 0.35)  # inside the head: no silhouette pixels
    a, b = a[inner], b[inner]
    ok = (a.min(0).values > 0.02) & (b.min(0).values > 0.02)
    ok &= (a.max(0).values < 0.99) & (b.max(0).values < 0.99)
    ratio_a = a[0][ok] / a[1][ok]
    ratio_b = b[0][ok] / b[1][ok]
    assert ok.sum() > 400
    assert torch.allclose(ratio_a, ratio_b, rtol=1e-4)


def test_mouth_leaves_the_eyes_untouched() -> None:
    a = render_one(expression=[0.0, 0.0, 0.9])
    b = render_one(expression=[1.0, 1.0, 0.9])
    eyes = region(64, 0.05, 0.45)
    mouth = region(64, -0.65, -0.25)
    assert torch.equal(a[eyes], b[eyes])
    assert (a[mouth] - b[mouth]).abs().max() > 0.2


def test_eyes_open_changes_only_the_eye_band() -> None:
    a = render_one(expression=[0.3, 0.2, 1.0])
    b = render_one(expression=[0.3, 0.2, 0.0])
    assert torch.equal(a[region(64, -0.9, 0.0)], b[region(64, -0.9, 0.0)])
    assert (a[region(64, 0.1, 0.25)] - b[region(64, 0.1, 0.25)]).abs().max() > 0.3


def test_identity_factors_change_their_region() -> None:
    base = torch.full((5,), 0.2)
    nose = base.clone()
    nose[0] = 1.0
    a, b = render_one(base), render_one(nose)
    assert (
        a[region(64, -0.2, 0.1, -0.15, 0.15)] - b[region(64, -0.2, 0.1, -0.15, 0.15)]
    ).abs().max() > 0.05
    lips = base.clone()
    lips[1] = 1.0
    a, b = render_one(base), render_one(lips)
    changed = (a - b).abs().amax(0) > 1e-6
    rows = changed.any(1).nonzero().flatten()
    # Only the lip rows change (y in about [-0.6, -0.3]).
    assert rows.numel() > 0 and rows.min() >= int(0.6 * 32) and rows.max() <= int(0.85 * 64)
    for k in (2, 3, 4):  # face width, skin tone, eye spacing all change the picture
        other = base.clone()
        other[k] = 1.0
        assert (render_one(base) - render_one(other)).abs().max() > 0.1


def test_ground_truth_helpers_agree_with_render() -> None:
    faces = S.make_faces(6, size=32, identities=["A", "B"], seed=3)
    assert torch.allclose(S.relit(faces, faces.factors["azimuth"]), faces.images, atol=1e-6)
    swapped = S.swapped(faces.where(identity=0), "B")
    assert swapped.shape == (3, 3, 32, 32)
    same = S.swapped(faces.where(identity=1), "B")
    assert torch.allclose(same, faces.where(identity=1).images, atol=1e-6)


def test_pixel_variance_by_factor_sums_to_one() -> None:
    shares = S.pixel_variance_by_factor(n=32, size=16, seed=0)
    assert set(shares) == {"identity", "expression", "light"}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert all(v > 0 for v in shares.values())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 48}, "size must be a power of two"),
        ({"size": 8}, "size must be a power of two"),
        ({"identity": torch.zeros(4)}, r"identity must have shape \(N, 5\)"),
        ({"identity": torch.full((5,), 1.5)}, "'nose_size' must lie in \\[0, 1\\]"),
        ({"expression": torch.tensor([0.0, -0.2, 0.0])}, "'mouth_open' must lie in"),
        ({"light": torch.tensor([80.0, 0.0])}, r"'azimuth' must lie in \[-60, 60\]"),
        ({"light": torch.tensor([0.0, 45.0])}, r"'elevation' must lie in \[-30, 30\]"),
        (
            {"identity": torch.zeros(3, 5), "light": torch.zeros(2, 2)},
            "light has 2 rows but the batch has 3",
        ),
    ],
)
def test_render_errors_name_the_argument(kwargs: dict, match: str) -> None:
    args = {"identity": S.PERSONS["A"], "expression": NEUTRAL, "light": FRONT, "size": 32}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        S.render(**args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "n must be a positive int"),
        ({"identities": ["A", "Z"]}, r"unknown names \['Z'\]"),
        ({"identities": 0}, "identities must be >= 1"),
        ({"n_light_classes": 1}, "n_classes must be an int >= 2"),
        ({"azimuth_range": (-90.0, 0.0)}, "azimuth_range must satisfy"),
    ],
)
def test_make_faces_errors(kwargs: dict, match: str) -> None:
    args = {"n": 4, "size": 16}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        S.make_faces(**args)
