"""The live widgets in Chromium, without building the book: a page laid out like the site.

`tmp/book/page.html` holds :func:`sepviz.widgets.live_slider` and
:func:`sepviz.widgets.photo_relighter` for a tiny untrained FaderNet, and `tmp/ort`
points at the onnxruntime-web files of `make ort`. The page is served on 127.0.0.1 and read
by Debian's Chromium through Playwright, launched as `tests/test_book.py` launches it; no
request may leave 127.0.0.1.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from test_book import CHROMIUM, CHROMIUM_ARGS, _is_local, serve

from sepviz import widgets
from sepviz.models import FaderNet

ROOT = Path(__file__).resolve().parents[1]
ORT = ROOT / "_extra" / "ort"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        not (ORT / "ort.wasm.min.js").is_file(), reason="no _extra/ort: run `make ort`"
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnx")
    torch.manual_seed(0)
    model = FaderNet(image_size=16, latent_dim=8).eval()
    faces = torch.rand(3, 3, 16, 16)
    root = tmp_path_factory.mktemp("site")
    (root / "ort").symlink_to(ORT, target_is_directory=True)
    (root / "book").mkdir()
    slider = widgets.live_slider(model, faces, ort_folder=ORT).data
    photo = widgets.photo_relighter(model, ort_folder=ORT).data
    assert "ort.wasm" in slider and "sepviz-file" in photo  # not the note-only fallback
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>live widgets</title>'
        '<link rel="icon" href="data:,"></head>'
        f"<body><article>{slider}{photo}</article></body></html>"
    )
    (root / "book" / "page.html").write_text(page, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def watch(page: object, problems: list[str]) -> None:
    """Record requests that leave 127.0.0.1, failed local requests and page errors."""
    page.on(  # type: ignore[attr-defined]
        "request", lambda r: _is_local(r.url) or problems.append(f"left 127.0.0.1: {r.url}")
    )
    page.on(  # type: ignore[attr-defined]
        "requestfailed",
        lambda r: _is_local(r.url) and problems.append(f"request failed: {r.url} ({r.failure})"),
    )
    page.on(  # type: ignore[attr-defined]
        "response",
        lambda r: _is_local(r.url) and r.status >= 400 and problems.append(f"{r.status}: {r.url}"),
    )
    page.on(  # type: ignore[attr-defined]
        "console",
        lambda m: m.type in ("error", "warning") and problems.append(f"console: {m.text}"),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))  # type: ignore[attr-defined]


def set_y(page: object, root: str, y: float) -> dict[str, float]:
    """Move the slider of ``root`` to ``y`` (as a drag does: value, then an input event) and
    wait until the canvas shows that y; returns the canvas's data attributes."""
    slider = page.locator(f"{root} input.sepviz-y")  # type: ignore[attr-defined]
    slider.evaluate("(el, y) => { el.value = String(y); el.dispatchEvent(new Event('input')); }", y)
    canvas = f"{root} canvas.sepviz-canvas"
    page.wait_for_function(  # type: ignore[attr-defined]
        "([sel, y]) => Number(document.querySelector(sel).dataset.y) === y",
        arg=[canvas, y],
        timeout=20_000,
    )
    data = page.locator(canvas).evaluate("(el) => ({...el.dataset})")  # type: ignore[attr-defined]
    return {k: float(v) for k, v in data.items() if k != "role"}


def test_live_slider_and_photo_relighter_run_in_chromium(
    server: str, browser: object, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    problems: list[str] = []
    watch(page, problems)
    page.goto(f"{server}/book/page.html", wait_until="load")
    page.wait_for_selector(".sepviz-live[data-state=ready]", timeout=30_000)
    page.wait_for_selector(".sepviz-photo[data-state=ready]", timeout=30_000)
    assert page.locator(".sepviz-live .sepviz-note").is_hidden()

    first = set_y(page, ".sepviz-live", -0.37)
    second = set_y(page, ".sepviz-live", 1.63)  # beyond [-1, 1] too
    for d in (first, second):
        assert all(math.isfinite(d[k]) for k in ("left", "right", "ms"))
        assert 0 <= d["left"] <= 1 and 0 <= d["right"] <= 1
    # an untrained decoder: y changes the picture, in no particular direction
    assert (first["left"], first["right"]) != (second["left"], second["right"])
    print(f"\none decoder call in Chromium (16 px, untrained): {second['ms']:.2f} ms")

    page.locator(".sepviz-live .sepviz-faces button[data-face='2']").click()
    page.wait_for_function(
        "() => document.querySelector('.sepviz-live canvas.sepviz-canvas').dataset.face === '2'"
    )
    other = page.locator(".sepviz-live canvas.sepviz-canvas").evaluate("(el) => ({...el.dataset})")
    assert (float(other["left"]), float(other["right"])) != (second["left"], second["right"])

    # a photo through the file input: cropped, encoded, decoded and drawn in the page
    from PIL import Image

    photo = Image.new("RGB", (120, 80))
    photo.paste((230, 200, 170), (20, 0, 100, 80))  # a light square in the middle
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    path = tmp_path / "photo.png"
    path.write_bytes(buffer.getvalue())
    page.set_input_files(".sepviz-photo input.sepviz-file", str(path))
    page.wait_for_function(
        "() => document.querySelector('.sepviz-photo canvas.sepviz-canvas').dataset.encoded",
        timeout=20_000,
    )
    relit = set_y(page, ".sepviz-photo", 0.5)
    assert math.isfinite(relit["left"]) and math.isfinite(relit["right"])
    crop = page.locator(".sepviz-photo canvas.sepviz-input").evaluate(
        """(el) => Array.from(el.getContext('2d').getImageData(0, 0, el.width, el.height).data)
            .reduce((a, b) => a + b, 0)"""
    )
    assert crop > 0  # the cropped photo is drawn
    relit_again = set_y(page, ".sepviz-photo", -1.5)
    assert (relit["left"], relit["right"]) != (relit_again["left"], relit_again["right"])
    page.close()
    assert not problems, "\n".join(problems)


def test_without_onnxruntime_web_the_widgets_are_a_note(tmp_path: Path) -> None:
    model = FaderNet(image_size=16, latent_dim=8).eval()
    html = widgets.live_slider(model, torch.rand(2, 3, 16, 16), ort_folder=tmp_path).data
    assert "<script" not in html and widgets.UNAVAILABLE in html
