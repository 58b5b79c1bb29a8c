"""Sliders on y: the live ipywidgets slider redraws; the static one holds one frame per value."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from sepviz.widgets import (
    UNAVAILABLE,
    fader_slider,
    frames_to_html,
    live_slider,
    photo_relighter,
    static_slider,
    tile,
)


class FakeFader(nn.Module):
    """Relighting that visibly depends on y: brightness scales with y[:, 0]."""

    attribute_dim = 1

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(0.4))

    def relight(self, x: torch.Tensor, y: torch.Tensor | float) -> torch.Tensor:
        y = torch.as_tensor(y, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
        return (x * (1 + self.gain * y)).clamp(0, 1)


def frame_count(html: str) -> int:
    return len(re.findall(r"frames\[\d+\] = \"data:image/png;base64,", html))


def test_tile_layout() -> None:
    canvas = tile(torch.zeros(3, 3, 8, 8), pad=2)
    assert canvas.shape == (8 + 4, 3 * 8 + 4 * 2, 3) and canvas.dtype == np.uint8
    assert canvas[0].min() == 255 and canvas[2, 2].max() == 0  # white border, black face
    assert tile(torch.zeros(2, 4, 3, 8, 8), pad=0).shape == (16, 32, 3)
    assert tile(torch.zeros(10, 3, 8, 8), pad=0).shape == (3 * 8, 4 * 8, 3)  # about square
    with pytest.raises(ValueError, match="images must have shape"):
        tile(torch.zeros(3, 8, 8))


def test_frames_to_html_one_frame_per_value_and_a_slider() -> None:
    frames = [torch.full((2, 3, 8, 8), v) for v in (0.1, 0.4, 0.7, 0.9)]
    labels = [f"y = {v}" for v in range(4)]
    html = frames_to_html(frames, labels, title="four frames")
    assert frame_count(html) == 4
    assert 'id="_anim_slider' in html
    assert 'type="range"' in html
    with pytest.raises(ValueError, match="labels has 3 entries for 4 frames"):
        frames_to_html(frames, labels[:3])
    with pytest.raises(ValueError, match="same shape"):
        frames_to_html([frames[0], torch.zeros(1, 3, 8, 8)], ["a", "b"])
    with pytest.raises(ValueError, match="frames is empty"):
        frames_to_html([], [])


def test_static_slider_precomputes_every_value() -> None:
    values = np.linspace(-1.5, 1.5, 7)
    out = static_slider(FakeFader(), torch.rand(3, 3, 8, 8) * 0.6, values, title="relight")
    html = out.data
    assert frame_count(html) == len(values)
    assert 'id="_anim_slider' in html
    frames = re.findall(r"frames\[\d+\] = \"(data:image/png;base64,[^\"]+)\"", html)
    assert len(set(frames)) == len(values)  # y changes the faces: every frame differs

    plain = static_slider(lambda x, v: x * 0 + (v + 1) / 2, torch.rand(2, 3, 8, 8), [0.0, 1.0])
    assert frame_count(plain.data) == 2
    with pytest.raises(ValueError, match="values is empty"):
        static_slider(FakeFader(), torch.rand(2, 3, 8, 8), [])


def test_fader_slider_builds_and_redraws_on_change() -> None:
    import ipywidgets as widgets

    box = fader_slider(FakeFader(), torch.rand(4, 3, 16, 16) * 0.6, values=(-2, 2), value=0.0)
    slider, image = box.children
    assert isinstance(box, widgets.VBox)
    assert isinstance(slider, widgets.FloatSlider) and (slider.min, slider.max) == (-2, 2)
    assert isinstance(image, widgets.Image) and bytes(image.value).startswith(b"\x89PNG")
    before = bytes(image.value)
    slider.value = 1.5  # fires the observer, as dragging does in a kernel
    assert bytes(image.value) != before
    slider.value = 0.0
    assert bytes(image.value) == before  # same y, same picture


def test_fader_slider_errors() -> None:
    x = torch.rand(2, 3, 8, 8)
    with pytest.raises(ValueError, match="min < max"):
        fader_slider(FakeFader(), x, values=(1, -1))
    with pytest.raises(ValueError, match="value=3"):
        fader_slider(FakeFader(), x, value=3)
    with pytest.raises(ValueError, match="no relight"):
        fader_slider(nn.Linear(2, 2), x)
    with pytest.raises(ValueError, match="images must have shape"):
        fader_slider(FakeFader(), torch.rand(2, 8, 8))


def test_fader_slider_in_a_kernel() -> None:
    """The widget opens its comms and redraws inside a real IPython kernel."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")

    def run(code: str) -> list[dict]:
        msg_id = kc.execute(textwrap.dedent(code))
        messages = []
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return messages

    try:
        built = run(
            """
            import torch
            from sepviz.widgets import fader_slider
            box = fader_slider(lambda x, v: (x * (1 + 0.4 * v)).clamp(0, 1),
                               torch.rand(2, 3, 8, 8) * 0.6)
            box
            """
        )
        errors = [m["content"] for m in built if m["msg_type"] == "error"]
        assert not errors, errors
        opened = [
            m["content"]["data"]["state"]["_model_name"]
            for m in built
            if m["msg_type"] == "comm_open"
        ]
        assert {"VBoxModel", "FloatSliderModel", "ImageModel"} <= set(opened)
        shown = [m for m in built if m["msg_type"] in ("display_data", "execute_result")]
        assert "application/vnd.jupyter.widget-view+json" in shown[0]["content"]["data"]

        moved = run("box.children[0].value = 1.0")
        updates = [
            m
            for m in moved
            if m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "update"
        ]
        assert any(["value"] in m["content"]["data"].get("buffer_paths", []) for m in updates)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# -- live_slider / photo_relighter: the FaderNet in the page (Chromium: test_widgets_browser.py) --
def _payload(html: str) -> dict:
    import json

    found = re.search(r'<script type="application/json" class="sepviz-data">(.*?)</script>', html)
    assert found, "no data script in the snippet"
    return json.loads(found.group(1))


@pytest.fixture
def ort_folder(tmp_path):  # noqa: ANN001, ANN201
    """A stand-in for _extra/ort: the snippets only check that the script is there."""
    (tmp_path / "ort.wasm.min.js").write_text("// onnxruntime-web stand-in\n")
    return tmp_path


def test_live_slider_embeds_the_decoder_and_the_latents(ort_folder) -> None:  # noqa: ANN001
    pytest.importorskip("onnx")
    import base64

    from sepviz.export import run_onnx
    from sepviz.models import FaderNet

    torch.manual_seed(0)
    model = FaderNet(image_size=16, latent_dim=8).eval()
    faces = torch.rand(3, 3, 16, 16)
    html = live_slider(model, faces, values_range=(-2, 2), ort_folder=ort_folder).data
    assert 'class="sepviz-live"' in html and 'data-sepviz="slider"' in html
    assert re.search(
        r'<input type="range" class="sepviz-y"[^>]* min="-2" max="2" step="0.01"', html
    )
    assert 'class="sepviz-canvas"' in html and html.count("data-face=") == 3
    assert UNAVAILABLE in html  # the note, shown where the script cannot run
    data = _payload(html)
    assert data["ort"] == "../ort/" and data["size"] == 16 and "encoder" not in data
    with torch.no_grad():
        z = model.encoder(faces)
    assert torch.allclose(torch.tensor(data["z"]), z, atol=1e-6)
    pytest.importorskip("onnxruntime")
    y = torch.tensor([[0.75]])
    with torch.no_grad():
        expected = model.decoder(z[:1], y)
    out = run_onnx(base64.b64decode(data["decoder"]), z=z[:1].numpy(), y=y.numpy())
    assert float((torch.as_tensor(out) - expected).abs().max()) < 1e-5
    assert len(data["decoder"]) < 400_000  # a 16 px decoder, base64


def test_photo_relighter_embeds_encoder_and_decoder(ort_folder) -> None:  # noqa: ANN001
    pytest.importorskip("onnx")
    from sepviz.models import FaderNet

    html = photo_relighter(FaderNet(image_size=16, latent_dim=8), ort_folder=ort_folder).data
    assert 'class="sepviz-photo"' in html and 'type="file" class="sepviz-file"' in html
    assert "never leaves your computer" in html and 'class="sepviz-input"' in html
    data = _payload(html)
    assert {"encoder", "decoder"} <= set(data) and "z" not in data


def test_live_widgets_without_onnxruntime_web_are_a_note(tmp_path) -> None:  # noqa: ANN001
    from sepviz.models import FaderNet

    model = FaderNet(image_size=16, latent_dim=8)
    html = live_slider(model, torch.rand(2, 3, 16, 16), ort_folder=tmp_path).data
    assert 'class="sepviz-live"' in html and UNAVAILABLE in html and "<script" not in html
    photo = photo_relighter(model, ort_folder=tmp_path).data
    assert 'class="sepviz-photo"' in photo and "<script" not in photo


def test_live_widgets_refuse_other_models() -> None:
    from sepviz.models import FaderNet, MultiDecoder

    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValueError, match="FaderNet with attribute_dim 1, got FakeFader"):
        live_slider(FakeFader(), x)
    with pytest.raises(ValueError, match="got MultiDecoder"):
        photo_relighter(MultiDecoder(image_size=16, latent_dim=8))
    two = FaderNet(image_size=16, latent_dim=8, attribute_dim=2)
    with pytest.raises(ValueError, match="attribute_dim 2"):
        live_slider(two, x)
    one = FaderNet(image_size=16, latent_dim=8)
    with pytest.raises(ValueError, match="min < max"):
        live_slider(one, x, values_range=(1, -1))
    with pytest.raises(ValueError, match="images must be 16x16"):
        live_slider(one, torch.rand(2, 3, 32, 32))  # not the model's size
