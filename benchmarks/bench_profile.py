"""Where a training step's time goes, at 32 and 64 px: the step ratio and the ops behind it.

``python -m benchmarks.bench_profile [--quick] [--models ...]`` prints, for each model:

* the **32 -> 64 px step ratio**: median step time at 64 px over the median at 32 px (timed as
  :func:`benchmarks.bench_train.time_model` times them: warm-up excluded, median of repeats,
  the two sizes interleaved so both see the same load), beside the ratio of their FLOPs;
* the 64 px step's achieved GFLOP/s as a share of the matmul limit in the same process;
* the **ops that take the time** (:func:`profile_step`): ``torch.profiler`` over a few steps,
  self CPU time per op and input shapes (so a row names its layer: a conv's input shape is its
  feature map), in ms per step and as a share of the step.

A FLOP ratio above 4 comes from the architecture (a 64 px model has one more conv block, whose
256 channels the 32 px model does not have); a step ratio above the FLOP ratio is time spent
outside the layers' arithmetic, which the op table locates.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.bench_train import (
    MODELS,
    Stepper,
    StepTiming,
    bench_matmul,
    build,
    machine_info,
    machine_line,
)


@dataclass
class OpTime:
    """One op (with its input shapes) of a profiled step: self time per step and share."""

    op: str
    shapes: str
    ms_per_step: float
    share: float
    calls_per_step: float


@dataclass
class SizeRatio:
    """A model's step at two sizes, timed side by side, and its ops at the larger size."""

    model: str
    small: StepTiming
    large: StepTiming
    ops: list[OpTime] = field(default_factory=list)

    @property
    def step_ratio(self) -> float:
        """Median step time at the large size over the median at the small size."""
        return self.large.step_s / self.small.step_s

    @property
    def flop_ratio(self) -> float:
        return self.large.flops / self.small.flops


def _shapes(shapes: list) -> str:
    """The input shapes of a profiled op, the tensors only: ``64x32x32x32, 64x32x4x4``."""
    tensors = [s for s in shapes if isinstance(s, list) and s]
    return ", ".join("x".join(map(str, s)) for s in tensors[:2])


def profile_step(stepper: Stepper, steps: int = 5, top: int = 8) -> list[OpTime]:
    """The ``top`` ops by self CPU time over ``steps`` profiled steps of ``stepper``.

    Grouped by op and input shapes, so the same op on two layers is two rows. Call it after the
    stepper's warm-up: the profiler's own overhead inflates every row a little (about the same
    for each op), so read the shares, not the absolute times.
    """
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            stepper()
    events = prof.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in events)
    ranked = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    return [
        OpTime(
            e.key,
            _shapes(e.input_shapes),
            e.self_cpu_time_total / 1e3 / steps,
            e.self_cpu_time_total / total,
            e.count / steps,
        )
        for e in ranked
    ]


def size_ratio(
    name: str,
    sizes: tuple[int, int] = (32, 64),
    batch_size: int = 64,
    steps: int = 20,
    warmup: int = 3,
    profiled: int = 5,
    top: int = 8,
    device: torch.device | None = None,
) -> SizeRatio:
    """Time model ``name``'s step at both ``sizes``, interleaved step by step after a warm-up
    (so a busy machine slows both alike), count their FLOPs and profile the larger one."""
    steppers = []
    for size in sizes:
        model, streams = build(name, size)
        steppers.append(Stepper(model, streams, batch_size, device))
    for stepper in steppers:
        stepper.time(0, warmup)
    seconds: list[list[float]] = [[], []]
    for _ in range(steps):
        for i, stepper in enumerate(steppers):
            seconds[i] += stepper.time(1, 0)
    timings = [
        StepTiming(
            name,
            size,
            batch_size,
            stepper.images,
            seconds[i],
            stepper.count_flops(),
            stepper.model.n_parameters(),
        )
        for i, (size, stepper) in enumerate(zip(sizes, steppers))
    ]
    ops = profile_step(steppers[1], profiled, top) if profiled else []
    return SizeRatio(name, timings[0], timings[1], ops)


def bench_size_ratios(
    models: Sequence[str] = MODELS,
    sizes: tuple[int, int] = (32, 64),
    steps: int = 20,
    warmup: int = 3,
    profiled: int = 5,
    top: int = 8,
    device: torch.device | None = None,
) -> list[SizeRatio]:
    """:func:`size_ratio` of every model."""
    return [
        size_ratio(m, sizes, steps=steps, warmup=warmup, profiled=profiled, top=top, device=device)
        for m in models
    ]


RATIO_HEADERS = ["model", "ms/step small", "ms/step large", "step ratio", "FLOP ratio", "of matmul"]
OP_HEADERS = ["model", "op", "input shapes", "ms/step", "share", "calls/step"]


def ratio_rows(ratios: Sequence[SizeRatio], limit_gflops: float) -> list[list[str]]:
    """Table rows: model, both step times, step ratio, FLOP ratio, large step's share of the
    matmul limit."""
    return [
        [
            r.model,
            f"{r.small.step_s * 1e3:.1f}",
            f"{r.large.step_s * 1e3:.1f}",
            f"{r.step_ratio:.2f}x",
            f"{r.flop_ratio:.2f}x",
            f"{r.large.gflops / limit_gflops:.2f}",
        ]
        for r in ratios
    ]


def op_rows(ratios: Sequence[SizeRatio]) -> list[list[str]]:
    """Table rows: each model's top ops at the large size."""
    return [
        [r.model, o.op, o.shapes, f"{o.ms_per_step:.1f}", f"{o.share:.0%}", f"{o.calls_per_step:g}"]
        for r in ratios
        for o in r.ops
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m benchmarks.bench_profile [--quick] [--models M ...] [--top N]``."""
    from benchmarks.__main__ import markdown_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps (timings mean little)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--top", type=int, default=8, help="ops listed per model")
    args = parser.parse_args(argv)
    steps, warmup, profiled = (3, 1, 1) if args.quick else (20, 3, 5)
    print(machine_line(machine_info()))
    limit = bench_matmul(1024 if args.quick else 2048, 2 if args.quick else 5)
    print(f"matmul: {limit:.1f} GFLOP/s")
    ratios = bench_size_ratios(
        args.models, steps=steps, warmup=warmup, profiled=profiled, top=args.top
    )
    print(markdown_table(RATIO_HEADERS, ratio_rows(ratios, limit)))
    print()
    print(markdown_table(OP_HEADERS, op_rows(ratios)))


if __name__ == "__main__":
    main()
