"""benchmarks: the quick run measures every section and writes results.md (`make bench`).

One quick run (few steps, 32 px, 500 latents, no compile) is shared by the tests; it takes
15 to 40 s (UMAP's first call imports umap and loads numba's cache), hence ``slow``.
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) leaves the repo root out
    sys.path.insert(0, str(ROOT))

from benchmarks.__main__ import Results, markdown_table, run  # noqa: E402
from benchmarks.bench_train import (  # noqa: E402
    MODELS,
    POOL,
    Stepper,
    bench_matmul,
    build,
    num_threads,
)
from sepviz.models.deepfakes import SharedEncoderModel  # noqa: E402
from sepviz.recipes import RECIPES  # noqa: E402

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


def test_matmul_limit_is_two_n_cubed_over_the_best_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a clock that advances 0.5 s per reading, every run of ``inner`` matmuls takes
    0.5 s: GFLOP/s = 2 n^3 / (0.5 s / inner) / 1e9."""
    real = bench_matmul(n=128, repeats=1, inner=1, device=torch.device("cpu"))
    assert math.isfinite(real) and real > 0
    clock = itertools.count(step=0.5)
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    gflops = bench_matmul(n=64, repeats=3, inner=2, device=torch.device("cpu"))
    assert gflops == pytest.approx(2 * 64**3 / (0.5 / 2) / 1e9)


def test_build_takes_each_model_from_its_recipe() -> None:
    """``build`` gives each recipe's model with the streams its ``fit`` would build: one per
    decoder (DeepFakes, MultiDecoder) or ``"faces"``, ``POOL`` rendered faces in all."""
    assert list(MODELS) == list(dict.fromkeys(entry.model for entry in RECIPES.values()))
    for name in MODELS:
        model, streams = build(name, 16)
        assert type(model).__name__ == name
        expected = model.names if isinstance(model, SharedEncoderModel) else ["faces"]
        assert list(streams) == expected, name
        assert sum(len(s["x"]) for s in streams.values()) == POOL, name
        for stream in streams.values():
            x = stream["x"]
            assert x.shape[1:] == (3, 16, 16) and 0 <= float(x.min()) <= float(x.max()) <= 1
        if name == "FaderNet":  # y in [-1, 1], the adversary on
            y = streams["faces"]["y"]
            assert y.shape == (POOL, 1) and float(y.abs().max()) <= 1
            assert model.lambda_at(1) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="unknown model 'GAN'"):
        build("GAN", 16)


# Forward multiply-adds of one 16 px face through the AutoEncoder (latent 64), layer by layer:
# conv 3->32 to 8x8, conv 32->64 to 4x4, linear 1024->64 | linear 64->1024, convT 64->32 to
# 8x8, convT 32->3 to 16x16. A step is forward + backward: 3x the forward, less the gradient
# of the image (the first conv's input needs none); 2 FLOPs per multiply-add.
AE_16_MACS = [3 * 16 * 32 * 64, 32 * 16 * 64 * 16, 1024 * 64, 64 * 1024, 64 * 16 * 32 * 16]
AE_16_MACS += [32 * 64 * 3 * 16]
AE_16_STEP_FLOPS = 2 * (3 * sum(AE_16_MACS) - AE_16_MACS[0])  # 8,060,928 per face


def test_flop_count_of_a_step_is_the_hand_count() -> None:
    with num_threads(1):
        timings = {}
        for name in ("AutoEncoder", "DeepFakes", "MultiDecoder"):
            model, streams = build(name, 16)
            stepper = Stepper(model, streams, batch_size=8, device=torch.device("cpu"))
            timings[name] = (stepper.images, stepper.count_flops())
    assert AE_16_STEP_FLOPS == 8_060_928
    assert timings["AutoEncoder"] == (8, 8 * AE_16_STEP_FLOPS)
    # one shared encoder and one decoder per stream, each as big as the AutoEncoder's
    assert timings["DeepFakes"] == (16, 2 * 8 * AE_16_STEP_FLOPS)
    assert timings["MultiDecoder"] == (24, 3 * 8 * AE_16_STEP_FLOPS)


def test_one_training_row_per_model(quick: tuple[Results, Path]) -> None:
    results, _ = quick
    assert math.isfinite(results.matmul_gflops) and results.matmul_gflops > 0
    rows = table_rows(results.markdown(), "| model ")
    assert [r[0] for r in rows] == list(MODELS)
    timings = {t.model: t for t in results.training}
    assert list(timings) == list(MODELS)
    for row in rows:
        timing = timings[row[0]]
        assert row[1] == "32" and row[2] == str(timing.images)
        assert row[5] == f"{timing.images_per_s:,.0f}", row  # images/s
        assert 0 < number(row[8]) < 1.5, row  # achieved FLOP/s over the matmul limit
    for timing in results.training:
        assert len(timing.seconds) == 4  # the quick run's timed steps
        assert all(math.isfinite(s) and s > 0 for s in timing.seconds), timing
        assert timing.step_s == pytest.approx(sum(sorted(timing.seconds)[1:3]) / 2)  # median
        _, streams = build(timing.model, 16)
        assert timing.images == timing.batch_size * len(streams), timing.model
        assert timing.batch_size == 64 and timing.parameters > 0
    # FLOPs per image: DeepFakes and MultiDecoder run the AutoEncoder's layers once per stream
    ae = timings["AutoEncoder"]
    for name in ("DeepFakes", "MultiDecoder"):
        assert timings[name].flops / timings[name].images == ae.flops / ae.images, name
    assert timings["FaderNet"].flops > ae.flops  # y in every decoder block, a discriminator


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
    assert set(results.render) == {32}
    assert math.isfinite(results.render[32]) and results.render[32] > 0
    assert table_rows(results.markdown(), "| px ") == [["32", f"{results.render[32]:,.0f}"]]
    # the quick run leaves UMAP out (its first call compiles numba: most of a quick run)
    assert list(results.probes) == ["probe linear (5-fold CV)", "probe mlp (5-fold CV)"]
    assert all(math.isfinite(v) and v > 0 for v in results.probes.values())
    assert sum(results.probes.values()) < results.seconds  # parts of the whole run


def test_results_md_written(quick: tuple[Results, Path]) -> None:
    results, out = quick
    text = out.read_text(encoding="utf-8")
    machine = next(line for line in text.splitlines() if line.startswith("Machine: "))
    assert f"torch {torch.__version__}" in machine and "cores" in machine
    assert "device cpu" in machine or "device cuda" in machine or "device mps" in machine
    for section in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## 7."):
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
        nb, str(tmp_path / "04_deepfakes.ipynb"), data={"execution_seconds": 7.5}
    )
    cache.cache_notebook_bundle(bundle, check_validity=False)
    assert chapter_times(tmp_path / "cache") == {"04_deepfakes": 7.5}


def test_size_ratio_of_a_model_is_its_two_step_times_and_its_flops(
    quick: tuple[Results, Path],
) -> None:
    results, _ = quick
    (ratio,) = results.ratios  # the quick run: the AutoEncoder only
    assert (ratio.model, ratio.small.size, ratio.large.size) == ("AutoEncoder", 32, 64)
    assert len(ratio.small.seconds) == len(ratio.large.seconds) == 2
    assert ratio.step_ratio == pytest.approx(ratio.large.step_s / ratio.small.step_s)
    # a 64 px model: 4x the pixels in each of the 32 px model's blocks, and a fourth block
    # of 256 channels (hand count: 5.75x the layers' FLOPs)
    assert ratio.flop_ratio == pytest.approx(5.75, abs=0.05)
    assert len(ratio.ops) == 3 and all(0 < op.share <= 1 for op in ratio.ops)
    assert ratio.ops[0].ms_per_step >= ratio.ops[-1].ms_per_step  # the largest first
    assert all(op.calls_per_step > 0 for op in ratio.ops)
    ratio_line = next(
        line
        for line in results.markdown().splitlines()
        if line.startswith("| AutoEncoder") and f"{ratio.step_ratio:.2f}x" in line
    )
    assert f"{ratio.flop_ratio:.2f}x" in ratio_line
    assert any(op.op.startswith("aten::") and op.shapes for op in ratio.ops)
