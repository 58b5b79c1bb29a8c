"""The chapters are committed clean, listed in the table of contents, and open in Colab."""

from __future__ import annotations

import json
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


def test_there_are_chapters() -> None:
    assert len(CHAPTERS) >= 2


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
def test_chapter_is_in_toc_and_has_a_title(path: Path) -> None:
    assert f"book/{path.stem}" in toc_files()
    nb = json.loads(path.read_text())
    first_md = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "".join(first_md["source"]).lstrip().startswith("# ")


def test_toc_entries_exist() -> None:
    for name in toc_files():
        assert any((ROOT / f"{name}{ext}").exists() for ext in (".ipynb", ".md")), name
