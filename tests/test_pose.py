"""Head pose in the renderer: a turned 3-D head under a fixed lamp, its truth functions."""

from __future__ import annotations

import hashlib
import math

import pytest
import torch

from sepviz.data import synthetic as S

IDENT = torch.tensor(
    [[0.1, 0.05, 0.1, 0.05, 0.3], [0.95, 0.95, 0.9, 0.7, 0.7], [0.5, 0.6, 0.45, 0.35, 0.95]]
    + [[0.3, 0.75, 0.3, 0.55, 0.5]]
)
EXPR = torch.tensor([[0.2, 0.3, 0.9], [0.8, 0.1, 0.5], [0.5, 0.9, 0.1], [0.0, 0.0, 1.0]])
LIGHT = torch.tensor([[-50.0, 10.0], [0.0, 0.0], [35.0, -25.0], [60.0, 30.0]])
# SHA-256 of render(IDENT, EXPR, LIGHT, 32) computed with the renderer before pose existed.
FRONTAL_SHA = "f7487612b9255916f813ae0f0eef20fa0608385401be833baa7bc0d6c0926c65"
SYMMETRIC = torch.tensor([0.5, 0.5, 0.5, 0.5, 0.5])  # every identity factor is symmetric
NEUTRAL = torch.tensor([0.3, 0.0, 0.9])


def one(yaw: float, pitch: float = 0.0, light=(0.0, 0.0), size: int = 64) -> torch.Tensor:
    return S.render(SYMMETRIC, NEUTRAL, torch.tensor(light), size, pose=[yaw, pitch])[0]


def sha(images: torch.Tensor) -> str:
    return hashlib.sha256(images.numpy().tobytes()).hexdigest()


def test_frontal_is_bit_identical_to_the_renderer_before_pose() -> None:
    assert sha(S.render(IDENT, EXPR, LIGHT, 32)) == FRONTAL_SHA
    zero = torch.zeros(4, 2)
    assert sha(S.render(IDENT, EXPR, LIGHT, 32, pose=zero)) == FRONTAL_SHA
    # Frontal faces next to turned ones keep their pixels (a face never depends on its batch).
    mixed = torch.tensor([[0.0, 0.0], [30.0, 10.0], [0.0, 0.0], [-20.0, 0.0]])
    images = S.render(IDENT, EXPR, LIGHT, 32, pose=mixed)
    alone = S.render(IDENT[1], EXPR[1], LIGHT[1], 32, pose=mixed[1])[0]
    frontal = S.render(IDENT, EXPR, LIGHT, 32)
    assert torch.equal(images[[0, 2]], frontal[[0, 2]])
    assert torch.equal(images[1], alone)


def test_make_faces_default_has_no_pose_and_ranges_add_it() -> None:
    plain = S.make_faces(8, 32, seed=3)
    assert "yaw" not in plain.factors and "pitch" not in plain.factors
    turned = S.make_faces(8, 32, seed=3, yaw=(-40.0, 40.0), pitch=(-20.0, 20.0))
    for name, lim in (("yaw", 40.0), ("pitch", 20.0)):
        values = turned.factors[name]
        assert values.shape == (8,) and values.dtype == torch.float32
        assert float(values.abs().max()) <= lim and float(values.std()) > lim / 5
    for name in S.IDENTITY_FACTORS + S.EXPRESSION_FACTORS + S.LIGHT_FACTORS:
        assert torch.equal(plain.factors[name], turned.factors[name])  # drawn first, unchanged
    assert torch.equal(
        turned.images, S.make_faces(8, 32, seed=3, yaw=(-40, 40), pitch=(-20, 20)).images
    )
    fixed = S.make_faces(4, 32, seed=1, pose=[25.0, -5.0])
    assert torch.equal(fixed.factors["yaw"], torch.full((4,), 25.0))
    assert torch.equal(fixed.images, S.posed(fixed, 25.0, -5.0))


def test_a_turned_head_is_not_a_shifted_or_mirrored_frontal_face() -> None:
    front, turned = one(0.0), one(30.0)
    step = float((one(30.0) - one(31.0)).abs().mean())  # one degree more

    def best_shift(a: torch.Tensor, b: torch.Tensor) -> float:
        return min(float((torch.roll(a, k, -1) - b).abs().mean()) for k in range(-12, 13))

    assert step > 0
    assert best_shift(front, turned) > 5 * step
    assert best_shift(front.flip(-1), turned) > 5 * step


@pytest.mark.parametrize("pitch", [0.0, 12.0])
def test_opposite_yaws_of_a_symmetric_face_are_mirror_images(pitch: float) -> None:
    right, left = one(25.0, pitch), one(-25.0, pitch)
    assert float((right - left).abs().max()) > 0.1
    assert torch.allclose(right, left.flip(-1), atol=1e-4)


def sclera(image: torch.Tensor) -> torch.Tensor:
    """(H, W) bool: the whites of the eyes (grey-white: min / max channel > 0.9, bright)."""
    top, low = image.amax(0), image.amin(0)
    return (low > 0.9 * top) & (top > 0.3)


def test_the_far_side_is_hidden() -> None:
    # Yaw > 0 turns the face to the image's right: its right eye (image right) is the far one.
    # The lamp turns with it (azimuth = yaw), so both eyes are lit alike in the head's frame
    # and only geometry (foreshortening, the nose in front) tells them apart.
    size = 128
    face = S.render(SYMMETRIC, NEUTRAL, torch.tensor([40.0, 0.0]), size, pose=[40.0, 0.0])[0]
    front = S.render(SYMMETRIC, NEUTRAL, torch.zeros(2), size)[0]
    band = slice(size * 30 // 100, size * 55 // 100)  # the eye band
    bridge = round((0.87 * 0.643 + 1) / 2 * size)  # the nose bridge's column at yaw 40
    white, white_front = sclera(face)[band], sclera(front)[band]
    left, right = white_front[:, : size // 2].sum(), white_front[:, size // 2 :].sum()
    assert int(left) == int(right) > 20
    near, far = int(white[:, :bridge].sum()), int(white[:, bridge:].sum())
    assert near > 0.7 * int(left) and far < 0.6 * near


def test_the_lamp_stays_in_the_world() -> None:
    # Light from the image's left (azimuth -50): the middle of the forehead (its normal is the
    # head's forward axis) is lit as cos(-50 - yaw): brightest when the face turns to the lamp.
    def forehead(yaw: float) -> float:
        col = round((0.74 * math.sin(math.radians(yaw)) + 1) / 2 * 64)
        return float(one(yaw, light=(-50.0, 0.0))[:, 18:21, col - 1 : col + 2].mean())

    values = [forehead(y) for y in (-30.0, 0.0, 30.0)]
    assert values[0] > values[1] + 0.08 > values[2] + 0.16


def test_round_trips_of_the_truth_functions() -> None:
    faces = S.make_faces(6, 32, seed=2, yaw=(-40, 40), pitch=(-20, 20))
    assert torch.equal(S.posed(faces, faces.factors["yaw"], faces.factors["pitch"]), faces.images)
    front = S.make_faces(6, 32, seed=2)
    assert torch.equal(S.posed(front, 0.0, 0.0), front.images)
    relit = S.relit(faces, 40.0)
    turned = S.posed(front, faces.factors["yaw"], faces.factors["pitch"])
    assert torch.equal(turned, faces.images)  # same people, expressions and lights
    again = S.FaceSet(faces.images, {**faces.factors, "azimuth": torch.full((6,), 40.0)})
    assert torch.equal(S.posed(again, faces.factors["yaw"], faces.factors["pitch"]), relit)
    assert not torch.equal(relit, S.relit(front, 40.0))  # relit keeps the pose
    swapped = S.swapped(faces, "B")
    assert torch.equal(
        swapped,
        S.render(
            S.PERSONS["B"],
            S.factor_matrix(faces, S.EXPRESSION_FACTORS),
            S.factor_matrix(faces, S.LIGHT_FACTORS),
            32,
            pose=S.factor_matrix(faces, S.POSE_FACTORS),
        ),
    )
    assert not torch.equal(swapped, S.swapped(front, "B"))


def test_posed_images_are_pictures_in_range() -> None:
    faces = S.make_faces(16, 64, seed=0, yaw=(-40, 40), pitch=(-20, 20))
    assert faces.images.shape == (16, 3, 64, 64)
    assert float(faces.images.min()) >= 0.0 and float(faces.images.max()) <= 1.0
    assert float(faces.images.std()) > 0.1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pose": [41.0, 0.0]}, r"yaw.*\[-40, 40\]"),
        ({"pose": [0.0, -25.0]}, r"pitch.*\[-20, 20\]"),
        ({"pose": [float("nan"), 0.0]}, "yaw"),
        ({"pose": [1.0, 2.0, 3.0]}, r"pose must have shape \(N, 2\)"),
    ],
)
def test_render_pose_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        S.render(SYMMETRIC, NEUTRAL, torch.zeros(2), 32, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"yaw": (-50.0, 0.0)}, r"yaw must be \(lo, hi\) with -40 <= lo <= hi <= 40"),
        ({"pitch": (10.0, 5.0)}, r"pitch must be \(lo, hi\) with -20 <= lo <= hi <= 20"),
    ],
)
def test_make_faces_pose_range_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        S.make_faces(4, 32, **kwargs)


def near_rim(image: torch.Tensor, rows: range, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``width`` pixels of the head in each of ``rows``, counted from its left
    silhouette ((3, R, width)), and the silhouette's column in each row ((R,))."""
    head = (image - S._BACKGROUND.view(3, 1, 1)).abs().amax(0) > 0.04
    left = torch.stack([head[r].nonzero().min() for r in rows])
    return torch.stack([image[:, r, c : c + width] for r, c in zip(rows, left)], 1), left


@pytest.mark.parametrize("light", [(0.0, 0.0), (-30.0, 10.0)])
def test_a_cheek_turning_into_view_has_no_streaks(light: tuple[float, float]) -> None:
    # At yaw 35 the left cheek turns into view (a mirror image for -35): the few pixels of the
    # frontal head's rim spread over many. Streaks are rows that disagree with their
    # neighbours: measured by the rows' second differences next to the silhouette, and by the
    # silhouette's own, over the cheek and jaw below the ear (y from -0.05 to -0.35).
    size = 128
    rows = range(round(0.525 * size), round(0.675 * size))

    def streaks(image: torch.Tensor) -> tuple[float, int]:
        band, left = near_rim(image, rows, size // 16)
        rough = float((band[:, 2:] - 2 * band[:, 1:-1] + band[:, :-2]).abs().mean())
        return rough, int((left[2:] - 2 * left[1:-1] + left[:-2]).abs().max())

    front_rough, front_bend = streaks(S.render(SYMMETRIC, NEUTRAL, torch.tensor(light), size)[0])
    for yaw in (35.0, -35.0):
        image = one(yaw, light=light, size=size)
        rough, bend = streaks(image if yaw > 0 else image.flip(-1))
        assert rough < 0.6 * front_rough
        assert bend <= front_bend  # the silhouette is as smooth as the frontal face's


def test_the_back_of_the_head_fills_the_turned_silhouette() -> None:
    # The head is an ellipsoid (plus features): turned by 40 degrees, its outline at y = -0.1
    # spans the whole ellipse's, 2 sqrt(a^2 cos^2 + c^2 sin^2) = 1.28 (a = 0.538 across,
    # c = 0.766 deep at that height), not only the front half's (a cos + ... = 1.05).
    size = 128
    row = round((1 + 0.1) / 2 * size - 0.5)
    for yaw in (40.0, -40.0):
        head = (one(yaw, size=size) - S._BACKGROUND.view(3, 1, 1)).abs().amax(0)[row] > 0.04
        cols = head.nonzero().flatten()
        width = float(cols.max() - cols.min() + 1) * 2 / size
        assert width == pytest.approx(1.28, abs=4 * 2 / size)


def test_a_turned_face_does_not_depend_on_its_batch() -> None:
    g = torch.Generator().manual_seed(7)
    n = 10
    ident, expr = S.random_identities(n, g), S.random_expressions(n, g)
    light, pose = S.random_lights(n, g), S.random_poses(n, g)
    pose[3] = torch.tensor([-40.0, 20.0])  # the extremes, and a frontal face among them
    pose[4] = torch.tensor([40.0, -20.0])
    pose[5] = 0.0
    images = S.render(ident, expr, light, 32, pose=pose)
    order = torch.randperm(n, generator=g)
    shuffled = S.render(ident[order], expr[order], light[order], 32, pose=pose[order], chunk=3)
    assert torch.equal(shuffled, images[order])
    for i in (0, 3, 4):
        alone = S.render(ident[i], expr[i], light[i], 32, pose=pose[i])[0]
        assert torch.equal(alone, images[i])
