"""Chapters 0 and 1: what the renderer's factors do to the pixels, before any model.

- :func:`pixel_shares`: how much of the pixel variance each factor group (identity,
  expression, light) causes, with an interval over independent sets of faces (chapter 0).
- :func:`light_sweep`: does the measured left/right light of a face rise with the lamp's
  azimuth, as a physical light must (chapter 1)?
- :func:`pose_shares`: the same shares when heads turn too, with the pose as a fourth group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from sepviz.experiments import Estimate, Result, bootstrap_mean, from_folds, markdown_table

GROUP_COLOURS = {
    "identity": "tab:blue",
    "expression": "tab:green",
    "light": "tab:orange",
    "pose": "tab:purple",
}


@dataclass(frozen=True)
class PixelShares(Result):
    """The share of the per-pixel variance each factor group causes when it alone is redrawn:
    the mean over ``repeats`` independent sets of faces, with a t interval over the sets."""

    groups: tuple[str, ...]
    shares: tuple[Estimate, ...]
    repeats: int
    n_faces: int

    def share(self, group: str) -> Estimate:
        """The share of ``group`` (a fraction in [0, 1], unit ``"%"``)."""
        return self.shares[self.groups.index(group)]

    @property
    def ranked(self) -> list[tuple[str, Estimate]]:
        """``(group, share)`` pairs, the largest share first."""
        return sorted(zip(self.groups, self.shares), key=lambda gs: -gs[1].value)

    @property
    def verdict(self) -> str:
        (top, first), (runner, second) = self.ranked[:2]
        others = ", ".join(f"{g} {s}" for g, s in self.ranked[1:])
        facts = (
            f"Redrawing {top} alone causes **{first}** of the pixel variance; {others} "
            f"(means over {self.repeats} independent sets of {self.n_faces} faces, 95% "
            "intervals)."
        )
        # the shares of one set sum to 1, so they are not independent: the head asks for
        # intervals that do not overlap, not for a difference whose interval adds them
        if first.low <= second.high:
            return (
                f"**Not distinguishable**: the intervals of {top} and {runner} overlap, so "
                f"which of them moves more pixels is not decided. {facts}"
            )
        return f"**{top.capitalize()} moves the most pixels.** {facts}"

    def table(self) -> str:
        rows = [(g, s) for g, s in self.ranked]
        return markdown_table(("factor group redrawn", "share of the pixel variance"), rows)

    def plot(self) -> object:
        """Bars of the shares with their intervals; returns the figure."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3))
        values = [100 * s.value for s in self.shares]
        err = [
            [100 * (s.value - s.low) for s in self.shares],
            [100 * (s.high - s.value) for s in self.shares],
        ]
        colours = [GROUP_COLOURS.get(g, "tab:grey") for g in self.groups]
        ax.bar(list(self.groups), values, yerr=err, capsize=4, color=colours)
        ax.set_title("Pixel variance caused by each factor group")
        ax.set_xlabel("factor group redrawn")
        ax.set_ylabel("share of pixel variance (%)")
        fig.tight_layout()
        return fig


def pixel_shares(n: int = 512, size: int = 32, seed: int = 0, repeats: int = 4) -> PixelShares:
    """Split ``n`` base faces into ``repeats`` independent sets (seeds ``seed``, ``seed + 1``,
    ...) and measure :func:`sepviz.data.synthetic.pixel_variance_by_factor` on each.

    Args:
        n: base faces in all (each set has ``n // repeats``; each is redrawn 4 times per group).
        size: image side in pixels.
        seed: the first set's seed.
        repeats: independent sets (>= 2), for the interval.
    """
    from sepviz.data.synthetic import pixel_variance_by_factor

    if repeats < 2 or n // repeats < 2:
        raise ValueError(f"need repeats >= 2 sets of >= 2 faces, got n={n}, repeats={repeats}")
    runs = [pixel_variance_by_factor(n // repeats, size, seed + r) for r in range(repeats)]
    groups = tuple(runs[0])
    shares = tuple(from_folds([run[g] for run in runs], "%") for g in groups)
    return PixelShares(groups, shares, repeats, n // repeats)


def _variance_with_pose(n: int, size: int, seed: int, yaw: tuple[float, float]) -> dict[str, float]:
    """:func:`sepviz.data.synthetic.pixel_variance_by_factor` with a fourth group, the pose
    (yaw drawn in ``yaw``, pitch 0): each group redrawn 4 times while the other three stay."""
    from sepviz.data import synthetic

    g = torch.Generator().manual_seed(seed)
    draws = (
        synthetic.random_identities,
        synthetic.random_expressions,
        synthetic.random_lights,
        lambda k, gen: synthetic.random_poses(k, gen, yaw, (0.0, 0.0)),
    )
    base = [draw(n, g) for draw in draws]
    shares = {}
    for k, group in enumerate(("identity", "expression", "light", "pose")):
        images = []
        for _ in range(4):
            factors = list(base)
            factors[k] = draws[k](n, g)
            images.append(synthetic.render(*factors[:3], size=size, pose=factors[3]))
        shares[group] = float(torch.stack(images).var(dim=0).mean())
    total = sum(shares.values())
    return {k: v / total for k, v in shares.items()}


def pose_shares(
    n: int = 512,
    size: int = 32,
    seed: int = 0,
    repeats: int = 4,
    yaw: tuple[float, float] = (-30.0, 30.0),
) -> PixelShares:
    """:func:`pixel_shares` for faces whose heads turn: the pose (yaw drawn uniformly in
    ``yaw`` degrees, inside [-40, 40]; pitch 0) is a fourth group, redrawn alone like the
    others. Compare with :func:`pixel_shares` (frontal faces) to see what the pose takes from
    the other groups' shares."""
    if repeats < 2 or n // repeats < 2:
        raise ValueError(f"need repeats >= 2 sets of >= 2 faces, got n={n}, repeats={repeats}")
    if not -40.0 <= yaw[0] < yaw[1] <= 40.0:
        raise ValueError(f"yaw must be a range (lo, hi), lo < hi, inside [-40, 40], got {yaw}")
    runs = [_variance_with_pose(n // repeats, size, seed + r, yaw) for r in range(repeats)]
    groups = tuple(runs[0])
    shares = tuple(from_folds([run[g] for run in runs], "%") for g in groups)
    return PixelShares(groups, shares, repeats, n // repeats)


PHYSICAL_SHARE = 0.95
"""The light sweep is *physical in the sense the book needs* when the whole interval of the
share of random faces whose left/right asymmetry rises at every step of the sweep lies above
95%: chapters 8 to 10 read the light of a face from that asymmetry, and a light meter that
misorders the lamps of more than 1 face in 20 would blur every comparison made with it."""


@dataclass(frozen=True)
class LightSweep(Result):
    """The left/right luminance asymmetry ``(R - L) / (R + L)`` of one face rendered under a
    sweep of lamp azimuths (degrees, negative: light from the image's left), and the share of
    ``n_random`` random faces (people, expressions, elevations) whose asymmetry rises at every
    step (None: no random faces were swept). The head is decided on that share's interval
    against :data:`PHYSICAL_SHARE`; the one face is an example beside it."""

    azimuths: tuple[float, ...]
    asymmetry: tuple[float, ...]
    rising: Estimate | None = None
    n_random: int = 0

    @property
    def falls(self) -> list[int]:
        """The steps ``i`` (azimuth ``i`` to ``i + 1``) where the one face's asymmetry does
        not rise."""
        a = self.asymmetry
        return [i for i in range(len(a) - 1) if not a[i + 1] > a[i]]

    @property
    def verdict(self) -> str:
        if self.rising is None:
            return (
                f"**Not measured**: no random faces were swept, and one face cannot show "
                f"that the sweep is physical. {self._one_face()}"
            )
        share = (
            f"the measured left/right asymmetry rises at every step as the lamp moves right "
            f"for **{self.rising}** of {self.n_random:,} random faces (people, expressions "
            f"and elevations drawn at random, 95% bootstrap interval; the bar is "
            f"{PHYSICAL_SHARE:.0%})"
        )
        if self.rising.covers(PHYSICAL_SHARE):
            head = f"**Not distinguishable** from the {PHYSICAL_SHARE:.0%} bar: {share}."
        elif self.rising.above(PHYSICAL_SHARE):
            head = f"**The light sweep is physical in the sense the book needs**: {share}."
        else:
            head = f"**The light sweep is not physical for enough faces**: {share}."
        return f"{head} {self._one_face()}"

    def _one_face(self) -> str:
        a, az = self.asymmetry, self.azimuths
        span = f"from {a[0]:+.2f} at {az[0]:+.0f}° to {a[-1]:+.2f} at {az[-1]:+.0f}°"
        if not self.falls:
            return f"For the face shown it rises at every step across its {len(az)} lamps, {span}."
        steps = ", ".join(f"{az[i]:+.0f}° → {az[i + 1]:+.0f}°" for i in self.falls)
        return f"For the face shown it fails to rise at {steps} ({span})."

    def table(self) -> str:
        header = ("azimuth", *(f"{z:+.0f}°" for z in self.azimuths))
        return markdown_table(header, [("asymmetry", *(f"{v:+.2f}" for v in self.asymmetry))])


def light_sweep(
    images: torch.Tensor, azimuths: Sequence[float], random_faces: int = 200, seed: int = 0
) -> LightSweep:
    """The asymmetry of ``images`` (N, 3, H, W) in [0, 1], one face rendered under each of
    the N ``azimuths`` (in rising order); then ``random_faces`` random faces (0: none) rendered
    at 32 px under the same azimuths, each with its own elevation: the share whose asymmetry
    rises at every step, with a bootstrap interval over the faces."""
    from sepviz.data import synthetic
    from sepviz.data.real import lighting_pseudo_label
    from sepviz.experiments.measures import rises

    az = [float(a) for a in torch.as_tensor(azimuths).flatten().tolist()]
    if len(az) != len(images) or len(az) < 2:
        raise ValueError(f"need one azimuth per image (>= 2), got {len(az)} for {len(images)}")
    score, _ = lighting_pseudo_label(images)
    rising = None
    if random_faces > 0:
        g = torch.Generator().manual_seed(seed)
        identity = synthetic.random_identities(random_faces, g).repeat_interleave(len(az), 0)
        expression = synthetic.random_expressions(random_faces, g).repeat_interleave(len(az), 0)
        elevation = synthetic.random_lights(random_faces, g)[:, 1].repeat_interleave(len(az))
        azimuth = torch.tensor(az).repeat(random_faces)
        many = synthetic.render(identity, expression, torch.stack([azimuth, elevation], 1), 32)
        scores = lighting_pseudo_label(many)[0].reshape(random_faces, len(az))
        rising = bootstrap_mean(rises(scores).double(), "%", seed)
    return LightSweep(tuple(az), tuple(float(s) for s in score), rising, max(0, random_faces))
