"""Turn measurements into tables and facts a chapter can print: probe tables, readable layers.

* :func:`probe_table`: a Markdown table of probe results (rows: factors, columns: probe
  kinds), each cell the held-out score with its spread over folds, next to the chance level.
* :func:`readable_layers`: the layers of :func:`sepviz.probes.layer_probes`' output at which a
  factor is readable (probe score at least ``margin`` above chance), in network order.

Both are pure functions of their inputs (no model, no I/O), so a chapter's verdicts can be
computed from them and tested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sepviz.probes import ProbeResult

_REQUIRED_ROW_KEYS = ("layer", "factor", "score", "chance")


def _format_score(result: ProbeResult) -> str:
    if result.metric == "accuracy":
        return f"{100 * result.score:.1f}% ± {100 * result.score_std:.1f}"
    return f"{result.score:.3f} ± {result.score_std:.3f}"


def _format_chance(result: ProbeResult) -> str:
    return f"{100 * result.chance:.1f}%" if result.metric == "accuracy" else f"{result.chance:.3f}"


def probe_table(
    results: Mapping[str, Mapping[str, ProbeResult]],
    row_header: str = "factor",
) -> str:
    """A Markdown table of probe results: one row per factor, one column per probe kind.

    Example: ``probe_table({"identity": {"linear": r1, "MLP": r2}, "smile": {...}})`` gives
    the columns ``factor | metric | linear | MLP | chance``. Accuracies are shown in percent,
    R^2 as a number; every cell is ``mean ± standard deviation`` over the folds.

    Args:
        results: row label -> (column label -> :class:`~sepviz.probes.ProbeResult`). Every
            row must have the same column labels, and all results of a row the same metric
            and chance level (they probe the same labels).
        row_header: the title of the first column.

    Returns:
        The table as a Markdown string (display it with ``IPython.display.Markdown``).
    """
    if not results:
        raise ValueError("results is empty: give row label -> {column label: ProbeResult}")
    columns: list[str] | None = None
    for row, cells in results.items():
        if not isinstance(cells, Mapping) or not cells:
            raise ValueError(f"results[{row!r}] must be a non-empty dict column -> ProbeResult")
        bad = [c for c, r in cells.items() if not isinstance(r, ProbeResult)]
        if bad:
            raise ValueError(f"results[{row!r}] has non-ProbeResult entries for columns {bad}")
        if columns is None:
            columns = list(cells)
        elif list(cells) != columns:
            raise ValueError(
                f"results[{row!r}] has columns {list(cells)}, expected {columns} like the first row"
            )
        metrics = {r.metric for r in cells.values()}
        if len(metrics) != 1:
            raise ValueError(f"results[{row!r}] mixes metrics {sorted(metrics)}")
        chances = {round(r.chance, 9) for r in cells.values()}
        if len(chances) != 1:
            raise ValueError(f"results[{row!r}] mixes chance levels {sorted(chances)}")
    assert columns is not None
    names = {"accuracy": "accuracy", "r2": "R²"}
    lines = [
        "| " + " | ".join([row_header, "metric", *columns, "chance"]) + " |",
        "|" + "---|" * (len(columns) + 3),
    ]
    for row, cells in results.items():
        first = next(iter(cells.values()))
        scores = [_format_score(cells[c]) for c in columns]
        lines.append(
            "| "
            + " | ".join([str(row), names[first.metric], *scores, _format_chance(first)])
            + " |"
        )
    return "\n".join(lines)


def readable_layers(
    rows: Sequence[Mapping[str, Any]],
    factor: str,
    margin: float = 0.1,
) -> list[str]:
    """The layers at which ``factor`` is readable: probe score >= chance + ``margin``.

    Args:
        rows: the output of :func:`sepviz.probes.layer_probes` (dicts with ``layer``,
            ``factor``, ``score`` and ``chance``).
        factor: which factor (a key of the ``labels`` given to ``layer_probes``).
        margin: how far above chance counts as readable, in the score's units (accuracy
            in [0, 1] or R^2); >= 0.

    Returns:
        Layer names in the order of ``rows`` (network order), e.g. ``["enc1", ..., "dec4"]``;
        empty when the factor is nowhere readable.
    """
    if not rows:
        raise ValueError("rows is empty: pass the list returned by layer_probes")
    missing = [k for k in _REQUIRED_ROW_KEYS if k not in rows[0]]
    if missing:
        raise ValueError(f"rows lack the keys {missing} (use layer_probes' output)")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    selected = [r for r in rows if r["factor"] == factor]
    if not selected:
        factors = sorted({str(r["factor"]) for r in rows})
        raise ValueError(f"factor={factor!r} is not in rows; they hold {factors}")
    return [str(r["layer"]) for r in selected if r["score"] >= r["chance"] + margin]
