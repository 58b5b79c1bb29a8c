"""Shared test settings: CPU, quick budget, headless matplotlib, a numba cache.

When the book's tests are selected, the chapters start executing in the background as soon as
the tests are collected (``tools/execute_book.py``, one thread per chapter), and the book's
tests run last: the other tests run meanwhile on one thread, so both share the cores instead
of waiting for each other. A model a test and a chapter both need is trained once (the zoo's
lock makes the second wait for the first).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK_TESTS = "test_book.py"
BOOK_LOG = ROOT / "_build" / "execute_book.log"
INLINE = "module://matplotlib_inline.backend_inline"  # with Agg the chapters show no figure
BOOK_ENV = {"SEPVIZ_BUDGET": "quick", "MPLBACKEND": INLINE, "TQDM_DISABLE": "1"}

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("SEPVIZ_BUDGET", "quick")
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))

_book: dict[str, subprocess.Popen[bytes]] = {}  # "execute": the chapters' background run
_limits: dict[str, Any] = {}  # "blas": the BLAS thread limit while the chapters run


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The book's tests last, so the rest runs while the chapters execute."""
    items.sort(key=lambda item: item.path.name == BOOK_TESTS)  # stable: order kept otherwise


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start executing the chapters in the background when a book test will run."""
    wanted = any(item.path.name == BOOK_TESTS for item in session.items)
    if not wanted or os.environ.get("SEPVIZ_SKIP_BOOK") == "1" or session.config.option.collectonly:
        return
    BOOK_LOG.parent.mkdir(parents=True, exist_ok=True)
    with open(BOOK_LOG, "wb") as log:
        _book["execute"] = subprocess.Popen(
            [sys.executable, str(ROOT / "tools" / "execute_book.py")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, **BOOK_ENV),
            start_new_session=True,  # its own process group: stopped with its workers below
        )
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)  # the chapters have the other cores
    # numpy's and scikit-learn's BLAS too: its threads spin while they wait, and two of them
    # beside the chapters' kernels on two cores made a probe test six times slower
    _limits["blas"] = threadpool_limits(limits=1)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Once the chapters are executed, the tests still to run get every core back."""
    proc = _book.get("execute")
    if proc is not None and proc.poll() is not None:
        import torch

        if torch.get_num_threads() < (os.cpu_count() or 1):
            torch.set_num_threads(os.cpu_count() or 1)
        if "blas" in _limits:
            _limits.pop("blas").restore_original_limits()


def executed_book(timeout: float = 1800) -> str:
    """Wait for the background execution of the chapters (start it here if it never started);
    returns its log. The build that follows renders the cached chapters."""
    proc = _book.pop("execute", None)
    if proc is None:
        command = [sys.executable, str(ROOT / "tools" / "execute_book.py")]
        env = dict(os.environ, **BOOK_ENV)
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
        return done.stdout + done.stderr
    proc.wait(timeout=timeout)
    return BOOK_LOG.read_text()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the chapters' execution when the book's tests did not wait for it (``-x``, Ctrl-C):
    the script, its workers and (through ipykernel's parent check) their kernels."""
    proc = _book.pop("execute", None)
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
