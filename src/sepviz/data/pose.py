"""Turning a head: the warp that :func:`sepviz.data.synthetic.render` applies to a head drawn
in its own frame, for faces with a pose (yaw, pitch).

Kept apart from the renderer on purpose: a frontal face never runs this code (a pose of exactly
0 takes the renderer's frontal path, bit for bit), so the models trained on frontal faces do
not depend on it, and the zoo's training-code fingerprint (:data:`sepviz.zoo.TRAINING_CODE`)
leaves it out. A model trained on turned heads names this file in its cache key
(``zoo.cached(..., code=("data/pose.py",))``), so changing the warp retrains exactly those.
"""

from __future__ import annotations

import torch


def head_light(
    lx: torch.Tensor, ly: torch.Tensor, lz: torch.Tensor, pose: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The world light ``(lx, ly, lz)`` ((N, 1, 1) each) seen from a head turned by ``pose``
    (N, 2) [yaw, pitch] degrees: the inverse of the head's rotation (yaw about the vertical
    axis, then pitch about the horizontal one), so shading in the head's frame equals shading
    the turned head."""
    yaw, pitch = torch.deg2rad(pose).T.reshape(2, -1, 1, 1)
    cy, sy, cp, sp = torch.cos(yaw), torch.sin(yaw), torch.cos(pitch), torch.sin(pitch)
    v, z1 = ly * cp - lz * sp, ly * sp + lz * cp  # undo the pitch, then the yaw
    return lx * cy - z1 * sy, v, lx * sy + z1 * cy


_HIDDEN = -1e4  # the x of a sample cut off from view: below any real x


def _smooth_lines(values: torch.Tensor, weight: torch.Tensor, radius: int) -> torch.Tensor:
    # values (B, L, K) averaged over lines within ``radius`` by a triangle, weighted by
    # ``weight`` (B, L, 1) (0 for lines without a head, which take no part).
    total, norm = values * weight * (radius + 1), weight * (radius + 1)
    for k in range(1, radius + 1):
        share = radius + 1 - k
        total[:, k:] += values[:, :-k] * weight[:, :-k] * share
        total[:, :-k] += values[:, k:] * weight[:, k:] * share
        norm[:, k:] += weight[:, :-k] * share
        norm[:, :-k] += weight[:, k:] * share
    return total / norm.clamp(min=1e-6)


def _turn_lines(
    table: torch.Tensor,
    base: torch.Tensor,
    stride: int,
    depth: torch.Tensor,
    cover: torch.Tensor,
    pos: torch.Tensor,
    sin: torch.Tensor,
    cos: torch.Tensor,
    first_pass: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    # Turn a surface about the axis pos = 0, depth = 0, line by line (an orthographic view:
    # each line turns in its own plane): the height field ``depth`` (B, L, n) at ``pos`` (n,)
    # ascending with a constant step. A point at (pos, depth) moves to x = pos cos + depth
    # sin, depth' = depth cos - pos sin; the output pixels sit at x = pos. Where a rim turns
    # into view the back of the head, the front mirrored about the rim's depth, fills the
    # outline out to the silhouette. In the first pass (the yaw, rows of the head's own height
    # field) the rim lies at depth 0; in the second (the pitch, at most 20 degrees, columns of
    # the turned depth) its depth is measured, and the back only added where the rim crosses
    # the columns (top of the head, chin) and by at most what a turned head grows.
    #
    # Samples are rows of ``table`` (M, C): colour premultiplied by the coverage, then the
    # coverage (``cover`` (B, L, n), the table's last column); sample i of line l of face b is
    # row base[b, l] + i * stride. This call writes each line's rim colour (opaque) to rows
    # [M - 1 - B * L, M - 1) and over the line's rim sample, and reads the last row as empty
    # (zeros). Returns, for the output pixels (B, L, n) each: the table rows to blend (near,
    # far; int32), far's weight and, in the first pass, the new depth.
    b, lines, n = depth.shape
    step = float(pos[1] - pos[0])
    rim_row, empty = table.shape[0] - 1 - b * lines, table.shape[0] - 1
    # A "logical" order in which every head turns the positive way (sin >= 0): the lines of a
    # head turning the other way are read backwards, positions negated. Only single-channel
    # arrays are reversed, never the table.
    neg = (sin < 0).view(b, 1, 1)
    s, c = sin.abs().view(b, 1, 1), cos.view(b, 1, 1)
    p = torch.where(neg, -pos.flip(0), pos)  # (B, 1, n) ascending
    i = torch.arange(n)

    def physical(index: torch.Tensor) -> torch.Tensor:
        return torch.where(neg, n - 1 - index, index)

    # The sequence seen along a line: an empty sample, the silhouette and the edge (both in the
    # rim's colour), the front (n samples), an empty sample past the last.
    seq_x = depth.new_empty(b, lines, n + 4)
    front_x = seq_x[..., 3:-1]
    x = torch.addcmul(pos * cos.view(b, 1, 1), depth, sin.view(b, 1, 1))
    torch.where(neg, x.flip(-1).neg_(), x, out=front_x)

    # The rim that turns into view: the first sample at least half covered, f; its edge lies
    # where the coverage (linear across the edge) crosses 1/2, between f - 1 and f.
    inside = (cover >= 0.5).to(torch.int16)
    rank = torch.arange(n, 0, -1, dtype=torch.int16)  # n - i: the first inside sample's is most
    first = n - (inside * rank).amax(-1, keepdim=True)
    last = (inside * rank.flip(0)).amax(-1, keepdim=True)  # i + 1 of the last: n for none
    has = first < n
    f = torch.where(has, torch.where(neg, n - last, first), 0).long()  # logical; 0 for none
    f0, f1 = (f - 1).clamp_(min=0), (f + 1).clamp_(max=n - 1)
    pf = p.expand(b, lines, n).gather(-1, f)
    m0, mf = cover.gather(-1, physical(f0)), cover.gather(-1, physical(f))
    pe = pf - ((mf - 0.5) / (mf - m0).clamp(min=0.5)).clamp_(0, 1) * step
    w = has.to(depth.dtype)
    if first_pass:
        d_rim = torch.zeros_like(pe)
        # The back of the head from the line's middle to the rim: its x is 2 pos cos - x of
        # the front. Its part from the silhouette (where x is least) to the rim faces the
        # viewer; it is drawn in the rim's colour.
        half = n // 2 + 1
        back_x = torch.sub(p[..., :half] * (2 * c), front_x[..., :half])
        back_x.masked_fill_((i[:half] < f) | ~has, torch.inf)
    else:
        # The rim's depth: near a rim a smooth surface's depth grows as the square root of
        # the distance from it, which puts the rim's depth from the samples f and f + 1 (f's
        # own depth misses it by up to the rise over half a pixel); smoothed over lines.
        df, df1 = depth.gather(-1, physical(f)), depth.gather(-1, physical(f1))
        u = ((pf - pe) / (pf - pe + step)).sqrt_()
        d_rim = torch.minimum((df - u * df1) / (1 - u), df)
        d_rim = _smooth_lines(d_rim, w, round(0.06 / step))
        half = n // 2 + 1
        back_x = torch.addcmul(p[..., :half] * c, d_rim, s).mul_(2).sub_(front_x[..., :half])
        back_x.masked_fill_((i[:half] < f) | ~has, torch.inf)
    edge_x = torch.where(has, pe * c + d_rim * s, front_x[..., :1] - step)
    sil_x, a = back_x.min(-1, keepdim=True)
    if not first_pass:
        # Only where the rim runs across the lines (the top of the head, the chin), not where
        # a line leaves the head through its side, and by no more than a head (0.8 deep)
        # turned by at most 20 degrees grows.
        ends = torch.cat([f[:, :1], f, f[:, -1:]], 1)
        across = (ends[:, 2:] - ends[:, :-2]).abs_() <= 2
        grow = 0.8 * (1 - c) + 0.1 * s * s
        sil_x = torch.where(across, torch.maximum(sil_x, edge_x - grow), edge_x)
    back = sil_x < edge_x
    seq_x[..., 1:2] = torch.where(back, sil_x, edge_x)
    seq_x[..., :1] = seq_x[..., 1:2] - step / 2
    seq_x[..., 2:3] = edge_x
    front_x.masked_fill_(i < f, _HIDDEN)  # the back covers the front's samples before the rim
    top, top_at = seq_x[..., :-1].max(-1, keepdim=True)
    seq_x[..., -1:] = top + step

    # Visibility: looking along the turned direction, a sample is seen when its x is at least
    # that of every sample before it (the horizon test); the seen x form the running maximum,
    # a monotone map inverted by search. A hidden sample's index in the running maximum is
    # that of the one hiding it, so that an occluder's edge blends over one pixel.
    reach, front = seq_x.cummax(-1)
    # The search: output pixel o (at p[0] + o step) comes after the k(o) samples whose reach
    # is below it, those with floor((reach - p[0]) / step) < o: a histogram and its running
    # sum (several times faster than torch.searchsorted).
    bins = (reach - p[..., :1]).div_(step).floor_().add_(1).clamp_(0, n).long()
    count = torch.zeros(b, lines, n + 1, dtype=torch.int64)
    count.scatter_add_(-1, bins, torch.ones_like(bins))
    k = count[..., :n].cumsum(-1)
    k = torch.where(neg, k.flip(-1), k).clamp_(1, n + 3)  # in the pixels' physical order
    lo, hi = reach.gather(-1, k - 1), reach.gather(-1, k)
    t = (torch.where(neg, -pos, pos) - lo).div_((hi - lo).clamp_(min=1e-12)).clamp_(0, 1)
    near = front.gather(-1, k - 1)  # the sample at k is seen (the running maximum rises there)

    depth_out = None
    if first_pass:  # the new depth, for the next pass
        seq_z = depth.new_empty(b, lines, n + 4)
        z = torch.addcmul(
            depth * cos.view(b, 1, 1), pos.expand(b, 1, n), sin.view(b, 1, 1), value=-1
        )
        front_z = torch.where(neg, z.flip(-1), z, out=seq_z[..., 3:-1])
        # The back's depth at the silhouette: -d cos - pos sin = -z of the front - 2 pos sin.
        pa = p.expand(b, lines, n).gather(-1, a)
        sil_z = torch.addcmul(-front_z.gather(-1, a), pa, s, value=-2)
        seq_z[..., 2:3] = -pe * s
        seq_z[..., 1:2] = torch.where(back, sil_z, seq_z[..., 2:3])
        seq_z[..., :1] = seq_z[..., 1:2]
        seq_z[..., -1:] = seq_z.gather(-1, top_at)
        depth_out = torch.lerp(seq_z.gather(-1, near), seq_z.gather(-1, k), t)

    # The rim colour: the hue of a sample a little inside the rim (in the first pass, past
    # the ear) at the brightness of the one next to the rim (so that the back of the head
    # meets the front without a seam), opaque, smoothed over neighbouring lines (the shading
    # at a rim, from finite differences, wobbles from line to line). It also replaces the
    # rim sample's own colour.
    inward = max(1, round(0.08 / step)) if first_pass else 1
    fk = (f + inward).clamp_(max=n - 1)
    inner = table.index_select(0, (base + physical(torch.cat([f1, fk], -1)) * stride).view(-1))
    inner = inner.view(b, lines, 2, -1)
    colour = inner[..., :-1] / inner[..., -1:].clamp(min=1e-6)  # (B, L, 2, 3)
    light = colour.mean(-1)
    gain = (light[..., :1] / light[..., 1:].clamp(min=1e-6)).clamp_(0.5, 1.5)
    rims = torch.cat([colour[..., 1, :] * gain, torch.ones_like(gain)], -1)
    rims = _smooth_lines(rims, w, max(1, round(0.03 / step))).mul_(w).view(b * lines, -1)
    table[rim_row:empty] = rims
    table[torch.where(has, base + physical(f) * stride, empty).view(-1)] = rims

    # Table rows of the sequence's samples: the rim's, the front's, empty.
    rim = rim_row + torch.arange(b * lines, dtype=torch.int32).view(b, lines, 1)
    seq_id = torch.empty(b, lines, n + 4, dtype=torch.int32)
    torch.add(base.int(), physical(i.int()), alpha=stride, out=seq_id[..., 3:-1])
    seq_id[..., 1:3] = rim
    seq_id[..., :: n + 3] = empty
    return seq_id.gather(-1, near), seq_id.gather(-1, k), t, depth_out


def turn_head(
    colour: torch.Tensor,
    mask: torch.Tensor,
    height: torch.Tensor,
    pose: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn the shaded head (``colour`` (N, 3, h, w), coverage ``mask`` and ``height`` field
    (N, h, w) on the grid ``x`` (1, 1, w), ``y`` (1, h, 1), relative to the head's centre) by
    ``pose`` (N, 2) degrees: yaw about the vertical axis (rows move independently), then pitch
    about the horizontal one (columns move independently). Returns the colour premultiplied by
    the coverage, (N, 3, h, w), and the coverage (N, h, w).

    The height field is the front of the head; where a rim turns into view, the back of the
    head (the front mirrored about the rim, drawn in the colour just inside the rim) fills the
    outline out to the whole head's silhouette. The rim itself is located to a fraction of a
    pixel from the coverage, so that the few pixels next to it, spread over many when the head
    turns, stay in step from row to row (no streaks)."""
    n, h, w = mask.shape
    yaw, pitch = torch.deg2rad(pose).T
    # Each pass resamples the rows of a table: the pixels (N, h, w) in row-major order with
    # their 4 channels side by side (one gather fetches a pixel), a rim colour per line, and an
    # empty row.
    table = colour.new_empty(n * h * w + n * h + 1, 4)
    grid = table[: n * h * w].view(n, h, w, 4)
    torch.mul(colour, mask.unsqueeze(1), out=grid[..., :3].permute(0, 3, 1, 2))
    grid[..., 3] = mask
    table[-1] = 0
    rows = torch.arange(n * h).view(n, h, 1) * w
    near, far, t, depth = _turn_lines(
        table, rows, 1, height, mask, x.flatten(), torch.sin(yaw), torch.cos(yaw), True
    )
    assert depth is not None
    turned = colour.new_empty(n * h * w + n * w + 1, 4)
    grid = turned[: n * h * w].view(n, h, w, 4)
    turned[-1] = 0
    _blend(table, near, far, t, grid)
    # Columns: positions run down the image, so a face turned up (pitch > 0) moves to -pos.
    columns = (torch.arange(n).view(n, 1, 1) * h * w) + torch.arange(w).view(1, w, 1)
    near, far, t, _ = _turn_lines(
        turned,
        columns,
        w,
        depth.transpose(1, 2),
        grid[..., 3].transpose(1, 2),
        -y.flatten(),
        -torch.sin(pitch),
        torch.cos(pitch),
        False,
    )
    out = colour.new_empty(n, w, h, 4)  # column by column, as computed
    _blend(turned, near, far, t, out)
    return out[..., :3].permute(0, 3, 2, 1), out[..., 3].transpose(1, 2)


def _blend(
    table: torch.Tensor, near: torch.Tensor, far: torch.Tensor, t: torch.Tensor, out: torch.Tensor
) -> None:
    # out (..., C) = the table's rows near (...) and far (...) blended by t (...), one gather.
    # A pixel's 4 float32 channels read as one complex128: gathering whole pixels is several
    # times faster than gathering rows of 4.
    pixels = table.view(torch.complex128).view(-1)
    rows = pixels.index_select(0, torch.stack([near, far]).view(-1))
    rows = torch.view_as_real(rows).view(torch.float32).view(2, *out.shape)
    torch.lerp(rows[0], rows[1], t.unsqueeze(-1), out=out)
