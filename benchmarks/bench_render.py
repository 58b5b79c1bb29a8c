"""Renderer throughput: faces per second at 32 / 64 / 128 px (`python -m benchmarks.bench_render`).

Target (issue 2): at least 5,000 faces/s at 64 px on 2 CPU cores.
"""

from __future__ import annotations

import time

import torch

from sepviz.data.synthetic import random_expressions, random_identities, random_lights, render


def bench_render(
    sizes: tuple[int, ...] = (32, 64, 128), n: int = 4000, repeats: int = 3
) -> dict[int, float]:
    """Best-of-``repeats`` faces/s of :func:`render` for ``n`` random faces at each size."""
    g = torch.Generator().manual_seed(0)
    identity, expression, light = (
        random_identities(n, g),
        random_expressions(n, g),
        random_lights(n, g),
    )
    result = {}
    for size in sizes:
        count = n if size <= 64 else n // 4
        render(identity[:256], expression[:256], light[:256], size)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            render(identity[:count], expression[:count], light[:count], size)
            best = min(best, time.perf_counter() - start)
        result[size] = count / best
    return result


def main() -> None:
    print(f"renderer, torch {torch.__version__}, {torch.get_num_threads()} threads")
    for size, rate in bench_render().items():
        print(f"  {size:4d} px: {rate:9,.0f} faces/s")


if __name__ == "__main__":
    main()
