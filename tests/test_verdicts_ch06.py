"""Every branch of chapter 7's verdicts (sepviz.experiments.where_information_lives), from
hand-made numbers: the headline and every clause must agree with the numbers they print."""

from __future__ import annotations

import numpy as np
import pytest

from sepviz.experiments import Estimate
from sepviz.experiments.where_information_lives import (
    MIG_BAR,
    DecoderIdentity,
    Disentanglement,
    LatentProbes,
    LayerReads,
    PictureReads,
)

COVERED = (LatentProbes, PictureReads, Disentanglement, LayerReads, DecoderIdentity)


def est(value: float, half: float, unit: str = "") -> Estimate:
    return Estimate(value, value - half, value + half, unit)


def pct(value: float, half: float) -> Estimate:
    return est(value, half, "%")


# -- LatentProbes --------------------------------------------------------------------------
# identity: chance 50%, reading needs more than 55%
LATENT_CASES = {
    "both read": (pct(0.99, 0.01), pct(0.98, 0.01), True),
    "only the MLP reads": (pct(0.50, 0.02), pct(0.80, 0.05), True),
    "only the linear reads": (pct(0.90, 0.03), pct(0.54, 0.03), True),
    "both at chance": (pct(0.50, 0.02), pct(0.51, 0.02), True),
    "one covers the bar": (pct(0.55, 0.04), pct(0.50, 0.02), True),
    "not shared, at chance": (pct(0.50, 0.02), pct(0.51, 0.02), False),
    "one below chance": (pct(0.40, 0.02), pct(0.50, 0.02), True),
}


def latent(case: str) -> LatentProbes:
    linear, mlp, shared = LATENT_CASES[case]
    return LatentProbes(
        model="toy",
        factors=("identity", "light class", "azimuth"),
        classes=(True, True, False),
        linear=(linear, pct(0.90, 0.02), est(0.02, 0.03)),
        mlp=(mlp, pct(0.95, 0.02), est(0.05, 0.03)),
        pixels=(pct(1.0, 0.0), pct(0.97, 0.01), est(0.90, 0.02)),
        chance=(0.5, 0.34, 0.0),
        shared=shared,
    )


@pytest.mark.parametrize(
    ("case", "head", "readers", "claim"),
    [
        (
            "both read",
            "**Identity is in the toy latent**",
            "both probes read it",
            "contradicted",
        ),
        (
            "only the MLP reads",
            "**Identity is in the toy latent**",
            "the MLP probe reads it",
            "contradicted",
        ),
        (
            "only the linear reads",
            "**Identity is in the toy latent**",
            "the linear probe reads it",
            "contradicted",
        ),
        (
            "both at chance",
            "**The toy latent is identity-free**",
            "neither probe reads it, both are at chance.",
            "supported",
        ),
        (
            "one covers the bar",
            "**Not distinguishable** from the reading bar",
            "no probe reads",
            "neither supported nor contradicted",
        ),
        (
            "one below chance",
            "**The toy latent is identity-free**",
            "neither probe reads it, both are at or below chance.",
            "supported",
        ),
        (
            "not shared, at chance",
            "**The toy latent is identity-free**",
            "neither probe reads it",
            None,
        ),
    ],
)
def test_latent_probes_verdict(case: str, head: str, readers: str, claim: str | None) -> None:
    result = latent(case)
    text = result.verdict
    assert text.startswith(head) and readers in text
    linear, mlp, _ = LATENT_CASES[case]
    assert f"**{linear}**" in text and f"**{mlp}**" in text
    assert "chance 50%, reading needs more than 55%" in text
    assert "pixels 100% ± 0" in text
    states = result.readings("identity")
    assert f"**{linear}** of held-out faces ({states['linear probe'].value})" in text
    assert f"the MLP probe for **{mlp}** ({states['MLP probe'].value})" in text
    if claim is None:
        assert "blog" not in text
    else:
        assert f"decoders is {claim}" in text
    if "identity-free" in head:
        assert "Identity is in" not in text and "contradicted" not in text
    if "Identity is in" in head:
        assert "identity-free" not in text and "supported:" not in text
    # the other factors, each with its own reading word
    assert "light class 90% ± 2 (chance 34%, bar 41%: reads)" in text
    assert "azimuth R² 0.02 ± 0.03 (chance 0.00, bar 0.10: at chance)" in text
    assert "reads above" in result.table()


def test_latent_probes_never_judge_the_better_of_two_readers_only() -> None:
    result = latent("only the MLP reads")
    assert result.read_by("identity") == ["MLP probe"]
    assert not hasattr(result, "best")


# -- PictureReads --------------------------------------------------------------------------
# person: chance 12.5%; light class: chance 34%
PICTURE_CASES = {
    "light more completely": ((pct(0.60, 0.03), pct(0.97, 0.01)), "light class"),
    "person more completely": ((pct(0.97, 0.01), pct(0.60, 0.03)), "person"),
    "equally": ((pct(0.95, 0.01), pct(0.96, 0.01)), "equal"),
    "cannot tell": ((pct(0.80, 0.10), pct(0.90, 0.05)), "cannot tell"),
}


@pytest.mark.parametrize("case", PICTURE_CASES)
def test_picture_reads_verdict(case: str) -> None:
    scores, expected = PICTURE_CASES[case]
    result = PictureReads(("autoencoder",), ("person", "light class"), (scores,), ((0.125, 0.34),))
    text = result.verdict
    assert text.startswith("From the autoencoder picture an MLP probe reads person")
    assert f"person {scores[0]} (chance 12%" in text or f"person {scores[0]} (chance 13%" in text
    assert f"light class {scores[1]} (chance 34%" in text
    for f in range(2):
        assert f"{result.way(0, f)} of the way to perfect" in text
    if expected in ("person", "light class"):
        other = "light class" if expected == "person" else "person"
        assert f"it shows **{expected}** more completely than {other}" in text
        assert "equally" not in text and "cannot tell" not in text
    elif expected == "equal":
        assert "shows person and light class equally completely" in text
        assert "more completely than" not in text
    else:
        assert "the data cannot tell which factor it shows more completely" in text
        assert "**" not in text
    assert "best" not in text
    assert "of the way" in result.table()


def test_picture_reads_with_one_factor_compares_nothing() -> None:
    result = PictureReads(("m",), ("person",), ((pct(0.5, 0.05),),), ((0.125,),))
    assert result.verdict.endswith("(chance 12%: 43% ± 6 of the way to perfect; reads).")


def test_picture_reads_word_for_a_factor_at_chance() -> None:
    result = PictureReads(
        ("a", "b"),
        ("person", "light class"),
        ((pct(0.13, 0.01), pct(0.97, 0.01)), (pct(0.97, 0.01), pct(0.35, 0.02))),
        ((0.125, 0.34), (0.125, 0.34)),
    )
    text = result.verdict
    assert "From the a picture" in text and "From the b picture" in text
    assert "person 13% ± 1 (chance 12%: 1% ± 1 of the way to perfect; at chance)" in text
    assert "it shows **light class** more completely than person" in text
    assert "it shows **person** more completely than light class" in text


# -- Disentanglement -----------------------------------------------------------------------
def tangle(mig: Estimate, rotated: Estimate, smile: Estimate) -> Disentanglement:
    return Disentanglement(
        model="toy",
        factors=("identity", "smile"),
        mig=mig,
        rotated=rotated,
        mig_per_factor=(mig.value, mig.value),
        best_unit=(3, 7),
        informativeness_per_factor=(pct(0.99, 0.01), smile),
        chance=(0.125, 0.0),
        disentanglement=0.31,
        completeness=0.27,
        informativeness=est((0.99 + smile.value) / 2, 0.02),
        importance=np.ones((8, 2)),
    )


READ = est(0.80, 0.03)
DISENTANGLEMENT_CASES = [
    # mig, rotated, smile informativeness, head, rotation clause, all there
    (
        est(0.60, 0.05),
        est(0.02, 0.01),
        READ,
        "**The toy latent is disentangled**",
        "more aligned with the factors than random directions",
        True,
    ),
    (
        est(0.03, 0.01),
        est(0.025, 0.005),
        READ,
        "**No unit of the toy latent holds a factor alone**",
        "no more aligned with the factors than random directions",
        True,
    ),
    (
        est(0.19, 0.03),
        est(0.02, 0.01),
        READ,
        "**Not distinguishable** from the disentanglement bar",
        "more aligned with the factors than random directions",
        True,
    ),
    (
        est(0.01, 0.005),
        est(0.08, 0.01),
        READ,
        "**No unit of the toy latent holds a factor alone**",
        "less aligned with the factors than random directions",
        True,
    ),
    (
        est(0.05, 0.02),
        est(0.03, 0.02),
        READ,
        "**No unit of the toy latent holds a factor alone**",
        "is not distinguishable",
        True,
    ),
    (
        est(0.10, 0.02),
        est(0.02, 0.01),
        est(0.08, 0.01),
        "**No unit of the toy latent holds a factor alone**",
        "more aligned",
        False,
    ),
    (
        est(0.10, 0.02),
        est(0.02, 0.01),
        est(0.08, 0.03),
        "**No unit of the toy latent holds a factor alone**",
        "more aligned",
        False,
    ),
]


@pytest.mark.parametrize(
    ("mig", "rotated", "smile", "head", "rotation", "all_there"), DISENTANGLEMENT_CASES
)
def test_disentanglement_verdict(
    mig: Estimate, rotated: Estimate, smile: Estimate, head: str, rotation: str, all_there: bool
) -> None:
    result = tangle(mig, rotated, smile)
    text = result.verdict
    assert text.startswith(head)
    assert f"MIG {mig} (bar {MIG_BAR:g})" in text
    assert rotation in text and f"{rotated} for a random rotation" in text
    assert ("the latent is entangled" in text) == ("no more aligned" in rotation)
    assert "DCI disentanglement 0.31 and completeness 0.27 (one fit, no interval)" in text
    if all_there:
        assert "the factors are all there" in text and "read every factor" in text
    else:
        assert "all there" not in text and "every factor" not in text
        assert "DCI's trees read identity from the latent" in text
        word = result.reads(1).value
        assert word in ("at chance", "not distinguishable")
        assert f"not smile R² {smile} (chance 0.00, bar 0.10): {word}" in text
    if head.startswith("**The toy latent is disentangled"):
        assert "No unit" not in text
    assert "z3" in result.table() and "z7" in result.table()


def test_disentanglement_informativeness_at_0_08_is_not_all_there() -> None:
    """The brief's case: informativeness 0.08 once read as "the factors are all there"."""
    text = tangle(est(0.03, 0.01), est(0.025, 0.005), est(0.08, 0.01)).verdict
    assert "all there" not in text and ": at chance" in text


# -- LayerReads ----------------------------------------------------------------------------
def layers(identity: tuple[float, float, float], light: tuple[float, float, float]) -> LayerReads:
    names = ("enc1", "enc2", "dec1")
    scores = tuple((pct(i, 0.02), pct(c, 0.02)) for i, c in zip(identity, light))
    return LayerReads(names, ("identity", "light class"), scores, (0.5, 0.34), "A")


@pytest.mark.parametrize(
    ("identity", "light", "expected"),
    [
        (
            (1.0, 0.99, 0.98),
            (0.9, 0.9, 0.8),
            ("**identity** at every block", "**light class** at every block"),
        ),
        (
            (1.0, 0.52, 0.90),
            (0.9, 0.35, 0.8),
            ("**identity** at 2 of 3 blocks", "**light class** at 2 of 3 blocks"),
        ),
        (
            (0.5, 0.5, 0.5),
            (0.34, 0.34, 0.34),
            ("**identity** at 0 of 3 blocks", "**light class** at 0 of 3 blocks"),
        ),
    ],
)
def test_layer_reads_verdict(
    identity: tuple[float, float, float],
    light: tuple[float, float, float],
    expected: tuple[str, str],
) -> None:
    result = layers(identity, light)
    text = result.verdict
    assert text.startswith("A linear probe reads ")
    for clause in expected:
        assert clause in text
    assert f"latent {pct(identity[1], 0.02)}" in text
    assert f"lowest in decoder A: {pct(identity[2], 0.02)} at dec1" in text
    assert "chance 50%, reading needs more than 55%" in text
    assert "chance 34%, reading needs more than 41%" in text
    assert result.readable("identity") == [
        n for n, s in zip(result.layers, identity) if s - 0.02 > 0.55
    ]


def test_layer_reads_without_decoder_blocks_names_no_lowest_block() -> None:
    result = LayerReads(("enc1", "enc2"), ("identity",), ((pct(1, 0),), (pct(1, 0),)), (0.5,), "A")
    assert "lowest" not in result.verdict and "every block" in result.verdict


# -- DecoderIdentity -----------------------------------------------------------------------
def decoders(a_on_b: Estimate, b_on_a: Estimate, latent: Estimate) -> DecoderIdentity:
    db = est(25.0, 0.3, "dB")
    rows = (
        ("A", "A", db, db, pct(0.99, 0.01)),
        ("A", "B", db, db, a_on_b),
        ("B", "A", db, db, b_on_a),
        ("B", "B", db, db, pct(0.99, 0.01)),
    )
    blocks = LayerReads(
        ("enc1", "enc2", "dec1"),
        ("identity",),
        ((pct(1, 0),), (latent,), (pct(1, 0),)),
        (0.5,),
        "A",
    )
    return DecoderIdentity(("A", "B"), rows, blocks)


HIGH, LOW, HALF = pct(0.9, 0.05), pct(0.1, 0.05), pct(0.5, 0.1)
DECODER_CASES = [
    (
        HIGH,
        HIGH,
        pct(0.99, 0.01),
        "**The decoders' weights carry identity**",
        "identity lives in both places",
    ),
    (
        HIGH,
        HIGH,
        pct(0.5, 0.02),
        "**The decoders' weights carry identity**",
        "identity lives in the decoders",
    ),
    (
        LOW,
        LOW,
        pct(0.99, 0.01),
        "**The decoders' weights do not carry identity**",
        "also tells the persons apart",
    ),
    (
        HIGH,
        HALF,
        pct(0.99, 0.01),
        "**Not distinguishable** from half for decoder B",
        "identity lives in both places",
    ),
    (
        HIGH,
        LOW,
        pct(0.5, 0.02),
        "**Only decoder A of A and B draws its own person.**",
        "identity lives in the decoders",
    ),
    (
        HIGH,
        HIGH,
        pct(0.55, 0.04),
        "**The decoders' weights carry identity**",
        "tells the persons apart is not distinguishable",
    ),
]


@pytest.mark.parametrize(("a_on_b", "b_on_a", "latent", "head", "where"), DECODER_CASES)
def test_decoder_identity_verdict(
    a_on_b: Estimate, b_on_a: Estimate, latent: Estimate, head: str, where: str
) -> None:
    result = decoders(a_on_b, b_on_a, latent)
    text = result.verdict
    assert text.startswith(head) and where in text
    assert f"decoder A draws B's faces nearer A for **{a_on_b}** of them" in text
    assert f"decoder B draws A's faces nearer B for **{b_on_a}** of them" in text
    assert "the lower of the decoders" not in text
    assert f"({latent}, chance 50%, reading needs more than 55%" in text
    if "do not carry" in head:
        assert "both places" not in text and "lives in the decoders" not in text
    if "lives in the decoders" in where:
        assert "also tells the persons apart" not in text
    assert "nearer its decoder's person" in result.table()


def test_latent_probes_of_identity_alone_list_no_other_factor() -> None:
    result = LatentProbes(
        model="toy",
        factors=("identity",),
        classes=(True,),
        linear=(pct(0.99, 0.01),),
        mlp=(pct(0.98, 0.01),),
        pixels=(pct(1.0, 0.0),),
        chance=(0.5,),
        shared=True,
    )
    text = result.verdict
    assert text.startswith("**Identity is in the toy latent**") and "both probes read it" in text
    assert "Linear probes on the latent" not in text
