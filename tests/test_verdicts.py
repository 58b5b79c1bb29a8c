"""The vocabulary of verdicts (sepviz.experiments) and the list of verdicts tested against it.

Every Result class of sepviz.experiments has a table-driven test of its verdict in one of the
``tests/test_verdicts_*.py`` files, which lists the classes it covers in ``COVERED``; the test
below fails for a class that none lists (a new result class needs its table).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import sepviz.experiments as experiments
from sepviz.experiments import (
    DB_MARGIN,
    R_MARGIN,
    READ_SHARE,
    Estimate,
    Order,
    Reading,
    Result,
    compare,
    over_runs,
    read_bar,
    reading,
    removed,
    run_spread,
    runs_note,
)

TESTS = Path(__file__).parent
ROOT = TESTS.parent


def est(value: float, half: float, unit: str = "%") -> Estimate:
    return Estimate(value, value - half, value + half, unit)


@pytest.mark.parametrize(
    ("chance", "bar"),
    [(0.5, 0.55), (1 / 3, 1 / 3 + 0.2 / 3), (0.34, 0.406), (0.81, 0.829), (0.0, 0.10)],
)
def test_the_reading_bar_is_a_tenth_of_the_room_above_chance(chance: float, bar: float) -> None:
    assert read_bar(chance) == pytest.approx(bar)
    assert READ_SHARE == 0.10


@pytest.mark.parametrize(
    ("score", "chance", "expected"),
    [
        # 3 classes, chance 34%, bar 40.6%
        (est(0.97, 0.01), 0.34, Reading.READS),
        (est(0.45, 0.03), 0.34, Reading.READS),  # 42..48: all above the bar
        (est(0.42, 0.03), 0.34, Reading.NOT_DISTINGUISHABLE),  # 39..45 covers 40.6
        (est(0.36, 0.03), 0.34, Reading.AT_CHANCE),  # reaches chance, below the bar
        (est(0.38, 0.02), 0.34, Reading.AT_CHANCE),  # above chance by less than the margin
        (est(0.36, 0.10), 0.34, Reading.NOT_DISTINGUISHABLE),  # too wide to tell
        (est(0.25, 0.03), 0.36, Reading.BELOW_CHANCE),  # the training discriminator's case
        # 2 classes: bar 55%
        (est(0.56, 0.005), 0.5, Reading.READS),
        (est(0.53, 0.01), 0.5, Reading.AT_CHANCE),
        # R²: chance 0, bar 0.10
        (est(0.14, 0.66, ""), 0.0, Reading.NOT_DISTINGUISHABLE),
        (est(0.77, 0.11, ""), 0.0, Reading.READS),
        (est(0.02, 0.05, ""), 0.0, Reading.AT_CHANCE),
    ],
)
def test_reading_decides_on_the_whole_interval(
    score: Estimate, chance: float, expected: Reading
) -> None:
    got = reading(score, chance)
    assert got is expected
    assert got.reads == (expected is Reading.READS)
    assert got.blind == (expected in (Reading.AT_CHANCE, Reading.BELOW_CHANCE))


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        ([Reading.AT_CHANCE, Reading.BELOW_CHANCE], True),
        ([Reading.AT_CHANCE, Reading.READS], False),  # the MLP reads: not removed
        ([Reading.AT_CHANCE, Reading.NOT_DISTINGUISHABLE], False),
        ([], False),  # no reader, no claim
    ],
)
def test_removed_needs_every_reader_blind(readings: list[Reading], expected: bool) -> None:
    assert removed(readings) is expected


@pytest.mark.parametrize(
    ("difference", "expected"),
    [
        (est(1.5, 0.2, "dB"), Order.BETTER),
        (est(-1.5, 0.2, "dB"), Order.WORSE),
        (est(0.1, 0.2, "dB"), Order.EQUAL),
        (est(0.5, 0.2, "dB"), Order.NOT_DISTINGUISHABLE),  # 0.3..0.7 covers +0.5
        (est(-0.4, 0.3, "dB"), Order.NOT_DISTINGUISHABLE),  # covers -0.5
        (est(0.0, 2.0, "dB"), Order.NOT_DISTINGUISHABLE),  # covers both
    ],
)
def test_compare_within_the_db_margin(difference: Estimate, expected: Order) -> None:
    assert DB_MARGIN == 0.5
    assert compare(difference, DB_MARGIN) is expected


def test_compare_refuses_a_negative_margin() -> None:
    with pytest.raises(ValueError, match="margin must be >= 0"):
        compare(est(1.0, 0.1), -0.1)


def test_a_correlation_is_absent_within_r_margin() -> None:
    # chapter 9's check: r = 0.05 ± 0.10 must not say "the decoders follow the input's light"
    assert compare(est(0.05, 0.10, ""), R_MARGIN) is Order.NOT_DISTINGUISHABLE
    assert compare(est(0.02, 0.05, ""), R_MARGIN) is Order.EQUAL
    assert compare(est(0.51, 0.04, ""), R_MARGIN) is Order.BETTER


def test_over_runs_adds_the_run_spread_to_the_face_spread() -> None:
    runs = [est(30.0, 0.1, "dB"), est(30.6, 0.1, "dB"), est(29.7, 0.1, "dB")]
    run_half, face_half = run_spread(runs)
    # t(0.975, 2) = 4.303 times the standard deviation of the runs over sqrt(3)
    sd = (sum((v - 30.1) ** 2 for v in (30.0, 30.6, 29.7)) / 2) ** 0.5
    assert run_half == pytest.approx(4.303 * sd / 3**0.5)
    assert face_half == pytest.approx(0.1)
    combined = over_runs(runs)
    assert combined.value == pytest.approx(30.1)
    assert combined.high - combined.value == pytest.approx((run_half**2 + face_half**2) ** 0.5)
    assert combined.runs == 3 and combined.unit == "dB"
    assert runs_note(combined) == " over 3 training runs"
    assert runs_note(runs[0]) == ""
    # identical runs: the interval is the faces' alone
    same = over_runs([est(0.5, 0.02), est(0.5, 0.02)])
    assert same.high - same.value == pytest.approx(0.02)


@pytest.mark.parametrize(
    ("runs", "message"),
    [([est(1.0, 0.1)], "at least 2 training runs"), ([est(1, 0.1), est(1, 0.1, "dB")], "one unit")],
)
def test_over_runs_refuses_what_it_cannot_combine(runs: list[Estimate], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        over_runs(runs)


def test_a_difference_keeps_the_fewer_runs() -> None:
    three = Estimate(1.0, 0.5, 1.5, "dB", runs=3)
    one = Estimate(0.2, 0.1, 0.3, "dB")
    assert (three - one).runs == 1
    assert (three - three).runs == 3


def test_the_glossary_states_the_same_rules() -> None:
    text = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    section = text[text.index("## The words of a verdict") :]
    assert READ_SHARE == 0.10 and "a tenth of the way from chance" in section
    assert f"{DB_MARGIN:g} dB" in section
    assert f"±{R_MARGIN:g}" in section
    for word in ("Reads", "At chance", "Below chance", "Not distinguishable", "Removed", "equal"):
        assert word in section, word
    # the glossary's examples are the rule's own numbers
    assert f"{read_bar(0.34):.1%}" in section and f"{read_bar(0.5):.0%}" in section


# -- every verdict has its table -------------------------------------------------------------
def result_classes() -> set[type]:
    """Every concrete Result subclass defined in a module of sepviz.experiments."""
    found = set()
    for info in pkgutil.iter_modules(experiments.__path__):
        module = importlib.import_module(f"sepviz.experiments.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Result) and cls is not Result and cls.__module__ == module.__name__:
                found.add(cls)
    return found


def covered_classes() -> set[type]:
    covered: set[type] = set()
    for path in sorted(TESTS.glob("test_verdicts_*.py")):
        spec = importlib.util.spec_from_file_location(f"_verdicts_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert hasattr(module, "COVERED"), f"{path.name} must list the classes it covers"
        covered |= set(module.COVERED)
    return covered


def test_every_result_class_has_a_table_driven_verdict_test() -> None:
    classes = result_classes()
    assert len(classes) >= 20  # the finder works: the book has more than 20 kinds of result
    missing = sorted(cls.__qualname__ for cls in classes - covered_classes())
    assert not missing, f"no tests/test_verdicts_*.py lists these in COVERED: {missing}"


def test_no_chapter_module_imports_another() -> None:
    # findings reads every chapter's results for the closing chapter: the other direction
    shared = {"__init__", "measures", "findings"}
    chapters = {info.name for info in pkgutil.iter_modules(experiments.__path__)} - shared
    pattern = re.compile(r"sepviz\.experiments\.(\w+)|from sepviz\.experiments import ([\w, ]+)")
    for name in sorted(chapters):
        source = (Path(experiments.__file__).parent / f"{name}.py").read_text(encoding="utf-8")
        for match in pattern.finditer(source):
            named = {match.group(1)} if match.group(1) else set(re.split(r",\s*", match.group(2)))
            assert not (named & chapters), f"{name}.py imports chapter module(s) {named & chapters}"


def test_mig_is_implemented_once() -> None:
    src = ROOT / "src" / "sepviz"
    defs = [
        path.relative_to(src).as_posix()
        for path in src.rglob("*.py")
        if re.search(r"^\s*def (_?mig|mutual_information_gap)\b", path.read_text(), re.M)
    ]
    assert defs == ["metrics.py"], defs
