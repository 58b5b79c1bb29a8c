"""The live widgets in Chromium, without building the book: a page laid out like the site.

`tmp/book/page.html` holds :func:`sepviz.widgets.live_slider` and
:func:`sepviz.widgets.photo_relighter` for a tiny untrained FaderNet (another page, two
:func:`sepviz.widgets.live_traversal` of a tiny untrained VAE), and `tmp/ort` points at the
onnxruntime-web files of `make ort`. The page is served on 127.0.0.1 and read by Debian's
Chromium through Playwright, launched as `tests/test_book.py` launches it; no
request may leave 127.0.0.1.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
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


# -- live_traversal: a VAE's decoder, one slider per unit, "sample" ----------------------------
def mulberry32_normals(seed: int, n: int) -> list[float]:
    """What widget.js's "sample" draws first with ``seed``: mulberry32, then Box-Muller."""
    mask = 0xFFFFFFFF
    state = seed & mask

    def uniform() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & mask
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & mask
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & mask)) & mask
        return ((t ^ (t >> 14)) & mask) / 2**32

    out = []
    for _ in range(n):
        u, v = 1 - uniform(), uniform()
        out.append(math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * v))
    return out


@pytest.fixture(scope="module")
def traversal_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two traversals of one tiny untrained 32 px VAE: seed 0 (units of largest KL) and
    seed 1 (units 0 and 7, labelled)."""
    pytest.importorskip("onnx")
    from sepviz.models import VAE

    torch.manual_seed(0)
    vae = VAE(image_size=32, latent_dim=8).eval()
    faces = torch.rand(3, 3, 32, 32)
    root = tmp_path_factory.mktemp("traversal")
    (root / "ort").symlink_to(ORT, target_is_directory=True)
    (root / "book").mkdir()
    first = widgets.live_traversal(vae, faces, n_units=4, ort_folder=ORT).data
    second = widgets.live_traversal(
        vae, faces, units=[0, 7], labels={0: "light"}, seed=1, ort_folder=ORT
    ).data
    assert "ort.wasm" in first and "sepviz-sample" in second  # not the note-only fallback
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>live traversal</title>'
        '<link rel="icon" href="data:,"></head>'
        f'<body><article><div id="a">{first}</div><div id="b">{second}</div></article></body>'
        "</html>"
    )
    (root / "book" / "page.html").write_text(page, encoding="utf-8")
    return root


def canvas_state(page: object, root: str) -> dict[str, object]:
    """The canvas of ``root``: its data attributes, ``z`` as floats, and its pixels (as a PNG
    data URL: exact, and unlike repeated getImageData no warning from Chromium)."""
    state = page.locator(f"{root} canvas.sepviz-canvas").evaluate(  # type: ignore[attr-defined]
        "(el) => ({...el.dataset, pixels: el.toDataURL('image/png')})"
    )
    state["z"] = [float(v) for v in state["z"].split(",")]
    return state


def wait_draws(page: object, root: str, draws: int) -> dict[str, object]:
    """Wait until ``root``'s canvas has been drawn more than ``draws`` times, no draw pending."""
    page.wait_for_function(  # type: ignore[attr-defined]
        "([sel, n]) => Number(document.querySelector(sel).dataset.draws || 0) > n",
        arg=[f"{root} canvas.sepviz-canvas", draws],
        timeout=20_000,
    )
    page.wait_for_timeout(100)  # a draw requested during the last one lands too
    return canvas_state(page, root)


def move_unit(page: object, root: str, unit: int, value: float) -> dict[str, object]:
    """Drag ``root``'s slider of ``unit`` to ``value`` (value, then an input event) and wait
    until the canvas shows it; returns :func:`canvas_state`."""
    before = int(canvas_state(page, root)["draws"])
    slider = page.locator(f'{root} input.sepviz-unit[data-unit="{unit}"]')  # type: ignore[attr-defined]
    slider.evaluate(
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input')); }", value
    )
    return wait_draws(page, root, before)


def test_live_traversal_runs_in_chromium(traversal_site: Path, browser: object) -> None:
    import json
    import statistics

    with serve(traversal_site) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        problems: list[str] = []
        watch(page, problems)
        page.goto(f"{url}/book/page.html", wait_until="load")
        for root in ("#a", "#b"):
            page.wait_for_selector(f"{root} .sepviz-traversal[data-state=ready]", timeout=30_000)
        assert page.locator("#a .sepviz-note").is_hidden()
        data = json.loads(page.locator("#a script.sepviz-data").text_content())
        units = data["units"]
        assert len(units) == 4 and page.locator("#a input.sepviz-unit").count() == 4
        assert page.locator("#b .sepviz-unit-label").all_text_contents() == ["z0: light", "z7"]
        width = page.locator("#a canvas.sepviz-canvas").bounding_box()["width"]
        assert width >= 96  # 32 px drawn at least 96 px wide

        start = wait_draws(page, "#a", 0)  # face 0's mean code, drawn once ready
        assert start["z"] == pytest.approx(data["z"][0], abs=1e-4) and start["face"] == "0"
        assert 0 <= float(start["mean"]) <= 1

        # one unit's slider: that unit of z moves, no other; the face is redrawn
        k = units[1]
        moved = move_unit(page, "#a", k, 2.5)
        assert moved["z"][k] == 2.5
        others = [i for i in range(8) if i != k]
        assert [moved["z"][i] for i in others] == [start["z"][i] for i in others]
        assert int(moved["draws"]) > int(start["draws"]) and moved["pixels"] != start["pixels"]

        # "sample": a new code from the prior, every shown slider moved to it, a new face
        page.locator("#a button.sepviz-sample").click()
        page.wait_for_function(
            "() => document.querySelector('#a canvas.sepviz-canvas').dataset.face === '-1'"
        )
        sampled = wait_draws(page, "#a", int(moved["draws"]))
        assert sampled["samples"] == "1" and sampled["pixels"] != moved["pixels"]
        expected = mulberry32_normals(0, 8)
        assert sampled["z"] == pytest.approx(expected, abs=1e-3)  # the page's PRNG, reproduced
        for unit in units:
            value = float(page.locator(f'#a input.sepviz-unit[data-unit="{unit}"]').input_value())
            assert value == pytest.approx(min(3, max(-3, expected[unit])), abs=0.0051)

        # the decoder's time, warm: the median of 10 moves of one slider
        times = [float(move_unit(page, "#a", k, v)["ms"]) for v in np.linspace(-2, 2, 10)]
        median = statistics.median(times)
        print(f"\nthe VAE decoder in Chromium (32 px, latent 8): median {median:.2f} ms")
        assert median < 5

        # another seed draws another code; a second page with seed 0 the same first sample
        drawn = int(wait_draws(page, "#b", 0)["draws"])
        page.locator("#b button.sepviz-sample").click()
        other = wait_draws(page, "#b", drawn)
        assert other["samples"] == "1" and other["face"] == "-1"
        assert other["z"] == pytest.approx(mulberry32_normals(1, 8), abs=1e-3)
        assert other["z"] != pytest.approx(sampled["z"], abs=0.1)
        again = browser.new_page()  # type: ignore[attr-defined]
        watch(again, problems)
        again.goto(f"{url}/book/page.html", wait_until="load")
        again.wait_for_selector("#a .sepviz-traversal[data-state=ready]", timeout=30_000)
        first = wait_draws(again, "#a", 0)
        again.locator("#a button.sepviz-sample").click()
        repeat = wait_draws(again, "#a", int(first["draws"]))
        assert repeat["samples"] == "1" and repeat["z"] == sampled["z"]
        assert repeat["pixels"] == sampled["pixels"]
        page.close()
        again.close()
    assert not problems, "\n".join(problems)


# -- two faders (light and yaw): a slider each, each moving its own factor ---------------------
@pytest.fixture(scope="module")
def two_fader_site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A page with two live sliders: ``#two``, a 16 px FaderNet with attribute_dim 2 trained
    here for 60 steps on posed faces, its encoder shown each face frontal under a centre
    light (so the decoder must take the light and the yaw from y), on 3 unseen faces; and
    ``#timing``, an untrained 32 px one (the decoder's time does not depend on its weights).
    Also a yaw meter for 16 px (calibrated on 1,000 renders: the direction is all it reads)."""
    pytest.importorskip("onnx")
    import dataclasses

    from sepviz.data.synthetic import YAW_RANGE, factor_matrix, make_faces, posed
    from sepviz.experiments import measures
    from sepviz.recipes import light_and_yaw_y, recipe

    faces = recipe("fadernet2").training_faces(512, 16, seed=0)
    centre = dataclasses.replace(faces, factors={**faces.factors, "azimuth": torch.zeros(512)})
    torch.manual_seed(0)
    model = FaderNet(image_size=16, latent_dim=8, attribute_dim=2, lambda_max=0.0)
    model.fit(
        faces.images,
        light_and_yaw_y(faces),
        steps=60,
        seed=0,
        progress=False,
        source=posed(centre, 0.0, 0.0),  # frontal, centre light
    )
    model.eval()
    unseen = make_faces(3, 16, factor_matrix(faces)[:8], seed=1, yaw=YAW_RANGE).images
    timing = FaderNet(image_size=32, attribute_dim=2).eval()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(measures, "YAW_METER_FACES", 1000)
        measures.yaw_meter.cache_clear()
        meter = measures.yaw_meter(16)
    measures.yaw_meter.cache_clear()  # other tests get the real meter
    root = tmp_path_factory.mktemp("two")
    (root / "ort").symlink_to(ORT, target_is_directory=True)
    (root / "book").mkdir()
    two = widgets.live_slider(model, unseen, labels=("light", "yaw"), ort_folder=ORT).data
    timed = widgets.live_slider(timing, torch.rand(1, 3, 32, 32), ort_folder=ORT).data
    assert "ort.wasm" in two and "ort.wasm" in timed
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>two faders</title>'
        '<link rel="icon" href="data:,"></head>'
        f'<body><article><div id="two">{two}</div><div id="timing">{timed}</div></article>'
        "</body></html>"
    )
    (root / "book" / "page.html").write_text(page, encoding="utf-8")
    return {"root": root, "model": model, "faces": unseen, "meter": meter}


def set_sliders(page: object, root: str, face: int, y: tuple[float, ...]) -> dict[str, object]:
    """Pick ``face`` and move ``root``'s sliders to ``y`` (value, then an input event, as a
    drag does), wait for the canvas to show exactly that; returns :func:`canvas_state`'s data
    attributes and pixels, the pixels as (1, 3, S, S) in [0, 1]."""
    import base64

    from PIL import Image

    canvas = f"{root} canvas.sepviz-canvas"
    page.locator(f"{root} .sepviz-faces button[data-face='{face}']").click()  # type: ignore[attr-defined]
    for k, v in enumerate(y):
        page.locator(f'{root} input.sepviz-y[data-attribute="{k}"]').evaluate(  # type: ignore[attr-defined]
            "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input')); }", v
        )
    page.wait_for_function(  # type: ignore[attr-defined]
        """([sel, face, y]) => {
            const d = document.querySelector(sel).dataset;
            return d.face === String(face) && d.y !== undefined
                && JSON.stringify(d.y.split(",").map(Number)) === JSON.stringify(y);
        }""",
        arg=[canvas, face, list(y)],
        timeout=20_000,
    )
    page.wait_for_timeout(50)  # a draw requested during the last one lands too
    state = page.locator(canvas).evaluate(  # type: ignore[attr-defined]
        "(el) => ({...el.dataset, pixels: el.toDataURL('image/png')})"
    )
    png = io.BytesIO(base64.b64decode(state["pixels"].split(",", 1)[1]))
    rgb = np.asarray(Image.open(png).convert("RGB"), dtype=np.float32) / 255
    state["image"] = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    return state


def test_two_faders_move_their_own_factor_in_chromium(
    two_fader_site: dict[str, object], browser: object
) -> None:
    import statistics

    model, faces, meter = (two_fader_site[k] for k in ("model", "faces", "meter"))
    with serve(two_fader_site["root"]) as url:  # type: ignore[arg-type]
        page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        problems: list[str] = []
        watch(page, problems)
        page.goto(f"{url}/book/page.html", wait_until="load")
        for root in ("#two", "#timing"):
            page.wait_for_selector(f"{root} .sepviz-live[data-state=ready]", timeout=30_000)
        labels = page.locator("#two .sepviz-controls label").all_text_contents()
        assert [label.strip() for label in labels] == ["light", "yaw"]
        for face in range(3):
            # the light slider, the head straight: the image's right half brightens
            lit = [set_sliders(page, "#two", face, (v, 0.0)) for v in (-1.0, 0.0, 1.0)]
            contrast = [float(s["right"]) - float(s["left"]) for s in lit]
            assert contrast[0] < contrast[1] < contrast[2], (face, contrast)
            # the yaw slider, a centre light: the head turns towards the image's right
            turned = [set_sliders(page, "#two", face, (0.0, v)) for v in (-1.0, 0.0, 1.0)]
            yaw = [float(meter(s["image"])) for s in turned]  # type: ignore[operator]
            assert yaw[0] < yaw[1] < yaw[2], (face, yaw)
            print(f"\nface {face}: right - left {contrast}, measured yaw {yaw}")
        # the canvas is the decoder's face, to the 8 bits of a canvas
        with torch.no_grad():
            z = model.encode(faces[2:3])  # type: ignore[attr-defined,index]
            expected = model.decode(z, torch.tensor([[0.0, 1.0]]))  # type: ignore[attr-defined]
        assert float((turned[2]["image"] - expected).abs().max()) <= 1.5 / 255

        # the decoder's time at 32 px, warm: the median of 10 moves of the light slider
        ys = [round(float(v), 2) for v in np.linspace(-2, 2, 10)]  # the sliders' step: 0.01
        moves = [set_sliders(page, "#timing", 0, (v, 0.5)) for v in ys]
        times = [float(s["ms"]) for s in moves]
        median = statistics.median(times)
        print(f"the two-fader decoder in Chromium (32 px): median {median:.2f} ms")
        page.close()
    assert median < 5
    assert not problems, "\n".join(problems)
