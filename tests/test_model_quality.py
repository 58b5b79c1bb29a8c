"""The models do what the book says they do, measured against ground truth (32 px, CPU).

Each test trains a real model on synthetic faces whose factors are known and asserts on the
result of the same :mod:`sepviz.experiments` function the chapter shows: the DeepFakes swap
(chapter 4, and on a second face distribution), the FaderNet's removal of the light and its
slider (chapter 5), the MultiDecoder relight (chapter 9). Bounds are on the interval where a
claim depends on it.

The DeepFakes model and the FaderNets are the chapters' own: :func:`sepviz.zoo.trained` with
the quick budget's settings, loaded from the zoo's cache when the book was built first (as
`make test` does), trained here otherwise. So the tests pin the claims the book makes.
"""

from __future__ import annotations

import pytest
import torch

from sepviz import zoo
from sepviz.data.synthetic import (
    LIGHT_CLASSES,
    SECOND_LIGHTS,
    class_azimuths,
    factor_matrix,
    make_faces,
    swapped,
)
from sepviz.experiments import (
    Reading,
    decoder_per_light,
    deepfakes,
    fadernet,
    measures,
    paired_gain,
    reading,
)
from sepviz.metrics import psnr
from sepviz.models import DeepFakes, MultiDecoder
from sepviz.models.fadernet import DEFAULT_LAMBDA_MAX

pytestmark = pytest.mark.slow
FIT = {"progress": False, "device": "cpu", "seed": 0}
QUICK = {**zoo.settings("quick"), "seed": 0, "progress": False}  # chapters 4 and 5's models
FADER_STEPS = 2000  # chapter 5 trains its FaderNets this long in the quick budget
STEPS = {"multidecoder": 400}  # gains measured at 400 steps: as at 800, within 0.3 dB
FADER_LAMBDA = DEFAULT_LAMBDA_MAX
# Measured at 32 px after 2,000 steps on new faces of the 8 training people (seeds 0 and 1):
# the adversary lowers the linear light probe from 98% to 39-42% (chance 36%), but
# reconstruction loses 2.3-3.3 dB, and a probe on *whitened* latents still reads the light at
# 92-95%: the adversary hides it in directions of small variance rather than removing it
# (chapter 5 shows all three probes). It hides the smile there too: linear R² 0.74 ->
# 0.27-0.36, whitened 0.74-0.75.
FADER_PROBE_ABOVE_CHANCE = 0.10
FADER_MAX_PSNR_DROP = 5.0
FADER_WHITENED_PROBE_MIN = 0.80
FADER_SMILE_R2_DROP_MIN = 0.15


def test_deepfakes_swap_beats_the_input_by_6_db_and_the_mean_face() -> None:
    model = zoo.trained("deepfakes", **QUICK)
    test = make_faces(200, size=32, identities=["A"], seed=1)
    result = deepfakes.swap_quality(model, test, target="B")
    print(result.table(), result.verdict, sep="\n")
    # issue 3's bound, over the unchanged input (measured +11.9 dB, decoders without norm)
    assert result.swap.low >= result.unchanged.high + 6.0
    # and the book's bar over the best baseline, B's mean face (measured +5.6 dB ± 0.4)
    assert result.gain.low > deepfakes.WORKS_DB
    assert result.verdict.startswith("**The swap works.**")


def test_deepfakes_swap_holds_on_a_second_face_distribution() -> None:
    """Two random people (not A and B) under narrower lights, and 300 steps (the quick budget
    trains 1,500): a model that only worked on the faces it was tuned on fails here (issue 13:
    at least +8 dB over the unchanged input; measured +9.5 dB ± 0.1 at 300 steps, +10.4 at
    400, +10.1 at 800, decoders without norm)."""
    faces = make_faces(2000, size=32, identities=2, seed=7, **SECOND_LIGHTS)
    people = factor_matrix(faces)[:2]  # face i is person i % 2
    test = make_faces(200, size=32, identities=people[:1], seed=8, **SECOND_LIGHTS)
    torch.manual_seed(0)
    model = DeepFakes(identities=["first", "second"], image_size=32, latent_dim=64)
    model.fit(faces.images, faces.factors["identity"], steps=300, **FIT)
    truth = swapped(test, people[1])
    swap_db, input_db = psnr(model.swap(test.images, "second"), truth), psnr(test.images, truth)
    gain = paired_gain(swap_db, input_db)
    print(f"second distribution: swap {swap_db.mean():.1f} dB, gain {gain}")
    assert gain.low >= 8.0, str(gain)


def test_multidecoder_relights_closer_to_the_truth_than_the_input() -> None:
    torch.manual_seed(0)
    faces = make_faces(3000, size=32, identities=8, seed=0, azimuths=class_azimuths())
    model = MultiDecoder(classes=LIGHT_CLASSES, image_size=32, latent_dim=64)
    # 21 faces of each class a step: 64 images, as chapter 9 trains it (measured gains with
    # decoders without norm, 400 steps: +9.9 / +6.9 / +10.0 dB; on the second distribution
    # +9.4 / +6.8 / +9.7 dB)
    light = faces.factors["light_class"]
    model.fit(faces.images, light, steps=STEPS["multidecoder"], batch_size=21, **FIT)
    test = make_faces(300, size=32, identities=8, seed=1, azimuths=class_azimuths())
    result = decoder_per_light.relight_quality(
        decoder_per_light.relight_by(model), test, class_azimuths().tolist(), LIGHT_CLASSES
    )
    print(result.table(), result.verdict, sep="\n")
    for name, gain in zip(LIGHT_CLASSES, result.gain):
        assert gain.low > 1.0, f"relight to {name}: {gain}"
    assert "3 of 3" in result.verdict
    # the second face distribution: other random people, lit from anywhere within +-45 degrees
    # (not only by the lamps), elevation within +-20 (issue 13: at least +4 dB to each side)
    second = make_faces(300, size=32, identities=8, seed=2, **SECOND_LIGHTS)
    on_second = decoder_per_light.relight_quality(
        decoder_per_light.relight_by(model), second, class_azimuths().tolist(), LIGHT_CLASSES
    )
    print(on_second.table())
    for name, gain in zip(LIGHT_CLASSES, on_second.gain):
        assert gain.low > (4.0 if name != "centre" else 1.0), f"second, to {name}: {gain}"


@pytest.fixture(scope="module")
def fader_runs() -> dict[str, object]:
    """FaderNets trained without (lambda 0) and with the adversary, and chapter 5's results.

    The test faces are new faces (expressions, lights) of the 8 training people: on new people
    both models also pay for generalising from 8 identities, which is not what is measured here.
    """
    people = factor_matrix(zoo.training_faces("fadernet", 32, n=8, seed=0))
    test = make_faces(1000, size=32, identities=people, seed=1)
    models = {
        lambda_max: zoo.trained(
            "fadernet", **{**QUICK, "steps": FADER_STEPS}, lambda_max=lambda_max
        )
        for lambda_max in (0.0, FADER_LAMBDA)
    }
    return {
        "test": test,
        "models": models,
        "removal": fadernet.light_removal(models, test),
        "kept": fadernet.factors_kept(models[0.0], models[FADER_LAMBDA], test, FADER_LAMBDA),
    }


def test_fadernet_plain_latent_holds_the_light(fader_runs: dict) -> None:
    removal = fader_runs["removal"]
    print(removal.table())
    assert removal.linear[0].value >= 0.90
    assert removal.whitened[0].value >= 0.90


def test_fadernet_adversary_hides_the_light_at_a_bounded_cost(fader_runs: dict) -> None:
    removal = fader_runs["removal"]
    print(removal.table(), removal.verdict, sep="\n")
    assert removal.linear[-1].value <= removal.chance + FADER_PROBE_ABOVE_CHANCE
    assert removal.cost.value <= FADER_MAX_PSNR_DROP
    assert removal.whitened[-1].value >= FADER_WHITENED_PROBE_MIN  # not removed
    # the verdict follows its numbers: the whitened probe reads, so the light is not removed
    assert reading(removal.whitened[-1], removal.chance) is Reading.READS
    assert removal.verdict.startswith(("**Not removed**", "**Hidden, not removed.**"))
    # the pixel baseline reads the light too: the faces show it plainly
    assert removal.pixels.value >= 0.80


def test_fadernet_adversary_hides_the_smile_with_the_light(fader_runs: dict) -> None:
    """The smile is not in y, yet the adversary moves it out of a standardised probe's sight."""
    kept = fader_runs["kept"]
    print(kept.table(), kept.verdict, sep="\n")
    smile = kept.factors.index("smile")
    plain, adversary, whitened = kept.plain[smile], kept.adversary[smile], kept.whitened[smile]
    assert adversary.value <= plain.value - FADER_SMILE_R2_DROP_MIN  # out of plain sight
    assert whitened.value >= plain.value - FADER_SMILE_R2_DROP_MIN  # but not lost


def test_fadernet_slider_moves_the_light_the_right_way(fader_runs: dict) -> None:
    model, test = fader_runs["models"][FADER_LAMBDA], fader_runs["test"][:100]
    check = measures.slider_check(model, test, steps=5)
    print(check.table(), check.verdict, sep="\n")
    assert check.monotone.value >= 0.8
    assert sum(g.above(0) for g in check.gain) >= 2
