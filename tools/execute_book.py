"""Execute the book's chapters into Jupyter Book's cache, several chapters at a time.

``jupyter-book build`` (``execute_notebooks: cache``) runs one chapter after another, each
kernel spread over every core. The chapters train small networks, which gain little from a
second thread, so on a 2-core machine two chapters side by side, one thread each, finish
sooner. This script fills the cache the build reads (``_build/.jupyter_cache``), with the
same execution the build would do (:func:`jupyter_cache.executors.utils.single_nb_execution`
in the chapter's folder), so the build afterwards only renders. A chapter already in the
cache is skipped; a chapter that fails is left out of the cache, and the build runs it again
and reports the error as usual.

The longest chapters start first (:data:`FIRST`). The closing chapter (:data:`LAST`) reads
what the others recorded (:mod:`sepviz.experiments.findings`), so it runs after all of them,
and again whenever another chapter ran.

Usage: ``python tools/execute_book.py [--jobs N] [--cache DIR] [CHAPTER ...]`` (default: every
chapter, one job per core, at most 4; a CHAPTER is a notebook's name, e.g. ``05_fadernet``;
``--cache``: another Jupyter cache than the build's, e.g. an empty one to run every chapter).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"
# the longest first (measured in CI with the shipped models: 6 probes ~340 s, 9 real faces
# ~190 s, then ~20-80 s each). When a chapter trains a model another one needs (make
# pretrained), the zoo's lock makes the second wait for it rather than train it twice.
FIRST = ("07_", "10_", "06_", "05_", "03_", "09_", "04_", "02_")
"""Chapter prefixes in the order to start them, longest first; the others follow in the
table of contents' order."""
LAST = ("12_",)
"""Chapters that collect the others' results: run once every other chapter has finished."""


def chapters() -> list[Path]:
    """The notebooks of ``_toc.yml``, the long chapters first (:data:`FIRST`)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"], *(entry["file"] for entry in toc.get("chapters", []))]
    paths = [ROOT / f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").exists()]
    rank = {
        p: next((k for k, s in enumerate(FIRST) if p.name.startswith(s)), len(FIRST)) for p in paths
    }
    return sorted(paths, key=lambda p: rank[p])


def execute(path: Path, timeout: int) -> tuple[Path, nbformat.NotebookNode, float, str | None]:
    """Run one chapter in its folder, as Jupyter Book would; returns the executed notebook."""
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = nbformat.read(path, as_version=4)
    result = single_nb_execution(
        notebook, cwd=str(path.parent), timeout=timeout, allow_errors=False, meta_override=True
    )
    return path, notebook, result.time, result.exc_string if result.err else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per chapter")
    parser.add_argument("--cache", type=Path, default=CACHE, help="the Jupyter cache to fill")
    parser.add_argument("chapters", nargs="*", help="only these notebooks (names, no ending)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(args.cache))
    todo, known = [], chapters()
    unknown = set(args.chapters) - {p.stem for p in known}
    if unknown:
        parser.error(f"no such chapter: {sorted(unknown)}; have {[p.stem for p in known]}")
    for path in known:
        if args.chapters and path.stem not in args.chapters:
            continue
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            todo.append(path)
    last = [p for p in known if p.name.startswith(LAST)]
    first = [p for p in todo if p not in last]
    if first:  # a chapter ran again: the closing chapter must read its new results
        todo = first + [p for p in last if not args.chapters or p.stem in args.chapters]
    if not todo:
        print("execute_book: every chapter is in the cache")
        return 0
    # each kernel gets its share of the cores (the kernels inherit this environment)
    threads = str(max(1, (os.cpu_count() or 1) // args.jobs))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[name] = threads
    print(f"execute_book: {len(todo)} chapters, {args.jobs} at a time, {threads} thread(s) each")
    start, failed = time.time(), 0
    waves = [[p for p in todo if p not in last], [p for p in todo if p in last]]
    for wave in waves:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            jobs = [pool.submit(execute, path, args.timeout) for path in wave]
            for job in as_completed(jobs):
                path, notebook, seconds, error = job.result()
                name = path.relative_to(ROOT)
                if error is not None:
                    failed += 1
                    print(f"execute_book: {name} FAILED after {seconds:.0f} s:\n{error[-3000:]}")
                    continue
                bundle = CacheBundleIn(notebook, str(path), data={"execution_seconds": seconds})
                cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
                print(
                    f"execute_book: {name} in {seconds:.0f} s ({time.time() - start:.0f} s so far)"
                )
    print(f"execute_book: done in {time.time() - start:.0f} s; {failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
