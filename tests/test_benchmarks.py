"""benchmarks: the quick run measures every section and writes results.md (`make bench`).

One quick run (few steps, 32 px, 500 latents, no compile) is shared by the tests; it takes
15 to 40 s (UMAP's first call imports umap and loads numba's cache), hence ``slow``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) leaves the repo root out
    sys.path.insert(0, str(ROOT))

from benchmarks.__main__ import Results, markdown_table, run  # noqa: E402
from benchmarks.bench_train import MODELS, bench_matmul, num_threads  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Results, Path]:
    """One ``--quick`` run on one torch thread (tiny models; the machine may be busy)."""
    out = tmp_path_factory.mktemp("bench") / "out" / "results.md"
    with num_threads(1):
        results = run(quick=True, out=out, verbose=False)
    return results, out


def table_rows(text: str, header_start: str) -> list[list[str]]:
    """Cells of the Markdown table whose header row starts with ``header_start``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def number(cell: str) -> float:
    return float(cell.replace(",", "").rstrip("x"))


def test_matmul_limit_is_positive() -> None:
    assert bench_matmul(n=256, repeats=1, inner=1, device=torch.device("cpu")) > 0


def test_one_training_row_per_model(quick: tuple[Results, Path]) -> None:
    results, _ = quick
    assert results.matmul_gflops > 0
    rows = table_rows(results.markdown(), "| model ")
    assert [r[0] for r in rows] == list(MODELS)
    for row in rows:
        assert row[1] == "32"
        assert number(row[5]) > 0, row  # images/s
        assert 0 < number(row[8]) < 1.5, row  # achieved FLOP/s over the matmul limit
    for timing in results.training:
        assert timing.flops > 0 and timing.images_per_s > 0
        assert timing.images == 64 * {"DeepFakes": 2, "MultiDecoder": 3}.get(timing.model, 1)


def test_choices_measured_or_explained(quick: tuple[Results, Path]) -> None:
    results, _ = quick
    by_name = {c.choice: c for c in results.choices}
    assert by_name["channels_last"].speedup is not None
    assert by_name["threads 1 -> 2"].speedup is not None
    assert by_name["torch.compile"].note.startswith("skipped")
    if not torch.cuda.is_available():
        assert by_name["AMP"].note.startswith("skipped: needs CUDA")
        assert by_name["cudnn.benchmark"].note.startswith("skipped: needs CUDA")


def test_render_and_probe_sections(quick: tuple[Results, Path]) -> None:
    results, _ = quick
    assert set(results.render) == {32} and results.render[32] > 0
    assert len(results.probes) == 3 and all(v > 0 for v in results.probes.values())


def test_results_md_written(quick: tuple[Results, Path]) -> None:
    results, out = quick
    text = out.read_text(encoding="utf-8")
    machine = next(line for line in text.splitlines() if line.startswith("Machine: "))
    assert f"torch {torch.__version__}" in machine and "cores" in machine
    assert "device cpu" in machine or "device cuda" in machine or "device mps" in machine
    for section in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5."):
        assert section in text


def test_markdown_table_aligns_numbers() -> None:
    table = markdown_table(["name", "rate"], [["a", "1,234"], ["bb", "5"]])
    lines = table.splitlines()
    assert lines[1] == "|------|------:|"
    assert lines[2] == "| a    | 1,234 |" and lines[3] == "| bb   |     5 |"


def test_compiled_child_reports_failure_cleanly() -> None:
    from benchmarks import bench_train

    rate, note = bench_train._compiled_in_child("NoSuchModel", 32, 8, 1, 0, timeout_s=60)
    assert rate is None and note.startswith("failed:") and "NoSuchModel" in note


def test_chapter_times_read_the_book_cache(tmp_path: Path) -> None:
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    from benchmarks.__main__ import chapter_times

    assert chapter_times(tmp_path / "none") == {}
    cache = get_cache(str(tmp_path / "cache"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    bundle = CacheBundleIn(
        nb, str(tmp_path / "03_deepfakes.ipynb"), data={"execution_seconds": 7.5}
    )
    cache.cache_notebook_bundle(bundle, check_validity=False)
    assert chapter_times(tmp_path / "cache") == {"03_deepfakes": 7.5}
