"""The renderer: determinism, physical light, each factor changes what it should and only that."""

from __future__ import annotations

import pytest
import torch

from sepviz.data import FaceSet
from sepviz.data import synthetic as S

FRONT = torch.tensor([0.0, 0.0])
NEUTRAL = torch.tensor([0.3, 0.0, 0.9])
LIGHTS = [[-50.0, 10.0], [0.0, 0.0], [35.0, -25.0], [60.0, 30.0]]


def render_one(identity=None, expression=None, light=None, size=64) -> torch.Tensor:
    """One (3, size, size) face: person A, neutral expression, frontal light unless given."""
    identity = S.PERSONS["A"] if identity is None else identity
    expression = NEUTRAL if expression is None else expression
    light = FRONT if light is None else light
    return S.render(identity, expression, light, size)[0]


def box(size: int, x_lo: float, x_hi: float, y_lo: float, y_hi: float) -> tuple:
    """Index of the pixels of a (3, size, size) image inside a box of the renderer's frame
    (x to the right, y up, both in [-1, 1])."""
    rows = slice(round((1 - y_hi) / 2 * size), round((1 - y_lo) / 2 * size))
    cols = slice(round((x_lo + 1) / 2 * size), round((x_hi + 1) / 2 * size))
    return (slice(None), rows, cols)


def changed(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-6) -> torch.Tensor:
    """(H, W) bool: the pixels where two (3, H, W) images differ by more than ``tol``."""
    return (a - b).abs().amax(0) > tol


def left_minus_right(image: torch.Tensor) -> float:
    """Mean brightness of the face's left half minus its right half (image left / right)."""
    size = image.shape[-1]
    grey = image.mean(0)[size // 8 : 3 * size // 4, size // 8 : 7 * size // 8]
    mid = grey.shape[1] // 2
    return float(grey[:, :mid].mean() - grey[:, mid:].mean())


def with_factor(base: torch.Tensor, index: int, value: float) -> torch.Tensor:
    out = base.clone()
    out[index] = value
    return out


# --------------------------------------------------------------------------- shapes, seeds


@pytest.mark.parametrize("size", S.SIZES)
def test_make_faces_shapes_dtype_range(size: int) -> None:
    faces = S.make_faces(12, size=size, identities=3, seed=0)
    assert faces.images.shape == (12, 3, size, size)
    assert faces.images.dtype == torch.float32
    assert float(faces.images.min()) >= 0.0 and float(faces.images.max()) <= 1.0
    assert float(faces.images.std()) > 0.1  # a picture, not a flat colour
    names = {*S.IDENTITY_FACTORS, *S.EXPRESSION_FACTORS, *S.LIGHT_FACTORS}
    assert set(faces.factors) == names | {"identity", "light_class"}
    for name in names:
        assert faces.factors[name].dtype == torch.float32 and faces.factors[name].shape == (12,)
    assert faces.factors["identity"].dtype == torch.int64
    assert faces.factors["light_class"].dtype == torch.int64


def test_deterministic_by_seed() -> None:
    a = S.make_faces(16, size=32, seed=7)
    b = S.make_faces(16, size=32, seed=7)
    c = S.make_faces(16, size=32, seed=8)
    assert torch.equal(a.images, b.images)
    assert all(torch.equal(a.factors[k], b.factors[k]) for k in a.factors)
    assert not torch.equal(a.images, c.images)
    assert not torch.equal(a.factors["azimuth"], c.factors["azimuth"])
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(S.random_lights(5, g1), S.random_lights(5, g2))


def test_a_face_does_not_depend_on_its_batch() -> None:
    # Chunking and batch-mates never change a face: ground truths rendered alone match.
    g = torch.Generator().manual_seed(1)
    ident, expr = S.random_identities(9, g), S.random_expressions(9, g)
    light = S.random_lights(9, g)
    batch = S.render(ident, expr, light, 64)
    assert torch.equal(batch, S.render(ident, expr, light, 64, chunk=4))
    assert torch.equal(batch[5], S.render(ident[5], expr[5], light[5], 64)[0])
    # 1-D factors broadcast to the batch.
    shared = S.render(ident[0], expr, light[0], 32)
    assert shared.shape == (9, 3, 32, 32)
    assert torch.equal(shared[2], S.render(ident[0], expr[2], light[0], 32)[0])
    as_lists = S.render([0.5] * 5, [0.5] * 3, [10.0, 5.0], 32)  # sequences work too
    assert torch.equal(
        as_lists, S.render(torch.full((5,), 0.5), torch.full((3,), 0.5), [10, 5], 32)
    )


def test_background_and_hair_carry_no_identity() -> None:
    faces = S.make_faces(40, size=64, identities=10, seed=4)
    corners = faces.images[:, :, :4, :4].reshape(40, 3, -1)
    assert torch.allclose(corners, corners[:1, :, :1].expand_as(corners), atol=1e-6)
    crown = box(64, -0.2, 0.2, 0.72, 0.9)
    base = render_one(S.PERSONS["A"], light=[-30.0, 10.0])
    for k in (0, 1, 3, 4):  # only the width of the head reaches its crown (the hair)
        other = render_one(with_factor(S.PERSONS["A"], k, 1.0), light=[-30.0, 10.0])
        assert torch.equal(base[crown], other[crown])


# --------------------------------------------------------------------------- light


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("person", ["A", "B", "D"])
def test_light_from_the_left_brightens_the_left_half(size: int, person: str) -> None:
    assert left_minus_right(render_one(S.PERSONS[person], light=[-50.0, 0.0], size=size)) > 0.03
    assert left_minus_right(render_one(S.PERSONS[person], light=[50.0, 0.0], size=size)) < -0.03


def test_light_sweep_is_monotone() -> None:
    azimuths = torch.linspace(-60, 60, 13)
    for person in ("A", "B"):
        for elevation in (-20.0, 0.0, 25.0):
            light = torch.stack([azimuths, torch.full((13,), elevation)], 1)
            diffs = [left_minus_right(img) for img in S.render(S.PERSONS[person], NEUTRAL, light)]
            assert all(a > b for a, b in zip(diffs, diffs[1:])), (person, elevation, diffs)
            assert abs(diffs[6]) < 0.02  # frontal light: a symmetric face is lit symmetrically


def test_elevation_from_above_brightens_the_top() -> None:
    def top_minus_bottom(image: torch.Tensor) -> float:
        grey = image.mean(0)
        return float(
            grey[box(64, -0.3, 0.3, 0.0, 0.4)[1:]].mean()
            - grey[box(64, -0.3, 0.3, -0.5, -0.1)[1:]].mean()
        )

    values = [top_minus_bottom(render_one(light=[0.0, el])) for el in (-30.0, 0.0, 30.0)]
    assert values[0] < values[1] < values[2]


def test_relighting_keeps_the_albedo() -> None:
    # Shading is one scalar per pixel times the albedo, so a change of light multiplies R, G
    # and B of a pixel by the same factor: R/G and B/G of lips and skin are light-invariant.
    person = S.PERSONS["B"]
    images = [render_one(person, light=light, size=64) for light in LIGHTS]
    lips, cheek = box(64, -0.12, 0.12, -0.46, -0.39), box(64, 0.2, 0.32, -0.3, -0.08)
    for region in (lips, cheek, box(64, -0.25, 0.25, -0.3, 0.3)):  # the last: the inner face
        ratios = [
            (img[region][0] / img[region][1], img[region][2] / img[region][1]) for img in images
        ]
        for rg, bg in ratios[1:]:
            assert torch.allclose(rg, ratios[0][0], rtol=1e-4)
            assert torch.allclose(bg, ratios[0][1], rtol=1e-4)
        assert (images[0][region] - images[3][region]).abs().max() > 0.05  # the light did change
    # The lips keep their colour: red lips stay redder than pale ones under any light.
    for light in LIGHTS:
        red = render_one(with_factor(person, 1, 1.0), light=light)[lips]
        pale = render_one(with_factor(person, 1, 0.0), light=light)[lips]
        assert float((red[0] / red[1]).mean()) > 2 * float((pale[0] / pale[1]).mean())


def test_light_class_bins_and_class_azimuths() -> None:
    az = torch.tensor([-60.0, -21.0, -20.0, -19.0, 0.0, 19.0, 20.0, 21.0, 60.0, 75.0])
    assert S.light_class(az).tolist() == [0, 0, 1, 1, 1, 1, 1, 2, 2, 2]
    assert S.light_class(az).dtype == torch.int64
    assert S.class_azimuths(3).tolist() == [-40.0, 0.0, 40.0]
    assert S.light_class(S.class_azimuths(5), 5).tolist() == [0, 1, 2, 3, 4]
    assert S.light_class(S.class_azimuths(2), 2).tolist() == [0, 1]
    faces = S.make_faces(50, size=16, seed=2, n_light_classes=4)
    assert torch.equal(faces.factors["light_class"], S.light_class(faces.factors["azimuth"], 4))
    assert S.LIGHT_CLASSES == ("left", "centre", "right")


# --------------------------------------------------------------------------- locality


def test_mouth_leaves_the_eyes_untouched() -> None:
    eyes_moved = changed(
        render_one(expression=[0.3, 0.0, 1.0]), render_one(expression=[0.3, 0.0, 0.0])
    )
    for light in LIGHTS:
        a = render_one(S.PERSONS["B"], [0.0, 0.0, 0.8], light)
        b = render_one(S.PERSONS["B"], [1.0, 1.0, 0.8], light)
        assert torch.equal(a[box(64, -1, 1, -0.25, 1)], b[box(64, -1, 1, -0.25, 1)])
        assert not (changed(a, b) & eyes_moved).any()
        assert (
            a[box(64, -0.3, 0.3, -0.6, -0.28)] - b[box(64, -0.3, 0.3, -0.6, -0.28)]
        ).abs().max() > 0.15


def test_eyes_open_changes_only_the_eye_band() -> None:
    a = render_one(expression=[0.3, 0.2, 1.0], light=[-40.0, 10.0])
    b = render_one(expression=[0.3, 0.2, 0.0], light=[-40.0, 10.0])
    assert torch.equal(a[box(64, -1, 1, -1, 0.0)], b[box(64, -1, 1, -1, 0.0)])
    assert torch.equal(a[box(64, -1, 1, 0.3, 1)], b[box(64, -1, 1, 0.3, 1)])
    assert (a[box(64, -0.4, 0.4, 0.08, 0.2)] - b[box(64, -0.4, 0.4, 0.08, 0.2)]).abs().max() > 0.5


@pytest.mark.parametrize("light", LIGHTS)
def test_nose_changes_the_nose_not_the_eyes(light: list[float]) -> None:
    small = render_one(with_factor(S.PERSONS["C"], 0, 0.0), light=light)
    big = render_one(with_factor(S.PERSONS["C"], 0, 1.0), light=light)
    eyes_moved = changed(
        render_one(S.PERSONS["C"], [0.3, 0, 1], light),
        render_one(S.PERSONS["C"], [0.3, 0, 0], light),
    )
    nose_moved = changed(small, big)
    assert not (nose_moved & eyes_moved).any()
    assert torch.equal(small[box(64, -1, 1, 0.16, 1)], big[box(64, -1, 1, 0.16, 1)])
    assert torch.equal(small[box(64, -1, 1, -1, -0.3)], big[box(64, -1, 1, -1, -0.3)])
    assert (
        small[box(64, -0.1, 0.1, -0.25, 0.0)] - big[box(64, -0.1, 0.1, -0.25, 0.0)]
    ).abs().max() > 0.1


def test_side_light_casts_the_nose_shadow_away_from_the_light() -> None:
    # Light from the image's left: a big nose darkens the cheek to its right, not its left.
    small = render_one(with_factor(S.PERSONS["A"], 0, 0.0), light=[-60.0, 0.0], size=128)
    big = render_one(with_factor(S.PERSONS["A"], 0, 1.0), light=[-60.0, 0.0], size=128)
    darker = (small - big).mean(0)
    right, left = box(128, 0.08, 0.2, -0.19, -0.12)[1:], box(128, -0.2, -0.08, -0.19, -0.12)[1:]
    assert float(darker[right].mean()) > 0.05
    assert float(darker[left].max()) < 0.01


def test_lip_colour_changes_only_lip_pixels() -> None:
    for light in LIGHTS:
        pale = render_one(with_factor(S.PERSONS["D"], 1, 0.0), light=light)
        red = render_one(with_factor(S.PERSONS["D"], 1, 1.0), light=light)
        moved = changed(pale, red)
        rows, cols = moved.any(1).nonzero().flatten(), moved.any(0).nonzero().flatten()
        assert moved.sum() > 30
        to_y, to_x = (lambda i: 1 - (i + 0.5) / 32), (lambda i: (i + 0.5) / 32 - 1)
        assert -0.5 < to_y(int(rows.max())) and to_y(int(rows.min())) < -0.33
        assert -0.3 < to_x(int(cols.min())) and to_x(int(cols.max())) < 0.3
        # Only red and blue move much: the lips get redder, nothing else changes colour.
        assert float((red[0] / red[1])[moved].mean()) > float((pale[0] / pale[1])[moved].mean())


def test_identity_factors_change_the_picture() -> None:
    base = torch.full((5,), 0.3)
    for k, name in enumerate(S.IDENTITY_FACTORS):
        a, b = render_one(base), render_one(with_factor(base, k, 1.0))
        assert (a - b).abs().max() > 0.1, name
    wide, narrow = render_one(with_factor(base, 2, 1.0)), render_one(with_factor(base, 2, 0.0))
    background = torch.tensor([0.30, 0.33, 0.38]).view(3, 1)

    def head_width(img: torch.Tensor) -> int:  # face pixels across the eye line
        row = img[:, 28]
        return int(((row - background).abs().amax(0) > 0.02).sum())

    assert head_width(wide) > head_width(narrow) + 4
    light, dark = render_one(with_factor(base, 3, 0.0)), render_one(with_factor(base, 3, 1.0))
    cheek = box(64, 0.2, 0.32, -0.3, -0.08)
    assert float(light[cheek].mean()) > 1.5 * float(dark[cheek].mean())


def test_persons_a_and_b_differ() -> None:
    a, b = S.PERSONS["A"], S.PERSONS["B"]
    assert bool(((a - b).abs() > 0.3).all())
    assert a[0] < b[0] and a[1] < b[1] and a[2] < b[2] and a[3] < b[3]  # B: bigger, redder, ...
    assert len(S.PERSONS) >= 4 and all(p.shape == (5,) for p in S.PERSONS.values())
    assert (render_one(a) - render_one(b)).abs().mean() > 0.05


# --------------------------------------------------------------------------- make_faces


def test_make_faces_balances_people() -> None:
    faces = S.make_faces(30, size=16, identities=["A", "B", "C"], seed=0)
    assert torch.bincount(faces.factors["identity"]).tolist() == [10, 10, 10]
    assert faces.factors["identity"][:4].tolist() == [0, 1, 2, 0]
    assert torch.allclose(S.factor_matrix(faces.where(identity=1)), S.PERSONS["B"].expand(10, 5))
    random_people = S.make_faces(20, size=16, identities=4, seed=3)
    people = S.factor_matrix(random_people)
    assert torch.bincount(random_people.factors["identity"]).tolist() == [5, 5, 5, 5]
    assert torch.equal(people[:4], people[4:8]) and len(torch.unique(people, dim=0)) == 4
    given = torch.stack([S.PERSONS["D"], S.PERSONS["E"]])
    assert torch.equal(S.factor_matrix(S.make_faces(4, size=16, identities=given))[:2], given)


def test_make_faces_fixed_expression_and_light_and_factor_matrix() -> None:
    faces = S.make_faces(6, size=32, identities=2, seed=5, expression=NEUTRAL, light=[-40.0, 5.0])
    assert torch.equal(S.factor_matrix(faces, S.EXPRESSION_FACTORS), NEUTRAL.expand(6, 3))
    assert faces.factors["light_class"].tolist() == [0] * 6
    factors = [
        S.factor_matrix(faces, names)
        for names in (S.IDENTITY_FACTORS, S.EXPRESSION_FACTORS, S.LIGHT_FACTORS)
    ]
    assert torch.equal(S.render(*factors, size=32), faces.images)
    ranged = S.make_faces(40, size=16, azimuth_range=(20.0, 60.0), elevation_range=(0.0, 0.0))
    assert bool((ranged.factors["azimuth"] >= 20).all())
    assert bool((ranged.factors["elevation"] == 0).all())


def test_ground_truth_helpers_agree_with_render() -> None:
    faces = S.make_faces(6, size=32, identities=["A", "B"], seed=3)
    assert torch.equal(S.relit(faces, faces.factors["azimuth"]), faces.images)
    to_left = S.relit(faces, S.class_azimuths()[0], 0.0)
    assert all(left_minus_right(img) > 0.03 for img in to_left)
    person_b = faces.where(identity=1)
    assert torch.equal(S.swapped(person_b, "B"), person_b.images)
    a_as_b = S.swapped(faces.where(identity=0), S.PERSONS["B"])
    assert a_as_b.shape == (3, 3, 32, 32)
    assert not torch.equal(a_as_b, faces.where(identity=0).images)


def test_pixel_variance_by_factor_sums_to_one() -> None:
    shares = S.pixel_variance_by_factor(n=32, size=16, seed=0)
    assert set(shares) == {"identity", "expression", "light"}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert all(v > 0.005 for v in shares.values())


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 48}, r"size must be a power of two >= 16"),
        ({"size": 8}, r"size must be a power of two >= 16"),
        ({"size": 64.0}, r"size must be a power of two >= 16"),
        (
            {"identity": torch.zeros(4)},
            r"identity must have shape \(N, 5\) or \(5,\), got \(1, 4\)",
        ),
        ({"identity": torch.zeros(2, 3, 5)}, r"identity must have shape \(N, 5\)"),
        ({"expression": torch.zeros(2)}, r"expression must have shape \(N, 3\)"),
        ({"light": torch.zeros(3)}, r"light must have shape \(N, 2\)"),
        ({"identity": torch.full((5,), 1.5)}, r"identity: factor 'nose_size' must lie in \[0, 1\]"),
        ({"identity": torch.tensor([0, 0, 0, float("nan"), 0])}, r"'skin_tone' must lie in"),
        ({"expression": torch.tensor([0.0, -0.2, 0.0])}, r"expression: factor 'mouth_open'"),
        ({"light": torch.tensor([80.0, 0.0])}, r"light: factor 'azimuth' must lie in \[-60, 60\]"),
        ({"light": torch.tensor([0.0, 45.0])}, r"'elevation' must lie in \[-30, 30\]"),
        (
            {"identity": torch.zeros(3, 5), "light": torch.zeros(2, 2)},
            "light has 2 rows but the batch has 3",
        ),
        ({"chunk": 0}, "chunk must be a positive int"),
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
        ({"n": 0}, "n must be a positive int, got 0"),
        ({"n": -3}, "n must be a positive int"),
        ({"size": 100}, "size must be a power of two"),
        ({"identities": ["A", "Z"]}, r"unknown names \['Z'\]"),
        ({"identities": []}, "identities is empty"),
        ({"identities": 0}, "identities must be a positive int"),
        ({"identities": torch.zeros(3, 4)}, r"identities must have shape \(N, 5\)"),
        ({"identities": torch.full((2, 5), 2.0)}, r"identities: factor 'nose_size'"),
        ({"n_light_classes": 1}, "n_light_classes must be an int >= 2"),
        ({"azimuth_range": (-90.0, 0.0)}, r"azimuth_range must be \(lo, hi\) with -60 <= lo"),
        ({"elevation_range": (10.0, -10.0)}, "elevation_range must be"),
        ({"expression": torch.zeros(2, 3)}, r"expression must have shape \(3,\) or \(4, 3\)"),
        ({"light": torch.tensor([0.0, 90.0])}, r"'elevation' must lie in"),
    ],
)
def test_make_faces_errors(kwargs: dict, match: str) -> None:
    args = {"n": 4, "size": 16}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        S.make_faces(**args)


def test_other_errors() -> None:
    with pytest.raises(ValueError, match="n_classes must be an int >= 2"):
        S.light_class(torch.zeros(3), 1)
    with pytest.raises(ValueError, match="n_classes must be an int >= 2"):
        S.class_azimuths(0)
    with pytest.raises(ValueError, match="n must be a positive int"):
        S.random_identities(0)
    with pytest.raises(ValueError, match="n must be a positive int"):
        S.random_expressions(-1)
    with pytest.raises(ValueError, match="elevation_range must be"):
        S.random_lights(3, elevation_range=(-40.0, 0.0))
    with pytest.raises(ValueError, match=r"names: faces has no factors \['smile'\]"):
        S.factor_matrix(FaceSet(torch.zeros(1, 3, 16, 16)), ["smile"])
