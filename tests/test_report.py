"""sepviz.report: probe tables and readable layers, on hand-made results."""

from __future__ import annotations

import pytest

from sepviz.probes import ProbeResult
from sepviz.report import probe_table, readable_layers


def _result(score: float, chance: float, task: str = "classification") -> ProbeResult:
    return ProbeResult(
        score=score,
        score_std=0.01,
        chance=chance,
        kind="linear",
        task=task,
        n_samples=100,
        n_features=8,
    )


def test_probe_table_formats_accuracy_and_r2() -> None:
    table = probe_table(
        {
            "identity": {"linear": _result(0.991, 0.125), "MLP": _result(0.943, 0.125)},
            "smile": {
                "linear": _result(0.745, 0.0, "regression"),
                "MLP": _result(0.85, 0.0, "regression"),
            },
        }
    )
    lines = table.splitlines()
    assert lines[0] == "| factor | metric | linear | MLP | chance |"
    assert lines[1] == "|---|---|---|---|---|"
    assert lines[2] == "| identity | accuracy | 99.1% ± 1.0 | 94.3% ± 1.0 | 12.5% |"
    assert lines[3] == "| smile | R² | 0.745 ± 0.010 | 0.850 ± 0.010 | 0.000 |"


def test_probe_table_row_header() -> None:
    table = probe_table({"x": {"linear": _result(0.5, 0.5)}}, row_header="model")
    assert table.startswith("| model | metric | linear | chance |")


@pytest.mark.parametrize(
    "results, match",
    [
        ({}, "results is empty"),
        ({"a": {}}, "non-empty dict"),
        ({"a": {"linear": 0.5}}, "non-ProbeResult"),
        ({"a": {"linear": _result(0.9, 0.5)}, "b": {"mlp": _result(0.9, 0.5)}}, "columns"),
        (
            {"a": {"linear": _result(0.9, 0.5), "mlp": _result(0.9, 0.0, "regression")}},
            "mixes metrics",
        ),
        ({"a": {"linear": _result(0.9, 0.5), "mlp": _result(0.9, 0.3)}}, "chance levels"),
    ],
)
def test_probe_table_rejects_bad_input(results: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        probe_table(results)


ROWS = [
    {"layer": "enc1", "factor": "identity", "score": 1.0, "chance": 0.5},
    {"layer": "enc1", "factor": "light", "score": 0.9, "chance": 0.35},
    {"layer": "enc2", "factor": "identity", "score": 0.55, "chance": 0.5},
    {"layer": "enc2", "factor": "light", "score": 0.4, "chance": 0.35},
    {"layer": "dec1", "factor": "identity", "score": 0.95, "chance": 0.5},
    {"layer": "dec1", "factor": "light", "score": 0.45, "chance": 0.35},
]


def test_readable_layers_keeps_network_order_and_margin() -> None:
    assert readable_layers(ROWS, "identity") == ["enc1", "dec1"]
    assert readable_layers(ROWS, "light") == ["enc1", "dec1"]
    assert readable_layers(ROWS, "light", margin=0.2) == ["enc1"]
    assert readable_layers(ROWS, "identity", margin=0.0) == ["enc1", "enc2", "dec1"]
    assert readable_layers(ROWS, "identity", margin=0.6) == []


@pytest.mark.parametrize(
    "rows, factor, margin, match",
    [
        ([], "identity", 0.1, "rows is empty"),
        ([{"layer": "enc1", "factor": "identity"}], "identity", 0.1, "lack the keys"),
        (ROWS, "nose", 0.1, "factor='nose' is not in rows"),
        (ROWS, "identity", -0.1, "margin must be >= 0"),
    ],
)
def test_readable_layers_rejects_bad_input(
    rows: list, factor: str, margin: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        readable_layers(rows, factor, margin)
