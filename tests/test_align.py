"""Alignment geometry on known landmarks (offline); the face-alignment model only where its
weights are already on disk."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sepviz.data import FaceSet
from sepviz.data.align import (
    TEMPLATE_5,
    align_faces,
    detect_faces_cascade,
    landmark_weight_files,
    landmarks_to_5,
    similarity_transform,
    template_pixels,
    warp,
)


def similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.concatenate([scale * rot, [[tx], [ty]]], axis=1)


def apply(matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ matrix[:, :2].T + matrix[:, 2]


def blob_image(points: np.ndarray, h: int, w: int, sigma: float = 2.0) -> torch.Tensor:
    """(3, h, w): a Gaussian spot at each (x, y) point (pixel centres at integers)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w))
    for x, y in points:
        img += np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    return torch.from_numpy(np.clip(img, 0, 1)).float().expand(3, -1, -1).clone()


def centroid(img: torch.Tensor, x: float, y: float, r: int = 4) -> tuple[float, float]:
    """Intensity-weighted centre of the spot near (x, y)."""
    g = img[0].numpy().astype(np.float64)
    x0, y0 = int(round(x)), int(round(y))
    win = g[y0 - r : y0 + r + 1, x0 - r : x0 + r + 1]
    ys, xs = np.mgrid[y0 - r : y0 + r + 1, x0 - r : x0 + r + 1]
    return float((win * xs).sum() / win.sum()), float((win * ys).sum() / win.sum())


def fake_68(five: np.ndarray) -> np.ndarray:
    """68 iBUG points whose eye means, nose tip and mouth corners are the 5 given points."""
    pts = np.zeros((68, 2))
    pts[36:42] = five[0] + np.array([[-3, 0], [-1, -1], [1, -1], [3, 0], [1, 1], [-1, 1]])
    pts[42:48] = five[1] + np.array([[-3, 0], [-1, -1], [1, -1], [3, 0], [1, 1], [-1, 1]])
    pts[30], pts[48], pts[54] = five[2], five[3], five[4]
    return pts


def test_similarity_transform_recovers_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, size=(7, 2))
    truth = similarity(33.0, 1.7, -12.5, 40.25)
    found = similarity_transform(src, apply(truth, src))
    np.testing.assert_allclose(found, truth, atol=1e-5)
    # least squares with noise: close, and never a reflection
    noisy = apply(truth, src) + rng.normal(0, 0.5, size=src.shape)
    found = similarity_transform(src, noisy)
    np.testing.assert_allclose(found[:, :2], truth[:, :2], atol=0.02)
    np.testing.assert_allclose(apply(found, src), apply(truth, src), atol=0.6)
    mirrored = src * np.array([-1.0, 1.0])
    assert np.linalg.det(similarity_transform(src, mirrored)[:, :2]) > 0
    # torch input works the same
    found_t = similarity_transform(torch.from_numpy(src), torch.from_numpy(apply(truth, src)))
    np.testing.assert_allclose(found_t, truth, atol=1e-5)
    with pytest.raises(ValueError, match="coincide"):
        similarity_transform(np.ones((3, 2)), src[:3])
    with pytest.raises(ValueError, match="shape"):
        similarity_transform(src, src[:3])


def test_landmarks_to_5_from_68():
    five = np.array([[30.0, 40], [60, 41], [45, 55], [33, 70], [58, 71]])
    np.testing.assert_allclose(landmarks_to_5(fake_68(five)), five, atol=1e-12)
    np.testing.assert_allclose(landmarks_to_5(five), five)
    np.testing.assert_allclose(landmarks_to_5(np.c_[fake_68(five), np.ones(68)]), five)  # 3-D
    with pytest.raises(ValueError, match="68"):
        landmarks_to_5(np.zeros((10, 2)))


def test_template_is_symmetric_and_inside():
    assert np.all((TEMPLATE_5 > 0) & (TEMPLATE_5 < 1))
    np.testing.assert_allclose(TEMPLATE_5[0, 0] + TEMPLATE_5[1, 0], 1.0)
    np.testing.assert_allclose(TEMPLATE_5[3, 0] + TEMPLATE_5[4, 0], 1.0)
    np.testing.assert_allclose(template_pixels(64), TEMPLATE_5 * 64 - 0.5)


def test_warp_identity_and_shift():
    img = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
    same = warp(img, np.array([[1.0, 0, 0], [0, 1.0, 0]]), 16)
    torch.testing.assert_close(same, img, atol=1e-5, rtol=0)
    shifted = warp(img, np.array([[1.0, 0, -3], [0, 1.0, 0]]), 16, padding="zeros")
    torch.testing.assert_close(shifted[:, :, :13], img[:, :, 3:], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="singular"):
        warp(img, np.zeros((2, 3)), 8)


@pytest.mark.parametrize("n_points", [5, 68])
def test_align_faces_puts_landmarks_on_the_template(n_points):
    size = 64
    # A face with its keypoints rotated by 30 degrees, 2.2x larger and shifted in a 160 px photo
    pose = similarity(30.0, 2.2, 25.0, -10.0)
    five = apply(pose, TEMPLATE_5 * size - 0.5)
    photo = blob_image(five, 160, 170, sigma=2.2)
    lm = five if n_points == 5 else fake_68(five)
    faces, missing = align_faces(photo[None], size=size, landmarks=[lm])
    assert missing == [] and faces.images.shape == (1, 3, size, size)
    assert faces.factors["source_index"].tolist() == [0]
    out = faces.images[0]
    expected = template_pixels(size)
    for (ex, ey), name in zip(
        expected, ["eye_l", "eye_r", "nose", "mouth_l", "mouth_r"], strict=True
    ):
        cx, cy = centroid(out, ex, ey)
        assert abs(cx - ex) < 0.3 and abs(cy - ey) < 0.3, (name, cx, cy, ex, ey)
    # upright: both eyes on one row, both mouth corners on one row
    assert abs(centroid(out, *expected[0])[1] - centroid(out, *expected[1])[1]) < 0.2
    assert abs(centroid(out, *expected[3])[1] - centroid(out, *expected[4])[1]) < 0.2


def test_align_faces_reports_missing_faces_and_keeps_factors():
    five = TEMPLATE_5 * 48 - 0.5
    photos = blob_image(five, 48, 48)[None].repeat(3, 1, 1, 1)
    source = FaceSet(photos, {"identity": torch.tensor([7, 8, 9])}, ["a.png", "b.png", "c.png"])
    with pytest.warns(UserWarning, match=r"indices \[1\].*b\.png"):
        faces, missing = align_faces(source, size=32, landmarks=[five, None, five])
    assert missing == [1]
    assert len(faces) == 2 and faces.names == ["a.png", "c.png"]
    assert faces.factors["identity"].tolist() == [7, 9]
    assert faces.factors["source_index"].tolist() == [0, 2]

    with pytest.warns(UserWarning, match="no face"):
        none, missing = align_faces(photos, size=16, landmarks=[None, None, None])
    assert missing == [0, 1, 2] and none.images.shape == (0, 3, 16, 16)
    with pytest.raises(ValueError, match="landmarks has 2 entries"):
        align_faces(photos, landmarks=[five, five])
    with pytest.raises(ValueError, match="empty"):
        align_faces(photos[:0], landmarks=[])


def test_align_faces_with_a_landmark_model_object():
    """The model path, offline: any object with face-alignment's method will do."""
    size = 40
    small = apply(similarity(-10, 0.8, 5, 8), TEMPLATE_5 * size - 0.5)
    large = apply(similarity(10, 1.6, 20, 15), TEMPLATE_5 * size - 0.5)

    class FakeModel:
        def __init__(self):
            self.calls = []

        def get_landmarks_from_image(self, image, detected_faces=None):
            assert image.dtype == np.uint8 and image.shape[-1] == 3  # HWC like face-alignment
            self.calls.append(image.shape)
            if len(self.calls) == 2:
                return None  # "no face" for the second image
            return [fake_68(small), fake_68(large)]

    photos = [blob_image(large, 100, 90), torch.zeros(3, 50, 60), blob_image(large, 100, 90)]
    model = FakeModel()
    with pytest.warns(UserWarning) as record:
        faces, missing = align_faces(photos, size=size, model=model)
    text = " ".join(str(w.message) for w in record)
    assert "no face" in text and "several faces" in text
    assert missing == [1] and faces.factors["source_index"].tolist() == [0, 2]
    assert model.calls == [(100, 90, 3), (50, 60, 3), (100, 90, 3)]
    ex, ey = template_pixels(size)[2]
    cx, cy = centroid(faces.images[0], ex, ey, r=3)  # the larger face was used
    assert abs(cx - ex) < 0.5 and abs(cy - ey) < 0.5


def test_cascade_detector_offline():
    from skimage.data import astronaut

    photo = torch.from_numpy(astronaut()).permute(2, 0, 1).float() / 255
    boxes = detect_faces_cascade(photo)
    assert len(boxes) >= 1
    x1, y1, x2, y2, _ = boxes[0]
    # Eileen Collins' face is around columns 170-270, rows 60-190 of the 512 x 512 picture
    assert 150 < (x1 + x2) / 2 < 260 and 80 < (y1 + y2) / 2 < 180
    assert detect_faces_cascade(torch.full((3, 64, 64), 0.5)) == []


def test_face_alignment_model_when_weights_are_present():
    pytest.importorskip("face_alignment")
    files = landmark_weight_files("cascade")
    absent = [str(p) for p in files.values() if not p.is_file()]
    if absent:
        pytest.skip(
            f"face-alignment's weights are not on disk ({', '.join(absent)}): they download on "
            "first use, which needs internet (Colab); the tests never download"
        )
    from skimage.data import astronaut

    photo = torch.from_numpy(astronaut()).permute(2, 0, 1).float() / 255
    faces, missing = align_faces([photo], size=64, detector="cascade", device="cpu")
    assert missing == [] and faces.images.shape == (1, 3, 64, 64)


def test_landmark_model_wiring_offline_with_random_weights(monkeypatch, tmp_path):
    """The installed face-alignment API, offline: its landmark network gets random weights
    from a local file (no download is attempted), the boxes come from scikit-image's cascade.
    The landmarks are meaningless; this checks construction (compile=False, 'folder' detector)
    and the calls, not accuracy."""
    face_alignment = pytest.importorskip("face_alignment")
    import face_alignment.api as fa_api
    from face_alignment.models import FAN

    torch.manual_seed(0)
    weights = tmp_path / "fan_random.pth"
    state = {k: v.half() if v.is_floating_point() else v for k, v in FAN(4).state_dict().items()}
    torch.save(state, weights)  # half precision: 48 MB instead of 96 MB in the temp folder
    asked = []

    def local_only(url, *args, **kwargs):
        asked.append(url)
        return str(weights)

    monkeypatch.setattr(fa_api, "load_file_from_url", local_only)
    from skimage.data import astronaut

    from sepviz.data.align import make_landmark_model

    model = make_landmark_model(device="cpu", detector="cascade")
    assert isinstance(model, face_alignment.FaceAlignment) and len(asked) == 1
    photo = torch.from_numpy(astronaut()[::2, ::2].copy()).permute(2, 0, 1).float() / 255
    with pytest.warns(UserWarning, match=r"indices \[1\]"):
        faces, missing = align_faces(
            [photo, torch.full((3, 40, 40), 0.5)], size=32, model=model, detector="cascade"
        )
    assert missing == [1] and faces.images.shape == (1, 3, 32, 32)


def test_landmark_model_explains_a_failed_download(monkeypatch):
    pytest.importorskip("face_alignment")
    import urllib.error

    import face_alignment.api as fa_api

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(fa_api, "load_file_from_url", offline)
    from sepviz.data.align import make_landmark_model

    with pytest.raises(RuntimeError, match="internet.*Colab"):
        make_landmark_model(device="cpu", detector="cascade")


def test_landmarks_found_on_a_shrunk_copy_are_scaled_back():
    size = 32
    five = apply(similarity(15, 3.0, 30, 20), TEMPLATE_5 * size - 0.5)
    photo = blob_image(five, 200, 180, sigma=3.0)

    class ShrinkAwareModel:
        def get_landmarks_from_image(self, image, detected_faces=None):
            assert image.shape == (100, 90, 3)  # max_side=100 halves the 200 x 180 photo
            return [fake_68((five + 0.5) * 0.5 - 0.5)]  # landmarks in the shrunk copy

    faces, missing = align_faces([photo], size=size, model=ShrinkAwareModel(), max_side=100)
    assert missing == []
    for ex, ey in template_pixels(size):
        cx, cy = centroid(faces.images[0], ex, ey, r=3)
        assert abs(cx - ex) < 0.3 and abs(cy - ey) < 0.3


def test_align_faces_reads_a_folder(tmp_path):
    from PIL import Image

    five = apply(similarity(-20, 1.5, 10, 30), TEMPLATE_5 * 32 - 0.5)
    arr = (blob_image(five, 120, 100)[0].numpy() * 255).astype(np.uint8)
    Image.fromarray(arr, "L").save(tmp_path / "a.png")
    Image.fromarray(arr, "L").save(tmp_path / "b.png")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.warns(UserWarning) as record:
        faces, missing = align_faces(tmp_path, size=32, landmarks=[five, None])
    text = " ".join(str(w.message) for w in record)
    assert "notes.txt" in text and "b.png" in text
    assert missing == [1] and faces.names == ["a.png"]
    assert faces.images.shape == (1, 3, 32, 32)
