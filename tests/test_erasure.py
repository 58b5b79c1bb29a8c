"""LEACE erases a concept from codes in closed form, and only that concept."""

from __future__ import annotations

import pytest
import torch

from sepviz.erasure import fit_leace
from sepviz.probes import probe


def codes(n: int = 900, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, 6) codes: 3 light classes written into mixed directions, plus an independent
    number (the "smile") in others; and the labels and the number."""
    g = torch.Generator().manual_seed(seed)
    light = torch.arange(n) % 3
    smile = torch.rand(n, generator=g)
    mix = torch.randn(6, 6, generator=g)
    z = torch.randn(n, 6, generator=g) * 0.3
    z[:, 0] += light.float() * 2.0  # the class, in the first direction
    z[:, 1] += (light == 1).float() * 1.5  # and nonlinearly in a second one
    z[:, 2] += smile * 3.0
    return z @ mix, light, smile


def test_erased_codes_have_no_covariance_with_the_classes() -> None:
    z, light, _ = codes()
    eraser = fit_leace(z, light)
    assert eraser.rank == 2  # 3 classes: 2 directions
    erased = eraser(z).double()
    onehot = torch.nn.functional.one_hot(light).double()
    cross = (erased - erased.mean(0)).T @ (onehot - onehot.mean(0)) / (len(z) - 1)
    assert cross.abs().max() < 1e-5
    # class means coincide: a linear probe is left at chance (scored on the fitted codes)
    before = probe(z, light, kind="linear", seed=0)
    after = probe(erased, light, kind="linear", seed=0)
    assert before.score > 0.95
    assert after.score < after.chance + 0.05


def test_what_is_independent_of_the_concept_stays() -> None:
    z, light, smile = codes()
    erased = fit_leace(z, light)(z)
    before = probe(z, smile, kind="linear", seed=0).score  # R² of the smile: 0.89
    assert probe(erased, smile, kind="linear", seed=0).score > before - 0.01
    assert (erased - z).norm() < z.norm()  # a small change, not a wipe


def test_erasing_twice_changes_nothing_more_and_floats_are_erased_too() -> None:
    z, _, smile = codes()
    eraser = fit_leace(z, smile)
    once = eraser(z)
    torch.testing.assert_close(eraser(once), once, atol=1e-4, rtol=0)
    centred = once.double() - once.double().mean(0)
    assert (centred.T @ (smile.double() - smile.double().mean())).abs().max() < 1e-5 * len(z)
    assert eraser.rank == 1


def test_bad_inputs_name_the_argument() -> None:
    z, light, _ = codes(30)
    with pytest.raises(ValueError, match=r"z must have shape \(N, D\) with N >= 2"):
        fit_leace(z[:1], light[:1])
    with pytest.raises(ValueError, match=r"concept must have shape \(30,\)"):
        fit_leace(z, light[:5])
    with pytest.raises(ValueError, match="z must be finite"):
        fit_leace(z * float("nan"), light)
    with pytest.raises(ValueError, match=r"z must have shape \(N, 6\)"):
        fit_leace(z, light)(z[:, :4])
