"""Shared test settings: CPU, quick budget, headless matplotlib, a numba cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("SEPVIZ_BUDGET", "quick")
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
