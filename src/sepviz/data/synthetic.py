"""Synthetic faces with known factors: a small, vectorised, physically lit renderer.

Every face is drawn from three groups of factors, each a float in a documented range:

- identity (what DeepFakes' decoders are meant to hold): ``nose_size``, ``lip_colour``,
  ``face_width``, ``skin_tone``, ``eye_spacing``, each in [0, 1];
- expression (shared between people): ``smile``, ``mouth_open``, ``eyes_open`` in [0, 1];
- light (shared, and what FaderNet removes): ``azimuth`` in [-60, 60] degrees, **negative =
  light from the image's left** (the left half of the face is brighter), and ``elevation`` in
  [-30, 30] degrees, positive = from above. ``light_class`` bins the azimuth into
  left / centre / right;
- pose (optional, frontal by default): ``yaw`` in [-40, 40] degrees, **positive = the face
  turns towards the image's right**, and ``pitch`` in [-20, 20], positive = the face turns up.
  The head turns on the neck under a lamp that stays put, so a turned head is lit differently,
  and its far side is hidden (:func:`posed` is the ground truth of a head turn).

The head is a height field (an egg-shaped ellipsoid with ears, nose, brow ridge, eye sockets,
cheeks, lips and chin) over a neck and shoulders, in front of a constant, unlit background.
It is lit with Lambert's law plus ambient light, ``I = albedo * (0.15 + 0.85 * max(0, n . l))``,
and the tip of the nose casts a shadow. Shading multiplies the albedo pixel by pixel, so
relighting never changes a colour ratio, and the ground truth of any swap or relight is one
call to :func:`render` away. Expression changes only the albedo of the mouth and the eyes, and
every feature has compact support, so moving the mouth never touches the eyes. Edges are
anti-aliased over one pixel. Hair, clothes and background are the same for everybody.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import torch

from sepviz.data.faceset import FaceSet
from sepviz.data.pose import head_light, turn_head

IDENTITY_FACTORS = ("nose_size", "lip_colour", "face_width", "skin_tone", "eye_spacing")
EXPRESSION_FACTORS = ("smile", "mouth_open", "eyes_open")
LIGHT_FACTORS = ("azimuth", "elevation")
POSE_FACTORS = ("yaw", "pitch")
LIGHT_CLASSES = ("left", "centre", "right")
SIZES = (16, 32, 64, 128, 256)
"""Image sides :func:`render` accepts (any power of two >= 16 works); 32, 64 and 128 are the
documented ones: a recognisable face at 32, a clearly nicer one at 128."""
AZIMUTH_RANGE = (-60.0, 60.0)
ELEVATION_RANGE = (-30.0, 30.0)
YAW_RANGE = (-40.0, 40.0)
PITCH_RANGE = (-20.0, 20.0)
AMBIENT, DIFFUSE = 0.15, 0.85
SECOND_LIGHTS: dict[str, tuple[float, float]] = {
    "azimuth_range": (-45.0, 45.0),
    "elevation_range": (-20.0, 20.0),
}
"""The lights of the *second face distribution* (``make_faces(..., **SECOND_LIGHTS)`` with
random people instead of A and B): faces no model of the book was tuned on, where the tests
check that a swap still works."""

PERSONS: dict[str, torch.Tensor] = {
    # nose_size, lip_colour, face_width, skin_tone, eye_spacing
    "A": torch.tensor([0.10, 0.05, 0.10, 0.05, 0.30]),  # small nose, pale lips, narrow, light
    "B": torch.tensor([0.95, 0.95, 0.90, 0.70, 0.70]),  # big nose, red lips, wide, darker
    "C": torch.tensor([0.50, 0.60, 0.45, 0.35, 0.95]),
    "D": torch.tensor([0.70, 0.30, 0.65, 1.00, 0.05]),
    "E": torch.tensor([0.30, 0.75, 0.30, 0.55, 0.50]),
}
"""Named people: identity vectors (5,) in [0, 1]; A and B differ in every identity factor."""


def _rgb(*values: float) -> torch.Tensor:
    return torch.tensor(values).view(1, 3, 1, 1)


# Albedos (RGB in [0, 1]); hair, clothes and background are the same for everybody.
_BACKGROUND, _SHIRT, _HAIR = _rgb(0.30, 0.33, 0.38), _rgb(0.22, 0.38, 0.52), _rgb(0.16, 0.10, 0.07)
_SKIN_LIGHT, _SKIN_DARK = _rgb(0.97, 0.80, 0.68), _rgb(0.44, 0.28, 0.19)
_LIP_PALE, _LIP_RED = _rgb(0.92, 0.66, 0.62), _rgb(0.70, 0.05, 0.12)
_MOUTH, _TEETH, _BROW = _rgb(0.22, 0.04, 0.06), _rgb(0.95, 0.93, 0.88), _rgb(0.22, 0.14, 0.09)
_LASH, _SCLERA, _IRIS = _rgb(0.10, 0.06, 0.05), _rgb(0.97, 0.97, 0.95), _rgb(0.30, 0.42, 0.30)
_PUPIL = _rgb(0.03, 0.03, 0.03)
# Layout in image units (x to the right, y up, both in [-1, 1]).
_HEAD_Y, _HEAD_AY, _EYE_Y, _TIP_Y, _MOUTH_Y = 0.12, 0.76, 0.14, -0.16, -0.42


def _check_size(size: int) -> int:
    ok = isinstance(size, int) and not isinstance(size, bool) and size >= 16
    if not ok or size & (size - 1):
        raise ValueError(f"size must be a power of two >= 16 (e.g. 32, 64, 128), got {size!r}")
    return size


def _check_n(n: int, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    return n


def _as_batch(value: torch.Tensor | Sequence[float], name: str, width: int) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.float32).detach().cpu()
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2 or t.shape[1] != width or t.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, {width}) or ({width},), got {tuple(t.shape)}")
    return t


def _check_range(t: torch.Tensor, name: str, names: Sequence[str], lo: float, hi: float) -> None:
    bad = ~((t >= lo - 1e-6) & (t <= hi + 1e-6))  # NaN is out of range too
    if bad.any():
        row, col = (int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"{name}: factor {names[col]!r} must lie in [{lo:g}, {hi:g}], "
            f"got {float(t[row, col]):.4g}"
        )


@lru_cache(maxsize=16)
def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    # Pixel centres in [-1, 1]: x (1, 1, S) to the right, y (1, S, 1) up like elevation.
    c = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1
    return c.view(1, 1, size), -c.view(1, size, 1)


@lru_cache(maxsize=1024)
def _box(size: int, x_lo: float, x_hi: float, y_lo: float, y_hi: float) -> tuple[slice, slice]:
    # (rows, cols) of the pixels whose centres lie in the box, with one pixel of margin.
    def span(lo: float, hi: float) -> slice:
        start = math.floor((lo + 1) * size / 2 - 0.5) - 1
        return slice(max(0, start), min(size, math.ceil((hi + 1) * size / 2 - 0.5) + 2))

    return span(-y_hi, -y_lo), span(x_lo, x_hi)  # rows run down the image, y runs up


def _cover(d: torch.Tensor, pixel: float) -> torch.Tensor:
    # Anti-aliased coverage in [0, 1] of a signed distance d (negative inside): a 1-pixel ramp.
    return (0.5 - d / pixel).clamp_(0, 1)


def _ellipse(x: torch.Tensor, y: torch.Tensor, ax: Any, ay: Any, pixel: float) -> torch.Tensor:
    # Coverage of the ellipse (x / ax)^2 + (y / ay)^2 <= 1 (x, y relative to its centre), ay <= ax.
    # The distance is approximated along the short axis and bounded below by the bounding box.
    d = ((x / ax) ** 2 + (y / ay) ** 2 - 1) * (0.5 * ay)
    return _cover(torch.maximum(d, torch.maximum(x.abs() - ax, y.abs() - ay)), pixel)


def _bump(x: torch.Tensor, y: torch.Tensor, sx: Any, sy: Any) -> torch.Tensor:
    # (1 - r^2)^2 with compact support: exactly zero outside its ellipse, smooth inside.
    b = (1 - (x / sx) ** 2 - (y / sy) ** 2).clamp_(min=0)
    return b * b


def _paint(image: torch.Tensor, box: tuple[slice, slice], mask: torch.Tensor, rgb: Any) -> None:
    # In place: image[:, :, box] becomes rgb where mask is 1, blending where it is between.
    region = image[:, :, box[0], box[1]]
    region.lerp_(torch.as_tensor(rgb).expand_as(region), mask.unsqueeze(1))


def _render_chunk(
    identity: torch.Tensor,
    expression: torch.Tensor,
    light: torch.Tensor,
    image: torch.Tensor,
    pose: torch.Tensor | None = None,
) -> None:
    # Render the faces into ``image`` (N, 3, S, S), in place; ``pose`` (N, 2) degrees or None
    # (frontal: then the head is drawn straight into the image, as it always was).
    size = image.shape[-1]
    x, y = _grid(size)
    n, pixel = identity.shape[0], 2.0 / size
    nose, lip, width, tone, spacing = identity.T.reshape(5, n, 1, 1)
    smile, mouth_open, eyes_open = expression.T.reshape(3, n, 1, 1)
    az, el = torch.deg2rad(light).T.reshape(2, n, 1, 1)
    lx, ly, lz = torch.sin(az) * torch.cos(el), torch.sin(el), torch.cos(az) * torch.cos(el)
    skin = _SKIN_LIGHT + tone.unsqueeze(1) * (_SKIN_DARK - _SKIN_LIGHT)  # (N, 3, 1, 1)
    image.copy_(_BACKGROUND)  # unlit: the background carries nothing

    # Body: a cylindrical neck and flattened-ellipsoid shoulders, with analytic normals.
    box = _box(size, -0.36, 0.36, -1.0, -0.3)
    xb, yb = x[..., box[1]], y[:, box[0]]
    neck_w = 0.25 + 0.07 * width
    u = (xb / neck_w).clamp(-1, 1)
    lambert = (u * lx + (1 - u * u).sqrt() * lz).clamp_(min=0)
    under_chin = 1 - 0.45 * ((yb + 0.95) / 0.3).clamp(0, 1)  # ambient occlusion by the head
    neck = skin * (AMBIENT + DIFFUSE * lambert * under_chin).unsqueeze(1)
    _paint(image, box, _cover(xb.abs() - neck_w, pixel).expand(-1, yb.shape[1], -1), neck)
    box = _box(size, -1.0, 1.0, -1.0, -0.84)
    px, py = x[..., box[1]] / 1.5, (y[:, box[0]] + 1.7) / 0.85
    lambert = 0.6 * (px * lx + py * ly) + (1 - 0.36 * (px * px + py * py)).sqrt() * lz
    shirt = _SHIRT * (AMBIENT + DIFFUSE * lambert.clamp_(min=0)).unsqueeze(1)
    _paint(image, box, _ellipse(px, py, 1.0, 1.0, pixel / 0.85).expand(n, -1, -1), shirt)

    # Head: computed inside its bounding box (hr, hc); `local` gives boxes relative to it. A
    # turned head is shaded in its own frame, where the lamp is turned the other way (Lambert
    # and the nose shadow only see the light relative to the head), then warped (data/pose.py).
    if pose is not None:
        lx, ly, lz = head_light(lx, ly, lz, pose)
    grow = 0.0 if pose is None else 0.08  # room for a nose or a chin turned past the frontal box
    hr, hc = _box(
        size, -0.74 - grow, 0.74 + grow, _HEAD_Y - _HEAD_AY - grow, _HEAD_Y + _HEAD_AY + grow
    )
    xh, yh, xa = x[..., hc], y[:, hr], x[..., hc].abs()  # xa: mirrored features use |x|

    def local(x_lo: float, x_hi: float, y_lo: float, y_hi: float) -> tuple[slice, slice]:
        rows, cols = _box(size, x_lo, x_hi, y_lo, y_hi)
        return (
            slice(max(0, rows.start - hr.start), rows.stop - hr.start),
            slice(max(0, cols.start - hc.start), cols.stop - hc.start),
        )

    # An egg-shaped ellipsoid (narrower at the chin) whose width follows face_width, and ears.
    head_ax = 0.50 + 0.14 * width
    chin = ((_HEAD_Y - yh) / _HEAD_AY).clamp(0, 1)
    r2 = xh * xh / (head_ax * (1 - 0.16 * chin * chin)) ** 2 + ((yh - _HEAD_Y) / _HEAD_AY) ** 2
    k = 0.5 * head_ax / pixel  # silhouette coverage = 0.5 - (approximate distance) / pixel
    mask = (r2 * -k).add_(0.5 + k).clamp_(0, 1)  # (addcmul with a broadcast input is slow)
    height = torch.rsub(r2, 0.64, alpha=0.64).clamp_(min=0).sqrt_()  # 0.8 deep at the centre
    rows, cols = local(-0.74, 0.74, _EYE_Y - 0.22, _EYE_Y + 0.1)
    ex, ey = (xa[..., cols] - head_ax + 0.02) / 0.075, (yh[:, rows] - _EYE_Y + 0.06) / 0.14
    ear = ex * ex + ey * ey  # the ears: small domes on both sides, behind the head
    mask[:, rows, cols].clamp_(min=_cover((ear - 1) * 0.0375, pixel))
    height[:, rows, cols].clamp_(min=torch.rsub(ear, 0.0144, alpha=0.0144).clamp_(min=0).sqrt_())

    def add(amp: Any, cx: Any, cy: float, sx: Any, sy: float, box: tuple, mirror: bool) -> None:
        # Raise the height field by a bump; `box` holds its whole support.
        xs = (xa if mirror else xh)[..., box[1]] - cx
        height[:, box[0], box[1]] += amp * _bump(xs, yh[:, box[0]] - cy, sx, sy)

    eye_x = 0.17 + 0.10 * spacing  # eye centres at x = +-eye_x
    add(0.02, 0.0, _EYE_Y + 0.16, 0.4, 0.08, local(-0.4, 0.4, _EYE_Y + 0.08, _EYE_Y + 0.24), False)
    add(-0.03, eye_x, _EYE_Y, 0.15, 0.1, local(-0.42, 0.42, _EYE_Y - 0.1, _EYE_Y + 0.1), True)
    add(0.02, 0.55 * head_ax, -0.14, 0.15, 0.14, local(-0.5, 0.5, -0.28, 0.0), True)  # cheeks
    add(0.03, 0.0, _MOUTH_Y, 0.25, 0.1, local(-0.25, 0.25, _MOUTH_Y - 0.1, _MOUTH_Y + 0.1), False)
    add(0.04, 0.0, -0.58, 0.16, 0.08, local(-0.16, 0.16, -0.66, -0.5), False)  # chin
    bridge = 0.035 + 0.025 * nose
    add(0.04 + 0.06 * nose, 0.0, -0.02, bridge, 0.14, local(-0.1, 0.1, -0.16, 0.12), False)
    tip_amp, tip_sx, tip_sy = 0.05 + 0.10 * nose, 0.06 + 0.05 * nose, 0.06 + 0.03 * nose
    add(tip_amp, 0.0, _TIP_Y, tip_sx, tip_sy, local(-0.12, 0.12, -0.26, -0.06), False)

    # Lambert shading from the normals (central differences of the height field), then the
    # tip of the nose casts a shadow wherever it rises above the ray towards the light.
    gx, gy, c = torch.zeros_like(height), torch.zeros_like(height), 2 * pixel
    torch.sub(height[:, :, 2:], height[:, :, :-2], out=gx[:, :, 1:-1])
    torch.sub(height[:, :-2], height[:, 2:], out=gy[:, 1:-1])  # rows run down, y runs up
    lambert = (gx * -lx).add_(lz * c).addcmul_(gy, -ly)  # n . l, times |(gx, gy, c)|
    lambert.mul_(torch.addcmul(gx * gx, gy, gy).add_(c * c).rsqrt_()).clamp_(min=0)
    rows, cols = local(-0.36, 0.36, _TIP_Y - 0.22, _TIP_Y + 0.2)
    xs, ys = xh[..., cols], yh[:, rows] - _TIP_Y
    flat = (lx * lx + ly * ly).sqrt().clamp(min=1e-6)  # the light's direction in the image
    above = torch.zeros(())  # the most the nose rises above the ray, a few steps along it
    for d in (0.03, 0.06, 0.09, 0.12, 0.15, 0.18):
        ahead = tip_amp * _bump(xs + d * lx / flat, ys + d * ly / flat, tip_sx, tip_sy)
        above = torch.maximum(above, ahead - d * lz / flat)
    above -= tip_amp * _bump(xs, ys, tip_sx, tip_sy)
    lambert[:, rows, cols] *= (1 - above / 0.03).clamp_(0, 1)
    shade = lambert.mul_(DIFFUSE).add_(AMBIENT).unsqueeze(1)  # (N, 1, h, w) in [0.15, 1]

    # Albedo: skin, hair, then each feature inside its own box.
    albedo = skin.expand(n, 3, *height.shape[1:]).contiguous()
    rows = local(-1.0, 1.0, _HEAD_Y - 0.3, 1.0)[0]
    t = xa / head_ax
    hairline = _HEAD_Y + 0.42 - 0.62 * t * t - 0.05 * torch.cos(9 * xh) + 8 * (t - 0.97).clamp(0)
    _paint(albedo, (rows, slice(None)), _cover(hairline - yh[:, rows], pixel), _HAIR)
    rows, cols = box = local(-0.43, 0.43, _EYE_Y + 0.08, _EYE_Y + 0.24)  # brows
    xf, yf = xa[..., cols] - eye_x, yh[:, rows] - _EYE_Y - 0.155
    arch = yf - 0.03 * (1 - (xf / 0.12) ** 2) + 0.025 * xf / 0.12
    _paint(albedo, box, _cover(torch.maximum(arch.abs() - 0.022, xf.abs() - 0.12), pixel), _BROW)
    rows, cols = box = local(-0.4, 0.4, _EYE_Y - 0.09, _EYE_Y + 0.09)  # eyes: lids follow eyes_open
    xf, yf = xa[..., cols] - eye_x, yh[:, rows] - _EYE_Y
    lid = 0.002 + 0.064 * eyes_open
    _paint(albedo, box, _ellipse(xf, yf, 0.105, lid + 0.014, pixel), _LASH)
    opening = _ellipse(xf, yf, 0.1, lid, pixel)
    _paint(albedo, box, opening, _SCLERA)
    iris = (xf * xf + (yf + 0.005) ** 2).sqrt()
    _paint(albedo, box, _cover(iris - 0.045, pixel) * opening, _IRIS)
    _paint(albedo, box, _cover(iris - 0.02, pixel) * opening, _PUPIL)
    rows, cols = box = local(-0.13, 0.13, -0.26, -0.14)  # nostrils
    xf, yf = xa[..., cols] - 0.035 - 0.025 * nose, yh[:, rows] + 0.195 + 0.015 * nose
    _paint(albedo, box, _ellipse(xf, yf, 0.03, 0.016, pixel), skin * 0.45)

    # Mouth: lips around a centre line whose corners rise with the smile; the opening shows
    # a dark mouth with the upper teeth.
    rows, cols = box = local(-0.3, 0.3, _MOUTH_Y - 0.16, _MOUTH_Y + 0.13)
    xm, ym = xa[..., cols], yh[:, rows]
    half_w = 0.19 + 0.05 * smile
    t2 = (xm / half_w).clamp(max=1) ** 2
    dy = ym - _MOUTH_Y - (0.11 * smile - 0.03) * t2
    gap = (0.004 + 0.07 * mouth_open) * (1 - t2)
    lips = torch.maximum(dy.abs() - gap - 0.045 * (1 - 0.75 * t2), xm - half_w)
    _paint(albedo, box, _cover(lips, pixel), _LIP_PALE + lip.unsqueeze(1) * (_LIP_RED - _LIP_PALE))
    inside = _cover(torch.maximum(dy.abs() - gap, xm - 0.9 * half_w), pixel)
    _paint(albedo, box, inside, _MOUTH)
    teeth = _cover(torch.maximum(0.45 * gap - dy, xm - 0.55 * half_w), pixel) * inside
    _paint(albedo, box, teeth, _TEETH)

    if pose is None:
        image[:, :, hr, hc].lerp_(albedo.mul_(shade), mask.unsqueeze(1))
        return
    colour, mask = turn_head(albedo.mul_(shade), mask, height, pose, xh, yh - _HEAD_Y)
    region = image[:, :, hr, hc]
    region.mul_(1 - mask.unsqueeze(1)).add_(colour)  # colour is premultiplied by the coverage


def render(
    identity: torch.Tensor | Sequence[float],
    expression: torch.Tensor | Sequence[float],
    light: torch.Tensor | Sequence[float],
    size: int = 64,
    chunk: int | None = None,
    pose: torch.Tensor | Sequence[float] | None = None,
) -> torch.Tensor:
    """Render faces from their factors (on the CPU, deterministic, no gradients).

    Args:
        identity: (N, 5) or (5,) in [0, 1], columns :data:`IDENTITY_FACTORS`.
        expression: (N, 3) or (3,) in [0, 1], columns :data:`EXPRESSION_FACTORS`.
        light: (N, 2) or (2,) in degrees: azimuth in [-60, 60] (negative = light from the
            image's left), elevation in [-30, 30] (positive = from above).
        size: image side, a power of two >= 16 (32, 64 and 128 are the documented ones).
        chunk: faces rendered at once (bounds the memory of the intermediates); by default
            ``min(512, 2**20 // size**2)``, the fastest on 2 cores. The result does not depend
            on it.
        pose: ``None`` (frontal) or (N, 2) or (2,) in degrees: yaw in [-40, 40] (**positive =
            the face turns towards the image's right**, its nose moves right and its left
            cheek comes into view) and pitch in [-20, 20] (positive = the face turns up).
            The head turns on the neck about its centre while the lamp stays where it is, so
            a turned head is lit differently; its far side is hidden. A pose of exactly 0
            draws the same pixels as ``None``.

    Returns:
        (N, 3, size, size) float32 in [0, 1]; a 1-D factor is broadcast to the batch.
    """
    _check_size(size)
    ident = _as_batch(identity, "identity", len(IDENTITY_FACTORS))
    expr = _as_batch(expression, "expression", len(EXPRESSION_FACTORS))
    lit = _as_batch(light, "light", len(LIGHT_FACTORS))
    turn = None if pose is None else _as_batch(pose, "pose", len(POSE_FACTORS))
    batches = [ident, expr, lit] + ([] if turn is None else [turn])
    n = max(t.shape[0] for t in batches)
    named = [("identity", ident), ("expression", expr), ("light", lit), ("pose", turn)]
    for name, t in named[: len(batches)]:
        if t.shape[0] not in (1, n):
            raise ValueError(f"{name} has {t.shape[0]} rows but the batch has {n} (give 1 or {n})")
    _check_range(ident, "identity", IDENTITY_FACTORS, 0, 1)
    _check_range(expr, "expression", EXPRESSION_FACTORS, 0, 1)
    _check_range(lit[:, :1], "light", LIGHT_FACTORS[:1], *AZIMUTH_RANGE)
    _check_range(lit[:, 1:], "light", LIGHT_FACTORS[1:], *ELEVATION_RANGE)
    if turn is not None:
        _check_range(turn[:, :1], "pose", POSE_FACTORS[:1], *YAW_RANGE)
        _check_range(turn[:, 1:], "pose", POSE_FACTORS[1:], *PITCH_RANGE)
    chunk = _check_n(chunk, "chunk") if chunk is not None else max(1, min(512, 2**20 // size**2))
    ident, expr, lit = (t.expand(n, -1) for t in (ident, expr, lit))
    images = torch.empty(n, 3, size, size)
    # Frontal faces take the frontal path, whatever else is in the batch: a face's pixels
    # never depend on its neighbours, and a pose of 0 is bit-identical to no pose.
    turned = None if turn is None else (turn.expand(n, -1) != 0).any(1)
    with torch.no_grad():
        if turned is None or not bool(turned.any()):
            for i in range(0, n, chunk):
                part = slice(i, i + chunk)
                _render_chunk(ident[part], expr[part], lit[part], images[part])
            return images
        turn = turn.expand(n, -1)
        for group in (~turned, turned):
            rows = group.nonzero().flatten()
            out = torch.empty(len(rows), 3, size, size)
            for i in range(0, len(rows), chunk):
                part = rows[i : i + chunk]
                pose_part = turn[part] if group is turned else None
                _render_chunk(ident[part], expr[part], lit[part], out[i : i + chunk], pose_part)
            images[rows] = out
    return images


def _check_classes(n_classes: int, name: str = "n_classes") -> None:
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"{name} must be an int >= 2, got {n_classes!r}")


def light_class(azimuth: torch.Tensor | float, n_classes: int = 3) -> torch.Tensor:
    """Bin azimuths (degrees, negative = light from the image's left) into classes.

    Equal-width bins over [-60, 60]; values beyond are clamped into the outer bins. With 3
    classes: 0 left (< -20), 1 centre (``|azimuth| <= 20``), 2 right (> 20); a value on a border
    goes to the bin nearer 0, so the bins are symmetric. Returns int64 of the input's shape.
    """
    _check_classes(n_classes)
    az = torch.as_tensor(azimuth, dtype=torch.float64)
    lo, hi = AZIMUTH_RANGE
    pos = (az - lo) / ((hi - lo) / n_classes)
    cls = torch.where(az < 0, torch.floor(pos), torch.ceil(pos) - 1)
    return cls.clamp(0, n_classes - 1).to(torch.int64)


def class_azimuths(n_classes: int = 3) -> torch.Tensor:
    """(n_classes,) float32 azimuth (degrees) at the centre of each :func:`light_class` bin.

    Use it to render the ground truth of "relight to class k", e.g. [-40, 0, 40] for 3 classes.
    """
    _check_classes(n_classes)
    lo, hi = AZIMUTH_RANGE
    return lo + (torch.arange(n_classes, dtype=torch.float32) + 0.5) * (hi - lo) / n_classes


def random_identities(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, 5) float32 identity factors drawn uniformly in [0, 1] from ``generator``."""
    return torch.rand(_check_n(n), len(IDENTITY_FACTORS), generator=generator)


def random_expressions(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, 3) float32 expression factors drawn uniformly in [0, 1] from ``generator``."""
    return torch.rand(_check_n(n), len(EXPRESSION_FACTORS), generator=generator)


def random_lights(
    n: int,
    generator: torch.Generator | None = None,
    azimuth_range: tuple[float, float] = AZIMUTH_RANGE,
    elevation_range: tuple[float, float] = ELEVATION_RANGE,
) -> torch.Tensor:
    """(n, 2) float32 lights (azimuth, elevation in degrees) drawn uniformly in the ranges.

    The ranges must lie inside [-60, 60] and [-30, 30] with ``lo <= hi``.
    """
    for name, given, (min_, max_) in (
        ("azimuth_range", azimuth_range, AZIMUTH_RANGE),
        ("elevation_range", elevation_range, ELEVATION_RANGE),
    ):
        if len(given) != 2 or not min_ <= given[0] <= given[1] <= max_:
            raise ValueError(
                f"{name} must be (lo, hi) with {min_:g} <= lo <= hi <= {max_:g}, got {given!r}"
            )
    u = torch.rand(_check_n(n), 2, generator=generator)
    lo = torch.tensor([azimuth_range[0], elevation_range[0]])
    hi = torch.tensor([azimuth_range[1], elevation_range[1]])
    return lo + u * (hi - lo)


def random_poses(
    n: int,
    generator: torch.Generator | None = None,
    yaw_range: tuple[float, float] = YAW_RANGE,
    pitch_range: tuple[float, float] = PITCH_RANGE,
) -> torch.Tensor:
    """(n, 2) float32 head poses (yaw, pitch in degrees) drawn uniformly in the ranges.

    The ranges must lie inside [-40, 40] and [-20, 20] with ``lo <= hi``.
    """
    for name, given, (min_, max_) in (
        ("yaw", yaw_range, YAW_RANGE),
        ("pitch", pitch_range, PITCH_RANGE),
    ):
        if len(given) != 2 or not min_ <= given[0] <= given[1] <= max_:
            raise ValueError(
                f"{name} must be (lo, hi) with {min_:g} <= lo <= hi <= {max_:g}, got {given!r}"
            )
    u = torch.rand(_check_n(n), 2, generator=generator)
    lo = torch.tensor([yaw_range[0], pitch_range[0]])
    hi = torch.tensor([yaw_range[1], pitch_range[1]])
    return lo + u * (hi - lo)


def _people(identities: int | torch.Tensor | Sequence[str], g: torch.Generator) -> torch.Tensor:
    if isinstance(identities, int) and not isinstance(identities, bool):
        return random_identities(_check_n(identities, "identities"), g)
    if isinstance(identities, torch.Tensor):
        people = _as_batch(identities, "identities", len(IDENTITY_FACTORS))
        _check_range(people, "identities", IDENTITY_FACTORS, 0, 1)
        return people
    names = [identities] if isinstance(identities, str) else list(identities)
    if not names:
        raise ValueError("identities is empty: give an int >= 1, a (k, 5) tensor or names")
    unknown = [p for p in names if p not in PERSONS]
    if unknown:
        raise ValueError(f"identities: unknown names {unknown}; PERSONS has {sorted(PERSONS)}")
    return torch.stack([PERSONS[p] for p in names])


def _fixed(value: torch.Tensor | Sequence[float], name: str, width: int, n: int) -> torch.Tensor:
    t = _as_batch(value, name, width)
    if t.shape[0] not in (1, n):
        raise ValueError(
            f"{name} must have shape ({width},) or ({n}, {width}), got {tuple(t.shape)}"
        )
    return t.expand(n, -1)


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
    azimuths: Sequence[float] | torch.Tensor | None = None,
    yaw: tuple[float, float] = (0.0, 0.0),
    pitch: tuple[float, float] = (0.0, 0.0),
    pose: torch.Tensor | Sequence[float] | None = None,
) -> FaceSet:
    """Render ``n`` faces of a few people under random expressions and lights.

    Args:
        n: number of faces (> 0).
        size: image side, a power of two >= 16.
        identities: ``k`` (k random people drawn from the seed), a (k, 5) tensor of identity
            factors, or names from :data:`PERSONS` (e.g. ``["A", "B"]``). Face ``i`` is person
            ``i % k``, so people are balanced.
        seed: the same seed gives the same faces (a CPU ``torch.Generator``).
        n_light_classes: number (>= 2) of ``light_class`` bins over the azimuth range [-60, 60].
        azimuth_range, elevation_range: ranges of the random lights (degrees).
        expression: ``None`` for random expressions, or a fixed (3,) (or (n, 3)) expression.
        light: ``None`` for random lights, or a fixed (2,) (or (n, 2)) light.
        azimuths: a few fixed light positions (degrees), e.g. :func:`class_azimuths`: each
            face's azimuth is drawn uniformly from them (a studio with fixed lamps, like
            Extended Yale B), its elevation stays random.
        yaw, pitch: ranges (degrees, inside [-40, 40] and [-20, 20]) of random head poses,
            drawn uniformly after everything else (so the other factors of a seed do not
            change); the default (0, 0) is frontal, exactly as without pose.
        pose: ``None`` for random poses, or a fixed (2,) (or (n, 2)) [yaw, pitch] in degrees.

    Returns:
        A :class:`~sepviz.data.FaceSet`: images (n, 3, size, size) float32 in [0, 1]; factors:
        each name of :data:`IDENTITY_FACTORS`, :data:`EXPRESSION_FACTORS` and
        :data:`LIGHT_FACTORS` as float32 (n,), plus ``"identity"`` (int64 person index in
        [0, k)) and ``"light_class"`` (int64, :func:`light_class` of the azimuth); with a pose
        range other than (0, 0) or a fixed pose, also ``"yaw"`` and ``"pitch"`` (float32 (n,),
        degrees; left out otherwise, so frontal face sets keep their factors).
    """
    _check_n(n)
    _check_size(size)
    _check_classes(n_light_classes, "n_light_classes")
    g = torch.Generator().manual_seed(seed)
    people = _people(identities, g)
    person = torch.arange(n) % people.shape[0]
    ident = people[person]
    expr = (
        random_expressions(n, g) if expression is None else _fixed(expression, "expression", 3, n)
    )
    if light is None:
        lit = random_lights(n, g, azimuth_range, elevation_range)
        if azimuths is not None:
            choices = torch.as_tensor(azimuths, dtype=torch.float32).flatten()
            if choices.numel() == 0:
                raise ValueError("azimuths is empty: give at least one azimuth in degrees")
            _check_range(choices.view(-1, 1), "azimuths", LIGHT_FACTORS[:1], *AZIMUTH_RANGE)
            lit[:, 0] = choices[torch.randint(len(choices), (n,), generator=g)]
    else:
        lit = _fixed(light, "light", 2, n)
    turn = None
    if pose is not None:
        turn = _fixed(pose, "pose", 2, n)
    elif tuple(yaw) != (0.0, 0.0) or tuple(pitch) != (0.0, 0.0):
        turn = random_poses(n, g, yaw, pitch)
    images = render(ident, expr, lit, size, pose=turn)
    factors = {name: ident[:, i].contiguous() for i, name in enumerate(IDENTITY_FACTORS)}
    factors |= {name: expr[:, i].contiguous() for i, name in enumerate(EXPRESSION_FACTORS)}
    factors |= {name: lit[:, i].contiguous() for i, name in enumerate(LIGHT_FACTORS)}
    factors["identity"] = person
    factors["light_class"] = light_class(lit[:, 0], n_light_classes)
    if turn is not None:
        factors |= {name: turn[:, i].contiguous() for i, name in enumerate(POSE_FACTORS)}
    return FaceSet(images, factors)


def factor_matrix(faces: FaceSet, names: Sequence[str] = IDENTITY_FACTORS) -> torch.Tensor:
    """(N, len(names)) float32: the factors ``names`` of ``faces`` stacked as columns.

    With the default names this is the identity matrix :func:`render` takes; pass
    :data:`EXPRESSION_FACTORS` or :data:`LIGHT_FACTORS` for the other two.
    """
    missing = [k for k in names if k not in faces.factors]
    if missing:
        raise ValueError(f"names: faces has no factors {missing}; it has {sorted(faces.factors)}")
    return torch.stack([faces.factors[k].float() for k in names], dim=1)


def relit(
    faces: FaceSet, azimuth: float | torch.Tensor, elevation: float | torch.Tensor | None = None
) -> torch.Tensor:
    """Ground truth of a relight: ``faces`` re-rendered under a new azimuth (degrees).

    ``azimuth``/``elevation``: scalars or (N,); ``elevation=None`` keeps each face's own.
    Returns (N, 3, H, W) float32 in [0, 1].
    """
    n = len(faces)
    az = torch.as_tensor(azimuth, dtype=torch.float32).expand(n)
    el = faces.factors["elevation"] if elevation is None else elevation
    el = torch.as_tensor(el, dtype=torch.float32).expand(n)
    expr, size = factor_matrix(faces, EXPRESSION_FACTORS), faces.images.shape[-1]
    light = torch.stack([az, el], 1)
    return render(factor_matrix(faces), expr, light, size, pose=_pose_of(faces))


def swapped(faces: FaceSet, identity: torch.Tensor | str) -> torch.Tensor:
    """Ground truth of a face swap: ``faces`` with another identity ((5,) vector or a name).

    Expression, light and pose are each face's own. Returns (N, 3, H, W) float32 in [0, 1].
    """
    person = PERSONS[identity] if isinstance(identity, str) else identity
    expr, light = factor_matrix(faces, EXPRESSION_FACTORS), factor_matrix(faces, LIGHT_FACTORS)
    return render(person, expr, light, faces.images.shape[-1], pose=_pose_of(faces))


def _pose_of(faces: FaceSet) -> torch.Tensor | None:
    # (N, 2) [yaw, pitch] of posed faces; None for frontal ones (no pose factors).
    return factor_matrix(faces, POSE_FACTORS) if "yaw" in faces.factors else None


def posed(
    faces: FaceSet, yaw: float | torch.Tensor, pitch: float | torch.Tensor = 0.0
) -> torch.Tensor:
    """Ground truth of a head turn: ``faces`` (same identity, expression, light) at a new pose.

    ``yaw`` in [-40, 40], ``pitch`` in [-20, 20] (degrees, scalars or (N,); see
    :func:`render`). Returns (N, 3, H, W) float32 in [0, 1].
    """
    n = len(faces)
    turn = torch.stack([torch.as_tensor(a, dtype=torch.float32).expand(n) for a in (yaw, pitch)], 1)
    expr, light = factor_matrix(faces, EXPRESSION_FACTORS), factor_matrix(faces, LIGHT_FACTORS)
    return render(factor_matrix(faces), expr, light, faces.images.shape[-1], pose=turn)


def pixel_variance_by_factor(n: int = 256, size: int = 32, seed: int = 0) -> dict[str, float]:
    """How much each factor group moves the pixels: a variance decomposition of the renderer.

    For ``n`` random base faces, each group (identity, expression, light) is redrawn 4 times
    while the other two stay fixed; the mean per-pixel variance across redraws is that group's
    share. Returns ``{"identity": v1, "expression": v2, "light": v3}``, fractions summing to 1.
    """
    g = torch.Generator().manual_seed(seed)
    draws = (random_identities, random_expressions, random_lights)
    base = [draw(n, g) for draw in draws]
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
