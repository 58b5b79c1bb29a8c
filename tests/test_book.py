"""Build the executed book, then read every chapter in a real (headless) browser.

The build runs every chapter top to bottom in its quick budget (`-W`: a warning or a failing
cell fails it). Then Playwright drives Debian's Chromium (`/usr/bin/chromium`, no browser of
its own) over the pages served on 127.0.0.1: no error output, every figure loaded, the
static sliders move, every chapter shows a verdict admonition (never a printed "Verdict:"),
and no code cell, output or table scrolls sideways; with the network blocked, no page logs an
error and MathJax, served from the site (`make ort`), typesets the math. Screenshots land in
`_build/screenshots/`.

Set `SEPVIZ_SKIP_BOOK=1` to leave this (slow) module out while developing.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from conftest import BOOK_ENV, executed_book

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Known messages of the theme itself, not of our pages (each checked by hand, 2026-11-24):
# - pydata-sphinx-theme logs an empty stored theme mode on a fresh browser profile and resets
#   it to "auto".
# (sphinx-thebe's `const THEBE_JS_URL`, once added twice to every page, is added once since
# tools/sepviz_site.py: test_page_offline checks that no page logs an error.)
THEME_NOISE = ("Got invalid theme mode",)
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@"
THEME_CDN = (MATHJAX_CDN, "https://maxcdn.bootstrapcdn.com/font-awesome/")
"""What the theme itself asks the outside for (MathJax, where tools/fetch_mathjax.py could not
fetch it, and Font Awesome): blocked in the offline tests."""
LOCAL_MATHJAX = ROOT / "_extra" / "mathjax" / "tex-chtml-full.js"
"""MathJax served from the site (tools/fetch_mathjax.py, `make ort`); absent without npm."""
MATH_PAGES = ("book/02_autoencoder_vs_pca",)
"""Pages known to have math (checked to be typeset offline, not only where math is found)."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("SEPVIZ_SKIP_BOOK") == "1", reason="SEPVIZ_SKIP_BOOK=1"),
]


def chapter_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for entry in toc.get("chapters", [])]


@pytest.fixture(scope="module")
def built_book() -> Path:
    """Build the book once, as `make book` does: the chapters executed side by side into the
    cache (tools/execute_book.py, started in the background by conftest.py), then rendered
    (jupyter-cache re-runs only a chapter that is not in the cache)."""
    execution = executed_book()
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "-W", "--keep-going"],
        capture_output=True,
        text=True,
        env=dict(os.environ, **BOOK_ENV),
        timeout=1800,
    )
    reports = sorted((HTML / "reports").glob("**/*.err.log")) if HTML.exists() else []
    detail = "\n".join(p.read_text()[-3000:] for p in reports)
    assert proc.returncode == 0, (
        f"book build failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
        f"{proc.stderr[-4000:]}\n{detail}\nexecution:\n{execution[-3000:]}"
    )
    return HTML


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """``folder`` served on 127.0.0.1 (a free port) while the block runs; yields its URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def server(built_book: Path) -> Iterator[str]:
    with serve(built_book) as url:
        yield url


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it with apt)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def is_chapter(page_name: str) -> bool:
    """A numbered chapter (``book/00_question`` .. ``book/11_limits``), not the glossary."""
    return re.fullmatch(r"book/\d\d_\w+", page_name) is not None


def _is_local(url: str) -> bool:
    host = urlparse(url).hostname
    return host in (None, "127.0.0.1", "localhost") or url.startswith(("data:", "blob:"))


@pytest.mark.parametrize("page_name", chapter_pages())
def test_chapter_renders_in_browser(page_name: str, server: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    problems: list[str] = []
    page.on(
        "requestfailed",
        lambda r: _is_local(r.url) and problems.append(f"request failed: {r.url} ({r.failure})"),
    )
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and _is_local(m.location.get("url", ""))
            and "net::ERR" not in m.text
            and "Failed to load resource" not in m.text  # the response handler names the URL
            and problems.append(f"console error: {m.text}")
        ),
    )
    page.on(
        "response",
        lambda r: _is_local(r.url) and r.status >= 400 and problems.append(f"{r.status}: {r.url}"),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(f"{server}/{page_name}.html", wait_until="load")
    page.wait_for_timeout(300)

    errors = page.locator(".output.traceback, .output.error, div.cell_output .stderr")
    assert errors.count() == 0, f"{page_name}: error output: {errors.first.inner_text()[:500]}"

    if is_chapter(page_name):  # every chapter ends its experiments in a verdict
        verdicts = page.locator("div.cell_output .admonition")
        assert verdicts.count() > 0, f"{page_name}: no verdict admonition"
    printed = page.locator("div.cell_output .output pre, div.cell_output pre").all_inner_texts()
    starts = [t for t in printed if t.lstrip().startswith("Verdict:")]
    assert not starts, f"{page_name}: a verdict printed as text: {starts[0][:120]!r}"
    # Nothing a reader must scroll sideways to read: code cells, printed outputs, tables.
    wide = page.evaluate(
        """() => [...document.querySelectorAll(
            'div.cell_input pre, div.cell_output pre, div.cell_output table')]
            .filter(el => el.scrollWidth > (el.tagName === 'TABLE'
                ? el.parentElement.clientWidth : el.clientWidth) + 1)
            .map(el => el.innerText.split('\\n')
                .sort((a, b) => b.length - a.length)[0])"""
    )
    assert not wide, f"{page_name}: {len(wide)} block(s) scroll sideways, e.g. {wide[0][:100]!r}"

    images = page.locator("article img")
    if is_chapter(page_name):  # every chapter shows at least one figure
        assert images.count() > 0, f"{page_name}: no figure on the page"
    for i in range(images.count()):
        img = images.nth(i)
        img.scroll_into_view_if_needed()
        ok = img.evaluate("(el) => el.complete && el.naturalWidth > 0")
        assert ok, f"{page_name}: image {i} did not load ({img.get_attribute('src')[:80]})"

    sliders = page.locator("input[id^=_anim_slider]")
    for i in range(sliders.count()):
        slider = sliders.nth(i)
        slider.scroll_into_view_if_needed()
        anim_id = slider.get_attribute("id").removeprefix("_anim_slider")
        frame = page.locator(f"#_anim_img{anim_id}")
        before = frame.get_attribute("src")
        box = slider.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2, steps=8)
        page.mouse.up()
        assert frame.get_attribute("src") != before, f"{page_name}: slider {i} did not move"

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{Path(page_name).name}.png"), full_page=True)
    page.close()
    problems = [p for p in problems if not any(noise in p for noise in THEME_NOISE)]
    assert not problems, f"{page_name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("page_name", chapter_pages())
def test_page_offline_math_and_console(page_name: str, server: str, browser: object) -> None:
    """With every request for the outside refused, the page logs no console error and no
    page error, asks the outside for nothing but Font Awesome (and MathJax where
    tools/fetch_mathjax.py could not fetch it), and MathJax, served from the site's own
    `mathjax/`, typesets every formula: each `.math` element holds an `mjx-container` and no
    raw TeX delimiter is left."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    problems: list[str] = []
    blocked: list[str] = []

    def offline(route: Any) -> None:
        if _is_local(route.request.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    def console(message: Any) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if not _is_local(where) and where.startswith(THEME_CDN):
            return  # a blocked request for the theme's CDN (listed in `blocked`)
        problems.append(f"console error: {message.text} ({where})")

    page.route("**/*", offline)
    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "requestfailed",
        lambda r: _is_local(r.url) and problems.append(f"request failed: {r.url} ({r.failure})"),
    )
    page.on(
        "response",
        lambda r: _is_local(r.url) and r.status >= 400 and problems.append(f"{r.status}: {r.url}"),
    )
    page.goto(f"{server}/{page_name}.html", wait_until="load")
    maths = page.locator("article .math").count()
    if page_name in MATH_PAGES:
        assert maths > 0, f"{page_name}: no math on the page (MATH_PAGES is out of date)"
    local = LOCAL_MATHJAX.is_file()
    if maths and local:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            page.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                timeout=20_000,
            )
        except PlaywrightTimeout:
            pytest.fail(f"{page_name}: MathJax did not start offline; {problems}")
        page.evaluate("() => MathJax.startup.promise.then(() => true)")
        untypeset = page.evaluate(
            """() => [...document.querySelectorAll('article .math')]
                .filter(el => !el.querySelector('mjx-container'))
                .map(el => el.textContent.slice(0, 60))"""
        )
        assert not untypeset, (
            f"{page_name}: {len(untypeset)} formula(s) not typeset: {untypeset[:3]}"
        )
        raw = page.evaluate(  # the prose's text, code and typeset math left out
            """() => {
                const copy = document.querySelector('article').cloneNode(true);
                copy.querySelectorAll('pre, code, script, style, mjx-container')
                    .forEach(el => el.remove());
                const text = copy.textContent, bs = String.fromCharCode(92);
                return ['(', ')', '[', ']'].map(c => bs + c).filter(d => text.includes(d));
            }"""
        )
        assert not raw, f"{page_name}: raw TeX delimiters left in the text: {raw}"
    page.wait_for_timeout(300)
    page.close()
    problems = [p for p in problems if not any(noise in p for noise in THEME_NOISE)]
    outside = THEME_CDN[1:] if local else THEME_CDN
    problems += [f"asked the outside for {url}" for url in blocked if not url.startswith(outside)]
    assert not problems, f"{page_name}:\n" + "\n".join(problems)
    if maths and not local:
        pytest.skip(f"no MathJax in {LOCAL_MATHJAX.parent} (npm missing?): math not checked")


@pytest.mark.parametrize("page_name", ["book/05_fadernet", "book/10_real_faces"])
def test_live_slider_relights_in_browser(
    page_name: str, server: str, browser: object, tmp_path: Path
) -> None:
    """The live slider (onnxruntime-web, `make ort`) runs the trained FaderNet in the page:
    the right half of the decoded faces is brighter, relative to the left, at y = +0.75 than
    at y = -0.5; chapter 10 also relights an uploaded photo."""
    if not (ROOT / "_extra" / "ort" / "ort.wasm.min.js").is_file():
        pytest.skip(
            "no onnxruntime-web in _extra/ort (npm missing?): the pages have the static "
            "sliders only"
        )
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    problems: list[str] = []
    blocked: list[str] = []

    def offline(route: Any) -> None:  # nothing leaves 127.0.0.1: the widgets must work so
        if _is_local(route.request.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.on(
        "requestfailed",
        lambda r: _is_local(r.url) and problems.append(f"request failed: {r.url} ({r.failure})"),
    )
    page.on(
        "response",
        lambda r: _is_local(r.url) and r.status >= 400 and problems.append(f"{r.status}: {r.url}"),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(f"{server}/{page_name}.html", wait_until="load")
    live = page.locator(".sepviz-live").first
    assert live.count() == 1, f"{page_name}: no live slider (.sepviz-live)"
    live.scroll_into_view_if_needed()
    root = f"#{live.get_attribute('id')}"  # the first widget (chapter 5 has a second)
    page.wait_for_selector(f"{root}[data-state=ready]", timeout=60_000)

    def relight(root: str, y: float) -> dict[str, str]:
        page.locator(f"{root} input.sepviz-y").evaluate(
            "(el, y) => { el.value = String(y); el.dispatchEvent(new Event('input')); }", y
        )
        canvas = f"{root} canvas.sepviz-canvas"
        page.wait_for_function(
            "([sel, y]) => Number(document.querySelector(sel).dataset.y) === y",
            arg=[canvas, y],
            timeout=20_000,
        )
        return page.locator(canvas).evaluate("(el) => ({...el.dataset})")

    faces = page.locator(f"{root} .sepviz-faces button")
    gaps: dict[float, list[float]] = {-0.5: [], 0.75: []}
    for k in range(faces.count()):  # every face offered: mean right - left brightness
        faces.nth(k).click()
        for y, gap in gaps.items():
            data = relight(root, y)
            assert data["face"] == str(k)
            gap.append(float(data["right"]) - float(data["left"]))
    mean = {y: sum(g) / len(g) for y, g in gaps.items()}
    assert mean[0.75] > mean[-0.5], f"{page_name}: right - left brightness {mean}"
    size = page.locator(f"{root} canvas.sepviz-canvas").evaluate("(el) => el.width")
    print(f"\n{page_name}: one {size} px decoder call {data['ms']} ms in Chromium")
    if page_name == "book/05_fadernet":  # the relighting slider draws the 64 px model's faces
        assert size == 64, f"{page_name}: the live slider draws {size} px faces, not 64"

    if page_name == "book/05_fadernet":  # the two faders: a slider each, light and yaw
        from test_widgets_browser import set_sliders

        two = page.locator(".sepviz-live").nth(1)
        two.scroll_into_view_if_needed()
        second = f"#{two.get_attribute('id')}"
        page.wait_for_selector(f"{second}[data-state=ready]", timeout=60_000)
        labels = page.locator(f"{second} .sepviz-controls label").all_text_contents()
        assert [label.strip() for label in labels] == ["light", "yaw"]
        buttons = page.locator(f"{second} .sepviz-faces button").count()
        for face in range(buttons):  # the light slider, the head straight: right brightens
            lit = [set_sliders(page, second, face, (v, 0.0)) for v in (-1.0, 0.0, 1.0)]
            contrast = [float(s["right"]) - float(s["left"]) for s in lit]
            assert contrast[0] < contrast[2], (face, contrast)
            turned = [set_sliders(page, second, face, (0.0, v)) for v in (-1.0, 1.0)]
            assert float((turned[0]["image"] - turned[1]["image"]).abs().mean()) > 0.01

    if page_name == "book/10_real_faces":  # a photo relit in the page, sent nowhere
        from PIL import Image

        photo = Image.new("RGB", (160, 120), (40, 40, 40))
        photo.paste((210, 180, 160), (40, 10, 120, 110))
        path = tmp_path / "photo.png"
        photo.save(path)
        relighter = page.locator(".sepviz-photo").first
        relighter.scroll_into_view_if_needed()
        page.wait_for_selector(".sepviz-photo[data-state=ready]", timeout=60_000)
        page.set_input_files(".sepviz-photo input.sepviz-file", str(path))
        page.wait_for_function(
            "() => document.querySelector('.sepviz-photo canvas.sepviz-canvas').dataset.encoded",
            timeout=20_000,
        )
        relit = relight(".sepviz-photo", 0.75)
        assert float(relit["draws"]) >= 1 and 0 <= float(relit["left"]) <= 1
    page.close()
    problems = [p for p in problems if not any(noise in p for noise in THEME_NOISE)]
    # the only requests for the outside are the theme's own (MathJax, Font Awesome)
    problems += [f"asked the outside for {url}" for url in blocked if not url.startswith(THEME_CDN)]
    assert not problems, f"{page_name}:\n" + "\n".join(problems)


def test_vae_traversal_drags_and_samples_in_the_built_page(server: str, browser: object) -> None:
    """Chapter 3's live VAE decoder (onnxruntime-web) in the built page, network blocked:
    dragging one unit's slider changes only that unit of z and redraws the face; "sample"
    draws a new code and a new face."""
    if not (ROOT / "_extra" / "ort" / "ort.wasm.min.js").is_file():
        pytest.skip("no onnxruntime-web in _extra/ort (npm missing?): no live widget")
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.route("**/*", lambda r: r.continue_() if _is_local(r.request.url) else r.abort())
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/book/03_vae.html", wait_until="load")
    root = page.locator(".sepviz-traversal").first
    assert root.count() == 1, "book/03_vae: no live traversal (.sepviz-traversal)"
    root.scroll_into_view_if_needed()
    page.wait_for_selector(".sepviz-traversal[data-state=ready]", timeout=60_000)
    canvas = page.locator(".sepviz-traversal canvas.sepviz-canvas").first

    def state() -> dict[str, str]:
        return canvas.evaluate("(el) => ({...el.dataset})")

    page.wait_for_function(
        "(el) => Number(el.dataset.draws || 0) >= 1", arg=canvas.element_handle(), timeout=20_000
    )
    before = state()
    slider = page.locator(".sepviz-traversal input.sepviz-unit").first
    unit = int(slider.get_attribute("data-unit"))
    slider.evaluate("(el) => { el.value = '2.5'; el.dispatchEvent(new Event('input')); }")
    page.wait_for_function(
        "([el, n]) => Number(el.dataset.draws) > n",
        arg=[canvas.element_handle(), int(before["draws"])],
        timeout=20_000,
    )
    after = state()
    z0 = [float(v) for v in before["z"].split(",")]
    z1 = [float(v) for v in after["z"].split(",")]
    moved = [k for k, (a, b) in enumerate(zip(z0, z1)) if abs(a - b) > 1e-4]
    assert moved == [unit] and z1[unit] == pytest.approx(2.5, abs=1e-3)
    assert after["mean"] != before["mean"]  # the face changed
    page.locator(".sepviz-traversal button.sepviz-sample").first.click()
    page.wait_for_function(
        "([el, n]) => Number(el.dataset.draws) > n",
        arg=[canvas.element_handle(), int(after["draws"])],
        timeout=20_000,
    )
    sampled = state()
    assert sampled["z"] != after["z"] and sampled["mean"] != after["mean"]
    assert float(sampled["ms"]) < 50 and not errors, errors
    page.close()
