"""Loaders for real faces, all returning a :class:`~sepviz.data.FaceSet`.

=======================  =============================================  ======================
loader                   what it holds                                  where it comes from
=======================  =============================================  ======================
``load_skimage_faces``   100 real 25 x 25 grey LFW face crops           ships with scikit-image
                                                                        (offline, used by tests)
``load_yale_b``          Extended Yale B (cropped): 38 people x 64      a folder or zip *you*
                         lights, light direction from the file names    supply (see data/README)
``load_lfw``             Labeled Faces in the Wild, colour              scikit-learn's fetcher
                                                                        (needs internet: Colab)
``load_folder``          your own photos (jpg, png, ...)                a folder
=======================  =============================================  ======================

Conventions shared with :mod:`sepviz.data.synthetic`:

- ``images``: float32 ``(N, 3, size, size)`` in ``[0, 1]``. Grey images are repeated to 3
  channels; 16-bit images are scaled to ``[0, 1]`` by their bit depth; an alpha channel is
  dropped; every image is centre-cropped to a square (the shorter side) and then resized to
  ``size x size`` (bicubic, anti-aliased when shrinking). Photos are turned upright from their
  EXIF orientation first.
- ``"azimuth"`` (float32, degrees): **negative = light from the image's left** (the left half
  of the image is brighter), positive = from the image's right. ``"elevation"`` (float32,
  degrees): positive = from above. ``"light_class"`` (int64): 0 left, 1 centre, 2 right, from
  equal-width bins over [-60, 60] degrees (``|azimuth| <= 20`` is centre; beyond +-60 is
  clamped into the outer bins).
- Where a data set has no light labels, ``"light_score"`` / ``"light_class"`` are the
  *pseudo-labels* of :func:`lighting_pseudo_label` (left/right luminance asymmetry).

Nothing is dropped silently: files that are skipped (non-images, ambient Yale B images,
files flagged ``.bad``) are listed in a :class:`SkippedFilesWarning`; unreadable images raise
``ValueError`` naming the file (or, with ``errors="warn"``, are skipped and listed), and so do
images above ``max_pixels`` (:data:`DEFAULT_MAX_PIXELS`, checked before decoding), zip members
above ``max_member_bytes`` and images with a side below :data:`MIN_SIDE` (never stretched).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from sepviz.data.faceset import FaceSet
from sepviz.data.synthetic import light_class
from sepviz.utils import check_images, fit_within

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "DEFAULT_MAX_MEMBER_BYTES",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "MIN_SIDE",
    "SkippedFilesWarning",
    "YALE_B_INFO",
    "calibrate_threshold",
    "image_to_tensor",
    "light_class",
    "lighting_pseudo_label",
    "load_folder",
    "load_lfw",
    "load_skimage_faces",
    "load_yale_b",
    "list_folder",
    "parse_yale_name",
    "read_folder",
    "read_image",
    "resize_square",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".pbm", ".tif", ".tiff")
"""File endings :func:`load_folder` reads (case-insensitive); other files are reported."""

DEFAULT_MAX_PIXELS = 64_000_000
"""Images with more pixels (width x height, read from the header) are refused unless a loader
gets a larger ``max_pixels``: a 48- or 50-megapixel phone photo loads, a decompression bomb
(a small file that unpacks to gigabytes) does not. PIL's own limit
(``PIL.Image.MAX_IMAGE_PIXELS``, about 179 megapixels) applies as well."""

DEFAULT_MAX_MEMBER_BYTES = 256 * 2**20
"""Zip members that unpack to more bytes are refused (a zip bomb); a Yale B image is 32 KB."""

MIN_SIDE = 16
"""Images with a side shorter than this many pixels are refused by the loaders that resize:
stretching a 1 x 500 strip into a square "face" would be noise presented as data."""

DEFAULT_THRESHOLD = 0.15
"""Default ``|score|`` above which :func:`lighting_pseudo_label` calls a face side-lit.

Calibrated on Lambert-shaded faces with a known light (``tests/test_real.py`` measures the
agreement): their asymmetry reaches 0.15-0.18 at ``|azimuth| = 20`` degrees, the centre/side
border of ``light_class`` (less with more ambient light, more with less). Real photos have
albedo, hair and background asymmetries, so :func:`calibrate_threshold` on faces with known
light is better when you have them.
"""


class SkippedFilesWarning(UserWarning):
    """Files that a loader saw but did not load (each one is named in the message)."""


# --------------------------------------------------------------------------- light labels


def _luminance(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> (N, H, W) luma (ITU-R BT.601 weights)."""
    w = torch.tensor([0.299, 0.587, 0.114], dtype=images.dtype, device=images.device)
    return torch.einsum("nchw,c->nhw", images, w)


def lighting_pseudo_label(
    images: torch.Tensor,
    n_classes: int = 3,
    threshold: float = DEFAULT_THRESHOLD,
    margin: float = 0.125,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A lighting label from left/right luminance, for faces without light labels.

    ``score = (R - L) / (R + L)`` where ``L`` and ``R`` are the mean luminance of the left and
    right halves of the central region (``margin`` of the width/height cut from every side,
    to keep background out; the middle column is left out when the width is odd). The sign
    matches ``azimuth``: **negative = the image's left is brighter** (light from the left).

    Args:
        images: (N, 3, H, W) float in [0, 1], faces roughly centred (aligned is best).
        n_classes: 3 -> 0 left (score < -threshold), 1 centre, 2 right (score > threshold);
            2 -> 0 left (score < 0), 1 right.
        threshold: the ``|score|`` from which a face counts as side-lit (n_classes=3 only).
        margin: fraction of each side cut away before measuring, in [0, 0.5).

    Returns:
        ``(score, classes)``: float32 (N,) in [-1, 1] and int64 (N,).
    """
    images = check_images(images, data_range=None)  # luminance is clamped to [0, 1] below
    if images.shape[-1] < 2:
        raise ValueError(f"images must be at least 2 pixels wide, got {tuple(images.shape)}")
    if n_classes not in (2, 3):
        raise ValueError(f"n_classes must be 2 or 3, got {n_classes!r}")
    if not 0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin!r}")
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold!r}")
    lum = _luminance(images.float()).clamp(0, 1)
    h, w = lum.shape[-2:]
    top, left = int(round(h * margin)), int(round(w * margin))
    lum = lum[:, top : h - top, left : w - left]
    width = lum.shape[-1]
    half = width // 2
    left_mean = lum[:, :, :half].mean(dim=(1, 2))
    right_mean = lum[:, :, width - half :].mean(dim=(1, 2))
    score = (right_mean - left_mean) / (right_mean + left_mean).clamp_min(1e-6)
    score = score.clamp(-1, 1).to(torch.float32)
    if n_classes == 2:
        classes = (score > 0).to(torch.int64)
    else:
        classes = torch.ones_like(score, dtype=torch.int64)
        classes[score < -threshold] = 0
        classes[score > threshold] = 2
    return score, classes


def calibrate_threshold(
    images: torch.Tensor, light_classes: torch.Tensor, margin: float = 0.125
) -> tuple[float, float]:
    """The ``threshold`` for :func:`lighting_pseudo_label` that best matches known classes.

    Args:
        images: (N, 3, H, W) float in [0, 1] with known lighting.
        light_classes: (N,) int64 in {0, 1, 2} (0 left, 1 centre, 2 right).

    Returns:
        ``(threshold, agreement)``: the threshold and the fraction of faces whose
        pseudo-label then equals ``light_classes``.
    """
    score, _ = lighting_pseudo_label(images, 3, 0.0, margin)
    labels = torch.as_tensor(light_classes, dtype=torch.int64)
    if labels.shape != score.shape:
        raise ValueError(
            f"light_classes must have shape {tuple(score.shape)}, got {tuple(labels.shape)}"
        )
    magnitudes = score.abs().double()
    if len(magnitudes) > 2000:  # a fine grid of quantiles is enough for big sets
        magnitudes = torch.quantile(magnitudes, torch.linspace(0, 1, 2001, dtype=torch.float64))
    candidates = torch.unique(magnitudes).tolist() + [0.0]
    best_t, best_acc = 0.0, -1.0
    for t in candidates:
        cls = torch.ones_like(labels)
        cls[score < -t] = 0
        cls[score > t] = 2
        acc = float((cls == labels).float().mean())
        if acc > best_acc:
            best_t, best_acc = float(t), acc
    return best_t, best_acc


# --------------------------------------------------------------------------- image reading


def resize_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """Centre-crop (N, C, H, W) images to a square (the shorter side), resize to ``size``.

    Bicubic interpolation, anti-aliased when shrinking; the result is clamped to [0, 1].
    Returns float32 (N, C, size, size).
    """
    _check_size(size)
    h, w = images.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    images = images[..., top : top + s, left : left + s].float()
    if s != size:
        images = F.interpolate(
            images, size=(size, size), mode="bicubic", align_corners=False, antialias=True
        )
    return images.clamp(0, 1).contiguous()


def _check_size(size: int) -> None:
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 4:
        raise ValueError(f"size must be an int >= 4 (pixels of the square output), got {size!r}")


def image_to_tensor(image: Image.Image, exif: bool = True) -> torch.Tensor:
    """A PIL image -> float32 (3, H, W) in [0, 1] (no resizing).

    Documented conversions: grey ("L", "1", 16-bit "I;16", 32-bit "I", float "F") is repeated
    to 3 channels, 16/32-bit integers are scaled by their maximum code (65535 unless the values
    fit in 8 bits), float images are clipped to [0, 1] (or divided by 255 when above 1);
    palette, CMYK and other modes are converted to RGB; alpha is dropped. With ``exif=True`` a
    photo is first rotated upright from its EXIF orientation tag.
    """
    from PIL import ImageOps

    if exif:
        image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(image, dtype=np.float64)
        if mode == "F":
            arr = arr / 255.0 if arr.max(initial=0) > 1.0 else arr
        else:
            arr = arr / (255.0 if arr.max(initial=0) <= 255 else 65535.0)
        grey = torch.from_numpy(np.clip(arr, 0, 1).astype(np.float32))
        return grey.unsqueeze(0).expand(3, -1, -1).contiguous()
    if mode == "P":
        image = image.convert("RGBA")
    if image.mode != "RGB":
        image = image.convert("RGB")
    arr = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)


_SKIPPED = "unreadable, too large or too small"


def _read_image(
    source: str | Path | bytes,
    label: str = "",
    exif: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    min_side: int = 1,
    shrink_to: int | None = None,
) -> torch.Tensor:
    """Open a file path or raw bytes with PIL; ``ValueError`` naming ``label`` (default: the
    path) if it fails.

    The size is checked from the header, before decoding: more than ``max_pixels`` pixels, or
    a side shorter than ``min_side``, is refused. ``shrink_to``: the caller resizes to this
    side afterwards, so a large 8-bit image is first reduced in PIL (JPEG: decoded at 1/2 to
    1/8 scale; others: box-averaged) to a shorter side of at least ``2 * shrink_to``; no
    float32 copy of the full image is made.
    """
    from PIL import Image, UnidentifiedImageError

    label = label or str(source)
    damaged = (UnidentifiedImageError, OSError, SyntaxError, ValueError)
    try:
        with warnings.catch_warnings():  # max_pixels replaces PIL's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except Image.DecompressionBombError as err:
        raise ValueError(
            f"the image {label} is too large to read safely ({err}); shrink it, or pass "
            "errors='warn' to skip it"
        ) from err
    except damaged as err:
        raise _unreadable(label, err) from err
    with image:
        width, height = image.size
        if max_pixels is not None and width * height > max_pixels:
            raise ValueError(
                f"the image {label} has {width} x {height} = {width * height:,} pixels, more "
                f"than max_pixels={max_pixels:,}; shrink it, pass a larger max_pixels, or "
                "errors='warn' to skip it"
            )
        if min(width, height) < min_side:
            raise ValueError(
                f"the image {label} is {width} x {height} pixels, below min_side={min_side}: too "
                "small for a face crop; remove it (or pass errors='warn' to skip it)"
            )
        try:
            return _decode(image, exif, shrink_to)
        except damaged as err:
            raise _unreadable(label, err) from err


def _unreadable(label: str, err: Exception) -> ValueError:
    return ValueError(
        f"could not read the image {label}: {err}. The file is corrupted, truncated or not an "
        "image; remove or replace it (or pass errors='warn' to skip it)."
    )


def _decode(image: Image.Image, exif: bool, shrink_to: int | None) -> torch.Tensor:
    """Decode an opened image (reduced in PIL first, see :func:`_read_image`) to a tensor."""
    from PIL import ImageOps

    factor = _reduction(image.size, shrink_to)
    if factor > 1:
        image.draft(image.mode, (image.width // factor, image.height // factor))  # JPEG only
    image.load()
    if exif:
        image = ImageOps.exif_transpose(image)
    factor = _reduction(image.size, shrink_to)  # what the draft left to do
    if factor > 1 and image.mode in ("L", "RGB"):
        image = image.reduce(factor)
    return image_to_tensor(image, exif=False)


def _reduction(size: tuple[int, int], shrink_to: int | None) -> int:
    """The integer factor that leaves the shorter side of ``size`` >= ``2 * shrink_to``."""
    return 1 if shrink_to is None else max(1, min(size) // (2 * shrink_to))


def _check_errors(errors: str) -> None:
    if errors not in ("raise", "warn"):
        raise ValueError(f"errors must be 'raise' or 'warn', got {errors!r}")


def _warn_skipped(what: str, names: Sequence[str], why: str, limit: int = 20) -> None:
    if not names:
        return
    shown = ", ".join(names[:limit]) + (
        f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    )
    warnings.warn(
        f"{what}: {len(names)} file(s) not loaded ({why}): {shown}",
        SkippedFilesWarning,
        stacklevel=3,
    )


def _with_pseudo_labels(images: torch.Tensor, factors: dict[str, torch.Tensor]) -> None:
    score, classes = lighting_pseudo_label(images)
    factors["light_score"] = score
    factors["light_class"] = classes


# --------------------------------------------------------------------------- scikit-image LFW


def load_skimage_faces(size: int = 32) -> FaceSet:
    """The 100 real LFW face crops that ship inside scikit-image (offline).

    ``skimage.data.lfw_subset()`` holds 200 grey 25 x 25 crops: the first 100 are faces (the
    rest, background patches, are not loaded). They are repeated to 3 channels and resized
    to ``size`` (bicubic; 25 px is upsampled for ``size > 25``).

    Returns:
        ``FaceSet`` with images float32 (100, 3, size, size) in [0, 1]; factors
        ``"light_score"`` float32 in [-1, 1] and ``"light_class"`` int64 (pseudo-labels from
        :func:`lighting_pseudo_label`; these crops have no light labels); names
        ``"lfw_subset_000"`` ... ``"lfw_subset_099"``.
    """
    _check_size(size)
    from skimage.data import lfw_subset

    raw = np.asarray(lfw_subset())[:100]
    arr = raw.astype(np.float32)
    if raw.dtype == np.uint8 or arr.max() > 1.0:
        arr /= 255.0
    grey = torch.from_numpy(arr).unsqueeze(1)
    images = resize_square(grey.expand(-1, 3, -1, -1), size)
    factors: dict[str, torch.Tensor] = {}
    _with_pseudo_labels(images, factors)
    return FaceSet(images, factors, [f"lfw_subset_{i:03d}" for i in range(len(images))])


def skimage_faces_key(size: int = 32) -> str:
    """What :func:`load_skimage_faces` reads, as a cache key for models trained on it
    (``realfaces.fit_light_fader(..., faces_key=...)``): the SHA-256 of the 100 raw crops'
    bytes in scikit-image's file and ``size``. Unlike a digest of the resized images it is the
    same on every machine."""
    _check_size(size)
    from skimage.data import lfw_subset

    raw = np.ascontiguousarray(np.asarray(lfw_subset())[:100])
    digest = hashlib.sha256(f"{raw.dtype}{raw.shape}".encode() + raw.tobytes()).hexdigest()
    return f"skimage.data.lfw_subset()[:100] {digest[:16]} at {size} px"


# --------------------------------------------------------------------------- Extended Yale B

YALE_B_INFO = """\
The Extended Yale Face Database B (cropped: 38 people x 64 lights, 192 x 168 grey PGM files,
about 2,400 images) was published by its authors at
  http://vision.ucsd.edu/~leekc/ExtYaleDatabase/ExtYaleB.html  (file CroppedYale.zip)
That address no longer answers; copies of CroppedYale.zip on other sites are unofficial.
Get a copy you trust, then pass the path of the zip or of the unpacked folder, e.g.
  load_yale_b("data/CroppedYale.zip")  or  load_yale_b("data/CroppedYale")
and, if you know it, the zip's SHA-256 (sha256=...) so the file is checked before use.
Terms: for research use; cite Georghiades, Belhumeur & Kriegman (PAMI 2001) and
Lee, Ho & Kriegman (PAMI 2005). See data/README.md."""

_YALE_LIT = re.compile(r"^yaleB(\d+)_P(\d+)A([+-]\d+)E([+-]\d+)\.pgm$", re.IGNORECASE)
_YALE_AMBIENT = re.compile(r"^yaleB(\d+)_P(\d+)_Ambient\.pgm$", re.IGNORECASE)


def parse_yale_name(name: str | os.PathLike[str]) -> tuple[str, float, float] | None:
    """Parse a Yale B file name into ``(subject, azimuth, elevation)`` in sepviz's convention.

    ``yaleB01_P00A+010E-20.pgm`` -> ``("yaleB01", -10.0, -20.0)``; ambient images
    (``yaleB01_P00_Ambient.pgm``, no light direction) -> ``None``. A directory part is ignored.

    The sign of the azimuth is flipped. Source: the readme of the Yale Face Database B (whose
    naming the extended database keeps; http://cvc.yale.edu/projects/yalefacesB/yalefacesB.html
    and http://www1.cs.columbia.edu/~belhumeur/pub/images/yalefacesB/readme, the paragraph on
    "the naming of each image", read here as reproduced by secondary pages) says *a positive
    azimuth implies that the light source was to the right of the subject, negative to the
    left*, and a positive elevation that it was above the horizon. The subject faces the
    camera (pose 00 is frontal), so the subject's right is the **image's left**; sepviz's
    azimuth is negative for light from the image's left, hence ``azimuth = -A`` and
    ``elevation = E``. (Not checked on the real pictures here; data/README.md gives the
    one-line check.)

    Raises:
        ValueError: the name does not follow the scheme (it names the file).
    """
    base = os.path.basename(os.fspath(name))
    if _YALE_AMBIENT.match(base):
        return None
    match = _YALE_LIT.match(base)
    if match is None:
        raise ValueError(
            f"{base!r} does not follow the Yale B naming scheme "
            "'yaleB<subject>_P<pose>A<+/-azimuth>E<+/-elevation>.pgm' "
            "(e.g. 'yaleB01_P00A+010E+00.pgm') or 'yaleB<subject>_P<pose>_Ambient.pgm'"
        )
    subject = f"yaleB{int(match.group(1)):02d}"
    azimuth = -float(int(match.group(3))) + 0.0  # + 0.0: no negative zero for A+000
    return subject, azimuth, float(int(match.group(4)))


def _yale_subject(base: str) -> str:
    match = _YALE_LIT.match(base) or _YALE_AMBIENT.match(base)
    assert match is not None
    return f"yaleB{int(match.group(1)):02d}"


def _normalise_subjects(subjects: Iterable[int | str] | None) -> set[str] | None:
    if subjects is None:
        return None
    if isinstance(subjects, (int, str)):
        subjects = [subjects]
    out = set()
    for s in subjects:
        if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
            out.add(f"yaleB{int(s):02d}")
        elif isinstance(s, str) and re.fullmatch(r"(yaleB)?\d+", s, re.IGNORECASE):
            out.add(f"yaleB{int(re.sub(r'(?i)yaleB', '', s)):02d}")
        else:
            raise ValueError(f"subjects must hold ints like 1 or names like 'yaleB01', got {s!r}")
    return out


def _unzip(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, max_bytes: int) -> bytes:
    """The bytes of one zip member; ``ValueError`` naming ``label`` if too large or damaged."""
    if info.file_size > max_bytes:
        raise ValueError(
            f"{label} would unpack to {info.file_size:,} bytes, more than "
            f"max_member_bytes={max_bytes:,} (a zip bomb?); pass a larger max_member_bytes, or "
            "errors='warn' to skip it"
        )
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        raise ValueError(
            f"could not extract {label}: {err} (the zip is damaged; download it again, or pass "
            "errors='warn' to skip it)"
        ) from err


def _is_mac_junk(rel: str) -> bool:
    parts = rel.replace("\\", "/").split("/")
    return "__MACOSX" in parts or parts[-1].startswith("._")


def load_yale_b(
    path: str | os.PathLike[str],
    size: int = 64,
    sha256: str | None = None,
    subjects: Iterable[int | str] | None = None,
    return_ambient: bool = False,
    errors: str = "raise",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
) -> FaceSet | tuple[FaceSet, FaceSet]:
    """Extended Yale Face Database B (cropped), from a folder or zip you supply.

    Args:
        path: ``CroppedYale.zip`` or the folder it unpacks to (searched recursively for
            ``yaleB*.pgm``; the zip is read in place, nothing is extracted).
        size: output side in pixels. The 192 x 168 crops are centre-cropped to 168 x 168
            (12 rows cut at top and bottom) and resized (bicubic, anti-aliased).
        sha256: if given, the zip's SHA-256 is checked first (mismatch -> ``ValueError`` with
            both hashes). A folder has no single hash: passing one with a folder is an error.
        subjects: keep only these people (``1`` or ``"yaleB01"``); default all.
        return_ambient: also return the ambient images (no light direction) as a second
            ``FaceSet`` holding only ``"identity"``. When ``False`` they are left out of the
            lit set and listed in a :class:`SkippedFilesWarning`.
        errors: ``"raise"`` (default) -> an unreadable, too large or too small image (or zip
            member) raises ``ValueError`` naming it; ``"warn"`` -> it is skipped and listed in
            a :class:`SkippedFilesWarning`.
        max_pixels: images with more pixels are refused (:data:`DEFAULT_MAX_PIXELS`).
        max_member_bytes: zip members that unpack to more bytes are refused, unread
            (:data:`DEFAULT_MAX_MEMBER_BYTES`: a zip bomb).

    Returns:
        ``FaceSet`` with images float32 (N, 3, size, size) in [0, 1] (grey repeated to 3
        channels); factors ``"identity"`` int64 (index into the sorted subject ids present),
        ``"azimuth"`` and ``"elevation"`` float32 degrees (sepviz convention, see
        :func:`parse_yale_name`: azimuth = -A of the file name), ``"light_class"`` int64;
        names = file names. Ordered by file name. With ``return_ambient=True``:
        ``(lit, ambient)``.

    Files skipped and reported (``SkippedFilesWarning``): ambient images (unless returned),
    files the authors flagged ``*.pgm.bad``, other non-PGM files, macOS ``__MACOSX``/``._*``
    entries, ``.pgm`` files whose names do not follow the scheme, and second copies of a file
    name. Asking for ``subjects`` that are absent is a ``ValueError``. Poses other than 00
    (the original 10-person Yale B) are read too, but the azimuth sign assumes a frontal face.
    """
    _check_size(size)
    _check_errors(errors)
    wanted = _normalise_subjects(subjects)
    path = Path(os.path.expanduser(os.fspath(path)))
    if not path.exists():
        raise FileNotFoundError(f"no Extended Yale B data at {path}.\n{YALE_B_INFO}")

    entries: list[tuple[str, object]] = []  # (relative name, path or zip member)
    archive: zipfile.ZipFile | None = None
    if path.is_file():
        if sha256 is not None:
            from sepviz.data.download import verify_sha256

            verify_sha256(path, sha256)
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as err:
            raise ValueError(
                f"path {path} is a file but not a valid zip archive ({err}); pass "
                "CroppedYale.zip (a complete download) or the unpacked folder"
            ) from err
        for info in archive.infolist():
            if not info.is_dir():
                entries.append((info.filename, info))
    else:
        if sha256 is not None:
            raise ValueError(
                f"sha256 checks a zip file, but path {path} is a folder; pass the zip, or "
                "sha256=None for an unpacked folder"
            )
        for p in sorted(path.rglob("*")):
            if p.is_file():
                entries.append((p.relative_to(path).as_posix(), p))

    try:
        lit: list[tuple[str, str, float, float, object]] = []
        ambient: list[tuple[str, str, object]] = []
        skipped: dict[str, list[str]] = {
            "flagged .bad by the database's authors": [],
            "not PGM images": [],
            "macOS metadata (__MACOSX, ._*), not images": [],
        }
        unnamed: list[str] = []
        duplicates: list[str] = []
        seen: set[str] = set()
        for rel, src in entries:
            base = rel.rsplit("/", 1)[-1]
            if _is_mac_junk(rel):
                skipped["macOS metadata (__MACOSX, ._*), not images"].append(rel)
                continue
            if base.lower().endswith(".bad"):
                skipped["flagged .bad by the database's authors"].append(rel)
                continue
            if not base.lower().endswith(".pgm"):
                skipped["not PGM images"].append(rel)
                continue
            try:
                parsed = parse_yale_name(base)
            except ValueError:
                unnamed.append(rel)
                continue
            subject = _yale_subject(base)
            if wanted is not None and subject not in wanted:
                continue
            if base in seen:
                duplicates.append(rel)
                continue
            seen.add(base)
            if parsed is None:
                ambient.append((base, subject, src))
            else:
                lit.append((base, subject, parsed[1], parsed[2], src))

        present = {r[1] for r in lit} | {r[1] for r in ambient}
        if wanted is not None and wanted - present and (lit or ambient):
            raise ValueError(
                f"subjects {sorted(wanted - present)} are not in {path}; it holds {sorted(present)}"
            )
        if not lit and not ambient:
            found = [rel for rel, _ in entries if not _is_mac_junk(rel)][:5]
            extra = ""
            if wanted is not None:
                extra = f" for subjects {sorted(wanted)}"
            raise ValueError(
                f"no Yale B images{extra} in {path}: expected files named like "
                f"'yaleB01_P00A+010E+00.pgm'; found {len(entries)} file(s)"
                + (f", e.g. {found}" if found else "")
                + f".\n{YALE_B_INFO}"
            )
        for why, names in skipped.items():
            _warn_skipped("load_yale_b", names, why)
        _warn_skipped("load_yale_b", unnamed, "'.pgm' names outside the Yale B naming scheme")
        _warn_skipped("load_yale_b", duplicates, "a file of the same name was loaded already")

        def read(src: object, label: str) -> torch.Tensor | None:
            """The image resized at once (the full-size set would need about 1 GB)."""
            try:
                data = src if archive is None else _unzip(archive, src, label, max_member_bytes)
                img = _read_image(data, label, False, max_pixels, MIN_SIDE)  # type: ignore[arg-type]
            except ValueError:
                if errors == "raise":
                    raise
                return None
            return resize_square(img[None], size)[0]

        lit.sort(key=lambda r: r[0])
        ambient.sort(key=lambda r: r[0])
        all_subjects = sorted({r[1] for r in lit} | {r[1] for r in ambient})
        subject_index = {s: i for i, s in enumerate(all_subjects)}

        bad: list[str] = []

        def read_rows(rows: list, source: int) -> tuple[list[torch.Tensor], list]:
            """The images of ``rows`` (``row[source]``: where to read) and the rows read."""
            images, kept = [], []
            for row in rows:
                img = read(row[source], f"{row[0]} in {path}")
                if img is None:
                    bad.append(row[0])
                else:
                    images.append(img)
                    kept.append(row)
            return images, kept

        lit_images, lit_rows = read_rows(lit, 4)
        amb_images, amb_rows = read_rows(ambient, 2)
    finally:
        if archive is not None:
            archive.close()
    _warn_skipped("load_yale_b", bad, f"{_SKIPPED}, skipped because errors='warn'")
    if not return_ambient:
        _warn_skipped(
            "load_yale_b",
            [r[0] for r in amb_rows],
            "ambient images have no light direction; pass return_ambient=True to get them",
        )
    if not lit_rows:
        raise ValueError(f"no readable lit Yale B images in {path}")

    azimuth = torch.tensor([r[2] for r in lit_rows], dtype=torch.float32)
    lit_set = FaceSet(
        torch.stack(lit_images),
        {
            "identity": torch.tensor([subject_index[r[1]] for r in lit_rows], dtype=torch.int64),
            "azimuth": azimuth,
            "elevation": torch.tensor([r[3] for r in lit_rows], dtype=torch.float32),
            "light_class": light_class(azimuth),
        },
        [r[0] for r in lit_rows],
    )
    if not return_ambient:
        return lit_set
    amb_set = FaceSet(
        torch.stack(amb_images)
        if amb_images
        else torch.empty(0, 3, size, size, dtype=torch.float32),
        {"identity": torch.tensor([subject_index[r[1]] for r in amb_rows], dtype=torch.int64)},
        [r[0] for r in amb_rows],
    )
    return lit_set, amb_set


# --------------------------------------------------------------------------- LFW (sklearn)


def load_lfw(
    size: int = 64,
    min_faces_per_person: int = 20,
    data_home: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> FaceSet:
    """Labeled Faces in the Wild in colour, through ``sklearn.datasets.fetch_lfw_people``.

    The first call downloads about 200 MB (needs internet: run it in Colab); later calls read
    scikit-learn's cache in ``data_home`` (default ``~/scikit_learn_data``). Faces are
    scikit-learn's default 125 x 94 crop around the face (funneled), fetched at the scale
    that makes the width ``size`` (never above the original), centre-cropped to a square and
    resized.

    Args:
        size: output side in pixels.
        min_faces_per_person: keep people with at least this many images (20 -> 62 people,
            about 3,000 images).
        data_home: scikit-learn's cache folder.
        download: allow the download; ``False`` only reads the cache.

    Returns:
        ``FaceSet`` with images float32 (N, 3, size, size) in [0, 1]; factors ``"identity"``
        int64 (scikit-learn's person index), ``"light_score"`` float32 and ``"light_class"``
        int64 (pseudo-labels, LFW has no light labels); names ``"<Person_Name>_<k>"``.

    Raises:
        RuntimeError: the data is not cached and could not be downloaded (offline), with
            scikit-learn's original message.
    """
    _check_size(size)
    if not isinstance(min_faces_per_person, int) or min_faces_per_person < 0:
        raise ValueError(f"min_faces_per_person must be an int >= 0, got {min_faces_per_person!r}")
    from sklearn.datasets import fetch_lfw_people

    resize = float(min(1.0, max(size / 94.0, 0.05)))
    try:
        bunch = fetch_lfw_people(
            data_home=None if data_home is None else os.fspath(data_home),
            funneled=True,
            resize=resize,
            min_faces_per_person=min_faces_per_person,
            color=True,
            download_if_missing=download,
        )
    except OSError as err:  # urllib's URLError is an OSError too
        where = data_home if data_home is not None else "~/scikit_learn_data"
        how = (
            "the download failed: LFW needs internet access (run this in Colab) "
            if download
            else "download=False and the data is not in the cache "
        )
        raise RuntimeError(
            f"LFW is not available: {how}(cache folder: {where}). "
            f"scikit-learn said: {type(err).__name__}: {err}"
        ) from err
    arr = np.asarray(bunch.images, dtype=np.float32)
    if arr.size and arr.max() > 1.0:
        arr /= 255.0
    images = resize_square(torch.from_numpy(arr).permute(0, 3, 1, 2), size)
    target = torch.as_tensor(np.asarray(bunch.target), dtype=torch.int64)
    factors: dict[str, torch.Tensor] = {"identity": target}
    _with_pseudo_labels(images, factors)
    counts: dict[int, int] = {}
    names = []
    for t in target.tolist():
        k = counts.get(t, 0)
        counts[t] = k + 1
        names.append(f"{str(bunch.target_names[t]).replace(' ', '_')}_{k}")
    return FaceSet(images, factors, names)


# --------------------------------------------------------------------------- own photos


def list_folder(path: str | os.PathLike[str], recursive: bool = False) -> tuple[Path, list[Path]]:
    """The image files of a folder, sorted: ``(folder, files)``.

    Files with other endings are listed in a :class:`SkippedFilesWarning`.

    Raises:
        FileNotFoundError: no such folder. ``ValueError``: ``path`` is a file, or the folder
        holds no image files (the message says what it holds, and suggests
        ``recursive=True`` when the images are in sub-folders).
    """
    path = Path(os.path.expanduser(os.fspath(path)))
    if not path.exists():
        raise FileNotFoundError(f"no folder at {path}")
    if not path.is_dir():
        raise ValueError(f"path must be a folder of images, got the file {path}")
    files = sorted(p for p in (path.rglob("*") if recursive else path.iterdir()) if p.is_file())
    image_paths = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    image_set = set(image_paths)
    others = [p.relative_to(path).as_posix() for p in files if p not in image_set]
    if not image_paths:
        subdirs = sorted(p.name for p in path.iterdir() if p.is_dir())
        hint = ""
        if subdirs and not recursive:
            hint = f"; it has sub-folders {subdirs[:10]}: pass recursive=True to read them"
        held = f"; it holds {others[:10]}" if others else " (it is empty)"
        raise ValueError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in {path}{held}{hint}")
    _warn_skipped("load_folder", others, f"not an image ending ({', '.join(IMAGE_EXTENSIONS)})")
    return path, image_paths


def read_image(
    path: str | os.PathLike[str],
    max_side: int | None = None,
    exif: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> torch.Tensor:
    """One image file -> float32 (3, H, W) in [0, 1] (conversions of :func:`image_to_tensor`).

    ``max_side``: if the longer side is larger, the image is shrunk (anti-aliased) to it (an
    int >= 1, or ``None``). ``max_pixels``: larger images are refused before decoding (see
    :data:`DEFAULT_MAX_PIXELS`; ``None``: no cap but PIL's). Raises ``ValueError`` naming the
    file when it cannot be read, or naming the argument when ``max_side`` or ``max_pixels`` is
    not an int >= 1 (``max_side=0`` would make every image 1 x 1).
    """
    _check_optional_count(max_side, "max_side")
    _check_optional_count(max_pixels, "max_pixels")
    tensor = _read_image(Path(path), str(path), exif=exif, max_pixels=max_pixels)
    return fit_within(tensor, max_side)[0]


def _check_optional_count(value: Any, name: str) -> None:
    """``value`` is ``None`` or an int >= 1 (not a bool), else a ``ValueError`` naming it."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be None or an integer >= 1, got {value!r}")


def _iter_folder(
    path: str | os.PathLike[str],
    recursive: bool,
    errors: str,
    read: Callable[[Path], torch.Tensor],
    n: int | None = None,
) -> Iterator[tuple[str, torch.Tensor]]:
    """(name, image) of each readable image file, in name order; the first ``n`` only (the
    files after them are not opened)."""
    _check_errors(errors)
    root, image_paths = list_folder(path, recursive)
    bad: list[str] = []
    read_count = 0
    for p in image_paths:
        if n is not None and read_count == n:
            break
        rel = p.relative_to(root).as_posix()
        try:
            tensor = read(p)
        except ValueError:
            if errors == "raise":
                raise
            bad.append(rel)
            continue
        read_count += 1
        yield rel, tensor
    _warn_skipped("load_folder", bad, f"{_SKIPPED}, skipped because errors='warn'")
    if not read_count:
        raise ValueError(f"none of the {len(image_paths)} image files in {root} could be read")


def read_folder(
    path: str | os.PathLike[str],
    recursive: bool = False,
    errors: str = "raise",
    max_side: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> tuple[list[torch.Tensor], list[str]]:
    """Read every image file of a folder at its own size (what :func:`load_folder` resizes).

    Same files, conversions (except the resize), errors and warnings as :func:`load_folder`
    (images of any size but ``max_pixels`` are read). Full-size photos are large (a
    12-megapixel photo is 144 MB as float32): ``max_side`` shrinks each one on reading.

    Returns:
        ``(images, names)``: a list of float32 (3, H_i, W_i) tensors in [0, 1] and their file
        names relative to ``path``, sorted by name.
    """
    tensors, names = [], []
    _check_optional_count(max_side, "max_side")  # before any file is read
    _check_optional_count(max_pixels, "max_pixels")
    read = partial(read_image, max_side=max_side, max_pixels=max_pixels)
    for rel, tensor in _iter_folder(path, recursive, errors, read):
        tensors.append(tensor)
        names.append(rel)
    return tensors, names


def load_folder(
    path: str | os.PathLike[str],
    size: int = 64,
    recursive: bool = False,
    errors: str = "raise",
    pseudo_labels: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    min_side: int = MIN_SIDE,
    n: int | None = None,
) -> FaceSet:
    """Your own photos: every image file in a folder, as a ``FaceSet``.

    Reads ``IMAGE_EXTENSIONS`` (jpg, jpeg, png, bmp, pgm/ppm/pbm, tif/tiff; any case) with
    PIL, sorted by path. Conversions (documented, never errors): EXIF rotation applied, grey
    repeated to 3 channels, 16-bit scaled to [0, 1], alpha dropped, then centre-crop to a
    square and resize to ``size`` (bicubic, anti-aliased; a large photo is first reduced in
    PIL, 8-bit, never copied whole as float32). The photos are not aligned: use
    :func:`sepviz.data.align.align_faces` for that.

    Args:
        path: the folder.
        size: output side in pixels.
        recursive: also read sub-folders (names are then relative paths).
        errors: ``"raise"`` -> an unreadable, corrupted, too large or too small image raises
            ``ValueError`` naming the file; ``"warn"`` -> it is skipped and listed in a
            :class:`SkippedFilesWarning`.
        pseudo_labels: add ``"light_score"`` / ``"light_class"`` from
            :func:`lighting_pseudo_label`.
        max_pixels: images with more pixels are refused before decoding
            (:data:`DEFAULT_MAX_PIXELS`; ``None``: only PIL's own cap).
        min_side: images with a shorter side are refused, not stretched (:data:`MIN_SIDE`).
        n: read the first ``n`` readable images (in name order) and stop: the files after
            them are not opened. An int >= 1, or ``None`` for all.

    Returns:
        ``FaceSet`` with images float32 (N, 3, size, size) in [0, 1]; factors as above (or
        none); names = file names relative to ``path``.

    Raises:
        FileNotFoundError: ``path`` does not exist. ``ValueError``: it is not a folder, holds
        no image files (the message lists what it holds), or an image cannot be read.
        Files with other endings are skipped and listed in a :class:`SkippedFilesWarning`.
    """
    _check_size(size)
    _check_optional_count(max_pixels, "max_pixels")
    _check_optional_count(min_side, "min_side")
    _check_optional_count(n, "n")
    crops, names = [], []
    read = partial(_read_image, max_pixels=max_pixels, min_side=min_side, shrink_to=size)
    for rel, tensor in _iter_folder(path, recursive, errors, read, n):  # one by one: low memory
        crops.append(resize_square(tensor[None], size)[0])
        names.append(rel)
    images = torch.stack(crops)
    factors: dict[str, torch.Tensor] = {}
    if pseudo_labels:
        _with_pseudo_labels(images, factors)
    return FaceSet(images, factors, names)
