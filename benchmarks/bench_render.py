"""Renderer throughput: faces per second at 32 / 64 / 128 px (`python -m benchmarks.bench_render`).

Target: at least 5,000 faces/s at 64 px on 2 CPU cores. Each size is warmed up once, then the
best of ``repeats`` timed runs counts (the least disturbed by other processes).
"""

from __future__ import annotations

import time

import torch

from sepviz.data.synthetic import random_expressions, random_identities, random_lights, render


def bench_render(
    sizes: tuple[int, ...] = (32, 64, 128), n: int = 4000, repeats: int = 5
) -> dict[int, float]:
    """Faces per second of :func:`~sepviz.data.synthetic.render` at each size.

    Renders ``n`` random faces (``n // 4`` at sizes above 64, to keep the run short) ``repeats``
    times after a warm-up and returns ``{size: faces_per_second}`` of the fastest run, using
    torch's current number of threads.
    """
    g = torch.Generator().manual_seed(0)
    identity, expression = random_identities(n, g), random_expressions(n, g)
    light = random_lights(n, g)
    result = {}
    for size in sizes:
        count = n if size <= 64 else max(1, n // 4)
        args = identity[:count], expression[:count], light[:count]
        render(*(a[:256] for a in args), size=size)  # warm-up: caches, allocator, threads
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            render(*args, size=size)
            best = min(best, time.perf_counter() - start)
        result[size] = count / best
    return result


def main() -> None:
    print(f"sepviz renderer, torch {torch.__version__}, {torch.get_num_threads()} threads")
    for size, rate in bench_render().items():
        print(f"  {size:4d} px: {rate:9,.0f} faces/s")


if __name__ == "__main__":
    main()
