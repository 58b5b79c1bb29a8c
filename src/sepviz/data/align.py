"""Face alignment: landmarks -> similarity transform to a fixed template -> crop and resize.

The geometry (:func:`similarity_transform`, :func:`warp`, :func:`align_faces` with given
landmarks) is pure torch/numpy and tested offline. Finding landmarks uses the
`face-alignment <https://github.com/1adrianb/face-alignment>`_ package (2DFAN-4, 68 iBUG
points), whose weights download on first use, so that part runs in Colab (or wherever
``$TORCH_HOME/hub/checkpoints/`` already holds them: see :func:`landmark_weight_files`).

Coordinates: ``(x, y)`` in pixels, x to the right, y down, integer values at pixel centres
(``(0, 0)`` is the centre of the top-left pixel), as face-alignment returns them.
"Left"/"right" always mean the image's left/right (the subject's right eye is the image's
left eye).
"""

from __future__ import annotations

import inspect
import math
import os
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sepviz.data.faceset import FaceSet
from sepviz.utils import check_images, fit_within

__all__ = [
    "TEMPLATE_5",
    "TEMPLATE_NAMES",
    "align_faces",
    "detect_faces_cascade",
    "landmark_weight_files",
    "landmarks_to_5",
    "make_landmark_model",
    "similarity_transform",
    "template_pixels",
    "warp",
]

TEMPLATE_NAMES = ("eye_left", "eye_right", "nose_tip", "mouth_left", "mouth_right")
"""The 5 template points, left/right as seen in the image."""

TEMPLATE_5 = np.array(
    [
        [0.343, 0.461],  # eye centre, image left (the subject's right eye)
        [0.657, 0.461],  # eye centre, image right
        [0.500, 0.640],  # nose tip
        [0.370, 0.824],  # mouth corner, image left
        [0.630, 0.824],  # mouth corner, image right
    ],
    dtype=np.float64,
)
"""Canonical 5-point positions ``(x, y)`` in the unit square (0 = left/top edge, 1 = right/
bottom edge of the output crop): the widely used 112 x 112 ArcFace alignment template
divided by 112 and made left/right symmetric. Computed from 68 iBUG landmarks by
:func:`landmarks_to_5` (eye centres = means of points 36-41 and 42-47, nose tip = 30, mouth
corners = 48 and 54)."""


# --------------------------------------------------------------------------- geometry


def landmarks_to_5(landmarks: np.ndarray | torch.Tensor) -> np.ndarray:
    """(68, 2) iBUG landmarks (or already (5, 2)) -> (5, 2) float64 in ``TEMPLATE_NAMES`` order.

    Extra columns (face-alignment's 3-D ``z``) are ignored.
    """
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] not in (5, 68) or pts.shape[1] < 2:
        raise ValueError(f"landmarks must have shape (68, 2) or (5, 2), got {pts.shape}")
    pts = pts[:, :2]
    if pts.shape[0] == 5:
        return pts.copy()
    return np.stack([pts[36:42].mean(0), pts[42:48].mean(0), pts[30], pts[48], pts[54]], axis=0)


def similarity_transform(
    src: np.ndarray | torch.Tensor, dst: np.ndarray | torch.Tensor
) -> np.ndarray:
    """The least-squares similarity (rotation, uniform scale, translation; no reflection).

    Umeyama (1991): finds ``s, R, t`` minimising ``sum ||dst_k - (s R src_k + t)||^2``.

    Args:
        src: (K, 2) points, K >= 2, not all equal.
        dst: (K, 2) points they should map to.

    Returns:
        (2, 3) float64 matrix ``M = [s R | t]``: ``dst ~= M @ [x, y, 1]``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.ndim != 2 or src.shape[1] != 2 or src.shape[0] < 2:
        raise ValueError(f"src must have shape (K, 2) with K >= 2, got {src.shape}")
    if dst.shape != src.shape:
        raise ValueError(f"dst must have the shape of src {src.shape}, got {dst.shape}")
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise ValueError("src and dst must be finite (no NaN or inf)")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    sc, dc = src - mu_s, dst - mu_d
    var_s = (sc**2).sum(1).mean()
    if var_s < 1e-12:
        raise ValueError("src points all coincide: a similarity transform is undefined")
    cov = dc.T @ sc / src.shape[0]
    u, sing, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    rot = u @ np.diag(d) @ vt
    scale = float((sing * d).sum() / var_s)
    t = mu_d - scale * rot @ mu_s
    return np.concatenate([scale * rot, t[:, None]], axis=1)


def template_pixels(size: int, template_scale: float = 1.0) -> np.ndarray:
    """``TEMPLATE_5`` in pixel coordinates of a ``size x size`` crop (pixel centres at ints).

    ``template_scale < 1`` shrinks the template about the crop centre (more context: hair,
    chin); a unit-square point ``u`` lands at ``u * size - 0.5``.
    """
    if not isinstance(size, (int, np.integer)) or size < 4:
        raise ValueError(f"size must be an int >= 4, got {size!r}")
    if not 0 < template_scale <= 4:
        raise ValueError(f"template_scale must be in (0, 4], got {template_scale!r}")
    unit = 0.5 + (TEMPLATE_5 - 0.5) * template_scale
    return unit * size - 0.5


def warp(
    image: torch.Tensor, matrix: np.ndarray | torch.Tensor, size: int, padding: str = "border"
) -> torch.Tensor:
    """Resample ``image`` so that source pixel ``p`` lands at ``matrix @ [p, 1]``.

    Args:
        image: (3, H, W) or (C, H, W) float tensor.
        matrix: (2, 3) from source pixel coordinates to output pixel coordinates (e.g. from
            :func:`similarity_transform`).
        size: the output is ``size x size``.
        padding: what fills outside the source: ``"border"`` (repeat the edge), ``"zeros"``
            (black) or ``"reflection"``.

    Returns:
        (C, size, size) float32 (bilinear interpolation).
    """
    if not isinstance(image, torch.Tensor) or image.ndim != 3:
        raise ValueError(f"image must be a (C, H, W) tensor, got {getattr(image, 'shape', image)}")
    if padding not in ("border", "zeros", "reflection"):
        raise ValueError(f"padding must be 'border', 'zeros' or 'reflection', got {padding!r}")
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (2, 3):
        raise ValueError(f"matrix must have shape (2, 3), got {m.shape}")
    a, t = m[:, :2], m[:, 2]
    if abs(np.linalg.det(a)) < 1e-12:
        raise ValueError("matrix is singular (zero scale)")
    a_inv = np.linalg.inv(a)
    h, w = image.shape[-2:]
    ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    out_pts = np.stack([xs.ravel(), ys.ravel()], axis=0).astype(np.float64)
    src_pts = a_inv @ (out_pts - t[:, None])  # (2, size*size) source pixel coordinates
    gx = (2.0 * src_pts[0] + 1.0) / w - 1.0
    gy = (2.0 * src_pts[1] + 1.0) / h - 1.0
    grid = torch.from_numpy(np.stack([gx, gy], axis=-1).reshape(1, size, size, 2)).float()
    out = F.grid_sample(
        image.float().unsqueeze(0),
        grid.to(image.device),
        mode="bilinear",
        padding_mode=padding,
        align_corners=False,
    )
    return out[0]


# --------------------------------------------------------------------------- detection
def _number(value: Any) -> bool:
    """A finite real number (not a bool)."""
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    return ok and math.isfinite(value)


def detect_faces_cascade(
    image: torch.Tensor,
    scale_factor: float = 1.2,
    min_size: int = 24,
    expand: float = 1.3,
) -> list[np.ndarray]:
    """Frontal faces with scikit-image's LBP cascade (ships with scikit-image: offline).

    Args:
        image: (3, H, W) float in [0, 1].
        scale_factor, min_size: search pyramid step and the smallest face side in pixels.
        expand: boxes are enlarged about their centre by this factor: the cascade frames the
            inner face (brows to mouth), face-alignment expects a box that holds the whole
            face, like its own detectors give.

    Returns:
        Boxes ``[x1, y1, x2, y2, score]`` (float64, score 1.0), largest first; empty if none.

    Raises:
        ValueError: not a (3, H, W) tensor; ``scale_factor`` not in (1, 4] (1 would never
            grow the window), ``min_size`` not an int >= 1, ``expand`` not in (0, 10].
    """
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    if not isinstance(image, torch.Tensor) or image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"image must be a (3, H, W) tensor, got {getattr(image, 'shape', image)}")
    if not _number(scale_factor) or not 1 < scale_factor <= 4:
        raise ValueError(
            f"scale_factor must be a number above 1 and at most 4 (each step of the search "
            f"pyramid grows the window by it), got {scale_factor!r}"
        )
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1:
        raise ValueError(f"min_size must be an integer >= 1 (pixels), got {min_size!r}")
    if not _number(expand) or not 0 < expand <= 10:
        raise ValueError(f"expand must be a number above 0 and at most 10, got {expand!r}")
    arr = image.detach().cpu().permute(1, 2, 0).clamp(0, 1).numpy().astype(np.float64)
    h, w = arr.shape[:2]
    if min(h, w) < min_size:
        return []
    detector = Cascade(lbp_frontal_face_cascade_filename())
    found = detector.detect_multi_scale(
        img=arr,
        scale_factor=scale_factor,
        step_ratio=1,
        min_size=(min_size, min_size),
        max_size=(h, w),
    )
    boxes = []
    for d in found:
        cx, cy = d["c"] + d["width"] / 2.0, d["r"] + d["height"] / 2.0
        half_w, half_h = d["width"] * expand / 2.0, d["height"] * expand / 2.0
        boxes.append(np.array([cx - half_w, cy - half_h, cx + half_w, cy + half_h, 1.0]))
    boxes.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    return boxes


# --------------------------------------------------------------------------- face-alignment


def landmark_weight_files(detector: str = "sfd") -> dict[str, Path]:
    """Where face-alignment looks for its weights: ``{name: path}`` (they may be absent).

    The 2DFAN-4 landmark network, plus the detector's weights for ``detector="sfd"`` (none
    for ``"cascade"``, which ships with scikit-image). They live in
    ``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub/checkpoints``).
    """
    from urllib.parse import urlparse

    from face_alignment.api import models_urls

    ckpt = Path(torch.hub.get_dir()) / "checkpoints"

    def file_of(url: str) -> Path:
        return ckpt / os.path.basename(urlparse(url).path)

    files = {"2DFAN-4": file_of(models_urls["2DFAN-4"])}
    if detector == "sfd":
        from face_alignment.detection.sfd.sfd_detector import models_urls as sfd_urls

        files["s3fd"] = file_of(sfd_urls["s3fd"])
    return files


def make_landmark_model(device: str | torch.device | None = None, detector: str = "sfd") -> Any:
    """A ``face_alignment.FaceAlignment`` (2-D, 68 points), built without ``torch.compile``.

    Args:
        device: default :func:`sepviz.utils.pick_device` (``mps`` falls back to ``cpu``).
        detector: ``"sfd"`` (face-alignment's default detector; downloads its weights on first
            use), another face-alignment detector name (``"blazeface"``, ...), or ``"cascade"``
            (scikit-image's LBP cascade, offline; face-alignment then loads no detector).

    The landmark weights (about 95 MB) download on first use: that needs internet (Colab).
    Raises ``RuntimeError`` explaining this when they are missing and cannot be fetched.
    """
    import face_alignment

    from sepviz.utils import pick_device

    dev = torch.device(device) if device is not None else pick_device()
    if dev.type not in ("cuda", "cpu"):
        dev = torch.device("cpu")
    kwargs: dict[str, Any] = {
        "device": str(dev),
        "face_detector": "folder" if detector == "cascade" else detector,
    }
    if "compile" in inspect.signature(face_alignment.FaceAlignment.__init__).parameters:
        kwargs["compile"] = False  # compiling takes ~90 s on a CPU for little gain here
    try:
        return face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D, **kwargs)
    except OSError as err:  # urllib errors are OSErrors
        missing = [str(p) for p in landmark_weight_files(detector).values() if not p.is_file()]
        raise RuntimeError(
            "face-alignment could not load its weights: they download on first use, which "
            f"needs internet access (run this in Colab). Missing: {missing}. Original error: "
            f"{type(err).__name__}: {err}"
        ) from err


def _as_sources(
    images: torch.Tensor | Sequence[torch.Tensor] | FaceSet | str | os.PathLike[str],
) -> tuple[list[Callable[[], torch.Tensor]], dict[str, torch.Tensor], list[str]]:
    """One zero-argument loader per image (a folder is read lazily, one photo at a time)."""
    if isinstance(images, (str, os.PathLike)):
        from sepviz.data.real import list_folder, read_image

        root, files = list_folder(images)
        names = [p.relative_to(root).as_posix() for p in files]
        return [partial(read_image, p) for p in files], {}, names
    if isinstance(images, FaceSet):
        check_images(images.images)
        return [partial(_same, img) for img in images.images], dict(images.factors), images.names
    if isinstance(images, torch.Tensor):
        return [partial(_same, img) for img in check_images(images)], {}, []
    images = list(images)
    for i, img in enumerate(images):
        if not isinstance(img, torch.Tensor) or img.ndim != 3 or img.shape[0] != 3:
            raise ValueError(
                f"images[{i}] must be a (3, H, W) tensor, got {getattr(img, 'shape', img)}"
            )
        check_images(img[None], f"images[{i}]")
    return [partial(_same, img) for img in images], {}, []


def _same(image: torch.Tensor) -> torch.Tensor:
    return image


def _find_landmarks(
    model: Any, image: torch.Tensor, detector: str, max_side: int | None
) -> tuple[np.ndarray | None, int]:
    """5 landmarks of the largest face in ``image`` (pixels of ``image``) and the face count.

    Detection runs on a copy shrunk to ``max_side``; the landmarks are scaled back.
    """
    small, scale = fit_within(image.detach().cpu().float().clamp(0, 1), max_side)
    arr = (small * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No faces were detected")
        if detector == "cascade":
            boxes = detect_faces_cascade(small)[:1]  # the largest box only
            found = model.get_landmarks_from_image(arr, detected_faces=boxes) if boxes else None
        else:
            found = model.get_landmarks_from_image(arr)
    if found is None or len(found) == 0:
        return None, 0
    found = sorted(found, key=lambda p: -float(np.ptp(p[:, 0]) * np.ptp(p[:, 1])))
    # pixel centres: x_small + 0.5 = (x + 0.5) * scale
    five = (landmarks_to_5(found[0]) + 0.5) / scale - 0.5
    return five, len(found)


def align_faces(
    images: torch.Tensor | Sequence[torch.Tensor] | FaceSet | str | os.PathLike[str],
    size: int = 64,
    landmarks: Sequence[np.ndarray | torch.Tensor | None] | np.ndarray | None = None,
    model: Any = None,
    detector: str = "sfd",
    device: str | torch.device | None = None,
    template_scale: float = 1.0,
    padding: str = "border",
    max_side: int | None = 1024,
) -> tuple[FaceSet, list[int]]:
    """Align faces to :data:`TEMPLATE_5`: similarity transform, crop, resize to ``size``.

    Args:
        images: (N, 3, H, W) float in [0, 1], a list of (3, H_i, W_i) tensors in [0, 1]
            (photos of any size), a ``FaceSet`` (its factors and names are kept), or a folder
            path (its photos are read one at a time at full size with
            :func:`sepviz.data.real.read_image`; an unreadable one raises ``ValueError``
            naming it). Values outside [0, 1] (``images * 255``) raise ``ValueError``.
        size: side of the aligned crops.
        landmarks: per image a (68, 2) or (5, 2) array of pixel ``(x, y)`` in that image, or
            ``None`` for "no face". Given -> pure geometry, no model. ``None`` -> landmarks
            come from ``model``.
        model: an object with face-alignment's ``get_landmarks_from_image(image,
            detected_faces=None)``; default :func:`make_landmark_model` (created on first
            need; its weights download in Colab).
        detector: see :func:`make_landmark_model`; with ``"cascade"`` the largest box of
            :func:`detect_faces_cascade` is given to the model.
        device: for the default model.
        template_scale: < 1 shows more around the face (see :func:`template_pixels`).
        padding: fill outside the photo, see :func:`warp`.
        max_side: landmarks are found on a copy whose longer side is at most this (speed);
            the crop is always cut from the full-size image. ``None``: never shrink.

    Returns:
        ``(faces, missing)``: ``faces`` a ``FaceSet`` of the aligned crops, float32
        (M, 3, size, size) in [0, 1], with the input's factors and names for those images and
        a factor ``"source_index"`` (int64, index into ``images``); ``missing`` the sorted
        indices of images where no face was found (also named in a ``UserWarning``). Nothing is
        dropped without being listed. When an image holds several faces the largest is used
        (and the indices are named in a warning).
    """
    if max_side is not None and (
        isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 16
    ):
        raise ValueError(f"max_side must be None or an integer >= 16 (pixels), got {max_side!r}")
    sources, factors, names = _as_sources(images)
    n = len(sources)
    if n == 0:
        raise ValueError("images is empty: expected at least one image")
    dst = template_pixels(size, template_scale)
    if landmarks is not None and len(landmarks) != n:
        raise ValueError(f"landmarks has {len(landmarks)} entries but there are {n} images")
    if landmarks is None and model is None:
        model = make_landmark_model(device=device, detector=detector)

    kept, crops, several = [], [], []
    for i, load in enumerate(sources):
        if landmarks is not None:
            if landmarks[i] is None:
                continue
            image = load()
            pts = landmarks_to_5(landmarks[i])
        else:
            image = load()
            pts, count = _find_landmarks(model, image, detector, max_side)
            if pts is None:
                continue
            if count > 1:
                several.append(i)
        try:
            matrix = similarity_transform(pts, dst)
        except ValueError as err:
            if landmarks is not None:
                raise ValueError(f"landmarks[{i}] cannot be aligned: {err}") from err
            continue  # degenerate landmarks from the model: reported as missing below
        crops.append(warp(image, matrix, size, padding).clamp(0, 1))
        kept.append(i)

    kept_set = set(kept)
    missing = [i for i in range(n) if i not in kept_set]
    if missing:
        warnings.warn(
            f"align_faces: no face in {len(missing)} of {n} image(s), indices {missing}"
            + (f" ({[names[i] for i in missing][:20]})" if names else "")
            + "; they are not in the result (see the returned `missing`)",
            UserWarning,
            stacklevel=2,
        )
    if several:
        warnings.warn(
            f"align_faces: several faces in image(s) {several}; the largest one was aligned",
            UserWarning,
            stacklevel=2,
        )
    index = torch.tensor(kept, dtype=torch.int64)
    out_images = torch.stack(crops) if crops else torch.empty(0, 3, size, size, dtype=torch.float32)
    out_factors = {k: v[index] for k, v in factors.items()}
    out_factors["source_index"] = index
    out_names = [names[i] for i in kept] if names else []
    return FaceSet(out_images, out_factors, out_names), missing
