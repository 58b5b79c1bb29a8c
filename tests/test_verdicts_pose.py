"""Table-driven verdict tests of the pose results (issue 23): the swap's pose transfer
(chapter 4), retrieval on the pose and the bank size (chapter 8).

Each result is built from hand-made Estimates (no training, no rendering) and every branch of
its verdict is run: the bold headline and the clauses after it must agree with the numbers.
"""

from __future__ import annotations

import dataclasses

import pytest

from sepviz.experiments import DB_MARGIN, Estimate
from sepviz.experiments.deepfakes import (
    KEEPS,
    LOSES,
    PARTLY,
    POSE_KEPT,
    POSE_LOST,
    UNDECIDED,
    WORKS_DB,
    PoseTransfer,
)
from sepviz.experiments.relight_by_swap import (
    FINDS,
    FOUND,
    RANDOM,
    SHORT,
    WORSE,
    BankSize,
    PoseRetrieval,
)
from sepviz.experiments.relight_by_swap import UNDECIDED as NOT_DECIDED

COVERED = (PoseTransfer, PoseRetrieval, BankSize)


def pct(value: float, half: float = 0.03, runs: int = 1) -> Estimate:
    return Estimate(value, value - half, value + half, "%", runs)


def num(value: float, half: float = 0.02) -> Estimate:
    return Estimate(value, value - half, value + half, "")


def db(value: float, half: float = 0.2, runs: int = 1) -> Estimate:
    return Estimate(value, value - half, value + half, "dB", runs)


def bold(text: str) -> list[str]:
    """The bold phrases of a verdict, in order."""
    return text.split("**")[1::2]


# -- chapter 4: does the swap keep the pose? ---------------------------------------------------
def transfer(
    yaw: Estimate,
    smile: Estimate | None = None,
    light: Estimate | None = None,
    posed_minus_frontal: Estimate | None = None,
    gain: Estimate | None = None,
) -> PoseTransfer:
    smile = smile if smile is not None else pct(0.5)
    light = light if light is not None else pct(0.97)
    return PoseTransfer(
        source="A",
        target="B",
        factors=("yaw", "smile", "azimuth"),
        crossed=(yaw, smile, light),
        r=(num(0.9), num(0.4), num(0.95)),
        r_truth=(num(0.99), num(0.8), num(0.97)),
        yaw_slope=num(yaw.value),
        truth_yaw_slope=num(1.0),
        to_posed=db(27.0),
        to_frontal=db(24.0),
        unchanged=db(20.0),
        mean_face=db(23.0),
        gain=gain if gain is not None else db(4.0),
        posed_minus_frontal=posed_minus_frontal if posed_minus_frontal is not None else db(3.0),
        yaw_range=(-30.0, 30.0),
    )


@pytest.mark.parametrize(
    ("yaw", "state", "head"),
    [
        (pct(0.97), KEEPS, "The swap keeps A's pose."),
        (pct(0.03), LOSES, "The swap does not keep A's pose"),
        (pct(-0.2), LOSES, "The swap does not keep A's pose"),  # turned the other way
        (pct(0.55), PARTLY, "The swap keeps A's pose only in part."),
        (pct(0.9, 0.05), UNDECIDED, "Not distinguishable"),
        (pct(0.1, 0.05), UNDECIDED, "Not distinguishable"),
        (pct(0.5, 0.5), UNDECIDED, "Not distinguishable"),  # covers both bars
    ],
)
def test_pose_transfer_head_follows_the_share_of_the_yaw(
    yaw: Estimate, state: str, head: str
) -> None:
    result = transfer(yaw)
    assert result.kept("yaw") == state
    verdict = result.verdict
    assert bold(verdict)[0].startswith(head)
    assert f"**{yaw}** crosses" in verdict and "(-30° to +30°)" in verdict
    assert f"more than {POSE_KEPT:.0%}" in verdict and f"less than {POSE_LOST:.0%}" in verdict
    if state == UNDECIDED:
        covered = [f"{b:.0%}" for b in (POSE_LOST, POSE_KEPT) if yaw.covers(b)]
        assert f"from the {' and the '.join(covered)} bar" in verdict
    assert "training runs" not in verdict


def test_pose_transfer_names_the_other_factors_next_to_the_pose() -> None:
    result = transfer(pct(0.97), smile=pct(0.02), light=pct(0.5))
    assert result.kept("smile") == LOSES and result.kept("azimuth") == PARTLY
    text = result.verdict
    assert f"expression (smile) {pct(0.02)} ({LOSES})" in text
    assert f"light {pct(0.5)} ({PARTLY})" in text
    table = result.table()
    assert "| pose (yaw) | 97% ± 3 |" in table and table.count("\n") == 5 + 1 + 5
    with pytest.raises(ValueError, match="factor must be one of"):
        result.transfer("pitch")
    alone = dataclasses.replace(
        result, factors=("yaw",), crossed=(pct(0.97),), r=(num(0.9),), r_truth=(num(0.99),)
    )
    assert "Next to it" not in alone.verdict


@pytest.mark.parametrize(
    ("difference", "said"),
    [
        (db(3.0), "closer to B at A's pose than facing the camera"),
        (db(-2.0), "closer to B facing the camera than at A's pose: it straightens the head"),
        (
            db(0.1, 0.2),
            f"as close to B facing the camera as to B at A's pose, within ±{DB_MARGIN:g}",
        ),
        (db(0.5, 0.3), "is not distinguishable"),
    ],
)
def test_pose_transfer_says_which_truth_the_swap_is_nearer(difference: Estimate, said: str) -> None:
    text = transfer(pct(0.97), posed_minus_frontal=difference).verdict
    assert said in text
    assert "B facing the camera 24.0 dB ± 0.2" in text


@pytest.mark.parametrize(
    ("gain", "said"),
    [
        (db(4.0), "the swap works"),
        (db(0.3), "the swap does not work"),
        (db(WORKS_DB, 0.3), "not distinguishable from the bar"),
    ],
)
def test_pose_transfer_says_whether_the_swap_works(gain: Estimate, said: str) -> None:
    result = transfer(pct(0.97), gain=gain)
    assert f"above {WORKS_DB:g} dB: {said})" in result.verdict
    assert result.baseline == "B's mean face"  # 23.0 dB against the input's 20.0
    unchanged_best = dataclasses.replace(result, unchanged=db(25.0))
    assert unchanged_best.baseline == "the input unchanged"


def test_pose_transfer_over_runs_keeps_what_no_model_changes() -> None:
    one, two = transfer(pct(0.9)), transfer(pct(1.0), smile=pct(0.4))
    both = PoseTransfer.from_runs([one, two])
    assert both.transfer("yaw").runs == 2 and both.transfer("yaw").value == pytest.approx(0.95)
    assert both.unchanged == one.unchanged and both.r_truth == one.r_truth
    assert both.per_run == (one, two)
    # 90% and 100% from two runs: the run-to-run spread (t with 1 degree of freedom) covers 90%
    assert both.verdict.startswith("**Not distinguishable** from the 90% bar over 2 training runs.")
    assert len(both.spreads()) == 3
    with pytest.raises(ValueError, match="single-run"):
        PoseTransfer.from_runs([one])


# -- chapter 8: retrieval on the pose ----------------------------------------------------------
@pytest.mark.parametrize(
    ("progress", "status", "head"),
    [
        (pct(0.8), FOUND, "Retrieval in the latent finds A's pose."),
        (pct(FINDS, 0.1), NOT_DECIDED, "Not distinguishable"),
        (pct(0.3), SHORT, "Retrieval finds A's pose only part of the way."),
        (pct(0.02), RANDOM, "Retrieval does not find A's pose"),
        (pct(-0.3), WORSE, "Retrieval does not find A's pose"),
    ],
)
def test_pose_retrieval_verdict(progress: Estimate, status: str, head: str) -> None:
    result = PoseRetrieval(
        picked=num(6.0, 0.5),
        random=num(20.0, 0.8),
        best=num(0.5, 0.1),
        gain=num(14.0, 0.6),
        progress=progress,
        bank_size=1500,
    )
    assert result.status() == status
    text = result.verdict
    assert bold(text)[0] == head
    assert "6.0° ± 0.5 from A's yaw" in text and "random B photo under the lamp 20.0° ± 0.8" in text
    assert f"**{progress}** of the way" in text and "1500 photos" in text
    if status == RANDOM:
        assert "no better than a random B photo" in text
    if status == WORSE:
        assert "worse than a random B photo" in text
    assert "| best in bank | 0.5° ± 0.1 |" in result.table()


# -- chapter 8: what does "B in every pose" cost? ----------------------------------------------
@pytest.mark.parametrize(
    ("gain", "head"),
    [
        (db(1.5), "A larger bank relights A better"),
        (db(0.1, 0.1), "A larger bank does not relight A better"),
        (db(-1.5), "A larger bank relights A worse"),
        (db(0.5, 0.3), "Not distinguishable"),
    ],
)
@pytest.mark.parametrize(
    ("yaw_gain", "moved"),
    [(num(5.0), "falls"), (num(-3.0), "rises"), (num(0.1, 0.5), "does not move distinguishably")],
)
def test_bank_size_verdict(gain: Estimate, head: str, yaw_gain: Estimate, moved: str) -> None:
    result = BankSize(
        sizes=(90, 360, 1440),
        relit=(db(22.0), db(22.5), db(23.0)),
        yaw_error=(num(9.0, 0.5), num(6.0, 0.5), num(4.0, 0.5)),
        unchanged=db(20.0),
        gain=gain,
        yaw_gain=yaw_gain,
        lamps=3,
    )
    text = result.verdict
    assert bold(text)[0] == head
    assert "from 90 to 1440 photographs of B (about 480 per lamp)" in text
    assert f"{gain} (22.0 dB ± 0.2 → 23.0 dB ± 0.2; the input unchanged 20.0 dB ± 0.2)" in text
    assert f"the miss {moved}" in text and "9.0° ± 0.5 with the smallest bank" in text
    table = result.table()
    assert table.count("\n") == 2 + 3 and "| 360 | 120 |" in table
