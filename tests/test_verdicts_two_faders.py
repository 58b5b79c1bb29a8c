"""Every branch of the two faders' verdict (:class:`~sepviz.experiments.fadernet.CrossTalk`),
from hand-made Estimates: the headline and every clause agree with the numbers.

Effects are shares of the truth's own effect: a slider *moves* its factor when its whole
interval lies above 0.1 (a tenth of the truth's), and its effect on the other factor is *as
the truth's* when the gap to the truth lies within ±0.1 (CROSS_MARGIN).
"""

from __future__ import annotations

import dataclasses

import pytest

from sepviz.experiments import Estimate, Order, Reading
from sepviz.experiments.fadernet import CROSS_MARGIN, CROSS_VALUES, CrossTalk

COVERED = (CrossTalk,)


def e(value: float, half: float = 0.03, unit: str = "", runs: int = 1) -> Estimate:
    return Estimate(value, value - half, value + half, unit, runs)


def bold(text: str) -> list[str]:
    return text.split("**")[1::2]


def shift(estimate: Estimate, by: float) -> Estimate:
    return Estimate(estimate.value + by, estimate.low + by, estimate.high + by, estimate.unit)


TRUTH = (e(1.0, 0.01), e(0.05, 0.01), e(-0.20, 0.02), e(1.0, 0.01))  # yaw moves the light


GOOD = {"light": e(0.9), "yaw": e(0.8), "light_leak": e(0.02), "yaw_leak": e(0.01)}


def talk(**changed: Estimate) -> CrossTalk:
    """A result whose light slider moves the light by ``light`` and the measured yaw by the
    truth's plus ``light_leak``, and the other way round (``GOOD`` unless ``changed``)."""
    light, yaw, light_leak, yaw_leak = ({**GOOD, **changed}[k] for k in GOOD)
    effect = (light, shift(light_leak, TRUTH[1].value), shift(yaw_leak, TRUTH[2].value), yaw)
    gap = (light - TRUTH[0], light_leak, yaw_leak, yaw - TRUTH[3])  # paired, as cross_talk's
    return CrossTalk(
        values=CROSS_VALUES,
        effect=effect,
        truth=TRUTH,
        gap=gap,
        psnr=(e(27.1, 0.3, "dB"), e(24.0, 0.4, "dB")),
        light_scale=0.41,
        yaw_scale=38.5,
    )


@pytest.mark.parametrize(
    ("kw", "head", "own", "cross"),
    [
        (
            {},
            "Two faders, no cross-talk",
            (Reading.READS, Reading.READS),
            (Order.EQUAL, Order.EQUAL),
        ),
        (
            {"yaw_leak": e(-0.4)},
            "Each slider moves its own factor, but the yaw slider leaks into the other",
            (Reading.READS, Reading.READS),
            (Order.EQUAL, Order.WORSE),
        ),
        (
            {"light_leak": e(0.5), "yaw_leak": e(0.3)},
            "Each slider moves its own factor, but the light and yaw sliders leak into the other",
            (Reading.READS, Reading.READS),
            (Order.BETTER, Order.BETTER),
        ),
        (
            {"light_leak": e(0.1, 0.05)},
            "Each slider moves its own factor; whether the light slider also moves the other is "
            "not distinguishable",
            (Reading.READS, Reading.READS),
            (Order.NOT_DISTINGUISHABLE, Order.EQUAL),
        ),
        (
            {"yaw": e(-0.5)},
            "The yaw slider moves its factor the wrong way.",
            (Reading.READS, Reading.BELOW_CHANCE),
            (Order.EQUAL, Order.EQUAL),
        ),
        (
            {"light": e(0.03), "yaw": e(0.1, 0.05)},
            "The light slider does not move its factor; whether the yaw slider moves its factor "
            "is not distinguishable.",
            (Reading.AT_CHANCE, Reading.NOT_DISTINGUISHABLE),
            (Order.EQUAL, Order.EQUAL),
        ),
    ],
)
def test_cross_talk_verdict(
    kw: dict[str, Estimate], head: str, own: tuple[Reading, ...], cross: tuple[Order, ...]
) -> None:
    result = talk(**kw)
    assert result.own() == own and result.cross() == cross
    verdict = result.verdict
    assert bold(verdict)[0].startswith(head), bold(verdict)[0]
    if own == (Reading.READS, Reading.READS) and cross != (Order.EQUAL, Order.EQUAL):
        assert f"beyond {CROSS_MARGIN:g}" in verdict or "not distinguishable" in verdict
    # every clause names both sliders' own and cross effects, the truth and the PSNR
    for k, name in enumerate(("light", "yaw")):
        assert f"The {name} slider moves the measured {name} by **{result.effect[3 * k]}**" in (
            verdict
        )
        assert f"the renderer's: {result.truth[k + 1]}" in verdict
        assert f"PSNR against the rendered truth {result.psnr[k]}" in verdict
    assert "0.41 per unit of y" in verdict and "38.5° per unit" in verdict
    assert "training runs" not in verdict
    words = {
        Order.EQUAL: "within 0.1 of it",
        Order.BETTER: "more than it, beyond 0.1",
        Order.WORSE: "less than it, beyond 0.1",
        Order.NOT_DISTINGUISHABLE: "not distinguishable from ±0.1",
    }
    for order in cross:
        assert words[order] in verdict


def test_cross_talk_table_and_runs() -> None:
    one = talk()
    table = one.table()
    assert table.splitlines()[0] == (
        "|  | measured light | truth | measured yaw | truth | PSNR vs truth |"
    )
    assert "| light slider | 0.90 ± 0.03 | 1.00 ± 0.01 | 0.07 ± 0.03 | 0.05 ± 0.01 |" in table
    assert "| yaw slider | -0.19 ± 0.03 | -0.20 ± 0.02 | 0.80 ± 0.03 | 1.00 ± 0.01 |" in table
    other = dataclasses.replace(talk(light=e(0.7)), light_scale=0.43)
    both = CrossTalk.over_runs([one, other])
    assert both.effect[0].runs == 2 and both.effect[0].value == pytest.approx(0.8)
    assert both.light_scale == pytest.approx(0.42)
    assert "over 2 training runs" in both.verdict
    assert set(both.spreads()) == {
        "light slider → measured light",
        "light slider → measured yaw",
        "light slider, PSNR",
        "yaw slider → measured light",
        "yaw slider → measured yaw",
        "yaw slider, PSNR",
    }
    with pytest.raises(ValueError, match="at least 2 training runs"):
        CrossTalk.over_runs([one])
