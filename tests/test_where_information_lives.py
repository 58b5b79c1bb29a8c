"""Chapter 7's experiments (sepviz.experiments.where_information_lives) on codes whose answer
is known by design: tiny images, hand-made codes, an untrained model. Every branch of the
verdicts is run from hand-made numbers in tests/test_verdicts_ch06.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sepviz.data.synthetic import make_faces
from sepviz.experiments import where_information_lives as wil
from sepviz.models import DeepFakes


def admonition_only(result: object) -> str:
    """The result's Markdown: one admonition, and no line that starts with "Verdict:"."""
    text = result._repr_markdown_()  # type: ignore[attr-defined]
    assert text.startswith("```{admonition} Verdict\n")
    assert not any(line.lstrip().startswith("Verdict:") for line in text.splitlines())
    return text


@pytest.fixture(scope="module")
def faces_ab():
    return make_faces(120, size=16, identities=["A", "B"], seed=0)


def test_latent_probes_find_identity_in_a_code_that_holds_it(faces_ab) -> None:
    g = torch.Generator().manual_seed(0)
    ident = torch.nn.functional.one_hot(faces_ab.factors["identity"], 2).float()
    z = torch.cat([ident, faces_ab.factors["azimuth"][:, None] / 60], 1)
    z = z + 0.05 * torch.randn(len(z), 3, generator=g)
    two = {"identity": "identity", "azimuth": "azimuth"}
    reads = wil.latent_probes(z, faces_ab, "toy", factors=two, shared=True)
    assert reads.classes == (True, False) and "light class" in wil.FACTORS
    assert reads.read_by("identity") == ["linear probe", "MLP probe"]
    assert reads.chance[0] == 0.5
    text = admonition_only(reads)
    assert "Identity is in the toy latent" in text and "contradicted" in text
    assert "pixels (linear)" in reads.table()


def test_latent_probes_call_a_noise_code_identity_free(faces_ab) -> None:
    z = torch.randn(len(faces_ab), 4, generator=torch.Generator().manual_seed(1))
    reads = wil.latent_probes(z, faces_ab, "noise", factors={"identity": "identity"})
    assert reads.read_by("identity") == []
    assert "identity-free" in reads.verdict or "Not distinguishable" in reads.verdict
    assert "Identity is in" not in reads.verdict


def test_layer_reads_intervals_and_readable_blocks() -> None:
    rows = [
        {"layer": n, "factor": "identity", "score": s, "score_std": 0.01, "chance": 0.5}
        for n, s in (("enc1", 0.99), ("enc2", 0.55), ("dec1", 0.9))
    ]
    layers = wil.layer_reads(rows, decoder="A")
    e = layers.score("enc1", "identity")
    # t(4) = 2.776; sample std = 0.01 * sqrt(5/4); half = 2.776 * that / sqrt(5)
    assert e.high - e.value == pytest.approx(2.776 * 0.01 * (5 / 4) ** 0.5 / 5**0.5, rel=1e-3)
    assert layers.latent == "enc2" and layers.decoder_blocks == ["dec1"]
    assert layers.readable("identity") == ["enc1", "dec1"]
    assert "A linear probe reads **identity** at 2 of 3 blocks" in admonition_only(layers)


def test_disentangled_factors_score_high_mig_and_beat_a_rotation() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(600, generator=g), torch.rand(600, generator=g)
    z = torch.stack([a, b, torch.rand(600, generator=g)], 1)
    result = wil.disentanglement(z, {"a": a, "b": b}, "toy")
    assert result.mig.above(0.5) and result.best_unit == (0, 1)
    assert result.mig.low <= result.mig.value <= result.mig.high
    assert result.rotated.value < result.mig.value
    text = admonition_only(result)
    assert "The toy latent is disentangled" in text and "the factors are all there" in text
    assert result.importance.shape == (3, 2)
    assert all(i.low > 0.9 for i in result.informativeness_per_factor)


def test_a_rotated_code_is_entangled_but_informative() -> None:
    g = torch.Generator().manual_seed(0)
    factors = {"a": torch.rand(600, generator=g), "b": torch.randint(0, 3, (600,), generator=g)}
    code = torch.stack([factors["a"], factors["b"].float() / 2], 1)
    turn = torch.tensor([[0.6, -0.8], [0.8, 0.6]])
    z = torch.cat([code @ turn, 0.01 * torch.randn(600, 2, generator=g)], 1)
    result = wil.disentanglement(z, factors, "turned")
    assert result.mig.below(wil.MIG_BAR)
    assert result.chance[1] == pytest.approx(factors["b"].bincount().max().item() / 600)
    assert result.informativeness_per_factor[1].unit == "%"
    assert "No unit of the turned latent holds a factor alone" in result.verdict


def test_decoder_identity_runs_on_a_tiny_model(faces_ab) -> None:
    torch.manual_seed(0)
    model = DeepFakes(identities=["A", "B"], image_size=16, latent_dim=8).eval()
    rows = [
        {"layer": n, "factor": "identity", "score": 0.8, "score_std": 0.0, "chance": 0.5}
        for n in ("enc1", "dec1")
    ]
    weights = wil.decoder_identity(model, faces_ab[:40], wil.layer_reads(rows, "A"))
    assert len(weights.rows) == 4 and weights.persons == ("A", "B")
    assert all(0 <= r[4].value <= 1 for r in weights.rows)
    assert [(d, p) for d, p, _ in weights.other_inputs()] == [("A", "B"), ("B", "A")]
    admonition_only(weights)


def test_chapter_6_no_longer_builds_hybrid_decoders() -> None:
    """Hybrids are chapter 4's experiment (deepfakes.layer_swap), measured once."""
    assert not hasattr(wil, "HybridDecoders") and not hasattr(wil, "hybrid_decoders")
    assert not hasattr(wil, "fast_mig") and not hasattr(wil, "MARGIN")


def test_umap_palette_gives_one_colour_per_value_across_panels() -> None:
    from matplotlib.colors import to_hex

    from sepviz.viz import umap_scatter

    people, lights = set(wil.PALETTE["person"].values()), set(wil.PALETTE["light class"].values())
    assert not people & lights
    emb = np.random.default_rng(0).normal(size=(6, 2))
    colour_by = {
        "person": np.array(["A", "B", "A", "B", "A", "B"]),
        "light class": np.array(["left", "centre", "right", "left", "centre", "right"]),
    }
    fig = umap_scatter(emb, colour_by, palette=wil.PALETTE)
    for ax, name in zip(fig.axes, colour_by):
        for handle, text in zip(*ax.get_legend_handles_labels()):
            got = to_hex(handle.get_facecolor()[0])
            assert got == to_hex(wil.PALETTE[name][text])
    with pytest.raises(ValueError, match="no colour"):
        umap_scatter(emb, {"person": np.array(["Z"] * 6)}, palette=wil.PALETTE)
