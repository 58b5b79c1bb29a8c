"""Sliders on y: the live ipywidgets slider redraws; the static one holds one frame per value."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from sepviz.widgets import (
    TRAVERSAL_UNAVAILABLE,
    UNAVAILABLE,
    fader_slider,
    frames_to_html,
    live_slider,
    live_traversal,
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
    # the reader sees which square is which, and what photo the model wants
    assert "<figcaption>input: your photo" in html and "<figcaption>relit" in html
    assert "tight crop of one face" in html and "grey blur" in html
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
    with pytest.raises(ValueError, match="FaderNet with attribute_dim 1 or 2, got FakeFader"):
        live_slider(FakeFader(), x)
    with pytest.raises(ValueError, match="got MultiDecoder"):
        photo_relighter(MultiDecoder(image_size=16, latent_dim=8))
    two = FaderNet(image_size=16, latent_dim=8, attribute_dim=2)
    with pytest.raises(ValueError, match="attribute_dim 1, got FaderNet with attribute_dim 2"):
        photo_relighter(two)  # live_slider takes two faders (test_live_slider_with_two_faders)
    one = FaderNet(image_size=16, latent_dim=8)
    with pytest.raises(ValueError, match="min < max"):
        live_slider(one, x, values_range=(1, -1))
    with pytest.raises(ValueError, match="images must be 16x16"):
        live_slider(one, torch.rand(2, 3, 32, 32))  # not the model's size


# -- live_traversal: a VAE's decoder in the page (Chromium: test_widgets_browser.py) -----------
def _known_vae(mu: list[float]):  # noqa: ANN202
    """A 16 px VAE whose posterior is N(mu, I) for every face: unit k's KL is mu[k]^2 / 2."""
    from sepviz.models import VAE

    torch.manual_seed(0)
    vae = VAE(image_size=16, latent_dim=len(mu)).eval()
    with torch.no_grad():
        head = vae.encoder[-1][1]  # the Linear that gives mu
        head.weight.zero_()
        head.bias.copy_(torch.tensor(mu))
        vae.log_variance.weight.zero_()
        vae.log_variance.bias.zero_()
    return vae


def test_live_traversal_embeds_the_decoder_and_a_slider_per_informative_unit(
    ort_folder,  # noqa: ANN001
) -> None:
    pytest.importorskip("onnx")
    import base64

    mu = [0.0, 2.5, 0.1, -1.0, 0.0, -4.0, 0.3, 0.0]  # KL 0, 3.1, .005, .5, 0, 8, .045, 0
    vae = _known_vae(mu)
    faces = torch.rand(3, 3, 16, 16)
    out = live_traversal(vae, faces, n_units=3, labels={5: "smile"}, seed=7, ort_folder=ort_folder)
    html = out.data
    assert 'class="sepviz-traversal"' in html and 'data-sepviz="traversal"' in html
    assert 'data-seed="7"' in html and '<button type="button" class="sepviz-sample"' in html
    assert html.count("data-face=") == 3 and 'class="sepviz-canvas"' in html
    assert TRAVERSAL_UNAVAILABLE in html  # the note, shown where the script cannot run
    # the three units of largest KL, largest first; each slider starts at face 0's mu,
    # stopped at the ends of values_range (-4 -> -3)
    sliders = re.findall(
        r'<span class="sepviz-unit-label">([^<]*)</span><input type="range" '
        r'class="sepviz-unit" data-unit="(\d+)" min="-3" max="3" step="0.01" value="([-\d.]+)"',
        html,
    )
    assert sliders == [("z5: smile", "5", "-3.00"), ("z1", "1", "2.50"), ("z3", "3", "-1.00")]
    data = _payload(html)
    assert data["units"] == [5, 1, 3] and data["seed"] == 7 and data["size"] == 16
    assert "encoder" not in data and data["ort"] == "../ort/"
    assert torch.allclose(torch.tensor(data["z"]), torch.tensor([mu] * 3), atol=1e-6)
    pytest.importorskip("onnxruntime")
    from sepviz.export import run_onnx

    z = torch.randn(2, 8)
    with torch.no_grad():
        expected = vae.decoder(z)
    got = torch.as_tensor(run_onnx(base64.b64decode(data["decoder"]), z=z.numpy()))
    assert got.shape == (2, 3, 16, 16) and float((got - expected).abs().max()) < 1e-5

    # units given: in that order, whole labels one per unit, another range
    html = live_traversal(
        vae,
        faces[:1],
        units=[0, 7],
        labels=["z0: light", "z7: hair"],
        values_range=(-2, 2),
        ort_folder=ort_folder,
    ).data
    sliders = re.findall(r'"sepviz-unit-label">([^<]*)</span>.*?data-unit="(\d+)" min="-2"', html)
    assert sliders == [("z0: light", "0"), ("z7: hair", "7")]
    assert _payload(html)["units"] == [0, 7] and 'data-seed="0"' in html


def test_live_traversal_refuses_other_models_and_bad_arguments(tmp_path) -> None:  # noqa: ANN001
    from sepviz.models import FaderNet

    vae = _known_vae([0.0, 1.0, 2.0, 0.5])
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValueError, match="live_traversal runs a VAE, got FaderNet"):
        live_traversal(FaderNet(image_size=16, latent_dim=8), x)
    with pytest.raises(ValueError, match="live_traversal runs a VAE, got FakeFader"):
        live_traversal(FakeFader(), x)
    for units in ([4], [-1], [1, 1], [], [0.5], "01", 3):
        with pytest.raises(ValueError, match=r"units must be .*from 0 to 3"):
            live_traversal(vae, x, units=units, ort_folder=tmp_path)
    for n_units in (0, 5, 2.0, True):
        with pytest.raises(ValueError, match=r"n_units must be an integer from 1 to 4"):
            live_traversal(vae, x, n_units=n_units, ort_folder=tmp_path)
    with pytest.raises(ValueError, match="labels has 1 entries for 2 units"):
        live_traversal(vae, x, units=[0, 1], labels=["z0: light"], ort_folder=tmp_path)
    for values_range in ((3, -3), (-20, 20), (0,), (-1, float("nan"))):
        with pytest.raises(ValueError, match=r"values_range must be \(min, max\)"):
            live_traversal(vae, x, values_range=values_range, ort_folder=tmp_path)
    with pytest.raises(ValueError, match=r"seed must be an integer from 0 to 2\*\*32 - 1"):
        live_traversal(vae, x, seed=-1, ort_folder=tmp_path)
    with pytest.raises(ValueError, match="images must be 16x16"):
        live_traversal(vae, torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match="images must hold 1 to 32 faces, got 33"):
        live_traversal(vae, torch.rand(33, 3, 16, 16))


def test_live_traversal_without_onnxruntime_web_is_a_note(tmp_path) -> None:  # noqa: ANN001
    html = live_traversal(_known_vae([0.0, 1.0]), torch.rand(2, 3, 16, 16), ort_folder=tmp_path)
    html = html.data
    assert 'class="sepviz-traversal"' in html and TRAVERSAL_UNAVAILABLE in html
    assert "<script" not in html and 'class="sepviz-unit"' not in html


# -- two faders (light and yaw): a slider per attribute live, a grid per frame static --------
def test_live_slider_with_two_faders_has_a_slider_per_attribute(ort_folder) -> None:  # noqa: ANN001
    pytest.importorskip("onnx")
    import base64

    from sepviz.models import FaderNet

    torch.manual_seed(0)
    model = FaderNet(image_size=16, latent_dim=8, attribute_dim=2).eval()
    faces = torch.rand(2, 3, 16, 16)
    html = live_slider(
        model, faces, labels=("light", "yaw"), value=(0.5, -0.25), ort_folder=ort_folder
    ).data
    sliders = re.findall(r'<label>(\w+) <input type="range" class="sepviz-y" ([^>]*)>', html)
    assert [name for name, _ in sliders] == ["light", "yaw"]
    for k, (_, attributes) in enumerate(sliders):
        assert f'data-attribute="{k}"' in attributes and 'min="-2" max="2"' in attributes
    assert 'value="0.5"' in sliders[0][1] and 'value="-0.25"' in sliders[1][1]
    assert '<output class="sepviz-y-value" data-attribute="1">-0.25</output>' in html
    data = _payload(html)
    with torch.no_grad():
        z = model.encoder(faces)
    assert torch.allclose(torch.tensor(data["z"]), z, atol=1e-6)
    pytest.importorskip("onnxruntime")
    from sepviz.export import run_onnx

    y = torch.tensor([[0.7, -0.4]])  # what the page feeds: (1, 2)
    with torch.no_grad():
        expected = model.decoder(z[:1], y)
    out = run_onnx(base64.b64decode(data["decoder"]), z=z[:1].numpy(), y=y.numpy())
    assert float((torch.as_tensor(out) - expected).abs().max()) < 1e-5
    # one number sets every slider; the default labels name the attributes
    plain = live_slider(model, faces, value=1.0, ort_folder=ort_folder).data
    assert re.findall(r"<label>(\w+) <input", plain) == ["y0", "y1"]
    assert plain.count('value="1"') == 2


def test_live_slider_with_two_faders_refuses_what_does_not_match() -> None:
    from sepviz.models import FaderNet

    two = FaderNet(image_size=16, latent_dim=8, attribute_dim=2)
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValueError, match=r"labels must hold one name per attribute of y \(2\)"):
        live_slider(two, x, labels=("light",))
    with pytest.raises(ValueError, match=r"labels must hold one name per attribute of y \(2\)"):
        live_slider(two, x, labels="light")
    with pytest.raises(ValueError, match=r"value must be one number or 2 \(one per attribute"):
        live_slider(two, x, value=(0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match=r"value=3.0 lies outside values_range=\(-2, 2\)"):
        live_slider(two, x, value=(0.0, 3.0))
    three = FaderNet(image_size=16, latent_dim=8, attribute_dim=3)
    with pytest.raises(ValueError, match="attribute_dim 1 or 2, got FaderNet with attribute_dim 3"):
        live_slider(three, x)


def test_static_slider_with_two_faders_shows_the_other_in_columns(monkeypatch) -> None:  # noqa: ANN001
    import sepviz.widgets as w
    from sepviz.models import FaderNet

    torch.manual_seed(0)
    model = FaderNet(image_size=16, latent_dim=8, attribute_dim=2).eval()
    x = torch.rand(2, 3, 16, 16)
    seen: dict[str, object] = {}

    def keep(frames, labels, **kw):  # noqa: ANN001, ANN003, ANN202
        seen.update(frames=frames, labels=labels)
        return frames_to_html(frames, labels, **kw)

    monkeypatch.setattr(w, "frames_to_html", keep)
    html = static_slider(
        model, x, [-1.0, 1.0], attribute_index=1, label="yaw", other_label="light"
    ).data
    assert frame_count(html) == 2
    frames, labels = seen["frames"], seen["labels"]
    assert labels[0] == (
        "yaw = -1.00; columns: inputs, then light from -1.00 (left) to +1.00 (right)"
    )
    assert frames[0].shape == (2, 6, 3, 16, 16)  # faces x (input + 5 light values)
    assert torch.equal(frames[0][:, 0], x)
    with torch.no_grad():  # frame 1, column 2: yaw +1 and light -0.5 (the other y)
        expected = model.relight(x, torch.tensor([-0.5, 1.0]))
    assert torch.allclose(frames[1][:, 2], expected)
    bare = static_slider(model, x, [0.0], other_values=[0.0, 1.0], show_inputs=False).data
    assert frame_count(bare) == 1 and seen["frames"][0].shape == (2, 2, 3, 16, 16)
    with pytest.raises(ValueError, match="attribute_index must be 0 or 1 for two faders, got 2"):
        static_slider(model, x, [0.0], attribute_index=2)
    three = FaderNet(image_size=16, latent_dim=8, attribute_dim=3)
    with pytest.raises(ValueError, match="shows 1 or 2 attributes of y, got attribute_dim 3"):
        static_slider(three, x, [0.0])
