"""Which normalisation should the decoders of a shared-encoder model use? (issue 13, item 1)

``python -m benchmarks.decoder_norm [--options batch none group instance] [--steps 800]
[--seed 0] [--second]`` trains, for each option of :data:`sepviz.models.blocks.NORMS`, a
DeepFakes (2,000 faces of A and B) and a MultiDecoder (3,000 faces under the three class lamps)
at 32 px on the CPU, and prints one Markdown table: swap PSNR against the true render and its
gain over the unchanged input, the relight gain to each light class, reconstruction PSNR,
training seconds. ``--seed`` draws other initial weights and batches (the faces stay).
``--second`` adds a DeepFakes row per option on a second face distribution: two random people
(not A and B) under narrower lights (azimuth within ±45°, elevation within ±20°).

Measured on 2 shared CPU cores, 1 thread, 800 steps, seed 0 (recon: A's decoder on A's test
faces; MultiDecoder: each class's decoder on its own class; seconds are noisy):

| norm | swap dB | gain | relight L / C / R | recon DF / MD | s DF / MD | 2nd: swap / gain / recon |
| --- | --- | --- | --- | --- | --- | --- |
| batch | 28.0 | +9.4 | +8.7 / +6.6 / +8.8 | 39.7 / 32.5 | 170 / 263 | 31.4 / +6.1 / 40.8 |
| none | 32.4 | +13.9 | +8.8 / +8.0 / +9.1 | 39.1 / 31.9 | 107 / 203 | 35.5 / +10.1 / 41.3 |
| group | 29.1 | +10.6 | +8.5 / +7.0 / +5.6 | 39.0 / 32.2 | 118 / 178 | 31.6 / +6.2 / 41.1 |
| instance | 28.9 | +10.4 | +8.1 / +7.2 / +8.6 | 39.2 / 32.3 | 123 / 178 | 32.3 / +6.9 / 41.0 |

With ``--seed 1`` (other weights and batches, same faces):

| norm | swap dB | gain | relight L / C / R | recon DF / MD | s DF / MD |
| --- | --- | --- | --- | --- | --- |
| batch | 28.8 | +10.2 | +8.6 / +6.9 / +7.1 | 38.8 / 32.8 | 98 / 149 |
| none | 29.7 | +11.2 | +11.3 / +6.4 / +10.6 | 39.0 / 32.4 | 98 / 147 |

No normalisation wins the swap on both seeds and the second distribution, and costs least.

Run it by hand (a few minutes per option on one thread); no test runs it.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from typing import Any, TypeVar

import torch

from sepviz.data.synthetic import (
    LIGHT_CLASSES,
    SECOND_LIGHTS,
    class_azimuths,
    factor_matrix,
    make_faces,
    swapped,
)
from sepviz.experiments import decoder_per_light, deepfakes
from sepviz.metrics import psnr
from sepviz.models import DeepFakes, MultiDecoder
from sepviz.models.blocks import NORMS

FIT: dict[str, Any] = {"progress": False, "device": "cpu", "seed": 0}
M = TypeVar("M", DeepFakes, MultiDecoder)
MISSING = object()


def with_norm(cls: type[M], norm: str, **config: Any) -> M:
    """A new ``cls(**config)`` whose decoders use ``norm`` (the class is left as it was)."""
    before = cls.__dict__.get("decoder_norm", MISSING)
    cls.decoder_norm = norm
    try:
        return cls(**config)
    finally:
        if before is MISSING:
            del cls.decoder_norm
        else:
            cls.decoder_norm = before


def mean_db(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(psnr(a, b).mean())


def deepfakes_row(norm: str, steps: int, second: bool = False) -> dict[str, float]:
    """Swap and reconstruction of a DeepFakes with ``norm`` decoders, and its training time."""
    torch.manual_seed(FIT["seed"])
    if second:  # two random people, narrower lights
        faces = make_faces(2000, size=32, identities=2, seed=7, **SECOND_LIGHTS)
        people = factor_matrix(faces)[:2]  # face i is person i % 2
        test = make_faces(200, size=32, identities=people[:1], seed=8, **SECOND_LIGHTS)
        target: torch.Tensor | str = people[1]
    else:
        faces = make_faces(2000, size=32, identities=["A", "B"], seed=0)
        test = make_faces(200, size=32, identities=["A"], seed=1)
        target = "B"
    model = with_norm(DeepFakes, norm, identities=["A", "B"], image_size=32, latent_dim=64)
    start = time.perf_counter()
    model.fit(faces.images, faces.factors["identity"], steps=steps, **FIT)
    seconds = time.perf_counter() - start
    if isinstance(target, str):  # the book's measure
        result = deepfakes.swap_quality(model, test, target=target)
        swap, unchanged = result.swap.value, result.unchanged.value
    else:
        truth = swapped(test, target)
        swap = mean_db(model.swap(test.images, "B"), truth)
        unchanged = mean_db(test.images, truth)
    return {
        "swap": swap,
        "swap_gain": swap - unchanged,
        "reconstruction": mean_db(model.swap(test.images, "A"), test.images),
        "seconds": seconds,
    }


def multidecoder_row(norm: str, steps: int) -> dict[str, float]:
    """Relight gain per class and reconstruction of a MultiDecoder with ``norm`` decoders."""
    torch.manual_seed(FIT["seed"])
    faces = make_faces(3000, size=32, identities=8, seed=0, azimuths=class_azimuths())
    model = with_norm(MultiDecoder, norm, classes=LIGHT_CLASSES, image_size=32, latent_dim=64)
    start = time.perf_counter()
    model.fit(faces.images, faces.factors["light_class"], steps=steps, **FIT)
    seconds = time.perf_counter() - start
    test = make_faces(300, size=32, identities=8, seed=1, azimuths=class_azimuths())
    result = decoder_per_light.relight_quality(
        decoder_per_light.relight_by(model), test, class_azimuths().tolist(), LIGHT_CLASSES
    )
    own = test.factors["light_class"]
    recon = torch.empty(len(test))
    for k in range(len(LIGHT_CLASSES)):
        mask = own == k
        recon[mask] = psnr(model.swap(test.images[mask], k), test.images[mask]).float()
    row = {f"relight_{c}": g.value for c, g in zip(LIGHT_CLASSES, result.gain)}
    return row | {"reconstruction": float(recon.mean()), "seconds": seconds}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--options", nargs="+", default=list(NORMS), choices=NORMS)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--second", action="store_true", help="also the second distribution")
    parser.add_argument("--seed", type=int, default=0, help="weights and batches (not faces)")
    args = parser.parse_args(argv)
    FIT["seed"] = args.seed
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    print(
        "| norm | swap dB | gain over input | relight gain L / C / R | recon DF / MD | s DF / MD |"
        + (" 2nd distr.: swap dB / gain / recon |" if args.second else "")
    )
    print("| --- " * (7 if args.second else 6) + "|")
    for norm in args.options:
        df, md = deepfakes_row(norm, args.steps), multidecoder_row(norm, args.steps)
        relight = " / ".join(f"{md[f'relight_{c}']:+.1f}" for c in LIGHT_CLASSES)
        line = (
            f"| {norm} | {df['swap']:.1f} | {df['swap_gain']:+.1f} | {relight} "
            f"| {df['reconstruction']:.1f} / {md['reconstruction']:.1f} "
            f"| {df['seconds']:.0f} / {md['seconds']:.0f} |"
        )
        if args.second:
            s2 = deepfakes_row(norm, args.steps, second=True)
            line += f" {s2['swap']:.1f} / {s2['swap_gain']:+.1f} / {s2['reconstruction']:.1f} |"
        print(line, flush=True)


if __name__ == "__main__":
    main()
