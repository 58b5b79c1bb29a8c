"""The ladder of readers gives the known answers of issue 14 on synthetic codes."""

from __future__ import annotations

import pytest
import torch

from sepviz.erasure import fit_leace
from sepviz.experiments.hidden_or_removed import READERS, read_ladder


def light_codes(n: int, nonlinear: bool, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 8) codes and 3 light classes: the class written along one direction (linear), or
    as the distance from the centre in a plane (nonlinear: no direction separates the
    classes, a circle does)."""
    g = torch.Generator().manual_seed(seed)
    light = torch.arange(n) % 3
    z = torch.randn(n, 8, generator=g) * 0.2
    if nonlinear:
        angle = torch.rand(n, generator=g) * 6.2832
        radius = 1.0 + light.float()
        z[:, 0] += radius * torch.cos(angle)
        z[:, 1] += radius * torch.sin(angle)
    else:
        z[:, 0] += light.float()
    mix = torch.linalg.qr(torch.randn(8, 8, generator=g))[0]  # spread over every unit
    return z @ mix, light


def split(z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    half = len(z) // 2
    return z[:half], y[:half], z[half:], y[half:]


def test_leace_brings_every_linear_reader_to_chance_on_a_linear_light() -> None:
    z, light = light_codes(1200, nonlinear=False)
    plain = read_ladder(*split(z, light), "plain", readers=("linear", "whitened linear"))
    assert plain.reads("linear") and plain.reads("whitened linear")
    erased = fit_leace(z, light)(z)  # fitted on every code the readers see
    ladder = read_ladder(*split(erased, light), "LEACE", readers=("linear", "whitened linear"))
    for reader, score in zip(ladder.readers, ladder.scores):
        assert score.low <= ladder.chance + 0.05, f"{reader}: {score}"
    assert ladder.verdict.startswith("**Removed for every reader**")


def test_the_mlp_still_reads_a_nonlinear_light_after_leace() -> None:
    z, light = light_codes(1200, nonlinear=True)
    erased = fit_leace(z, light)(z)
    ladder = read_ladder(*split(erased, light), "LEACE", readers=("linear", "MLP"))
    assert not ladder.reads("linear")
    assert ladder.reads("MLP") and ladder.scores[1].low > ladder.chance + 0.25
    assert ladder.verdict.startswith("**Hidden, not removed** (LEACE): linear at chance")


def test_the_post_hoc_adversary_reads_a_plain_code_as_well_as_the_linear_probe() -> None:
    z, light = light_codes(900, nonlinear=False, seed=1)
    ladder = read_ladder(*split(z, light), "lambda = 0", seed=0)
    assert ladder.readers == READERS
    linear, adversary = ladder.scores[0], ladder.scores[3]
    assert adversary.value >= linear.value - 0.03
    assert ladder.verdict.startswith("**Not removed, not hidden**")
    assert "| chance |" in ladder.table()


def test_bad_inputs() -> None:
    z, light = light_codes(60, nonlinear=False)
    with pytest.raises(ValueError, match="one class per code"):
        read_ladder(z, light[:10], z, light, "x")
    with pytest.raises(ValueError, match="reader must be one of"):
        read_ladder(z, light, z, light, "x", readers=("kernel",))
