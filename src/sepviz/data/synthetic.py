"""Synthetic faces with known factors: a small, vectorised, physically lit renderer.

Every face is drawn from three groups of factors, each a float in a documented range:

- identity (what DeepFakes' decoders are meant to hold): ``nose_size``, ``lip_colour``,
  ``face_width``, ``skin_tone``, ``eye_spacing``, each in [0, 1];
- expression (shared between people): ``smile``, ``mouth_open``, ``eyes_open`` in [0, 1];
- light (shared, and what FaderNet removes): ``azimuth`` in [-60, 60] degrees, **negative =
  light from the image's left** (the left half is brighter), and ``elevation`` in [-30, 30]
  degrees, positive = from above. ``light_class`` bins the azimuth into left / centre / right.

The face is a height field (an ellipsoid head with a nose, brow ridge, cheeks and lips) lit
with Lambert's law plus ambient light, ``I = albedo * (ambient + diffuse * max(0, n . l))``.
Shading multiplies the albedo pixel by pixel, so relighting never changes a colour ratio, and
a ground-truth image of any swap or relight is one call to :func:`render` away. Expression
changes only the albedo of the mouth and eyes, so moving the mouth never touches the eyes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from functools import lru_cache

import torch

from sepviz.data.faceset import FaceSet

IDENTITY_FACTORS = ("nose_size", "lip_colour", "face_width", "skin_tone", "eye_spacing")
EXPRESSION_FACTORS = ("smile", "mouth_open", "eyes_open")
LIGHT_FACTORS = ("azimuth", "elevation")
LIGHT_CLASSES = ("left", "centre", "right")
AZIMUTH_RANGE = (-60.0, 60.0)
ELEVATION_RANGE = (-30.0, 30.0)
AMBIENT, DIFFUSE = 0.22, 0.88

PERSONS: dict[str, torch.Tensor] = {
    # nose_size, lip_colour, face_width, skin_tone, eye_spacing
    "A": torch.tensor([0.15, 0.10, 0.20, 0.15, 0.30]),  # small nose, pale lips, narrow, light
    "B": torch.tensor([0.90, 0.95, 0.85, 0.75, 0.70]),  # big nose, red lips, wide, darker
    "C": torch.tensor([0.50, 0.60, 0.45, 0.40, 0.90]),
    "D": torch.tensor([0.70, 0.30, 0.65, 0.95, 0.10]),
}
"""Named people: identity vectors (5,) in [0, 1]; A and B differ in every identity factor."""

_BACKGROUND = torch.tensor([0.22, 0.25, 0.30])
_SKIN_LIGHT, _SKIN_DARK = torch.tensor([0.96, 0.80, 0.68]), torch.tensor([0.46, 0.30, 0.21])
_LIP_PALE, _LIP_RED = torch.tensor([0.90, 0.62, 0.60]), torch.tensor([0.72, 0.08, 0.14])
_MOUTH, _SCLERA, _IRIS = torch.tensor([0.18, 0.05, 0.06]), torch.tensor(0.97), torch.tensor(0.12)
_BROW = torch.tensor([0.25, 0.16, 0.10])


def _check_size(size: int) -> None:
    if not isinstance(size, int) or size < 16 or size & (size - 1):
        raise ValueError(f"size must be a power of two >= 16 (e.g. 32, 64, 128), got {size!r}")


def _as_batch(value: torch.Tensor | Sequence[float], name: str, width: int) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.float32)
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2 or t.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width}) or ({width},), got {tuple(t.shape)}")
    return t


def _check_range(t: torch.Tensor, name: str, names: Sequence[str], lo: float, hi: float) -> None:
    bad = (t < lo - 1e-6) | (t > hi + 1e-6)
    if bad.any():
        col = int(bad.nonzero()[0, 1])
        raise ValueError(
            f"{name}: factor {names[col]!r} must lie in [{lo:g}, {hi:g}], "
            f"got {float(t[bad][0]):.4g}"
        )


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    # Pixel centres in [-1, 1]; y points up so that "above" is positive like elevation.
    c = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1
    return c.view(1, 1, size), -c.view(1, size, 1)


def _rows(size: int, y_lo: float, y_hi: float) -> slice:
    # The rows of a size x size image whose centres have y in [y_lo, y_hi] (y up, in [-1, 1]).
    top = max(0, int((1 - y_hi) / 2 * size) - 1)
    return slice(top, min(size, int(math.ceil((1 - y_lo) / 2 * size)) + 1))


def _inside(d: torch.Tensor, pixel: float) -> torch.Tensor:
    # Anti-aliased mask from a signed distance d (negative inside), one pixel wide.
    return (0.5 - d / pixel).clamp(0, 1)


def _ellipse(
    x: torch.Tensor,
    y: torch.Tensor,
    cx: torch.Tensor | float,
    cy: torch.Tensor | float,
    ax: torch.Tensor | float,
    ay: torch.Tensor | float,
) -> torch.Tensor:
    # Approximate signed distance to an ellipse (exact for circles), in image units.
    r = torch.sqrt(((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 + 1e-12)
    return (r - 1) * torch.minimum(torch.as_tensor(ax), torch.as_tensor(ay))


def _bump(
    x: torch.Tensor,
    y: torch.Tensor,
    cx: float,
    cy: float,
    sx: torch.Tensor | float,
    sy: torch.Tensor | float,
) -> torch.Tensor:
    # A separable Gaussian bump: the outer product of a row and a column, cheap at any size.
    return torch.exp(-(((x - cx) / sx) ** 2)) * torch.exp(-(((y - cy) / sy) ** 2))


def _mix(mask: torch.Tensor, inside: torch.Tensor, outside: torch.Tensor) -> torch.Tensor:
    return outside + mask.unsqueeze(1) * (inside - outside)


def _render_chunk(
    identity: torch.Tensor, expression: torch.Tensor, light: torch.Tensor, size: int
) -> torch.Tensor:
    x, y = _grid(size)
    pixel = 2.0 / size
    col = lambda t, i: t[:, i].view(-1, 1, 1)  # noqa: E731 (a factor as an (N, 1, 1) column)
    nose, lip, width, tone, spacing = (col(identity, i) for i in range(5))
    smile, mouth_open, eyes_open = (col(expression, i) for i in range(3))
    az, el = (torch.deg2rad(col(light, i)) for i in range(2))

    # Height field: ellipsoid head + nose + brow ridge + cheeks (Gaussian bumps).
    head_ax = 0.50 + 0.16 * width
    head_d = _ellipse(x, y, 0.0, 0.02, head_ax, 0.80)
    r2 = ((x / head_ax) ** 2 + ((y - 0.02) / 0.80) ** 2).clamp(max=1.0)
    height = 0.9 * torch.sqrt(1.0 - r2 + 1e-4)
    bump = functools.partial(_bump, x, y)
    height = height + (0.10 + 0.30 * nose) * bump(
        0.0, -0.02, 0.05 + 0.05 * nose, 0.14 + 0.06 * nose
    )
    height = height + 0.06 * bump(0.0, 0.30, 0.30, 0.05)
    height = height + 0.05 * (bump(-0.30, -0.12, 0.12, 0.10) + bump(0.30, -0.12, 0.12, 0.10))
    # Normals from central differences of the height field (per pixel).
    hp = torch.nn.functional.pad(height.unsqueeze(1), (1, 1, 1, 1), mode="replicate").squeeze(1)
    dx = (hp[:, 1:-1, 2:] - hp[:, 1:-1, :-2]) / (2 * pixel)
    dy = (hp[:, :-2, 1:-1] - hp[:, 2:, 1:-1]) / (2 * pixel)  # rows go down, y goes up
    lx, ly, lz = torch.sin(az) * torch.cos(el), torch.sin(el), torch.cos(az) * torch.cos(el)
    shade = ((-dx * lx - dy * ly + lz) * torch.rsqrt(dx * dx + dy * dy + 1)).clamp(min=0)
    shade = AMBIENT + DIFFUSE * shade

    # Albedo: skin, then brows and eyes, lips and mouth, each drawn only on the band of rows
    # where it can appear (the features are small: this is most of the renderer's speed).
    skin = _SKIN_LIGHT.view(1, 3, 1, 1) + tone.unsqueeze(1) * (_SKIN_DARK - _SKIN_LIGHT).view(
        1, 3, 1, 1
    )
    albedo = skin.expand(-1, -1, size, size).clone()
    eye_x = 0.15 + 0.12 * spacing
    rows = _rows(size, 0.08, 0.40)
    band, yb = albedo[:, :, rows], y[:, rows]
    for side in (-1.0, 1.0):
        brow = _inside(
            _ellipse(x, yb, side * eye_x, 0.33 + 0.02 * (1 - eyes_open), 0.12, 0.025), pixel
        )
        band = _mix(brow, _BROW.view(1, 3, 1, 1), band)
        eye = _inside(_ellipse(x, yb, side * eye_x, 0.18, 0.085, 0.012 + 0.05 * eyes_open), pixel)
        iris = _inside(_ellipse(x, yb, side * eye_x, 0.18, 0.035, 0.035), pixel) * eye
        band = _mix(eye, _SCLERA.expand(1, 3, 1, 1), band)
        band = _mix(iris, _IRIS.expand(1, 3, 1, 1), band)
    albedo[:, :, rows] = band
    # Lips: a band around a centre line that curves up at the corners with the smile.
    rows = _rows(size, -0.62, -0.22)
    band, yb = albedo[:, :, rows], y[:, rows]
    mouth_w = 0.20 + 0.04 * smile
    t = (x / mouth_w).clamp(-1.0, 1.0)
    centre = -0.45 + 0.10 * smile * t * t
    half = 0.045 + 0.05 * mouth_open
    lips = _inside(
        torch.maximum(torch.abs(yb - centre) - half * (1 - 0.6 * t * t), torch.abs(x) - mouth_w),
        pixel,
    )
    lip_rgb = _LIP_PALE.view(1, 3, 1, 1) + lip.unsqueeze(1) * (_LIP_RED - _LIP_PALE).view(
        1, 3, 1, 1
    )
    band = _mix(lips, lip_rgb, band)
    gap = 0.05 * mouth_open * (1 - t * t)
    opening = _inside(
        torch.maximum(torch.abs(yb - centre) - gap, torch.abs(x) - 0.85 * mouth_w), pixel
    )
    band = _mix(opening * (mouth_open > 0.02), _MOUTH.view(1, 3, 1, 1), band)
    albedo[:, :, rows] = band

    face = _inside(head_d, pixel)
    lit = albedo * shade.unsqueeze(1)
    return _mix(face, lit, _BACKGROUND.view(1, 3, 1, 1)).clamp(0, 1)


def render(
    identity: torch.Tensor | Sequence[float],
    expression: torch.Tensor | Sequence[float],
    light: torch.Tensor | Sequence[float],
    size: int = 64,
    chunk: int | None = None,
) -> torch.Tensor:
    """Render faces from their factors.

    Args:
        identity: (N, 5) or (5,) in [0, 1], columns :data:`IDENTITY_FACTORS`.
        expression: (N, 3) or (3,) in [0, 1], columns :data:`EXPRESSION_FACTORS`.
        light: (N, 2) or (2,) degrees, azimuth in [-60, 60], elevation in [-30, 30].
        size: image side, a power of two >= 16.
        chunk: faces rendered at once; by default about 256k pixels, which keeps every
            intermediate in the CPU cache (2.7x faster than 512 faces at 64 px).

    Returns:
        (N, 3, size, size) float32 in [0, 1]. A 1-D factor is broadcast to the batch.
    """
    _check_size(size)
    ident = _as_batch(identity, "identity", len(IDENTITY_FACTORS))
    expr = _as_batch(expression, "expression", len(EXPRESSION_FACTORS))
    lit = _as_batch(light, "light", len(LIGHT_FACTORS))
    n = max(ident.shape[0], expr.shape[0], lit.shape[0])
    for name, t in (("identity", ident), ("expression", expr), ("light", lit)):
        if t.shape[0] not in (1, n):
            raise ValueError(f"{name} has {t.shape[0]} rows but the batch has {n}")
    _check_range(ident, "identity", IDENTITY_FACTORS, 0, 1)
    _check_range(expr, "expression", EXPRESSION_FACTORS, 0, 1)
    _check_range(lit[:, :1], "light", ("azimuth",), *AZIMUTH_RANGE)
    _check_range(lit[:, 1:], "light", ("elevation",), *ELEVATION_RANGE)
    ident, expr, lit = (t.expand(n, -1) for t in (ident, expr, lit))
    chunk = chunk or max(1, 2**18 // (size * size))
    with torch.no_grad():
        return torch.cat(
            [
                _render_chunk(ident[i : i + chunk], expr[i : i + chunk], lit[i : i + chunk], size)
                for i in range(0, n, chunk)
            ]
        )


def light_class(azimuth: torch.Tensor | float, n_classes: int = 3) -> torch.Tensor:
    """Bin azimuths (degrees, negative = light from the image's left) into classes.

    Equal-width bins over [-60, 60]; values beyond are clamped into the outer bins. With 3
    classes: 0 left (< -20), 1 centre (``|azimuth| <= 20``), 2 right (> 20). A value on a border
    goes to the bin nearer 0, so the centre bin is symmetric. Returns int64 of the input's shape.
    """
    if not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    az = torch.as_tensor(azimuth, dtype=torch.float64)
    lo, hi = AZIMUTH_RANGE
    pos = (az - lo) / ((hi - lo) / n_classes)
    cls = torch.where(az < 0, torch.floor(pos), torch.ceil(pos) - 1)
    return cls.clamp(0, n_classes - 1).to(torch.int64)


def class_azimuths(n_classes: int = 3) -> torch.Tensor:
    """(n_classes,) azimuth at the centre of each class of :func:`light_class` (degrees)."""
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    lo, hi = AZIMUTH_RANGE
    return lo + (torch.arange(n_classes, dtype=torch.float32) + 0.5) * (hi - lo) / n_classes


def random_identities(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, 5) identity factors drawn uniformly in [0, 1]."""
    return torch.rand(n, len(IDENTITY_FACTORS), generator=generator)


def random_expressions(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, 3) expression factors drawn uniformly in [0, 1]."""
    return torch.rand(n, len(EXPRESSION_FACTORS), generator=generator)


def random_lights(
    n: int,
    generator: torch.Generator | None = None,
    azimuth_range: tuple[float, float] = AZIMUTH_RANGE,
    elevation_range: tuple[float, float] = ELEVATION_RANGE,
) -> torch.Tensor:
    """(n, 2) lights: azimuth and elevation (degrees) drawn uniformly in the given ranges."""
    for name, (lo, hi), (min_, max_) in (
        ("azimuth_range", azimuth_range, AZIMUTH_RANGE),
        ("elevation_range", elevation_range, ELEVATION_RANGE),
    ):
        if not min_ <= lo <= hi <= max_:
            raise ValueError(
                f"{name} must satisfy {min_:g} <= lo <= hi <= {max_:g}, got {(lo, hi)}"
            )
    u = torch.rand(n, 2, generator=generator)
    lo = torch.tensor([azimuth_range[0], elevation_range[0]])
    hi = torch.tensor([azimuth_range[1], elevation_range[1]])
    return lo + u * (hi - lo)


def _persons(identities: int | torch.Tensor | Sequence[str], g: torch.Generator) -> torch.Tensor:
    if isinstance(identities, int):
        if identities < 1:
            raise ValueError(f"identities must be >= 1 people, got {identities}")
        return random_identities(identities, g)
    if isinstance(identities, torch.Tensor):
        people = _as_batch(identities, "identities", len(IDENTITY_FACTORS))
        _check_range(people, "identities", IDENTITY_FACTORS, 0, 1)
        return people
    unknown = [p for p in identities if p not in PERSONS]
    if unknown or not identities:
        raise ValueError(f"identities: unknown names {unknown}; known people are {sorted(PERSONS)}")
    return torch.stack([PERSONS[p] for p in identities])


def make_faces(
    n: int,
    size: int = 64,
    identities: int | torch.Tensor | Sequence[str] = 8,
    seed: int = 0,
    n_light_classes: int = 3,
    azimuth_range: tuple[float, float] = AZIMUTH_RANGE,
    elevation_range: tuple[float, float] = ELEVATION_RANGE,
    expression: torch.Tensor | Sequence[float] | None = None,
    light: torch.Tensor | Sequence[float] | None = None,
) -> FaceSet:
    """Render ``n`` faces of a few people under random expressions and lights.

    Args:
        n: number of faces (> 0).
        size: image side, a power of two >= 16.
        identities: ``k`` (k random people drawn from the seed), a (k, 5) tensor of identity
            factors, or names from :data:`PERSONS` (e.g. ``["A", "B"]``). Face ``i`` is person
            ``i % k``, so people are balanced.
        seed: the same seed gives the same faces.
        n_light_classes: number of ``light_class`` bins over the azimuth range [-60, 60].
        azimuth_range, elevation_range: ranges of the random lights (degrees).
        expression: a fixed (3,) expression for all faces, or ``None`` for random ones.
        light: a fixed (2,) light for all faces, or ``None`` for random ones.

    Returns:
        A :class:`~sepviz.data.FaceSet`: images (n, 3, size, size) float32 in [0, 1]; factors
        with every name of :data:`IDENTITY_FACTORS`, :data:`EXPRESSION_FACTORS` and
        :data:`LIGHT_FACTORS` (float32), ``"identity"`` (person index) and ``"light_class"``.
    """
    if not isinstance(n, int) or n <= 0:
        raise ValueError(f"n must be a positive int, got {n!r}")
    _check_size(size)
    g = torch.Generator().manual_seed(seed)
    people = _persons(identities, g)
    person = torch.arange(n) % people.shape[0]
    ident = people[person]
    expr = (
        random_expressions(n, g)
        if expression is None
        else _as_batch(expression, "expression", 3).expand(n, -1)
    )
    lit = (
        random_lights(n, g, azimuth_range, elevation_range)
        if light is None
        else _as_batch(light, "light", 2).expand(n, -1)
    )
    images = render(ident, expr, lit, size)
    factors = {name: ident[:, i].contiguous() for i, name in enumerate(IDENTITY_FACTORS)}
    factors |= {name: expr[:, i].contiguous() for i, name in enumerate(EXPRESSION_FACTORS)}
    factors |= {name: lit[:, i].contiguous() for i, name in enumerate(LIGHT_FACTORS)}
    factors["identity"] = person
    factors["light_class"] = light_class(lit[:, 0], n_light_classes)
    return FaceSet(images, factors)


def factor_matrix(faces: FaceSet, names: Sequence[str] = IDENTITY_FACTORS) -> torch.Tensor:
    """Stack factors of ``faces`` into the (N, len(names)) matrix :func:`render` takes."""
    missing = [k for k in names if k not in faces.factors]
    if missing:
        raise ValueError(f"faces has no factors {missing}; it has {sorted(faces.factors)}")
    return torch.stack([faces.factors[k].float() for k in names], dim=1)


def relit(
    faces: FaceSet, azimuth: float | torch.Tensor, elevation: float | None = None
) -> torch.Tensor:
    """Ground truth: ``faces`` re-rendered under a new azimuth (and elevation, or their own)."""
    size = faces.images.shape[-1]
    az = torch.as_tensor(azimuth, dtype=torch.float32).expand(len(faces))
    el = (
        faces.factors["elevation"]
        if elevation is None
        else torch.full((len(faces),), float(elevation))
    )
    light = torch.stack([az, el], dim=1)
    return render(factor_matrix(faces), factor_matrix(faces, EXPRESSION_FACTORS), light, size)


def swapped(faces: FaceSet, identity: torch.Tensor | str) -> torch.Tensor:
    """Ground truth of a face swap: ``faces`` with another identity (a (5,) vector or a name)."""
    person = PERSONS[identity] if isinstance(identity, str) else identity
    size = faces.images.shape[-1]
    return render(
        person, factor_matrix(faces, EXPRESSION_FACTORS), factor_matrix(faces, LIGHT_FACTORS), size
    )


def pixel_variance_by_factor(n: int = 256, size: int = 32, seed: int = 0) -> dict[str, float]:
    """How much each factor group moves the pixels: a variance decomposition of the renderer.

    For ``n`` random base faces, each group (identity, expression, light) is redrawn while the
    other two stay fixed; the mean per-pixel variance across redraws is that group's share.
    Returns ``{"identity": v1, "expression": v2, "light": v3}`` as fractions summing to 1.
    """
    g = torch.Generator().manual_seed(seed)
    base = [random_identities(n, g), random_expressions(n, g), random_lights(n, g)]
    draws = [random_identities, random_expressions, random_lights]
    shares = {}
    for k, group in enumerate(("identity", "expression", "light")):
        images = []
        for _ in range(4):
            factors = list(base)
            factors[k] = draws[k](n, g)
            images.append(render(*factors, size=size))
        shares[group] = float(torch.stack(images).var(dim=0).mean())
    total = sum(shares.values())
    return {k: v / total for k, v in shares.items()}
