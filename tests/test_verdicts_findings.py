"""The closing chapter's tables (sepviz.experiments.findings), from hand-made results.

Every result is built from its dataclass with chosen Estimates (no training, no rendering):
each cell of the factor map and each claim is checked branch by branch, and where the
chapter's own verdict says the same thing in words, the two are checked to agree.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from test_verdicts_pose import transfer  # chapter 4's pose transfer, as its own tests build it

from sepviz import zoo
from sepviz.experiments import Estimate, Result
from sepviz.experiments import findings as F
from sepviz.experiments.autoencoder_vs_pca import AutoencoderVsPCA
from sepviz.experiments.decoder_per_light import DesignComparison
from sepviz.experiments.deepfakes import (
    KEEPS,
    LOSES,
    PARTLY,
    UNDECIDED,
    IdentityProbe,
    PoseTransfer,
    SwapQuality,
)
from sepviz.experiments.fadernet import CrossTalk, FactorsKept, LightRemoval
from sepviz.experiments.generative import MODELS, Generation
from sepviz.experiments.hidden_or_removed import READERS, Comparison, Ladder, lambda_name
from sepviz.experiments.measures import SliderCheck
from sepviz.experiments.real_faces import RAMP, LightResponse
from sepviz.experiments.relight_by_swap import COLUMNS, IdeaOne, RetrievalMatch
from sepviz.experiments.where_information_lives import (
    FACTORS as PROBE_FACTORS,
)
from sepviz.experiments.where_information_lives import (
    DecoderIdentity,
    LatentProbes,
    LayerReads,
)

COVERED = (F.FactorMap, F.Claims)  # the Result classes whose verdicts this file tests

ROOT = Path(__file__).resolve().parents[1]
S = F.Status
YES, NO, IN_PART, CANT = S.YES, S.NO, S.IN_PART, S.CANT_TELL
HOLDS, FAILS, NOT_MEASURED = S.HOLDS, S.FAILS, S.NOT_MEASURED


def pct(value: float, half: float = 0.02) -> Estimate:
    return Estimate(value, value - half, value + half, "%")


def num(value: float, half: float = 0.02) -> Estimate:
    return Estimate(value, value - half, value + half, "")


def db(value: float, half: float = 0.2) -> Estimate:
    return Estimate(value, value - half, value + half, "dB")


# -- hand-made results -------------------------------------------------------------------------
def identity_probe(identity: Estimate) -> IdentityProbe:
    # identity: 2 classes, chance 50%, reading needs more than 55%
    return IdentityProbe(
        factors=("identity", "light_class", "smile"),
        latent=(identity, pct(0.9), num(0.8)),
        pixels=(pct(0.99), pct(0.95), num(0.9)),
        chance=(0.5, 0.34, 0.0),
    )


READ_CLASS, READ_R2, SMILE_R2, AT_CHANCE = pct(0.9), num(0.8), num(0.7), pct(0.5)
SPAN = num(0.5, 0.1)


def latent_probes(
    light_class: Estimate = READ_CLASS,
    azimuth: Estimate = READ_R2,
    smile: Estimate = SMILE_R2,
    identity: Estimate = AT_CHANCE,
    yaw: Estimate | None = None,
) -> LatentProbes:
    factors = ["identity", "light class", "azimuth", "smile"]
    linear = [identity, light_class, azimuth, smile]
    chance = [0.5, 0.34, 0.0, 0.0]
    if yaw is not None:
        factors.append("yaw")
        linear.append(yaw)
        chance.append(0.0)
    return LatentProbes(
        model="DeepFakes",
        factors=tuple(factors),
        classes=tuple(c > 0 for c in chance),
        linear=tuple(linear),
        mlp=tuple(linear),
        pixels=tuple(linear),
        chance=tuple(chance),
        shared=True,
    )


def decoder_identity(share_a: Estimate, share_b: Estimate) -> DecoderIdentity:
    layers = LayerReads(
        layers=("enc1", "dec1"),
        factors=("identity", "light class"),
        scores=((pct(0.5), pct(0.9)), (pct(0.99), pct(0.9))),
        chance=(0.5, 0.34),
        decoder="B",
    )
    rows = (
        ("A", "A", db(28.0), db(15.0), pct(1.0, 0.0)),
        ("A", "B", db(16.0), db(20.0), share_a),
        ("B", "A", db(20.0), db(16.0), share_b),
        ("B", "B", db(15.0), db(28.0), pct(1.0, 0.0)),
    )
    return DecoderIdentity(("A", "B"), rows, layers)


def swap(gain: Estimate) -> SwapQuality:
    return SwapQuality(
        source="A",
        target="B",
        swap=db(25.0),
        unchanged=db(18.0),
        mean_face=db(20.0),
        ceiling=db(28.0),
        gain=gain,
        gap=db(3.0),
    )


LADDERS = {  # the adversary's rungs (READERS: linear, whitened linear, MLP, post-hoc)
    "removed": (pct(0.34), pct(0.35), pct(0.35), pct(0.33)),
    "hidden": (pct(0.35), pct(0.36), pct(0.80), pct(0.85)),
    "kept": (pct(0.90), pct(0.92), pct(0.95), pct(0.96)),
    "undecided": (pct(0.35), pct(0.36), pct(0.41, 0.03), pct(0.40, 0.03)),
}  # chance 34%: reading needs more than 40.6%


def comparison(*ladders: str) -> Comparison:
    """The control, then one adversary per name of LADDERS, with λ growing."""
    methods = [lambda_name(0.0)] + [lambda_name(lam) for lam in (1e-4, 3e-4, 1e-3)[: len(ladders)]]
    scores = [LADDERS["kept"]] + [LADDERS[name] for name in ladders]
    n = len(methods)
    return Comparison(
        methods=tuple(methods),
        ladders=tuple(Ladder(m, READERS, s, 0.34) for m, s in zip(methods, scores)),
        pixels=Ladder("pixels", READERS, LADDERS["kept"], 0.34),
        reconstruction=(db(25.0),) * n,
        relit=(db(22.0),) * n,
        unchanged=db(18.0),
        monotone=(pct(0.9),) * n,
        seconds=(1.0,) * n,
    )


def light_removal(linear: Estimate, whitened: Estimate, mlp: Estimate) -> LightRemoval:
    return LightRemoval(
        lambdas=(0.0, 3e-4),
        linear=(pct(0.95), linear),
        mlp=(pct(0.97), mlp),
        whitened=(pct(0.95), whitened),
        psnr=(db(25.0), db(24.0)),
        pixels=pct(0.9),
        chance=0.34,
    )


def factors_kept(
    adversary: tuple[Estimate, ...], whitened: tuple[Estimate, ...], identity: bool = False
) -> FactorsKept:
    factors = ("elevation", "smile", "mouth_open", "eyes_open")
    if identity:
        factors = (*factors[:-1], "identity")
    return FactorsKept(
        factors=factors,
        plain=(num(0.8),) * 4,
        adversary=adversary,
        whitened=whitened,
        lam=3e-4,
    )


def slider(monotone: Estimate, gains: tuple[Estimate, ...]) -> SliderCheck:
    return SliderCheck(
        monotone=monotone,
        targets=(-1.0, 0.0, 1.0),
        relit=(db(24.0),) * 3,
        unchanged=(db(20.0),) * 3,
        gain=gains,
        relit_mean=db(24.0),
        unchanged_mean=db(20.0),
    )


def cross_talk(yaw_effect: Estimate) -> CrossTalk:
    return CrossTalk(
        values=(-1.0, 0.0, 1.0),
        effect=(num(0.95), num(0.02), num(0.05), yaw_effect),
        truth=(num(1.0), num(0.02), num(0.05), num(1.0)),
        gap=(num(0.0),) * 4,
        psnr=(db(25.0), db(24.0)),
        light_scale=1.0,
        yaw_scale=30.0,
    )


def ae_vs_pca(*gains: Estimate) -> AutoencoderVsPCA:
    n = len(gains)
    return AutoencoderVsPCA(
        sizes=(4, 16, 64)[:n],
        autoencoder=(db(24.0),) * n,
        pca=(db(22.0),) * n,
        gain=gains,
        variance_kept=(0.5,) * n,
        ae_parameters=(1000,) * n,
        pca_parameters=(100,) * n,
        loss_change=(None,) * n,
        steps=(None,) * n,
    )


def generation(vae: Estimate, ae: Estimate) -> Generation:
    return Generation(
        models=MODELS,
        frechet=(vae, ae, num(15.0, 1.0), num(20.0, 1.0)),
        detector=(pct(0.6),) * 4,
        nearest=(db(20.0),) * 4,
        real_frechet=num(2.0, 0.2),
        real_nearest=db(20.0),
    )


def retrieval(smile: Estimate) -> RetrievalMatch:
    return RetrievalMatch(
        factors=("smile", "elevation"),
        retrieved=(0.1, 0.1),
        random=(0.3, 0.3),
        best=(0.05, 0.05),
        progress=(smile, pct(0.8, 0.05)),
    )


def idea_one(
    gain: Estimate, mean_face: tuple[Estimate, ...], found: RetrievalMatch | None = None
) -> IdeaOne:
    lamps = ("left", "centre", "right")
    return IdeaOne(
        lamps=lamps,
        azimuths=(-40.0, 0.0, 40.0),
        psnr=tuple((db(22.0),) * 3 for _ in COLUMNS),
        mean=(db(22.0),) * len(COLUMNS),
        gain_input=(gain,) * 3,
        gain_mean_face=mean_face,
        gain_input_mean=gain,
        swap_minus_bank=db(1.0),
        idea_minus_bank=db(0.0),
        distance_picked=num(1.0),
        distance_perfect=num(1.5),
        relit=tuple(torch.rand(2, 3, 4, 4) for _ in lamps),
        truth=tuple(torch.rand(2, 3, 4, 4) for _ in lamps),
        picked=tuple(torch.zeros(2, dtype=torch.long) for _ in lamps),
        retrieval=found,
    )


def designs(gains: tuple[Estimate, ...], multi_parameters: int = 300) -> DesignComparison:
    n = len(gains)
    return DesignComparison(
        lamps=(3, 5)[:n],
        multi=(db(24.0),) * n,
        fader=(db(24.0),) * n,
        unchanged=(db(20.0),) * n,
        gain=gains,
        multi_parameters=(multi_parameters,) * n,
        fader_parameters=(100,) * n,
        multi_memory_mib=(2.0,) * n,
        fader_memory_mib=(1.0,) * n,
        multi_seconds=(None,) * n,
        fader_seconds=(None,) * n,
    )


def light_response(monotone: Estimate, span: Estimate = SPAN) -> LightResponse:
    fader = "FaderNet, lambda = 0.0003"
    return LightResponse(
        models=(fader, RAMP),
        monotone=(monotone, pct(1.0, 0.0)),
        span=(span, num(0.5, 0.1)),
        data_span=1.0,
        adversary=fader,
        control=None,
        baseline=RAMP,
        follow=None,
        measured={fader: np.linspace(0, 1, 12).reshape(3, 4), RAMP: np.zeros((3, 4))},
        ys={fader: (-1.0, 0.0, 1.0, 2.0), RAMP: (-1.0, 0.0, 1.0, 2.0)},
        relit={fader: torch.rand(3, 4, 3, 4, 4), RAMP: torch.rand(3, 4, 3, 4, 4)},
    )


# -- the registry ------------------------------------------------------------------------------
def test_the_registry_names_each_headline_its_chapter_and_class() -> None:
    expected = {
        "ae_vs_pca": ("02_autoencoder_vs_pca", AutoencoderVsPCA),
        "generation": ("03_vae", Generation),
        "swap": ("04_deepfakes", SwapQuality),
        "identity_probe": ("04_deepfakes", IdentityProbe),
        "pose_transfer": ("04_deepfakes", PoseTransfer),
        "light_removal": ("05_fadernet", LightRemoval),
        "factors_kept": ("05_fadernet", FactorsKept),
        "slider": ("05_fadernet", SliderCheck),
        "cross_talk": ("05_fadernet", CrossTalk),
        "hidden_or_removed": ("06_hidden_or_removed", Comparison),
        "latent_probes": ("07_probes", LatentProbes),
        "decoder_identity": ("07_probes", DecoderIdentity),
        "idea_one": ("08_relight_by_swap", IdeaOne),
        "decoder_per_light": ("09_decoder_per_light", DesignComparison),
        "real_light_response": ("10_real_faces", LightResponse),
    }
    got = {name: (r.chapter, r.result_class) for name, r in F.RECORDS.items()}
    assert got == expected
    for chapter, _ in expected.values():
        assert (ROOT / "book" / f"{chapter}.ipynb").is_file(), chapter
    assert set(F.BUDGETS) == set(zoo.SETTINGS)
    # the groups name factors the chapters really read and follow
    assert {f for group in F.PROBED.values() for f in group} <= set(PROBE_FACTORS)
    assert set(F.FOLLOWED.values()) <= set(transfer(pct(0.5), pct(0.5), pct(0.5)).factors)
    assert F.link("04_deepfakes") == "[ch. 4](04_deepfakes.ipynb)"


def test_findings_dir_follows_the_environment_then_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEPVIZ_FINDINGS", str(tmp_path / "here"))
    assert F.findings_dir() == tmp_path / "here"
    monkeypatch.delenv("SEPVIZ_FINDINGS")
    assert F.findings_dir() == ROOT / "data" / "cache" / "findings"
    assert F.DEFAULT_FINDINGS.parent == zoo.DEFAULT_CACHE.parent
    monkeypatch.setattr(F, "DEFAULT_FINDINGS", tmp_path / "no" / "cache" / "findings")
    assert F.findings_dir() == Path.home() / ".cache" / "sepviz" / "findings"


# -- record and recall -------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SEPVIZ_FINDINGS", str(tmp_path / "findings"))
    return tmp_path / "findings"


def test_record_and_recall_round_trip_without_tensors(store: Path) -> None:
    run = idea_one(db(3.0), (db(2.0),) * 3, retrieval(pct(0.8, 0.05)))
    path = F.record("idea_one", run, "quick")
    assert path == store / "quick-idea_one.pkl"
    back = F.recall("idea_one", "quick")
    assert isinstance(back, IdeaOne)
    assert back.relit == () and back.truth == () and back.picked == ()
    assert back.gain_input_mean == run.gain_input_mean and back.psnr == run.psnr
    assert back.retrieval == run.retrieval
    assert F.recall("idea_one", "full") is None  # another budget: not recorded
    with open(path, "rb") as handle:
        payload = pickle.load(handle)
    assert payload["name"] == "idea_one" and payload["budget"] == "quick"
    assert payload["chapter"] == "08_relight_by_swap"

    response = light_response(pct(0.95))
    F.record("real_light_response", response, "full")
    back_response = F.recall("real_light_response", "full")
    assert isinstance(back_response, LightResponse)
    assert back_response.relit == {}  # a dict of tensors
    assert np.array_equal(
        back_response.measured[response.adversary], response.measured[response.adversary]
    )
    assert back_response.monotone == response.monotone


def test_tensors_are_dropped_in_nested_results_too() -> None:
    @dataclasses.dataclass(frozen=True)
    class Inner:
        images: torch.Tensor
        score: float

    @dataclasses.dataclass(frozen=True)
    class Outer:
        per_run: tuple[Inner, ...]
        grids: dict[str, torch.Tensor]
        inner: Inner | None
        kept: tuple[float, ...] = (1.0, 2.0)

    inner = Inner(torch.ones(3), 0.5)
    light = F._light(Outer((inner, inner), {"a": torch.ones(2)}, inner))
    assert light.per_run == (Inner((), 0.5), Inner((), 0.5))
    assert light.grids == {} and light.inner == Inner((), 0.5) and light.kept == (1.0, 2.0)
    unchanged = Outer((), {}, None)
    assert F._light(unchanged) is unchanged


def test_record_writes_atomically(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = F.record("swap", swap(db(4.0)), "quick")
    assert sorted(p.name for p in store.iterdir()) == ["quick-swap.pkl"]  # no temporary file

    def broken(*args: object, **kw: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(F.pickle, "dump", broken)
        with pytest.raises(OSError, match="disk full"):
            F.record("swap", swap(db(0.0)), "quick")
    assert sorted(p.name for p in store.iterdir()) == [first.name]  # the old file, whole
    back = F.recall("swap", "quick")
    assert isinstance(back, SwapQuality) and back.gain == db(4.0)


def test_collect_holds_every_recorded_name(store: Path) -> None:
    assert F.collect("quick") == {}
    F.record("swap", swap(db(4.0)), "quick")
    F.record("slider", slider(pct(0.95), (db(3.0),) * 3), "quick")
    F.record("generation", generation(num(10.0), num(30.0)), "full")
    got = F.collect("quick")
    assert sorted(got) == ["slider", "swap"]
    assert isinstance(got["swap"], SwapQuality) and isinstance(got["slider"], SliderCheck)


@pytest.mark.parametrize(
    "content",
    [
        b"not a pickle at all",
        pickle.dumps({"name": "swap", "result": os.getcwd}),  # a foreign global: never called
        pickle.dumps({"name": "slider", "budget": "quick", "result": None, "chapter": ""}),
    ],
    ids=["damaged", "foreign global", "another result"],
)
def test_an_unreadable_file_gives_none_and_a_warning_naming_it(store: Path, content: bytes) -> None:
    F.record("swap", swap(db(4.0)), "quick")
    path = store / "quick-swap.pkl"
    path.write_bytes(content)
    with pytest.warns(UserWarning, match=re.escape(str(path))):
        assert F.recall("swap", "quick") is None
    with pytest.warns(UserWarning):
        assert F.collect("quick") == {}


def test_record_refuses_a_wrong_name_class_or_budget(store: Path) -> None:
    with pytest.raises(ValueError, match="'swapp'") as error:
        F.record("swapp", swap(db(4.0)), "quick")
    for name in F.RECORDS:
        assert name in str(error.value)
    with pytest.raises(TypeError, match="SwapQuality.*IdentityProbe"):
        F.record("swap", identity_probe(pct(0.5)), "quick")
    with pytest.raises(ValueError, match="budget.*'fast'"):
        F.record("swap", swap(db(4.0)), "fast")
    with pytest.raises(ValueError, match="budget"):
        F.recall("swap", "fast")
    assert not store.exists() or not any(store.iterdir())


# -- the factor map ----------------------------------------------------------------------------
def test_combine_decides_only_what_the_undecided_parts_cannot_change() -> None:
    assert F.combine([YES, YES]) is YES
    assert F.combine([NO]) is NO
    assert F.combine([YES, NO]) is IN_PART
    assert F.combine([YES, NO, CANT]) is IN_PART  # decided parts already disagree
    assert F.combine([IN_PART, CANT]) is IN_PART
    assert F.combine([YES, CANT]) is CANT  # could still be all yes
    assert F.combine([NO, CANT]) is CANT
    with pytest.raises(ValueError):
        F.combine([])


@pytest.mark.parametrize(
    ("score", "status", "claim", "chapter_says"),
    [
        (pct(0.99, 0.01), YES, FAILS, "**Not identity-free.**"),
        (pct(0.50, 0.02), NO, HOLDS, "**Identity-free** for a linear probe"),
        (pct(0.55, 0.03), CANT, CANT, "**Not distinguishable** from the reading bar"),
    ],
)
def test_identity_in_the_shared_latent(
    score: Estimate, status: F.Status, claim: F.Status, chapter_says: str
) -> None:
    held = identity_probe(score)
    assert held.verdict.startswith(chapter_says)  # the chapter says the same
    results = {"identity_probe": held, "latent_probes": latent_probes(identity=pct(0.99))}
    cell = F.factor_map(results).cell("identity", F.Z)
    assert cell.status is status and cell.chapter == "04_deepfakes"
    assert (
        str(cell)
        == f"{status.value}: linear probe {score} (chance 50%); [ch. 4](04_deepfakes.ipynb)"
    )
    row = F.claims(results).rows[2]
    assert row.status is claim and row.figure == cell.detail
    assert (row.status is CANT) == ("covers" in " ".join(F.claims(results).open_questions()))


def test_identity_in_the_shared_latent_falls_back_on_chapter_7() -> None:
    cell = F.factor_map({"latent_probes": latent_probes(identity=pct(0.5))}).cell("identity", F.Z)
    assert cell.status is NO and cell.chapter == "07_probes"
    missing = F.factor_map({}).cell("identity", F.Z)
    assert missing.status is NOT_MEASURED
    assert (
        str(missing) == "not measured: run [ch. 4](04_deepfakes.ipynb) or [ch. 7](07_probes.ipynb)"
    )


@pytest.mark.parametrize(
    ("light_class", "azimuth", "status"),
    [
        (pct(0.90), num(0.80), YES),
        (pct(0.90), num(0.02), IN_PART),  # the class read, the azimuth at chance
        (pct(0.35), num(0.02), NO),
        (pct(0.90), num(0.10, 0.05), CANT),  # the azimuth's interval covers the 0.10 bar
        (pct(0.35), num(0.10, 0.05), CANT),
    ],
)
def test_light_in_the_shared_latent_combines_its_probes(
    light_class: Estimate, azimuth: Estimate, status: F.Status
) -> None:
    found = F.factor_map({"latent_probes": latent_probes(light_class, azimuth)})
    assert found.status("light", F.Z) is status
    assert found.cell("light", F.Z).chapter == "07_probes"
    assert found.status("expression", F.Z) is YES  # smile R² 0.70


def test_pose_in_the_shared_latent_from_the_probes_else_from_the_swap() -> None:
    crossing = transfer(pct(0.97), pct(0.5), pct(0.97))
    probes = latent_probes(yaw=num(0.01))
    assert (
        F.factor_map({"latent_probes": probes, "pose_transfer": crossing}).status("pose", F.Z) is NO
    )
    frontal = latent_probes()  # chapter 7's faces without turned heads: no yaw
    cell = F.factor_map({"latent_probes": frontal, "pose_transfer": crossing}).cell("pose", F.Z)
    assert cell.status is YES and cell.chapter == "04_deepfakes"  # A's yaw crosses: z holds it
    only = F.factor_map({"latent_probes": frontal}).cell("pose", F.Z)
    assert only.status is NOT_MEASURED and only.run == ("04_deepfakes",)
    none = F.factor_map({}).cell("pose", F.Z)
    assert none.run == ("07_probes", "04_deepfakes")


@pytest.mark.parametrize(
    ("share", "kept", "decoders", "claim"),
    [
        (pct(0.97), KEEPS, NO, HOLDS),  # crosses: rides in the latent
        (pct(0.03), LOSES, YES, FAILS),  # the decoder imposes its own
        (pct(0.50, 0.05), PARTLY, IN_PART, IN_PART),
        (pct(0.90, 0.05), UNDECIDED, CANT, CANT),
    ],
)
def test_factors_in_the_decoders_from_what_crosses_the_swap(
    share: Estimate, kept: str, decoders: F.Status, claim: F.Status
) -> None:
    crossing = transfer(share, share, share)
    assert crossing.kept("smile") == kept
    found = F.factor_map({"pose_transfer": crossing})
    for factor in ("expression", "light", "pose"):
        assert found.status(factor, F.DECODERS) is decoders
    assert "crosses the swap (bars 10%, 90%)" in found.cell("light", F.DECODERS).detail
    assert F.claims({"pose_transfer": crossing}).rows[4].status is claim


@pytest.mark.parametrize(
    ("yaw", "smile", "light", "claim"),
    [
        (pct(0.97), pct(0.50, 0.05), pct(0.97), IN_PART),  # the smile only in part
        (pct(0.97), pct(0.03), pct(0.97), IN_PART),
        (pct(0.97), pct(0.90, 0.05), pct(0.97), CANT),  # all kept, or the smile in part
        (pct(0.03), pct(0.90, 0.05), pct(0.03), CANT),
        (pct(0.03), pct(0.90, 0.05), pct(0.97), IN_PART),
    ],
)
def test_the_swap_keeps_a_factors_claim_combines_them(
    yaw: Estimate, smile: Estimate, light: Estimate, claim: F.Status
) -> None:
    row = F.claims({"pose_transfer": transfer(yaw, smile, light)}).rows[4]
    assert row.status is claim
    assert "yaw" in row.figure and "smile" in row.figure and "azimuth" in row.figure


@pytest.mark.parametrize(
    ("share_a", "share_b", "status", "chapter_says"),
    [
        (pct(0.97), pct(0.95), YES, "**The decoders' weights carry identity**"),
        (pct(0.03), pct(0.05), NO, "**The decoders' weights do not carry identity**"),
        (pct(0.97), pct(0.50, 0.05), CANT, "**Not distinguishable** from half"),
        (pct(0.97), pct(0.05), IN_PART, "**Only decoder A of A and B"),
    ],
)
def test_identity_in_the_decoders(
    share_a: Estimate, share_b: Estimate, status: F.Status, chapter_says: str
) -> None:
    decoders = decoder_identity(share_a, share_b)
    assert decoders.verdict.startswith(chapter_says)
    results = {"decoder_identity": decoders, "swap": swap(db(-3.0))}  # chapter 7 comes first
    cell = F.factor_map(results).cell("identity", F.DECODERS)
    assert cell.status is status and cell.chapter == "07_probes"
    assert f"dec. A {share_a}" in cell.detail and "bar 50%" in cell.detail
    assert F.claims(results).rows[3].status is F._CLAIM[status]


@pytest.mark.parametrize(("gain", "status"), [(db(4.0), YES), (db(0.2), NO), (db(1.0, 0.3), CANT)])
def test_identity_in_the_decoders_falls_back_on_the_swap(gain: Estimate, status: F.Status) -> None:
    cell = F.factor_map({"swap": swap(gain)}).cell("identity", F.DECODERS)
    assert cell.status is status and cell.chapter == "04_deepfakes"
    assert "(bar 1 dB)" in cell.detail


@pytest.mark.parametrize(
    ("ladder", "word", "reader", "claim", "chapter_says"),
    [
        ("removed", "no (removed)", "post-hoc adversary", HOLDS, "**removes it**"),
        ("hidden", "yes, hidden", "post-hoc adversary", FAILS, "**hides it**"),
        ("kept", "yes", "post-hoc adversary", FAILS, "**keeps it**"),
        ("undecided", "can't tell", "", CANT, "**is not shown to remove it**"),
    ],
)
def test_light_in_fadernets_latent_on_chapter_6s_ladder(
    ladder: str, word: str, reader: str, claim: F.Status, chapter_says: str
) -> None:
    result = comparison("kept", ladder)  # the strongest adversary (λ = 0.0003) is the last
    assert F.adversary_index(result) == 2
    assert result.status(2).startswith(chapter_says)
    cell = F.factor_map({"hidden_or_removed": result}).cell("light", F.FADER_Z)
    assert cell.word == word and cell.chapter == "06_hidden_or_removed"
    assert "chance 34%, λ = 0.0003" in cell.detail
    if reader:
        assert cell.detail.startswith(reader)
    row = F.claims({"hidden_or_removed": result}).rows[5]
    assert row.status is claim and row.figure.startswith(word)


def test_light_in_fadernets_latent_falls_back_on_chapter_5() -> None:
    hidden = light_removal(linear=pct(0.35), whitened=pct(0.36), mlp=pct(0.8))
    assert "**Hidden, not removed.**" in hidden.verdict
    cell = F.factor_map({"light_removal": hidden}).cell("light", F.FADER_Z)
    assert cell.word == "yes, hidden" and cell.chapter == "05_fadernet"
    assert cell.detail == "MLP reads it at 80% ± 2 (chance 34%, λ = 0.0003)"
    gone = light_removal(linear=pct(0.34), whitened=pct(0.35), mlp=pct(0.35))
    assert F.factor_map({"light_removal": gone}).cell("light", F.FADER_Z).word == "no (removed)"
    control_only = comparison()  # no method with an adversary: chapter 5 decides
    both = {"hidden_or_removed": control_only, "light_removal": gone}
    assert F.factor_map(both).cell("light", F.FADER_Z).chapter == "05_fadernet"


LOST = (num(0.8), num(0.2), num(0.2), num(0.2))  # dropped by 0.6 with the adversary


@pytest.mark.parametrize(
    ("adversary", "whitened", "status", "hidden"),
    [
        ((num(0.8),) * 4, (num(0.8),) * 4, YES, False),  # within 0.1 of λ = 0
        (LOST, (num(0.8),) * 4, YES, True),  # back on whitened latents
        (LOST, (num(0.8), num(0.3), num(0.3), num(0.3)), IN_PART, False),  # lost, still read
        ((num(0.8), num(0.0), num(0.0), num(0.0)), (num(0.8),) + (num(0.0),) * 3, NO, False),
        ((num(0.8), num(0.75, 0.1), num(0.8), num(0.8)), (num(0.8),) * 4, CANT, False),
    ],
)
def test_expression_in_fadernets_latent(
    adversary: tuple[Estimate, ...], whitened: tuple[Estimate, ...], status: F.Status, hidden: bool
) -> None:
    found = F.factor_map({"factors_kept": factors_kept(adversary, whitened)})
    cell = found.cell("expression", F.FADER_Z)
    assert cell.status is status and (cell.qualifier == F.HIDDEN) is hidden
    assert cell.detail.startswith(f"linear R² at λ = 0.0003: smile {adversary[1]}, mouth open ")
    # chapter 5 probes no identity: not applicable, and said under the table
    assert found.status("identity", F.FADER_Z) is S.NOT_APPLICABLE
    assert any("identity × latent E(x)" in note for note in found.notes)
    # where it does (the last factor), identity follows the same rule
    probed = F.factor_map({"factors_kept": factors_kept(adversary, whitened, identity=True)})
    expected = {YES: YES, CANT: YES, IN_PART: IN_PART, NO: NO}[status]  # eyes_open's case
    assert probed.status("identity", F.FADER_Z) is expected


@pytest.mark.parametrize(
    ("monotone", "gains", "status", "chapter_says"),
    [
        (pct(0.95), (db(3.0),) * 3, YES, "**The slider moves the light the right way**"),
        (pct(0.60), (db(3.0),) * 3, IN_PART, "**The slider relights only in part.**"),
        (pct(0.95), (db(3.0), db(0.0), db(3.0)), IN_PART, "**The slider relights only in part.**"),
        (pct(0.95), (db(0.0),) * 3, NO, "**The slider does not relight**"),
    ],
)
def test_light_in_y_and_claim_7_follow_the_slider_check(
    monotone: Estimate, gains: tuple[Estimate, ...], status: F.Status, chapter_says: str
) -> None:
    check = slider(monotone, gains)
    assert check.verdict.startswith(chapter_says)
    cell = F.factor_map({"slider": check}).cell("light", F.Y)
    assert cell.status is status and f"light follows y for {monotone}" in cell.detail
    assert F.claims({"slider": check}).rows[6].status is F._CLAIM[status]


@pytest.mark.parametrize(
    ("effect", "status"), [(num(0.9), YES), (num(0.02), NO), (num(0.1, 0.05), CANT)]
)
def test_pose_in_y_follows_the_yaw_slider(effect: Estimate, status: F.Status) -> None:
    found = F.factor_map({"cross_talk": cross_talk(effect)})
    assert found.status("pose", F.Y) is status
    assert "the light and the yaw" in found.notes[0]
    alone = F.factor_map({})
    assert alone.status("pose", F.Y) is S.NOT_APPLICABLE
    assert "only the light," in alone.notes[0]
    assert alone.status("identity", F.Y) is S.NOT_APPLICABLE
    assert alone.status("expression", F.Y) is S.NOT_APPLICABLE


BLOG = {  # the blog's story, numbers as the chapters would find them
    "identity_probe": identity_probe(pct(0.99, 0.01)),
    "latent_probes": latent_probes(yaw=num(0.9)),
    "decoder_identity": decoder_identity(pct(0.97), pct(0.95)),
    "pose_transfer": transfer(pct(0.97), pct(0.97), pct(0.97)),
    "hidden_or_removed": comparison("kept", "hidden"),
    "factors_kept": factors_kept((num(0.8),) * 4, (num(0.8),) * 4),
    "slider": slider(pct(0.95), (db(3.0),) * 3),
}


def test_the_factor_map_verdict_and_table_are_built_from_the_cells() -> None:
    found = F.factor_map(BLOG)
    assert found.verdict.startswith(
        "Identity lives in the shared latent and the decoders; expression lives in the "
        "shared latent and FaderNet's latent, not in the decoders; light lives in the shared "
        "latent, FaderNet's latent (hidden, not removed) and FaderNet's y, not in the decoders;"
    )
    assert "pose lives in the shared latent, not in the decoders." in found.verdict
    assert "not measured" not in found.verdict
    table = found.table()
    assert sum(line.startswith("| ") for line in table.splitlines()) == 5  # header, 4 rows
    for row in found.cells:
        for cell in row:
            assert str(cell) in table
    assert "yes, hidden: post-hoc adversary reads it at 85% ± 2" in table
    # a changed number changes the sentence
    at_chance = F.factor_map({**BLOG, "identity_probe": identity_probe(pct(0.5))})
    assert at_chance.verdict.startswith("Identity lives in the decoders, not in the shared latent;")
    partial = F.factor_map({"pose_transfer": BLOG["pose_transfer"]})
    missing = sum(c.status is NOT_MEASURED for row in partial.cells for c in row)
    assert missing == 8  # identity 3, expression 2, light 3, pose 0
    assert "8 of 16 cells are not measured for this budget: run [ch. 4]" in partial.verdict
    assert "; pose lives in the shared latent, not in the decoders. 8 of 16" in partial.verdict


# -- the claims --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("gains", "status"),
    [
        ((db(2.0), db(3.0)), HOLDS),
        ((db(2.0), db(-3.0)), IN_PART),
        ((db(0.0), db(0.1)), FAILS),  # equal within 0.5 dB
        ((db(2.0), db(0.5, 0.3)), CANT),
    ],
)
def test_claim_1_autoencoder_against_pca(gains: tuple[Estimate, ...], status: F.Status) -> None:
    result = ae_vs_pca(*gains)
    row = F.claims({"ae_vs_pca": result}).rows[0]
    assert row.status is status
    assert row.figure.startswith(
        f"AE − PCA +{gains[-1]} at d = 16" if gains[-1].value >= 0 else "AE − PCA -"
    )
    assert f"AE wins at {len(result.ae_wins)} of 2 sizes" in row.figure


@pytest.mark.parametrize(
    ("vae", "ae", "status", "chapter_says"),
    [
        (num(10.0, 0.5), num(30.0, 1.0), HOLDS, "**The constraint makes it generative**"),
        (num(10.0, 0.2), num(10.5, 0.2), FAILS, "**The constraint changes nothing here**"),
        (num(30.0, 1.0), num(10.0, 0.5), FAILS, "**The constraint does not make it generative**"),
        (num(10.0, 2.0), num(12.0, 2.0), CANT, "**Not distinguishable**"),
    ],
)
def test_claim_2_the_vae_is_generative(
    vae: Estimate, ae: Estimate, status: F.Status, chapter_says: str
) -> None:
    result = generation(vae, ae)
    assert result.verdict.startswith(chapter_says)
    row = F.claims({"generation": result}).rows[1]
    assert row.status is status and row.chapter == "03_vae"
    assert f"VAE {vae}" in row.figure and f"N(0, I) {ae}" in row.figure


@pytest.mark.parametrize(
    ("gain", "mean_face", "found", "status"),
    [
        (db(3.0), (db(2.0),) * 3, None, HOLDS),
        (db(3.0), (db(2.0), db(0.0), db(2.0)), None, IN_PART),
        (db(3.0), (db(2.0),) * 3, retrieval(pct(0.0, 0.05)), IN_PART),  # misses the smile
        (db(3.0), (db(2.0),) * 3, retrieval(pct(0.8, 0.05)), HOLDS),
        (db(0.1), (db(2.0),) * 3, None, FAILS),
        (db(-2.0), (db(2.0),) * 3, None, FAILS),
        (db(0.5, 0.3), (db(2.0),) * 3, None, CANT),
    ],
)
def test_claim_8_idea_one(
    gain: Estimate, mean_face: tuple[Estimate, ...], found: RetrievalMatch | None, status: F.Status
) -> None:
    row = F.claims({"idea_one": idea_one(gain, mean_face, found)}).rows[7]
    assert row.status is status
    wins = sum(g.value > 1 for g in mean_face)
    assert f"beats the mean face at {wins} of 3 lamps" in row.figure
    if found is not None and status is IN_PART:
        assert "smile" in row.why


@pytest.mark.parametrize(
    ("gains", "parameters", "status"),
    [
        ((db(0.0), db(0.1)), 300, HOLDS),  # as good, 3x the parameters
        ((db(0.0), db(0.1)), 50, IN_PART),  # as good, at no cost
        ((db(-2.0), db(-3.0)), 300, FAILS),
        ((db(0.0), db(-3.0)), 300, IN_PART),
        ((db(0.0), db(0.5, 0.3)), 300, CANT),
    ],
)
def test_claim_9_one_decoder_per_light(
    gains: tuple[Estimate, ...], parameters: int, status: F.Status
) -> None:
    row = F.claims({"decoder_per_light": designs(gains, parameters)}).rows[8]
    assert row.status is status
    assert f"{parameters / 100:.1f}x the parameters" in row.figure and "5 lamps" in row.figure


@pytest.mark.parametrize(
    ("monotone", "span", "status"),
    [
        (pct(0.97), num(0.5, 0.1), HOLDS),
        (pct(0.50), num(0.5, 0.1), FAILS),
        (pct(0.97), num(-0.5, 0.1), FAILS),
        (pct(0.90, 0.05), num(0.5, 0.1), CANT),
    ],
)
def test_claim_10_real_photos(monotone: Estimate, span: Estimate, status: F.Status) -> None:
    response = light_response(monotone, span)
    assert response.right_way(response.adversary) is {HOLDS: True, FAILS: False, CANT: None}[status]
    row = F.claims({"real_light_response": response}).rows[9]
    assert row.status is status and row.chapter == "10_real_faces"
    assert row.figure.startswith(f"light rises for {monotone} of faces (bar 90%)")


def test_claims_verdict_counts_agree_with_the_rows() -> None:
    results = {
        **BLOG,
        "ae_vs_pca": ae_vs_pca(db(2.0), db(3.0)),  # holds
        "generation": generation(num(10.0, 2.0), num(12.0, 2.0)),  # can't tell
        "idea_one": idea_one(db(3.0), (db(2.0), db(0.0), db(2.0))),  # in part
    }
    found = F.claims(results)
    statuses = [row.status for row in found.rows]
    assert [row.number for row in found.rows] == list(range(1, 11))
    assert [row.text for row in found.rows] == list(F.CLAIMS)
    expected = {
        HOLDS: 4,  # 1, 4, 5, 7
        FAILS: 2,  # 3 (identity read), 6 (hidden)
        IN_PART: 1,  # 8
        CANT: 1,  # 2
        NOT_MEASURED: 2,  # 9, 10
    }
    assert {s: statuses.count(s) for s in expected} == expected
    assert {s: found.count(s) for s in expected} == expected
    assert found.verdict == (
        "**4 of 10 claims hold**; 1 in part, 2 do not hold, the data cannot tell for 1, "
        "2 not measured yet."
    )
    questions = found.open_questions()
    assert [q.split("**")[1] for q in questions] == ["Claim 2", "Claim 8", "Claim 9", "Claim 10"]
    assert "covers the margin ±log 1.25" in questions[0]
    assert "beats the mean face at 2 of 3 lamps" in questions[1]
    assert "run [ch. 9](09_decoder_per_light.ipynb)" in questions[2]
    table = found.table()
    assert sum(line.startswith("| ") for line in table.splitlines()) == 11
    assert "| not measured: run [ch. 10](10_real_faces.ipynb) |" in table
    assert "| [ch. 6](06_hidden_or_removed.ipynb) | yes, hidden: " in table


def test_no_result_at_all_measures_nothing() -> None:
    found = F.claims({})
    assert all(row.status is NOT_MEASURED for row in found.rows)
    assert found.verdict == "**0 of 10 claims hold**; 10 not measured yet."
    assert len(found.open_questions()) == 10
    assert all(isinstance(r, Result) for r in (found, F.factor_map({})))
    long_cells = [
        str(cell) for row in F.factor_map(BLOG).cells for cell in row if len(str(cell)) > 140
    ]
    assert not long_cells  # table cells stay short


def test_the_map_draws_each_cell_in_its_status_colour() -> None:
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    found = F.factor_map({"identity_probe": identity_probe(pct(0.99, 0.01))})
    fig = found.plot()
    ax = fig.axes[0]
    words = [t.get_text() for t in ax.texts]
    assert len(words) == len(F.FACTORS) * len(F.PLACES)
    assert words[0] == "yes" and words.count("not measured") >= 1
    colours = [p.get_facecolor() for p in ax.patches]
    assert colours[0] == to_rgba(F.STATUS_COLOURS[YES])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(F.FACTORS)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    plt.close(fig)
