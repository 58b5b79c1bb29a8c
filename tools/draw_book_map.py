"""Draw the map of the book (``book/images/book_map.png``) from the index's table.

The index (``book/index.md``, section "A map of the book") lists each chapter with the
chapters to read first. This script reads that table and draws it: one box per chapter, in
rows by how many chapters lie before it, an arrow from each prerequisite. The picture
carries the prerequisites it was drawn from in its PNG metadata (``Description``), so
``tests/test_notebooks.py`` can tell when the table changed and the picture did not.

Usage: ``python tools/draw_book_map.py`` (rerun after editing the table).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDEX = ROOT / "book" / "index.md"
PICTURE = ROOT / "book" / "images" / "book_map.png"
BOX_HALF_HEIGHT = 0.22  # a box's half height in the map's units (rows are 0.9 apart)
ROW = re.compile(r"^\| \[(\d+)\. ([^\]]+)\]\([^)]+\) \|.*\| ([^|]+) \|\s*$")


def prerequisites(index: Path = INDEX) -> dict[int, tuple[str, list[int]]]:
    """``{chapter: (title, [chapters to read first])}`` from the index's map table; "any
    of 0–11" (the closing chapter) reads as every chapter before it."""
    found: dict[int, tuple[str, list[int]]] = {}
    for line in index.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if not match:
            continue
        number, title, before = int(match[1]), match[2], match[3].strip()
        if before.startswith("any of"):
            needs = list(range(number))
        else:
            needs = [int(k) for k in re.findall(r"\d+", before)]
        found[number] = (title, needs)
    if not found:
        raise ValueError(f"no map table in {index}: rows like '| [4. DeepFakes](...) | ... |'")
    return found


def depth(chapters: dict[int, tuple[str, list[int]]]) -> dict[int, int]:
    """The row of each chapter: one more than the deepest of its prerequisites."""
    level: dict[int, int] = {}
    for number in sorted(chapters):
        needs = [k for k in chapters[number][1] if k in chapters]
        level[number] = 1 + max((level[k] for k in needs), default=-1)
    return level


def direct(chapters: dict[int, tuple[str, list[int]]], number: int) -> list[int]:
    """The prerequisites of ``number`` not implied by another one (2 before 5 is implied when
    5 needs 4 and 4 needs 2): the arrows the map draws."""

    def before(k: int) -> set[int]:
        seen, todo = set(), list(chapters.get(k, ("", []))[1])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo.extend(chapters.get(m, ("", []))[1])
        return seen

    needs = chapters[number][1]
    return [k for k in needs if not any(k in before(m) for m in needs if m != k)]


def draw(chapters: dict[int, tuple[str, list[int]]], path: Path = PICTURE) -> Path:
    """Draw the map into ``path`` (PNG), its prerequisites in the metadata."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    level = depth(chapters)
    columns: dict[int, list[int]] = {}
    for number in sorted(chapters):
        columns.setdefault(level[number], []).append(number)
    # top to bottom by depth, side by side within a depth: fits the width of a page
    width = max(map(len, columns.values()))
    place = {
        n: (2.8 * (col - (len(members) - 1) / 2), -0.9 * row)
        for row, members in columns.items()
        for col, n in enumerate(members)
    }
    # short rows: the page shows the picture at its column's width, so the less tall it is,
    # the larger its words (about 13 px on the page at fontsize 11)
    fig, ax = plt.subplots(figsize=(2.6 * width + 0.6, 0.55 * len(columns) + 0.7))
    closing = max(chapters)
    for number in chapters:
        if number == closing:
            continue  # the closing chapter reads every other: one arrow each would hide the map
        for k in direct(chapters, number):
            (x, y), (xk, yk) = place[number], place[k]
            ax.annotate(  # from the bottom of the prerequisite's box to the top of this one
                "",
                xy=(x, y + BOX_HALF_HEIGHT),
                xytext=(xk, yk - BOX_HALF_HEIGHT),
                arrowprops={"arrowstyle": "->", "color": "#888", "shrinkA": 0, "shrinkB": 0},
            )
    for number, (title, _) in chapters.items():
        x, y = place[number]
        colour = "#fdc086" if number == closing else "#e8eef7"
        ax.text(
            x,
            y,
            f"{number}. {title}",
            ha="center",
            va="center",
            fontsize=11,
            wrap=True,
            bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "edgecolor": "#4a6fa5"},
        )
    xs, ys = zip(*place.values())
    ax.set_xlim(min(xs) - 1.4, max(xs) + 1.4)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
    ax.set_axis_off()
    ax.set_title("The chapters and what to read first (arrows from a prerequisite)", fontsize=12)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    edges = {str(n): needs for n, (_, needs) in sorted(chapters.items())}
    fig.savefig(path, dpi=110, metadata={"Description": json.dumps(edges)})
    plt.close(fig)
    return path


def main() -> int:
    print(f"draw_book_map: wrote {draw(prerequisites()).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
