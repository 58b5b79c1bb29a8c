"""Training throughput of the sepviz models against what the machine can do at all.

``python -m benchmarks.bench_train [--quick]`` prints the tables; ``python -m benchmarks`` puts
them into ``results.md`` with the renderer and probe timings.

* :func:`machine_info`: CPU model, cores, library versions, torch threads, device.
* :func:`bench_matmul`: dense matmul GFLOP/s in this process, "the limit" a model is held to.
* :func:`bench_training`: images/s of each model's training step, called exactly as
  :func:`sepviz.train.fit` calls it, and the FLOP/s that step achieves (its forward and backward
  FLOPs counted with :class:`torch.utils.flop_counter.FlopCounterMode`) as a share of the limit.
* :func:`bench_choices`: the same step before / after one choice: channels_last, torch.compile,
  the number of threads; on CUDA also AMP and ``cudnn.benchmark``.

Every timed step draws its batch, seeds and syncs (``float(loss)``) as ``fit`` does, so the
numbers are what a chapter's training loop gets. Step times are the median of the timed steps:
the median is the figure least moved by other processes on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from sepviz.models.base import SepvizModel
from sepviz.recipes import RECIPES
from sepviz.train import Optimize, _amp, _batches, _step_seed
from sepviz.utils import pick_device

MODELS = tuple(dict.fromkeys(entry.model for entry in RECIPES.values()))
"""The models benchmarked, in table order (one row per class: its first recipe)."""

POOL = 256
"""Images per stream the batches are drawn from (with replacement, as ``fit`` draws)."""


# -- the machine -------------------------------------------------------------------------------
def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_info(device: torch.device | None = None) -> dict[str, Any]:
    """What the numbers were taken on: CPU, cores, versions, torch threads, device (and GPU)."""
    device = device if device is not None else pick_device()
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def machine_line(info: dict[str, Any]) -> str:
    """One line for the report: ``Machine: <cpu>, <n> cores, torch .., numpy .., ...``."""
    gpu = f" ({info['gpu']})" if "gpu" in info else ""
    return (
        f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}, "
        f"numpy {info['numpy']}, Python {info['python']}, torch threads {info['threads']}, "
        f"device {info['device']}{gpu}"
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# -- the limit ---------------------------------------------------------------------------------
def bench_matmul(
    n: int = 2048,
    repeats: int = 5,
    inner: int = 3,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> float:
    """Dense ``(n, n) @ (n, n)`` matmul GFLOP/s (2 n^3 FLOPs each), best of ``repeats`` runs.

    Each run times ``inner`` matmuls into a preallocated output after a warm-up; the best run
    is the one least disturbed by other processes. On CUDA TF32 is left as torch's default (off),
    so fp32 means fp32.
    """
    device = device if device is not None else pick_device()
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device, dtype)
    b = torch.randn(n, n, generator=g).to(device, dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    torch.matmul(a, b, out=out)  # warm-up: threads, BLAS buffers, CUDA handles
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            torch.matmul(a, b, out=out)
        _sync(device)
        best = min(best, (time.perf_counter() - start) / inner)
    return 2.0 * n**3 / best / 1e9


# -- one model's training step -----------------------------------------------------------------
def build(name: str, image_size: int, seed: int = 0) -> tuple[SepvizModel, dict[str, Any]]:
    """Model ``name`` (a class name, e.g. ``"FaderNet"``) at ``image_size`` and its streams.

    The model, its training faces and its targets come from the recipe table
    (:data:`sepviz.recipes.RECIPES`), the streams from the model's own ``streams``, as ``fit``
    builds them: ``POOL`` rendered faces. A FaderNet's adversary is switched on at full weight
    (``lambda_max`` 0.05 reached at step 1) so that its step is timed with the adversary.
    """
    kinds: dict[str, Any] = {}
    for entry in RECIPES.values():  # a class's first recipe (FaderNet: one fader)
        kinds.setdefault(entry.model, entry)
    if name not in kinds:
        raise ValueError(f"unknown model {name!r}; have {MODELS}")
    entry = kinds[name]
    torch.manual_seed(seed)
    fields = {f.name for f in dataclasses.fields(entry.model_class().Config)}
    adversary = {"lambda_max": 0.05, "lambda_ramp": 1}  # FaderNet: on from step 1
    model = entry.build(image_size, **(adversary if "lambda_max" in fields else {}))
    faces = entry.training_faces(POOL, image_size, seed)
    streams = model.streams(faces.images, entry.target(faces))
    return model, {n: dict(s) for n, s in streams.items()}


@dataclass
class StepTiming:
    """Timing of one model's training step: ``images`` per step over all streams."""

    model: str
    size: int
    batch_size: int
    images: int
    seconds: list[float] = field(default_factory=list)
    flops: float = 0.0
    parameters: int = 0

    @property
    def step_s(self) -> float:
        """Median seconds per step."""
        return statistics.median(self.seconds)

    @property
    def images_per_s(self) -> float:
        return self.images / self.step_s

    @property
    def gflops(self) -> float:
        """Achieved GFLOP/s: one step's counted FLOPs over the median step time."""
        return self.flops / self.step_s / 1e9


class Stepper:
    """Runs ``model.training_step`` the way :func:`sepviz.train.fit` does, one step a call.

    The model and streams are moved to ``device`` (streams in ``memory_format``, the model too
    when channels_last), optimizers come from ``model.configure_optimizers()`` wrapped in
    ``Optimize(optimizers, scaler)`` and each step is seeded, batched, autocast (AMP on CUDA
    when ``amp``) and synced through ``float(loss)`` as in ``fit``.
    """

    def __init__(
        self,
        model: SepvizModel,
        streams: dict[str, Any],
        batch_size: int = 64,
        device: torch.device | None = None,
        amp: bool = True,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        self.device = device if device is not None else pick_device()
        self.model = model.to(self.device)
        if memory_format is torch.channels_last:
            self.model.to(memory_format=torch.channels_last)

        def place(t: torch.Tensor) -> torch.Tensor:
            t = t.to(self.device)
            return t.contiguous(memory_format=memory_format) if t.ndim == 4 else t

        self.streams = {n: {k: place(t) for k, t in s.items()} for n, s in streams.items()}
        self.batch_size = batch_size
        self.autocast, scaler = _amp(self.device, amp)
        self.optimize = Optimize(model.configure_optimizers(), scaler)
        self.images = sum(min(batch_size, len(next(iter(s.values())))) for s in streams.values())
        self.step = 1  # FaderNet's lambda is 0 at step 0: start where the adversary is on
        model.train()

    def __call__(self) -> dict[str, float]:
        """One training step; returns the losses as floats (which waits for the device)."""
        torch.manual_seed(_step_seed(0, self.step))
        generator = torch.Generator().manual_seed(_step_seed(0, self.step))
        batch = _batches(self.streams, self.batch_size, generator)
        with self.autocast():
            losses = self.model.training_step(batch, self.step, self.optimize)
        self.step += 1
        return {k: float(v) for k, v in losses.items()}

    def count_flops(self) -> float:
        """FLOPs of one full step (forward and backward of every loss in it), counted by layer.

        The optimizer updates are element-wise and not counted (FlopCounterMode counts matmuls
        and convolutions), so the figure is the layers' arithmetic: what a matmul can be
        compared with.
        """
        counter = FlopCounterMode(display=False)
        with counter:
            self()
        return float(counter.get_total_flops())

    def time(self, steps: int, warmup: int) -> list[float]:
        """Seconds of each of ``steps`` steps after ``warmup`` untimed ones."""
        for _ in range(warmup):
            self()
        seconds = []
        for _ in range(steps):
            _sync(self.device)
            start = time.perf_counter()
            self()
            _sync(self.device)
            seconds.append(time.perf_counter() - start)
        return seconds


def time_model(
    name: str,
    size: int,
    batch_size: int = 64,
    steps: int = 20,
    warmup: int = 3,
    device: torch.device | None = None,
    amp: bool = True,
    memory_format: torch.memory_format = torch.contiguous_format,
    prepare: Callable[[SepvizModel], None] | None = None,
    count_flops: bool = True,
) -> StepTiming:
    """Build model ``name`` at ``size`` px and time its training step (see :class:`Stepper`).

    ``prepare(model)`` runs after the model is placed (e.g. to compile it). The FLOPs are
    counted on one extra step after the warm-up (``count_flops``).
    """
    model, streams = build(name, size)
    stepper = Stepper(model, streams, batch_size, device, amp, memory_format)
    if prepare is not None:
        prepare(stepper.model)
    seconds = stepper.time(steps, warmup)
    flops = stepper.count_flops() if count_flops else 0.0
    return StepTiming(name, size, batch_size, stepper.images, seconds, flops, model.n_parameters())


def bench_training(
    models: Sequence[str] = MODELS,
    sizes: Sequence[int] = (32, 64),
    batch_size: int = 64,
    steps: int = 20,
    warmup: int = 3,
    device: torch.device | None = None,
) -> list[StepTiming]:
    """Training throughput of each model at each size, with fit's defaults (AMP on CUDA)."""
    return [time_model(m, s, batch_size, steps, warmup, device) for s in sizes for m in models]


def training_rows(timings: Sequence[StepTiming], limit_gflops: float) -> list[list[str]]:
    """Table rows: model, px, images/step, parameters, ms/step, images/s, GFLOP/step,
    GFLOP/s, share of the matmul limit."""
    return [
        [
            t.model,
            str(t.size),
            str(t.images),
            f"{t.parameters / 1e6:.2f} M",
            f"{t.step_s * 1e3:.1f}",
            f"{t.images_per_s:,.0f}",
            f"{t.flops / 1e9:.2f}",
            f"{t.gflops:.1f}",
            f"{t.gflops / limit_gflops:.2f}",
        ]
        for t in timings
    ]


TRAINING_HEADERS = [
    "model",
    "px",
    "images/step",
    "params",
    "ms/step",
    "images/s",
    "GFLOP/step",
    "GFLOP/s",
    "of matmul",
]


# -- choices -----------------------------------------------------------------------------------
@dataclass
class Choice:
    """One before / after: images/s without and with a choice, or why it was not measured."""

    choice: str
    model: str
    size: int
    before: float | None = None
    after: float | None = None
    note: str = ""

    @property
    def speedup(self) -> float | None:
        if self.before and self.after:
            return self.after / self.before
        return None


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``, then put the old number back."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def cudnn_benchmark(on: bool) -> Iterator[None]:
    """Run the block with ``torch.backends.cudnn.benchmark = on``, then put it back."""
    old = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = on
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = old


def compile_layers(model: torch.nn.Module) -> None:
    """``torch.compile`` every layer stack of a sepviz model in place.

    ``training_step`` is ordinary Python that calls the model's children (encoder, decoders,
    discriminator), so each child's ``forward`` is replaced by ``torch.compile(forward)``; a
    ``ModuleDict`` of decoders has no forward of its own and its entries are compiled instead.
    Not ``child.compile()``: in torch 2.13 that silently runs eager for built-in modules such as
    ``nn.Sequential`` (pytorch/pytorch#150915), which is what the encoders are.
    """
    for child in model.children():
        stacks = child.children() if isinstance(child, torch.nn.ModuleDict) else [child]
        for module in stacks:
            module.forward = torch.compile(module.forward)


def _compiled_in_child(
    name: str, size: int, batch_size: int, steps: int, warmup: int, timeout_s: float
) -> tuple[float | None, str]:
    """images/s of a compiled model, measured in a child process killed after ``timeout_s``.

    A child, because a compilation cannot be stopped from inside the process that runs it; it
    runs with this process's number of torch threads.
    Returns ``(images_per_s, note)``; on failure ``(None, "failed: reason")``.
    """
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.bench_train",
        "--compiled-child",
        f"{name},{size},{batch_size},{steps},{warmup},{torch.get_num_threads()}",
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, env=env, cwd=root
        )
    except subprocess.TimeoutExpired:
        return None, f"failed: not compiled and timed within {timeout_s:.0f} s"
    took = time.perf_counter() - start
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        return None, f"failed: {reason[:160]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["frames_compiled"]:
        return None, "failed: nothing was compiled (every frame ran eager)"
    note = f"{result['frames_compiled']} frames compiled; child {took:.0f} s, compile included"
    return result["images_per_s"], note


def bench_choices(
    models: Sequence[str] = ("AutoEncoder", "FaderNet"),
    size: int = 64,
    batch_size: int = 64,
    steps: int = 20,
    warmup: int = 3,
    device: torch.device | None = None,
    threads: Sequence[int] = (1, 2),
    compile_model: bool = True,
    compile_timeout_s: float = 300.0,
) -> list[Choice]:
    """Before / after of the choices that could make training faster, per model.

    * channels_last: the model and its input images in NHWC instead of NCHW.
    * torch.compile: the layer stacks compiled (:func:`compile_layers`), timed in a child
      process with a time limit (``compile_model=False`` skips it).
    * threads: ``torch.set_num_threads(threads[0])`` before, ``threads[-1]`` after.
    * AMP (CUDA only): fp32 before, fit's autocast (bf16, else fp16 with a scaler) after.
    * cudnn.benchmark (CUDA only): off before, on after.

    The "before" of each row is the plain step (fit's defaults), measured for each choice
    again, next to its "after", so both see the same load.
    """
    device = device if device is not None else pick_device()
    out: list[Choice] = []

    def rate(name: str, **kw: Any) -> float:
        kw = {"device": device, "count_flops": False, **kw}
        return time_model(name, size, batch_size, steps, warmup, **kw).images_per_s

    for name in models:
        before = rate(name)
        after = rate(name, memory_format=torch.channels_last)
        out.append(Choice("channels_last", name, size, before, after))

        if compile_model:
            after_c, note = _compiled_in_child(
                name, size, batch_size, steps, warmup, compile_timeout_s
            )
            out.append(Choice("torch.compile", name, size, rate(name), after_c, note))
        else:
            out.append(Choice("torch.compile", name, size, note="skipped (--quick)"))

        lo, hi = threads[0], threads[-1]
        with num_threads(lo):
            before = rate(name)
        with num_threads(hi):
            after = rate(name)
        out.append(Choice(f"threads {lo} -> {hi}", name, size, before, after))

        if device.type == "cuda":
            out.append(Choice("AMP", name, size, rate(name, amp=False), rate(name, amp=True)))
            with cudnn_benchmark(False):
                before = rate(name)
            with cudnn_benchmark(True):
                after = rate(name)
            out.append(Choice("cudnn.benchmark", name, size, before, after))
        else:
            note = f"skipped: needs CUDA (device is {device.type})"
            out.append(Choice("AMP", name, size, note=note))
            out.append(Choice("cudnn.benchmark", name, size, note=note))
    return out


def choice_rows(choices: Sequence[Choice]) -> list[list[str]]:
    """Table rows: choice, model, px, images/s before, after, speed-up, note."""

    def num(v: float | None) -> str:
        return f"{v:,.0f}" if v is not None else "-"

    return [
        [
            c.choice,
            c.model,
            str(c.size),
            num(c.before),
            num(c.after),
            f"{c.speedup:.2f}x" if c.speedup is not None else "-",
            c.note,
        ]
        for c in choices
    ]


CHOICE_HEADERS = ["choice", "model", "px", "before img/s", "after img/s", "speed-up", "note"]


# -- command line ------------------------------------------------------------------------------
def _compiled_child(spec: str) -> None:
    """Entry point of the child that :func:`_compiled_in_child` starts: prints a JSON line."""
    name, size, batch_size, steps, warmup, threads = spec.split(",")
    torch.set_num_threads(int(threads))
    timing = time_model(
        name,
        int(size),
        int(batch_size),
        int(steps),
        int(warmup),
        prepare=compile_layers,
        count_flops=False,
    )
    from torch._dynamo.utils import counters

    frames = int(counters["frames"]["ok"])
    print(json.dumps({"images_per_s": timing.images_per_s, "frames_compiled": frames}))


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m benchmarks.bench_train [--quick] [--sizes 32 64]``: the training tables."""
    from benchmarks.__main__ import markdown_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps, 32 px, no compile")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--compiled-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.compiled_child:
        _compiled_child(args.compiled_child)
        return
    quick = args.quick
    sizes = args.sizes or ([32] if quick else [32, 64])
    steps, warmup = (4, 2) if quick else (20, 3)
    print(machine_line(machine_info()))
    limit = bench_matmul(1024 if quick else 2048, 2 if quick else 5)
    print(f"matmul: {limit:.1f} GFLOP/s")
    timings = bench_training(sizes=sizes, steps=steps, warmup=warmup)
    print(markdown_table(TRAINING_HEADERS, training_rows(timings, limit)))
    choices = bench_choices(
        models=("AutoEncoder",) if quick else ("AutoEncoder", "FaderNet"),
        size=max(sizes),
        steps=steps,
        warmup=warmup,
        compile_model=not quick,
    )
    print(markdown_table(CHOICE_HEADERS, choice_rows(choices)))


if __name__ == "__main__":
    main()
