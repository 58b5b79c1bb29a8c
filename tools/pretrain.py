"""Train the quick budget's models into ``data/pretrained/``, the models the repository ships.

Run it (``make pretrained``) after changing the training code (the modules of
:data:`sepviz.zoo.TRAINING_CODE`, or a chapter's training function): ``tests/test_zoo.py``
fails while a shipped model is stale. It

1. deletes the shipped models the current code would no longer make
   (:func:`sepviz.zoo.prune_stale`);
2. executes every chapter in the quick budget with ``SEPVIZ_CACHE=data/pretrained``, into an
   empty Jupyter cache, so each model a chapter trains (through :func:`sepviz.zoo.cached`) is
   loaded when still current and trained and saved there, with its card, when missing;
3. stores every model's weights in half precision (:func:`sepviz.zoo.store_folder_half`);
4. lists what the folder holds: each model's training time (from its History) and size.

Chapters run as the book's build runs them (:mod:`tools.execute_book`: two at a time, one
thread each), so the training times the models' histories carry are those of the chapters'
own two-core machine. When every model is missing it trains 82 models (the headline models
of chapters 2-10 three times, one per seed, and the 64 px models of chapters 4, 5 and 8's
figures): their histories add up to about 8 hours (29,200 s, measured 2026-12-04), about 4
hours of wall-clock time two at a time.

Usage: ``python tools/pretrain.py [--jobs N] [--keep DIR]`` (``--keep``: the executed chapters
stay in that Jupyter cache, to read their verdicts).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="chapters side by side")
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep the executed chapters in this Jupyter cache"
    )
    args = parser.parse_args(argv)

    from sepviz import zoo

    folder = zoo.PRETRAINED
    folder.mkdir(parents=True, exist_ok=True)
    for path in zoo.prune_stale(folder):
        print(f"pretrain: removed stale {path.name}")
    env = dict(os.environ, SEPVIZ_CACHE=str(folder), SEPVIZ_BUDGET="quick", TQDM_DISABLE="1")
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    with tempfile.TemporaryDirectory() as scratch:
        jupyter_cache = str(args.keep or scratch)
        command = [
            sys.executable,
            str(ROOT / "tools" / "execute_book.py"),
            f"--jobs={args.jobs}",
            f"--cache={jupyter_cache}",
            "--timeout=14400",  # a cell that trains several models may take an hour here
        ]
        done = subprocess.run(command, env=env, check=False)
    for lock in folder.glob("*.lock"):
        lock.unlink()
    for path in zoo.store_folder_half(folder):
        print(f"pretrain: stored {path.name} in half precision")
    models = sorted(folder.glob("*.pt"))
    size = sum(p.stat().st_size for p in models) / 2**20
    print(training_times(models))
    print(f"pretrain: {len(models)} models, {size:.1f} MiB in {folder.relative_to(ROOT)}")
    stale = zoo.stale(folder)
    if stale:
        print(f"pretrain: still stale: {[p.name for p in stale]}")
    return done.returncode or int(bool(stale))


def training_times(models: list[Path]) -> str:
    """A table of each model's training time (from the History saved in its file: the fit's
    wall-clock seconds on the machine that trained it) and size, with the total."""
    from sepviz.checkpoint import load_model_file

    lines, total = [f"{'model':<52} {'trained (s)':>11} {'MiB':>6}"], 0.0
    for path in models:
        history = load_model_file(path).history
        seconds = history.seconds if history is not None else float("nan")
        total += 0.0 if history is None else seconds
        lines.append(f"{path.name:<52} {seconds:>11.0f} {path.stat().st_size / 2**20:>6.2f}")
    lines.append(f"{'all ' + str(len(models)) + ' models':<52} {total:>11.0f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
