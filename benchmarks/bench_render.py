"""Renderer throughput: faces per second at 32 / 64 / 128 px (`python -m benchmarks.bench_render`),
frontal and with random head poses.

Target: at least 5,000 faces/s at 64 px on 2 CPU cores. Each size is warmed up once, then the
best of ``repeats`` timed runs counts (the least disturbed by other processes).
"""

from __future__ import annotations

import time

import torch

from sepviz.data.synthetic import (
    random_expressions,
    random_identities,
    random_lights,
    random_poses,
    render,
)


def bench_render(
    sizes: tuple[int, ...] = (32, 64, 128), n: int = 4000, repeats: int = 5, pose: bool = False
) -> dict[int, float]:
    """Faces per second of :func:`~sepviz.data.synthetic.render` at each size.

    Renders ``n`` random faces (``n // 4`` at sizes above 64, to keep the run short) ``repeats``
    times after a warm-up and returns ``{size: faces_per_second}`` of the fastest run, using
    torch's current number of threads. ``pose=True`` turns every head by a random pose
    (yaw in [-40, 40], pitch in [-20, 20] degrees).
    """
    g = torch.Generator().manual_seed(0)
    identity, expression = random_identities(n, g), random_expressions(n, g)
    light = random_lights(n, g)
    turn = random_poses(n, g) if pose else None
    result = {}
    for size in sizes:
        count = n if size <= 64 else max(1, n // 4)
        args = identity[:count], expression[:count], light[:count]
        posed = None if turn is None else turn[:count]
        warm = None if posed is None else posed[:256]
        render(*(a[:256] for a in args), size=size, pose=warm)  # warm-up: caches, allocator
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            render(*args, size=size, pose=posed)
            best = min(best, time.perf_counter() - start)
        result[size] = count / best
    return result


def main() -> None:
    print(f"sepviz renderer, torch {torch.__version__}, {torch.get_num_threads()} threads")
    frontal, posed = bench_render(), bench_render(pose=True)
    for size, rate in frontal.items():
        print(f"  {size:4d} px: {rate:9,.0f} faces/s frontal, {posed[size]:9,.0f} posed")


if __name__ == "__main__":
    main()
