"""The chapters are committed clean, listed in the table of contents, and open in Colab."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for entry in toc.get("chapters", []):
        files.append(entry["file"])
    return files


def repository_url() -> str:
    """The repository's address, written once: `repository.url` in `_config.yml`."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"]


def test_chapters_are_the_toc_notebooks_numbered_without_gaps() -> None:
    toc_notebooks = [name for name in toc_files() if (ROOT / f"{name}.ipynb").exists()]
    chapters = [f"book/{path.stem}" for path in CHAPTERS]
    # every notebook in book/ is in the toc, in the same order, and nothing else is
    assert toc_notebooks == chapters, (
        f"notebooks in _toc.yml {toc_notebooks} != notebooks in book/ {chapters}"
    )
    assert len(chapters) >= 2
    numbers = []
    for name in chapters:
        match = re.fullmatch(r"book/(\d{2})_[a-z0-9_]+", name)
        assert match, f"{name}: a chapter is named NN_words (two digits, lower case, underscores)"
        numbers.append(int(match.group(1)))
    assert numbers == list(range(len(chapters))), f"chapters are not 00..NN without gaps: {numbers}"


def test_toc_entries_are_not_ambiguous() -> None:
    for name in toc_files():
        both = [(ROOT / f"{name}{ext}").exists() for ext in (".ipynb", ".md")]
        assert not all(both), f"{name}: both .ipynb and .md exist; the toc cannot say which"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_has_no_outputs(path: Path) -> None:
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("outputs", []) == [], f"{path.name} cell {i} has stored outputs"
        assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_installs_only_in_colab(path: Path) -> None:
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    first = "".join(code[0]["source"])
    assert '"google.colab" in sys.modules' in first, f"{path.name}: first cell must test Colab"
    assert "pip install" in first
    # the install line is inside the `if`: indented
    install = [line for line in first.splitlines() if "pip install" in line]
    assert all(line.startswith((" ", "\t")) for line in install)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_installs_from_the_repository_url(path: Path) -> None:
    url = repository_url()
    assert url.startswith("https://") and not url.endswith(("/", ".git")), url
    nb = json.loads(path.read_text())
    first = "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])
    install = [line for line in first.splitlines() if "pip install" in line]
    sources = re.findall(r"git\+[^\s\"'@]+(?:@[^\s\"']+)?", "\n".join(install))
    assert sources == [f"git+{url}"], (
        f"{path.name}: the Colab cell installs from {sources}, not from git+{url} "
        "(repository.url in _config.yml)"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_in_toc_and_has_a_title(path: Path) -> None:
    assert f"book/{path.stem}" in toc_files()
    nb = json.loads(path.read_text())
    first_md = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "".join(first_md["source"]).lstrip().startswith("# ")


def test_toc_entries_exist() -> None:
    for name in toc_files():
        assert any((ROOT / f"{name}{ext}").exists() for ext in (".ipynb", ".md")), name


HIDDEN = {"hide-input", "remove-input", "remove-cell"}
MAX_VISIBLE_CODE_LINES = 55  # "about 50": a chapter shows calls to sepviz, not plumbing


def visible_code_lines(path: Path) -> int:
    """Non-blank, non-comment code lines a reader of the page sees (hidden cells excluded)."""
    nb = json.loads(path.read_text())
    lines = [
        line.strip()
        for cell in nb["cells"]
        if cell["cell_type"] == "code" and not HIDDEN & set(cell["metadata"].get("tags", []))
        for line in "".join(cell["source"]).splitlines()
    ]
    return sum(1 for line in lines if line and not line.startswith("#"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_shows_at_most_about_50_lines_of_code(path: Path) -> None:
    n = visible_code_lines(path)
    assert 0 < n <= MAX_VISIBLE_CODE_LINES, (
        f"{path.name} shows {n} lines of code; move plumbing into sepviz or a hide-input cell"
    )


def test_the_book_map_is_drawn_from_the_index_table() -> None:
    """The index's picture carries the prerequisites it was drawn from: edit the table and
    this fails until ``python tools/draw_book_map.py`` draws it again."""
    from PIL import Image

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import draw_book_map
    finally:
        sys.path.pop(0)
    table = draw_book_map.prerequisites()
    assert sorted(table) == list(range(len(CHAPTERS)))  # every chapter has its row
    assert table[4][1] == [2] and table[12][1] == list(range(12))
    assert draw_book_map.direct(table, 7) == [4]  # 2 before 7 is implied by 2 before 4
    drawn = json.loads(Image.open(draw_book_map.PICTURE).info["Description"])
    assert drawn == {str(n): needs for n, (_, needs) in sorted(table.items())}
    assert "images/book_map.png" in (ROOT / "book" / "index.md").read_text()
