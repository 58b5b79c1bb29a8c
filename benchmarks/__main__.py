"""``python -m benchmarks [--quick] [--out benchmarks/out/results.md] [--sizes 32 64]``.

Measures, in one process, and writes as Markdown (printed and saved to ``--out``):

0. the machine: CPU model, cores, torch / numpy versions, torch threads, device;
1. dense fp32 matmul GFLOP/s: the limit (:func:`benchmarks.bench_train.bench_matmul`);
2. training throughput of each model and its achieved FLOP/s as a share of that limit
   (:func:`benchmarks.bench_train.bench_training`);
3. before / after of channels_last, torch.compile, the thread count, and on CUDA AMP and
   cudnn.benchmark (:func:`benchmarks.bench_train.bench_choices`);
4. renderer throughput in faces/s (:func:`benchmarks.bench_render.bench_render`);
5. probe and UMAP time on random latents (:func:`bench_probes`);
6. the 32 -> 64 px step ratio of each model beside its FLOP ratio, and the ops that take the
   64 px step's time (:func:`benchmarks.bench_profile.bench_size_ratios`);
7. the chapters' execution times in the last book build (:func:`chapter_times`).

``--quick`` shrinks every section (few steps, 32 px only but for one model's 32 -> 64 px
ratio, 500 latents, no compile, no UMAP) so that a test can run it in well under a minute;
its timings show that the code works, not how fast.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.bench_profile import (
    OP_HEADERS,
    RATIO_HEADERS,
    SizeRatio,
    bench_size_ratios,
    op_rows,
    ratio_rows,
)
from benchmarks.bench_render import bench_render
from benchmarks.bench_train import (
    CHOICE_HEADERS,
    MODELS,
    TRAINING_HEADERS,
    Choice,
    StepTiming,
    bench_choices,
    bench_matmul,
    bench_training,
    choice_rows,
    machine_info,
    machine_line,
    training_rows,
)
from sepviz.utils import pick_device

DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "results.md"


BOOK_CACHE = Path(__file__).resolve().parents[1] / "_build" / ".jupyter_cache"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table with padded columns (numbers right-aligned, text left-aligned)."""
    cells = [list(map(str, headers))] + [list(map(str, r)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def numeric(i: int) -> bool:
        values = [r[i].replace(",", "").rstrip("xM ") for r in cells[1:] if r[i] not in ("-", "")]
        try:
            [float(v) for v in values]
        except ValueError:
            return False
        return bool(values)

    right = [numeric(i) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right)]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join(
        ("-" * (w + 1) + ":") if r else "-" * (w + 2) for w, r in zip(widths, right)
    )
    return "\n".join([line(cells[0]), rule + "|", *(line(r) for r in cells[1:])])


def bench_probes(
    n: int = 5000, dim: int = 64, classes: int = 3, umap_runs: int = 2, seed: int = 0
) -> dict[str, float]:
    """Seconds of :func:`sepviz.probes.probe` (linear, mlp) and :func:`sepviz.probes.umap_embed`.

    The latents are random: ``n`` x ``dim`` standard normal codes and ``classes`` random labels
    (the probes then score at chance, but their cost depends on the shapes, not the content).
    The first UMAP call includes importing umap and numba's compilation (or loading it from
    ``NUMBA_CACHE_DIR``); further calls (``umap_runs`` in all) show the warm cost;
    ``umap_runs=0`` leaves UMAP out.
    """
    from sepviz.probes import probe, umap_embed

    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, dim)).astype(np.float32)
    labels = rng.integers(0, classes, n)
    result = {}
    for kind in ("linear", "mlp"):
        start = time.perf_counter()
        probe(z, labels, kind=kind)
        result[f"probe {kind} (5-fold CV)"] = time.perf_counter() - start
    for i in range(umap_runs):
        start = time.perf_counter()
        umap_embed(z, seed=seed)
        name = "umap_embed, first call (import + numba)" if i == 0 else f"umap_embed, call {i + 1}"
        result[name] = time.perf_counter() - start
    return result


@dataclass
class Results:
    """Everything one benchmark run measured, and its Markdown report."""

    machine: dict[str, Any]
    matmul_gflops: float
    training: list[StepTiming]
    choices: list[Choice]
    render: dict[int, float]
    probes: dict[str, float]
    quick: bool
    matmul_n: int = 2048
    n_latents: int = 5000
    seconds: float = 0.0
    extra_limits: dict[str, float] = field(default_factory=dict)
    chapters: dict[str, float] = field(default_factory=dict)
    ratios: list[SizeRatio] = field(default_factory=list)

    def markdown(self) -> str:
        """The report: machine line, then one section per benchmark."""
        mode = "quick (timings only show that the code runs)" if self.quick else "full"
        limits = [["fp32", f"{self.matmul_gflops:.1f}"]]
        limits += [[k, f"{v:.1f}"] for k, v in self.extra_limits.items()]
        parts = [
            "# sepviz benchmarks",
            "",
            machine_line(self.machine),
            "",
            f"Mode: {mode}; taken {time.strftime('%Y-%m-%d %H:%M')}, {self.seconds:.0f} s.",
            "",
            "## 1. The limit: dense matmul",
            "",
            f"Square matmul of {self.matmul_n} x {self.matmul_n}, "
            "best of a few runs, in this process.",
            "",
            markdown_table(["dtype", "GFLOP/s"], limits),
            "",
            "## 2. Training throughput",
            "",
            "`model.training_step` called as `sepviz.train.fit` calls it (batch drawn, seeded, "
            "`Optimize`, losses read back), batch 64 per stream: DeepFakes draws 2 streams, "
            "MultiDecoder 3, so images/step counts them all; FaderNet with its adversary on "
            "(5 discriminator steps per step). Median step time over the timed steps after "
            "warm-up. GFLOP/step: forward + backward of one step, counted by layer with "
            '`FlopCounterMode`; "of matmul": achieved GFLOP/s / the fp32 matmul limit.',
            "",
            markdown_table(TRAINING_HEADERS, training_rows(self.training, self.matmul_gflops)),
            "",
            "## 3. Choices, before / after",
            "",
            'Each "before" is the plain step (fit\'s defaults) measured again next to its '
            '"after". torch.compile compiles the layer stacks in a child process with a time '
            "limit; AMP and cudnn.benchmark only exist on CUDA.",
            "",
            markdown_table(CHOICE_HEADERS, choice_rows(self.choices)),
            "",
            "## 4. Renderer",
            "",
            "`sepviz.data.synthetic.render` of random faces, best of a few runs.",
            "",
            markdown_table(
                ["px", "faces/s"], [[str(s), f"{r:,.0f}"] for s, r in self.render.items()]
            ),
            "",
            "## 5. Probes and UMAP",
            "",
            f"{self.n_latents:,} random latents of 64 dims (standard normal) with 3 random "
            "classes: random data, so the scores are at chance; time depends on shapes only.",
            "",
            markdown_table(["call", "seconds"], [[k, f"{v:.2f}"] for k, v in self.probes.items()]),
            "",
            "## 6. From 32 to 64 px: where the time goes",
            "",
            "Each model's step at 32 and 64 px, timed in turns (one step of each size, then "
            "the next) after a warm-up, median of the timed steps. The FLOP ratio is the "
            "arithmetic of the layers (a 64 px model has a fourth conv block, of 256 "
            'channels, in its encoder and decoder); "of matmul": the 64 px step\'s GFLOP/s '
            "over the fp32 matmul limit. Below, the ops that take the 64 px step's time "
            "(torch.profiler, self CPU time per op and input shapes, over a few steps).",
            "",
            markdown_table(RATIO_HEADERS, ratio_rows(self.ratios, self.matmul_gflops)),
            "",
            markdown_table(OP_HEADERS, op_rows(self.ratios)),
            "",
            "## 7. Chapters",
            "",
            "Execution time of each chapter in the last book build (`make book`, read from its "
            "jupyter-cache; the first chapter to need a model trains it, later ones load it).",
            "",
            markdown_table(
                ["chapter", "seconds"],
                [[k, f"{v:.1f}"] for k, v in self.chapters.items()]
                + [["all", f"{sum(self.chapters.values()):.1f}"]],
            )
            if self.chapters
            else "No executed book found: run `make book` first.",
            "",
        ]
        return "\n".join(parts)


def chapter_times(cache: str | Path = BOOK_CACHE) -> dict[str, float]:
    """Chapter name -> execution seconds recorded by the last book build's jupyter-cache
    (``{}`` when there is none)."""
    cache = Path(cache)
    if not (cache / "global.db").is_file():
        return {}
    from jupyter_cache import get_cache

    records = get_cache(str(cache)).list_cache_records()
    times = {Path(r.uri).stem: float(r.data.get("execution_seconds", 0.0)) for r in records}
    return dict(sorted(times.items()))


def run(
    quick: bool = False,
    out: str | Path | None = DEFAULT_OUT,
    sizes: Sequence[int] | None = None,
    verbose: bool = True,
) -> Results:
    """Run every section and write the report to ``out`` (``None``: write nothing)."""

    def say(text: str) -> None:
        if verbose:
            print(text, flush=True)

    begin = time.perf_counter()
    device = pick_device()
    sizes = list(sizes) if sizes else ([32] if quick else [32, 64])
    steps, warmup = (4, 2) if quick else (20, 3)
    n_latents = 500 if quick else 5000
    matmul_n = 1024 if quick else 2048

    info = machine_info(device)
    say(machine_line(info))

    say("1. matmul ...")
    limit = bench_matmul(matmul_n, repeats=2 if quick else 5, device=device)
    extra = {}
    if device.type == "cuda":  # fit trains in bf16 (or fp16) there: its own limit
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        extra[str(dtype).removeprefix("torch.")] = bench_matmul(
            matmul_n, repeats=2 if quick else 5, device=device, dtype=dtype
        )

    say("2. training ...")
    training = bench_training(sizes=sizes, steps=steps, warmup=warmup, device=device)

    say("3. choices ...")
    choices = bench_choices(
        models=("AutoEncoder",) if quick else ("AutoEncoder", "FaderNet"),
        size=max(sizes),
        steps=steps,
        warmup=warmup,
        device=device,
        compile_model=not quick,
    )

    say("4. renderer ...")
    render = bench_render(sizes=(32,), n=500, repeats=1) if quick else bench_render((32, 64, 128))

    say("5. probes and UMAP ...")
    probes = bench_probes(n=n_latents, umap_runs=0 if quick else 2)

    say("6. 32 -> 64 px ...")
    ratios = bench_size_ratios(
        models=("AutoEncoder",) if quick else MODELS,
        steps=2 if quick else 20,
        warmup=1 if quick else 3,
        profiled=1 if quick else 5,
        top=3 if quick else 6,
        device=device,
    )

    results = Results(
        info,
        limit,
        training,
        choices,
        render,
        probes,
        quick,
        matmul_n,
        n_latents,
        extra_limits=extra,
        ratios=ratios,
    )
    results.chapters = chapter_times()
    results.seconds = time.perf_counter() - begin
    text = results.markdown()
    say("")
    say(text)
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        say(f"written to {out}")
    return results


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="sepviz benchmarks (Markdown report)"
    )
    parser.add_argument("--quick", action="store_true", help="a short run: few steps, 32 px")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where results.md goes")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="image sizes, px")
    args = parser.parse_args(argv)
    run(quick=args.quick, out=args.out, sizes=args.sizes)


if __name__ == "__main__":
    main()
